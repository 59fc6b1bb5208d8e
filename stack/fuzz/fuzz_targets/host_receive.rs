//! The whole receive path: packets into [`Host::receive`] of a host at 10.77.0.2/24, every
//! answer out of [`Host::transmit`], and each answer checked with our own parsers.
//!
//! Random bytes almost never pass the IPv4 checks (version, lengths, checksum, destination), so
//! a fuzzer fed raw bytes would spend its time in the first layer. Instead each input is a list
//! of packets, and a control byte per packet says what to make right before it goes in:
//!
//! ```text
//! input   := record*
//! record  := control:u8 delay_ms:u8 len:u16be bytes[len]     (a short last record takes the rest)
//!
//! control bits 0-1  protocol: 0 keep the input's byte, 1 ICMP, 2 UDP, 3 TCP
//!         bit  2    raw: send the bytes exactly as they are, nothing below applies
//!         bit  3    keep the input's IHL (IPv4 options), when it fits
//!         bit  4    keep the input's source address (else one in 10.77.0.0/24)
//!         bit  5    keep the input's fragment fields (else not a fragment)
//!         bit  6    keep the transport's lengths and checksum as they are
//!         bit  7    UDP: send no checksum (0)
//! ```
//!
//! The destination, Total Length, a non-zero TTL and the header checksum are always made right
//! unless the record is raw.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use tunstack::ip::fragment::{Fragment, Outcome, Reassembler, ReassemblyConfig};
use tunstack::ip::header::{self as ip, IpProtocol};
use tunstack::ip::icmp::header as icmp;
use tunstack::time::Instant;
use tunstack::{tcp, udp, Config, Host, Ipv4Cidr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fuzz_target!(|data: &[u8]| {
    let mut config = Config::new(Ipv4Cidr::new(US, 24).expect("a /24"));
    config.seed = Some(0x7457_0a4d_0002);
    let mtu = config.mtu;
    let mut host = Host::new(config);
    let mut now = Instant::ZERO;
    let mut rest = data;
    let mut out = Vec::new();
    let mut joiner = Reassembler::new(ReassemblyConfig::default());
    while let [control, delay_ms, len_hi, len_lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*len_hi, *len_lo])).min(tail.len());
        let (bytes, after) = tail.split_at(len);
        rest = after;
        now += std::time::Duration::from_millis(u64::from(*delay_ms));

        let packet = if control & 0x04 != 0 {
            bytes.to_vec()
        } else {
            shape(*control, bytes)
        };
        host.receive(now, &packet);
        while host.transmit(now, &mut out).is_some() {
            check_sent(&out, mtu, &mut joiner, now);
        }
        assert!(
            joiner.is_empty(),
            "every fragmented datagram went out whole"
        );
    }
});

/// Makes `bytes` into an IPv4 packet for us, as far as `control` asks.
fn shape(control: u8, bytes: &[u8]) -> Vec<u8> {
    let mut packet = bytes.to_vec();
    let input_ihl = usize::from(packet.first().copied().unwrap_or(0) & 0x0f);
    let header_len = if control & 0x08 != 0 && input_ihl >= 5 {
        input_ihl * 4
    } else {
        ip::HEADER_LEN
    };
    if packet.len() < header_len {
        packet.resize(header_len, 0);
    }
    packet.truncate(usize::from(u16::MAX));
    // Byte 0: version 4 and the header length; the ICMP/UDP/TCP protocol numbers.
    packet[0] = 0x40 | (header_len / 4) as u8;
    match control & 0x03 {
        1 => packet[9] = 1,
        2 => packet[9] = 17,
        3 => packet[9] = 6,
        _ => {}
    }
    if control & 0x20 == 0 {
        packet[6] &= 0x40; // keep DF, clear MF and the offset
        packet[7] = 0;
    }
    if packet[8] == 0 {
        packet[8] = 64;
    }
    if control & 0x10 == 0 {
        packet[12..15].copy_from_slice(&[10, 77, 0]);
    }
    packet[16..20].copy_from_slice(&US.octets());
    let total_len = packet.len() as u16;
    packet[2..4].copy_from_slice(&total_len.to_be_bytes());

    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    if control & 0x40 == 0 {
        let segment = &mut packet[header_len..];
        match IpProtocol::from(packet_protocol(control, bytes)) {
            IpProtocol::Icmp if segment.len() >= icmp::HEADER_LEN => {
                icmp::Packet::new_unchecked(&mut *segment).fill_checksum();
            }
            IpProtocol::Udp if segment.len() >= udp::header::HEADER_LEN => {
                let len = segment.len() as u16;
                let mut datagram = udp::header::Packet::new_unchecked(&mut *segment);
                datagram.set_len(len);
                if control & 0x80 != 0 {
                    datagram.set_checksum(0);
                } else {
                    datagram.fill_checksum(src, US);
                }
            }
            IpProtocol::Tcp if segment.len() >= tcp::header::HEADER_LEN => {
                let mut segment = tcp::header::Packet::new_unchecked(&mut *segment);
                segment.fill_checksum(src, US);
            }
            _ => {}
        }
    }
    let mut header = ip::Packet::new_unchecked(&mut packet[..]);
    header.fill_checksum();
    packet
}

/// The protocol byte `shape` ends up with.
fn packet_protocol(control: u8, bytes: &[u8]) -> u8 {
    match control & 0x03 {
        1 => 1,
        2 => 17,
        3 => 6,
        _ => bytes.get(9).copied().unwrap_or(0),
    }
}

/// Everything the host sends must be a well-formed packet from us, no larger than the MTU. A
/// fragment (of an echo reply larger than the MTU) must follow RFC 791's rules, and the
/// datagram its fragments make, joined by `joiner`, is checked as a whole.
fn check_sent(bytes: &[u8], mtu: usize, joiner: &mut Reassembler<u16>, now: Instant) {
    assert!(
        bytes.len() <= mtu,
        "sent {} bytes over MTU {mtu}",
        bytes.len()
    );
    let packet = ip::Packet::new_checked(bytes).expect("we send whole IPv4 packets");
    let header = ip::Repr::parse(&packet).expect("with a right checksum");
    assert_eq!(header.src_addr, US);
    assert_eq!(packet.total_len() as usize, bytes.len(), "no padding");
    let joined;
    let payload = if packet.is_fragment() {
        assert!(!header.dont_fragment, "a fragment has DF clear");
        assert_eq!(
            header.protocol,
            IpProtocol::Icmp,
            "only echo replies are fragmented"
        );
        if header.more_fragments {
            assert_eq!(
                header.payload_len % 8,
                0,
                "all but the last: a multiple of 8 bytes"
            );
        }
        let fragment = Fragment {
            offset: usize::from(header.fragment_offset),
            more: header.more_fragments,
            data: packet.payload(),
        };
        match joiner.insert(now, header.ident, &bytes[..20], fragment) {
            Outcome::Held => return,
            Outcome::Complete(whole) => {
                joined = whole.payload;
                &joined[..]
            }
            Outcome::Dropped { reason, .. } => panic!("our fragments are consistent: {reason}"),
        }
    } else {
        packet.payload()
    };
    match header.protocol {
        IpProtocol::Icmp => {
            let message = icmp::Packet::new_checked(payload).expect("a whole ICMP header");
            let repr = icmp::Repr::parse(&message).expect("a right ICMP checksum");
            if let Some(quote) = repr.invoking() {
                let (quoted, _) = ip::parse_quoted(quote).expect("errors quote an IPv4 header");
                assert_eq!(
                    quoted.dst_addr, US,
                    "we only complain about packets sent to us"
                );
                assert_eq!(quoted.src_addr, header.dst_addr, "to whoever sent them");
            }
        }
        IpProtocol::Udp => {
            let datagram = udp::header::Packet::new_checked(payload).expect("a whole datagram");
            udp::header::Repr::parse(&datagram, US, header.dst_addr).expect("a right checksum");
        }
        IpProtocol::Tcp => {
            let segment = tcp::header::Packet::new_checked(payload).expect("a whole segment");
            tcp::header::Repr::parse(&segment, US, header.dst_addr).expect("a right checksum");
        }
        IpProtocol::Icmpv6 => panic!("we never send ICMPv6 over IPv4"),
        IpProtocol::Unknown(n) => panic!("we never send protocol {n}"),
    }
}
