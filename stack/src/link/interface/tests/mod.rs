//! The Ethernet interface with IPv6 on, on virtual time: duplicate address detection
//! (`dad.rs`), resolving and checking neighbours with NDP (`resolution.rs`), and the frames
//! the Linux kernel sends and expects (`linux.rs`).

use std::net::Ipv6Addr;

use super::EthernetInterface;
use crate::ip::ipv6::{self, NextHeader};
use crate::link::ethernet::header::{self as ethernet, EtherType, Frame};
use crate::link::ethernet::MacAddr;
use crate::link::ndp::message::{self, Message, Ndp};
use crate::link::neighbour::{NeighbourConfig, NeighbourState};
use crate::link::Reason;
use crate::time::Instant;

mod dad;
mod linux;
mod resolution;

/// Our MAC address, as in the Linux capture (and `Config::mac_for(10.77.0.2)`).
const A_MAC: MacAddr = MacAddr::new([0x02, 0, 0x0a, 0x4d, 0, 0x02]);
/// The other host's: the kernel's in the capture.
const B_MAC: MacAddr = MacAddr::new([0x9a, 0x3c, 0, 0, 0, 0x11]);
const A6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const B6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
/// fe80::aff:fe4d:2, A's link-local address.
const A_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xaff, 0xfe4d, 2);
/// fe80::983c:ff:fe00:11, B's link-local address.
const B_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x983c, 0xff, 0xfe00, 0x11);

/// An interface at `mac` with 10.77.0.x/24 and `v6`/64, checking its IPv6 addresses with
/// `dad` solicitations each (0: no check).
fn interface(mac: MacAddr, v4: &str, v6: Ipv6Addr, dad: u8) -> EthernetInterface {
    let config = NeighbourConfig {
        dad_transmits: dad,
        ..NeighbourConfig::default()
    };
    let cidr = crate::ip::Ipv6Cidr::new(v6, 64);
    EthernetInterface::new(mac, v4.parse().unwrap(), None, cidr, None, config)
}

/// A: fd77::2 at 02:00:0a:4d:00:02.
fn a(dad: u8) -> EthernetInterface {
    interface(A_MAC, "10.77.0.2/24", A6, dad)
}

/// B: fd77::1 at 9a:3c:00:00:00:11.
fn b(dad: u8) -> EthernetInterface {
    interface(B_MAC, "10.77.0.1/24", B6, dad)
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// A frame on the wire, read back.
#[derive(Debug, Clone)]
struct Seen {
    from: MacAddr,
    to: MacAddr,
    ethertype: EtherType,
    /// The NDP message inside, if it is one.
    ndp: Option<Message>,
    why: Option<String>,
    bytes: Vec<u8>,
}

fn read(bytes: Vec<u8>, why: Option<Reason>) -> Seen {
    let frame = Frame::new_checked(&bytes[..]).expect("a whole Ethernet header");
    let ndp = match frame.ethertype() {
        EtherType::Ipv6 => message::read(frame.payload()).map(|m| m.expect("a valid message")),
        _ => None,
    };
    Seen {
        from: frame.src_addr(),
        to: frame.dst_addr(),
        ethertype: frame.ethertype(),
        ndp,
        why: why.map(|w| w.to_string()),
        bytes,
    }
}

/// Everything the interface has to send at `now`.
fn drain(interface: &mut EthernetInterface, now: Instant) -> Vec<Seen> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(why) = interface.transmit(now, &mut buf) {
        out.push(read(std::mem::take(&mut buf), why));
    }
    out
}

/// Only the NDP frames.
fn ndp_only(seen: Vec<Seen>) -> Vec<Seen> {
    seen.into_iter().filter(|s| s.ndp.is_some()).collect()
}

/// An IPv6 packet from `src` to `dst` carrying one byte, `tag` (Next Header: none).
fn packet(src: Ipv6Addr, dst: Ipv6Addr, tag: u8) -> Vec<u8> {
    let header = ipv6::Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: NextHeader::NoNextHeader,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
        payload_len: 1,
    };
    let mut bytes = vec![0; ipv6::HEADER_LEN + 1];
    header.emit(&mut bytes);
    bytes[ipv6::HEADER_LEN] = tag;
    bytes
}

/// Sends `packet` down: the frame, if it could go at once.
fn send(interface: &mut EthernetInterface, now: Instant, packet: Vec<u8>) -> Option<Seen> {
    let (mut buf, mut why) = (packet, None);
    interface
        .send(now, &mut buf, &mut why)
        .then(|| read(buf, why))
}

/// What two interfaces on one wire exchanged until both were quiet at `now`: the frames in
/// order, and the packets each handed up.
struct Exchange {
    log: Vec<Seen>,
    up_a: Vec<Vec<u8>>,
    up_b: Vec<Vec<u8>>,
}

fn exchange(a: &mut EthernetInterface, b: &mut EthernetInterface, now: Instant) -> Exchange {
    let mut out = Exchange {
        log: Vec::new(),
        up_a: Vec::new(),
        up_b: Vec::new(),
    };
    loop {
        let from_a = drain(a, now);
        let from_b = drain(b, now);
        if from_a.is_empty() && from_b.is_empty() {
            return out;
        }
        for seen in &from_a {
            out.up_b
                .extend(b.receive(now, &seen.bytes).map(<[u8]>::to_vec));
        }
        for seen in &from_b {
            out.up_a
                .extend(a.receive(now, &seen.bytes).map(<[u8]>::to_vec));
        }
        out.log.extend(from_a);
        out.log.extend(from_b);
    }
}

/// The state of `ip` in the interface's neighbour cache.
fn state(interface: &EthernetInterface, now: Instant, ip: Ipv6Addr) -> Option<NeighbourState> {
    let table = interface.neighbours.table(now);
    table.into_iter().find(|i| i.ip == ip).map(|i| i.state)
}

/// The solicitation or advertisement in `seen`, which must be one.
fn ndp(seen: &Seen) -> (Ipv6Addr, Ipv6Addr, Ndp) {
    let message = seen.ndp.expect("an NDP message");
    (message.src, message.dst, message.ndp)
}

/// `packet` in an IPv6 frame from `from` to `to`, as another host would send it.
fn frame(from: MacAddr, to: MacAddr, packet: &[u8]) -> Vec<u8> {
    let header = ethernet::Repr {
        dst_addr: to,
        src_addr: from,
        ethertype: EtherType::Ipv6,
    };
    let mut bytes = vec![0; ethernet::HEADER_LEN];
    header.emit(&mut bytes);
    bytes.extend_from_slice(packet);
    bytes
}

#[test]
fn a_big_tcp_packet_goes_to_its_destination_like_any_other() {
    use crate::ip::header::{IpProtocol, Repr};
    let dst = std::net::Ipv4Addr::new(10, 77, 0, 1);
    let header = Repr {
        src_addr: std::net::Ipv4Addr::new(10, 77, 0, 2),
        dst_addr: dst,
        protocol: IpProtocol::Tcp,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
        payload_len: 100_000,
    };
    let mut packet = vec![0; header.total_len()];
    header.emit(&mut packet);
    assert_eq!(&packet[2..4], [0, 0], "Total Length 0");
    assert_eq!(super::destination(&packet), Some(dst.into()));
    assert_eq!(
        super::destination(&packet[..60_000]),
        None,
        "cut short: no packet"
    );
}
