//! Every host function the C header declares is exported by `lwsws`, so a
//! plugin using any of them loads (dlopen with RTLD_NOW fails otherwise).

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::plugins::repo;

fn declared() -> BTreeSet<String> {
    let re =
        regex::Regex::new(r"LWS_VISIBLE\s+LWS_EXTERN[^;{(]*?\b([a-z_][a-z0-9_]*)\s*\(").unwrap();
    let comments = regex::Regex::new(r"(?s)/\*.*?\*/").unwrap();
    let mut names = BTreeSet::new();
    let inc = repo().join("plugin-api/include");
    let mut files = vec![inc.join("libwebsockets.h")];
    for e in std::fs::read_dir(inc.join("libwebsockets")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Comments mention functions in passing; only look at code.
        let code = comments.replace_all(&text, "");
        for c in re.captures_iter(&code) {
            names.insert(c[1].to_string());
        }
    }
    names
}

#[test]
fn every_declared_host_function_is_exported() {
    let names = declared();
    assert!(names.len() > 60, "header parse found only {names:?}");
    let out = Command::new("nm")
        .args(["-D", "--defined-only", env!("CARGO_BIN_EXE_lwsws")])
        .output()
        .expect("nm (binutils) is installed with the C compiler");
    let text = String::from_utf8_lossy(&out.stdout);
    let exported: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !exported.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "declared in the header but not exported by lwsws: {missing:?}"
    );
}
