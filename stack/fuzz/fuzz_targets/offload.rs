//! The offload codecs (`device::offload`): the virtio-net header, and TCP segmentation in
//! software (`segment`, `segment_parts`, `split`), which the driver runs on every train TCP
//! sends on a device without TSO and the impairment wrapper on every super-packet it impairs.
//!
//! Random bytes seldom make a TCP super-packet, so most inputs are shaped into one:
//!
//! ```text
//! input  := mode:u8 vnet[10] size:u16be cuts:u8 max:u16be rest...
//!
//! mode bit 0   raw: `rest` is the packet as it is, `vnet` its virtio-net header
//!      bit 1   IPv6 (else IPv4), with the Gso saying the same unless bit 2
//!      bit 2   the Gso says the other IP version
//!      bit 3   IPv4 options (rest[0] & 7 words of them)
//!      bit 4   a Gso size of 0
//!      bit 5   leave the TCP checksum as the input has it (else partial, as TCP leaves it)
//! rest   := flags:u8 tcp_words:u8 ident:u16be seq:u32be options... data...
//! ```
//!
//! What is checked besides "no panic":
//!
//! - a virtio-net header that decodes encodes to one that decodes the same;
//! - a packet `segment` takes comes out as whole packets: each a valid IPv4 or IPv6 TCP packet
//!   with right checksums (IP's and TCP's), its data at most the Gso size, the sequence numbers
//!   one after the other from the super-packet's, every flag kept but FIN and PSH (last only)
//!   and CWR (first only), IPv4 Identifications counting up, and all the data, in order;
//! - `segment_parts`, given the same packet as headers and a few slices, gives the very same
//!   segments;
//! - `split` into pieces of at most `max` bytes gives pieces no longer than that, each with its
//!   checksum partial and a Gso only when it holds more than one segment, and cutting each
//!   piece gives, all together, the same segments as cutting the whole.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tunstack::device::offload::{self, Checksum, Gso, PacketInfo, VNET_HEADER_LEN};
use tunstack::ip::checksum;

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const DST4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const DST6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
/// TCP's flag bits in byte 13.
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const CWR: u8 = 0x80;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((vnet, rest)) = rest.split_at_checked(VNET_HEADER_LEN) else {
        return;
    };
    let [s0, s1, cuts, m0, m1, rest @ ..] = rest else {
        return;
    };
    let size = u16::from_be_bytes([*s0, *s1]);
    let max = usize::from(u16::from_be_bytes([*m0, *m1]));

    if mode & 1 != 0 {
        // Raw: the header as the device gave it, the packet as it is.
        let Ok(info) = PacketInfo::from_vnet_header(vnet, rest.len()) else {
            return;
        };
        let again = PacketInfo::from_vnet_header(&info.to_vnet_header(), rest.len());
        assert_eq!(again, Ok(info), "the virtio-net header round-trips");
        exercise(rest, &info, *cuts, max);
        return;
    }
    let Some((packet, info)) = shape(mode, size, rest) else {
        return;
    };
    exercise(&packet, &info, *cuts, max);
});

/// Runs the three cutters on `packet` and checks what they agree on.
fn exercise(packet: &[u8], info: &PacketInfo, cuts: u8, max: usize) {
    let mut whole = Vec::new();
    let result = offload::segment(packet, info, 0, &mut whole);
    if let (Ok(()), Some(gso)) = (&result, info.gso) {
        check_segments(packet, &gso, &whole);
    }

    // The same packet in parts: headers (and perhaps some data), then slices.
    if let Some(gso) = info.gso {
        let header_len = usize::from(gso.header_len).min(packet.len());
        let mut pieces = Vec::new();
        let mut at = header_len + usize::from(cuts & 3);
        let mut step = usize::from(cuts >> 2) + 1;
        let head = &packet[..at.min(packet.len())];
        while at < packet.len() {
            let end = (at + step * 97).min(packet.len());
            pieces.push(Bytes::copy_from_slice(&packet[at..end]));
            at = end;
            step = step % 7 + 1;
        }
        let mut parted = Vec::new();
        let parts =
            offload::segment_parts((head, &pieces), &gso, 0, Vec::new, |seg| parted.push(seg));
        if result.is_ok() && parts.is_ok() {
            assert_eq!(parted, whole, "in parts, the same segments");
        }
    }

    // Split into super-packets of at most `max` bytes, then each cut.
    let mut split = Vec::new();
    if offload::split(packet, info, 0, max, &mut split).is_ok() {
        let mut again = Vec::new();
        for (piece, piece_info) in &split {
            assert!(
                piece.len() <= max,
                "{} bytes split from at most {max}",
                piece.len()
            );
            assert!(
                matches!(piece_info.checksum, Checksum::Partial { .. }),
                "a split piece's checksum is partial"
            );
            offload::segment(piece, piece_info, 0, &mut again).expect("a split piece cuts");
        }
        if result.is_ok() {
            assert_eq!(again, whole, "split then cut, the same segments");
        }
    }
    if std::env::var_os("TUNSTACK_FUZZ_LOG").is_some() {
        eprintln!(
            "offload: {} bytes, {info:?}: segment {result:?} ({} segments), split into {}",
            packet.len(),
            whole.len(),
            split.len()
        );
    }
}

/// A super-packet made from the input: IPv4 (with options, perhaps) or IPv6, a TCP header
/// with the input's flags, numbers and options, the rest as data.
fn shape(mode: u8, size: u16, rest: &[u8]) -> Option<(Vec<u8>, PacketInfo)> {
    let [flags, tcp_words, i0, i1, q0, q1, q2, q3, body @ ..] = rest else {
        return None;
    };
    let v6 = mode & 2 != 0;
    let ip_options = if mode & 8 != 0 && !v6 {
        usize::from(body.first().copied().unwrap_or(0) & 7) * 4
    } else {
        0
    };
    let tcp_len = 20 + usize::from(tcp_words % 11) * 4;
    let (options, payload) = body.split_at_checked(tcp_len - 20)?;
    let ip_len = if v6 { 40 } else { 20 + ip_options };
    let total = ip_len + tcp_len + payload.len();
    if total > usize::from(u16::MAX) + if v6 { 40 } else { 0 } {
        return None;
    }
    let mut packet = vec![0u8; ip_len];
    let (src, dst): (IpAddr, IpAddr) = if v6 {
        packet[0] = 0x60;
        packet[4..6].copy_from_slice(&((total - 40) as u16).to_be_bytes());
        packet[6] = 6;
        packet[7] = 64;
        packet[8..24].copy_from_slice(&SRC6.octets());
        packet[24..40].copy_from_slice(&DST6.octets());
        (SRC6.into(), DST6.into())
    } else {
        packet[0] = 0x40 | (ip_len / 4) as u8;
        packet[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        packet[4..6].copy_from_slice(&[*i0, *i1]);
        packet[6] = 0x40; // DF
        packet[8] = 64;
        packet[9] = 6;
        packet[12..16].copy_from_slice(&SRC4.octets());
        packet[16..20].copy_from_slice(&DST4.octets());
        // Options: no-ops, then whatever the input had (never parsed by the cutters).
        packet[20..ip_len].fill(1);
        let sum = checksum::finish(checksum::add(0, &packet));
        packet[10..12].copy_from_slice(&sum.to_be_bytes());
        (SRC4.into(), DST4.into())
    };
    let tcp_at = packet.len();
    packet.extend_from_slice(&[0x9c, 0x40, 0x00, 0x50, *q0, *q1, *q2, *q3]);
    packet.extend_from_slice(&[0, 0, 0, 1]); // ACK number
    packet.push((tcp_len as u8 / 4) << 4);
    packet.push(*flags);
    packet.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]); // window, checksum, urgent
    packet.extend_from_slice(options);
    packet.extend_from_slice(payload);
    let checksum = if mode & 0x20 != 0 {
        Checksum::Complete
    } else {
        // As TCP leaves it for the device: the pseudo-header's sum only.
        let sum = checksum::pseudo_header_ip(src, dst, 6, packet.len() - tcp_at);
        let folded = !checksum::finish(sum);
        packet[tcp_at + 16..tcp_at + 18].copy_from_slice(&folded.to_be_bytes());
        Checksum::Partial {
            start: tcp_at as u16,
            offset: 16,
        }
    };
    let gso = Gso {
        size: if mode & 0x10 != 0 { 0 } else { size },
        header_len: (ip_len + tcp_len) as u16,
        v6: v6 ^ (mode & 4 != 0),
        ecn: flags & CWR != 0,
    };
    Some((
        packet,
        PacketInfo {
            checksum,
            gso: Some(gso),
        },
    ))
}

/// The checks on `segments`, cut from `packet` as `gso` says.
fn check_segments(packet: &[u8], gso: &Gso, segments: &[Vec<u8>]) {
    let (ip_len, v6) = ip_header(packet);
    let tcp = &packet[ip_len..];
    let tcp_len = usize::from(tcp[12] >> 4) * 4;
    let data = &tcp[tcp_len..];
    let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
    let flags = tcp[13];
    let size = usize::from(gso.size).max(1);
    assert_eq!(
        segments.len(),
        data.len().div_ceil(size).max(1),
        "one per size"
    );
    let ident = u16::from_be_bytes([packet[4], packet[5]]);
    let mut joined = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let (seg_ip_len, seg_v6) = ip_header(seg);
        assert_eq!((seg_ip_len, seg_v6), (ip_len, v6), "the same IP header");
        let (src, dst) = addresses(seg, v6);
        if v6 {
            let payload_len = usize::from(u16::from_be_bytes([seg[4], seg[5]]));
            assert_eq!(payload_len + 40, seg.len(), "IPv6 payload length");
        } else {
            let total = usize::from(u16::from_be_bytes([seg[2], seg[3]]));
            assert_eq!(total, seg.len(), "IPv4 total length");
            assert_eq!(
                checksum::checksum(&seg[..ip_len]),
                0,
                "IPv4 header checksum"
            );
            let id = u16::from_be_bytes([seg[4], seg[5]]);
            assert_eq!(
                id,
                ident.wrapping_add(i as u16),
                "Identification of segment {i}"
            );
        }
        let seg_tcp = &seg[ip_len..];
        let sum = checksum::pseudo_header_ip(src, dst, 6, seg_tcp.len());
        assert_eq!(
            checksum::finish(checksum::add(sum, seg_tcp)),
            0,
            "TCP checksum"
        );
        assert_eq!(seg_tcp[..4], tcp[..4], "ports");
        assert_eq!(seg_tcp[8..13], tcp[8..13], "ACK number and header length");
        assert_eq!(seg_tcp[14..16], tcp[14..16], "window");
        assert_eq!(
            seg_tcp[18..tcp_len],
            tcp[18..tcp_len],
            "urgent pointer, options"
        );
        let seg_seq = u32::from_be_bytes([seg_tcp[4], seg_tcp[5], seg_tcp[6], seg_tcp[7]]);
        assert_eq!(
            seg_seq,
            seq.wrapping_add((i * size) as u32),
            "sequence number"
        );
        let last = i + 1 == segments.len();
        let mut want = flags;
        if !last {
            want &= !(FIN | PSH);
        }
        if i > 0 {
            want &= !CWR;
        }
        assert_eq!(
            seg_tcp[13],
            want,
            "flags of segment {i} of {}",
            segments.len()
        );
        let seg_data = &seg_tcp[tcp_len..];
        assert!(seg_data.len() <= size, "at most the Gso size");
        joined.extend_from_slice(seg_data);
    }
    assert_eq!(joined, data, "all the data, in order");
}

/// The IP header's length and version of a packet `shape` made (or one that passed `segment`).
fn ip_header(packet: &[u8]) -> (usize, bool) {
    match packet[0] >> 4 {
        6 => (40, true),
        _ => (usize::from(packet[0] & 0x0f) * 4, false),
    }
}

/// Source and destination of a packet of version `v6` (IPv4 otherwise).
fn addresses(packet: &[u8], v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        let octets = |at: usize| -> [u8; 16] {
            let mut a = [0; 16];
            a.copy_from_slice(&packet[at..at + 16]);
            a
        };
        (
            Ipv6Addr::from(octets(8)).into(),
            Ipv6Addr::from(octets(24)).into(),
        )
    } else {
        let a =
            |at: usize| Ipv4Addr::new(packet[at], packet[at + 1], packet[at + 2], packet[at + 3]);
        (a(12).into(), a(16).into())
    }
}
