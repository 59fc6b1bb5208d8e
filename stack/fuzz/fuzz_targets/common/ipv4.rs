//! IPv4 for the host fuzz targets (`host_receive`, `host_receive_v6`): packets for the host
//! shaped from the input, and the checks on every IPv4 packet it sends.

use std::net::Ipv4Addr;

use tunstack::ip::fragment::{Fragment, Outcome, Reassembler};
use tunstack::ip::header::{self as ip, IpProtocol};
use tunstack::ip::icmp::header as icmp;
use tunstack::time::Instant;
use tunstack::{tcp, udp};

/// The host's IPv4 address.
pub const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// Makes `bytes` into an IPv4 packet for us, as far as `control` asks: bits 0-1 the protocol,
/// 2 the bytes as they are, 3 keep IHL, 4 keep the source, 5 keep the fragment fields, 6 keep
/// the transport's lengths and checksum, 7 UDP without a checksum.
pub fn shape(control: u8, bytes: &[u8]) -> Vec<u8> {
    if control & 0x04 != 0 {
        return bytes.to_vec();
    }
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

/// An IPv4 packet the host sent must be well-formed and from us. A fragment (of an echo reply
/// larger than the MTU) must follow RFC 791's rules, and the datagram its fragments make,
/// joined by `joiner`, is checked as a whole.
pub fn check(bytes: &[u8], joiner: &mut Reassembler<u16>, now: Instant) {
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
        other => panic!("we never send protocol {other} over IPv4"),
    }
}
