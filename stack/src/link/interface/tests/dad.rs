//! Duplicate address detection (RFC 4862 5.4) between interfaces on one wire.

use super::*;
use crate::ip::addr6::solicited_node;
use crate::link::ndp::message::ALL_NODES;
use crate::link::ndp::DadStats;
use crate::stats::DropReason;

/// One solicitation from `::` per address, after the gratuitous ARP; a second of silence, and
/// both addresses are ours.
#[test]
fn each_address_is_checked_once_and_taken_after_a_second_of_silence() {
    let mut a = a(1);
    assert!(a.has_ready(), "the check is ready to start");
    assert_eq!(a.poll_at(), None);
    let sent = drain(&mut a, at(0));
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].ethertype, EtherType::Arp);
    for (seen, target) in sent[1..].iter().zip([A_LL, A6]) {
        let group = solicited_node(target);
        let source_mac = None;
        let solicit = Ndp::Solicit { target, source_mac };
        assert_eq!(ndp(seen), (Ipv6Addr::UNSPECIFIED, group, solicit));
        assert_eq!(seen.to, MacAddr::ipv6_multicast(group));
    }
    assert_eq!(
        sent[2].why.as_deref(),
        Some("duplicate address detection for fd77::2 (tentative): does another host have it?")
    );
    assert!(!a.ipv6_usable(A6) && !a.ipv6_usable(A_LL));
    assert_eq!(a.ipv6_addrs().count(), 0);
    assert_eq!(a.ipv6_source(B6), None, "a tentative address is no source");
    assert!(
        a.ipv6_joined(solicited_node(A6)),
        "the group of a tentative address is joined"
    );
    assert_eq!(a.poll_at(), Some(at(1000)));

    assert!(drain(&mut a, at(999)).is_empty());
    assert!(!a.ipv6_usable(A6));
    assert!(drain(&mut a, at(1000)).is_empty());
    assert!(a.ipv6_usable(A6) && a.ipv6_usable(A_LL));
    assert_eq!(a.ipv6_addrs().collect::<Vec<_>>(), [A_LL, A6]);
    assert_eq!(a.ipv6_source(B6), Some(A6));
    assert_eq!(a.ipv6_source(B_LL), Some(A_LL));
    assert_eq!(a.poll_at(), None);
    let expected = DadStats {
        checked: 2,
        passed: 2,
        duplicates: 0,
    };
    assert_eq!(a.dad_stats(), expected);
    assert_eq!((a.ndp_stats.sent, a.ndp_stats.received), (2, 0));
}

/// A host that has the address answers a newcomer's check, to all nodes; the newcomer never
/// uses it.
#[test]
fn a_host_that_comes_second_finds_its_address_taken() {
    let mut first = a(1);
    drain(&mut first, at(0));
    drain(&mut first, at(1000));
    assert!(first.ipv6_usable(A6));

    // Another interface, another MAC address, the same fd77::2.
    let mut second = interface(B_MAC, "10.77.0.1/24", A6, 1);
    let log = exchange(&mut first, &mut second, at(2000)).log;
    let defence = ndp_only(log)
        .into_iter()
        .find(|s| s.from == A_MAC)
        .expect("the first host answers");
    let advert = Ndp::Advert {
        solicited: false,
        override_: true,
        router: false,
        target: A6,
        target_mac: Some(A_MAC),
    };
    assert_eq!(ndp(&defence), (A6, ALL_NODES, advert));
    assert_eq!(defence.to, MacAddr::ipv6_multicast(ALL_NODES));
    assert_eq!(
        defence.why.as_deref(),
        Some("fd77::2 is ours: the answer to another host's duplicate address detection")
    );

    drain(&mut second, at(3000));
    assert!(!second.ipv6_usable(A6), "a duplicate is never used");
    assert!(
        second.ipv6_usable(B_LL),
        "its link-local address is its own"
    );
    assert_eq!(second.ipv6_addrs().collect::<Vec<_>>(), [B_LL]);
    assert!(!second.ipv6_joined(solicited_node(A6)));
    let stats = second.dad_stats();
    assert_eq!((stats.checked, stats.passed, stats.duplicates), (2, 1, 1));
    assert!(first.ipv6_usable(A6), "the first host keeps it");
    assert_eq!(first.dad_stats().duplicates, 0);
}

/// Two hosts checking the same address at the same time each hear the other's check (RFC 4862
/// 5.4.3): neither takes it.
#[test]
fn two_hosts_checking_the_same_address_at_once_both_give_it_up() {
    let mut one = a(1);
    let mut other = interface(B_MAC, "10.77.0.1/24", A6, 1);
    exchange(&mut one, &mut other, at(0));
    exchange(&mut one, &mut other, at(1000));
    for host in [&one, &other] {
        assert!(!host.ipv6_usable(A6));
        assert_eq!(host.dad_stats().duplicates, 1);
        assert_eq!(host.ipv6_addrs().count(), 1, "only the link-local address");
    }
}

/// While an address is checked, a solicitation for it (someone resolving it) is not answered
/// (RFC 4862 5.4.3), and its sender is not learned; once the address is ours, it is.
#[test]
fn a_solicitation_for_a_tentative_address_is_not_answered() {
    let mut a = a(1);
    let mut b = b(0);
    drain(&mut a, at(0));
    drain(&mut b, at(0));
    assert_eq!(
        send(&mut b, at(10), packet(B6, A6, 1)).map(|s| s.bytes),
        None
    );
    let log = exchange(&mut a, &mut b, at(10)).log;
    assert_eq!(log.len(), 1, "B's solicitation, and no answer: {log:#?}");
    assert_eq!(state(&a, at(10), B6), None);
    assert_eq!(a.ndp_stats.dropped.get(DropReason::NotForUs), 1);

    // B asks again a second later; by then A's address is checked.
    let ex = exchange(&mut a, &mut b, at(1010));
    let from_a: Vec<_> = ex.log.iter().filter(|s| s.from == A_MAC).collect();
    assert_eq!(from_a.len(), 1, "the answer");
    assert_eq!(ex.up_a.len(), 1, "and the packet that waited for it");
    assert_eq!(state(&a, at(1010), B6), Some(NeighbourState::Stale));
    assert_eq!(state(&b, at(1010), A6), Some(NeighbourState::Reachable));
}

/// With the check off (`dad_transmits` 0), the addresses are ours at once and no solicitation
/// goes.
#[test]
fn no_check_when_it_is_off() {
    let mut a = a(0);
    assert!(a.ipv6_usable(A6) && a.ipv6_usable(A_LL));
    let sent = drain(&mut a, at(0));
    assert_eq!(sent.len(), 1, "the gratuitous ARP only");
    assert_eq!(a.dad_stats(), DadStats::default());
}
