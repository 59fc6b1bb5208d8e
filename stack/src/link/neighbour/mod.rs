//! The neighbour cache: which MAC address goes with each IP address on the link, how sure we
//! are of it, and the packets that wait while we ask.
//!
//! One cache serves both IP versions, keyed by [`IpAddr`]: IPv4 asks with ARP ([RFC 826]),
//! IPv6 with Neighbor Discovery ([RFC 4861], [`super::ndp`]), but what is remembered, for how
//! long and how it is checked again is the same, so it is written once. Linux does the same:
//! `ip neigh` lists both in one table, with the same states.
//!
//! Each entry moves through the states of [RFC 4861 7.3.2]:
//!
//! ```text
//!              first packet for X: "who has X?" (ARP broadcast, or NDP solicitation to
//!              X's solicited-node group)
//!  (no entry) ─────────────────────────────────────────► INCOMPLETE ──(3 requests, 1 s apart,
//!      ▲                                                    │          no answer)──► (no entry:
//!      │                                          an answer │                        packets dropped,
//!      │                                                    ▼                        host unreachable)
//!      │      ┌──────────────────────────────────────► REACHABLE ◄──────────────────┐
//!      │      │ an answer (ARP reply, solicited NA)       │ 30 s pass             │ an answer
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
//! What makes an entry change differs a little between the two protocols, and the cache takes
//! both: ARP's replies and requests are merged as RFC 826 says; an IPv6 Neighbor
//! Advertisement carries flags (Solicited, Override) that decide whether it replaces the
//! address we have and whether it proves the neighbour reachable ([RFC 4861 7.2.5], the
//! cache's `advertised`).
//!
//! RFC 1122 2.3.2.1 asks for the two things a cache must not do: flood the link (at most one
//! request per second per address) and lose everything while it waits (keep at least the latest
//! packet for a neighbour being resolved). The cache is bounded: at most
//! [`NeighbourConfig::capacity`] entries, each with at most
//! [`NeighbourConfig::pending_per_neighbour`] waiting packets, so a flood of ARP or NDP packets
//! from made-up senders, or of packets to made-up neighbours, cannot grow it.
//!
//! The cache has no I/O and no clock: it is called with the time, and says what to send through
//! actions that the Ethernet interface (`link/interface/`) turns into frames: an ARP request
//! for an IPv4 address, a Neighbor Solicitation for an IPv6 one.
//!
//! [RFC 826]: https://www.rfc-editor.org/rfc/rfc826
//! [RFC 4861]: https://www.rfc-editor.org/rfc/rfc4861
//! [RFC 4861 7.3.2]: https://www.rfc-editor.org/rfc/rfc4861#section-7.3.2
//! [RFC 4861 7.2.5]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.5

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::ethernet::MacAddr;

mod cache;

pub(crate) use cache::{Action, Advert, Held, Learned, Lookup, NeighbourCache};

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
    /// more than one per second, and it is RFC 4861's RETRANS_TIMER. Duplicate address
    /// detection waits as long after its solicitation.
    pub retrans_time: Duration,
    /// How many broadcast (IPv4) or multicast (IPv6) requests are sent before an address is
    /// given up. Default 3 (Linux's `mcast_solicit`): a connect to a silent neighbour fails
    /// after about 3 s.
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
    /// How many solicitations duplicate address detection sends for each of our IPv6 addresses
    /// before it takes the address, [`NeighbourConfig::retrans_time`] apart
    /// ([RFC 4862 5.1]'s DupAddrDetectTransmits). Default 1, as on Linux (`dad_transmits`);
    /// 0 takes the addresses at once, without checking.
    ///
    /// [RFC 4862 5.1]: https://www.rfc-editor.org/rfc/rfc4862#section-5.1
    pub dad_transmits: u8,
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
            dad_transmits: 1,
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
    pub ip: IpAddr,
    /// Its MAC address, once known.
    pub mac: Option<MacAddr>,
    /// How sure we are.
    pub state: NeighbourState,
    /// Packets waiting for the answer.
    pub waiting: usize,
}

impl fmt::Display for NeighbourInfo {
    /// `10.77.0.1 lladdr 9a:3c:..:11 REACHABLE` or `fd77::1 lladdr ... STALE`, like `ip neigh`.
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
    /// Requests ("who has X?") for addresses we had no MAC for: ARP broadcasts, or Neighbor
    /// Solicitations to a solicited-node group.
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

#[cfg(test)]
mod tests;
