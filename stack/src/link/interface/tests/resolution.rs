//! Finding and checking IPv6 neighbours with NDP, framing IPv6, and what `receive` takes.

use super::*;
use crate::ip::addr6::solicited_node;
use crate::link::ndp::message::ALL_NODES;
use crate::stats::DropReason;

/// Two interfaces whose addresses are checked already.
fn pair() -> (EthernetInterface, EthernetInterface) {
    let (mut a, mut b) = (a(0), b(0));
    exchange(&mut a, &mut b, at(0));
    (a, b)
}

/// RFC 4861 7.2.2 to 7.2.5: a multicast solicitation with our MAC address, a solicited
/// advertisement back, and the packets that waited go, framed as IPv6.
#[test]
fn a_neighbour_is_found_and_the_packets_that_waited_go() {
    let (mut a, mut b) = pair();
    assert!(
        send(&mut a, at(10), packet(A6, B6, 1)).is_none(),
        "it waits"
    );
    assert!(send(&mut a, at(10), packet(A6, B6, 2)).is_none());
    let ex = exchange(&mut a, &mut b, at(10));
    let [ask, answer, first, second] = &ex.log[..] else {
        panic!("{:#?}", ex.log);
    };

    let group = solicited_node(B6);
    let solicit = Ndp::Solicit {
        target: B6,
        source_mac: Some(A_MAC),
    };
    assert_eq!(ndp(ask), (A6, group, solicit));
    assert_eq!(ask.to, MacAddr::ipv6_multicast(group));
    assert_eq!(
        ask.why.as_deref(),
        Some(
            "who has fd77::1? neighbour solicitation to ff02::1:ff00:1; the next hop's MAC is \
             unknown; 1 packet waits for the answer"
        )
    );
    let advert = Ndp::Advert {
        solicited: true,
        override_: true,
        router: false,
        target: B6,
        target_mac: Some(B_MAC),
    };
    assert_eq!(ndp(answer), (B6, A6, advert));
    assert_eq!((answer.from, answer.to), (B_MAC, A_MAC));
    assert_eq!(
        answer.why.as_deref(),
        Some("the answer to fd77::2: our MAC address")
    );
    for (seen, tag) in [(first, 1), (second, 2)] {
        assert_eq!((seen.ethertype, seen.to), (EtherType::Ipv6, B_MAC));
        assert_eq!(seen.bytes[14..], packet(A6, B6, tag)[..]);
    }
    assert_eq!(ex.up_b, [packet(A6, B6, 1), packet(A6, B6, 2)]);
    assert!(ex.up_a.is_empty(), "NDP stays in the link layer");

    assert_eq!(state(&a, at(10), B6), Some(NeighbourState::Reachable));
    // B learned A from the solicitation: STALE, nothing proves A hears B yet.
    assert_eq!(state(&b, at(10), A6), Some(NeighbourState::Stale));
    let next = send(&mut a, at(20), packet(A6, B6, 3)).expect("goes at once");
    assert_eq!(next.to, B_MAC);
    let stats = (a.neighbours.stats.requests, a.neighbours.stats.released);
    assert_eq!(stats, (1, 2));
    assert_eq!((a.ndp_stats.sent, a.ndp_stats.delivered), (1, 1));
    assert_eq!((b.ndp_stats.sent, b.ndp_stats.delivered), (1, 1));
}

/// RFC 4861 7.3.3: a STALE entry in use is checked 5 s later with a unicast solicitation to
/// the MAC address we have; the solicited answer makes it REACHABLE.
#[test]
fn a_stale_neighbour_is_checked_with_a_unicast_solicitation() {
    let (mut a, mut b) = pair();
    send(&mut a, at(0), packet(A6, B6, 1));
    exchange(&mut a, &mut b, at(0));
    assert_eq!(state(&a, at(30_000), B6), Some(NeighbourState::Stale));
    assert!(send(&mut a, at(30_000), packet(A6, B6, 2)).is_some());
    assert_eq!(a.poll_at(), Some(at(35_000)));
    let log = exchange(&mut a, &mut b, at(35_000)).log;
    let [probe, answer] = &log[..] else {
        panic!("{log:#?}");
    };
    let solicit = Ndp::Solicit {
        target: B6,
        source_mac: Some(A_MAC),
    };
    assert_eq!(ndp(probe), (A6, B6, solicit), "unicast, to B's own address");
    assert_eq!(probe.to, B_MAC);
    assert_eq!(
        probe.why.as_deref(),
        Some(
            "is fd77::1 still at 9a:3c:00:00:00:11? the entry is stale: checking it with a \
             unicast neighbour solicitation (probe #1)"
        )
    );
    assert_eq!(answer.to, A_MAC);
    assert_eq!(state(&a, at(35_000), B6), Some(NeighbourState::Reachable));
    assert_eq!(a.neighbours.stats.probes, 1);
}

/// RFC 2464 7: a multicast destination needs no question; its MAC address is 33:33 and the
/// group's last four bytes.
#[test]
fn multicast_goes_at_once_to_its_mac_address() {
    let (mut a, _) = pair();
    let seen = send(&mut a, at(0), packet(A_LL, ALL_NODES, 1)).expect("at once");
    assert_eq!(seen.to, MacAddr::new([0x33, 0x33, 0, 0, 0, 1]));
    assert_eq!(seen.ethertype, EtherType::Ipv6);
    let group: Ipv6Addr = "ff02::1:ff12:3456".parse().unwrap();
    let seen = send(&mut a, at(0), packet(A_LL, group, 2)).expect("at once");
    assert_eq!(seen.to, MacAddr::new([0x33, 0x33, 0xff, 0x12, 0x34, 0x56]));
    assert!(drain(&mut a, at(0)).is_empty(), "nobody was asked");
}

/// Link-local and on-prefix destinations are on-link; anything else goes to the gateway, or
/// cannot go at all.
#[test]
fn off_link_packets_go_to_the_gateway_or_nowhere() {
    let far: Ipv6Addr = "2001:db8::7".parse().unwrap();
    let (mut a, _) = pair();
    assert!(send(&mut a, at(0), packet(A6, far, 1)).is_none());
    let lost = a.take_undeliverable();
    assert_eq!(lost.len(), 1);
    assert!(lost[0].no_route);
    assert_eq!(a.stats.dropped.get(DropReason::NoRoute), 1);

    let config = NeighbourConfig {
        dad_transmits: 0,
        ..NeighbourConfig::default()
    };
    let cidr = crate::ip::Ipv6Cidr::new(A6, 64);
    let v4 = "10.77.0.2/24".parse().unwrap();
    let mut a = EthernetInterface::new(A_MAC, v4, None, cidr, Some(B_LL), config);
    drain(&mut a, at(0));
    assert!(send(&mut a, at(0), packet(A6, far, 1)).is_none());
    let sent = drain(&mut a, at(0));
    // Who has the gateway? Asked from our link-local address, since the gateway's is one.
    let solicit = Ndp::Solicit {
        target: B_LL,
        source_mac: Some(A_MAC),
    };
    assert_eq!(ndp(&sent[0]), (A_LL, solicited_node(B_LL), solicit));
    assert_eq!(state(&a, at(0), B_LL), Some(NeighbourState::Incomplete));
    // A link-local destination off our prefix is on-link all the same.
    send(&mut a, at(0), packet(A_LL, "fe80::99".parse().unwrap(), 2));
    assert_eq!(drain(&mut a, at(0)).len(), 1);
}

/// Up: IPv6 packets other than NDP go to the IP layer, from our MAC, broadcast or an IPv6
/// multicast MAC; invalid NDP is counted in `ndp`; with IPv6 off, IPv6 is not read at all.
#[test]
fn receive_hands_up_ipv6_and_keeps_ndp() {
    let (mut a, mut b) = pair();
    let to_all = frame(
        B_MAC,
        MacAddr::ipv6_multicast(ALL_NODES),
        &packet(B6, ALL_NODES, 1),
    );
    assert_eq!(
        a.receive(at(0), &to_all),
        Some(&packet(B6, ALL_NODES, 1)[..])
    );
    let to_us = frame(B_MAC, A_MAC, &packet(B6, ALL_NODES, 2));
    assert!(a.receive(at(0), &to_us).is_some());
    let to_other = frame(
        B_MAC,
        MacAddr::new([2, 0, 0, 0, 0, 9]),
        &packet(B6, ALL_NODES, 3),
    );
    assert_eq!(a.receive(at(0), &to_other), None);
    assert_eq!(a.stats.dropped.get(DropReason::NotForUs), 1);

    // A solicitation that crossed a router (Hop Limit 64): dropped, counted, never answered.
    send(&mut b, at(0), packet(B6, A6, 1));
    let mut ask = drain(&mut b, at(0)).remove(0).bytes;
    ask[14 + 7] = 64;
    assert_eq!(a.receive(at(0), &ask), None);
    assert_eq!(a.ndp_stats.dropped.get(DropReason::NotFromLink), 1);
    assert_eq!(a.ndp_stats.received, 1);
    assert!(drain(&mut a, at(0)).is_empty());

    // IPv6 off: an IPv6 multicast frame is not for us, and IPv6 is a protocol we lack.
    let mut v4_only = EthernetInterface::new(
        A_MAC,
        "10.77.0.2/24".parse().unwrap(),
        None,
        None,
        None,
        NeighbourConfig::default(),
    );
    assert_eq!(v4_only.receive(at(0), &to_all), None);
    assert_eq!(v4_only.receive(at(0), &to_us), None);
    assert_eq!(v4_only.stats.dropped.get(DropReason::NotForUs), 1);
    assert_eq!(v4_only.stats.dropped.get(DropReason::UnknownProtocol), 1);
    assert!(send(&mut v4_only, at(0), packet(A6, B6, 1)).is_none());
    assert!(v4_only.take_undeliverable()[0].no_route);
    assert!(!v4_only.ipv6_usable(A6) && !v4_only.ipv6_joined(ALL_NODES));
}

/// Someone else advertising one of our (checked) addresses is not learned, and is counted.
#[test]
fn an_advertisement_for_our_own_address_is_refused() {
    let (mut a, _) = pair();
    // Another host, misconfigured, claims fd77::2 after A took it.
    let claim = Ndp::Advert {
        solicited: false,
        override_: true,
        router: false,
        target: A6,
        target_mac: Some(B_MAC),
    };
    let claim = claim.emit(B6, ALL_NODES);
    let to = MacAddr::ipv6_multicast(ALL_NODES);
    assert_eq!(a.receive(at(0), &frame(B_MAC, to, &claim)), None);
    assert!(drain(&mut a, at(0)).is_empty());
    assert!(a.ipv6_usable(A6), "a preferred address stays");
    assert_eq!(a.ndp_stats.dropped.get(DropReason::BadSource), 1);
    assert_eq!(state(&a, at(0), A6), None);
}
