//! The neighbour cache on virtual time: states, retries, bounds.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;
use crate::time::Instant;

const X: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1));
const Y: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 3));
const MAC_X: MacAddr = MacAddr::new([0x02, 0, 0, 0, 0, 1]);
const MAC_X2: MacAddr = MacAddr::new([0x02, 0, 0, 0, 0, 0x11]);

fn at(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

fn packet(n: u8) -> impl FnOnce() -> Held {
    move || Held {
        packet: vec![n],
        why: None,
    }
}

fn cache() -> NeighbourCache {
    NeighbourCache::new(NeighbourConfig::default())
}

/// Every action queued, as (kind, target or first byte of each packet).
fn actions(cache: &mut NeighbourCache) -> Vec<String> {
    std::iter::from_fn(|| cache.next_action())
        .map(|action| match action {
            Action::Request {
                target,
                to,
                attempt,
                waiting,
            } => match to {
                None => format!("who-has {target} #{attempt} ({waiting} waiting)"),
                Some(mac) => format!("probe {target} at {mac} #{attempt}"),
            },
            Action::Release { mac, packets } => {
                let ids: Vec<u8> = packets.iter().map(|h| h.packet[0]).collect();
                format!("release {ids:?} to {mac}")
            }
            Action::Unreachable { ip, packets } => {
                let ids: Vec<u8> = packets.iter().map(|h| h.packet[0]).collect();
                format!("unreachable {ip} {ids:?}")
            }
        })
        .collect()
}

fn state(cache: &NeighbourCache, now: Instant, ip: IpAddr) -> Option<NeighbourState> {
    cache
        .table(now)
        .into_iter()
        .find(|info| info.ip == ip)
        .map(|info| info.state)
}

#[test]
fn the_first_packet_waits_and_asks_once_then_the_answer_releases_it() {
    let mut cache = cache();
    assert_eq!(
        cache.lookup(at(0), X, packet(1)),
        Lookup::Held { waiting: 1 }
    );
    assert_eq!(
        cache.lookup(at(10), X, packet(2)),
        Lookup::Held { waiting: 2 }
    );
    // One request, not one per packet.
    assert_eq!(actions(&mut cache), ["who-has 10.77.0.1 #1 (1 waiting)"]);
    assert_eq!(cache.poll_at(), Some(at(1000)));

    cache.learn(at(20), X, MAC_X, Learned::Answer);
    assert_eq!(actions(&mut cache), ["release [1, 2] to 02:00:00:00:00:01"]);
    assert_eq!(state(&cache, at(20), X), Some(NeighbourState::Reachable));
    assert_eq!(cache.lookup(at(30), X, packet(3)), Lookup::Send(MAC_X));
    assert!(!cache.has_pending());
    assert_eq!(cache.poll_at(), None, "a REACHABLE entry needs no timer");
    assert_eq!(
        (cache.stats.requests, cache.stats.held, cache.stats.released),
        (1, 2, 2)
    );
}

/// RFC 1122 2.3.2.1: no more than one request per second per address; after the third goes
/// unanswered the address is given up and the waiting packets are reported.
#[test]
fn a_silent_neighbour_is_asked_once_a_second_three_times_then_given_up() {
    let mut cache = cache();
    cache.lookup(at(0), X, packet(1));
    assert_eq!(actions(&mut cache).len(), 1);
    // Packets and polls before the second is up ask nothing more.
    for ms in [100, 500, 999] {
        cache.lookup(at(ms), X, packet(2));
        cache.poll(at(ms));
        assert!(actions(&mut cache).is_empty(), "at {ms} ms");
    }
    cache.poll(at(1000));
    assert_eq!(actions(&mut cache), ["who-has 10.77.0.1 #2 (4 waiting)"]);
    cache.poll(at(1500));
    assert!(actions(&mut cache).is_empty());
    assert_eq!(cache.poll_at(), Some(at(2000)));
    cache.poll(at(2000));
    assert_eq!(actions(&mut cache), ["who-has 10.77.0.1 #3 (4 waiting)"]);
    cache.poll(at(3000));
    assert_eq!(actions(&mut cache), ["unreachable 10.77.0.1 [1, 2, 2, 2]"]);
    assert_eq!(state(&cache, at(3000), X), None);
    assert_eq!(cache.poll_at(), None);
    assert_eq!((cache.stats.requests, cache.stats.failed), (3, 1));
    assert!(!cache.has_pending());

    // The next packet starts over.
    cache.lookup(at(4000), X, packet(9));
    assert_eq!(actions(&mut cache), ["who-has 10.77.0.1 #1 (1 waiting)"]);
}

#[test]
fn the_queue_for_one_neighbour_keeps_the_latest_packets() {
    let mut cache = cache();
    for n in 0..20 {
        cache.lookup(at(0), X, packet(n));
    }
    actions(&mut cache);
    cache.learn(at(1), X, MAC_X, Learned::Answer);
    assert_eq!(
        actions(&mut cache),
        ["release [12, 13, 14, 15, 16, 17, 18, 19] to 02:00:00:00:00:01"]
    );
    assert_eq!(cache.stats.held_dropped, 12);
}

#[test]
fn all_queues_together_are_bounded() {
    let config = NeighbourConfig {
        pending_total: 5,
        pending_per_neighbour: 4,
        ..NeighbourConfig::default()
    };
    let mut cache = NeighbourCache::new(config);
    for n in 0..4 {
        cache.lookup(at(0), X, packet(n));
    }
    assert_eq!(
        cache.lookup(at(0), Y, packet(4)),
        Lookup::Held { waiting: 1 }
    );
    assert_eq!(cache.lookup(at(0), Y, packet(5)), Lookup::Dropped);
    assert_eq!(cache.stats.held_dropped, 1);
    // X's own queue still turns over: its oldest makes room for its newest.
    assert_eq!(
        cache.lookup(at(0), X, packet(6)),
        Lookup::Held { waiting: 4 }
    );
}

#[test]
fn a_reachable_entry_goes_stale_and_is_checked_when_used() {
    let mut cache = cache();
    cache.learn(at(0), X, MAC_X, Learned::Answer);
    assert_eq!(
        state(&cache, at(29_999), X),
        Some(NeighbourState::Reachable)
    );
    assert_eq!(state(&cache, at(30_000), X), Some(NeighbourState::Stale));
    // An idle stale entry costs nothing: no timer.
    assert_eq!(cache.poll_at(), None);

    // Used: the packet goes at once, to the MAC we have; the check starts 5 s later.
    assert_eq!(cache.lookup(at(40_000), X, packet(1)), Lookup::Send(MAC_X));
    assert_eq!(state(&cache, at(40_000), X), Some(NeighbourState::Delay));
    assert_eq!(cache.poll_at(), Some(at(45_000)));
    cache.poll(at(45_000));
    assert_eq!(
        actions(&mut cache),
        ["probe 10.77.0.1 at 02:00:00:00:00:01 #1"]
    );
    assert_eq!(state(&cache, at(45_000), X), Some(NeighbourState::Probe));
    // While probing, packets still go.
    assert_eq!(cache.lookup(at(45_500), X, packet(2)), Lookup::Send(MAC_X));

    // The answer makes it REACHABLE again.
    cache.learn(at(45_600), X, MAC_X, Learned::Answer);
    assert_eq!(
        state(&cache, at(45_600), X),
        Some(NeighbourState::Reachable)
    );
    assert_eq!(cache.poll_at(), None);
    assert!(actions(&mut cache).is_empty());
}

#[test]
fn a_stale_entry_that_never_answers_its_probes_is_dropped() {
    let mut cache = cache();
    cache.learn(at(0), X, MAC_X, Learned::Answer);
    cache.lookup(at(30_000), X, packet(1));
    for s in [35, 36, 37] {
        cache.poll(at(s * 1000));
    }
    assert_eq!(actions(&mut cache).len(), 3);
    cache.poll(at(38_000));
    assert!(
        actions(&mut cache).is_empty(),
        "no packets waited: nothing to report"
    );
    assert_eq!(state(&cache, at(38_000), X), None);
    assert_eq!((cache.stats.probes, cache.stats.failed), (3, 1));
}

/// RFC 826's merge: a sender we know is updated; one we do not is added only when the packet
/// was for us.
#[test]
fn unsolicited_packets_update_known_senders_and_add_only_when_told() {
    let mut cache = cache();
    cache.learn(at(0), X, MAC_X, Learned::Unsolicited { create: false });
    assert_eq!(state(&cache, at(0), X), None);
    cache.learn(at(0), X, MAC_X, Learned::Unsolicited { create: true });
    assert_eq!(state(&cache, at(0), X), Some(NeighbourState::Stale));

    cache.learn(at(1), X, MAC_X, Learned::Answer);
    // The same address again, unasked: still REACHABLE.
    cache.learn(at(2), X, MAC_X, Learned::Unsolicited { create: false });
    assert_eq!(state(&cache, at(2), X), Some(NeighbourState::Reachable));
    // A new address: taken, but not trusted as REACHABLE.
    cache.learn(at(3), X, MAC_X2, Learned::Unsolicited { create: false });
    let info = &cache.table(at(3))[0];
    assert_eq!(
        (info.mac, info.state),
        (Some(MAC_X2), NeighbourState::Stale)
    );
    assert_eq!(info.to_string(), "10.77.0.1 lladdr 02:00:00:00:00:11 STALE");
}

#[test]
fn a_request_from_the_neighbour_we_are_asking_for_answers_too() {
    let mut cache = cache();
    cache.lookup(at(0), X, packet(1));
    actions(&mut cache);
    cache.learn(at(5), X, MAC_X, Learned::Unsolicited { create: false });
    assert_eq!(actions(&mut cache), ["release [1] to 02:00:00:00:00:01"]);
    // Sent to an address nobody confirmed: checked soon.
    assert_eq!(state(&cache, at(5), X), Some(NeighbourState::Delay));
}

#[test]
fn a_flood_of_new_senders_stays_within_the_bound_and_keeps_what_waits() {
    let config = NeighbourConfig {
        capacity: 16,
        ..NeighbourConfig::default()
    };
    let mut cache = NeighbourCache::new(config);
    cache.lookup(at(0), X, packet(1));
    let mut rng = fastrand::Rng::with_seed(7);
    for n in 0..10_000u64 {
        let ip = IpAddr::V4(Ipv4Addr::from(rng.u32(..)));
        let mac = MacAddr::new([2, 0, 0, 0, (n >> 8) as u8, n as u8]);
        cache.learn(at(n), ip, mac, Learned::Unsolicited { create: true });
    }
    let table = cache.table(at(10_000));
    assert_eq!(table.len(), 16);
    assert!(table.iter().any(|i| i.ip == X && i.waiting == 1));
    assert_eq!(cache.stats.evicted, 10_000 - 15);
}

/// RFC 4861 7.3.1: an upper layer's proof (a TCP ACK for new data) keeps an entry in use
/// REACHABLE: no probe while a transfer goes on.
#[test]
fn a_confirmation_from_above_spares_the_probe() {
    let mut cache = cache();
    cache.learn(at(0), X, MAC_X, Learned::Unsolicited { create: true });
    assert_eq!(cache.lookup(at(10), X, packet(1)), Lookup::Send(MAC_X));
    assert_eq!(state(&cache, at(10), X), Some(NeighbourState::Delay));
    cache.confirm(at(20), X);
    assert_eq!(state(&cache, at(20), X), Some(NeighbourState::Reachable));
    cache.poll(at(5_010));
    assert!(actions(&mut cache).is_empty(), "no probe");
    // Nothing to confirm for an address still being asked for.
    cache.lookup(at(0), Y, packet(2));
    cache.confirm(at(30), Y);
    assert_eq!(state(&cache, at(30), Y), Some(NeighbourState::Incomplete));
}

const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1));
const V6_2: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 3));

fn advert(solicited: bool, override_: bool) -> Advert {
    Advert {
        solicited,
        override_,
    }
}

fn entry(cache: &NeighbourCache, now: Instant, ip: IpAddr) -> (Option<MacAddr>, NeighbourState) {
    let info = cache.table(now).into_iter().find(|info| info.ip == ip);
    let info = info.expect("an entry");
    (info.mac, info.state)
}

/// IPv6 neighbours live in the same cache, with the same states and timers as IPv4's.
#[test]
fn one_cache_holds_both_versions() {
    let mut cache = cache();
    cache.lookup(at(0), V6, packet(1));
    cache.lookup(at(0), X, packet(2));
    assert_eq!(
        actions(&mut cache),
        [
            "who-has fd77::1 #1 (1 waiting)",
            "who-has 10.77.0.1 #1 (1 waiting)"
        ]
    );
    cache.poll(at(1000));
    assert_eq!(actions(&mut cache).len(), 2, "both asked again");
    cache.advertised(at(1500), V6, Some(MAC_X), advert(true, true));
    let table: Vec<String> = cache
        .table(at(1500))
        .iter()
        .map(|i| i.to_string())
        .collect();
    assert_eq!(
        table,
        [
            "10.77.0.1 INCOMPLETE (1 waiting)",
            "fd77::1 lladdr 02:00:00:00:00:01 REACHABLE"
        ]
    );
}

/// RFC 4861 7.2.5, INCOMPLETE entry: the advertised address is taken, REACHABLE if the
/// advertisement answers our solicitation, STALE if not; without an address, nothing changes.
#[test]
fn an_advertisement_completes_an_incomplete_entry() {
    let mut cache = cache();
    cache.lookup(at(0), V6, packet(1));
    cache.lookup(at(0), V6_2, packet(2));
    actions(&mut cache);
    cache.advertised(at(5), V6, None, advert(true, true));
    assert_eq!(entry(&cache, at(5), V6), (None, NeighbourState::Incomplete));
    assert!(actions(&mut cache).is_empty());

    cache.advertised(at(10), V6, Some(MAC_X), advert(true, false));
    assert_eq!(actions(&mut cache), ["release [1] to 02:00:00:00:00:01"]);
    assert_eq!(
        entry(&cache, at(10), V6),
        (Some(MAC_X), NeighbourState::Reachable)
    );

    // Unsolicited: STALE, and the packet that goes at once starts the check (DELAY).
    cache.advertised(at(10), V6_2, Some(MAC_X2), advert(false, true));
    assert_eq!(actions(&mut cache), ["release [2] to 02:00:00:00:00:11"]);
    assert_eq!(
        entry(&cache, at(10), V6_2),
        (Some(MAC_X2), NeighbourState::Delay)
    );
    assert_eq!(cache.stats.resolved, 2);
}

/// RFC 4861 7.2.5: an advertisement for an address we never asked for makes no entry.
#[test]
fn an_unasked_advertisement_makes_no_entry() {
    let mut cache = cache();
    cache.advertised(at(0), V6, Some(MAC_X), advert(false, true));
    cache.advertised(at(0), V6, Some(MAC_X), advert(true, true));
    assert!(cache.table(at(0)).is_empty());
}

/// RFC 4861 7.2.5 for a known entry: Override decides whether a different address replaces
/// ours, Solicited whether the entry is proven REACHABLE.
#[test]
fn advertisements_follow_the_override_and_solicited_flags() {
    let mut cache = cache();
    cache.learn(at(0), V6, MAC_X, Learned::Answer);
    let steps = [
        // A different address without Override: not taken, but a REACHABLE entry is in doubt.
        (
            Some(MAC_X2),
            advert(true, false),
            (Some(MAC_X), NeighbourState::Stale),
        ),
        // Again while STALE: nothing changes.
        (
            Some(MAC_X2),
            advert(false, false),
            (Some(MAC_X), NeighbourState::Stale),
        ),
        // The same address, solicited: proven.
        (
            Some(MAC_X),
            advert(true, false),
            (Some(MAC_X), NeighbourState::Reachable),
        ),
        // The same address, unsolicited: nothing changes.
        (
            Some(MAC_X),
            advert(false, true),
            (Some(MAC_X), NeighbourState::Reachable),
        ),
        // A different address with Override, unsolicited: taken, but not proven.
        (
            Some(MAC_X2),
            advert(false, true),
            (Some(MAC_X2), NeighbourState::Stale),
        ),
        // No address, solicited (an answer without the option): proven, address kept.
        (
            None,
            advert(true, false),
            (Some(MAC_X2), NeighbourState::Reachable),
        ),
        // A different address with Override and Solicited: taken and proven.
        (
            Some(MAC_X),
            advert(true, true),
            (Some(MAC_X), NeighbourState::Reachable),
        ),
    ];
    for (n, (mac, flags, want)) in steps.into_iter().enumerate() {
        let now = at(n as u64 + 1);
        cache.advertised(now, V6, mac, flags);
        assert_eq!(entry(&cache, now, V6), want, "step {n}");
    }
    assert!(
        actions(&mut cache).is_empty(),
        "nothing waited, nothing to send"
    );
}

/// A STALE entry checked with unicast solicitations is REACHABLE again after a solicited
/// answer, and no more probes go.
#[test]
fn a_solicited_advertisement_ends_the_probes() {
    let mut cache = cache();
    cache.learn(at(0), V6, MAC_X, Learned::Unsolicited { create: true });
    assert_eq!(cache.lookup(at(100), V6, packet(1)), Lookup::Send(MAC_X));
    cache.poll(at(5_100));
    assert_eq!(
        actions(&mut cache),
        ["probe fd77::1 at 02:00:00:00:00:01 #1"]
    );
    cache.advertised(at(5_200), V6, Some(MAC_X), advert(true, true));
    assert_eq!(
        entry(&cache, at(5_200), V6),
        (Some(MAC_X), NeighbourState::Reachable)
    );
    assert_eq!(cache.poll_at(), None);
    cache.poll(at(6_100));
    assert!(actions(&mut cache).is_empty());
}
