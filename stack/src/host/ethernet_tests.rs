//! Two hosts on an Ethernet wire, on virtual time: ARP finds the MAC addresses, then TCP and
//! UDP run inside frames; a silent neighbour makes a connect fail in seconds.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Config, Host};
use crate::device::Medium;
use crate::link::arp::header as arp;
use crate::link::ethernet::header::{self as ethernet, EtherType, Frame};
use crate::link::ethernet::MacAddr;
use crate::link::neighbour::NeighbourState;
use crate::link::Reason;
use crate::stats::DropReason;
use crate::time::Instant;

const A: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const SILENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 9);

fn ethernet_host(addr: &str, seed: u64) -> Host {
    let mut config = Config::new(addr.parse().unwrap());
    config.seed = Some(seed);
    config.medium = Medium::Ethernet;
    Host::new(config)
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// A frame on the wire, read back: who sent it to whom, what it carries, and why.
#[derive(Debug, Clone)]
struct Seen {
    from: MacAddr,
    to: MacAddr,
    ethertype: EtherType,
    arp: Option<arp::Repr>,
    why: Option<String>,
    bytes: Vec<u8>,
}

fn read(bytes: Vec<u8>, why: Option<Reason>) -> Seen {
    let frame = Frame::new_checked(&bytes[..]).expect("a whole Ethernet header");
    let header = ethernet::Repr::parse(&frame).unwrap();
    let arp = (header.ethertype == EtherType::Arp)
        .then(|| arp::Repr::parse(&arp::Packet::new_checked(frame.payload()).unwrap()).unwrap());
    Seen {
        from: header.src_addr,
        to: header.dst_addr,
        ethertype: header.ethertype,
        arp,
        why: why.map(|w| w.to_string()),
        bytes,
    }
}

/// Everything `host` has to send at `now`.
fn drain(host: &mut Host, now: Instant) -> Vec<Seen> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(transmit) = host.transmit(now, &mut buf) {
        out.push(read(std::mem::take(&mut buf), transmit.why));
    }
    out
}

/// Moves frames both ways until both hosts are quiet at `now`; returns what crossed, in order.
fn exchange(a: &mut Host, b: &mut Host, now: Instant) -> Vec<Seen> {
    let mut log = Vec::new();
    loop {
        let from_a = drain(a, now);
        let from_b = drain(b, now);
        if from_a.is_empty() && from_b.is_empty() {
            return log;
        }
        for seen in &from_a {
            b.receive(now, &seen.bytes);
        }
        for seen in &from_b {
            a.receive(now, &seen.bytes);
        }
        log.extend(from_a);
        log.extend(from_b);
    }
}

#[test]
fn the_first_frame_is_a_gratuitous_arp() {
    let mut a = ethernet_host("10.77.0.2/24", 1);
    let sent = drain(&mut a, Instant::ZERO);
    assert_eq!(sent.len(), 1);
    let announce = sent[0].arp.expect("an ARP packet");
    assert_eq!(sent[0].to, MacAddr::BROADCAST);
    assert_eq!((announce.sender_ip, announce.target_ip), (A, A));
    assert_eq!(announce.operation, arp::Operation::Request);
    assert_eq!(a.mac(), Some(Config::mac_for(A)));
    assert_eq!(
        sent[0].why.as_deref(),
        Some("gratuitous ARP: the interface is up, announcing our address at 02:00:0a:4d:00:02")
    );
}

#[test]
fn arp_resolves_then_tcp_talks_in_frames() {
    let mut a = ethernet_host("10.77.0.2/24", 1);
    let mut b = ethernet_host("10.77.0.1/24", 2);
    let now = Instant::ZERO;
    // The announcements cross: each host only updates a sender it already knows, so neither
    // learns the other from them (RFC 826's merge rule).
    exchange(&mut a, &mut b, now);
    assert!(a.neighbours(now).is_empty());

    b.tcp_listen(SocketAddrV4::new(B, 80), None).unwrap();
    let id = a.tcp_connect(now, SocketAddrV4::new(B, 80)).unwrap();
    let log = exchange(&mut a, &mut b, now);

    // Who has 10.77.0.1? 10.77.0.1 is at ...; then the SYN, framed to B's MAC.
    let request = log[0].arp.expect("first an ARP request");
    assert_eq!((log[0].to, request.target_ip), (MacAddr::BROADCAST, B));
    assert_eq!(
        log[0].why.as_deref(),
        Some("who has 10.77.0.1? the next hop's MAC is unknown; 1 packet waits for the answer")
    );
    let reply = log[1].arp.expect("then B's answer");
    assert_eq!(reply.operation, arp::Operation::Reply);
    assert_eq!(
        (log[1].to, reply.sender_mac),
        (Config::mac_for(A), Config::mac_for(B))
    );
    assert_eq!(
        log[1].why.as_deref(),
        Some("the answer to 10.77.0.2: our MAC address")
    );
    assert_eq!(log[2].ethertype, EtherType::Ipv4);
    assert_eq!(
        (log[2].from, log[2].to),
        (Config::mac_for(A), Config::mac_for(B))
    );
    assert!(log[2].why.as_deref().unwrap_or("").contains("SYN"));
    assert!(log[3..].iter().all(|s| s.ethertype == EtherType::Ipv4));

    assert!(matches!(
        a.tcp_poll_established(&mut cx(), id),
        Poll::Ready(Ok(()))
    ));
    let Poll::Ready(Ok((server, _))) = b.tcp_poll_accept(&mut cx(), 80) else {
        panic!("B accepted nothing");
    };
    assert!(matches!(
        a.tcp_poll_write(&mut cx(), id, b"hello, frames"),
        Poll::Ready(Ok(13))
    ));
    exchange(&mut a, &mut b, now);
    let mut buf = [0; 64];
    assert!(matches!(
        b.tcp_poll_read(&mut cx(), server, &mut buf),
        Poll::Ready(Ok(13))
    ));
    assert_eq!(&buf[..13], b"hello, frames");

    // Both learned the other: A from the answer, B from A's request, which was for it.
    let table = a.neighbours(now);
    assert_eq!(table.len(), 1);
    assert_eq!(
        (table[0].ip, table[0].state),
        (B.into(), NeighbourState::Reachable)
    );
    assert_eq!(table[0].mac, Some(Config::mac_for(B)));
    // B learned A from A's request (STALE, then DELAY once B answered with its SYN-ACK); A's
    // ACK of that SYN-ACK showed A hears B, which makes the entry REACHABLE with no probe.
    let table = b.neighbours(now);
    assert_eq!(
        (table[0].ip, table[0].state),
        (A.into(), NeighbourState::Reachable)
    );
    let later = now + Duration::from_secs(6);
    let log = exchange(&mut a, &mut b, later);
    let probes: Vec<_> = log.iter().filter(|s| s.arp.is_some()).collect();
    assert!(probes.is_empty(), "no ARP probe: {probes:#?}");
    let stats = a.stats();
    assert_eq!((stats.arp.sent, stats.neighbours.requests), (2, 1));
    assert_eq!((stats.neighbours.held, stats.neighbours.released), (1, 1));
}

/// RFC 1122 2.3.2.1: the request is repeated at most once a second; after the third goes
/// unanswered, the connect fails with "host unreachable", seconds in, not after the SYN's
/// two minutes of retries.
#[test]
fn a_connect_to_a_silent_neighbour_fails_with_host_unreachable_after_three_requests() {
    let mut a = ethernet_host("10.77.0.2/24", 1);
    drain(&mut a, Instant::ZERO);
    let id = a
        .tcp_connect(Instant::ZERO, SocketAddrV4::new(SILENT, 80))
        .unwrap();
    let mut requests = Vec::new();
    let mut now = Instant::ZERO;
    let result = loop {
        for seen in drain(&mut a, now) {
            let arp = seen.arp.expect("only ARP leaves: the SYN waits");
            assert_eq!(arp.target_ip, SILENT);
            requests.push(now);
        }
        if let Poll::Ready(result) = a.tcp_poll_established(&mut cx(), id) {
            break result;
        }
        now = a.poll_at().expect("a timer runs while connecting");
        assert!(
            now < Instant::ZERO + Duration::from_secs(10),
            "still waiting at {now:?}"
        );
    };
    let err = result.expect_err("nobody answered");
    assert_eq!(err.kind(), io::ErrorKind::HostUnreachable);
    let secs: Vec<u64> = requests
        .iter()
        .map(|t| t.since_origin().as_secs())
        .collect();
    assert_eq!(secs, [0, 1, 2], "one request a second, three in all");
    assert_eq!(now.since_origin(), Duration::from_secs(3));
    let stats = a.stats();
    assert_eq!(stats.neighbours.failed, 1);
    assert!(a.neighbours(now).is_empty());
}

#[test]
fn a_connected_udp_socket_hears_that_its_neighbour_is_unreachable() {
    let mut a = ethernet_host("10.77.0.2/24", 1);
    let socket = a.udp_bind(SocketAddrV4::new(A, 5000)).unwrap();
    let peer = SocketAddrV4::new(SILENT, 7);
    a.udp_connect(socket, peer).unwrap();
    assert!(a
        .udp_poll_send_to(&mut cx(), socket, b"anyone?", peer)
        .is_ready());
    for s in 0..=3 {
        drain(&mut a, Instant::ZERO + Duration::from_secs(s));
    }
    let mut buf = [0; 16];
    let Poll::Ready(Err(err)) = a.udp_poll_recv_from(&mut cx(), socket, &mut buf) else {
        panic!("the error should be waiting");
    };
    assert_eq!(err.kind(), io::ErrorKind::HostUnreachable);
    assert!(err.to_string().contains("no answer to ARP"), "{err}");

    // Again, and this time the next send hears it, once.
    assert!(a
        .udp_poll_send_to(&mut cx(), socket, b"still there?", peer)
        .is_ready());
    for s in 4..=7 {
        drain(&mut a, Instant::ZERO + Duration::from_secs(s));
    }
    let Poll::Ready(Err(err)) = a.udp_poll_send_to(&mut cx(), socket, b"?", peer) else {
        panic!("the send should fail");
    };
    assert_eq!(err.kind(), io::ErrorKind::HostUnreachable);
    assert!(matches!(
        a.udp_poll_send_to(&mut cx(), socket, b"?", peer),
        Poll::Ready(Ok(1))
    ));
}

#[test]
fn off_our_network_packets_go_to_the_gateway_or_fail_at_once_without_one() {
    let far = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 7), 80);
    let mut a = ethernet_host("10.77.0.2/24", 1);
    drain(&mut a, Instant::ZERO);
    let id = a.tcp_connect(Instant::ZERO, far).unwrap();
    assert!(drain(&mut a, Instant::ZERO).is_empty());
    let Poll::Ready(Err(err)) = a.tcp_poll_established(&mut cx(), id) else {
        panic!("no gateway: the connect fails at once");
    };
    assert_eq!(err.kind(), io::ErrorKind::NetworkUnreachable);
    assert_eq!(a.stats().ethernet.dropped.get(DropReason::NoRoute), 1);

    let mut config = Config::new("10.77.0.2/24".parse().unwrap());
    config.medium = Medium::Ethernet;
    config.seed = Some(1);
    config.gateway = Some(B);
    let mut a = Host::new(config);
    drain(&mut a, Instant::ZERO);
    a.tcp_connect(Instant::ZERO, far).unwrap();
    let sent = drain(&mut a, Instant::ZERO);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].arp.map(|r| r.target_ip),
        Some(B),
        "who has the gateway?"
    );
}

/// A request for our address, as the Linux kernel sends it.
fn request_from(sender_ip: Ipv4Addr, sender_mac: MacAddr, target_ip: Ipv4Addr) -> Vec<u8> {
    let repr = arp::Repr {
        operation: arp::Operation::Request,
        sender_mac,
        sender_ip,
        target_mac: MacAddr::UNSPECIFIED,
        target_ip,
    };
    let mut frame = vec![0; ethernet::HEADER_LEN + arp::HEADER_LEN];
    ethernet::Repr {
        dst_addr: MacAddr::BROADCAST,
        src_addr: sender_mac,
        ethertype: EtherType::Arp,
    }
    .emit(&mut frame);
    repr.emit(&mut frame[ethernet::HEADER_LEN..]);
    // Linux pads ARP frames to Ethernet's 60-byte minimum.
    frame.resize(60, 0);
    frame
}

#[test]
fn a_request_for_us_is_answered_and_one_for_another_host_is_not() {
    let mut a = ethernet_host("10.77.0.2/24", 1);
    drain(&mut a, Instant::ZERO);
    let kernel = MacAddr::new([0x9a, 0x3c, 0, 0, 0, 0x11]);
    a.receive(Instant::ZERO, &request_from(B, kernel, A));
    let sent = drain(&mut a, Instant::ZERO);
    assert_eq!(sent.len(), 1);
    let reply = sent[0].arp.unwrap();
    assert_eq!(sent[0].to, kernel);
    assert_eq!(reply.operation, arp::Operation::Reply);
    assert_eq!((reply.sender_ip, reply.sender_mac), (A, Config::mac_for(A)));
    assert_eq!((reply.target_ip, reply.target_mac), (B, kernel));
    assert_eq!(a.neighbours(Instant::ZERO)[0].state, NeighbourState::Stale);

    a.receive(Instant::ZERO, &request_from(B, kernel, SILENT));
    assert!(drain(&mut a, Instant::ZERO).is_empty());
}

#[test]
fn a_flood_of_requests_from_made_up_senders_stays_within_the_cache_bound() {
    let mut a = ethernet_host("10.77.0.2/24", 1);
    drain(&mut a, Instant::ZERO);
    let mut rng = fastrand::Rng::with_seed(3);
    let (mut replies, mut answerable) = (0usize, 0u64);
    for n in 0..5_000u64 {
        let now = Instant::from_micros(n * 100);
        let sender = Ipv4Addr::from(rng.u32(..));
        let mut mac = [0u8; 6];
        rng.fill(&mut mac);
        mac[0] &= 0xfe; // unicast
        a.receive(now, &request_from(sender, MacAddr::new(mac), A));
        replies += drain(&mut a, now).len();
        // No host may have a multicast or the broadcast address: such a sender is ignored.
        if !sender.is_multicast() && !sender.is_broadcast() && !sender.is_unspecified() {
            answerable += 1;
        }
    }
    let table = a.neighbours(Instant::from_micros(500_000));
    assert!(table.len() <= 256, "{} entries", table.len());
    assert_eq!(
        a.stats().neighbours.evicted,
        answerable - 256,
        "each sender learned past the bound pushed one out"
    );
    assert_eq!(
        replies as u64, answerable,
        "every request from a possible host is answered"
    );
}

#[test]
fn frames_for_others_and_unknown_ethertypes_are_counted_not_read() {
    let mut a = ethernet_host("10.77.0.2/24", 1);
    let mut frame = request_from(B, MacAddr::new([2, 0, 0, 0, 0, 1]), A);
    frame[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0x99]);
    a.receive(Instant::ZERO, &frame);
    frame[..6].copy_from_slice(&MacAddr::BROADCAST.octets());
    frame[12..14].copy_from_slice(&[0x86, 0xdd]);
    a.receive(Instant::ZERO, &frame);
    a.receive(Instant::ZERO, &frame[..10]);
    let stats = a.stats().ethernet;
    assert_eq!(stats.dropped.get(DropReason::NotForUs), 1);
    assert_eq!(stats.dropped.get(DropReason::UnknownProtocol), 1);
    assert_eq!(stats.dropped.get(DropReason::Truncated), 1);
    assert_eq!(stats.received, 3);
}

/// With IPv6 on, the host checks its two IPv6 addresses (link-local and configured) after the
/// gratuitous ARP, and the check's end is one of its deadlines.
#[test]
fn ipv6_addresses_are_checked_before_use() {
    let mut config = Config::new("10.77.0.2/24".parse().unwrap());
    config.seed = Some(1);
    config.medium = Medium::Ethernet;
    let mut a = Host::new(config.with_ipv6("fd77::2/64".parse().unwrap()));
    let sent = drain(&mut a, Instant::ZERO);
    let kinds: Vec<EtherType> = sent.iter().map(|s| s.ethertype).collect();
    assert_eq!(kinds, [EtherType::Arp, EtherType::Ipv6, EtherType::Ipv6]);
    assert_eq!(
        sent[2].why.as_deref(),
        Some("duplicate address detection for fd77::2 (tentative): does another host have it?")
    );
    let second = Instant::ZERO + Duration::from_secs(1);
    assert_eq!(a.poll_at(), Some(second));
    assert!(drain(&mut a, second).is_empty());
    assert_eq!(a.poll_at(), None);
    let stats = a.stats();
    assert_eq!(
        (stats.dad.checked, stats.dad.passed, stats.ndp.sent),
        (2, 2, 2)
    );
}

fn dual_ethernet_host(v4: &str, v6: &str, seed: u64) -> Host {
    let mut config = Config::new(v4.parse().unwrap()).with_ipv6(v6.parse().unwrap());
    config.seed = Some(seed);
    config.medium = Medium::Ethernet;
    Host::new(config)
}

/// After detection (1 s), neighbour discovery finds the peer's MAC address and TCP runs over
/// IPv6 in frames; a packet sent to a tentative address before then is not taken.
#[test]
fn after_detection_ndp_resolves_and_tcp_runs_over_ipv6_in_frames() {
    let mut a = dual_ethernet_host("10.77.0.2/24", "fd77::2/64", 1);
    let mut b = dual_ethernet_host("10.77.0.1/24", "fd77::1/64", 2);
    let t0 = Instant::ZERO;
    exchange(&mut a, &mut b, t0);
    // Still tentative: a ping to fd77::2 goes unanswered, and B has no source for it yet.
    let a6: std::net::Ipv6Addr = "fd77::2".parse().unwrap();
    assert!(b.ping_send(t0, a6.into(), 1, b"early").is_err());
    let t1 = t0 + Duration::from_secs(1);
    exchange(&mut a, &mut b, t1);
    let stats = a.stats();
    assert_eq!((stats.dad.passed, stats.dad.duplicates), (2, 0));
    a.tcp_listen("[::]:80".parse::<std::net::SocketAddr>().unwrap(), None)
        .unwrap();
    let client = b
        .tcp_connect(t1, "[fd77::2]:80".parse::<std::net::SocketAddr>().unwrap())
        .unwrap();
    let crossed = exchange(&mut a, &mut b, t1);
    assert!(b.tcp_poll_established(&mut cx(), client).is_ready());
    let solicitations = crossed
        .iter()
        .filter(|s| {
            s.why
                .as_deref()
                .is_some_and(|w| w.contains("neighbour solicitation"))
        })
        .count();
    assert!(solicitations >= 1, "B asked for A's MAC address by NDP");
    let table = b.neighbours(t1);
    assert!(
        table
            .iter()
            .any(|n| n.ip == std::net::IpAddr::V6(a6) && n.mac == a.mac()),
        "{table:?}"
    );
    b.ping_send(t1, a6.into(), 2, b"ping6 in frames").unwrap();
    exchange(&mut a, &mut b, t1);
    assert!(b.ping_poll_reply(&mut cx(), 2).is_ready());
}
