//! Checks that depend on this host rather than on the text: users and
//! groups exist, access-log directories exist, TLS files exist (when
//! `init-ssl` makes them matter), `file://` origins are directories.
//!
//! These are not part of [`load`](super::load) because a config is often
//! checked on another machine than the one it runs on; `lwsws
//! --check-config` prints them as warnings, the server refuses to start on
//! them.

use std::path::Path;

use nix::unistd::{Group, User};

use super::diag::Diagnostic;
use super::model::{Config, Location, Origin, Setting};

/// Runs the host checks; every problem is a [`Severity::Error`](super::Severity).
pub fn host_checks(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let g = &config.global;

    if let Some(user) = &g.username {
        if let Err(why) = lookup(&user.value, |n| User::from_name(n).map(|u| u.is_some())) {
            out.push(err(&user.at, format!("user \"{}\" {why}", user.value)));
        }
    }
    if let Some(group) = &g.groupname {
        if let Err(why) = lookup(&group.value, |n| Group::from_name(n).map(|g| g.is_some())) {
            out.push(err(&group.at, format!("group \"{}\" {why}", group.value)));
        }
    }

    for v in &config.vhosts {
        if let Some(log) = &v.access_log {
            let parent = log.value.parent().filter(|p| !p.as_os_str().is_empty());
            if let Some(dir) = parent {
                if !dir.is_dir() {
                    out.push(err(
                        &log.at,
                        format!(
                            "vhost \"{}\": access-log directory {} does not exist",
                            v.name,
                            dir.display()
                        ),
                    ));
                }
            }
        }
        if g.init_ssl {
            let tls = &v.tls;
            let mut files: Vec<(&str, &Setting<std::path::PathBuf>)> = Vec::new();
            if !tls.ignore_missing_cert {
                files.extend(tls.key.iter().map(|s| ("host-ssl-key", s)));
                files.extend(tls.cert.iter().map(|s| ("host-ssl-cert", s)));
            }
            files.extend(tls.ca.iter().map(|s| ("host-ssl-ca", s)));
            for (key, file) in files {
                if !file.value.is_file() {
                    out.push(err(
                        &file.at,
                        format!(
                            "vhost \"{}\": {key} {} does not exist or is not a file",
                            v.name,
                            file.value.display()
                        ),
                    ));
                }
            }
        }
        for m in &v.mounts {
            if let Origin::File(dir) = &m.origin {
                if !Path::new(dir).is_dir() {
                    out.push(err(
                        &m.at,
                        format!(
                            "vhost \"{}\", mount \"{}\": origin directory {} does not exist",
                            v.name,
                            m.mountpoint,
                            dir.display()
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// Resolves a user or group name; a number is accepted as an id.
fn lookup(name: &str, find: impl Fn(&str) -> nix::Result<bool>) -> Result<(), String> {
    match find(name) {
        Ok(true) => Ok(()),
        Ok(false) if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        Ok(false) => Err("does not exist on this host".into()),
        Err(e) => Err(format!("cannot be looked up: {e}")),
    }
}

fn err(at: &Location, message: String) -> Diagnostic {
    Diagnostic::error(Some(at.clone()), message)
}
