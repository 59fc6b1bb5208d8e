//! Two hosts with IPv4 and IPv6 on a wire of bare IP packets, on virtual time: ICMPv6 echo,
//! UDP and TCP over IPv6 through the same transport code as IPv4, a listener on `[::]` that
//! takes clients of both versions, and the errors IPv6 input answers with.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll, Waker};

use super::{Config, Host};
use crate::ip::icmpv6;
use crate::ip::ipv6;
use crate::stats::DropReason;
use crate::time::Instant;

const A6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const B6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);

fn dual_host(v4: &str, v6: &str, seed: u64) -> Host {
    let mut config = Config::new(v4.parse().unwrap()).with_ipv6(v6.parse().unwrap());
    config.seed = Some(seed);
    Host::new(config)
}

fn pair() -> (Host, Host) {
    (
        dual_host("10.77.0.2/24", "fd77::2/64", 1),
        dual_host("10.77.0.1/24", "fd77::1/64", 2),
    )
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

fn drain(host: &mut Host, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while host.transmit(now, &mut buf).is_some() {
        out.push(std::mem::take(&mut buf));
    }
    out
}

/// Moves packets both ways until both hosts are quiet; returns what crossed.
fn exchange(a: &mut Host, b: &mut Host, now: Instant) -> Vec<Vec<u8>> {
    let mut log = Vec::new();
    loop {
        let (from_a, from_b) = (drain(a, now), drain(b, now));
        if from_a.is_empty() && from_b.is_empty() {
            return log;
        }
        from_a.iter().for_each(|p| b.receive(now, p));
        from_b.iter().for_each(|p| a.receive(now, p));
        log.extend(from_a);
        log.extend(from_b);
    }
}

#[test]
fn addresses_link_local_from_the_mac_and_global() {
    let (a, _) = pair();
    assert_eq!(a.addr6(), Some(A6));
    assert_eq!(a.link_local(), Some("fe80::aff:fe4d:2".parse().unwrap()));
    let v4_only = Host::new(Config::new("10.77.0.2/24".parse().unwrap()));
    assert_eq!(v4_only.addr6(), None);
}

#[test]
fn ping6_is_answered() {
    let (mut a, mut b) = pair();
    let now = Instant::ZERO;
    b.ping_send(now, A6.into(), 7, b"ping over IPv6").unwrap();
    let crossed = exchange(&mut a, &mut b, Instant::from_millis(3));
    assert_eq!(crossed.len(), 2, "a request and its reply");
    let reply = ipv6::Packet::new_checked(&crossed[1][..]).unwrap();
    assert_eq!((reply.src_addr(), reply.dst_addr()), (A6, B6));
    assert_eq!(reply.hop_limit(), 64);
    let rtt = b.ping_poll_reply(&mut cx(), 7);
    assert_eq!(rtt, Poll::Ready(std::time::Duration::from_millis(3)));
    assert_eq!(a.stats().icmpv6.received, 1);
    assert_eq!(a.stats().ipv6.delivered, 1);
}

#[test]
fn tcp_over_ipv6_carries_a_stream_both_ways() {
    let (mut a, mut b) = pair();
    let now = Instant::ZERO;
    a.tcp_listen(SocketAddr::new(A6.into(), 80), None).unwrap();
    let client = b.tcp_connect(now, SocketAddr::new(A6.into(), 80)).unwrap();
    let crossed = exchange(&mut a, &mut b, now);
    let syn = ipv6::Packet::new_checked(&crossed[0][..]).unwrap();
    assert_eq!(
        syn.next_header(),
        ipv6::NextHeader::Protocol(crate::ip::IpProtocol::Tcp)
    );
    // RFC 8200 8.3: the MSS is 20 bytes smaller than over IPv4 on the same MTU.
    let tcp = crate::tcp::header::Packet::new_checked(syn.payload()).unwrap();
    let header = crate::tcp::header::Repr::parse(&tcp, B6, A6).unwrap();
    assert_eq!(header.mss, Some(1440));
    assert!(b.tcp_poll_established(&mut cx(), client).is_ready());
    let Poll::Ready(Ok((server, peer))) = a.tcp_poll_accept(&mut cx(), 80) else {
        panic!("accepted");
    };
    assert_eq!(peer.ip(), IpAddr::V6(B6));
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let mut written = 0;
    let mut got = Vec::new();
    for step in 0..200 {
        if written < data.len() {
            if let Poll::Ready(Ok(n)) = b.tcp_poll_write(&mut cx(), client, &data[written..]) {
                written += n;
            }
        }
        exchange(&mut a, &mut b, Instant::from_millis(step));
        let mut buf = [0u8; 4096];
        while let Poll::Ready(Ok(n @ 1..)) = a.tcp_poll_read(&mut cx(), server, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(got, data);
}

#[test]
fn a_listener_on_the_unspecified_v6_address_takes_both_versions_unless_v6_only() {
    let (mut a, mut b) = pair();
    let now = Instant::ZERO;
    let any6: SocketAddr = "[::]:80".parse().unwrap();
    a.tcp_listen(any6, None).unwrap();
    let v4 = b
        .tcp_connect(now, "10.77.0.2:80".parse::<SocketAddr>().unwrap())
        .unwrap();
    let v6 = b.tcp_connect(now, SocketAddr::new(A6.into(), 80)).unwrap();
    exchange(&mut a, &mut b, now);
    assert!(b.tcp_poll_established(&mut cx(), v4).is_ready());
    assert!(b.tcp_poll_established(&mut cx(), v6).is_ready());
    let mut peers = Vec::new();
    while let Poll::Ready(Ok((_, peer))) = a.tcp_poll_accept(&mut cx(), 80) {
        peers.push(peer.to_string());
    }
    peers.sort();
    // An IPv4 client of an IPv6 socket shows IPv4-mapped, as on Linux.
    assert_eq!(peers.len(), 2);
    assert!(peers[0].starts_with("[::ffff:10.77.0.1]:"), "{peers:?}");
    assert!(peers[1].starts_with("[fd77::1]:"), "{peers:?}");

    let (mut a, mut b) = pair();
    a.tcp_listen_with(
        SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 81),
        true,
        None,
    )
    .unwrap();
    let v4 = b
        .tcp_connect(now, "10.77.0.2:81".parse::<SocketAddr>().unwrap())
        .unwrap();
    exchange(&mut a, &mut b, now);
    match b.tcp_poll_established(&mut cx(), v4) {
        Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused),
        other => panic!("a v6-only listener refuses IPv4: {other:?}"),
    }
    // A listener on 0.0.0.0 takes no IPv6 client.
    let (mut a, mut b) = pair();
    a.tcp_listen("0.0.0.0:82".parse::<SocketAddr>().unwrap(), None)
        .unwrap();
    let v6 = b.tcp_connect(now, SocketAddr::new(A6.into(), 82)).unwrap();
    exchange(&mut a, &mut b, now);
    assert!(matches!(
        b.tcp_poll_established(&mut cx(), v6),
        Poll::Ready(Err(_))
    ));
}

#[test]
fn udp_over_ipv6_and_port_unreachable() {
    let (mut a, mut b) = pair();
    let now = Instant::ZERO;
    let server = a.udp_bind("[::]:7".parse::<SocketAddr>().unwrap()).unwrap();
    let client = b.udp_bind("[::]:0".parse::<SocketAddr>().unwrap()).unwrap();
    let to = SocketAddr::new(A6.into(), 7);
    assert!(b
        .udp_poll_send_to(&mut cx(), client, b"datagram", to)
        .is_ready());
    exchange(&mut a, &mut b, now);
    let mut buf = [0u8; 64];
    let Poll::Ready(Ok((n, from))) = a.udp_poll_recv_from(&mut cx(), server, &mut buf) else {
        panic!("received");
    };
    assert_eq!(&buf[..n], b"datagram");
    assert_eq!(from.ip(), IpAddr::V6(B6));
    // Nobody on port 9: a connected socket hears "connection refused" from ICMPv6.
    b.udp_connect(client, SocketAddr::new(A6.into(), 9))
        .unwrap();
    assert!(b
        .udp_poll_send_to(&mut cx(), client, b"?", SocketAddr::new(A6.into(), 9))
        .is_ready());
    let crossed = exchange(&mut a, &mut b, now);
    let error = ipv6::Packet::new_checked(&crossed[1][..]).unwrap();
    let message = icmpv6::Packet::new_checked(error.payload()).unwrap();
    assert_eq!((message.msg_type(), message.code()), (1, 4));
    match b.udp_poll_recv_from(&mut cx(), client, &mut buf) {
        Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
}

/// An IPv6 packet from `src` to `dst` with `next_header` and `payload`.
fn packet(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload: &[u8]) -> Vec<u8> {
    let repr = ipv6::Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: next_header.into(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
        payload_len: payload.len(),
    };
    let mut bytes = vec![0; 40 + payload.len()];
    repr.emit(&mut bytes);
    bytes[40..].copy_from_slice(payload);
    bytes
}

#[test]
fn an_unknown_next_header_earns_a_parameter_problem_pointing_at_it() {
    let (mut a, _) = pair();
    a.receive(Instant::ZERO, &packet(B6, A6, 253, &[0; 8]));
    let sent = drain(&mut a, Instant::ZERO);
    assert_eq!(sent.len(), 1);
    let error = ipv6::Packet::new_checked(&sent[0][..]).unwrap();
    let message = icmpv6::Packet::new_checked(error.payload()).unwrap();
    assert_eq!(
        (message.msg_type(), message.code(), message.word()),
        (4, 1, 6)
    );
    assert_eq!(error.dst_addr(), B6);
}

#[test]
fn input_drops_what_no_host_may_send_and_counts_why() {
    let (mut a, _) = pair();
    let udp = [0u8; 8];
    for (src, dst, reason) in [
        (B6, "fd77::9".parse().unwrap(), DropReason::NotForUs),
        ("ff02::1".parse().unwrap(), A6, DropReason::BadSource),
        (A6, A6, DropReason::BadSource),
        (
            "::ffff:10.77.0.1".parse().unwrap(),
            A6,
            DropReason::BadSource,
        ),
        (Ipv6Addr::LOCALHOST, A6, DropReason::LoopbackOnWire),
        (Ipv6Addr::UNSPECIFIED, A6, DropReason::BadSource),
    ] {
        let before = a.stats().ipv6.dropped.get(reason);
        a.receive(Instant::ZERO, &packet(src, dst, 17, &udp));
        assert_eq!(
            a.stats().ipv6.dropped.get(reason),
            before + 1,
            "{src} -> {dst}"
        );
    }
    assert!(
        drain(&mut a, Instant::ZERO).is_empty(),
        "no answer to any of them"
    );
}

#[test]
fn a_stack_without_ipv6_refuses_ipv6_sockets_and_packets() {
    let mut a = Host::new(Config::new("10.77.0.2/24".parse().unwrap()));
    let err = a
        .tcp_connect(Instant::ZERO, SocketAddr::new(B6.into(), 80))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NetworkUnreachable);
    assert!(err.to_string().contains("IPv6 is off"), "{err}");
    a.receive(Instant::ZERO, &packet(B6, A6, 17, &[0; 8]));
    assert_eq!(a.stats().ip.dropped.get(DropReason::BadVersion), 1);
}

/// `ping -6 -s 4000`: the request goes in fragments with a Fragment header, is joined, and the
/// 4008-byte reply goes back in fragments too.
#[test]
fn a_large_ping6_goes_in_fragments_both_ways() {
    let (mut a, mut b) = pair();
    let data: Vec<u8> = (0..4000u32).map(|i| (i * 7) as u8).collect();
    b.ping_send(Instant::ZERO, A6.into(), 3, &data).unwrap();
    let crossed = exchange(&mut a, &mut b, Instant::ZERO);
    assert_eq!(crossed.len(), 6, "three fragments each way");
    for packet in &crossed {
        let view = ipv6::Packet::new_checked(&packet[..]).unwrap();
        assert_eq!(view.next_header(), ipv6::NextHeader::Fragment);
        assert!(packet.len() <= 1500);
    }
    assert!(b.ping_poll_reply(&mut cx(), 3).is_ready());
    assert_eq!(a.stats().ipv6.delivered, 1, "one packet, reassembled");
}

#[test]
fn an_8000_byte_udp_datagram_over_ipv6_arrives_whole() {
    let (mut a, mut b) = pair();
    let server = a.udp_bind("[::]:7".parse::<SocketAddr>().unwrap()).unwrap();
    let client = b.udp_bind("[::]:0".parse::<SocketAddr>().unwrap()).unwrap();
    let data: Vec<u8> = (0..8000u32).map(|i| (i * 13) as u8).collect();
    let to = SocketAddr::new(A6.into(), 7);
    assert!(b.udp_poll_send_to(&mut cx(), client, &data, to).is_ready());
    let crossed = exchange(&mut a, &mut b, Instant::ZERO);
    assert_eq!(
        crossed.len(),
        6,
        "8048 bytes in six fragments of at most 1448 bytes of data"
    );
    let mut buf = vec![0u8; 9000];
    let Poll::Ready(Ok((n, _))) = a.udp_poll_recv_from(&mut cx(), server, &mut buf) else {
        panic!("received");
    };
    assert!(buf[..n] == data[..], "the datagram arrives whole");
}

/// A fragment alone: after 60 seconds the sender hears "fragment reassembly time exceeded".
#[test]
fn a_lone_first_fragment_times_out_with_icmpv6_time_exceeded() {
    let (mut a, mut b) = pair();
    let data = vec![1u8; 3000];
    b.ping_send(Instant::ZERO, A6.into(), 4, &data).unwrap();
    let mut buf = Vec::new();
    b.transmit(Instant::ZERO, &mut buf).unwrap();
    a.receive(Instant::ZERO, &buf);
    assert!(drain(&mut a, Instant::from_secs(59)).is_empty());
    assert_eq!(a.poll_at(), Some(Instant::from_secs(60)));
    let sent = drain(&mut a, Instant::from_secs(60));
    assert_eq!(sent.len(), 1);
    let error = ipv6::Packet::new_checked(&sent[0][..]).unwrap();
    let message = icmpv6::Packet::new_checked(error.payload()).unwrap();
    assert_eq!((message.msg_type(), message.code()), (3, 1));
    assert_eq!(a.stats().ipv6.dropped.get(DropReason::ReassemblyTimeout), 1);
}

#[test]
fn a_v6_only_udp_socket_takes_no_ipv4_datagram() {
    let (mut a, mut b) = pair();
    a.udp_bind_with("[::]:7".parse().unwrap(), true).unwrap();
    let client = b
        .udp_bind("0.0.0.0:0".parse::<SocketAddr>().unwrap())
        .unwrap();
    let to: SocketAddr = "10.77.0.2:7".parse().unwrap();
    assert!(b.udp_poll_send_to(&mut cx(), client, b"v4", to).is_ready());
    exchange(&mut a, &mut b, Instant::ZERO);
    assert_eq!(a.stats().udp.dropped.get(DropReason::NoSocket), 1);
    assert_eq!(
        a.stats().icmp.sent,
        1,
        "port unreachable, as for a closed port"
    );
}
