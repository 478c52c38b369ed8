//! Dropping root after everything that needs it is done (sockets bound,
//! access logs opened, plugins loaded and initialised), in lws's order:
//! names resolve first (`groupname`/`username` win over `gid`/`uid`), then
//! `setgid`, `initgroups`, `setuid`. 0 means "do not change". A configured
//! switch that fails stops the server: it never keeps running as root by
//! accident.

use nix::unistd::{self, Gid, Group, Uid, User};

use crate::config::Global;

/// Why privileges could not be dropped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name did not resolve.
    #[error("{what} \"{name}\" does not exist on this host")]
    Unknown {
        /// "user" or "group".
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A system call failed.
    #[error("cannot switch to {what} {id}: {source}")]
    Switch {
        /// "uid", "gid" or "supplementary groups of".
        what: &'static str,
        /// The id or name.
        id: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },
}

/// The uid and gid the configuration asks for (0 = unchanged), names resolved.
pub fn wanted(g: &Global) -> Result<(u32, u32, Option<String>), Error> {
    let mut uid = g.uid;
    let mut gid = g.gid;
    let mut user_name = None;
    if let Some(u) = &g.username {
        match u.value.parse::<u32>() {
            Ok(n) => uid = n,
            Err(_) => {
                let user =
                    User::from_name(&u.value)
                        .ok()
                        .flatten()
                        .ok_or_else(|| Error::Unknown {
                            what: "user",
                            name: u.value.clone(),
                        })?;
                uid = user.uid.as_raw();
                if gid == 0 && g.groupname.is_none() {
                    gid = user.gid.as_raw();
                }
                user_name = Some(u.value.clone());
            }
        }
    }
    if let Some(gn) = &g.groupname {
        match gn.value.parse::<u32>() {
            Ok(n) => gid = n,
            Err(_) => {
                let group =
                    Group::from_name(&gn.value)
                        .ok()
                        .flatten()
                        .ok_or_else(|| Error::Unknown {
                            what: "group",
                            name: gn.value.clone(),
                        })?;
                gid = group.gid.as_raw();
            }
        }
    }
    Ok((uid, gid, user_name))
}

/// Switches the whole process (every thread) to the configured ids.
/// Returns what it did, for the log.
pub fn drop_privileges(g: &Global) -> Result<Option<String>, Error> {
    let (uid, gid, user_name) = wanted(g)?;
    if uid == 0 && gid == 0 {
        return Ok(None);
    }
    if gid != 0 {
        unistd::setgid(Gid::from_raw(gid)).map_err(|source| Error::Switch {
            what: "gid",
            id: gid.to_string(),
            source,
        })?;
        let groups_result = match &user_name {
            Some(name) => {
                let c = std::ffi::CString::new(name.as_str()).unwrap_or_default();
                unistd::initgroups(&c, Gid::from_raw(gid))
            }
            None => unistd::setgroups(&[Gid::from_raw(gid)]),
        };
        if let Err(source) = groups_result {
            // Not root any more is fine only when nothing is left to drop.
            if Uid::effective().is_root() {
                return Err(Error::Switch {
                    what: "supplementary groups of",
                    id: user_name.unwrap_or_else(|| gid.to_string()),
                    source,
                });
            }
        }
    }
    if uid != 0 {
        unistd::setuid(Uid::from_raw(uid)).map_err(|source| Error::Switch {
            what: "uid",
            id: uid.to_string(),
            source,
        })?;
        // setuid from root cannot be undone; check it really happened.
        if unistd::setuid(Uid::from_raw(0)).is_ok() && uid != 0 {
            return Err(Error::Switch {
                what: "uid",
                id: uid.to_string(),
                source: nix::Error::EPERM,
            });
        }
    }
    Ok(Some(format!("uid {uid}, gid {gid}")))
}
