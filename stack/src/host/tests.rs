//! The core on virtual time: packets in, packets out, no tokio, no link.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Config, Host};
use crate::ip::header::{self as ip_header, IpProtocol};
use crate::ip::icmp::header::{self as icmp, DstUnreachable};
use crate::ip::icmp::{RateLimit, Why as IcmpWhy};
use crate::link::Reason;
use crate::stats::DropReason;
use crate::time::Instant;
use crate::udp::header as udp;

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

fn host() -> Host {
    let mut config = Config::new("10.77.0.2/24".parse().unwrap());
    config.seed = Some(42);
    Host::new(config)
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// Wraps `payload` (a transport segment) in an IPv4 header from PEER to US.
fn ip_packet(protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let header = ip_header::Repr {
        src_addr: PEER,
        dst_addr: US,
        protocol,
        ttl: 64,
        tos: 0,
        ident: 0x1234,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
        payload_len: payload.len(),
    };
    let mut packet = vec![0; header.total_len()];
    header.emit(&mut packet);
    packet[20..].copy_from_slice(payload);
    packet
}

fn echo_request(seq_no: u16, data: &[u8]) -> Vec<u8> {
    let message = icmp::Repr::EchoRequest {
        ident: 0xbeef,
        seq_no,
        data,
    };
    let mut bytes = vec![0; message.buffer_len()];
    message.emit(&mut bytes);
    ip_packet(IpProtocol::Icmp, &bytes)
}

fn udp_datagram(src_port: u16, dst_port: u16, data: &[u8]) -> Vec<u8> {
    let header = udp::Repr {
        src_port,
        dst_port,
        payload_len: data.len(),
    };
    let mut bytes = vec![0; header.buffer_len()];
    bytes[8..].copy_from_slice(data);
    header.emit(&mut bytes, PEER, US);
    ip_packet(IpProtocol::Udp, &bytes)
}

/// Everything the host wants to send now.
fn drain(host: &mut Host, now: Instant) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    let mut buf = Vec::new();
    while host.transmit(now, &mut buf).is_some() {
        sent.push(buf.clone());
    }
    sent
}

/// Parses a packet we sent: checks the IP header and returns it with its payload.
fn parse_ip(packet: &[u8]) -> (ip_header::Repr, Vec<u8>) {
    let view = ip_header::Packet::new_checked(packet).expect("a whole IPv4 packet");
    let header = ip_header::Repr::parse(&view).expect("a valid IPv4 header");
    assert_eq!((header.src_addr, header.ttl), (US, 64));
    (header, view.payload().to_vec())
}

#[test]
fn echo_reply_returns_identifier_sequence_and_data() {
    let mut host = host();
    let data: Vec<u8> = (0..1400u32).map(|i| i as u8).collect();
    host.receive(Instant::ZERO, &echo_request(7, &data));
    let sent = drain(&mut host, Instant::ZERO);
    assert_eq!(sent.len(), 1);
    let (header, payload) = parse_ip(&sent[0]);
    assert_eq!((header.dst_addr, header.protocol), (PEER, IpProtocol::Icmp));
    let view = icmp::Packet::new_checked(&payload[..]).unwrap();
    assert_eq!(
        icmp::Repr::parse(&view).unwrap(),
        icmp::Repr::EchoReply {
            ident: 0xbeef,
            seq_no: 7,
            data: &data
        }
    );
    let stats = host.stats();
    assert_eq!((stats.icmp.received, stats.icmp.sent), (1, 1));
}

#[test]
fn a_datagram_to_a_closed_port_is_answered_with_port_unreachable() {
    let mut host = host();
    let datagram = udp_datagram(40000, 9, b"anyone there?");
    host.receive(Instant::ZERO, &datagram);
    let sent = drain(&mut host, Instant::ZERO);
    assert_eq!(sent.len(), 1);
    let (header, payload) = parse_ip(&sent[0]);
    assert_eq!(header.dst_addr, PEER);
    let view = icmp::Packet::new_checked(&payload[..]).unwrap();
    match icmp::Repr::parse(&view).unwrap() {
        icmp::Repr::DstUnreachable { reason, invoking } => {
            assert_eq!(reason, DstUnreachable::PortUnreachable);
            // The whole (short) datagram is quoted, so the sender can find its socket.
            assert_eq!(invoking, &datagram[..]);
        }
        other => panic!("expected port unreachable, got {other}"),
    }
    assert_eq!(host.stats().udp.dropped.get(DropReason::NoSocket), 1);
}

/// Each error carries why it was sent, for a capture to word as the frame comment: which
/// port or protocol had nobody behind it.
#[test]
fn icmp_errors_say_which_port_or_protocol_had_nobody() {
    let mut host = host();
    host.receive(Instant::ZERO, &udp_datagram(40000, 9999, b"anyone?"));
    host.receive(
        Instant::ZERO,
        &ip_packet(IpProtocol::Unknown(253), b"experiment"),
    );
    let mut buf = Vec::new();
    let mut next = || host.transmit(Instant::ZERO, &mut buf).and_then(|t| t.why);
    let port = next().expect("a reason for the port unreachable");
    assert_eq!(
        port,
        Reason::Icmp(IcmpWhy::PortUnreachable {
            protocol: IpProtocol::Udp,
            port: 9999
        })
    );
    assert_eq!(
        port.to_string(),
        "port unreachable: no socket is bound to UDP port 9999"
    );
    let protocol = next().expect("a reason for the protocol unreachable");
    assert_eq!(
        protocol,
        Reason::Icmp(IcmpWhy::ProtoUnreachable {
            protocol: IpProtocol::Unknown(253)
        })
    );
    assert_eq!(
        protocol.to_string(),
        "protocol unreachable: this host has no transport for IP protocol 253"
    );
}

#[test]
fn an_error_quotes_at_most_576_bytes_in_all() {
    let mut host = host();
    host.receive(Instant::ZERO, &udp_datagram(40000, 9, &[0xab; 1400]));
    let sent = drain(&mut host, Instant::ZERO);
    assert_eq!(sent[0].len(), 576);
}

#[test]
fn icmp_errors_are_rate_limited() {
    let mut config = Config::new("10.77.0.2/24".parse().unwrap());
    config.icmp_rate_limit = RateLimit {
        per_second: 10,
        burst: 5,
    };
    let mut host = Host::new(config);
    let t0 = Instant::from_secs(1);
    for i in 0..20 {
        host.receive(t0, &udp_datagram(40000 + i, 9, b"x"));
    }
    assert_eq!(drain(&mut host, t0).len(), 5, "the burst");
    assert_eq!(host.stats().icmp.dropped.get(DropReason::RateLimited), 15);
    // 10 per second: 300 ms later, three more tokens.
    let later = t0 + Duration::from_millis(300);
    for i in 0..10 {
        host.receive(later, &udp_datagram(41000 + i, 9, b"x"));
    }
    assert_eq!(drain(&mut host, later).len(), 3);
}

#[test]
fn an_unknown_protocol_gets_protocol_unreachable() {
    let mut host = host();
    host.receive(
        Instant::ZERO,
        &ip_packet(IpProtocol::Unknown(253), b"experiment"),
    );
    let sent = drain(&mut host, Instant::ZERO);
    let (_, payload) = parse_ip(&sent[0]);
    let view = icmp::Packet::new_checked(&payload[..]).unwrap();
    assert!(matches!(
        icmp::Repr::parse(&view).unwrap(),
        icmp::Repr::DstUnreachable {
            reason: DstUnreachable::ProtoUnreachable,
            ..
        }
    ));
    assert_eq!(host.stats().ip.dropped.get(DropReason::UnknownProtocol), 1);
}

#[test]
fn udp_delivers_to_the_bound_socket_and_replies_go_out_wrapped() {
    let mut host = host();
    let socket = host
        .udp_bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
        .unwrap();
    host.receive(Instant::ZERO, &udp_datagram(40000, 7, b"hello"));
    assert!(drain(&mut host, Instant::ZERO).is_empty(), "no error sent");

    let mut buf = [0u8; 64];
    let Poll::Ready(Ok((n, from))) = host.udp_poll_recv_from(&mut cx(), socket, &mut buf) else {
        panic!("the datagram should be waiting");
    };
    assert_eq!(
        (&buf[..n], from),
        (&b"hello"[..], SocketAddrV4::new(PEER, 40000).into())
    );

    let sent = host.udp_poll_send_to(&mut cx(), socket, b"hello", from);
    assert!(matches!(sent, Poll::Ready(Ok(5))));
    let packets = drain(&mut host, Instant::ZERO);
    let (header, payload) = parse_ip(&packets[0]);
    assert_eq!((header.dst_addr, header.protocol), (PEER, IpProtocol::Udp));
    let view = udp::Packet::new_checked(&payload[..]).unwrap();
    let reply = udp::Repr::parse(&view, US, PEER).unwrap();
    assert_eq!((reply.src_port, reply.dst_port), (7, 40000));
    assert_eq!(view.payload(), b"hello");
}

/// The packets `host` has ready, with their IP headers.
fn sent_packets(host: &mut Host, now: Instant) -> Vec<(ip_header::Repr, Vec<u8>)> {
    let mut packets = Vec::new();
    let mut buf = Vec::new();
    while host.transmit(now, &mut buf).is_some() {
        let view = ip_header::Packet::new_checked(&buf[..]).unwrap();
        let header = ip_header::Repr::parse(&view).expect("a good header checksum");
        packets.push((header, buf.clone()));
    }
    packets
}

/// Cuts a whole IPv4 packet (20-byte header) into fragments of at most `per` payload bytes.
fn fragments_of(packet: &[u8], per: usize) -> Vec<Vec<u8>> {
    let view = ip_header::Packet::new_checked(packet).unwrap();
    let header = ip_header::Repr::parse(&view).unwrap();
    let payload = view.payload();
    crate::ip::fragment::plan(payload.len(), per)
        .into_iter()
        .map(|piece| {
            let mut h = header;
            h.dont_fragment = false;
            h.more_fragments = piece.more;
            h.fragment_offset = piece.offset as u16;
            h.payload_len = piece.len;
            let mut bytes = vec![0; h.total_len()];
            h.emit(&mut bytes);
            bytes[20..].copy_from_slice(&payload[piece.offset..piece.offset + piece.len]);
            bytes
        })
        .collect()
}

/// A datagram over the MTU goes in fragments; only one over 65,507 bytes of payload is refused.
#[test]
fn a_datagram_larger_than_the_mtu_goes_in_fragments() {
    let mut host = host();
    let socket = host
        .udp_bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
        .unwrap();
    let to = SocketAddrV4::new(PEER, 9001);
    assert!(matches!(
        host.udp_poll_send_to(&mut cx(), socket, &[0; 1472], to),
        Poll::Ready(Ok(1472))
    ));
    let packets = sent_packets(&mut host, Instant::ZERO);
    assert_eq!(packets.len(), 1);
    assert!(packets[0].0.dont_fragment && !packets[0].0.more_fragments);

    assert!(matches!(
        host.udp_poll_send_to(&mut cx(), socket, &[0; 1473], to),
        Poll::Ready(Ok(1473))
    ));
    let packets = sent_packets(&mut host, Instant::ZERO);
    let shape: Vec<_> = packets
        .iter()
        .map(|(h, bytes)| {
            (
                bytes.len(),
                h.fragment_offset,
                h.more_fragments,
                h.dont_fragment,
            )
        })
        .collect();
    assert_eq!(shape, [(1500, 0, true, false), (21, 1480, false, false)]);

    let payload: Vec<u8> = (0..65_507u32).map(|i| (i % 251) as u8).collect();
    assert!(matches!(
        host.udp_poll_send_to(&mut cx(), socket, &payload, to),
        Poll::Ready(Ok(65_507))
    ));
    let packets = sent_packets(&mut host, Instant::ZERO);
    assert_eq!(packets.len(), 45);
    assert!(packets.iter().all(|(_, bytes)| bytes.len() <= 1500));
    match host.udp_poll_send_to(&mut cx(), socket, &[0; 65_508], to) {
        Poll::Ready(Err(err)) => {
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("65507"), "{err}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

/// `ping -s 4000`: the request comes in three fragments, in any order; the reply goes in three.
#[test]
fn a_fragmented_echo_request_gets_a_fragmented_reply() {
    let mut host = host();
    let data: Vec<u8> = (0..4000u32).map(|i| (i * 3) as u8).collect();
    let mut frags = fragments_of(&echo_request(1, &data), 1480);
    assert_eq!(frags.len(), 3);
    frags.swap(0, 2);
    for frag in &frags {
        host.receive(Instant::ZERO, frag);
    }
    let packets = sent_packets(&mut host, Instant::ZERO);
    let mut message = Vec::new();
    for (header, bytes) in &packets {
        assert_eq!(usize::from(header.fragment_offset), message.len());
        message.extend_from_slice(&bytes[20..]);
    }
    assert_eq!(packets.len(), 3);
    let reply = icmp::Repr::parse(&icmp::Packet::new_checked(&message[..]).unwrap()).unwrap();
    assert_eq!(
        reply,
        icmp::Repr::EchoReply {
            ident: 0xbeef,
            seq_no: 1,
            data: &data
        }
    );
    let ip = host.stats().ip;
    assert_eq!((ip.received, ip.delivered, ip.sent), (3, 1, 3));
    assert_eq!(host.poll_at(), None, "nothing left in reassembly");
}

/// A fragmented UDP datagram reaches its socket whole.
#[test]
fn a_fragmented_udp_datagram_reaches_its_socket() {
    let mut host = host();
    let socket = host.udp_bind(SocketAddrV4::new(US, 7)).unwrap();
    let payload: Vec<u8> = (0..8000u32).map(|i| (i * 5) as u8).collect();
    for frag in fragments_of(&udp_datagram(40000, 7, &payload), 1480)
        .iter()
        .rev()
    {
        host.receive(Instant::ZERO, frag);
    }
    let mut buf = vec![0; 9000];
    match host.udp_poll_recv_from(&mut cx(), socket, &mut buf) {
        Poll::Ready(Ok((len, from))) => {
            assert_eq!(&buf[..len], &payload[..]);
            assert_eq!(from, SocketAddrV4::new(PEER, 40000).into());
        }
        other => panic!("{other:?}"),
    }
}

/// The first fragment came, the last never did: after 30 s the datagram goes, its fragments are
/// counted, and the sender hears "fragment reassembly time exceeded" quoting the first one.
#[test]
fn reassembly_times_out_with_icmp_time_exceeded() {
    let mut host = host();
    let data = vec![0x55; 4000];
    let frags = fragments_of(&echo_request(1, &data), 1480);
    let t0 = Instant::from_secs(1);
    host.receive(t0, &frags[0]);
    host.receive(t0, &frags[1]);
    assert_eq!(host.poll_at(), Some(t0 + Duration::from_secs(30)));
    assert!(sent_packets(&mut host, t0 + Duration::from_millis(29_999)).is_empty());
    let later = t0 + Duration::from_secs(30);
    let mut buf = Vec::new();
    let why = host.transmit(later, &mut buf).expect("time exceeded").why;
    assert!(
        why.unwrap().to_string().contains("reassembly timeout"),
        "a capture comment"
    );
    let view = ip_header::Packet::new_checked(&buf[..]).unwrap();
    let message = icmp::Repr::parse(&icmp::Packet::new_checked(view.payload()).unwrap()).unwrap();
    match message {
        icmp::Repr::TimeExceeded { reason, invoking } => {
            assert_eq!(reason, icmp::TimeExceeded::FragReassembly);
            assert_eq!(invoking, &frags[0][..548]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        host.stats().ip.dropped.get(DropReason::ReassemblyTimeout),
        2
    );
    assert_eq!(host.poll_at(), None);

    // Without the first fragment, no error is sent (RFC 1122 3.3.2).
    host.receive(later, &frags[2]);
    assert!(sent_packets(&mut host, later + Duration::from_secs(30)).is_empty());
    assert_eq!(
        host.stats().ip.dropped.get(DropReason::ReassemblyTimeout),
        3
    );
}

#[test]
fn a_full_socket_queue_drops_and_counts() {
    let mut config = Config::new("10.77.0.2/24".parse().unwrap());
    config.udp_recv_queue = 3;
    let mut host = Host::new(config);
    host.udp_bind(SocketAddrV4::new(US, 7)).unwrap();
    for i in 0..5 {
        host.receive(Instant::ZERO, &udp_datagram(40000, 7, &[i]));
    }
    let udp = host.stats().udp;
    assert_eq!((udp.received, udp.delivered), (5, 3));
    assert_eq!(udp.dropped.get(DropReason::QueueFull), 2);
}

#[test]
fn port_unreachable_refuses_a_connected_socket() {
    let mut host = host();
    let socket = host
        .udp_bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
        .unwrap();
    let remote = SocketAddrV4::new(PEER, 9);
    host.udp_connect(socket, remote).unwrap();
    assert!(host
        .udp_poll_send_to(&mut cx(), socket, b"ping?", remote)
        .is_ready());
    let ours = drain(&mut host, Instant::ZERO).remove(0);

    // The peer answers with port unreachable, quoting our datagram.
    let message = icmp::Repr::DstUnreachable {
        reason: DstUnreachable::PortUnreachable,
        invoking: &ours,
    };
    let mut bytes = vec![0; message.buffer_len()];
    message.emit(&mut bytes);
    host.receive(Instant::ZERO, &ip_packet(IpProtocol::Icmp, &bytes));

    let mut buf = [0u8; 16];
    match host.udp_poll_recv_from(&mut cx(), socket, &mut buf) {
        Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused),
        other => panic!("expected ECONNREFUSED, got {other:?}"),
    }
}

#[test]
fn ping_measures_the_round_trip_on_virtual_time() {
    let mut host = host();
    host.ping_send(Instant::from_millis(1000), PEER.into(), 1, b"abc")
        .unwrap();
    let request = drain(&mut host, Instant::from_millis(1000)).remove(0);
    let (_, payload) = parse_ip(&request);
    let view = icmp::Packet::new_checked(&payload[..]).unwrap();
    let icmp::Repr::EchoRequest {
        ident,
        seq_no,
        data,
    } = icmp::Repr::parse(&view).unwrap()
    else {
        panic!("expected an echo request");
    };
    assert_eq!((seq_no, data), (1, &b"abc"[..]));
    assert!(host.ping_poll_reply(&mut cx(), 1).is_pending());

    let reply = icmp::Repr::EchoReply {
        ident,
        seq_no,
        data: b"abc",
    };
    let mut bytes = vec![0; reply.buffer_len()];
    reply.emit(&mut bytes);
    host.receive(
        Instant::from_millis(1012),
        &ip_packet(IpProtocol::Icmp, &bytes),
    );
    assert_eq!(
        host.ping_poll_reply(&mut cx(), 1),
        Poll::Ready(Duration::from_millis(12))
    );
}

/// `ping -s 4000`: an echo request larger than the MTU goes in fragments; one larger than any
/// IPv4 datagram is refused, saying so.
#[test]
fn a_ping_larger_than_the_mtu_goes_in_fragments() {
    let mut host = host();
    let data = vec![0x5a; 4000];
    host.ping_send(Instant::ZERO, PEER.into(), 1, &data)
        .unwrap();
    let fragments = drain(&mut host, Instant::ZERO);
    assert_eq!(fragments.len(), 3);
    let offsets: Vec<(u16, bool)> = fragments
        .iter()
        .map(|f| {
            let (header, _) = parse_ip(f);
            (header.fragment_offset, header.more_fragments)
        })
        .collect();
    assert_eq!(offsets, [(0, true), (1480, true), (2960, false)]);
    let err = host
        .ping_send(Instant::ZERO, PEER.into(), 2, &vec![0; 65_508])
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max 65507"), "{err}");
}

#[test]
fn garbage_is_counted_not_answered() {
    let mut host = host();
    for garbage in [&b""[..], b"\x45", &[0x45; 40], &[0xff; 1500]] {
        host.receive(Instant::ZERO, garbage);
    }
    assert!(drain(&mut host, Instant::ZERO).is_empty());
    let ip = host.stats().ip;
    assert_eq!((ip.received, ip.delivered, ip.dropped.total()), (4, 0, 4));
}
