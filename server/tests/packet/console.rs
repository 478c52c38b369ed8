//! The packet console (`GET <mount>/console`, issue #15) in headless
//! Chromium: packets POSTed show up with id, time, content type and body
//! (JSON pretty-printed, binary as hex); the content-type filter, resume
//! from an id, pause (and catching up on resume) and the ingest rate plot
//! work. A screenshot is kept in the test's output folder
//! (`CARGO_TARGET_TMPDIR`, i.e. target/tmp/packet-console.png).

use serde_json::Value;

use super::{id_of, site, Http, MOUNT};
use crate::support::chromium::{self, Browser, Page};
use crate::support::{get, skip};

#[test]
fn console_page_is_served_on_the_mount() {
    let (s, _) = site("");
    let srv = s.start();
    let (status, headers, body) = get(&srv.url(&format!("{MOUNT}/console")));
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("<title>Packet console</title>"), "{page}");
    assert!(page.contains("new EventSource("), "reads the events stream");
}

/// `document.body`'s attribute `name`.
fn body_attr(page: &mut Page, name: &str) -> String {
    page.eval_str(&format!("document.body.getAttribute('{name}') || ''"))
}

fn wait_attr(page: &mut Page, name: &str, want: &str) {
    let expr = format!("document.body.getAttribute('{name}')");
    page.wait_for(15, &expr, |v| v.as_str() == Some(want));
}

/// The packets on the page, newest first: [id, time, content type, body].
fn rows(page: &mut Page) -> Vec<Vec<String>> {
    let v = page.eval(
        "Array.from(document.querySelectorAll('#packets .packet'), p => [\
           p.getAttribute('data-id'), p.querySelector('.time').textContent,\
           p.querySelector('.ctype').textContent, p.querySelector('.body').textContent])",
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

fn set_field(page: &mut Page, id: &str, value: &str) {
    page.eval(&format!(
        "document.getElementById('{id}').value = {}; 1",
        Value::from(value)
    ));
}

fn click(page: &mut Page, id: &str) {
    page.eval(&format!("document.getElementById('{id}').click(); 1"));
}

#[test]
fn console_shows_packets_as_they_arrive_in_chromium() {
    const TEST: &str = "packet::console::console_shows_packets_as_they_arrive_in_chromium";
    let bin = match chromium::find() {
        Ok(b) => b,
        Err(why) => return skip(TEST, &why),
    };
    let (s, _) = site("");
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    // Before the page opens: only shown when asked for (from id 0).
    assert_eq!(id_of(&http.post("text/plain", b"before the page")), 1);

    let browser = Browser::start(&bin, &s.path("chromium-profile"), (1000, 900));
    let mut page = Page::open(&browser, &srv.url(&format!("{MOUNT}/console?rate-ms=300")));
    wait_attr(&mut page, "data-state", "live");

    let json = br#"{"temp":21.5,"unit":"C","ok":true}"#;
    assert_eq!(id_of(&http.post("application/json", json)), 2);
    assert_eq!(id_of(&http.post("text/plain", b"hello controller")), 3);
    let binary = [0x00, 0x01, 0x02, 0xff, b'A'];
    assert_eq!(id_of(&http.post("application/octet-stream", &binary)), 4);
    wait_attr(&mut page, "data-shown", "3");
    let r = rows(&mut page);
    let ids: Vec<&str> = r.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(ids, ["4", "3", "2"], "newest first: {r:?}");
    let time = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    assert!(r.iter().all(|row| time.is_match(&row[1])), "{r:?}");
    assert_eq!(r[2][2], "application/json");
    assert_eq!(
        r[2][3], "{\n  \"temp\": 21.5,\n  \"unit\": \"C\",\n  \"ok\": true\n}",
        "JSON pretty-printed"
    );
    assert_eq!(
        (r[1][2].as_str(), r[1][3].as_str()),
        ("text/plain", "hello controller")
    );
    assert_eq!(r[0][2], "application/octet-stream");
    assert!(
        r[0][3].starts_with("00000000  00 01 02 ff 41") && r[0][3].ends_with("  ....A"),
        "binary as hex: {:?}",
        r[0][3]
    );

    // The content-type filter, from the oldest retained packet.
    set_field(&mut page, "filter", "application/json");
    set_field(&mut page, "since", "0");
    click(&mut page, "apply");
    wait_attr(&mut page, "data-last-id", "2");
    let r = rows(&mut page);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0][2], "application/json");

    // Resume from an id: everything after it.
    set_field(&mut page, "filter", "");
    set_field(&mut page, "since", "2");
    click(&mut page, "apply");
    wait_attr(&mut page, "data-last-id", "4");
    assert_eq!(body_attr(&mut page, "data-shown"), "2");

    // Pause: nothing new is shown; resuming catches up from the last id.
    click(&mut page, "pause");
    wait_attr(&mut page, "data-state", "paused");
    assert_eq!(id_of(&http.post("text/plain", b"while paused")), 5);
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert_eq!(body_attr(&mut page, "data-shown"), "2");
    click(&mut page, "pause");
    wait_attr(&mut page, "data-last-id", "5");
    wait_attr(&mut page, "data-state", "live");
    assert_eq!(body_attr(&mut page, "data-shown"), "3");

    // The ingest rate: a burst shows as a rate above zero, and is drawn.
    for i in 0..40 {
        http.post("text/plain", format!("burst {i}").as_bytes());
    }
    page.wait_for(
        15,
        "Number(document.getElementById('rate').getAttribute('data-rate') || 0)",
        |v| v.as_f64().is_some_and(|r| r > 0.0),
    );
    let points = page.eval("Number(document.getElementById('rate').getAttribute('data-points'))");
    assert!(points.as_u64().is_some_and(|p| p >= 2), "{points}");
    let blue = page.eval(
        "(function(){var c=document.getElementById('rate'),\
         d=c.getContext('2d').getImageData(0,0,c.width,c.height).data,k=0;\
         for(var i=0;i<d.length;i+=4){if(d[i]==0x20&&d[i+1]==0x60&&d[i+2]==0xc0&&d[i+3]>200)k++;}\
         return k;})()",
    );
    assert!(
        blue.as_u64().is_some_and(|k| k > 10),
        "rate line pixels: {blue}"
    );
    wait_attr(&mut page, "data-last-id", "45");

    // For a person to look at: the JSON and the binary packet, and the plot.
    set_field(&mut page, "filter", "application/");
    set_field(&mut page, "since", "0");
    click(&mut page, "apply");
    wait_attr(&mut page, "data-last-id", "4");
    assert_eq!(body_attr(&mut page, "data-shown"), "2");
    let png = page.screenshot();
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("packet-console.png");
    std::fs::write(&shot, &png).unwrap();
    eprintln!("packet console screenshot: {}", shot.display());
    drop(page);
    drop(browser);
}

/// On a vhost with subscribe tokens the page's stream needs one, which
/// EventSource cannot send as a header: the console passes the
/// `access_token` of its own URL on to `events` and `stats`.
#[test]
fn console_on_a_protected_vhost_takes_the_token_of_its_url() {
    const TEST: &str = "packet::console::console_on_a_protected_vhost_takes_the_token_of_its_url";
    let bin = match chromium::find() {
        Ok(b) => b,
        Err(why) => return skip(TEST, &why),
    };
    let s = super::access::access_site("", "");
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let bearer = format!("Bearer {}", super::access::CTRL_A);
    let post = |http: &mut Http, body: &[u8]| {
        id_of(&http.post_with(
            &[("Content-Type", "text/plain"), ("Authorization", &bearer)],
            body,
        ))
    };
    let browser = Browser::start(&bin, &s.path("chromium-profile"), (1000, 900));
    let console = format!(
        "{MOUNT}/console?rate-ms=300&access_token={}",
        super::access::READER
    );
    let mut page = Page::open(&browser, &srv.url(&console));
    wait_attr(&mut page, "data-state", "live");
    let id = post(&mut http, b"from a controller with a token");
    wait_attr(&mut page, "data-shown", "1");
    let r = rows(&mut page);
    assert_eq!(r[0][0], id.to_string(), "{r:?}");
    assert_eq!(r[0][3], "from a controller with a token");
    // The rate plot's stats were read with the token too.
    page.wait_for(
        15,
        "Number(document.getElementById('rate').getAttribute('data-points') || 0)",
        |v| v.as_f64().is_some_and(|n| n > 0.0),
    );

    // Without it, the stream is refused and the page says why.
    let mut bare = Page::open(&browser, &srv.url(&format!("{MOUNT}/console")));
    wait_attr(&mut bare, "data-state", "error");
    let said = bare.eval_str("document.getElementById('state').textContent");
    assert!(said.contains("access_token"), "{said}");
    assert_eq!(body_attr(&mut bare, "data-shown"), "0");
}
