use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::ip::header::{IpProtocol, Packet as Ipv4Packet, Repr as Ipv4Repr};
use crate::ip::ipv6::header::{Packet as Ipv6Packet, Repr as Ipv6Repr};
use crate::ip::ipv6::NextHeader;
use crate::tcp::flags::Flags;
use crate::tcp::header::{Packet as TcpPacket, Repr as TcpRepr};
use crate::tcp::options::{SackBlocks, Timestamps};
use crate::tcp::seq::SeqNumber;

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const DST4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const DST6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);

fn tcp_header(payload_len: usize, flags: Flags) -> TcpRepr {
    TcpRepr {
        src_port: 7,
        dst_port: 40_000,
        seq: SeqNumber(0xffff_f000), // wraps inside the burst
        ack: SeqNumber(1234),
        flags,
        window: 500,
        urgent: 0,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack_blocks: SackBlocks::new(),
        timestamps: Some(Timestamps { value: 9, echo: 8 }),
        payload_len,
    }
}

/// A TCP packet of `data` (IP header at `link`), its checksum partial when `partial`.
pub(crate) fn tcp_packet(
    v6: bool,
    link: usize,
    data: &[u8],
    flags: Flags,
    partial: bool,
) -> Vec<u8> {
    let header = tcp_header(data.len(), flags);
    let ip_len = if v6 { 40 } else { 20 };
    let tcp_len = header.buffer_len();
    let mut packet = vec![0xee; link];
    packet.resize(link + ip_len + header.header_len(), 0);
    packet.extend_from_slice(data);
    let (src, dst): (IpAddr, IpAddr) = if v6 {
        (SRC6.into(), DST6.into())
    } else {
        (SRC4.into(), DST4.into())
    };
    let tcp = &mut packet[link + ip_len..];
    if partial {
        header.emit_partial(tcp, src, dst);
    } else {
        header.emit(tcp, src, dst);
    }
    let ip = &mut packet[link..];
    if v6 {
        Ipv6Repr {
            src_addr: SRC6,
            dst_addr: DST6,
            next_header: NextHeader::Protocol(IpProtocol::Tcp),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
            payload_len: tcp_len,
        }
        .emit(ip);
    } else {
        Ipv4Repr {
            src_addr: SRC4,
            dst_addr: DST4,
            protocol: IpProtocol::Tcp,
            ttl: 64,
            tos: 0,
            ident: 0xfffe, // wraps inside the burst
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len: tcp_len,
        }
        .emit(ip);
    }
    packet
}

pub(crate) fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_header_round_trips_through_its_ten_bytes() {
    let infos = [
        PacketInfo::PLAIN,
        PacketInfo {
            checksum: Checksum::Verified,
            gso: None,
        },
        PacketInfo {
            checksum: Checksum::Partial {
                start: 34,
                offset: 16,
            },
            gso: Some(Gso {
                size: 1448,
                header_len: 66,
                v6: false,
                ecn: true,
            }),
        },
        PacketInfo {
            checksum: Checksum::Partial {
                start: 40,
                offset: 16,
            },
            gso: Some(Gso {
                size: 1428,
                header_len: 72,
                v6: true,
                ecn: false,
            }),
        },
    ];
    for info in infos {
        let header = info.to_vnet_header();
        assert_eq!(PacketInfo::from_vnet_header(&header, 2000), Ok(info));
    }
}

#[test]
fn a_header_reads_as_the_kernel_writes_it() {
    // NEEDS_CSUM, TCPV4, hdr_len 52, gso_size 1448, csum_start 20, csum_offset 16.
    let mut header = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    header[2..4].copy_from_slice(&52u16.to_ne_bytes());
    header[4..6].copy_from_slice(&1448u16.to_ne_bytes());
    header[6..8].copy_from_slice(&20u16.to_ne_bytes());
    header[8..10].copy_from_slice(&16u16.to_ne_bytes());
    let info = PacketInfo::from_vnet_header(&header, 64_000).unwrap();
    assert_eq!(
        info.checksum,
        Checksum::Partial {
            start: 20,
            offset: 16
        }
    );
    assert_eq!(
        info.gso.map(|g| (g.size, g.header_len, g.v6)),
        Some((1448, 52, false))
    );
    assert!(info.checksum_trusted());
    assert_eq!(info.segments(52 + 1448 * 44 + 1), 45);
}

#[test]
fn a_bad_header_is_an_error_not_a_guess() {
    assert_eq!(
        PacketInfo::from_vnet_header(&[0; 9], 100),
        Err(VnetError::Truncated)
    );
    let udp = [0, 3, 0, 0, 0x10, 0, 0, 0, 0, 0];
    assert_eq!(
        PacketInfo::from_vnet_header(&udp, 100),
        Err(VnetError::GsoType(3))
    );
    let no_size = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        PacketInfo::from_vnet_header(&no_size, 100),
        Err(VnetError::GsoSize)
    );
    let mut outside = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    outside[6..8].copy_from_slice(&90u16.to_ne_bytes());
    outside[8..10].copy_from_slice(&16u16.to_ne_bytes());
    assert_eq!(
        PacketInfo::from_vnet_header(&outside, 100),
        Err(VnetError::ChecksumOutside {
            start: 90,
            offset: 16
        })
    );
}

#[test]
fn a_partial_checksum_completed_is_the_whole_checksum() {
    for v6 in [false, true] {
        for len in [0, 1, 7, 1448, 3001] {
            let whole = tcp_packet(v6, 0, &data(len), Flags::ACK, false);
            let mut partial = tcp_packet(v6, 0, &data(len), Flags::ACK, true);
            assert_ne!(whole, partial, "v6 {v6}, {len} bytes");
            let start = if v6 { 40 } else { 20 };
            assert!(complete_checksum(&mut partial, start, 16));
            assert_eq!(whole, partial, "v6 {v6}, {len} bytes");
        }
    }
    assert!(
        !complete_checksum(&mut [0; 30], 20, 16),
        "field past the end"
    );
}

#[test]
fn software_segmentation_makes_the_segments_a_card_would() {
    for (v6, link) in [(false, 0), (true, 0), (false, 14), (true, 14)] {
        let ip_len = if v6 { 40 } else { 20 };
        let payload = data(10_000);
        let flags = Flags::ACK | Flags::PSH | Flags::FIN | Flags::CWR;
        let packet = tcp_packet(v6, link, &payload, flags, true);
        let headers = link + ip_len + 32;
        let info = PacketInfo {
            checksum: Checksum::Partial {
                start: (link + ip_len) as u16,
                offset: 16,
            },
            gso: Some(Gso {
                size: 1448,
                header_len: headers as u16,
                v6,
                ecn: true,
            }),
        };
        let mut out = Vec::new();
        segment(&packet, &info, link, &mut out).unwrap();
        assert_eq!(out.len(), 7, "10,000 bytes in segments of 1,448");
        assert_eq!(out.len(), info.segments(packet.len()));
        let mut joined = Vec::new();
        for (i, seg) in out.iter().enumerate() {
            assert_eq!(seg[..link], packet[..link], "the link header is copied");
            let ip = &seg[link..];
            let (src, dst): (IpAddr, IpAddr) = if v6 {
                let header = Ipv6Packet::new_checked(ip).unwrap();
                assert_eq!(header.total_len(), ip.len());
                (SRC6.into(), DST6.into())
            } else {
                let header = Ipv4Packet::new_checked(ip).unwrap();
                let repr = Ipv4Repr::parse(&header).unwrap();
                assert_eq!(usize::from(header.total_len()), ip.len());
                assert_eq!(repr.ident, 0xfffe_u16.wrapping_add(i as u16));
                (SRC4.into(), DST4.into())
            };
            let tcp = TcpPacket::new_checked(&ip[ip_len..]).unwrap();
            let repr = TcpRepr::parse(&tcp, src, dst).expect("a whole, valid checksum");
            assert_eq!(repr.seq, SeqNumber(0xffff_f000) + i * 1448);
            let last = i == 6;
            assert_eq!(repr.flags.fin(), last, "FIN on the last segment only");
            assert_eq!(repr.flags.psh(), last, "PSH on the last segment only");
            assert_eq!(
                repr.flags.contains(Flags::CWR),
                i == 0,
                "CWR on the first only"
            );
            assert_eq!(repr.timestamps, tcp_header(0, flags).timestamps);
            assert!(tcp.payload().len() <= 1448);
            joined.extend_from_slice(tcp.payload());
        }
        assert_eq!(joined, payload, "the data, whole and in order");
    }
}

#[test]
fn each_segment_keeps_every_bit_of_the_headers_but_its_own_fields() {
    // The reserved bits between the data offset and the flags (zero in what we generate,
    // RFC 9293 3.1) and AE are copied as they are, as a card copies them; only FIN, PSH and
    // CWR change from segment to segment.
    let payload = data(3_000);
    let mut packet = tcp_packet(
        false,
        0,
        &payload,
        Flags::ACK | Flags::PSH | Flags::AE,
        true,
    );
    packet[20 + 12] |= 0x0e;
    let info = segments_of_1448(0, false);
    let mut out = Vec::new();
    segment(&packet, &info, 0, &mut out).unwrap();
    assert_eq!(out.len(), 3);
    for (i, seg) in out.iter().enumerate() {
        assert_eq!(
            seg[32], packet[32],
            "data offset, reserved bits and AE of segment {i}"
        );
        let psh = if i == 2 { 0x08 } else { 0 };
        assert_eq!(seg[33], 0x10 | psh, "flags of segment {i}");
        let tcp = TcpPacket::new_checked(&seg[20..]).unwrap();
        assert!(
            tcp.verify_checksum(SRC4, DST4),
            "segment {i}'s checksum covers them"
        );
    }
}

#[test]
fn a_packet_that_is_no_super_packet_comes_out_alone_with_its_checksum_whole() {
    let partial = tcp_packet(false, 0, &data(100), Flags::ACK, true);
    let whole = tcp_packet(false, 0, &data(100), Flags::ACK, false);
    let info = PacketInfo {
        checksum: Checksum::Partial {
            start: 20,
            offset: 16,
        },
        gso: None,
    };
    let mut out = Vec::new();
    segment(&partial, &info, 0, &mut out).unwrap();
    assert_eq!(out, vec![whole]);
}

#[test]
fn segmentation_refuses_what_is_not_tcp() {
    let mut packet = tcp_packet(false, 0, &data(3000), Flags::ACK, true);
    packet[9] = 17; // UDP
    let info = PacketInfo {
        checksum: Checksum::Complete,
        gso: Some(Gso {
            size: 1000,
            header_len: 52,
            v6: false,
            ecn: false,
        }),
    };
    let mut out = Vec::new();
    assert!(segment(&packet, &info, 0, &mut out).is_err());
    assert!(segment(&packet[..30], &info, 0, &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn shifting_moves_the_offsets_past_an_ethernet_header() {
    let info = PacketInfo {
        checksum: Checksum::Partial {
            start: 20,
            offset: 16,
        },
        gso: Some(Gso {
            size: 1448,
            header_len: 52,
            v6: false,
            ecn: false,
        }),
    }
    .shifted(14);
    assert_eq!(
        info.checksum,
        Checksum::Partial {
            start: 34,
            offset: 16
        }
    );
    assert_eq!(info.gso.map(|g| g.header_len), Some(66));
}

/// A BIG TCP super-packet of `len` bytes of data after `link` bytes of link header, and what
/// its sender says of it.
fn big_tcp_packet(link: usize, payload: &[u8]) -> (Vec<u8>, PacketInfo) {
    let flags = Flags::ACK | Flags::PSH | Flags::FIN | Flags::CWR;
    let packet = tcp_packet(false, link, payload, flags, true);
    (packet, segments_of_1448(link, true))
}

/// What TCP says of an IPv4 super-packet it built (after `link` bytes of link header, with
/// timestamps): its checksum partial, to be cut into segments of 1,448 bytes.
fn segments_of_1448(link: usize, ecn: bool) -> PacketInfo {
    PacketInfo {
        checksum: Checksum::Partial {
            start: (link + 20) as u16,
            offset: 16,
        },
        gso: Some(Gso {
            size: 1448,
            header_len: (link + 20 + 32) as u16,
            v6: false,
            ecn,
        }),
    }
}

#[test]
fn a_big_tcp_packet_refused_and_split_makes_the_same_segments_on_the_wire() {
    for link in [0, 14] {
        let payload = data(150_000);
        let (packet, info) = big_tcp_packet(link, &payload);
        assert_eq!(Ipv4Packet::new_unchecked(&packet[link..]).total_len(), 0);
        let mut wire = Vec::new();
        segment(&packet, &info, link, &mut wire).expect("cut as one");
        assert_eq!(wire.len(), 104, "150,000 bytes in segments of 1,448");
        let mut pieces = Vec::new();
        split(&packet, &info, link, 65_535 + link, &mut pieces).expect("split");
        // 45 segments (65,160 bytes) fit a 65,535-byte packet with its 52 bytes of headers.
        let lens: Vec<usize> = pieces.iter().map(|(p, _)| p.len() - link - 52).collect();
        assert_eq!(lens, [65_160, 65_160, 19_680]);
        let mut again = Vec::new();
        for (piece, piece_info) in &pieces {
            let ip = Ipv4Packet::new_checked(&piece[link..]).expect("within 16 bits");
            assert_eq!(usize::from(ip.total_len()), piece.len() - link);
            assert_eq!(piece_info.checksum, info.checksum, "left partial");
            let mut whole = piece.clone();
            assert!(complete_checksum(&mut whole, (link + 20) as u16, 16));
            let tcp = TcpPacket::new_checked(&whole[link + 20..]).unwrap();
            TcpRepr::parse(&tcp, SRC4, DST4).expect("its partial sum completes to a whole one");
            segment(piece, piece_info, link, &mut again).expect("each piece cut");
        }
        assert_eq!(again, wire, "the same segments, identifications and flags");
        let mut none = Vec::new();
        assert!(
            split(&packet, &info, link, 100, &mut none).is_err(),
            "no room"
        );
        assert!(split(&packet, &PacketInfo::PLAIN, link, 65_535, &mut none).is_err());
    }
}

#[test]
fn a_big_tcp_packets_partial_sum_is_the_one_linux_cuts_segments_from() {
    // Linux's tcp_gso_segment takes the super-packet's length out of its partial sum, as 32
    // bits (`htonl(~len + segment length)`), and each segment's length in: what is left must
    // be the segment's own pseudo-header sum, or every segment's checksum on the wire is wrong.
    let (packet, _) = big_tcp_packet(0, &data(150_000));
    let tcp_len = (packet.len() - 20) as u32;
    assert!(tcp_len > 0xffff);
    let field = u64::from(u16::from_be_bytes([packet[36], packet[37]]));
    let segment_len = 1448 + 32;
    let delta = (!tcp_len).wrapping_add(segment_len);
    let cut = !checksum::finish(field + u64::from(delta >> 16) + u64::from(delta & 0xffff));
    let own = checksum::pseudo_header_ip(SRC4.into(), DST4.into(), 6, segment_len as usize);
    assert_eq!(cut, !checksum::finish(own));
}

#[test]
fn a_gso_header_length_past_the_real_headers_is_no_panic() {
    // `split` sizes its pieces with the Gso's header length, but reads each piece's data
    // length from the headers it has: a Gso that claims more header than there is makes
    // small pieces, not an overflow.
    let (packet, mut info) = big_tcp_packet(0, &data(5_000));
    if let Some(gso) = info.gso.as_mut() {
        gso.header_len = 2_000;
    }
    let mut pieces = Vec::new();
    split(&packet, &info, 0, 4_000, &mut pieces).expect("split");
    let lens: Vec<usize> = pieces.iter().map(|(p, _)| p.len() - 52).collect();
    assert_eq!(lens, [1_448, 1_448, 1_448, 656]);
    assert!(
        pieces.iter().all(|(_, i)| i.gso.is_none()),
        "one segment each"
    );
}
