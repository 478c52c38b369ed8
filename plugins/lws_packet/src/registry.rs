//! One journal service per `journal-dir`, shared by both protocols and by
//! every vhost that names the same directory (a directory can be opened by
//! one writer only). Services are held weakly here: the last protocol
//! instance to let go closes the journal. On a reload the new site's
//! protocols find the running service, so the journal is not reopened.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use comlink_plugin_api::abi;
use comlink_plugin_api::protocol::{cancel_service, log};
use packet_journal::{Service, Settings};

static SERVICES: Mutex<Option<HashMap<PathBuf, Weak<Service>>>> = Mutex::new(None);
/// The `journal-dir` the ingest protocol uses on each vhost (by address),
/// for a `packet-subscribe` entry that names none.
static BY_VHOST: Mutex<Option<HashMap<usize, PathBuf>>> = Mutex::new(None);

/// Records that the ingest protocol on vhost `vh` uses `dir`.
pub fn remember_vhost(vh: usize, dir: &std::path::Path) {
    let mut m = BY_VHOST.lock().unwrap_or_else(|e| e.into_inner());
    m.get_or_insert_with(HashMap::new)
        .insert(vh, dir.to_path_buf());
}

/// The `journal-dir` of the ingest protocol on vhost `vh`, if it has one.
pub fn vhost_dir(vh: usize) -> Option<PathBuf> {
    let m = BY_VHOST.lock().unwrap_or_else(|e| e.into_inner());
    m.as_ref().and_then(|m| m.get(&vh).cloned())
}

/// The running service for `settings.dir`, opened (and recovered) if
/// needed. `authoritative` settings (the ingest protocol's) are applied to
/// a service another protocol opened first.
pub fn service(settings: &Settings, authoritative: bool) -> Result<Arc<Service>, String> {
    let mut map = SERVICES.lock().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(svc) = map.get(&settings.dir).and_then(Weak::upgrade) {
        if authoritative {
            svc.update(settings);
        }
        return Ok(svc);
    }
    let svc = Service::open(settings.clone(), Arc::new(cancel_service))
        .map_err(|e| format!("journal {}: {e}", settings.dir.display()))?;
    let rec = svc.recovery();
    log(
        abi::LLL_NOTICE,
        &format!(
            "lws_packet: journal {}: {} packets in {} segments, next id {}",
            settings.dir.display(),
            rec.records,
            rec.segments,
            rec.next_id
        ),
    );
    if let Some((path, cut)) = &rec.cut {
        log(
            abi::LLL_WARN,
            &format!(
                "lws_packet: {}: cut a torn tail at offset {} ({}); it was never acknowledged",
                path.display(),
                cut.offset,
                cut.reason
            ),
        );
    }
    for w in &rec.warnings {
        log(abi::LLL_ERR, &format!("lws_packet: {w}"));
    }
    map.insert(settings.dir.clone(), Arc::downgrade(&svc));
    Ok(svc)
}
