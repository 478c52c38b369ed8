//! Keeps `include/libwebsockets.h` and `src/abi.rs` in step.
//!
//! The C side is measured by the system C compiler: `tests/c/abi_dump.c`
//! prints every struct size, alignment and field offset, and the value of
//! every constant the Rust side declares; the output must equal what Rust
//! computes. The enum names in the header must all have Rust twins. Two more
//! C files check the header is warning-free for plugin-style code and that
//! its inline helpers behave like lws's.
//!
//! These tests need `cc` (or `$CC`); without one they fail and say how to
//! install it (`scripts/test-deps`).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::c_int;
use std::fs;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use comlink_plugin_api::abi::*;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn include_dir() -> PathBuf {
    crate_dir().join("include")
}

fn c_source(name: &str) -> PathBuf {
    crate_dir().join("tests").join("c").join(name)
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plugin-api-header")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn compiler() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

/// Runs the C compiler with `args`; panics with its diagnostics on failure.
fn cc(args: &[&str]) {
    let cc = compiler();
    let out = match Command::new(&cc).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "C compiler `{cc}` not found: the plugin ABI tests compile the C header. \
             Run scripts/test-deps to install one (or set CC)."
        ),
        Err(e) => panic!("cannot run `{cc}`: {e}"),
    };
    assert!(
        out.status.success(),
        "`{cc} {}` failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a program built by a test and returns its stdout.
fn run(program: &Path) -> String {
    let out = Command::new(program)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}{}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every constant of `abi` that also exists in the header, with its value.
fn rust_constants() -> Vec<(String, i64)> {
    let mut all: Vec<(String, i64)> = Reason::ALL
        .iter()
        .map(|r| (r.c_name().to_owned(), i64::from(r.as_raw())))
        .collect();
    for table in [
        WRITE_PROTOCOLS,
        CLOSE_STATUSES,
        PENDING_TIMEOUTS,
        LOG_LEVELS,
        HTTP_METHODS,
        UPLOAD_STATES,
        TLS_CERT_INFOS,
        TOKENS,
        ADOPTION_TYPES,
        TASK_STATUSES,
        TASK_RETURNS,
        CLIENT_SSL_FLAGS,
    ] {
        all.extend(table.iter().map(|&(n, v)| (n.to_owned(), i64::from(v))));
    }
    let single: [(&str, i64); 13] = [
        ("LWS_PRE", LWS_PRE as i64),
        ("LWS_PLUGIN_API_MAGIC", i64::from(LWS_PLUGIN_API_MAGIC)),
        ("LWS_MAX_SMP", i64::from(LWS_MAX_SMP)),
        ("COMLINK_LOG_LINE_MAX", COMLINK_LOG_LINE_MAX as i64),
        (
            "LWS_RECOMMENDED_MIN_HEADER_SPACE",
            LWS_RECOMMENDED_MIN_HEADER_SPACE as i64,
        ),
        ("LWS_SET_TIMER_USEC_CANCEL", LWS_SET_TIMER_USEC_CANCEL),
        ("LWS_US_PER_SEC", LWS_US_PER_SEC),
        ("LWS_USEC_PER_SEC", LWS_USEC_PER_SEC),
        ("LWS_TO_KILL_ASYNC", i64::from(LWS_TO_KILL_ASYNC)),
        ("LWS_TO_KILL_SYNC", i64::from(LWS_TO_KILL_SYNC)),
        ("LWSAHH_CODE_MASK", i64::from(LWSAHH_CODE_MASK)),
        (
            "LWSAHH_FLAG_NO_SERVER_NAME",
            i64::from(LWSAHH_FLAG_NO_SERVER_NAME),
        ),
        // C prints (long long)(lws_filepos_t)-1, i.e. the same bits.
        (
            "LWS_ILLEGAL_HTTP_CONTENT_LEN",
            LWS_ILLEGAL_HTTP_CONTENT_LEN as i64,
        ),
    ];
    all.extend(single.iter().map(|&(n, v)| (n.to_owned(), v)));
    let mount_protocols = [
        ("LWSMPRO_HTTP", LWSMPRO_HTTP),
        ("LWSMPRO_HTTPS", LWSMPRO_HTTPS),
        ("LWSMPRO_FILE", LWSMPRO_FILE),
        ("LWSMPRO_CGI", LWSMPRO_CGI),
        ("LWSMPRO_REDIR_HTTP", LWSMPRO_REDIR_HTTP),
        ("LWSMPRO_REDIR_HTTPS", LWSMPRO_REDIR_HTTPS),
        ("LWSMPRO_CALLBACK", LWSMPRO_CALLBACK),
        ("LWSMPRO_NO_MOUNT", LWSMPRO_NO_MOUNT),
    ];
    all.extend(
        mount_protocols
            .iter()
            .map(|&(n, v)| (n.to_owned(), i64::from(v))),
    );
    all
}

/// What abi_dump.c must print, as Rust sees it.
fn rust_expectations() -> BTreeMap<String, String> {
    let mut want = BTreeMap::new();
    macro_rules! layout {
        ($c:literal, $t:ty $(, $cf:literal => $rf:ident)* $(,)?) => {
            want.insert(format!("size {}", $c), size_of::<$t>().to_string());
            want.insert(format!("align {}", $c), align_of::<$t>().to_string());
            $(
                want.insert(
                    format!("offset {}.{}", $c, $cf),
                    offset_of!($t, $rf).to_string(),
                );
            )*
        };
    }
    layout!("struct lws_protocols", LwsProtocols,
        "name" => name, "callback" => callback,
        "per_session_data_size" => per_session_data_size,
        "rx_buffer_size" => rx_buffer_size, "id" => id, "user" => user,
        "tx_packet_size" => tx_packet_size);
    layout!("struct lws_plugin_capability", LwsPluginCapability,
        "api_magic" => api_magic, "protocols" => protocols,
        "count_protocols" => count_protocols, "extensions" => extensions,
        "count_extensions" => count_extensions);
    layout!("lws_plugin_header_t", LwsPluginHeader,
        "name" => name, "_class" => class, "lws_build_hash" => lws_build_hash,
        "api_magic" => api_magic);
    layout!("struct lws_plugin_header_192", LwsPluginHeader192,
        "name" => name, "_class" => class, "lws_build_hash" => lws_build_hash,
        "api_magic" => api_magic, "priority" => priority);
    layout!("lws_plugin_protocol_t", LwsPluginProtocol,
        "hdr" => hdr, "protocols" => protocols, "extensions" => extensions,
        "count_protocols" => count_protocols,
        "count_extensions" => count_extensions);
    layout!("struct lws_plugin_protocol_192", LwsPluginProtocol192,
        "hdr" => hdr, "protocols" => protocols, "extensions" => extensions,
        "count_protocols" => count_protocols,
        "count_extensions" => count_extensions);
    layout!("struct lws_protocol_vhost_options", LwsProtocolVhostOptions,
        "next" => next, "options" => options, "name" => name, "value" => value);
    layout!("struct lws_dll2", LwsDll2,
        "prev" => prev, "next" => next, "owner" => owner);
    layout!("struct lws_dll2_owner", LwsDll2Owner,
        "tail" => tail, "head" => head, "count" => count);
    layout!("lws_sorted_usec_list_t", LwsSortedUsecList,
        "list" => list, "us" => us, "cb" => cb, "latency_us" => latency_us);
    layout!("struct lws_process_html_args", LwsProcessHtmlArgs,
        "p" => p, "len" => len, "max_len" => max_len, "final" => final_,
        "chunked" => chunked);
    layout!("lws_spa_create_info_t", LwsSpaCreateInfo,
        "param_names" => param_names, "count_params" => count_params,
        "max_storage" => max_storage, "opt_cb" => opt_cb,
        "opt_data" => opt_data, "param_names_stride" => param_names_stride,
        "ac" => ac, "ac_chunk_size" => ac_chunk_size);
    layout!("union lws_tls_cert_info_results", LwsTlsCertInfoResults,
        "verified" => verified, "time" => time, "usage" => usage);
    want.insert(
        "offset union lws_tls_cert_info_results.ns.len".to_owned(),
        (offset_of!(LwsTlsCertInfoResults, ns) + offset_of!(LwsTlsCertInfoNs, len)).to_string(),
    );
    want.insert(
        "offset union lws_tls_cert_info_results.ns.name".to_owned(),
        (offset_of!(LwsTlsCertInfoResults, ns) + offset_of!(LwsTlsCertInfoNs, name)).to_string(),
    );
    layout!("struct lws_tokenize", LwsTokenize,
        "start" => start, "token" => token, "len" => len,
        "token_len" => token_len, "flags" => flags, "delim" => delim, "e" => e);
    layout!("struct lws_dir_entry", LwsDirEntry, "name" => name, "type" => r#type);
    layout!("lws_dir_glob_t", LwsDirGlob, "filter" => filter, "cb" => cb, "user" => user);
    layout!("struct lws_http_mount", LwsHttpMount,
        "mount_next" => mount_next, "mountpoint" => mountpoint,
        "origin" => origin, "def" => def, "protocol" => protocol,
        "cgienv" => cgienv, "extra_mimetypes" => extra_mimetypes,
        "interpret" => interpret, "cgi_timeout" => cgi_timeout,
        "cache_max_age" => cache_max_age, "auth_mask" => auth_mask,
        "origin_protocol" => origin_protocol, "mountpoint_len" => mountpoint_len,
        "basic_auth_login_file" => basic_auth_login_file,
        "cgi_chroot_path" => cgi_chroot_path, "cgi_wd" => cgi_wd,
        "headers" => headers, "keepalive_timeout" => keepalive_timeout,
        "interceptor_path" => interceptor_path,
        "max_http_body_size" => max_http_body_size);
    layout!("lws_adopt_desc_t", LwsAdoptDesc,
        "vh" => vh, "type" => type_, "fd" => fd, "vh_prot_name" => vh_prot_name,
        "parent" => parent, "opaque" => opaque, "fi_wsi_name" => fi_wsi_name);
    layout!("lws_sock_file_fd_type", LwsSockFileFd);
    layout!("struct lws_threadpool_create_args", LwsThreadpoolCreateArgs,
        "threads" => threads, "max_queue_depth" => max_queue_depth);
    layout!("struct lws_threadpool_task_args", LwsThreadpoolTaskArgs,
        "wsi" => wsi, "user" => user, "name" => name, "async_task" => async_task,
        "task" => task, "cleanup" => cleanup);
    layout!("struct lws_client_connect_info", LwsClientConnectInfo,
        "address" => address, "port" => port, "ssl_connection" => ssl_connection,
        "path" => path, "protocol" => protocol, "userdata" => userdata,
        "method" => method, "vhost" => vhost, "pwsi" => pwsi,
        "local_protocol_name" => local_protocol_name,
        "opaque_user_data" => opaque_user_data, "priority" => priority,
        "keep_warm_secs" => keep_warm_secs, "log_cx" => log_cx,
        "_unused" => _unused);
    layout!("lws_usec_t", LwsUsec);
    // C enums travel as `int` (reason, write protocol, token index).
    layout!("enum lws_callback_reasons", c_int);
    layout!("enum lws_write_protocol", c_int);
    layout!("enum lws_token_indexes", c_int);

    for (name, value) in rust_constants() {
        want.insert(format!("const {name}"), value.to_string());
    }
    want.insert(
        "str LWS_BUILD_HASH".to_owned(),
        LWS_BUILD_HASH.to_str().expect("utf-8").to_owned(),
    );
    want
}

#[test]
fn layouts_and_constants_match_the_header() {
    let dir = scratch("abi_dump");
    let inc: String = rust_constants()
        .iter()
        .map(|(name, _)| format!("DUMP({name});\n"))
        .collect();
    fs::write(dir.join("abi_consts.inc"), inc).expect("write abi_consts.inc");
    let exe = dir.join("abi_dump");
    cc(&[
        "-std=gnu99",
        "-Wall",
        "-Werror",
        "-I",
        include_dir().to_str().expect("utf-8 path"),
        "-I",
        dir.to_str().expect("utf-8 path"),
        "-o",
        exe.to_str().expect("utf-8 path"),
        c_source("abi_dump.c").to_str().expect("utf-8 path"),
    ]);

    let mut got = BTreeMap::new();
    for line in run(&exe).lines() {
        let (key, value) = line.rsplit_once(' ').expect("`key value` line");
        assert!(
            got.insert(key.to_owned(), value.to_owned()).is_none(),
            "abi_dump printed {key} twice"
        );
    }
    let want = rust_expectations();

    let mut problems = Vec::new();
    for (key, w) in &want {
        match got.get(key) {
            None => problems.push(format!("{key}: Rust says {w}, C prints nothing")),
            Some(g) if g != w => problems.push(format!("{key}: Rust says {w}, C says {g}")),
            Some(_) => {}
        }
    }
    for (key, g) in &got {
        if !want.contains_key(key) {
            problems.push(format!("{key}: C says {g}, Rust has no twin"));
        }
    }
    assert!(
        problems.is_empty(),
        "header and abi.rs disagree:\n  {}",
        problems.join("\n  ")
    );
}

/// Enumerator names of `enum <name> {` (or the anonymous enum holding
/// `first`) in the header files, comments removed.
fn header_enum(name: Option<&str>, first: &str) -> BTreeSet<String> {
    let mut text = fs::read_to_string(include_dir().join("libwebsockets.h")).expect("read header");
    for entry in fs::read_dir(include_dir().join("libwebsockets")).expect("read include dir") {
        let path = entry.expect("dir entry").path();
        text.push_str(&fs::read_to_string(&path).expect("read sub-header"));
    }
    let text = strip_c_comments(&text);
    let opener = match name {
        Some(name) => format!("enum {name} {{"),
        None => "enum {".to_owned(),
    };
    for (at, _) in text.match_indices(&opener) {
        let body = &text[at + opener.len()..];
        let body = &body[..body.find("};").expect("enum end")];
        let names: BTreeSet<String> = body
            .split(',')
            .filter_map(|item| item.split('=').next())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        if names.contains(first) {
            return names;
        }
    }
    panic!("no `{opener}` holding {first} in the header");
}

fn strip_c_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment");
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn names(table: &[(&str, c_int)]) -> BTreeSet<String> {
    table.iter().map(|&(n, _)| n.to_owned()).collect()
}

#[test]
fn every_header_enum_has_rust_twins() {
    let reasons: BTreeSet<String> = Reason::ALL.iter().map(|r| r.c_name().to_owned()).collect();
    let pairs = [
        (
            header_enum(Some("lws_callback_reasons"), "LWS_CALLBACK_ESTABLISHED"),
            reasons,
        ),
        (
            header_enum(Some("lws_write_protocol"), "LWS_WRITE_TEXT"),
            names(WRITE_PROTOCOLS),
        ),
        (
            header_enum(Some("lws_close_status"), "LWS_CLOSE_STATUS_NORMAL"),
            names(CLOSE_STATUSES),
        ),
        (
            header_enum(Some("pending_timeout"), "NO_PENDING_TIMEOUT"),
            names(PENDING_TIMEOUTS),
        ),
        (
            header_enum(Some("lws_token_indexes"), "WSI_TOKEN_GET_URI"),
            names(TOKENS),
        ),
        (
            header_enum(
                Some("lws_client_connect_ssl_connection_flags"),
                "LCCSCF_USE_SSL",
            ),
            names(CLIENT_SSL_FLAGS),
        ),
        (
            header_enum(Some("lws_spa_fileupload_states"), "LWS_UFS_CONTENT"),
            names(UPLOAD_STATES),
        ),
        (
            header_enum(Some("lws_tls_cert_info"), "LWS_TLS_CERT_INFO_VERIFIED"),
            names(TLS_CERT_INFOS),
        ),
        (header_enum(None, "LWSHUMETH_GET"), names(HTTP_METHODS)),
        (
            header_enum(Some("lws_threadpool_task_status"), "LWS_TP_STATUS_QUEUED"),
            names(TASK_STATUSES),
        ),
        (
            header_enum(
                Some("lws_threadpool_task_return"),
                "LWS_TP_RETURN_CHECKING_IN",
            ),
            names(TASK_RETURNS),
        ),
    ];
    for (c, rust) in pairs {
        let only_c: Vec<_> = c.difference(&rust).collect();
        let only_rust: Vec<_> = rust.difference(&c).collect();
        assert!(
            only_c.is_empty() && only_rust.is_empty(),
            "only in the header: {only_c:?}; only in abi.rs: {only_rust:?}"
        );
    }

    let header = fs::read_to_string(include_dir().join("libwebsockets/lws-logs.h"))
        .expect("read lws-logs.h");
    let lll: BTreeSet<String> = header
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("LLL"))
        .map(str::to_owned)
        .collect();
    assert_eq!(lll, names(LOG_LEVELS), "LLL_* macros vs LOG_LEVELS");
}

#[test]
fn plugin_style_code_compiles_without_warnings() {
    let dir = scratch("plugin_shape");
    let include = include_dir();
    let src = c_source("plugin_shape.c");
    for std_flags in [&["-std=gnu99"][..], &["-std=c99", "-pedantic"][..]] {
        let tag = std_flags[0].trim_start_matches("-std=");
        let so = dir.join(format!("libprotocol_shape_{tag}.so"));
        let mut args = std_flags.to_vec();
        args.extend([
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fPIC",
            "-shared",
            "-I",
            include.to_str().expect("utf-8 path"),
            "-o",
            so.to_str().expect("utf-8 path"),
            src.to_str().expect("utf-8 path"),
        ]);
        cc(&args);
    }
}

#[test]
fn inline_helpers_behave_like_lws() {
    let dir = scratch("helpers");
    let exe = dir.join("helpers");
    cc(&[
        "-std=gnu99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-I",
        include_dir().to_str().expect("utf-8 path"),
        "-o",
        exe.to_str().expect("utf-8 path"),
        c_source("helpers.c").to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run(&exe).trim(), "ok");
}

#[test]
fn reason_table_round_trips() {
    for &r in Reason::ALL {
        assert_eq!(Reason::from_raw(r.as_raw()), Some(r), "{}", r.c_name());
    }
    assert_eq!(
        Reason::from_raw(LWS_CALLBACK_SERVER_WRITEABLE),
        Some(Reason::ServerWriteable)
    );
    assert_eq!(Reason::Established.as_raw(), 0);
    assert_eq!(Reason::User.as_raw(), 1000);
    assert_eq!(Reason::from_raw(LWS_CALLBACK_USER + 1), None);
    assert_eq!(Reason::from_raw(68), None, "68 was removed from lws");
    let distinct: BTreeSet<c_int> = Reason::ALL.iter().map(|r| r.as_raw()).collect();
    assert_eq!(distinct.len(), Reason::ALL.len());
}

#[test]
fn tokens_name_their_headers() {
    assert_eq!(
        token_header(WSI_TOKEN_HOST),
        Some(TokenKind::Header("host"))
    );
    assert_eq!(
        token_header(WSI_TOKEN_HTTP_USER_AGENT),
        Some(TokenKind::Header("user-agent"))
    );
    assert_eq!(
        token_header(WSI_TOKEN_HTTP_CONTENT_LENGTH),
        Some(TokenKind::Header("content-length"))
    );
    assert_eq!(
        token_header(WSI_TOKEN_GET_URI),
        Some(TokenKind::MethodUri("GET"))
    );
    assert_eq!(
        token_header(WSI_TOKEN_POST_URI),
        Some(TokenKind::MethodUri("POST"))
    );
    assert_eq!(
        token_header(WSI_TOKEN_HTTP_URI_ARGS),
        Some(TokenKind::UriArgs)
    );
    assert_eq!(token_header(WSI_TOKEN_COUNT), None);
    assert_eq!(token_header(-1), None);
    // Numbered 0.. in order, no gaps.
    for (i, &(name, value)) in TOKENS.iter().enumerate() {
        assert_eq!(value as usize, i, "{name}");
    }
    // Header names are lower-case and unique.
    let mut seen = BTreeSet::new();
    for &(name, value) in TOKENS {
        if let Some(TokenKind::Header(h)) = token_header(value) {
            assert_eq!(h, h.to_ascii_lowercase(), "{name}");
            assert!(seen.insert(h), "{h} used twice");
        }
    }
}
