//! The whole receive path of a dual-stack host, IPv6 first: packets into [`Host::receive`] of a
//! host at 10.77.0.2/24 and fd77::2/64 (its link-local address fe80::aff:fe4d:2 from its MAC),
//! on a TUN device, with a fixed seed; every answer out of [`Host::transmit`], checked with our
//! own parsers.
//!
//! The host listens on TCP port 80 of `[::]` (IPv6 and IPv4-mapped clients), and has opened a
//! connection of its own to `[fd77::1]:8080`, which writes 4,000 bytes once it is established
//! (so full-size segments are in flight for a Packet Too Big to be about). It has no UDP
//! socket: datagrams reach "port unreachable".
//!
//! As in `host_receive`, random bytes would rarely pass IPv6's checks (version, Payload Length,
//! addresses, the extension header chain, the upper-layer checksum over the pseudo-header), so
//! each input is a list of records, and two control bytes per record say what to make right:
//!
//! ```text
//! input   := record*
//! record  := control:u8 shape:u8 time:u8 len:u16be bytes[len]  (a short last record takes the rest)
//!
//! control bits 0-2  the upper layer: 0 the input's Next Header byte (byte 6), 1 ICMPv6,
//!                   2 ICMPv6 echo request, 3 an ICMPv6 error (destination unreachable, packet
//!                   too big, time exceeded, parameter problem) quoting the last IPv6 packet the
//!                   host sent, 4 UDP, 5 TCP, 6 TCP answering the last IPv6 TCP segment the host
//!                   sent (addresses, ports, sequence and acknowledgment numbers from it),
//!                   7 an unknown protocol (253) or No Next Header (59)
//!         bits 3-4  in front of it: 0 nothing, 1 an extension header (shape bits 5-6),
//!                   2 the packet cut into fragments, 3 a Fragment header with the input's
//!                   offset and M (an atomic fragment when both are 0)
//!         bit  5    keep the input's source address (bytes 8-23): multicast, ::, ::1,
//!                   v4-mapped, ours...
//!         bit  6    keep the input's Payload Length and upper-layer checksum as they are
//!         bit  7    raw: send the bytes exactly as they are, nothing else applies
//! shape   bits 0-1  destination: 0 our global address, 1 our link-local address, 2 a group
//!                   (bits 3-4), 3 the input's (bytes 24-39)
//!         bit  2    source fe80::1 (else fd77::1)
//!         bits 3-4  the group: ff02::1, ff01::1, the solicited-node group of our global
//!                   address, of our link-local address
//!         bits 5-6  control 1: Hop-by-Hop, Destination Options (both padded right), Routing
//!                   (type and Segments Left from the input), or Hop-by-Hop / Destination
//!                   Options with the input's options; its length (8 to 32 bytes) from the
//!                   input. Controls 2 and 3: bit 5 a Hop-by-Hop header before the Fragment
//!                   header, bit 6 a Destination Options header after it
//!         bit  7    IPv4 instead: `bytes` made into an IPv4 packet as `host_receive` does,
//!                   with `control` read as its control byte
//! time    bits 6-7  the unit of bits 0-5 (n): 0 n ms (63: to the host's next deadline),
//!                   1 n × 100 ms, 2 60 + n s (reassembly's 60 s run out), 3 600 + 10 n s
//!                   (learned path MTUs age out)
//! ```
//!
//! The 40 first bytes of `bytes` are the fixed header (the version is always made 6), the rest
//! the payload. Fragments (control 2) take their parameters from fixed header bytes the shaping
//! would overwrite or does not read: byte 1 the Identification (0 to 3, so packets of several
//! records mix), byte 2 the piece size (8 to 1,448 bytes), byte 3 bits 0-2 a piece to leave out
//! when bit 3 is set (the rest then times out), bit 4 reverse order, bit 5 the first piece sent
//! twice. A lone Fragment header (control 3) takes its Identification from byte 1 and its
//! offset and M word from bytes 2-3.
//!
//! Checks on everything the host sends: within the MTU; IPv4 or IPv6. IPv6: a whole fixed
//! header whose Payload Length is the packet's; from our global or link-local address, with
//! Hop Limit 64; to a unicast address that sent us something (or that we connect to); then
//! ICMPv6, UDP or TCP with a right checksum, or a Fragment header whose fragments, joined by
//! our own reassembler in the same round, make a packet that passes the same checks. ICMPv6
//! from us is an echo reply to whoever just asked, or an error (destination unreachable,
//! parameter problem, time exceeded) that fits in 1,280 bytes, is never fragmented, quotes a
//! packet sent to us by the error's destination, never answers an ICMPv6 error (also when it
//! is the first fragment of one), and is about a packet to a group only for an unknown option.
//! IPv4: as `host_receive` checks. Also: no panic, and once the host has sent what it had, its
//! next deadline is in the future.
//!
//! Set `TUNSTACK_FUZZ_LOG=1` (and `RUST_LOG=tunstack=debug`) to see the stack's trace when
//! replaying an input, and the host's counters after it.
#![no_main]

use std::collections::HashSet;
use std::net::{Ipv6Addr, SocketAddr};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tunstack::ip::addr6::solicited_node;
use tunstack::ip::fragment::{Reassembler, ReassemblyConfig};
use tunstack::ip::header::IpProtocol;
use tunstack::ip::icmpv6::{self, ParamProblem};
use tunstack::ip::ipv6::ext::FRAGMENT_HEADER_LEN;
use tunstack::ip::ipv6::fragment::{
    reassemble, reassembler, write_fragment_header, Ipv6Reassembler, Reassembly,
};
use tunstack::ip::ipv6::{self, walk, Chain, FragmentHeader, NextHeader, HEADER_LEN};
use tunstack::tcp::ConnId;
use tunstack::time::Instant;
use tunstack::{tcp, udp, Config, Host, Ipv4Cidr, Ipv6Cidr};

#[path = "common/ipv4.rs"]
mod ipv4;

use ipv4::US;
const US6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const PEER_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_NODE: Ipv6Addr = Ipv6Addr::new(0xff01, 0, 0, 0, 0, 0, 0, 1);
/// What the host's own connection goes to.
const SERVER: u16 = 8080;
/// What it writes there once established.
const WRITE: usize = 4000;

const ICMPV6: u8 = 58;
const UDP: u8 = 17;
const TCP: u8 = 6;
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const DST_OPTS: u8 = 60;

/// Whether `TUNSTACK_FUZZ_LOG` is set: then the stack's trace goes to stderr (filtered by
/// `RUST_LOG`), and each input ends with the host's counters.
fn logging() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let on = std::env::var_os("TUNSTACK_FUZZ_LOG").is_some();
        if on {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_writer(std::io::stderr)
                .init();
        }
        on
    })
}

fuzz_target!(|data: &[u8]| {
    let log = logging();
    let mut run = Run::new();
    let mut rest = data;
    while let [control, shape, time, len_hi, len_lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*len_hi, *len_lo])).min(tail.len());
        let (bytes, after) = tail.split_at(len);
        rest = after;
        run.record_sources.clear();
        run.pass_time(*time);
        run.application();
        let packets = if control & 0x80 != 0 {
            vec![bytes.to_vec()]
        } else if shape & 0x80 != 0 {
            vec![ipv4::shape(*control, bytes)]
        } else {
            run.shape_v6(*control, *shape, bytes)
        };
        for packet in &packets {
            if packet.first().is_some_and(|b| b >> 4 == 6) && packet.len() >= 24 {
                let src = addr_at(packet, 8);
                run.heard.insert(src);
                run.record_sources.push(src);
            }
            run.host.receive(run.now, packet);
            run.drain();
        }
    }
    if log {
        eprintln!("stats: {}", run.host.stats());
    }
});

/// The host and what the checks remember.
struct Run {
    host: Host,
    now: Instant,
    mtu: usize,
    link_local: Ipv6Addr,
    /// Our own connection to `[fd77::1]:8080`, and whether it has written yet.
    conn: ConnId,
    written: bool,
    /// Joins the fragments of what we send, per IP version.
    joiner4: Reassembler<u16>,
    joiner6: Ipv6Reassembler,
    /// Every IPv6 source a packet came from (and the server we connect to): we send to no one
    /// else.
    heard: HashSet<Ipv6Addr>,
    /// The IPv6 sources of the current record's packets: echo replies, port unreachable and
    /// parameter problems answer them.
    record_sources: Vec<Ipv6Addr>,
    /// The last IPv6 packet we sent, and the last one that was a TCP segment.
    last_v6: Vec<u8>,
    last_tcp6: Vec<u8>,
}

impl Run {
    fn new() -> Run {
        let v4 = Ipv4Cidr::new(US, 24).expect("a /24");
        let v6 = Ipv6Cidr::new(US6, 64).expect("a /64");
        let mut config = Config::new(v4).with_ipv6(v6);
        config.seed = Some(0x7457_0a4d_0006);
        let mtu = config.mtu;
        let mut host = Host::new(config);
        host.tcp_listen(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 80), None)
            .expect("a listener on [::]:80");
        let conn = host
            .tcp_connect(Instant::ZERO, SocketAddr::new(PEER6.into(), SERVER))
            .expect("a connection to [fd77::1]:8080");
        let link_local = host.link_local().expect("IPv6 is on");
        assert_eq!(host.addr6(), Some(US6));
        let mut run = Run {
            host,
            now: Instant::ZERO,
            mtu,
            link_local,
            conn,
            written: false,
            joiner4: Reassembler::new(ReassemblyConfig::default()),
            joiner6: reassembler(),
            heard: HashSet::from([PEER6]),
            record_sources: Vec::new(),
            last_v6: Vec::new(),
            last_tcp6: Vec::new(),
        };
        run.drain();
        run
    }

    fn pass_time(&mut self, time: u8) {
        let n = u64::from(time & 0x3f);
        let step = match time >> 6 {
            0 if n == 63 => {
                if let Some(at) = self.host.poll_at() {
                    self.now = self.now.max(at);
                }
                Duration::ZERO
            }
            0 => Duration::from_millis(n),
            1 => Duration::from_millis(n * 100),
            2 => Duration::from_secs(60 + n),
            _ => Duration::from_secs(600 + 10 * n),
        };
        self.now += step;
        self.drain();
    }

    /// Our connection writes once it is established.
    fn application(&mut self) {
        if self.written {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match self.host.tcp_poll_established(&mut cx, self.conn) {
            Poll::Ready(Ok(())) => {
                let data: Vec<u8> = (0..WRITE).map(|i| i as u8).collect();
                let _ = self.host.tcp_poll_write(&mut cx, self.conn, &data);
                self.written = true;
                self.drain();
            }
            Poll::Ready(Err(_)) => self.written = true,
            Poll::Pending => {}
        }
    }

    /// Sends what the host has at `now`, checking each packet; then its next deadline must be
    /// in the future.
    fn drain(&mut self) {
        let mut out = Vec::new();
        while self.host.transmit(self.now, &mut out).is_some() {
            self.check_sent(&out);
        }
        assert!(
            self.joiner4.is_empty(),
            "every fragmented IPv4 datagram went out whole"
        );
        assert!(
            self.joiner6.is_empty(),
            "every fragmented IPv6 packet went out whole"
        );
        if let Some(at) = self.host.poll_at() {
            assert!(
                at > self.now,
                "a deadline at {at} is due at {} after transmit",
                self.now
            );
        }
    }

    // ----- shaping -----

    /// Makes `bytes` into IPv6 packets for us, as far as `control` and `shape` ask.
    fn shape_v6(&self, control: u8, shape: u8, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut fixed = [0u8; HEADER_LEN];
        let n = bytes.len().min(HEADER_LEN);
        fixed[..n].copy_from_slice(&bytes[..n]);
        let mut body = bytes.get(HEADER_LEN..).unwrap_or_default();
        body = &body[..body.len().min(60_000)];
        fixed[0] = 0x60 | (fixed[0] & 0x0f);

        let mut src = if control & 0x20 != 0 {
            addr_at(&fixed, 8)
        } else if shape & 0x04 != 0 {
            PEER_LL
        } else {
            PEER6
        };
        let mut dst = match shape & 3 {
            0 => US6,
            1 => self.link_local,
            2 => match shape >> 3 & 3 {
                0 => ALL_NODES,
                1 => ALL_NODES_NODE,
                2 => solicited_node(US6),
                _ => solicited_node(self.link_local),
            },
            _ => addr_at(&fixed, 24),
        };
        let raw_lengths = control & 0x40 != 0;
        let front = control >> 3 & 3;
        // An extension header (front 1) is made from the start of the body, the upper layer
        // from the rest.
        let extension = if front == 1 {
            let len = extension_header_len(body);
            let (header, rest) = body.split_at(len.min(body.len()));
            body = rest;
            header
        } else {
            &[]
        };

        // The upper layer.
        let (protocol, mut upper) = match control & 7 {
            0 => (fixed[6], body.to_vec()),
            1 => (ICMPV6, padded(body, icmpv6::HEADER_LEN)),
            2 => {
                let mut message = padded(body, icmpv6::HEADER_LEN);
                message[0] = 128;
                message[1] = 0;
                (ICMPV6, message)
            }
            3 => (ICMPV6, self.icmp_error(body)),
            4 => (UDP, padded(body, udp::header::HEADER_LEN)),
            5 => (TCP, padded(body, tcp::header::HEADER_LEN)),
            6 => match answer_tcp(&self.last_tcp6, body) {
                Some((from, to, segment)) => {
                    (src, dst) = (from, to);
                    (TCP, segment)
                }
                None => (TCP, padded(body, tcp::header::HEADER_LEN)),
            },
            _ => (if fixed[6] & 1 == 0 { 253 } else { 59 }, body.to_vec()),
        };
        if protocol == TCP && upper.len() >= tcp::header::HEADER_LEN {
            let words = usize::from(upper[12] >> 4);
            if words < 5 || words * 4 > upper.len() {
                upper[12] = 0x50 | (upper[12] & 0x0f);
            }
        }
        if !raw_lengths {
            fill_checksum(protocol, src, dst, &mut upper);
        }
        fixed[8..24].copy_from_slice(&src.octets());
        fixed[24..40].copy_from_slice(&dst.octets());

        let finish = |mut fixed: [u8; HEADER_LEN], first: u8, payload: &[u8]| {
            fixed[6] = first;
            if !raw_lengths {
                let len = payload.len().min(usize::from(u16::MAX)) as u16;
                fixed[4..6].copy_from_slice(&len.to_be_bytes());
            }
            let mut packet = fixed.to_vec();
            packet.extend_from_slice(payload);
            packet
        };

        match front {
            0 => vec![finish(fixed, protocol, &upper)],
            1 => {
                let (kind, header) = extension_header(shape >> 5 & 3, extension, protocol);
                let mut payload = header;
                payload.extend_from_slice(&upper);
                vec![finish(fixed, kind, &payload)]
            }
            mode => {
                let unfragmentable = if shape & 0x20 != 0 {
                    vec![FRAGMENT, 0, 1, 4, 0, 0, 0, 0]
                } else {
                    Vec::new()
                };
                let first = if unfragmentable.is_empty() {
                    FRAGMENT
                } else {
                    HOP_BY_HOP
                };
                let mut fragmentable = Vec::new();
                let mut inner = protocol;
                if shape & 0x40 != 0 {
                    fragmentable.extend_from_slice(&[protocol, 0, 1, 4, 0, 0, 0, 0]);
                    inner = DST_OPTS;
                }
                fragmentable.extend_from_slice(&upper);
                fragmentable.truncate(usize::from(u16::MAX) - 64);
                let ident = u32::from(fixed[1] & 3);
                let packet = |offset: usize, more: bool, data: &[u8]| {
                    let mut payload = unfragmentable.clone();
                    let at = payload.len();
                    payload.resize(at + FRAGMENT_HEADER_LEN, 0);
                    let header = FragmentHeader {
                        next_header: NextHeader::from(inner),
                        offset: offset as u16,
                        more_fragments: more,
                        ident,
                    };
                    write_fragment_header(&mut payload[at..], &header);
                    payload.extend_from_slice(data);
                    payload
                };
                if mode == 3 {
                    let mut payload = packet(0, false, &fragmentable);
                    let at = unfragmentable.len();
                    payload[at + 2..at + 4].copy_from_slice(&fixed[2..4]);
                    return vec![finish(fixed, first, &payload)];
                }
                let piece = 8 * (1 + usize::from(fixed[2]) % 181);
                let mut pieces: Vec<Vec<u8>> = Vec::new();
                let mut offset = 0;
                loop {
                    let end = (offset + piece).min(fragmentable.len());
                    let more = end < fragmentable.len();
                    let payload = packet(offset, more, &fragmentable[offset..end]);
                    pieces.push(finish(fixed, first, &payload));
                    if !more {
                        break;
                    }
                    offset = end;
                }
                let plan = fixed[3];
                if plan & 0x20 != 0 {
                    pieces.push(pieces[0].clone());
                }
                if plan & 0x08 != 0 {
                    let left_out = usize::from(plan & 7);
                    if left_out < pieces.len() {
                        pieces.remove(left_out);
                    }
                }
                if plan & 0x10 != 0 {
                    pieces.reverse();
                }
                pieces
            }
        }
    }

    /// An ICMPv6 error message (type, code and word from `body`) quoting the last IPv6 packet
    /// we sent, or `body` when we sent none.
    fn icmp_error(&self, body: &[u8]) -> Vec<u8> {
        let mut message = padded(body, icmpv6::HEADER_LEN);
        message.truncate(icmpv6::HEADER_LEN);
        message[0] = message[0] % 4 + 1;
        if self.last_v6.is_empty() {
            message.extend_from_slice(body.get(icmpv6::HEADER_LEN..).unwrap_or_default());
        } else {
            message.extend_from_slice(icmpv6::quote(&self.last_v6));
        }
        message
    }

    // ----- checks -----

    fn check_sent(&mut self, bytes: &[u8]) {
        assert!(
            bytes.len() <= self.mtu,
            "sent {} bytes over MTU {}",
            bytes.len(),
            self.mtu
        );
        match bytes.first().map(|b| b >> 4) {
            Some(4) => ipv4::check(bytes, &mut self.joiner4, self.now),
            Some(6) => self.check_v6(bytes),
            other => panic!("we send IPv4 or IPv6, not version {other:?}"),
        }
    }

    fn check_v6(&mut self, bytes: &[u8]) {
        let packet = ipv6::Packet::new_checked(bytes).expect("a whole IPv6 header");
        assert_eq!(packet.version(), 6);
        assert_eq!(packet.total_len(), bytes.len(), "Payload Length is right");
        let header = ipv6::Repr::parse(&packet);
        self.check_addresses(&header);
        assert_eq!(
            header.hop_limit, 64,
            "Hop Limit 64 (no neighbour discovery on TUN)"
        );
        self.last_v6 = bytes.to_vec();
        match walk(header.next_header, packet.payload(), false) {
            Ok(Chain::Upper { protocol, offset }) => {
                assert_eq!(offset, 0, "we send no extension header but Fragment");
                if protocol == IpProtocol::Tcp {
                    self.last_tcp6 = bytes.to_vec();
                }
                self.check_upper(&header, protocol, packet.payload(), false);
            }
            Ok(Chain::Fragment {
                header: fragment,
                offset,
            }) => {
                assert_eq!(
                    offset, FRAGMENT_HEADER_LEN,
                    "the Fragment header right after the fixed header"
                );
                assert!(!fragment.is_atomic(), "we send no atomic fragment");
                assert_eq!(
                    fragment.next_header,
                    NextHeader::Protocol(IpProtocol::Icmpv6),
                    "only echo replies are fragmented (no UDP socket)"
                );
                let at = offset - FRAGMENT_HEADER_LEN;
                match reassemble(&mut self.joiner6, self.now, &packet, at, fragment) {
                    Reassembly::Held => {}
                    Reassembly::Complete { packet: whole, .. } => {
                        let view = ipv6::Packet::new_checked(&whole[..]).expect("a valid packet");
                        assert_eq!(view.total_len(), whole.len());
                        let joined = ipv6::Repr::parse(&view);
                        assert_eq!(
                            (joined.src_addr, joined.dst_addr),
                            (header.src_addr, header.dst_addr)
                        );
                        match walk(joined.next_header, view.payload(), false) {
                            Ok(Chain::Upper {
                                protocol,
                                offset: 0,
                            }) => self.check_upper(&joined, protocol, view.payload(), true),
                            other => panic!("a joined packet of ours is whole: {other:?}"),
                        }
                    }
                    Reassembly::Dropped(dropped) => {
                        panic!("our fragments are consistent: {dropped:?}")
                    }
                }
            }
            Err(verdict) => panic!("our packets walk: {verdict:?}"),
        }
    }

    /// From one of our addresses, to a unicast address that spoke to us.
    fn check_addresses(&self, header: &ipv6::Repr) {
        let (src, dst) = (header.src_addr, header.dst_addr);
        assert!(
            src == US6 || src == self.link_local,
            "we send from our addresses, not {src}"
        );
        assert!(
            !(dst.is_multicast()
                || dst.is_unspecified()
                || dst.is_loopback()
                || dst.to_ipv4_mapped().is_some()
                || dst == US6
                || dst == self.link_local),
            "we never send to {dst}"
        );
        assert!(
            self.heard.contains(&dst),
            "we send only to whom we heard from or connect to, not {dst}"
        );
    }

    /// The upper-layer message of a whole packet of ours (`joined`: it came in fragments).
    fn check_upper(&self, header: &ipv6::Repr, protocol: IpProtocol, payload: &[u8], joined: bool) {
        let (src, dst) = (header.src_addr, header.dst_addr);
        match protocol {
            IpProtocol::Icmpv6 => {
                let message = icmpv6::Packet::new_checked(payload).expect("a whole ICMPv6 header");
                let repr =
                    icmpv6::Repr::parse(&message, src, dst).expect("a right ICMPv6 checksum");
                match repr {
                    icmpv6::Repr::EchoReply { .. } => assert!(
                        self.record_sources.contains(&dst),
                        "an echo reply answers a request just received"
                    ),
                    icmpv6::Repr::DstUnreachable { invoking, .. }
                    | icmpv6::Repr::TimeExceeded { invoking, .. }
                    | icmpv6::Repr::ParamProblem { invoking, .. } => {
                        assert!(!joined, "an error is never fragmented");
                        assert!(
                            HEADER_LEN + payload.len() <= icmpv6::MIN_MTU,
                            "an error fits in 1280 bytes"
                        );
                        if !matches!(repr, icmpv6::Repr::TimeExceeded { .. }) {
                            assert!(
                                self.record_sources.contains(&dst),
                                "an error answers a packet just received"
                            );
                        }
                        self.check_quote(&repr, invoking, dst);
                    }
                    other => panic!("we never send {other}"),
                }
            }
            IpProtocol::Udp => {
                let datagram = udp::header::Packet::new_checked(payload).expect("a whole datagram");
                udp::header::Repr::parse(&datagram, src, dst).expect("a right checksum");
            }
            IpProtocol::Tcp => {
                assert!(!joined, "TCP is never fragmented");
                let segment = tcp::header::Packet::new_checked(payload).expect("a whole segment");
                tcp::header::Repr::parse(&segment, src, dst).expect("a right checksum");
            }
            other => panic!("we never send protocol {other}"),
        }
    }

    /// An error's quote: a packet sent to us (to a group only for an unknown option) by the
    /// error's destination, and not an ICMPv6 error.
    fn check_quote(&self, repr: &icmpv6::Repr, quote: &[u8], to: Ipv6Addr) {
        assert!(
            quote.len() >= HEADER_LEN,
            "an error quotes a whole IPv6 header"
        );
        assert_eq!(quote[0] >> 4, 6);
        let (src, dst) = (addr_at(quote, 8), addr_at(quote, 24));
        assert_eq!(src, to, "an error goes to whoever sent the packet");
        if dst.is_multicast() {
            assert!(
                matches!(
                    repr,
                    icmpv6::Repr::ParamProblem {
                        code: ParamProblem::UnrecognizedOption,
                        ..
                    }
                ),
                "about a packet to a group, only an unknown option is answered: {repr}"
            );
            assert!(
                [
                    ALL_NODES,
                    ALL_NODES_NODE,
                    solicited_node(US6),
                    solicited_node(self.link_local)
                ]
                .contains(&dst),
                "a packet to a group we are not in was not for us: {dst}"
            );
        } else {
            assert!(
                dst == US6 || dst == self.link_local,
                "we only complain about packets sent to us, not to {dst}"
            );
        }
        assert!(
            !is_icmpv6_error(quote),
            "an ICMPv6 error is never answered with one: {repr}"
        );
    }
}

/// Whether the quoted packet is (as far as the quote shows) an ICMPv6 error, or the first
/// fragment of one.
fn is_icmpv6_error(quote: &[u8]) -> bool {
    let payload_len = usize::from(u16::from_be_bytes([quote[4], quote[5]]));
    let payload = &quote[HEADER_LEN..quote.len().min(HEADER_LEN + payload_len)];
    let type_is_error = |next: NextHeader, bytes: &[u8]| match walk(next, bytes, false) {
        Ok(Chain::Upper {
            protocol: IpProtocol::Icmpv6,
            offset,
        }) => bytes.get(offset).is_some_and(|t| *t < 128),
        _ => false,
    };
    match walk(NextHeader::from(quote[6]), payload, false) {
        Ok(Chain::Fragment { header, offset }) if header.offset == 0 => {
            type_is_error(header.next_header, &payload[offset..])
        }
        _ => type_is_error(NextHeader::from(quote[6]), payload),
    }
}

/// The IPv6 address at `at` in `bytes` (16 bytes, there).
fn addr_at(bytes: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&bytes[at..at + 16]);
    Ipv6Addr::from(octets)
}

/// `bytes`, with zeros up to `len` if shorter.
fn padded(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.len() < len {
        out.resize(len, 0);
    }
    out
}

/// Fills the checksum (and UDP's length) of an upper-layer message from `src` to `dst`.
fn fill_checksum(protocol: u8, src: Ipv6Addr, dst: Ipv6Addr, upper: &mut [u8]) {
    match protocol {
        ICMPV6 if upper.len() >= icmpv6::HEADER_LEN => {
            icmpv6::Packet::new_unchecked(upper).fill_checksum(src, dst);
        }
        UDP if upper.len() >= udp::header::HEADER_LEN => {
            let len = upper.len().min(usize::from(u16::MAX)) as u16;
            let mut datagram = udp::header::Packet::new_unchecked(upper);
            datagram.set_len(len);
            datagram.fill_checksum(src, dst);
        }
        TCP if upper.len() >= tcp::header::HEADER_LEN => {
            tcp::header::Packet::new_unchecked(upper).fill_checksum(src, dst);
        }
        _ => {}
    }
}

/// How long the extension header made from `input` is: 8 to 32 bytes, by its second byte.
fn extension_header_len(input: &[u8]) -> usize {
    (usize::from(input.get(1).copied().unwrap_or(0) % 4) + 1) * 8
}

/// An extension header of `kind` (shape bits 5-6) made from `input`, naming `next`: its Next
/// Header number and bytes.
fn extension_header(kind: u8, input: &[u8], next: u8) -> (u8, Vec<u8>) {
    let len = extension_header_len(input);
    let units = (len / 8 - 1) as u8;
    let mut header = padded(&input[..input.len().min(len)], len);
    let number = match kind {
        0 => HOP_BY_HOP,
        1 => DST_OPTS,
        2 => ROUTING,
        _ if header[0] & 1 == 0 => HOP_BY_HOP,
        _ => DST_OPTS,
    };
    if kind < 2 {
        // One PadN option over all of it.
        header[2] = 1;
        header[3] = (len - 4) as u8;
        header[4..].fill(0);
    }
    header[0] = next;
    header[1] = units;
    (number, header)
}

/// A TCP segment answering `last` (an IPv6 packet of ours carrying a TCP segment): from its
/// destination to its source, ports swapped, acknowledging all of it, at the sequence number
/// it acknowledged (the input's, when it acknowledged none); flags, window, options and data
/// from `body`. `None` when we sent no TCP yet.
fn answer_tcp(last: &[u8], body: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr, Vec<u8>)> {
    let view = ipv6::Packet::new_checked(last).ok()?;
    let ours = view.payload();
    if ours.len() < tcp::header::HEADER_LEN {
        return None;
    }
    let flags = ours[13];
    let (syn, fin, ack) = (flags & 0x02 != 0, flags & 0x01 != 0, flags & 0x10 != 0);
    let data_len = ours.len().saturating_sub(usize::from(ours[12] >> 4) * 4);
    let their_len = data_len + usize::from(syn) + usize::from(fin);
    let seq = u32::from_be_bytes([ours[4], ours[5], ours[6], ours[7]]);
    let mut segment = padded(body, tcp::header::HEADER_LEN);
    segment[0..2].copy_from_slice(&ours[2..4]);
    segment[2..4].copy_from_slice(&ours[0..2]);
    if ack {
        segment[4..8].copy_from_slice(&ours[8..12]);
    }
    let acked = seq.wrapping_add(their_len as u32);
    segment[8..12].copy_from_slice(&acked.to_be_bytes());
    Some((view.dst_addr(), view.src_addr(), segment))
}

// ----- IPv4, as host_receive shapes and checks it -----
