//! The neighbour cache: which MAC address goes with each IP address on the link, how sure we
//! are of it, and the packets that wait while we ask.
//!
//! Each entry moves through the states of RFC 4861 7.3.2, which Linux uses for ARP as well as
//! for IPv6 (`ip neigh` prints them):
//!
//! ```text
//!              first packet for X: broadcast "who has X?"
//!  (no entry) ─────────────────────────────────────────► INCOMPLETE ──(3 requests, 1 s apart,
//!      ▲                                                    │          no answer)──► (no entry:
//!      │                                          an answer │                        packets dropped,
//!      │                                                    ▼                        host unreachable)
//!      │      ┌──────────────────────────────────────► REACHABLE ◄──────────────────┐
//!      │      │ an answer (ARP reply)                     │ 30 s pass             │ an answer
//!      │      │                                           ▼                       │
//!      │      │                                         STALE ──(a packet for X:   │
//!      │      │                                           │  sent at once to the   │
//!      │      │                                           │  MAC we have)          │
//!      │      │                                           ▼                       │
//!      │      └────────────────────────────────────────  DELAY ──(5 s)──► PROBE ───┘
//!      └──────────────────────(3 unicast requests, no answer)────────────── ┘
//! ```
//!
//! Why so many states: a MAC address learned once may go bad (the neighbour's card was
//! replaced, or the address moved to another host). REACHABLE means an answer came recently;
//! STALE means we still have an address but no recent proof, and we check it again (DELAY, then
//! PROBE with unicast requests) only when we use it, so an idle entry costs nothing.
//!
//! RFC 1122 2.3.2.1 asks for the two things a cache must not do: flood the link (at most one
//! request per second per address) and lose everything while it waits (keep at least the latest
//! packet for a neighbour being resolved). The cache is bounded: at most
//! [`NeighbourConfig::capacity`] entries, each with at most
//! [`NeighbourConfig::pending_per_neighbour`] waiting packets, so a flood of ARP packets from
//! made-up senders, or of packets to made-up neighbours, cannot grow it.
//!
//! The cache has no I/O and no clock: it is called with the time, and says what to send through
//! actions that the Ethernet interface (`link/interface.rs`) turns into frames.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use tracing::debug;

use super::ethernet::MacAddr;
use super::Reason;
use crate::time::Instant;

/// How the neighbour cache behaves; the defaults are Linux's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourConfig {
    /// The most entries the cache holds (Linux starts collecting at 128 and stops at 1024).
    /// Default 256.
    pub capacity: usize,
    /// How long an answer keeps an entry REACHABLE. Default 30 s (Linux's
    /// `base_reachable_time`, RFC 4861's REACHABLE_TIME).
    pub reachable_time: Duration,
    /// The time between two requests for one address. Default 1 s: RFC 1122 2.3.2.1 allows no
    /// more than one per second.
    pub retrans_time: Duration,
    /// How many broadcast requests are sent before an address is given up. Default 3 (Linux's
    /// `mcast_solicit`): a connect to a silent neighbour fails after about 3 s.
    pub max_requests: u8,
    /// How long a STALE entry in use waits for a sign of life before it is probed. Default 5 s
    /// (RFC 4861's DELAY_FIRST_PROBE_TIME).
    pub delay: Duration,
    /// How many unicast requests check a STALE entry before it is dropped. Default 3 (Linux's
    /// `ucast_solicit`).
    pub max_probes: u8,
    /// How many packets wait for one neighbour being resolved; past that, the oldest is dropped.
    /// Default 8 (RFC 1122 2.3.2.2: at least the latest one).
    pub pending_per_neighbour: usize,
    /// How many packets wait for all neighbours together; past that, new ones are dropped.
    /// Default 256.
    pub pending_total: usize,
}

impl Default for NeighbourConfig {
    fn default() -> Self {
        NeighbourConfig {
            capacity: 256,
            reachable_time: Duration::from_secs(30),
            retrans_time: Duration::from_secs(1),
            max_requests: 3,
            delay: Duration::from_secs(5),
            max_probes: 3,
            pending_per_neighbour: 8,
            pending_total: 256,
        }
    }
}

/// How sure the cache is of a neighbour's MAC address (RFC 4861 7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighbourState {
    /// Asked, no answer yet: packets for it wait.
    Incomplete,
    /// Answered recently: the address is good.
    Reachable,
    /// Known, but not confirmed recently: checked again when next used.
    Stale,
    /// Used while stale: packets go to the old address, and a probe follows unless the
    /// neighbour shows up meanwhile.
    Delay,
    /// Being checked with unicast requests; packets still go to the old address.
    Probe,
}

impl fmt::Display for NeighbourState {
    /// As `ip neigh` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NeighbourState::Incomplete => "INCOMPLETE",
            NeighbourState::Reachable => "REACHABLE",
            NeighbourState::Stale => "STALE",
            NeighbourState::Delay => "DELAY",
            NeighbourState::Probe => "PROBE",
        })
    }
}

/// One line of the neighbour table, as `ip neigh` would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourInfo {
    /// The neighbour's IP address.
    pub ip: Ipv4Addr,
    /// Its MAC address, once known.
    pub mac: Option<MacAddr>,
    /// How sure we are.
    pub state: NeighbourState,
    /// Packets waiting for the answer.
    pub waiting: usize,
}

impl fmt::Display for NeighbourInfo {
    /// `10.77.0.1 lladdr 9a:3c:..:11 REACHABLE`, like `ip neigh`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.ip)?;
        if let Some(mac) = self.mac {
            write!(f, " lladdr {mac}")?;
        }
        write!(f, " {}", self.state)?;
        if self.waiting > 0 {
            write!(f, " ({} waiting)", self.waiting)?;
        }
        Ok(())
    }
}

/// What the neighbour cache has done, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NeighbourStats {
    /// Broadcast requests ("who has X?") for addresses we had no MAC for.
    pub requests: u64,
    /// Unicast requests checking a stale entry.
    pub probes: u64,
    /// Entries that got an answer or learned an address.
    pub resolved: u64,
    /// Addresses given up after the last request went unanswered.
    pub failed: u64,
    /// Entries pushed out to make room for another.
    pub evicted: u64,
    /// Packets that waited for an answer.
    pub held: u64,
    /// Packets that waited and were then sent.
    pub released: u64,
    /// Packets dropped while waiting: the queue was full, the address was given up, or its
    /// entry was pushed out.
    pub held_dropped: u64,
}

/// A packet waiting for its next hop's MAC address, with why it was sent.
#[derive(Debug)]
pub(crate) struct Held {
    /// The IP packet.
    pub(crate) packet: Vec<u8>,
    /// Why it was sent, for the capture's comment.
    pub(crate) why: Option<Reason>,
}

/// What the cache wants done, in the order it decided it.
#[derive(Debug)]
pub(crate) enum Action {
    /// Send an ARP request for `target`: broadcast (`to` is `None`) or unicast to check a
    /// stale entry.
    Request {
        /// The address asked for.
        target: Ipv4Addr,
        /// `Some(mac)` for a unicast probe.
        to: Option<MacAddr>,
        /// 1 for the first request, 2 for the first retry...
        attempt: u8,
        /// Packets waiting for the answer.
        waiting: usize,
    },
    /// `ip` is at `mac` now: send these packets to it.
    Release {
        /// The neighbour's MAC address.
        mac: MacAddr,
        /// The packets that waited, oldest first.
        packets: Vec<Held>,
    },
    /// `ip` never answered: these packets are dropped, and their senders should hear that the
    /// host is unreachable.
    Unreachable {
        /// The silent neighbour.
        ip: Ipv4Addr,
        /// The packets that waited, oldest first.
        packets: Vec<Held>,
    },
}

/// What to do with a packet whose next hop is being looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Send it now, to this MAC address.
    Send(MacAddr),
    /// It waits for an answer, with `waiting - 1` others.
    Held {
        /// Packets now waiting for this neighbour, this one included.
        waiting: usize,
    },
    /// It could not wait (every queue is full): dropped and counted.
    Dropped,
}

/// How an address was learned: this decides the state it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Learned {
    /// An answer to our request (an ARP reply to us): proof the neighbour is reachable.
    Answer,
    /// A packet the neighbour sent on its own (its request, a gratuitous ARP): the address is
    /// probably right, but says nothing of whether it hears us. `create` makes an entry when
    /// there is none (RFC 826: when we are the request's target).
    Unsolicited {
        /// Make an entry if there is none.
        create: bool,
    },
}

/// One neighbour.
#[derive(Debug)]
struct Entry {
    state: NeighbourState,
    /// `None` only while INCOMPLETE.
    mac: Option<MacAddr>,
    /// When the state next changes on its own (the next request, the end of REACHABLE or
    /// DELAY, giving up).
    deadline: Instant,
    /// Requests sent in this state.
    sent: u8,
    /// Packets waiting for the answer (only while INCOMPLETE).
    pending: VecDeque<Held>,
    /// When a packet last went to this neighbour: the least recently used goes first.
    used: Instant,
}

/// The neighbour cache.
#[derive(Debug)]
pub(crate) struct NeighbourCache {
    config: NeighbourConfig,
    entries: HashMap<Ipv4Addr, Entry>,
    /// Packets waiting over all entries.
    pending: usize,
    /// No timer is due before this: a lower bound, kept as timers are armed, so that
    /// [`NeighbourCache::poll`], called for every packet sent, scans the entries only when a
    /// timer may be due. (An entry may have left its timed state since; the scan then finds
    /// nothing and sets the bound again.)
    next_timer: Option<Instant>,
    /// What to send, in order; the interface drains it.
    actions: VecDeque<Action>,
    pub(crate) stats: NeighbourStats,
}

impl NeighbourCache {
    /// An empty cache.
    pub(crate) fn new(config: NeighbourConfig) -> NeighbourCache {
        NeighbourCache {
            entries: HashMap::with_capacity(config.capacity.min(1024)),
            config,
            pending: 0,
            next_timer: None,
            actions: VecDeque::new(),
            stats: NeighbourStats::default(),
        }
    }

    /// The next thing to do, if any.
    pub(crate) fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Finds the MAC address for a packet to `ip`, at `now`. Without one, the packet (made by
    /// `hold`, only then) waits, and a new entry's first request is queued.
    pub(crate) fn lookup(
        &mut self,
        now: Instant,
        ip: Ipv4Addr,
        hold: impl FnOnce() -> Held,
    ) -> Lookup {
        if !self.entries.contains_key(&ip) {
            if !self.make_room(now) {
                self.stats.held_dropped += 1;
                return Lookup::Dropped;
            }
            debug!(%ip, "arp: no MAC address for {ip}: asking");
            let entry = Entry::incomplete(now, &self.config);
            arm(&mut self.next_timer, entry.deadline);
            self.entries.insert(ip, entry);
            self.stats.requests += 1;
            self.actions.push_back(Action::Request {
                target: ip,
                to: None,
                attempt: 1,
                waiting: 1,
            });
        }
        let Some(entry) = self.entries.get_mut(&ip) else {
            return Lookup::Dropped;
        };
        entry.used = now;
        expire_reachable(entry, now);
        match (entry.state, entry.mac) {
            (NeighbourState::Stale, Some(mac)) => {
                // RFC 4861 7.3.3: send, and check the address if nothing confirms it soon.
                entry.state = NeighbourState::Delay;
                entry.deadline = now + self.config.delay;
                arm(&mut self.next_timer, entry.deadline);
                Lookup::Send(mac)
            }
            (NeighbourState::Incomplete, _) | (_, None) => self.hold(ip, hold()),
            (_, Some(mac)) => Lookup::Send(mac),
        }
    }

    /// Puts `held` in the queue of `ip`, an INCOMPLETE entry.
    fn hold(&mut self, ip: Ipv4Addr, held: Held) -> Lookup {
        let Some(entry) = self.entries.get_mut(&ip) else {
            return Lookup::Dropped;
        };
        if entry.pending.len() >= self.config.pending_per_neighbour.max(1) {
            // The latest packet is the one worth keeping (RFC 1122 2.3.2.2).
            entry.pending.pop_front();
            self.pending -= 1;
            self.stats.held_dropped += 1;
        } else if self.pending >= self.config.pending_total {
            self.stats.held_dropped += 1;
            return Lookup::Dropped;
        }
        entry.pending.push_back(held);
        self.pending += 1;
        self.stats.held += 1;
        Lookup::Held {
            waiting: entry.pending.len(),
        }
    }

    /// `ip` is at `mac`, as a packet from the link says (RFC 826's merge, with the states of
    /// RFC 4861 7.2.5 and 7.2.3): an answer makes the entry REACHABLE; a packet the neighbour
    /// sent on its own leaves a known, unchanged address as it is, and otherwise makes the
    /// entry STALE. Either way, packets that waited for the address go.
    pub(crate) fn learn(&mut self, now: Instant, ip: Ipv4Addr, mac: MacAddr, how: Learned) {
        if !self.entries.contains_key(&ip) {
            // RFC 826: a sender we do not know is added only when the packet was for us.
            let create = matches!(how, Learned::Answer | Learned::Unsolicited { create: true });
            if !create || !self.make_room(now) {
                return;
            }
            debug!(%ip, %mac, "arp: learned {ip} is at {mac}");
            self.entries
                .insert(ip, Entry::incomplete(now, &self.config));
        }
        let Some(entry) = self.entries.get_mut(&ip) else {
            return;
        };
        let was_incomplete = entry.state == NeighbourState::Incomplete;
        let changed = entry.mac != Some(mac);
        match how {
            Learned::Answer => {
                entry.state = NeighbourState::Reachable;
                entry.deadline = now + self.config.reachable_time;
            }
            Learned::Unsolicited { .. } if changed => entry.state = NeighbourState::Stale,
            Learned::Unsolicited { .. } => {}
        }
        entry.mac = Some(mac);
        entry.sent = 0;
        if was_incomplete || changed {
            self.stats.resolved += 1;
        }
        if !entry.pending.is_empty() {
            let packets: Vec<Held> = entry.pending.drain(..).collect();
            self.pending -= packets.len();
            self.stats.released += packets.len() as u64;
            if entry.state == NeighbourState::Stale {
                // Sending to a STALE entry starts the check (RFC 4861 7.2.3).
                entry.state = NeighbourState::Delay;
                entry.deadline = now + self.config.delay;
                arm(&mut self.next_timer, entry.deadline);
            }
            self.actions.push_back(Action::Release { mac, packets });
        }
    }

    /// `ip` was shown reachable by an upper layer (RFC 4861 7.3.1): a known entry becomes
    /// REACHABLE again, so a neighbour in steady use is never probed. An INCOMPLETE entry has
    /// no address to confirm and stays as it is.
    pub(crate) fn confirm(&mut self, now: Instant, ip: Ipv4Addr) {
        let Some(entry) = self.entries.get_mut(&ip) else {
            return;
        };
        if entry.mac.is_some() {
            entry.state = NeighbourState::Reachable;
            entry.deadline = now + self.config.reachable_time;
            entry.sent = 0;
        }
    }

    /// Runs the timers that are due at `now`: requests again, probes, giving up.
    pub(crate) fn poll(&mut self, now: Instant) {
        if self.next_timer.is_none_or(|at| at > now) {
            return;
        }
        let due: Vec<Ipv4Addr> = self
            .entries
            .iter()
            .filter(|(_, e)| e.has_timer() && e.deadline <= now)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in due {
            self.fire(now, ip);
        }
        self.next_timer = self.poll_at();
    }

    /// One entry's timer.
    fn fire(&mut self, now: Instant, ip: Ipv4Addr) {
        let Some(entry) = self.entries.get_mut(&ip) else {
            return;
        };
        let config = &self.config;
        let (limit, to) = match entry.state {
            NeighbourState::Incomplete => (config.max_requests, None),
            NeighbourState::Delay => {
                entry.state = NeighbourState::Probe;
                entry.sent = 0;
                (config.max_probes, entry.mac)
            }
            NeighbourState::Probe => (config.max_probes, entry.mac),
            NeighbourState::Reachable | NeighbourState::Stale => return,
        };
        if entry.sent >= limit {
            self.give_up(ip);
            return;
        }
        entry.sent += 1;
        entry.deadline = now + config.retrans_time;
        arm(&mut self.next_timer, entry.deadline);
        match to {
            Some(_) => self.stats.probes += 1,
            None => self.stats.requests += 1,
        }
        self.actions.push_back(Action::Request {
            target: ip,
            to,
            attempt: entry.sent,
            waiting: entry.pending.len(),
        });
    }

    /// `ip` did not answer: the entry goes, and its packets with it.
    fn give_up(&mut self, ip: Ipv4Addr) {
        let Some(entry) = self.entries.remove(&ip) else {
            return;
        };
        debug!(%ip, state = %entry.state, waiting = entry.pending.len(), "arp: no answer from {ip}: giving up");
        self.stats.failed += 1;
        self.pending -= entry.pending.len();
        self.stats.held_dropped += entry.pending.len() as u64;
        if entry.state == NeighbourState::Incomplete {
            self.actions.push_back(Action::Unreachable {
                ip,
                packets: entry.pending.into(),
            });
        }
    }

    /// When [`NeighbourCache::poll`] next has something to do.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|e| e.has_timer())
            .map(|e| e.deadline)
            .min()
    }

    /// Whether packets wait for an answer.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending > 0
    }

    /// The table, as `ip neigh` would list it, in address order.
    pub(crate) fn table(&self, now: Instant) -> Vec<NeighbourInfo> {
        let mut table: Vec<NeighbourInfo> = self
            .entries
            .iter()
            .map(|(ip, entry)| NeighbourInfo {
                ip: *ip,
                mac: entry.mac,
                state: match entry.state {
                    NeighbourState::Reachable if now >= entry.deadline => NeighbourState::Stale,
                    state => state,
                },
                waiting: entry.pending.len(),
            })
            .collect();
        table.sort_by_key(|info| info.ip);
        table
    }

    /// Makes room for one more entry if the cache is full, by pushing out the entry least worth
    /// keeping: one we are least sure of and have used least recently, INCOMPLETE ones last
    /// (packets wait for them). Returns false if nothing could go.
    fn make_room(&mut self, now: Instant) -> bool {
        if self.entries.len() < self.config.capacity {
            return true;
        }
        let worth = |entry: &Entry| match entry.state {
            NeighbourState::Reachable if now < entry.deadline => 1,
            NeighbourState::Reachable | NeighbourState::Stale => 0,
            NeighbourState::Delay | NeighbourState::Probe => 2,
            NeighbourState::Incomplete => 3,
        };
        let victim = self
            .entries
            .iter()
            .min_by_key(|(ip, entry)| (worth(entry), entry.used, **ip))
            .map(|(ip, _)| *ip);
        let Some(ip) = victim else {
            return false;
        };
        if let Some(entry) = self.entries.remove(&ip) {
            debug!(%ip, state = %entry.state, "arp: cache full, {ip} makes room");
            self.stats.evicted += 1;
            self.pending -= entry.pending.len();
            self.stats.held_dropped += entry.pending.len() as u64;
        }
        true
    }
}

impl Entry {
    /// A new entry for an address being asked for: the first request goes now, the next after
    /// `retrans_time`.
    fn incomplete(now: Instant, config: &NeighbourConfig) -> Entry {
        Entry {
            state: NeighbourState::Incomplete,
            mac: None,
            deadline: now + config.retrans_time,
            sent: 1,
            pending: VecDeque::new(),
            used: now,
        }
    }

    /// Whether the entry waits for a timer (REACHABLE ends without one, STALE waits for use).
    fn has_timer(&self) -> bool {
        matches!(
            self.state,
            NeighbourState::Incomplete | NeighbourState::Delay | NeighbourState::Probe
        )
    }
}

/// Lowers the bound `next` on the cache's timers to `at`.
fn arm(next: &mut Option<Instant>, at: Instant) {
    *next = Some(next.map_or(at, |next| next.min(at)));
}

/// A REACHABLE entry whose time is up is STALE; the change needs no timer of its own, it is
/// noticed when the entry is next read.
fn expire_reachable(entry: &mut Entry, now: Instant) {
    if entry.state == NeighbourState::Reachable && now >= entry.deadline {
        entry.state = NeighbourState::Stale;
    }
}

#[cfg(test)]
#[path = "neighbour_tests.rs"]
mod tests;
