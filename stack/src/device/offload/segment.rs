//! TCP segmentation in software: what a card with TSO, or the kernel's GSO, does with a
//! super-packet, for the one place that needs the wire's own segments (the impairment wrapper,
//! which must corrupt one segment of a burst, not a sum the kernel would then recompute).
//!
//! Each segment gets a copy of the headers and `gso_size` bytes of the data (the last gets what
//! is left), then its own fields, as Linux's `tcp_gso_segment` sets them:
//!
//! ```text
//!  super-packet  [IP|TCP seq=S flags=CWR..PSH FIN][ data 0 .. n·size ]
//!  segment 0     [IP len, id  |TCP seq=S          CWR][ data 0 .. size ]
//!  segment 1     [IP len, id+1|TCP seq=S+size        ][ data size .. 2·size ]
//!  ...
//!  segment n-1   [IP len, id+n-1|TCP seq=S+(n-1)·size  PSH FIN][ the rest ]
//! ```
//!
//! and whole checksums: IPv4's header checksum and TCP's, over each segment's pseudo-header.

use std::net::IpAddr;

use super::{Checksum, Gso, PacketInfo};
use crate::ip::header::Packet as Ipv4Packet;
use crate::ip::ipv6::header::Packet as Ipv6Packet;
use crate::tcp::flags::Flags;
use crate::tcp::header::Packet as TcpPacket;
use crate::wire::WireError;

/// Cuts the super-packet `packet` (its IP header at `link_len`) into the segments `info` says,
/// each a packet of its own with whole checksums, pushed onto `out`. A packet that is no
/// super-packet comes out alone, with its checksum completed if it was partial.
///
/// Errors: anything that is not a well-formed IPv4 or IPv6 (without extension headers) TCP
/// packet.
pub fn segment(
    packet: &[u8],
    info: &PacketInfo,
    link_len: usize,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), WireError> {
    let Some(gso) = info.gso else {
        let mut whole = packet.to_vec();
        if let Checksum::Partial { start, offset } = info.checksum {
            if !super::complete_checksum(&mut whole, start, offset) {
                return Err(WireError::Truncated);
            }
        }
        out.push(whole);
        return Ok(());
    };
    cut(packet, &gso, link_len, 1, |mut seg, tcp_at, (src, dst)| {
        TcpPacket::new_unchecked(&mut seg[tcp_at..]).fill_checksum(src, dst);
        out.push(seg);
    })
}

/// Cuts the super-packet `packet` (its IP header at `link_len`) into super-packets of whole
/// segments, none longer than `max_len` bytes, each pushed onto `out` with what the device is
/// to do for it: its checksum left partial, and cut into segments in turn. For a BIG TCP
/// burst a device refused (the kernel found no memory for it in one piece): the same segments
/// reach the wire in the end, as Linux's own `tcp_gso_segment` would have cut them.
///
/// Errors: as [`segment`], and for a packet that is no super-packet, or `max_len` too short
/// for its headers and one segment.
pub fn split(
    packet: &[u8],
    info: &PacketInfo,
    link_len: usize,
    max_len: usize,
    out: &mut Vec<(Vec<u8>, PacketInfo)>,
) -> Result<(), WireError> {
    let gso = info.gso.ok_or(WireError::Unsupported)?;
    let size = usize::from(gso.size).max(1);
    let per = max_len.saturating_sub(usize::from(gso.header_len)) / size;
    if per == 0 {
        return Err(WireError::BadLength);
    }
    cut(
        packet,
        &gso,
        link_len,
        per,
        |mut seg, tcp_at, (src, dst)| {
            let mut tcp = TcpPacket::new_unchecked(&mut seg[tcp_at..]);
            tcp.fill_partial_checksum(src, dst);
            let payload = seg.len() - usize::from(gso.header_len);
            let info = PacketInfo {
                checksum: Checksum::Partial {
                    start: tcp_at as u16,
                    offset: 16,
                },
                gso: (payload > size).then_some(gso),
            };
            out.push((seg, info));
        },
    )
}

/// Cuts `packet` into pieces of `per` segments of `gso.size` bytes each (the last gets what is
/// left) and hands each to `each` with where its TCP header starts and the addresses; the
/// headers are fixed but for the TCP checksum.
fn cut(
    packet: &[u8],
    gso: &Gso,
    link_len: usize,
    per: usize,
    mut each: impl FnMut(Vec<u8>, usize, (IpAddr, IpAddr)),
) -> Result<(), WireError> {
    let ip = packet.get(link_len..).ok_or(WireError::Truncated)?;
    let (ip_len, src, dst) = ip_header(ip, gso.v6)?;
    let tcp = TcpPacket::new_checked(&ip[ip_len..])?;
    let headers = link_len + ip_len + tcp.header_len();
    let (seq, flags) = (tcp.seq_number(), tcp.flags());
    let data = &packet[headers..];
    let size = usize::from(gso.size).max(1) * per;
    let count = data.len().div_ceil(size).max(1);
    for (i, start) in (0..count).map(|i| (i, i * size)) {
        let chunk = &data[start..(start + size).min(data.len())];
        let mut seg = Vec::with_capacity(headers + chunk.len());
        seg.extend_from_slice(&packet[..headers]);
        seg.extend_from_slice(chunk);
        let last = i + 1 == count;
        let mut seg_flags = flags;
        if !last {
            seg_flags.remove(Flags::FIN | Flags::PSH);
        }
        if i > 0 {
            seg_flags.remove(Flags::CWR);
        }
        // Each wire segment has its own Identification, so a piece starts at its first's.
        fix_ip(&mut seg[link_len..], gso.v6, ip_len, i * per)?;
        let mut tcp = TcpPacket::new_unchecked(&mut seg[link_len + ip_len..]);
        tcp.set_seq_number(seq + start);
        tcp.set_flags(seg_flags);
        each(seg, link_len + ip_len, (src, dst));
    }
    Ok(())
}

/// The IP header's length and addresses, checking it carries TCP.
fn ip_header(ip: &[u8], v6: bool) -> Result<(usize, IpAddr, IpAddr), WireError> {
    if v6 {
        let header = Ipv6Packet::new_checked(ip)?;
        if u8::from(header.next_header()) != 6 {
            return Err(WireError::Unsupported);
        }
        let addrs = (header.src_addr().into(), header.dst_addr().into());
        Ok((crate::ip::ipv6::HEADER_LEN, addrs.0, addrs.1))
    } else {
        let header = Ipv4Packet::new_checked_super(ip)?;
        if u8::from(header.protocol()) != 6 {
            return Err(WireError::Unsupported);
        }
        let addrs = (header.src_addr().into(), header.dst_addr().into());
        Ok((header.header_len(), addrs.0, addrs.1))
    }
}

/// Sets segment `i`'s IP length (and, for IPv4, its Identification and header checksum).
fn fix_ip(ip: &mut [u8], v6: bool, ip_len: usize, i: usize) -> Result<(), WireError> {
    let total = u16::try_from(ip.len()).map_err(|_| WireError::BadLength)?;
    if v6 {
        Ipv6Packet::new_unchecked(ip).set_payload_len(total - ip_len as u16);
    } else {
        let mut header = Ipv4Packet::new_unchecked(ip);
        let ident = header.ident().wrapping_add(i as u16);
        header.set_total_len(total);
        header.set_ident(ident);
        header.fill_checksum();
    }
    Ok(())
}
