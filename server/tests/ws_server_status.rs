//! `lws-server-status` (the Rust built-in `protocol_lws_server_status`):
//! its JSON over a real WebSocket client, and the bundled `server-status`
//! page in headless Chromium on a server configured like the bundled one.

use serde_json::Value;

use crate::support::chromium::{self, Browser, Page};
use crate::support::plugins::install_builtins;
use crate::support::ws::{connect, next_text, Client};
use crate::support::{Server, Site};

/// The next message, parsed (panics after the client's 10 s read timeout).
fn next_json(ws: &mut Client) -> Value {
    let text = next_text(ws);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `v` (a JSON string holding a number) as a number.
fn n(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("expected a number in a string, got {v}"))
}

/// The first context of an update.
fn ctx(m: &Value) -> &Value {
    &m["i"]["contexts"][0]
}

/// The vhost called `name` in an update.
fn vhost<'a>(m: &'a Value, name: &str) -> &'a Value {
    ctx(m)["vhosts"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no vhost {name} in {m}"))
}

/// Reads updates until `ok` holds for one (at most `max` messages).
fn until(ws: &mut Client, max: usize, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..max {
        last = next_json(ws);
        if ok(&last) {
            return last;
        }
    }
    panic!("no update with {what} in {max} messages; last: {last}");
}

/// A site with the plugin on two vhosts: `localhost` (7681, every 200 ms,
/// three `filepath`s: `a.txt`, a missing file, `b.txt`) and `second` (7682,
/// hide-vhosts, a period far longer than any test).
fn site() -> Site {
    let s = Site::with_plugins("", |p| install_builtins(p, &["lws_server_status"]));
    let (a, missing, b) = (s.path("a.txt"), s.path("missing.txt"), s.path("b.txt"));
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [
              {{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
                "ws-protocols": [{{"lws-server-status": {{"status": "ok", "update-ms": "200",
                  "filepath": "{}", "filepath": "{}", "filepath": "{}"}}}}]}},
              {{"name": "second", "port": 7682, "interface": "127.0.0.1",
                "ws-protocols": [{{"lws-server-status": {{"status": "ok",
                  "update-ms": "3600000", "hide-vhosts": "1"}}}}]}}]}}"#,
            a.display(),
            missing.display(),
            b.display()
        ),
    );
    s
}

#[test]
fn server_status_sends_state_at_once_then_every_update_ms() {
    let s = site();
    // 300 bytes with characters JSON must escape; only 255 are sent.
    let mut a = String::from("\"quoted\" back\\slash\ttab\nnew line\u{1} ");
    while a.len() < 300 {
        a.push_str("0123456789");
    }
    std::fs::write(s.path("a.txt"), &a).unwrap();
    std::fs::write(s.path("b.txt"), "b file\n").unwrap();
    let srv = s.start();

    let mut ws = connect(srv.addr(7681), "/", &["lws-server-status"]);
    let first = next_json(&mut ws);

    // lws's shape: {"i": <context dump>, "files": [...]}.
    let i = &first["i"];
    assert!(
        i["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{first}"
    );
    n(&i["uptime"]);
    for l in ["l1", "l2", "l3"] {
        let v = i[l].as_str().unwrap_or_else(|| panic!("{l} in {first}"));
        assert!(v.parse::<f64>().is_ok(), "{l}: {v}");
    }
    let plugins: Vec<&str> = i["plugins"]
        .as_array()
        .unwrap_or_else(|| panic!("plugins in {first}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        plugins
            .iter()
            .any(|p| p.ends_with("/libprotocol_lws_server_status.so")),
        "{plugins:?}"
    );
    let c = ctx(&first);
    n(&c["context_uptime"]);
    let alive0 = n(&c["wsi_alive"]);
    assert!(alive0 >= 1, "this client is counted: {first}");
    let pt = c["pt"]
        .as_array()
        .unwrap_or_else(|| panic!("pt in {first}"));
    assert!(!pt.is_empty() && pt.iter().all(|t| t["fds_count"].is_string()));
    let names: Vec<&str> = c["vhosts"]
        .as_array()
        .unwrap_or_else(|| panic!("vhosts in {first}"))
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["localhost", "second"]);
    assert_eq!(vhost(&first, "localhost")["port"], "7681");
    assert_eq!(vhost(&first, "second")["port"], "7682");
    assert_eq!(vhost(&first, "localhost")["use_ssl"], "0");
    assert!(
        vhost(&first, "localhost")["ws-protocols"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == "lws-server-status")),
        "{first}"
    );
    let upg0 = n(&vhost(&first, "localhost")["ws_upg"]);
    assert!(upg0 >= 1, "{first}");

    // `filepath`s in config order: the first 255 bytes (escaped as JSON,
    // so they parse back to the bytes); a missing file is left out.
    let files = first["files"].as_array().expect("files");
    let paths: Vec<String> = ["a.txt", "b.txt"]
        .iter()
        .map(|f| s.path(f).display().to_string())
        .collect();
    assert_eq!(
        files.iter().map(|f| f["path"].clone()).collect::<Vec<_>>(),
        paths
    );
    assert_eq!(files[0]["val"], a[..255]);
    assert_eq!(files[1]["val"], "b file\n");

    // Periodic updates, with nothing else happening (each read gives up
    // after 10 s, so a missing timer fails here).
    for _ in 0..3 {
        let m = next_json(&mut ws);
        assert!(
            m["i"]["contexts"].is_array() && m["files"].is_array(),
            "{m}"
        );
    }

    // Two more clients: the count of open connections (and the vhost's
    // upgrades) rises; updates reach every client.
    let mut b = connect(srv.addr(7681), "/", &["lws-server-status"]);
    let _c = connect(srv.addr(7681), "/", &["lws-server-status"]);
    let m = until(&mut ws, 50, "two more connections", |m| {
        n(&ctx(m)["wsi_alive"]) >= alive0 + 2
    });
    assert!(n(&vhost(&m, "localhost")["ws_upg"]) >= upg0 + 2, "{m}");
    let mb = next_json(&mut b);
    assert!(n(&ctx(&mb)["wsi_alive"]) > alive0, "{mb}");

    // Files are read at each update (the missing one once it exists).
    std::fs::write(s.path("a.txt"), "changed").unwrap();
    std::fs::write(s.path("missing.txt"), "here now").unwrap();
    until(&mut ws, 50, "the new file contents", |m| {
        m["files"][0]["val"] == "changed" && m["files"][1]["val"] == "here now"
    });

    // The other vhost: hide-vhosts, no files, and its first update comes
    // on connect (its period is an hour).
    let mut d = connect(srv.addr(7682), "/", &["lws-server-status"]);
    let md = next_json(&mut d);
    assert!(ctx(&md)["wsi_alive"].is_string(), "{md}");
    assert!(ctx(&md).get("vhosts").is_none(), "hide-vhosts: {md}");
    assert_eq!(md["files"], serde_json::json!([]));
}

#[test]
fn server_status_shows_the_packet_service_figures() {
    let s = Site::with_plugins("", |p| {
        install_builtins(p, &["lws_server_status", "lws_packet"]);
    });
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
              "mounts": [{{"mountpoint": "/in", "origin": "callback://protocol-lws-packet"}}],
              "ws-protocols": [
                {{"lws-server-status": {{"status": "ok", "update-ms": "200"}}}},
                {{"protocol-lws-packet": {{"status": "ok", "journal-dir": "{}"}}}}]}}]}}"#,
            s.path("journal").display()
        ),
    );
    let srv = s.start();
    let out = crate::support::curl(&["--data-binary", "twelve bytes", &srv.url("/in")]);
    assert!(out.contains("\"id\":1"), "{out}");
    let mut ws = connect(srv.addr(7681), "/", &["lws-server-status"]);
    let figure = |m: &Value, name: &str| {
        m["i"]["plugin_figures"].as_array().and_then(|fs| {
            fs.iter()
                .find(|f| f["name"] == name)
                .and_then(|f| f["value"].as_f64())
        })
    };
    let m = until(&mut ws, 50, "the packet figures", |m| {
        figure(m, "comlink_packets_in_total") == Some(1.0)
    });
    assert_eq!(
        figure(&m, "comlink_packet_bytes_in_total"),
        Some(12.0),
        "{m}"
    );
    assert!(
        figure(&m, "comlink_packet_journal_bytes").is_some_and(|b| b > 0.0),
        "{m}"
    );
    assert!(
        figure(&m, "comlink_packet_subscriber_max_lag").is_some(),
        "{m}"
    );
}

/// The bundled configuration (as `scripts/run` serves it) with
/// `update-ms` set to `update_ms`.
fn start_bundled(update_ms: u32) -> (Site, Server) {
    crate::compat_chromium::start_bundled_with("", |vhost| {
        let period = regex::Regex::new(r#""update-ms"\s*:\s*"?\d+"?"#).unwrap();
        assert!(period.is_match(&vhost), "no update-ms in {vhost}");
        period
            .replace(&vhost, format!("\"update-ms\": \"{update_ms}\""))
            .into_owned()
    })
}

/// `document.body`'s state: "<data-state>|<data-updates>".
const STATE: &str =
    "document.body.getAttribute('data-state') + '|' + document.body.getAttribute('data-updates')";

fn updates(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.split('|').nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn server_status_page_shows_live_state_in_chromium() {
    let bin = match chromium::find() {
        Ok(b) => b,
        Err(why) => {
            crate::support::skip("ws_server_status (page)", &why);
            return;
        }
    };
    let (site, srv) = start_bundled(300);

    // The page and its assets come from the bundled data dir.
    let (status, _, body) = crate::support::get(&srv.url("/server-status/"));
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("server-status.js"));

    let browser = Browser::start(&bin, &site.path("chromium-profile"), (1000, 1400));
    let mut page = Page::open(&browser, &srv.url("/server-status"));

    // Connected, and updates keep coming (the first at once, then periodic).
    let v = page.wait_for(20, STATE, |v| {
        v.as_str().is_some_and(|s| s.starts_with("connected|")) && updates(v) >= 1
    });
    let first = updates(&v);
    page.wait_for(15, STATE, |v| updates(v) >= first + 3);

    // What it rendered: the plugin list, the vhost row, threads, figures.
    let plugins =
        page.eval("Array.from(document.querySelectorAll('#plugins li'), e => e.textContent)");
    for p in [
        "libprotocol_dumb_increment.so",
        "libprotocol_lws_mirror.so",
        "libprotocol_lws_status.so",
        "libprotocol_lws_server_status.so",
    ] {
        assert!(
            plugins.as_array().unwrap().iter().any(|x| x == p),
            "{p} in {plugins}"
        );
    }
    let rows = page.eval(
        "Array.from(document.querySelectorAll('#vhosts tbody tr'), \
         r => Array.from(r.cells, c => c.textContent))",
    );
    let row = &rows[0];
    assert_eq!(row[0], "localhost", "{rows}");
    assert_eq!(row[1], "7681", "{rows}");
    let protocols = row[7].as_str().unwrap();
    assert!(
        protocols.contains("lws-server-status") && protocols.contains("dumb-increment-protocol"),
        "{rows}"
    );
    assert!(
        row[8].as_str().unwrap().contains("/server-status"),
        "{rows}"
    );
    let threads = page.eval("document.querySelectorAll('#threads tbody tr').length");
    assert!(threads.as_u64().is_some_and(|t| t >= 1), "{threads}");
    let uptime = page.eval("document.getElementById('uptime').textContent");
    assert!(
        regex::Regex::new(r"^(\d+d )?\d\d:\d\d:\d\d$")
            .unwrap()
            .is_match(uptime.as_str().unwrap()),
        "{uptime}"
    );
    let load = page.eval("document.getElementById('load').textContent");
    assert_eq!(
        load.as_str()
            .unwrap()
            .split_whitespace()
            .filter(|l| l.parse::<f64>().is_ok())
            .count(),
        3,
        "{load}"
    );

    // Two more connections show up in the figures and the chart.
    let alive = |page: &mut Page| -> u64 {
        page.eval("document.getElementById('wsi-alive').textContent")
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let before = alive(&mut page);
    assert!(before >= 1, "the page's own connection");
    let _a = connect(srv.addr(7681), "/", &["dumb-increment-protocol"]);
    let _b = connect(srv.addr(7681), "/", &["lws-status"]);
    page.wait_for(
        15,
        "document.getElementById('wsi-alive').textContent",
        |v| {
            v.as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|n| n >= before + 2)
        },
    );
    let chart = page.wait_for(
        10,
        "document.getElementById('chart').getAttribute('data-last')",
        |v| {
            v.as_str()
                .and_then(|s| s.split(' ').next())
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|n| n >= before + 2)
        },
    );
    let points = page.eval("Number(document.getElementById('chart').getAttribute('data-points'))");
    assert!(points.as_u64().is_some_and(|p| p >= 4), "{points} {chart}");

    // A packet POSTed to the bundled /formtest2 shows in the plugin figures.
    let out = crate::support::curl(&["--data-binary", "for the page", &srv.url("/formtest2")]);
    assert!(out.contains("\"id\":1"), "{out}");
    page.wait_for(
        15,
        "(function(){var r=document.querySelector('#figures tr[data-figure=\"comlink_packets_in_total\"]');\
         return r ? r.cells[2].textContent : '';})()",
        |v| v.as_str() == Some("1"),
    );
    // The connections line is drawn (its blue, #2060c0).
    let blue = page.eval(
        "(function(){var c=document.getElementById('chart'),\
         d=c.getContext('2d').getImageData(0,0,c.width,c.height).data,k=0;\
         for(var i=0;i<d.length;i+=4){if(d[i]==0x20&&d[i+1]==0x60&&d[i+2]==0xc0&&d[i+3]==255)k++;}\
         return k;})()",
    );
    assert!(blue.as_u64().is_some_and(|k| k > 50), "blue pixels: {blue}");

    // A refused reload shows, with its file:line (issue #15).
    site.conf_d(
        "zz-broken",
        "{\n  \"vhosts\": [ { \"name\": \"x\" \"port\": 1 } ]\n}\n",
    );
    srv.reload();
    page.wait_for(
        15,
        "document.getElementById('reload').getAttribute('data-result')",
        |v| v.as_str() == Some("refused"),
    );
    let problems = page.eval_str(
        "Array.from(document.querySelectorAll('#reload-problems li'), e => e.textContent).join('\\n')",
    );
    assert!(problems.contains("conf.d/zz-broken:2:"), "{problems}");

    // A screenshot for a person to look at (COMLINK_STATUS_SCREENSHOT=<file.png>
    // keeps a copy).
    let png = page.screenshot();
    let shot = site.path("server-status.png");
    std::fs::write(&shot, &png).unwrap();
    if let Some(keep) = std::env::var_os("COMLINK_STATUS_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    drop(page);
    drop(browser);
}
