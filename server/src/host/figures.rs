//! Figures plugins report (`comlink_metric_set`): kept here, where the
//! plugin's call arrives, and read by the metrics endpoint and the status
//! JSON above.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// A value a plugin reported (`comlink_metric_set`).
#[derive(Debug, Clone)]
pub(crate) struct PluginValue {
    /// HELP text.
    pub help: String,
    /// "counter" or "gauge".
    pub kind: &'static str,
    /// The value.
    pub value: f64,
}

/// Plugin-reported figures by (name, labels).
static PLUGIN_VALUES: Mutex<BTreeMap<(String, String), PluginValue>> = Mutex::new(BTreeMap::new());

/// Records a plugin's figure (`kind` "counter" or "gauge"; `labels` in
/// Prometheus form without braces, e.g. `vhost="a"`). Names that are not
/// valid Prometheus names are refused.
pub(crate) fn set(name: &str, help: &str, kind: &str, labels: &str, value: f64) -> bool {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        && !name.as_bytes()[0].is_ascii_digit()
        && !labels.contains(['\n', '{', '}']);
    if !valid {
        return false;
    }
    let kind = if kind == "counter" {
        "counter"
    } else {
        "gauge"
    };
    let mut m = PLUGIN_VALUES.lock().unwrap_or_else(|e| e.into_inner());
    m.insert(
        (name.to_string(), labels.to_string()),
        PluginValue {
            help: help.replace('\n', " "),
            kind,
            value,
        },
    );
    true
}

/// The figures plugins reported, for `lws-server-status`: a list of
/// `{"name", "labels", "value"}` in name order.
pub(crate) fn json() -> serde_json::Value {
    let m = PLUGIN_VALUES.lock().unwrap_or_else(|e| e.into_inner());
    m.iter()
        .map(|((name, labels), v)| {
            serde_json::json!({ "name": name, "labels": labels, "value": v.value })
        })
        .collect()
}

/// Every reported figure, in (name, labels) order.
pub(crate) fn snapshot() -> Vec<((String, String), PluginValue)> {
    let m = PLUGIN_VALUES.lock().unwrap_or_else(|e| e.into_inner());
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
