//! Path MTU discovery on virtual time: two hosts on a link of MTU 1500 with a router between
//! them whose next link carries only 1000 bytes. The router drops what does not fit and says
//! so, as ICMP "fragmentation needed" or ICMPv6 "packet too big"; the sender's segments shrink,
//! the stream arrives whole, and ten minutes later the segments grow back.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Config, Host};
use crate::ip::header as ipv4;
use crate::ip::icmp::header::{self as icmp, DstUnreachable};
use crate::ip::icmpv6;
use crate::ip::ipv6;
use crate::ip::IpProtocol;
use crate::time::Instant;

/// The router's next link, over IPv4; over IPv6 it is 1280, the least any IPv6 link carries.
const NARROW: usize = 1000;
const NARROW6: usize = 1280;

fn narrow(packet: &[u8]) -> usize {
    if packet[0] >> 4 == 6 {
        NARROW6
    } else {
        NARROW
    }
}
const ROUTER4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 254);
const ROUTER6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0xfe);

fn host(v4: &str, v6: &str, seed: u64) -> Host {
    let mut config = Config::new(v4.parse().unwrap()).with_ipv6(v6.parse().unwrap());
    config.seed = Some(seed);
    Host::new(config)
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// The router's answer to `packet`, too big for its next link, as the router would send it.
fn too_big(packet: &[u8]) -> Vec<u8> {
    if packet[0] >> 4 == 6 {
        let view = ipv6::Packet::new_checked(packet).unwrap();
        let message = icmpv6::Repr::PacketTooBig {
            mtu: NARROW6 as u32,
            invoking: icmpv6::quote(packet),
        };
        let header = ipv6::Repr {
            src_addr: ROUTER6,
            dst_addr: view.src_addr(),
            next_header: IpProtocol::Icmpv6.into(),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
            payload_len: message.buffer_len(),
        };
        let mut bytes = vec![0; 40 + message.buffer_len()];
        header.emit(&mut bytes);
        message.emit(&mut bytes[40..], ROUTER6, view.src_addr());
        return bytes;
    }
    let view = ipv4::Packet::new_checked(packet).unwrap();
    let message = icmp::Repr::DstUnreachable {
        reason: DstUnreachable::FragRequired {
            next_hop_mtu: NARROW as u16,
        },
        invoking: &packet[..28],
    };
    let header = ipv4::Repr {
        src_addr: ROUTER4,
        dst_addr: view.src_addr(),
        protocol: IpProtocol::Icmp,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_fragment: false,
        more_fragments: false,
        fragment_offset: 0,
        payload_len: message.buffer_len(),
    };
    let mut bytes = vec![0; header.total_len()];
    header.emit(&mut bytes);
    message.emit(&mut bytes[20..]);
    bytes
}

/// Moves packets both ways at `now` through the router; returns how many it refused.
fn exchange(a: &mut Host, b: &mut Host, now: Instant) -> usize {
    let mut refused = 0;
    loop {
        let (from_a, from_b) = (drain(a, now), drain(b, now));
        if from_a.is_empty() && from_b.is_empty() {
            return refused;
        }
        refused += deliver(a, b, now, from_a) + deliver(b, a, now, from_b);
    }
}

fn drain(host: &mut Host, now: Instant) -> Vec<Vec<u8>> {
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    while host.transmit(now, &mut buf).is_some() {
        out.push(std::mem::take(&mut buf));
    }
    out
}

/// Packets from `from` cross the router to `to`, or are refused with the router's error.
fn deliver(from: &mut Host, to: &mut Host, now: Instant, packets: Vec<Vec<u8>>) -> usize {
    let mut refused = 0;
    for packet in packets {
        if packet.len() > narrow(&packet) {
            refused += 1;
            from.receive(now, &too_big(&packet));
        } else {
            to.receive(now, &packet);
        }
    }
    refused
}

fn stream_through_the_router(server: SocketAddr) {
    let mut a = host("10.77.0.2/24", "fd77::2/64", 1);
    let mut b = host("10.77.0.1/24", "fd77::1/64", 2);
    a.tcp_listen(SocketAddr::new(server.ip(), 80), None)
        .unwrap();
    let t0 = Instant::ZERO;
    let client = b.tcp_connect(t0, server).unwrap();
    exchange(&mut a, &mut b, t0);
    let Poll::Ready(Ok((conn, _))) = a.tcp_poll_accept(&mut cx(), 80) else {
        panic!("accepted");
    };
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let (mut written, mut got, mut refused) = (0, Vec::new(), 0);
    let mut now = t0;
    while got.len() < data.len() && now < Instant::from_secs(60) {
        if let Poll::Ready(Ok(n)) = b.tcp_poll_write(&mut cx(), client, &data[written..]) {
            written += n;
        }
        refused += exchange(&mut a, &mut b, now);
        let mut buf = [0u8; 8192];
        while let Poll::Ready(Ok(n @ 1..)) = a.tcp_poll_read(&mut cx(), conn, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        now += Duration::from_millis(10);
    }
    assert!(
        got == data,
        "the stream arrives whole: {} of {} bytes; b: {}",
        got.len(),
        data.len(),
        b.stats()
    );
    assert!(refused >= 1, "the first full-size segment was refused");
    assert!(refused < 40, "then the segments fit: {refused} refused");
    assert!(
        now < Instant::from_secs(5),
        "no timeout was needed: {now:?}"
    );
    let header = crate::ip::layer::IpLayer::header_len(server.ip());
    let narrow = if server.is_ipv6() { NARROW6 } else { NARROW };
    assert_eq!(b.tcp.send_mss(), vec![narrow - header - 20]);
    assert_eq!(b.ip.pmtu.get(server.ip()), narrow);
    // Ten minutes on, the learned value ages out and the segments grow back.
    let later = now + crate::ip::pmtu::AGE;
    b.transmit(later, &mut Vec::new());
    assert_eq!(b.ip.pmtu.get(server.ip()), 1500);
    assert_eq!(b.tcp.send_mss(), vec![1500 - header - 20]);
}

#[test]
fn fragmentation_needed_shrinks_tcp_segments_over_ipv4() {
    stream_through_the_router("10.77.0.2:80".parse().unwrap());
}

#[test]
fn packet_too_big_shrinks_tcp_segments_over_ipv6() {
    stream_through_the_router("[fd77::2]:80".parse().unwrap());
}

/// RFC 5927 4.1: an error quoting a segment that is not in flight is ignored.
#[test]
fn a_forged_report_about_no_segment_in_flight_is_ignored() {
    let mut a = host("10.77.0.2/24", "fd77::2/64", 1);
    let mut b = host("10.77.0.1/24", "fd77::1/64", 2);
    a.tcp_listen("0.0.0.0:80".parse::<SocketAddr>().unwrap(), None)
        .unwrap();
    let t0 = Instant::ZERO;
    b.tcp_connect(t0, "10.77.0.2:80".parse::<SocketAddr>().unwrap())
        .unwrap();
    let mut buf = Vec::new();
    b.transmit(t0, &mut buf).unwrap();
    a.receive(t0, &buf);
    // The SYN again, with a sequence number far from anything sent.
    let mut forged = buf.clone();
    forged[24] ^= 0x80;
    b.receive(t0, &too_big(&forged));
    assert_eq!(b.ip.pmtu.get("10.77.0.2".parse().unwrap()), 1500);
}
