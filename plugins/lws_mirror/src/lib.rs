//! `lws-mirror-protocol`, as lws's test server has it: every message a
//! client sends is sent to every client of the same *mirror instance*, the
//! sender included, in the order the server received them.
//!
//! * A connection joins the instance named by its url argument
//!   `?mirror=<name>` (`""` without one). A vhost holds at most
//!   [`MAX_INSTANCES`]; a connection that would open one more is closed
//!   right after the handshake (close code 1013).
//! * Each instance queues messages in a ring of [`RING_SLOTS`] slots (one
//!   kept free, as in lws's ring, so 31 messages) until every member has
//!   sent them. A member joining starts at the oldest message still queued.
//! * Flow control: when fewer than [`RXFLOW_MIN`] slots are free, receiving
//!   is paused on every member; it resumes once at least [`RXFLOW_MAX`] are
//!   free again.
//! * Fair shares: once the ring has filled, a member holds at most
//!   `max(1, 31 / members)` of the queued messages; one at its share is
//!   not read until some of its messages have gone out to everybody, and
//!   receiving resumes on the members admitted least recently first (the
//!   host serves them in that order), so under a load that keeps the ring
//!   full every sender still gets its turn. Shares end when the ring drains
//!   empty while at most one member was sending (since it last drained to
//!   where receiving resumes): a lone sender may fill the ring again.
//! * A member holding the oldest queued message gets
//!   [`SLOW_MEMBER_SECS`] seconds to send something, or it is closed, so one
//!   stuck client cannot hold up the others for long.
//! * permessage-deflate is refused; received data comes in pieces of at
//!   most 4096 bytes and is put back together into whole messages (up to
//!   the `max-message` option) before it is queued; text stays text and
//!   binary stays binary.
//!
//! * With `count-threads` > 1 the members of an instance may live on
//!   different service threads, and a connection may only be touched from
//!   its own: what one member's callback does to another (wake it, pause or
//!   resume its reading, its timeout) is queued for that member's thread,
//!   which `lws_cancel_service` wakes to do it.
//!
//! Per-vhost options: `max-message` (bytes, default
//! [`DEFAULT_MAX_MESSAGE`]). See README.md for how this differs from lws.

#![deny(unsafe_code)]

use std::collections::VecDeque;
use std::ffi::{c_int, CStr};
use std::thread::ThreadId;

use comlink_plugin_api::abi::{LLL_INFO, LLL_NOTICE};
use comlink_plugin_api::protocol::log;
use comlink_plugin_api::threads::{service_thread, ForThread};
use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};

/// Slots in an instance's ring; one stays free, as in lws's `lws_ring`.
pub const RING_SLOTS: usize = 32;
/// Messages an instance can hold.
const CAPACITY: usize = RING_SLOTS - 1;
/// Below this many free slots, receiving is paused on every member.
pub const RXFLOW_MIN: usize = 4;
/// At or above this many free slots, receiving resumes.
pub const RXFLOW_MAX: usize = 2 * RING_SLOTS / 3;
/// Mirror instances per vhost.
pub const MAX_INSTANCES: usize = 3;
/// How long the member holding the oldest message has to send something.
pub const SLOW_MEMBER_SECS: u32 = 3;
/// Largest message accepted when `max-message` is not set.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;

/// The protocol.
pub struct LwsMirror;

/// One queued message.
struct Message {
    binary: bool,
    data: Box<[u8]>,
    /// The member that sent it ([`Member::id`]).
    from: u64,
}

/// What one member's callback does to another member's connection.
#[derive(Clone, Copy, Debug)]
enum Op {
    Writable,
    Receiving(bool),
    Timeout(u32),
}

impl Op {
    fn apply(self, conn: Connection) {
        match self {
            Op::Writable => conn.request_writable(),
            Op::Receiving(on) => conn.set_receiving(on),
            Op::Timeout(secs) => conn.set_timeout(secs),
        }
    }
}

/// One connection of an instance.
struct Member {
    conn: Connection,
    /// Unique in its instance (a closed connection's address may be reused).
    id: u64,
    /// The service thread it lives on.
    thread: ThreadId,
    /// Sequence number of the next message to send it.
    next: u64,
    /// Its slow-member timeout is running.
    on_notice: bool,
    /// Messages it sent that are still queued.
    queued: usize,
    /// When its last message was queued (the instance's admission count).
    admitted: u64,
    /// Receiving as last told to its connection.
    rx_on: bool,
}

/// Connections sharing one `?mirror=` name, and their queue.
struct Instance {
    name: String,
    /// Queued messages; `ring[0]` has sequence number `first`.
    ring: VecDeque<Message>,
    first: u64,
    members: Vec<Member>,
    rx_enabled: bool,
    /// The ring filled, and has not since drained empty with a single
    /// sender: members get fair shares.
    congested: bool,
    /// The member whose message was queued last, and whether others sent
    /// too, since the ring last drained to where receiving resumes.
    last_sender: Option<u64>,
    several_senders: bool,
    /// Messages queued so far (orders the members' admissions).
    admissions: u64,
    /// The last member's id.
    last_id: u64,
    /// Operations waiting for their member's own thread.
    pending: ForThread<(Connection, Op)>,
}

impl Instance {
    fn new(name: String) -> Instance {
        Instance {
            name,
            ring: VecDeque::with_capacity(CAPACITY),
            first: 0,
            members: Vec::new(),
            rx_enabled: true,
            congested: false,
            last_sender: None,
            several_senders: false,
            admissions: 0,
            last_id: 0,
            pending: ForThread::default(),
        }
    }

    /// Does `op` on member `mi` now if it lives on this thread, else
    /// queues it for its thread.
    fn act(&mut self, mi: usize, op: Op) {
        let m = &self.members[mi];
        if m.thread == service_thread() {
            op.apply(m.conn);
        } else {
            self.pending.push(m.thread, (m.conn, op));
        }
    }

    /// Does the queued operations of this thread's members (those still
    /// members).
    fn run_pending(&mut self) {
        for (conn, op) in self.pending.take_mine() {
            if self.members.iter().any(|m| m.conn == conn) {
                op.apply(conn);
            }
        }
    }

    /// Sequence number the next message will get.
    fn end(&self) -> u64 {
        self.first + self.ring.len() as u64
    }

    fn free(&self) -> usize {
        CAPACITY - self.ring.len()
    }

    fn member(&self, conn: Connection) -> Option<usize> {
        self.members.iter().position(|m| m.conn == conn)
    }

    /// Messages one member may hold in the ring while it is congested.
    fn share(&self) -> usize {
        (CAPACITY / self.members.len().max(1)).max(1)
    }

    /// Whether member `mi` should be read from now.
    fn wants_rx(&self, mi: usize) -> bool {
        let m = &self.members[mi];
        self.rx_enabled && !(self.congested && m.queued >= self.share())
    }

    /// Tells every member whose receiving should change; those resumed
    /// in the order they were last admitted, oldest first, so that the
    /// ones kept waiting longest are read first.
    fn sync_rx(&mut self) {
        let mut resume = Vec::new();
        for mi in 0..self.members.len() {
            let want = self.wants_rx(mi);
            if want == self.members[mi].rx_on {
                continue;
            }
            self.members[mi].rx_on = want;
            if want {
                resume.push((self.members[mi].admitted, mi));
            } else {
                self.act(mi, Op::Receiving(false));
            }
        }
        resume.sort_unstable();
        for (_, mi) in resume {
            self.act(mi, Op::Receiving(true));
        }
    }

    fn set_rx(&mut self, on: bool) {
        self.rx_enabled = on;
        self.sync_rx();
        log(
            LLL_INFO,
            &format!(
                "lws-mirror: instance \"{}\": rx {} ({} of {CAPACITY} slots free)",
                self.name,
                if on { "resumed" } else { "paused" },
                self.free()
            ),
        );
    }

    fn writable_all(&mut self) {
        for mi in 0..self.members.len() {
            self.act(mi, Op::Writable);
        }
    }

    /// Queues a message for every member (lws drops it when the ring is
    /// full, which flow control keeps from happening).
    fn push(&mut self, msg: Message) {
        if self.free() == 0 {
            log(
                LLL_NOTICE,
                &format!(
                    "lws-mirror: instance \"{}\": queue full, dropping a message",
                    self.name
                ),
            );
            if self.rx_enabled {
                self.set_rx(false);
            }
        } else {
            self.admissions += 1;
            self.several_senders |= self.last_sender.is_some_and(|l| l != msg.from);
            self.last_sender = Some(msg.from);
            if let Some(mi) = self.members.iter().position(|m| m.id == msg.from) {
                self.members[mi].queued += 1;
                self.members[mi].admitted = self.admissions;
            }
            self.ring.push_back(msg);
            if self.rx_enabled && self.free() < RXFLOW_MIN {
                self.congested = true;
                self.set_rx(false);
            } else {
                // Its share may be used up.
                self.sync_rx();
            }
        }
        self.police();
        self.writable_all();
    }

    /// Frees what every member has sent, resumes receiving when there is
    /// room again, and puts every member holding the oldest queued message
    /// on notice (the others off it).
    fn police(&mut self) {
        let Some(oldest) = self.members.iter().map(|m| m.next).min() else {
            return;
        };
        if oldest > self.first {
            let done = usize::try_from(oldest - self.first).unwrap_or(usize::MAX);
            let sent: Vec<u64> = self
                .ring
                .drain(..done.min(self.ring.len()))
                .map(|m| m.from)
                .collect();
            for from in sent {
                if let Some(m) = self.members.iter_mut().find(|m| m.id == from) {
                    m.queued = m.queued.saturating_sub(1);
                }
            }
            self.first = oldest;
            if self.free() >= RXFLOW_MAX {
                // Nobody competed since the last time: back to letting
                // a sender fill the ring.
                if self.ring.is_empty() && !self.several_senders {
                    self.congested = false;
                }
                self.last_sender = None;
                self.several_senders = false;
            }
            if !self.rx_enabled && self.free() >= RXFLOW_MAX {
                self.set_rx(true);
            } else {
                self.sync_rx();
            }
        }
        let waiting = self.first < self.end();
        for mi in 0..self.members.len() {
            let m = &mut self.members[mi];
            let holds_oldest = waiting && m.next == self.first;
            if holds_oldest != m.on_notice {
                m.on_notice = holds_oldest;
                self.act(
                    mi,
                    Op::Timeout(if holds_oldest { SLOW_MEMBER_SECS } else { 0 }),
                );
            }
        }
    }
}

/// Per-vhost state.
pub struct State {
    instances: Vec<Instance>,
    max_message: usize,
}

impl State {
    fn instance(&mut self, name: &str) -> Option<&mut Instance> {
        self.instances.iter_mut().find(|i| i.name == name)
    }
}

/// Per-connection state.
pub struct Session {
    /// Name of its instance.
    instance: String,
    /// The message being received, until its last piece.
    partial: Vec<u8>,
    binary: bool,
}

impl Protocol for LwsMirror {
    type Vhost = State;
    type Session = Session;
    const NAME: &'static CStr = c"lws-mirror-protocol";
    const RX_BUFFER_SIZE: usize = 4096;

    fn init(vhost: Vhost, options: &Options) -> Option<State> {
        let max_message = match options.get("max-message") {
            None => DEFAULT_MAX_MESSAGE,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    log(
                        comlink_plugin_api::abi::LLL_ERR,
                        &format!(
                            "lws-mirror: vhost \"{}\": max-message \"{v}\" is not a positive number",
                            vhost.name()
                        ),
                    );
                    return None;
                }
            },
        };
        Some(State {
            instances: Vec::new(),
            max_message,
        })
    }

    fn accept_extension(_name: &str) -> bool {
        // lws's mirror disallows compression.
        false
    }

    fn open(vhd: &mut State, conn: Connection) -> Option<Session> {
        let name = conn.url_arg("mirror").unwrap_or_default();
        if vhd.instance(&name).is_none() {
            if vhd.instances.len() >= MAX_INSTANCES {
                log(
                    LLL_NOTICE,
                    &format!(
                        "lws-mirror: {}: refusing mirror \"{name}\": already {MAX_INSTANCES} instances on this vhost",
                        conn.tag()
                    ),
                );
                conn.close_reason(1013, b"too many mirror instances");
                return None;
            }
            log(LLL_INFO, &format!("lws-mirror: new instance \"{name}\""));
            vhd.instances.push(Instance::new(name.clone()));
        }
        let inst = vhd.instance(&name)?;
        inst.last_id += 1;
        inst.members.push(Member {
            conn,
            id: inst.last_id,
            thread: service_thread(),
            next: inst.first,
            on_notice: false,
            queued: 0,
            admitted: 0,
            rx_on: inst.rx_enabled,
        });
        if !inst.rx_enabled {
            conn.set_receiving(false);
        }
        // One more member: a smaller share each.
        inst.sync_rx();
        if inst.first < inst.end() {
            conn.request_writable();
        }
        inst.police();
        Some(Session {
            instance: name,
            partial: Vec::new(),
            binary: false,
        })
    }

    fn receive(vhd: &mut State, s: &mut Session, conn: Connection, data: &[u8]) -> Action {
        let max = vhd.max_message;
        let Some(inst) = vhd.instance(&s.instance) else {
            return Action::Continue;
        };
        if conn.is_first_fragment() {
            s.partial.clear();
            s.binary = conn.is_binary();
        }
        if s.partial.len() + data.len() > max {
            return conn.close_reason(1009, b"message too big for this mirror");
        }
        s.partial.extend_from_slice(data);
        if !conn.is_final_fragment() {
            return Action::Continue;
        }
        let data = std::mem::take(&mut s.partial).into_boxed_slice();
        let Some(mi) = inst.member(conn) else {
            return Action::Continue;
        };
        let from = inst.members[mi].id;
        inst.push(Message {
            binary: s.binary,
            data,
            from,
        });
        Action::Continue
    }

    fn writeable(vhd: &mut State, s: &mut Session, conn: Connection) -> Action {
        let Some(inst) = vhd.instance(&s.instance) else {
            return Action::Continue;
        };
        let Some(mi) = inst.member(conn) else {
            return Action::Continue;
        };
        let mut sent = false;
        // Several messages per callback, as long as the socket takes them.
        while inst.members[mi].next < inst.end() {
            let at = usize::try_from(inst.members[mi].next - inst.first).unwrap_or(usize::MAX);
            let Some(msg) = inst.ring.get(at) else {
                break;
            };
            let written = if msg.binary {
                conn.write_binary(&msg.data)
            } else {
                conn.write_text(&msg.data)
            };
            if written.is_err() {
                return Action::Close;
            }
            inst.members[mi].next += 1;
            sent = true;
            if conn.send_pipe_choked() {
                break;
            }
        }
        if inst.members[mi].next < inst.end() {
            conn.request_writable();
        }
        if sent {
            // Progress: whatever notice it was on is over; if it still holds
            // the oldest message, police() gives it a fresh one.
            let m = &mut inst.members[mi];
            if m.on_notice {
                m.on_notice = false;
                conn.set_timeout(0);
            }
            inst.police();
        }
        Action::Continue
    }

    fn vhost_event(vhd: &mut State, _vhost: Vhost, _reason: c_int) {
        LwsMirror::run_pending(vhd);
    }

    fn closed(vhd: &mut State, s: Session, conn: Connection) {
        let Some(ii) = vhd.instances.iter().position(|i| i.name == s.instance) else {
            return;
        };
        let inst = &mut vhd.instances[ii];
        if let Some(mi) = inst.member(conn) {
            inst.members.remove(mi);
        }
        if inst.members.is_empty() {
            log(
                LLL_INFO,
                &format!("lws-mirror: instance \"{}\" closed", inst.name),
            );
            vhd.instances.remove(ii);
        } else {
            // It may have held the oldest message: that frees room; and
            // the others' shares grow.
            inst.police();
            inst.sync_rx();
        }
    }
}

impl LwsMirror {
    /// `EVENT_WAIT_CANCELLED` (and any other vhost event): this thread's
    /// share of the queued operations.
    fn run_pending(vhd: &mut State) {
        for inst in &mut vhd.instances {
            inst.run_pending();
        }
    }
}

comlink_plugin_api::export_plugin!(lws_mirror, "lws mirror", [LwsMirror]);
