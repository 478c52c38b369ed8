//! End-to-end tests of the loader through its public API.

use super::*;

const SEED_CONF: &str = include_str!("testdata/seed_conf");
const SEED_VHOST: &str = include_str!("testdata/seed_vhost");

fn opts() -> LoadOptions {
    LoadOptions {
        data_dir: PathBuf::from("/usr/local/share"),
    }
}

fn ok(files: &[(&str, &str)]) -> Loaded {
    match load_texts(files, &opts()) {
        Ok(l) => l,
        Err(e) => panic!("{e}: {:#?}", problems_of(&e)),
    }
}

fn problems_of(e: &Error) -> Vec<String> {
    match e {
        Error::Invalid { problems } => problems.iter().map(|d| d.to_string()).collect(),
        Error::Open { .. } => vec![e.to_string()],
    }
}

/// The diagnostics (errors and warnings) of a load that must fail.
fn errs(files: &[(&str, &str)]) -> Vec<String> {
    match load_texts(files, &opts()) {
        Ok(l) => panic!("loaded, warnings: {:?}", l.warnings),
        Err(e) => problems_of(&e),
    }
}

fn warnings(l: &Loaded) -> Vec<String> {
    l.warnings.iter().map(|d| d.to_string()).collect()
}

const MIN_VHOST: &str = r#"{"vhosts": [{"name": "v", "port": 80}]}"#;

#[test]
fn seed_files_load_with_warnings_only() {
    let l = ok(&[
        ("/etc/lwsws/conf", SEED_CONF),
        ("/etc/lwsws/conf.d/test-server", SEED_VHOST),
    ]);
    assert_eq!(
        warnings(&l),
        ["/etc/lwsws/conf:7:4: warning: unknown key \"interface\" in global (ignored)"]
    );
    let g = &l.config.global;
    assert_eq!(g.username.as_ref().unwrap().value, "AMS-TEAM");
    assert_eq!(g.groupname.as_ref().unwrap().value, "AMS-TEAM");
    let at = &g.groupname.as_ref().unwrap().at;
    assert_eq!((at.line, at.column), (4, 16));
    assert_eq!((g.uid, g.gid), (33, 33));
    assert_eq!(g.count_threads, 1);
    assert_eq!(g.server_string.as_deref(), Some("lwsws"));
    assert_eq!(g.ws_pingpong_secs, Some(200));
    assert!(g.init_ssl);
    assert!(g.watch);
    assert_eq!(g.timeout_secs, 15);

    assert_eq!(l.config.vhosts.len(), 1);
    let v = &l.config.vhosts[0];
    assert_eq!(v.name, "localhost");
    assert_eq!(v.port, 7681);
    assert_eq!((v.at.line, v.at.column), (2, 14));
    assert!(v.sts);
    assert_eq!(v.keepalive_timeout, 5);
    assert!(v.interface.is_none());
    assert!(v.tls.key.is_none());
    let log = v.access_log.as_ref().unwrap();
    assert_eq!(log.value, PathBuf::from("/var/log/lwsws/test-access-log"));
    assert_eq!((log.at.line, log.at.column), (10, 20));

    let origins: Vec<_> = v.mounts.iter().map(|m| m.origin.clone()).collect();
    assert_eq!(
        origins,
        [
            Origin::File("/usr/local/share/libwebsockets-test-server".into()),
            Origin::File("/usr/local/share/libwebsockets-test-server/server-status".into()),
            Origin::Cgi("/usr/local/share/libwebsockets-test-server/lws-cgi-test.sh".into()),
            Origin::Callback("protocol-post-demo".into()),
            Origin::Callback("protocol-lws-packet".into()),
        ]
    );
    let mps: Vec<_> = v.mounts.iter().map(|m| m.mountpoint.as_str()).collect();
    assert_eq!(
        mps,
        ["/", "/server-status", "/testcgi", "/formtest", "/formtest2"]
    );
    let root = &v.mounts[0];
    assert_eq!(root.default.as_deref(), Some("test.html"));
    assert_eq!(root.cache_max_age, 60);
    assert!(root.cache_reuse && root.cache_revalidate && !root.cache_intermediaries);
    assert_eq!(v.mounts[2].cgi_timeout, 5);
    assert_eq!(v.mounts[3].default, None);
    assert_eq!((v.mounts[2].at.line, v.mounts[2].at.column), (24, 12));

    let protos: Vec<_> = v.ws_protocols.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        protos,
        [
            "lws-meta",
            "dumb-increment-protocol",
            "lws-mirror-protocol",
            "lws-status",
            "protocol-post-demo",
            "protocol-lws-packet",
            "lws-server-status",
            "example-standalone-protocol",
            "lws-websocket",
        ]
    );
    let status = &v.ws_protocols[6];
    assert_eq!(
        status.options,
        [
            Pvo {
                name: "status".into(),
                value: "ok".into(),
                options: vec![]
            },
            Pvo {
                name: "update-ms".into(),
                value: "5000".into(),
                options: vec![]
            },
        ]
    );
    assert_eq!((status.at.line, status.at.column), (63, 8));
    assert_eq!(
        l.config.files,
        [
            PathBuf::from("/etc/lwsws/conf"),
            PathBuf::from("/etc/lwsws/conf.d/test-server")
        ]
    );
}

#[test]
fn seed_vhost_in_conf_alone_is_enough() {
    let l = ok(&[("conf", SEED_VHOST)]);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(l.config.global.uid, 0);
    assert_eq!(l.config.vhosts[0].mounts.len(), 5);
}

#[test]
fn seed_conf_alone_needs_a_vhost() {
    assert_eq!(
        errs(&[("conf", SEED_CONF)]),
        [
            "conf:7:4: warning: unknown key \"interface\" in global (ignored)",
            "error: need at least one vhost",
        ]
    );
}

#[test]
fn comments_everywhere_and_hash_in_strings() {
    let conf = "# lwsws config\n{\n  # whole line\n  \"global\": { \"server-string\": \"a#b\" }, # after\n  \"vhosts\": [ { \"name\": \"x#y\", \"port\": 80 # trailing\n  } ]\n}\n# end\n";
    let l = ok(&[("conf", conf)]);
    assert_eq!(l.config.global.server_string.as_deref(), Some("a#b"));
    assert_eq!(l.config.vhosts[0].name, "x#y");
    assert_eq!(l.config.vhosts[0].port, 80);
}

#[test]
fn numbers_as_strings_or_numbers() {
    for port in ["7681", "\"7681\"", "\" 7681 \""] {
        let text = format!("{{\"vhosts\": [{{\"port\": {port}}}]}}");
        let l = ok(&[("conf", &text)]);
        assert_eq!(l.config.vhosts[0].port, 7681, "{port}");
        assert_eq!(l.config.vhosts[0].name, "default");
    }
    let l = ok(&[(
        "conf",
        r#"{"global": {"timeout-secs": 30, "uid": "0", "rlimit-nofile": "100000", "ip-limit-ah": 4},
            "vhosts": [{"port": 0, "keepalive_timeout": "60", "fo-listen-queue": 3,
                        "ssl-option-set": "4", "ssl-option-set": 16, "ssl-option-clear": 1}]}"#,
    )]);
    let g = &l.config.global;
    assert_eq!(g.timeout_secs, 30);
    assert_eq!(g.rlimit_nofile, Some(100_000));
    assert_eq!(g.ip_limit_ah, 4);
    let v = &l.config.vhosts[0];
    assert_eq!(v.port, 0);
    assert_eq!(v.keepalive_timeout, 60);
    assert_eq!(v.fo_listen_queue, 3);
    assert_eq!(v.tls.ssl_option_set, 20);
    assert_eq!(v.tls.ssl_option_clear, 1);
}

#[test]
fn bool_forms() {
    let cases = [
        ("\"on\"", true),
        ("\"YES\"", true),
        ("\"true\"", true),
        ("\"1\"", true),
        ("\"2\"", true),
        ("1", true),
        ("true", true),
        ("\"0\"", false),
        ("\"off\"", false),
        ("\"No\"", false),
        ("\"false\"", false),
        ("\"\"", false),
        ("false", false),
        ("0", false),
    ];
    for (text, want) in cases {
        let conf = format!("{{\"vhosts\": [{{\"port\": 1, \"sts\": {text}}}]}}");
        let l = ok(&[("conf", &conf)]);
        assert_eq!(l.config.vhosts[0].sts, want, "{text}");
        assert!(l.warnings.is_empty(), "{text}: {:?}", l.warnings);
    }
    let l = ok(&[("conf", "{\"vhosts\": [{\"port\": 1,\n \"sts\": \"sure\"}]}")]);
    assert!(!l.config.vhosts[0].sts);
    assert_eq!(
        warnings(&l),
        ["conf:2:9: warning: \"sts\": \"sure\" is not a boolean, taken as false (use on/off, yes/no, true/false or 1/0)"]
    );
    // Later occurrences turn a flag off again, like lwsws's set/reset.
    let l = ok(&[(
        "conf",
        r#"{"vhosts": [{"port": 1, "sts": "on", "sts": "0"}]}"#,
    )]);
    assert!(!l.config.vhosts[0].sts);
}

#[test]
fn syntax_errors_name_file_line_col() {
    assert_eq!(
        errs(&[(
            "c.d/a",
            "{\n  \"vhosts\": [\n    { \"port\": 1 \"name\": \"x\" }\n  ]\n}"
        )]),
        [
            "c.d/a:3:17: error: expected ',' or '}', found '\"'",
            "error: need at least one vhost"
        ]
    );
    assert_eq!(
        errs(&[("conf", "{\n  \"vhosts\": [\n    { \"port\": 1, }\n  ]\n}")]),
        [
            "conf:3:16: error: trailing comma before '}' (not allowed in JSON)",
            "error: need at least one vhost"
        ]
    );
}

#[test]
fn value_errors_name_key_and_location() {
    let conf = "{\"vhosts\": [{\n  \"port\": \"12abc\"\n}, {\n  \"port\": 70000\n}, {\n  \"port\": -1,\n  \"name\": [\"x\"],\n  \"sts\": {}\n}]}";
    assert_eq!(
        errs(&[("conf", conf)]),
        [
            "conf:2:11: error: \"port\": expected a number, found \"12abc\"",
            "conf:4:11: error: \"port\": 70000 is out of range (0 to 65535)",
            "conf:6:11: error: \"port\": -1 is out of range (0 to 65535)",
            "conf:7:11: error: \"name\": expected a string or number, found an array",
            "conf:8:10: error: \"sts\": expected a string or number, found an object",
        ]
    );
    assert_eq!(
        errs(&[("conf", "{\"vhosts\": [{\"port\": 1, \"interface\": null}]}")]),
        ["conf:1:38: error: \"interface\": expected a string or number, found null"]
    );
}

#[test]
fn port_required_at_the_vhost_unless_unix_socket() {
    assert_eq!(
        errs(&[("conf", "{\"vhosts\": [\n  {\"name\": \"a\"}, {}\n]}")]),
        [
            "conf:2:3: error: vhost \"a\": port required",
            "conf:2:18: error: vhost \"default\": port required",
        ]
    );
    let l = ok(&[(
        "conf",
        r#"{"vhosts": [{"unix-socket": 1, "interface": "/run/x.sock", "unix-socket-perms": "a:b"}]}"#,
    )]);
    let v = &l.config.vhosts[0];
    assert!(v.unix_socket);
    assert_eq!(v.port, 0);
    assert_eq!(v.interface.as_deref(), Some("/run/x.sock"));
    assert_eq!(v.unix_socket_perms.as_deref(), Some("a:b"));
}

#[test]
fn need_at_least_one_vhost() {
    assert_eq!(errs(&[("conf", "{}")]), ["error: need at least one vhost"]);
    assert_eq!(
        errs(&[("conf", "{\"vhosts\": []}")]),
        ["error: need at least one vhost"]
    );
    let e = load_texts(&[("conf", "{}")], &opts()).unwrap_err();
    assert_eq!(e.to_string(), "1 error(s) in the configuration");
}

#[test]
fn mount_errors() {
    let conf = "{\"vhosts\": [{\"port\": 1, \"mounts\": [\n  {\"origin\": \"file:///x\"},\n  {\"mountpoint\": \"/a\"},\n  {},\n  {\"mountpoint\": \"/b\", \"origin\": \"ftp://x\"},\n  \"nope\"\n]}]}";
    assert_eq!(
        errs(&[("conf", conf)]),
        [
            "conf:2:3: error: mount: \"mountpoint\" required",
            "conf:3:3: error: mount \"/a\": \"origin\" required",
            "conf:4:3: error: mount: \"mountpoint\" and \"origin\" required",
            "conf:5:34: error: unsupported protocol:// in origin \"ftp://x\" (expected http://, https://, file://, cgi://, >http://, >https://, callback:// or gzip://)",
            "conf:6:3: error: \"mounts\": expected an array of mount objects, found a string in it",
        ]
    );
}

#[test]
fn mount_origins_and_options() {
    let conf = r#"{"vhosts": [{"port": 1, "mounts": [
        {"mountpoint": "/p", "origin": "http://127.0.0.1:8080/x"},
        {"mountpoint": "/ps", "origin": "https://example.com/"},
        {"mountpoint": "/r", "origin": ">http://a/b", "append-path": "1"},
        {"mountpoint": "/rs", "origin": ">https://a/b"},
        {"mountpoint": "/c", "origin": "callback://proto", "pmo": [{"a": "1"}, {"b": 2}], "auth-mask": 268435456},
        {"mountpoint": "/g", "origin": "gzip://z"},
        {"mountpoint": "/cgi", "origin": "cgi:///bin/x", "cgi-env": [{"A": "_lws_ddir_"}], "cgi-timeout": "20",
         "cgi-chdir": "/tmp"},
        {"mountpoint": "/f", "origin": "file:///srv", "extra-mimetypes": {".zip": "application/zip", "*": ""},
         "interpret": {".shtml": "lws-ssi"}, "headers": [{"X-A": "1"}, {"X-B": "2", "X-C": "3"}],
         "cache-no": 1, "exact-match": true, "no-ws-upgrades": "yes", "keepalive-timeout": 9,
         "basic-auth": "/etc/pw", "protocol": "ignored", "interceptor-path": "/i"}
    ]}]}"#;
    let l = ok(&[("conf", conf)]);
    assert!(l.warnings.is_empty(), "{:?}", warnings(&l));
    let m = &l.config.vhosts[0].mounts;
    assert_eq!(m[0].origin, Origin::Http("http://127.0.0.1:8080/x".into()));
    assert_eq!(m[1].origin, Origin::Https("https://example.com/".into()));
    assert_eq!(m[2].origin, Origin::RedirectHttp("http://a/b".into()));
    assert!(m[2].append_path);
    assert_eq!(m[3].origin, Origin::RedirectHttps("https://a/b".into()));
    assert_eq!(m[4].origin, Origin::Callback("proto".into()));
    assert_eq!(
        m[4].pmo,
        [("a".into(), "1".into()), ("b".into(), "2".into())]
    );
    assert_eq!(m[4].auth_mask, 1 << 28);
    assert_eq!(m[5].origin, Origin::Gzip("z".into()));
    assert_eq!(m[6].origin, Origin::Cgi("/bin/x".into()));
    assert_eq!(m[6].cgi_env, [("A".into(), "/usr/local/share".into())]);
    assert_eq!(m[6].cgi_timeout, 20);
    assert_eq!(m[6].cgi_chdir, Some(PathBuf::from("/tmp")));
    let f = &m[7];
    assert_eq!(f.origin, Origin::File("/srv".into()));
    assert_eq!(
        f.extra_mimetypes,
        [
            (".zip".into(), "application/zip".into()),
            ("*".into(), String::new())
        ]
    );
    assert_eq!(f.interpret, [(".shtml".into(), "lws-ssi".into())]);
    assert_eq!(
        f.headers,
        [
            ("X-A".into(), "1".into()),
            ("X-B".into(), "2".into()),
            ("X-C".into(), "3".into())
        ]
    );
    assert!(f.cache_no && f.exact_match && f.no_ws_upgrades);
    assert_eq!(f.keepalive_timeout, 9);
    assert_eq!(f.basic_auth, Some(PathBuf::from("/etc/pw")));
    assert_eq!(f.protocol.as_deref(), Some("ignored"));
    assert_eq!(f.interceptor_path.as_deref(), Some("/i"));
}

#[test]
fn first_origin_wins() {
    let l = ok(&[(
        "conf",
        r#"{"vhosts": [{"port": 1, "mounts": [{"mountpoint": "/", "origin": "file:///a", "origin": "file:///b"}]}]}"#,
    )]);
    assert_eq!(
        l.config.vhosts[0].mounts[0].origin,
        Origin::File("/a".into())
    );
    assert_eq!(l.warnings.len(), 1);
    assert!(l.warnings[0].message.contains("the first one is used"));
}

#[test]
fn unknown_keys_are_warnings_with_their_line() {
    let conf = "{\n \"global\": {\n  \"interface\": \"eth0\"\n },\n \"vhost\": [],\n \"vhosts\": [{\n  \"port\": 1,\n  \"colour\": \"red\",\n  \"mounts\": [{\"mountpoint\": \"/\", \"origin\": \"file:///x\",\n   \"speed\": 1}]\n }]\n}";
    let l = ok(&[("conf", conf)]);
    assert_eq!(
        warnings(&l),
        [
            "conf:3:3: warning: unknown key \"interface\" in global (ignored)",
            "conf:5:2: warning: unknown top-level key \"vhost\" (ignored; expected \"global\" or \"vhosts\")",
            "conf:8:3: warning: unknown key \"colour\" in vhost (ignored)",
            "conf:10:4: warning: unknown key \"speed\" in mount (ignored)",
        ]
    );
}

#[test]
fn head_only_and_alias_keys() {
    let conf = r#"{"global": {"quic-only-latest": 1, "cpd-bypass": "on", "count-async-threads": 2, "watch": "off"},
        "vhosts": [{"port": 1, "dht": [], "quic-mtu": 1400, "onlyraw": "1", "keepalive-timeout": 7,
                    "listen-accept-role": "raw-proxy", "listen-accept-protocol": "p",
                    "disable-no-protocol-ws-upgrades": "0", "ipv6only": "off", "noipv6": "on",
                    "fallback-listen-accept": 1, "h2-half-closed-long-poll": 1, "strict-host-check": 1}]}"#;
    let l = ok(&[("conf", conf)]);
    let w = warnings(&l);
    assert_eq!(w.len(), 5, "{w:#?}");
    assert!(
        w[0].contains("\"quic-only-latest\" in global is an lws HEAD extra"),
        "{w:?}"
    );
    assert!(w[1].contains("\"cpd-bypass\""), "{w:?}");
    assert!(w[2].contains("\"dht\" in vhost"), "{w:?}");
    assert!(w[3].contains("\"quic-mtu\""), "{w:?}");
    assert!(
        w[4].contains("lwsws spells the vhost key \"keepalive_timeout\""),
        "{w:?}"
    );
    let g = &l.config.global;
    assert_eq!(g.count_async_threads, 2);
    assert!(!g.watch);
    let v = &l.config.vhosts[0];
    assert!(v.apply_listen_accept);
    assert_eq!(v.keepalive_timeout, 7);
    assert_eq!(v.listen_accept_role.as_deref(), Some("raw-proxy"));
    assert_eq!(v.listen_accept_protocol.as_deref(), Some("p"));
    assert!(v.disable_no_protocol_ws_upgrades);
    assert_eq!(v.ipv6only, Some(false));
    assert!(v.noipv6 && v.fallback_listen_accept && v.h2_half_closed_long_poll);
    assert!(v.strict_host_check);
}

#[test]
fn tls_keys() {
    let conf = r#"{"global": {"init-ssl": "on", "default-alpn": "h2,http/1.1"},
      "vhosts": [{"port": 443, "host-ssl-key": "_lws_ddir_/k", "host-ssl-cert": "/c", "host-ssl-ca": "/ca",
        "ciphers": "C", "tls13-ciphers": "T", "ecdh-curve": "E", "client-cert-required": 1,
        "ignore-missing-cert": "yes", "alpn": "h2", "allow-non-tls": 1, "redirect-http": 1,
        "allow-http-on-https": 1, "enable-client-ssl": 1, "client-ssl-key": "/ck", "client-ssl-cert": "/cc",
        "client-ssl-ca": "/cca", "client-ssl-ciphers": "CC", "client-tls13-ciphers": "CT",
        "client-ecdh-curve": "CE", "ssl-client-option-set": 2, "ssl-client-option-clear": "8"}]}"#;
    let l = ok(&[("conf", conf)]);
    assert!(l.warnings.is_empty(), "{:?}", warnings(&l));
    assert_eq!(l.config.global.default_alpn.as_deref(), Some("h2,http/1.1"));
    let t = &l.config.vhosts[0].tls;
    assert_eq!(
        t.key.as_ref().unwrap().value,
        PathBuf::from("/usr/local/share/k")
    );
    assert_eq!(t.cert.as_ref().unwrap().value, PathBuf::from("/c"));
    assert_eq!(t.ca.as_ref().unwrap().value, PathBuf::from("/ca"));
    assert_eq!(t.ciphers.as_deref(), Some("C"));
    assert_eq!(t.tls13_ciphers.as_deref(), Some("T"));
    assert_eq!(t.ecdh_curve.as_deref(), Some("E"));
    assert!(t.client_cert_required && t.ignore_missing_cert);
    assert_eq!(t.alpn.as_deref(), Some("h2"));
    assert!(t.allow_non_tls && t.redirect_http && t.allow_http_on_https && t.enable_client_ssl);
    assert_eq!(t.client_key, Some(PathBuf::from("/ck")));
    assert_eq!(t.client_cert, Some(PathBuf::from("/cc")));
    assert_eq!(t.client_ca, Some(PathBuf::from("/cca")));
    assert_eq!(t.client_ciphers.as_deref(), Some("CC"));
    assert_eq!(t.client_tls13_ciphers.as_deref(), Some("CT"));
    assert_eq!(t.client_ecdh_curve.as_deref(), Some("CE"));
    assert_eq!((t.ssl_client_option_set, t.ssl_client_option_clear), (2, 8));
}

#[test]
fn duplicate_plugin_dir_and_global_merge_across_files() {
    let conf = r#"{"global": {"plugin-dir": "/a", "plugin-dir": "/b", "server-string": "one",
                   "timeout-secs": 3, "reject-service-keywords": [{"scan": "403 Forbidden"}]}}"#;
    let d1 = r#"{"global": {"plugin-dir": "/c", "server-string": "two"}, "vhosts": [{"port": 1}]}"#;
    let d2 = r#"{"global": {"plugin-dir": "_lws_ddir_/d", "reject-service-keywords": [{"bot": "404 Not Found", "x": "500 E"}]}}"#;
    let l = ok(&[("conf", conf), ("conf.d/1", d1), ("conf.d/2", d2)]);
    let g = &l.config.global;
    let dirs: Vec<_> = g.plugin_dirs.iter().map(|p| p.to_str().unwrap()).collect();
    // Global strings are verbatim: no _lws_ddir_ substitution.
    assert_eq!(dirs, ["/a", "/b", "/c", "_lws_ddir_/d"]);
    assert_eq!(g.server_string.as_deref(), Some("two"));
    assert_eq!(g.timeout_secs, 3);
    assert_eq!(
        g.reject_service_keywords,
        [
            ("scan".into(), "403 Forbidden".into()),
            ("bot".into(), "404 Not Found".into()),
            ("x".into(), "500 E".into())
        ]
    );
}

#[test]
fn global_only_in_conf_d_and_vhosts_in_several_files_in_order() {
    let conf = r#"{"vhosts": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}"#;
    let d1 = r#"{"global": {"uid": 5}}"#;
    let d2 = r#"{"vhosts": [{"name": "c", "port": 1}], "global": {"gid": 6}}"#;
    let l = ok(&[("conf", conf), ("conf.d/1", d1), ("conf.d/2", d2)]);
    let names: Vec<_> = l.config.vhosts.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!((l.config.global.uid, l.config.global.gid), (5, 6));
    assert_eq!(&*l.config.vhosts[2].at.file, Path::new("conf.d/2"));
}

#[test]
fn count_threads_zero_is_clamped() {
    let l = ok(&[(
        "conf",
        r#"{"global": {"count-threads": 0}, "vhosts": [{"port": 1}]}"#,
    )]);
    assert_eq!(l.config.global.count_threads, 1);
    assert_eq!(
        warnings(&l),
        ["conf:1:30: warning: \"count-threads\": 0 is not allowed, using 1"]
    );
}

#[test]
fn ddir_substitution_first_occurrence_in_vhost_strings() {
    let conf = r#"{"vhosts": [{"port": 1, "name": "_lws_ddir_", "access-log": "_lws_ddir_/_lws_ddir_.log",
        "headers": [{"X-D": "_lws_ddir_"}],
        "mounts": [{"mountpoint": "/_lws_ddir_", "origin": "file://_lws_ddir_/www/_lws_ddir_", "default": "_lws_ddir_"}],
        "ws-protocols": [{"p": {"dir": "_lws_ddir_/x", "_lws_ddir_": 1}}]}]}"#;
    let l = load_texts(
        &[("conf", conf)],
        &LoadOptions {
            data_dir: PathBuf::from("/D"),
        },
    )
    .unwrap();
    let v = &l.config.vhosts[0];
    assert_eq!(v.name, "/D");
    assert_eq!(
        v.access_log.as_ref().unwrap().value,
        PathBuf::from("/D/_lws_ddir_.log")
    );
    assert_eq!(v.headers, [("X-D".into(), "/D".into())]);
    let m = &v.mounts[0];
    assert_eq!(m.mountpoint, "//D");
    assert_eq!(m.origin, Origin::File("/D/www/_lws_ddir_".into()));
    assert_eq!(m.default.as_deref(), Some("/D"));
    let o = &v.ws_protocols[0].options;
    assert_eq!((o[0].name.as_str(), o[0].value.as_str()), ("dir", "/D/x"));
    // Keys are not substituted.
    assert_eq!(o[1].name, "_lws_ddir_");
}

#[test]
fn ws_protocols_order_and_values() {
    let conf = r#"{"vhosts": [{"port": 1, "ws-protocols": [
        {"z-proto": {"s": "x", "n": 12, "f": 1.50, "t": true, "b": false, "default": "1"},
         "a-proto": {}},
        {"m-proto": {"nested": {"k": "v", "deeper": {"x": 0}}, "after": "y"}}
    ]}]}"#;
    let l = ok(&[("conf", conf)]);
    let p = &l.config.vhosts[0].ws_protocols;
    let names: Vec<_> = p.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["z-proto", "a-proto", "m-proto"]);
    let vals: Vec<_> = p[0]
        .options
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(
        vals,
        [
            ("s", "x"),
            ("n", "12"),
            ("f", "1.50"),
            ("t", "1"),
            ("b", "0"),
            ("default", "1")
        ]
    );
    assert!(p[1].options.is_empty());
    let pv = |n: &str, v: &str| Pvo {
        name: n.into(),
        value: v.into(),
        options: vec![],
    };
    assert_eq!(
        p[2].options,
        [
            Pvo {
                name: "nested".into(),
                value: String::new(),
                options: vec![
                    pv("k", "v"),
                    Pvo {
                        name: "deeper".into(),
                        value: String::new(),
                        options: vec![pv("x", "0")]
                    }
                ]
            },
            pv("after", "y")
        ]
    );
}

#[test]
fn ws_protocols_errors() {
    let conf = "{\"vhosts\": [{\"port\": 1, \"ws-protocols\": [\n  {\"a\": \"on\", \"b\": {\"o\": [1]}},\n  \"c\"\n], \"headers\": [{\"Bad Name\": \"x\", \"X\": \"a\\r\\nb\"}]}]}";
    assert_eq!(
        errs(&[("conf", conf)]),
        [
            "conf:2:9: error: ws-protocols \"a\": expected an object of options (can be {}), found a string",
            "conf:2:26: error: option \"o\": expected a string, number or object, found an array",
            "conf:3:3: error: \"ws-protocols\": expected an array of objects ({ \"protocol-name\": { options } }), found a string in it",
            "conf:4:17: error: \"Bad Name\" is not a valid HTTP header name",
            "conf:4:39: error: header \"X\": the value contains a control character",
        ]
    );
    let l = ok(&[(
        "conf",
        r#"{"vhosts": [{"port": 1, "ws-protocols": [{"a": {}}, {"a": {}}]}]}"#,
    )]);
    assert_eq!(l.config.vhosts[0].ws_protocols.len(), 2);
    assert!(l.warnings[0].message.contains("listed twice"));
}

#[test]
fn structure_errors() {
    assert_eq!(
        errs(&[("conf", "{\"global\": [], \"vhosts\": {\"port\": 1}}")]),
        [
            "conf:1:12: error: \"global\": expected an object, found an array",
            "conf:1:26: error: \"vhosts\": expected an array, found an object",
            "error: need at least one vhost",
        ]
    );
    assert_eq!(
        errs(&[("conf", "{\"vhosts\": [1], \"global\": {\"reject-service-keywords\": {\"a\": \"b\"}}}")]),
        [
            "conf:1:13: error: \"vhosts\": expected an array of vhost objects, found a number in it",
            "conf:1:55: error: \"reject-service-keywords\": expected an array, found an object",
            "error: need at least one vhost",
        ]
    );
}

#[test]
fn all_files_are_checked_and_problems_come_in_file_order() {
    let conf = "{\"global\": {\"uid\": \"x\"}, \"vhosts\": [{\"port\": 1, \"colour\": 1}]}";
    let bad = "{\n\"vhosts\": [,]}";
    let d2 = "{\"vhosts\": [{\"port\": \"p\"}], \"global\": {\"gid\": \"y\"}}";
    assert_eq!(
        errs(&[("conf", conf), ("conf.d/bad", bad), ("conf.d/z", d2)]),
        [
            "conf:1:20: error: \"uid\": expected a number, found \"x\"",
            "conf:1:49: warning: unknown key \"colour\" in vhost (ignored)",
            "conf.d/bad:2:12: error: expected a value, found ','",
            "conf.d/z:1:22: error: \"port\": expected a number, found \"p\"",
            "conf.d/z:1:47: error: \"gid\": expected a number, found \"y\"",
        ]
    );
    let e = load_texts(
        &[("conf", conf), ("conf.d/bad", bad), ("conf.d/z", d2)],
        &opts(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "4 error(s) in the configuration");
}

#[test]
fn empty_file_is_a_warning() {
    let l = ok(&[("conf", MIN_VHOST), ("conf.d/empty", "\n# nothing\n")]);
    assert_eq!(
        warnings(&l),
        ["conf.d/empty:1:1: warning: the file is empty (ignored)"]
    );
}

#[test]
fn non_utf8_is_an_error_naming_the_file() {
    let bytes: &[u8] = b"{\"vhosts\": [{\"port\": 1,\n \"name\": \"\xff\"}]}";
    match load_bytes(&[("conf.d/latin1", bytes)], &opts()) {
        Err(Error::Invalid { problems }) => {
            let got: Vec<_> = problems.iter().map(|d| d.to_string()).collect();
            assert_eq!(
                got,
                [
                    "conf.d/latin1:2:11: error: the file is not valid UTF-8 (byte 0xFF)",
                    "error: need at least one vhost"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn load_from_disk() {
    let dir = std::env::temp_dir().join(format!("comlink-config-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(dir.join("conf"), SEED_CONF).unwrap();
    std::fs::write(dir.join("conf.d/test-server"), SEED_VHOST).unwrap();
    std::fs::write(dir.join("conf.d/test-server~"), "broken {").unwrap();
    std::os::unix::fs::symlink(dir.join("conf.d/test-server"), dir.join("conf.d/zz-link")).unwrap();
    let l = load(&dir, &opts()).unwrap();
    assert_eq!(l.config.vhosts.len(), 1);
    assert_eq!(l.config.files.len(), 2);
    assert_eq!(l.warnings.len(), 1);
    assert_eq!(
        &*l.warnings[0].at.as_ref().unwrap().file,
        dir.join("conf").as_path()
    );

    let e = load(&dir.join("nope"), &opts()).unwrap_err();
    assert!(matches!(&e, Error::Open { path, .. } if path == &dir.join("nope/conf")));
    assert!(e
        .to_string()
        .starts_with(&format!("cannot open {}/nope/conf: ", dir.display())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn host_checks_report_missing_things() {
    let dir = std::env::temp_dir().join(format!("comlink-config-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), "x").unwrap();
    let d = dir.display();
    let conf = format!(
        r#"{{"global": {{"username": "no-such-user-comlink", "groupname": "root", "init-ssl": 1}},
  "vhosts": [{{"name": "h", "port": 1, "access-log": "{d}/nodir/log", "host-ssl-cert": "{d}/cert.pem",
    "host-ssl-key": "{d}/key.pem",
    "mounts": [{{"mountpoint": "/", "origin": "file://{d}/www"}}, {{"mountpoint": "/ok", "origin": "file://{d}"}}]}},
   {{"name": "fine", "port": 2, "access-log": "{d}/log", "mounts": []}}]}}"#
    );
    let l = ok(&[("conf", &conf)]);
    let got: Vec<String> = host_checks(&l.config)
        .iter()
        .map(|d| {
            assert!(d.is_error());
            d.to_string()
        })
        .collect();
    assert_eq!(
        got,
        [
            "conf:1:25: error: user \"no-such-user-comlink\" does not exist on this host".to_string(),
            format!("conf:2:53: error: vhost \"h\": access-log directory {d}/nodir does not exist"),
            format!("conf:3:21: error: vhost \"h\": host-ssl-key {d}/key.pem does not exist or is not a file"),
            format!("conf:4:16: error: vhost \"h\", mount \"/\": origin directory {d}/www does not exist"),
        ]
    );
    let numeric = ok(&[(
        "conf",
        r#"{"global": {"username": "4242", "groupname": "4242"}, "vhosts": [{"port": 1}]}"#,
    )]);
    assert!(host_checks(&numeric.config).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
