//! A packet that comes in parts ([`Host::receive_parts`]): a TCP segment over IPv4 or IPv6
//! goes up as it came, its data not joined to its headers, and is checked as carefully as a
//! whole one; anything else is joined and taken the usual way.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::{Config, Host};
use crate::device::testing::icmp_echo_request;
use crate::device::{PacketInfo, Tail};
use crate::stats::DropReason;
use crate::tcp::ConnId;
use crate::time::Instant;

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// A client connected to a server: the client, its connection, the server and the
/// connection it accepted.
fn connected() -> (Host, ConnId, Host, ConnId) {
    connected_over(false)
}

/// [`connected`], over IPv6 when `v6` (fd00::1 to fd00::2).
fn connected_over(v6: bool) -> (Host, ConnId, Host, ConnId) {
    let [mut client, mut server] = [(CLIENT, 1), (SERVER, 2)].map(|(addr, n)| {
        let mut config = Config::new(format!("{addr}/24").parse().unwrap())
            .with_ipv6(format!("fd00::{n}/64").parse().unwrap());
        config.mtu = 9000;
        Host::new(config)
    });
    let mut cx = Context::from_waker(Waker::noop());
    let now = Instant::ZERO;
    let addr: SocketAddr = match v6 {
        true => "[fd00::2]:80".parse().unwrap(),
        false => SocketAddrV4::new(SERVER, 80).into(),
    };
    server.tcp_listen(addr, None).unwrap();
    let conn = client.tcp_connect(now, addr).unwrap();
    let mut packet = Vec::new();
    for _ in 0..2 {
        while client.transmit(now, &mut packet).is_some() {
            server.receive(now, &packet);
        }
        while server.transmit(now, &mut packet).is_some() {
            client.receive(now, &packet);
        }
    }
    let Poll::Ready(Ok((accepted, _))) = server.tcp_poll_accept(&mut cx, 80) else {
        panic!("the handshake completed");
    };
    (client, conn, server, accepted)
}

/// A client connected to a server (accepted), and the client's next packet in parts: 8,000
/// bytes of data after its headers.
fn connected_with_a_segment_in_parts() -> (Host, ConnId, Vec<u8>, Tail) {
    let (mut client, conn, server, accepted) = connected();
    let mut cx = Context::from_waker(Waker::noop());
    let data: Vec<u8> = (0..8000u32).map(|i| (i % 249) as u8).collect();
    assert!(client.tcp_poll_write(&mut cx, conn, &data).is_ready());
    let mut packet = Vec::new();
    let transmit = client.transmit_parts(Instant::ZERO, &mut packet).unwrap();
    assert_eq!(
        packet.len(),
        20 + 32,
        "the IPv4 and TCP headers (with timestamps)"
    );
    assert_eq!(transmit.tail.single().map(Bytes::len), Some(8000));
    (server, accepted, packet, transmit.tail)
}

fn read_all(server: &mut Host, conn: ConnId) -> Vec<u8> {
    let mut cx = Context::from_waker(Waker::noop());
    let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
    while let Poll::Ready(Ok(n @ 1..)) = server.tcp_poll_read(&mut cx, conn, &mut buf) {
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[test]
fn a_segment_in_parts_goes_up_unjoined_and_reads_back_whole() {
    let (mut server, conn, head, tail) = connected_with_a_segment_in_parts();
    let before = server.stats();
    server.receive_parts(Instant::ZERO, &head, &tail, PacketInfo::PLAIN);
    let after = server.stats();
    assert_eq!(after.ip.delivered, before.ip.delivered + 1);
    assert_eq!(after.tcp.received, before.tcp.received + 1);
    let mut whole = Vec::new();
    tail.append_to(&mut whole);
    assert!(read_all(&mut server, conn) == whole);
}

#[test]
fn shared_bytes_written_go_out_and_are_read_as_the_writers_memory() {
    for v6 in [false, true] {
        shared_bytes_go_out_and_are_read_as_the_writers_memory(v6);
    }
}

/// Over IPv6 when `v6`: the segment goes up in its parts, unjoined, as over IPv4.
fn shared_bytes_go_out_and_are_read_as_the_writers_memory(v6: bool) {
    let (mut client, conn, mut server, accepted) = connected_over(v6);
    let mut cx = Context::from_waker(Waker::noop());
    let data = Bytes::from((0..8000u32).map(|i| (i % 241) as u8).collect::<Vec<u8>>());
    let mut left = data.clone();
    let written = client.tcp_poll_write_shared(&mut cx, conn, &mut left);
    assert!(matches!(written, Poll::Ready(Ok(8000))), "{written:?}");
    assert!(left.is_empty(), "taken off the front of the caller's bytes");
    let mut head = Vec::new();
    let transmit = client.transmit_parts(Instant::ZERO, &mut head).unwrap();
    assert_eq!(
        head.len(),
        if v6 { 40 } else { 20 } + 32,
        "IP and TCP headers"
    );
    let tail = transmit.tail.single().expect("the data in one piece");
    assert_eq!(
        tail.as_ptr(),
        data.as_ptr(),
        "the segment carries the writer's memory, not a copy"
    );
    server.receive_parts(Instant::ZERO, &head, &transmit.tail, PacketInfo::PLAIN);
    // Read as shared bytes: still the writer's memory, on the other host, never copied.
    let read = server.tcp_poll_read_shared(&mut cx, accepted, usize::MAX);
    let Poll::Ready(Ok(chunk)) = read else {
        panic!("readable: {read:?}");
    };
    assert_eq!((chunk.as_ptr(), chunk.len()), (data.as_ptr(), data.len()));
    assert!(server
        .tcp_poll_read_shared(&mut cx, accepted, 1)
        .is_pending());
}

#[test]
fn a_corrupted_byte_in_the_data_fails_the_checksum() {
    let (mut server, conn, head, tail) = connected_with_a_segment_in_parts();
    let mut data = Vec::new();
    tail.append_to(&mut data);
    data[4321] ^= 0x10;
    let corrupted = Tail::new(Bytes::from(data), Bytes::new());
    server.receive_parts(Instant::ZERO, &head, &corrupted, PacketInfo::PLAIN);
    assert_eq!(server.stats().tcp.dropped.get(DropReason::BadChecksum), 1);
    assert!(read_all(&mut server, conn).is_empty());
}

#[test]
fn headers_for_another_host_are_dropped_by_ip() {
    let (mut server, conn, mut head, tail) = connected_with_a_segment_in_parts();
    let before = server.stats();
    head[19] = 99; // the destination is 10.0.0.99 now (and the header checksum wrong)
    server.receive_parts(Instant::ZERO, &head, &tail, PacketInfo::PLAIN);
    let after = server.stats();
    assert_eq!(after.ip.dropped.total(), before.ip.dropped.total() + 1);
    assert_eq!(after.tcp.received, before.tcp.received);
    assert!(read_all(&mut server, conn).is_empty());
}

#[test]
fn data_in_two_pieces_is_joined_and_taken_as_a_whole_packet() {
    let (mut server, conn, head, tail) = connected_with_a_segment_in_parts();
    let mut data = Vec::new();
    tail.append_to(&mut data);
    let data = Bytes::from(data);
    let two = Tail::new(data.slice(..3000), data.slice(3000..));
    server.receive_parts(Instant::ZERO, &head, &two, PacketInfo::PLAIN);
    assert!(read_all(&mut server, conn) == data);
}

#[test]
fn a_packet_that_is_not_tcp_is_joined_and_answered() {
    let (mut server, _, _, _) = connected_with_a_segment_in_parts();
    let ping = icmp_echo_request(CLIENT, SERVER, 7, 1, &[0x5a; 100]);
    let tail = Tail::new(Bytes::copy_from_slice(&ping[30..]), Bytes::new());
    server.receive_parts(Instant::ZERO, &ping[..30], &tail, PacketInfo::PLAIN);
    let mut reply = Vec::new();
    let mut replies = 0;
    while server.transmit(Instant::ZERO, &mut reply).is_some() {
        // An echo reply: ICMP type 0, the same data.
        if reply[9] == 1 && reply[20] == 0 {
            assert_eq!(&reply[28..], &ping[28..]);
            replies += 1;
        }
    }
    assert_eq!(replies, 1);
}

/// A host at the addresses `offload::tests::tcp_packet` sends to (IPv4 and IPv6), listening
/// on the port it sends to; the same every time (its numbers come from one seed).
fn listening() -> Host {
    let mut config =
        Config::new("10.77.0.1/24".parse().unwrap()).with_ipv6("fd77::1/64".parse().unwrap());
    config.seed = Some(0x7061_7274);
    let mut host = Host::new(config);
    // On [::]: IPv6, and IPv4 too, as on Linux.
    let any = SocketAddrV6::new(std::net::Ipv6Addr::UNSPECIFIED, 40_000, 0, 0);
    host.tcp_listen(any, None).unwrap();
    host
}

proptest::proptest! {
    /// Whatever the packet and wherever it is cut, taking it in parts has the effect taking
    /// it whole has: the same counters and the same answers. Packets are made to reach TCP
    /// (a SYN to the listener, data it has no connection for), or are random bytes, a byte
    /// flipped now and then; the cut is at the end of the headers (the way the stack's own
    /// parts come) or anywhere, and the data may be in two pieces.
    #[test]
    fn parts_are_taken_as_the_joined_packet_would_be(
        kind in 0u8..3,
        v6 in proptest::prelude::any::<bool>(),
        payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6000),
        at_headers in proptest::prelude::any::<bool>(),
        cut in proptest::prelude::any::<proptest::sample::Index>(),
        cut2 in proptest::prelude::any::<proptest::sample::Index>(),
        flip in proptest::option::of((proptest::prelude::any::<proptest::sample::Index>(), 1u8..)),
    ) {
        use crate::device::offload::tests::tcp_packet;
        use crate::tcp::Flags;
        let mut packet = match kind {
            0 => tcp_packet(v6, 0, &payload, Flags::SYN, false),
            1 => tcp_packet(v6, 0, &payload, Flags::ACK | Flags::PSH, false),
            _ => payload.clone(),
        };
        // The end of the headers: 20 bytes of IPv4 or 40 of IPv6, then the TCP header's own
        // length.
        let ip_len = if v6 { 40 } else { 20 };
        let headers = packet.get(ip_len + 12).map_or(0, |offset| ip_len + usize::from(offset >> 4) * 4);
        if let (Some((at, bits)), false) = (flip, packet.is_empty()) {
            let at = at.index(packet.len());
            packet[at] ^= bits;
        }
        let at = match at_headers && kind < 2 {
            true => headers.min(packet.len()),
            false => cut.index(packet.len() + 1),
        };
        let (head, data) = packet.split_at(at);
        let data = Bytes::copy_from_slice(data);
        // One piece or two, half the time each.
        let middle = cut2.index(data.len() + 1);
        let tail = match middle % 2 {
            0 => Tail::new(data.clone(), Bytes::new()),
            _ => Tail::new(data.slice(..middle), data.slice(middle..)),
        };
        let (mut whole, mut parts) = (listening(), listening());
        whole.receive(Instant::ZERO, &packet);
        parts.receive_parts(Instant::ZERO, head, &tail, PacketInfo::PLAIN);
        proptest::prop_assert_eq!(whole.stats(), parts.stats());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        loop {
            let (sent_a, sent_b) = (
                whole.transmit(Instant::ZERO, &mut a).is_some(),
                parts.transmit(Instant::ZERO, &mut b).is_some(),
            );
            proptest::prop_assert_eq!(sent_a, sent_b);
            if !sent_a {
                break;
            }
            proptest::prop_assert_eq!(&a, &b);
        }
    }
}
