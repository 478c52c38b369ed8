//! The bundled test page (`data/libwebsockets-test-server/`) in a real
//! browser: Debian's `chromium`, headless, driven over the DevTools protocol
//! (a WebSocket, spoken here with tungstenite). The page runs on the bundled
//! vhost config with the workspace's plugins; the test clicks and draws with
//! real input events and reads what the page shows.
//!
//! Skips, saying why, when no chromium is installed (`scripts/test-deps`
//! installs it). `COMLINK_CHROMIUM` names another binary;
//! `COMLINK_SCREENSHOT=<file.png>` keeps a copy of the final screenshot.

use tungstenite::Message;

use crate::support::chromium::{self, Browser, Page};
use crate::support::plugins::{install_builtins, repo};
use crate::support::ws::{connect, next_text};
use crate::support::{Server, Site};

/// The bundled configuration as `scripts/run` serves it: the repository's
/// own `conf` and `conf.d/test-server` and its `data/` dir, plus one
/// `conf.d` file adding a plugin dir with the workspace's built plugins (the
/// bundled `plugin-dir` is `target/release`, relative to the repository
/// root). `vhost_extra` is inserted into the bundled vhost (e.g. an
/// `access-log`), with `$SITE` standing for the site's temp dir. Also used
/// by `compat_lws_client`.
pub(crate) fn start_bundled(vhost_extra: &str) -> (Site, Server) {
    start_bundled_with(vhost_extra, |v| v)
}

/// Like [`start_bundled`], with `edit` applied to the bundled vhost file
/// (after the packet journal is moved into the site's temp dir).
pub(crate) fn start_bundled_with(
    vhost_extra: &str,
    edit: impl FnOnce(String) -> String,
) -> (Site, Server) {
    let s = Site::new("");
    std::fs::copy(repo().join("conf"), s.path("conf")).unwrap();
    let plugins = s.path("plugins");
    install_builtins(
        &plugins,
        &[
            "dumb_increment",
            "lws_mirror",
            "lws_status",
            "lws_server_status",
            "post_demo",
            "lws_packet",
        ],
    );
    s.conf_d(
        "00-plugins",
        &format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\"}}}}\n",
            plugins.display()
        ),
    );
    let vhost = std::fs::read_to_string(repo().join("conf.d/test-server")).unwrap();
    let journal = "\"journal-dir\": \"target/packets\"";
    assert!(vhost.contains(journal), "conf.d/test-server changed shape");
    let vhost = edit(vhost.replace(
        journal,
        &format!("\"journal-dir\": \"{}\"", s.path("packets").display()),
    ));
    let anchor = "\"name\": \"localhost\",";
    assert!(vhost.contains(anchor), "conf.d/test-server changed shape");
    s.conf_d(
        "test-server",
        &vhost.replacen(
            anchor,
            &format!(
                "{anchor} {}",
                vhost_extra.replace("$SITE", &s.dir.path().display().to_string())
            ),
            1,
        ),
    );
    let data = repo().join("data");
    let srv = Server::start(s.dir.path(), &["-n", "--data-dir", data.to_str().unwrap()]);
    (s, srv)
}

/// Page coordinates of the centre of element `id`.
fn centre(page: &mut Page, id: &str) -> (f64, f64) {
    let v = page.eval_str(&format!(
        "(function(){{var r=document.getElementById('{id}').getBoundingClientRect();\
         return (r.left + r.width/2) + ' ' + (r.top + r.height/2);}})()"
    ));
    parse_pair(&v)
}

/// Page coordinates of pixel (x, y) of the canvas (inside its border).
fn canvas_point(page: &mut Page, x: u32, y: u32) -> (f64, f64) {
    let v = page.eval_str(&format!(
        "(function(){{var c=document.getElementById('canvas'),r=c.getBoundingClientRect();\
         return (r.left + c.clientLeft + {x}*c.clientWidth/c.width) + ' ' + \
         (r.top + c.clientTop + {y}*c.clientHeight/c.height);}})()"
    ));
    parse_pair(&v)
}

/// The RGBA of canvas pixel (x, y), as "r,g,b,a".
fn pixel(page: &mut Page, x: u32, y: u32) -> String {
    page.eval_str(&format!(
        "Array.from(document.getElementById('canvas').getContext('2d')\
         .getImageData({x},{y},1,1).data).join(',')"
    ))
}

/// Polls string-valued `expr` until `ok` holds (at most `secs`); the value.
fn wait_str(page: &mut Page, secs: u64, expr: &str, ok: impl Fn(&str) -> bool) -> String {
    let v = page.wait_for(secs, expr, |v| v.as_str().is_some_and(&ok));
    v.as_str().unwrap().to_string()
}

/// "dumb status|count|mirror status" ("loading" before the page is there).
const STATE: &str = "(function(){var d=document.getElementById('dumb-status'),\
     n=document.getElementById('number'),m=document.getElementById('mirror-status');\
     return d && n && m ? d.textContent + '|' + n.getAttribute('data-count') + '|' + \
     m.textContent : 'loading';})()";

fn parse_pair(v: &str) -> (f64, f64) {
    let mut it = v.split(' ').map(|n| n.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// A stroke command `d #rrggbb x0 y0 x1 y1;` as (colour, coordinates).
fn stroke(cmd: &str) -> (String, [i64; 4]) {
    let re = regex::Regex::new(r"^d (#[0-9a-f]{6}) (\d+) (\d+) (\d+) (\d+);$").unwrap();
    let c = re
        .captures(cmd)
        .unwrap_or_else(|| panic!("not a stroke command: {cmd:?}"));
    let n = |i: usize| c[i].parse::<i64>().unwrap();
    (c[1].to_string(), [n(2), n(3), n(4), n(5)])
}

/// Whether `got` is `want` give or take a pixel (input coordinates are
/// whole CSS pixels; the canvas need not sit on whole pixels).
fn near(got: [i64; 4], want: [i64; 4]) -> bool {
    got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1)
}

fn count(state: &str) -> Option<u64> {
    state.split('|').nth(1)?.parse().ok()
}

#[test]
fn bundled_test_page_counts_resets_and_mirrors_drawings_in_chromium() {
    let bin = match chromium::find() {
        Ok(b) => b,
        Err(why) => {
            crate::support::skip("compat_chromium", &why);
            return;
        }
    };
    let (site, srv) = start_bundled("");
    let browser = Browser::start(&bin, &site.path("chromium-profile"), (900, 1000));
    let mut page = Page::open(&browser, &srv.url("/"));

    // Both sockets connect, and the counter counts.
    let s = wait_str(&mut page, 20, STATE, |s| {
        s.starts_with("connected|") && s.ends_with("|connected") && count(s).is_some()
    });
    let first = count(&s).unwrap();
    let s = wait_str(&mut page, 10, STATE, |s| {
        count(s).is_some_and(|n| n >= first + 20)
    });
    let before = count(&s).unwrap();

    // "reset" (a real click) restarts it: it shows a number lower than any
    // it showed before the click.
    let at = centre(&mut page, "reset");
    page.mouse("mousePressed", at, 1);
    page.mouse("mouseReleased", at, 0);
    wait_str(&mut page, 10, STATE, |s| {
        s.starts_with("connected|") && count(s).is_some_and(|n| n < before)
    });

    // A second mirror client on the same instance sees the page's strokes;
    // the page draws what comes back, and what the other client sends.
    let mut other = connect(srv.addr(7681), "/", &["lws-mirror-protocol"]);
    page.eval_str("document.getElementById('colour').value = '#d02020'; 'ok'");
    let p0 = canvas_point(&mut page, 50, 100);
    let p1 = canvas_point(&mut page, 150, 100);
    let p2 = canvas_point(&mut page, 250, 100);
    page.mouse("mousePressed", p0, 1);
    page.mouse("mouseMoved", p1, 1);
    page.mouse("mouseMoved", p2, 1);
    page.mouse("mouseReleased", p2, 0);
    let one = next_text(&mut other);
    let last = next_text(&mut other);
    let (c0, a) = stroke(&one);
    let (c1, b) = stroke(&last);
    assert_eq!((c0.as_str(), c1.as_str()), ("#d02020", "#d02020"));
    assert!(near(a, [50, 100, 150, 100]), "{one}");
    assert!(near(b, [150, 100, 250, 100]) && b[..2] == a[2..], "{last}");
    wait_str(
        &mut page,
        10,
        "document.getElementById('canvas').getAttribute('data-last')",
        |v| v == last,
    );
    let (x, y) = (u32::try_from(a[2]).unwrap(), u32::try_from(a[3]).unwrap());
    assert_eq!(
        pixel(&mut page, x - 40, y),
        "208,32,32,255",
        "the page's own stroke"
    );
    assert_eq!(
        pixel(&mut page, 100, 200),
        "0,0,0,0",
        "nothing drawn there yet"
    );

    other
        .send(Message::text("d #2050d0 50 200 250 200;"))
        .unwrap();
    assert_eq!(next_text(&mut other), "d #2050d0 50 200 250 200;");
    wait_str(
        &mut page,
        10,
        "document.getElementById('canvas').getAttribute('data-last')",
        |v| v == "d #2050d0 50 200 250 200;",
    );
    assert_eq!(
        pixel(&mut page, 100, 200),
        "32,80,208,255",
        "the other client's stroke"
    );
    let drawn = page.eval_str("document.getElementById('canvas').getAttribute('data-received')");
    assert_eq!(drawn, "3");

    // A screenshot, for a person to look at (COMLINK_SCREENSHOT keeps it).
    let png = page.screenshot();
    assert!(png.len() > 1000);
    let shot = site.path("test-page.png");
    std::fs::write(&shot, &png).unwrap();
    if let Some(keep) = std::env::var_os("COMLINK_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    drop(page);
    drop(browser);
}
