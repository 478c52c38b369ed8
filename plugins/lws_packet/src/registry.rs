//! One journal service per store (a `journal-dir`, or a Redis URL and
//! `redis-key`), shared by both protocols and by every vhost that names the
//! same one (a directory can be opened by one writer only). Services are held weakly here: the last protocol
//! instance to let go closes the journal. On a reload the new site's
//! protocols find the running service, so the journal is not reopened.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use comlink_plugin_api::abi;
use comlink_plugin_api::protocol::{cancel_service, log};
use packet_journal::config::Backend;
use packet_journal::service::Level;
use packet_journal::{Service, Settings};

static SERVICES: Mutex<Option<HashMap<String, Weak<Service>>>> = Mutex::new(None);
/// The settings the ingest protocol uses on each vhost (by address), for a
/// `packet-subscribe` entry that names no store of its own.
static BY_VHOST: Mutex<Option<HashMap<usize, Settings>>> = Mutex::new(None);

/// Records that the ingest protocol on vhost `vh` uses `settings`.
pub fn remember_vhost(vh: usize, settings: &Settings) {
    let mut m = BY_VHOST.lock().unwrap_or_else(|e| e.into_inner());
    m.get_or_insert_with(HashMap::new)
        .insert(vh, settings.clone());
}

/// The settings of the ingest protocol on vhost `vh`, if it has any.
pub fn vhost_settings(vh: usize) -> Option<Settings> {
    let m = BY_VHOST.lock().unwrap_or_else(|e| e.into_inner());
    m.as_ref().and_then(|m| m.get(&vh).cloned())
}

/// The running service for the store `settings` name, opened (and recovered) if
/// needed. `authoritative` settings (the ingest protocol's) are applied to
/// a service another protocol opened first.
pub fn service(settings: &Settings, authoritative: bool) -> Result<Arc<Service>, String> {
    let mut map = SERVICES.lock().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    map.retain(|_, w| w.strong_count() > 0);
    let key = settings.store_key();
    if let Some(svc) = map.get(&key).and_then(Weak::upgrade) {
        if authoritative {
            svc.update(settings);
        }
        return Ok(svc);
    }
    let logger = Arc::new(|level: Level, line: &str| {
        let level = match level {
            Level::Error => abi::LLL_ERR,
            Level::Warn => abi::LLL_WARN,
            Level::Notice => abi::LLL_NOTICE,
        };
        log(level, line);
    });
    let svc =
        Service::open_logged(settings.clone(), Arc::new(cancel_service), logger).map_err(|e| {
            match settings.backend {
                Backend::Segments => format!("journal {}: {e}", settings.dir.display()),
                Backend::Redis(_) => e.to_string(),
            }
        })?;
    let rec = svc.recovery();
    log(
        abi::LLL_NOTICE,
        &format!(
            "lws_packet: {}: {} packets{}, next id {}",
            svc.describe(),
            rec.records,
            match settings.backend {
                Backend::Segments => format!(" in {} segments", rec.segments),
                Backend::Redis(_) => String::new(),
            },
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
    for c in &rec.corruptions {
        log(abi::LLL_ERR, &format!("lws_packet: {c}"));
    }
    if rec.keys > 0 {
        log(
            abi::LLL_NOTICE,
            &format!(
                "lws_packet: {}: {} idempotency keys within the dedup window",
                svc.describe(),
                rec.keys
            ),
        );
    }
    map.insert(key, Arc::downgrade(&svc));
    Ok(svc)
}
