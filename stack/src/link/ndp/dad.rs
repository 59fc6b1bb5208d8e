//! Our IPv6 addresses on the link, and duplicate address detection ([RFC 4862 5.4]).
//!
//! An IPv6 host makes up addresses (its link-local address comes from its MAC address) or is
//! given them, and nothing guarantees that no other host on the link has the same one. So
//! before it uses an address, it asks the link: a Neighbor Solicitation for the address, sent
//! from the unspecified address `::` (it has no address of its own to speak from yet). Until
//! the answer time is up the address is *tentative*: it is not used as a source, and packets
//! sent to it are not taken.
//!
//! ```text
//!   us (wants fd77::2)                                        another host on the link
//!     │  from ::, to ff02::1:ff00:2 (fd77::2's solicited-node group)     │
//!     │  neighbour solicitation "who has fd77::2?", no source MAC option │
//!     │─────────────────────────────────────────────────────────────────>│
//!     │                                                                  │
//!     │  if it has fd77::2: neighbour advertisement to ff02::1           │
//!     │  "fd77::2 is at 9a:3c:..:11"        => duplicate: never used     │
//!     │<─────────────────────────────────────────────────────────────────│
//!     │
//!     │  silence for RetransTimer (1 s)     => the address is ours (preferred)
//! ```
//!
//! Two hosts that start at the same time and check the same address see each other's
//! solicitation, from `::` for the address they check: each takes that as a duplicate
//! ([RFC 4862 5.4.3]), so neither uses it.
//!
//! Two things of RFC 4862 5.4.2 are left out, on purpose:
//!
//! - **The random delay** (0 to 1 s) before the first solicitation, which keeps hosts that
//!   power up together from all asking at once: the check starts at once, so that tests on
//!   virtual time see the same frames at the same instants on every run.
//! - **Joining the groups with MLD** (Multicast Listener Discovery reports, which Linux sends
//!   for the solicited-node group before it checks): they let a switch that snoops MLD forward
//!   the group's frames to us. A TAP link or an in-memory wire has no such switch, and we take
//!   every frame to a `33:33:..` address anyway.
//!
//! [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
//! [RFC 4862 5.4.3]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4.3

use std::net::Ipv6Addr;
use std::time::Duration;

use tracing::{info, warn};

use crate::ip::addr6::is_link_local;
#[cfg(test)]
use crate::ip::addr6::solicited_node;
use crate::link::ethernet::MacAddr;
use crate::time::Instant;

/// Duplicate address detection, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DadStats {
    /// Addresses checked: each of our IPv6 addresses, once, when the interface starts.
    pub checked: u64,
    /// Addresses taken: nobody answered for them in time.
    pub passed: u64,
    /// Addresses another host on the link has: never used.
    pub duplicates: u64,
}

/// Where one of our addresses stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrState {
    /// Being checked: not used, not taken. `sent` solicitations have gone; the next step is
    /// due at `deadline` (`None`: the check has not started).
    Tentative {
        /// Solicitations sent.
        sent: u8,
        /// When the next goes, or the check ends.
        deadline: Option<Instant>,
    },
    /// Checked: ours to use ([RFC 4862 2]'s preferred).
    ///
    /// [RFC 4862 2]: https://www.rfc-editor.org/rfc/rfc4862#section-2
    Preferred,
    /// Another host has it: never used.
    Duplicate,
}

/// What the check wants done at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DadStep {
    /// Send a solicitation from `::` for `target` (the `attempt`-th).
    Solicit {
        /// The tentative address.
        target: Ipv6Addr,
        /// 1 for the first.
        attempt: u8,
    },
}

/// Our IPv6 addresses and their states: the link-local one first, then the configured one.
#[derive(Debug)]
pub(crate) struct OurAddrs {
    addrs: Vec<(Ipv6Addr, AddrState)>,
    /// Solicitations per address (RFC 4862's DupAddrDetectTransmits).
    transmits: u8,
    /// The wait after each (RetransTimer).
    retrans_time: Duration,
    pub(crate) stats: DadStats,
}

impl OurAddrs {
    /// `addrs`, each tentative (or preferred at once when `transmits` is 0: no check).
    pub(crate) fn new(addrs: &[Ipv6Addr], transmits: u8, retrans_time: Duration) -> OurAddrs {
        let state = match transmits {
            0 => AddrState::Preferred,
            _ => AddrState::Tentative {
                sent: 0,
                deadline: None,
            },
        };
        let mut list: Vec<(Ipv6Addr, AddrState)> = Vec::new();
        for &addr in addrs {
            if !list.iter().any(|(a, _)| *a == addr) {
                list.push((addr, state));
            }
        }
        OurAddrs {
            addrs: list,
            transmits,
            retrans_time,
            stats: DadStats::default(),
        }
    }

    /// The state of `addr`, if it is one of ours.
    pub(crate) fn state(&self, addr: Ipv6Addr) -> Option<AddrState> {
        self.addrs.iter().find(|(a, _)| *a == addr).map(|(_, s)| *s)
    }

    /// Whether `addr` is ours and checked: usable as a source, and packets to it are taken.
    pub(crate) fn usable(&self, addr: Ipv6Addr) -> bool {
        self.state(addr) == Some(AddrState::Preferred)
    }

    /// Our usable addresses, link-local first.
    pub(crate) fn usable_addrs(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.addrs
            .iter()
            .filter(|(_, s)| *s == AddrState::Preferred)
            .map(|(a, _)| *a)
    }

    /// The source for a packet to `dst` ([RFC 6724]'s first rules, cut to two addresses): the
    /// link-local address for a link-local or link-scope destination, the other one otherwise;
    /// either if the better one is not usable.
    ///
    /// [RFC 6724]: https://www.rfc-editor.org/rfc/rfc6724#section-5
    pub(crate) fn source_for(&self, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        let link_scope = is_link_local(dst) || dst.segments()[0] & 0xff0f == 0xff02;
        let mut usable = self.usable_addrs();
        let preferred = |a: &Ipv6Addr| is_link_local(*a) == link_scope;
        let first = usable.next()?;
        if preferred(&first) {
            return Some(first);
        }
        Some(usable.find(preferred).unwrap_or(first))
    }

    /// Whether we listen to the multicast `group`: all nodes (ff02::1), or the solicited-node
    /// group of one of our addresses not known to be another host's (a tentative address's
    /// too: that is where a duplicate's answer comes to, [RFC 4862 5.4.2]).
    ///
    /// [RFC 4862 5.4.2]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4.2
    #[cfg(test)]
    pub(crate) fn joined(&self, group: Ipv6Addr) -> bool {
        group == super::message::ALL_NODES
            || self
                .addrs
                .iter()
                .any(|(a, s)| *s != AddrState::Duplicate && solicited_node(*a) == group)
    }

    /// Runs the check at `now`: the solicitations that are due, and the addresses whose time
    /// is up become preferred.
    pub(crate) fn poll(&mut self, now: Instant) -> Vec<DadStep> {
        let mut steps = Vec::new();
        for (addr, state) in &mut self.addrs {
            let AddrState::Tentative { sent, deadline } = state else {
                continue;
            };
            if deadline.is_some_and(|at| at > now) {
                continue;
            }
            if *sent == 0 {
                self.stats.checked += 1;
            }
            if *sent < self.transmits {
                *sent += 1;
                *deadline = Some(now + self.retrans_time);
                steps.push(DadStep::Solicit {
                    target: *addr,
                    attempt: *sent,
                });
            } else {
                info!(%addr, "ndp: {addr} is ours: no other host answered duplicate address detection");
                *state = AddrState::Preferred;
                self.stats.passed += 1;
            }
        }
        steps
    }

    /// Another host has `addr`, which it showed from `mac` while we checked it: it is never
    /// used. Returns false if `addr` was not tentative (then nothing changes).
    pub(crate) fn duplicate(&mut self, addr: Ipv6Addr, mac: MacAddr, how: &str) -> bool {
        let Some((_, state)) = self.addrs.iter_mut().find(|(a, _)| *a == addr) else {
            return false;
        };
        if !matches!(state, AddrState::Tentative { .. }) {
            return false;
        }
        // Linux's words: "IPv6 duplicate address fd77::2 used by 9a:3c:..:11 detected!"
        warn!(%addr, %mac, "ndp: IPv6 duplicate address {addr} used by {mac} detected ({how}); the address is not used");
        *state = AddrState::Duplicate;
        self.stats.duplicates += 1;
        true
    }

    /// When [`OurAddrs::poll`] next has something to do, if a check is under way.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.addrs
            .iter()
            .filter_map(|(_, s)| match s {
                AddrState::Tentative { deadline, .. } => *deadline,
                _ => None,
            })
            .min()
    }

    /// Whether a check waits to start: its first solicitation is ready to go.
    pub(crate) fn unstarted(&self) -> bool {
        self.addrs
            .iter()
            .any(|(_, s)| matches!(s, AddrState::Tentative { deadline: None, .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xaff, 0xfe4d, 2);
    const GLOBAL: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
    const MAC: MacAddr = MacAddr::new([0x9a, 0x3c, 0, 0, 0, 0x11]);

    fn ours(transmits: u8) -> OurAddrs {
        OurAddrs::new(&[LL, GLOBAL], transmits, Duration::from_secs(1))
    }

    #[test]
    fn each_address_is_checked_then_taken_after_the_wait() {
        let mut addrs = ours(1);
        assert!(addrs.unstarted() && !addrs.usable(LL) && !addrs.usable(GLOBAL));
        assert_eq!(addrs.poll_at(), None);
        let at = Instant::from_millis(10);
        assert_eq!(
            addrs.poll(at),
            [
                DadStep::Solicit {
                    target: LL,
                    attempt: 1
                },
                DadStep::Solicit {
                    target: GLOBAL,
                    attempt: 1
                }
            ]
        );
        assert!(!addrs.unstarted());
        assert_eq!(addrs.poll_at(), Some(Instant::from_millis(1010)));
        assert!(addrs.poll(Instant::from_millis(1009)).is_empty());
        assert!(!addrs.usable(GLOBAL));
        assert!(addrs.poll(Instant::from_millis(1010)).is_empty());
        assert!(addrs.usable(LL) && addrs.usable(GLOBAL));
        assert_eq!(addrs.poll_at(), None);
        assert_eq!(addrs.usable_addrs().collect::<Vec<_>>(), [LL, GLOBAL]);
        let stats = addrs.stats;
        assert_eq!((stats.checked, stats.passed, stats.duplicates), (2, 2, 0));
    }

    #[test]
    fn more_transmits_space_their_solicitations() {
        let mut addrs = OurAddrs::new(&[GLOBAL], 3, Duration::from_secs(1));
        for (s, attempt) in [(0, 1), (1, 2), (2, 3)] {
            let steps = addrs.poll(Instant::from_secs(s));
            assert_eq!(
                steps,
                [DadStep::Solicit {
                    target: GLOBAL,
                    attempt
                }]
            );
        }
        assert!(!addrs.usable(GLOBAL));
        addrs.poll(Instant::from_secs(3));
        assert!(addrs.usable(GLOBAL));
    }

    #[test]
    fn a_duplicate_is_never_used() {
        let mut addrs = ours(1);
        addrs.poll(Instant::ZERO);
        assert!(addrs.duplicate(GLOBAL, MAC, "it answered"));
        assert!(!addrs.duplicate(GLOBAL, MAC, "again"), "counted once");
        addrs.poll(Instant::from_secs(1));
        assert!(addrs.usable(LL) && !addrs.usable(GLOBAL));
        assert_eq!(addrs.state(GLOBAL), Some(AddrState::Duplicate));
        assert!(!addrs.joined(solicited_node(GLOBAL)));
        assert!(
            !addrs.duplicate(LL, MAC, "too late"),
            "a preferred address stays"
        );
        assert_eq!(addrs.stats.duplicates, 1);
        // The global address is gone: every destination gets the link-local source.
        assert_eq!(addrs.source_for("fd77::1".parse().unwrap()), Some(LL));
    }

    #[test]
    fn no_check_when_transmits_is_zero() {
        let addrs = ours(0);
        assert!(addrs.usable(LL) && addrs.usable(GLOBAL) && !addrs.unstarted());
        assert_eq!(addrs.stats, DadStats::default());
    }

    #[test]
    fn the_source_matches_the_destination_scope() {
        let addrs = ours(0);
        let src = |dst: &str| addrs.source_for(dst.parse().unwrap());
        assert_eq!(src("fe80::1"), Some(LL));
        assert_eq!(src("ff02::1:ff00:1"), Some(LL));
        assert_eq!(src("fd77::1"), Some(GLOBAL));
        assert_eq!(src("2001:db8::1"), Some(GLOBAL));
        assert_eq!(ours(1).source_for("fd77::1".parse().unwrap()), None);
        // Only a link-local address: it serves every destination.
        let only_ll = OurAddrs::new(&[LL], 0, Duration::from_secs(1));
        assert_eq!(only_ll.source_for("fd77::1".parse().unwrap()), Some(LL));
    }

    #[test]
    fn joins_all_nodes_and_the_solicited_node_groups() {
        let addrs = ours(1);
        assert!(addrs.joined("ff02::1".parse().unwrap()));
        assert!(addrs.joined("ff02::1:ff00:2".parse().unwrap()));
        assert!(addrs.joined("ff02::1:ff4d:2".parse().unwrap()));
        assert!(!addrs.joined("ff02::1:ff00:3".parse().unwrap()));
        assert!(!addrs.joined("ff02::2".parse().unwrap()));
    }
}
