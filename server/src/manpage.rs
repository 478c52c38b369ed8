//! lwsws(8): the manual page, generated from the command line's definition
//! ([`crate::cli::Args`], through clap_mangen) plus the sections a server
//! needs that clap does not describe: signals, files, environment, exit
//! status. `lwsws --man` prints it; `packaging/install.sh` installs it.

use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};

use crate::cli::Args;

/// One paragraph of the page.
fn para(roff: &mut Roff, text: impl Into<Vec<Inline>>) {
    roff.control("PP", []).text(text);
}

/// A tagged paragraph: `tag` in bold, then `text`.
fn item(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []).text([bold(tag)]).text([roman(text)]);
}

/// The sections after clap's.
fn server_sections() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["SIGNALS"]);
    item(
        &mut r,
        "SIGHUP",
        "Reload: re-read the configuration and the plugin dirs without dropping \
         connections (systemctl reload). A configuration that does not validate \
         changes nothing; the outcome is sent to systemd as STATUS= and shown by \
         lws-server-status.",
    );
    item(&mut r, "SIGUSR1", "Reopen the access logs (logrotate).");
    item(
        &mut r,
        "SIGTERM, SIGINT",
        "Stop gracefully: after stop-delay-secs (the health check answers 503 \
         meanwhile), stop accepting, finish in-flight HTTP, close WebSockets with \
         1001, run every plugin's DESTROY, exit 0.",
    );

    r.control("SH", ["FILES"]);
    item(
        &mut r,
        "/etc/lwsws/conf",
        "Global settings (lwsws JSON, with # comments).",
    );
    item(
        &mut r,
        "/etc/lwsws/conf.d/",
        "Vhosts, one file each, read in name order (names with ~ and symlinks skipped).",
    );
    item(
        &mut r,
        "DATA_DIR/libwebsockets-test-server/plugins/",
        "The built-in plugin dir (libprotocol_*.so), unless -n.",
    );
    item(&mut r, "/var/log/lwsws/", "Access logs (access-log).");
    item(
        &mut r,
        "/var/lib/lwsws/",
        "State, such as the packet journal (journal-dir).",
    );

    r.control("SH", ["ENVIRONMENT"]);
    item(
        &mut r,
        "RUST_LOG",
        "Log filter; wins over -d when set (e.g. RUST_LOG=debug).",
    );
    item(
        &mut r,
        "NOTIFY_SOCKET",
        "Set by systemd (Type=notify): READY=1, RELOADING=1, STOPPING=1 and STATUS= are sent there.",
    );
    item(
        &mut r,
        "JOURNAL_STREAM",
        "Set by systemd: log lines then carry no timestamp of their own.",
    );

    r.control("SH", ["EXIT STATUS"]);
    para(
        &mut r,
        [roman(
            "0 after a graceful stop, a valid --check-config, or a --probe answered 200; \
             1 when the configuration is not valid, the server cannot start, or a probe \
             got anything else.",
        )],
    );

    r.control("SH", ["SEE ALSO"]);
    para(
        &mut r,
        [
            bold("systemctl"),
            roman("(1), "),
            bold("logrotate"),
            roman("(8), "),
            italic("/usr/share/doc/lwsws/README.md"),
        ],
    );
    r
}

/// The whole page, as roff.
pub fn render() -> Vec<u8> {
    let cmd = Args::command().long_about(
        "An lwsws-compatible HTTP/WebSocket server: it reads lwsws's configuration \
         (CONFIG_DIR/conf and CONFIG_DIR/conf.d/), loads libwebsockets-style protocol \
         plugins (libprotocol_*.so) and serves HTTP, HTTP/2 over TLS and WebSockets, \
         handing each connection's events to the plugin that owns it. It is Comlink's \
         host for the packet service of field controllers.",
    );
    let man = clap_mangen::Man::new(cmd)
        .title("LWSWS")
        .section("8")
        .source(concat!("comlink ", env!("CARGO_PKG_VERSION")))
        .manual("System Administration");
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render(&mut out);
    let _ = server_sections().to_writer(&mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_every_option_and_the_server_sections() {
        let page = String::from_utf8(super::render()).unwrap();
        assert!(page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH LWSWS 8"));
        for want in [
            ".TH LWSWS 8",
            "check\\-config",
            "strict",
            "probe",
            "data\\-dir",
            ".SH SIGNALS",
            ".SH FILES",
            ".SH \"EXIT STATUS\"",
        ] {
            assert!(page.contains(want), "{want} missing:\n{page}");
        }
        assert!(!page.contains("ephemeral"), "hidden options stay hidden");
    }
}
