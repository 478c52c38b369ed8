//! Fan-out to many subscribers (issue 17): the WRITEABLE pass over a
//! thousand subscribers lets the reactor in between slices of them, so new
//! POSTs are read, recorded and committed while a pass is under way, and a
//! subscriber can be asked for again before its turn in the pass came.
//! Whatever the interleaving, each subscriber gets every packet once, in id
//! order.

use super::*;

#[test]
fn a_thousand_subscribers_each_get_every_packet_once_in_order_while_posts_go_on() {
    const SUBSCRIBERS: usize = 1000;
    const POSTERS: usize = 4;
    const EACH: usize = 25;
    let (s, _journal) = site("");
    let srv = s.start();
    let addr = srv.addr(7681);
    // From the oldest packet: none is missed for opening late.
    let mut subs: Vec<Client> = (0..SUBSCRIBERS)
        .map(|_| subscribe(&srv, "?since=0"))
        .collect();
    let posters: Vec<_> = (0..POSTERS)
        .map(|p| {
            std::thread::spawn(move || {
                let mut http = Http::new(addr);
                (0..EACH)
                    .map(|i| {
                        let body = format!("poster {p} packet {i}");
                        (id_of(&http.post("text/plain", body.as_bytes())), body)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut sent: Vec<(u64, String)> = posters
        .into_iter()
        .flat_map(|p| p.join().expect("poster"))
        .collect();
    sent.sort();
    let ids: HashSet<u64> = sent.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), POSTERS * EACH, "ids are never reused");
    for (k, sub) in subs.iter_mut().enumerate() {
        let got = ws_read(sub, sent.len());
        let got: Vec<(u64, String)> = got
            .iter()
            .map(|v| {
                let id = v["id"].as_u64().expect("an id");
                (id, String::from_utf8(data_of(v)).expect("utf-8"))
            })
            .collect();
        assert_eq!(got, sent, "subscriber {k}: every packet once, in id order");
    }
    // Nothing more came (no packet twice): a last packet is the next thing
    // each subscriber reads.
    let last = id_of(&Http::new(addr).post("text/plain", b"the end"));
    for (k, sub) in subs.iter_mut().enumerate() {
        let v = &ws_read(sub, 1)[0];
        assert_eq!(v["id"].as_u64(), Some(last), "subscriber {k}");
    }
}
