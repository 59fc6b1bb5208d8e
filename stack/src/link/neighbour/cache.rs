//! The cache itself: entries keyed by IP address (IPv4 or IPv6), their timers, and the packets
//! that wait. The states and why they exist are in the [module docs](super).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use tracing::debug;

use super::{NeighbourConfig, NeighbourInfo, NeighbourState, NeighbourStats};
use crate::link::ethernet::MacAddr;
use crate::link::Reason;
use crate::time::Instant;

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
    /// Ask for `target`'s MAC address: an ARP request for an IPv4 address, a Neighbor
    /// Solicitation for an IPv6 one; to everyone (`to` is `None`: ARP's broadcast, the
    /// target's solicited-node group) or unicast to check a stale entry.
    Request {
        /// The address asked for.
        target: IpAddr,
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
        ip: IpAddr,
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
    /// An answer to our request (an ARP reply to us, a solicited Neighbor Advertisement):
    /// proof the neighbour is reachable.
    Answer,
    /// A packet the neighbour sent on its own (its request, a gratuitous ARP, its Neighbor
    /// Solicitation with a source link-layer address): the address is probably right, but says
    /// nothing of whether it hears us. `create` makes an entry when there is none (RFC 826:
    /// when we are the request's target; RFC 4861 7.2.3: a solicitation for our address).
    Unsolicited {
        /// Make an entry if there is none.
        create: bool,
    },
}

/// The flags of a Neighbor Advertisement that decide what it changes in the cache
/// ([RFC 4861 4.4]).
///
/// [RFC 4861 4.4]: https://www.rfc-editor.org/rfc/rfc4861#section-4.4
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Advert {
    /// S: the answer to a solicitation, which proves that the neighbour hears us.
    pub(crate) solicited: bool,
    /// O: the advertised address replaces the one we have.
    pub(crate) override_: bool,
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
    entries: HashMap<IpAddr, Entry>,
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
        ip: IpAddr,
        hold: impl FnOnce() -> Held,
    ) -> Lookup {
        if !self.entries.contains_key(&ip) {
            if !self.make_room(now) {
                self.stats.held_dropped += 1;
                return Lookup::Dropped;
            }
            debug!(%ip, "{}: no MAC address for {ip}: asking", proto(ip));
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
    fn hold(&mut self, ip: IpAddr, held: Held) -> Lookup {
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
    pub(crate) fn learn(&mut self, now: Instant, ip: IpAddr, mac: MacAddr, how: Learned) {
        if !self.entries.contains_key(&ip) {
            // RFC 826: a sender we do not know is added only when the packet was for us.
            let create = matches!(how, Learned::Answer | Learned::Unsolicited { create: true });
            if !create || !self.make_room(now) {
                return;
            }
            debug!(%ip, %mac, "{}: learned {ip} is at {mac}", proto(ip));
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

    /// A Neighbor Advertisement says `ip` is at `mac`, or, without a Target Link-Layer Address
    /// option, only vouches for the address we have ([RFC 4861 7.2.5]):
    ///
    /// - with no entry, nothing happens: an advertisement never makes one;
    /// - an INCOMPLETE entry takes the address (none given: nothing to learn), REACHABLE if the
    ///   advertisement answers our solicitation, else STALE; the waiting packets go;
    /// - otherwise a different address without Override does not replace ours, but puts it in
    ///   doubt: a REACHABLE entry goes STALE, to be checked at its next use. With Override, the
    ///   same address, or none, the address is taken; Solicited makes the entry REACHABLE, and
    ///   a new address without it makes it STALE.
    ///
    /// [RFC 4861 7.2.5]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.5
    pub(crate) fn advertised(
        &mut self,
        now: Instant,
        ip: IpAddr,
        mac: Option<MacAddr>,
        advert: Advert,
    ) {
        let Some(entry) = self.entries.get_mut(&ip) else {
            return;
        };
        if entry.state == NeighbourState::Incomplete {
            if let Some(mac) = mac {
                let how = match advert.solicited {
                    true => Learned::Answer,
                    false => Learned::Unsolicited { create: false },
                };
                self.learn(now, ip, mac, how);
            }
            return;
        }
        expire_reachable(entry, now);
        let differs = mac.is_some_and(|mac| entry.mac != Some(mac));
        if differs && !advert.override_ {
            if entry.state == NeighbourState::Reachable {
                entry.state = NeighbourState::Stale;
            }
            return;
        }
        if let Some(mac) = mac {
            entry.mac = Some(mac);
        }
        if differs {
            debug!(%ip, ?mac, "ndp: {ip} moved");
            self.stats.resolved += 1;
        }
        if advert.solicited {
            entry.state = NeighbourState::Reachable;
            entry.deadline = now + self.config.reachable_time;
            entry.sent = 0;
        } else if differs {
            entry.state = NeighbourState::Stale;
        }
    }

    /// `ip` was shown reachable by an upper layer (RFC 4861 7.3.1): a known entry becomes
    /// REACHABLE again, so a neighbour in steady use is never probed. An INCOMPLETE entry has
    /// no address to confirm and stays as it is.
    pub(crate) fn confirm(&mut self, now: Instant, ip: IpAddr) {
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
        let due: Vec<IpAddr> = self
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
    fn fire(&mut self, now: Instant, ip: IpAddr) {
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
    fn give_up(&mut self, ip: IpAddr) {
        let Some(entry) = self.entries.remove(&ip) else {
            return;
        };
        let proto = proto(ip);
        debug!(%ip, state = %entry.state, waiting = entry.pending.len(), "{proto}: no answer from {ip}: giving up");
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
            debug!(%ip, state = %entry.state, "{}: cache full, {ip} makes room", proto(ip));
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

/// The protocol that asks for `ip`, for logs.
fn proto(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "arp",
        IpAddr::V6(_) => "ndp",
    }
}
