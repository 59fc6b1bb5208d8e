//! TCP segmentation in software: what a card with TSO, or the kernel's GSO, does with a
//! super-packet, for the places that need the wire's own segments: the driver, which cuts
//! TCP's trains for a device without TSO (software GSO), and the impairment wrapper, which
//! must corrupt one segment of a burst, not a sum the kernel would then recompute.
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

use bytes::Bytes;

use super::{Checksum, Gso, PacketInfo};
use crate::ip::checksum;
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
    segment_parts((packet, &[]), &gso, link_len, Vec::new, |seg| out.push(seg))
}

/// [`segment`] for a super-packet given in parts: its headers (and perhaps the start of its
/// data) in `head`, the rest of its data in `tail`, as the stack hands a packet to a device
/// ([`Device::poll_send_parts`](crate::device::Device::poll_send_parts)). Each segment is
/// built in a buffer `new_buf` gives (emptied first), so that a caller with spent buffers
/// allocates nothing, and handed to `each`. This is the driver's software GSO
/// ([`Config::gso`](crate::host::Config::gso)).
///
/// Errors: as [`segment`].
pub fn segment_parts(
    (head, tail): (&[u8], &[Bytes]),
    gso: &Gso,
    link_len: usize,
    new_buf: impl FnMut() -> Vec<u8>,
    mut each: impl FnMut(Vec<u8>),
) -> Result<(), WireError> {
    let pieces = Pieces { head, tail };
    cut(
        pieces,
        gso,
        link_len,
        1,
        new_buf,
        |mut seg, tcp_at, (src, dst)| {
            TcpPacket::new_unchecked(&mut seg[tcp_at..]).fill_checksum(src, dst);
            each(seg);
        },
    )
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
    let pieces = Pieces {
        head: packet,
        tail: &[],
    };
    cut(
        pieces,
        &gso,
        link_len,
        per,
        Vec::new,
        |mut seg, tcp_at, (src, dst)| {
            let mut tcp = TcpPacket::new_unchecked(&mut seg[tcp_at..]);
            tcp.fill_partial_checksum(src, dst);
            // The data's length from the headers the piece has (`cut` checked them), not from
            // `gso.header_len`, which a caller could have wrong.
            let payload = tcp.payload().len();
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

/// A packet in parts: `head` (the headers, and perhaps data), then the pieces of `tail`.
#[derive(Clone, Copy)]
struct Pieces<'a> {
    head: &'a [u8],
    tail: &'a [Bytes],
}

impl Pieces<'_> {
    /// Appends to `out` the bytes `start..end` of the data, which begins at `head[headers..]`
    /// and goes on through the tail.
    fn append_data(&self, headers: usize, (mut start, end): (usize, usize), out: &mut Vec<u8>) {
        let data = self.head.get(headers..).unwrap_or_default();
        let pieces = std::iter::once(data).chain(self.tail.iter().map(|b| &b[..]));
        let mut at = 0;
        for piece in pieces {
            let piece_end = at + piece.len();
            if start < end && start < piece_end {
                let from = start - at;
                let to = end.min(piece_end) - at;
                out.extend_from_slice(&piece[from..to]);
                start = at + to;
            }
            at = piece_end;
        }
    }
}

/// Cuts `packet` into pieces of `per` segments of `gso.size` bytes each (the last gets what is
/// left), each built in a buffer from `new_buf`, and hands each to `each` with where its TCP
/// header starts and the addresses; the headers are fixed but for the TCP checksum.
fn cut(
    packet: Pieces<'_>,
    gso: &Gso,
    link_len: usize,
    per: usize,
    mut new_buf: impl FnMut() -> Vec<u8>,
    mut each: impl FnMut(Vec<u8>, usize, (IpAddr, IpAddr)),
) -> Result<(), WireError> {
    let ip = packet.head.get(link_len..).ok_or(WireError::Truncated)?;
    let rest = packet.tail.iter().map(Bytes::len).sum();
    let (ip_len, src, dst) = ip_header(ip, gso.v6, rest)?;
    let tcp = TcpPacket::new_checked(ip.get(ip_len..).ok_or(WireError::Truncated)?)?;
    let headers = link_len + ip_len + tcp.header_len();
    let seq = tcp.seq_number();
    let data_len = packet.head.len().saturating_sub(headers) + rest;
    let size = usize::from(gso.size).max(1) * per;
    let count = data_len.div_ceil(size).max(1);
    for (i, start) in (0..count).map(|i| (i, i * size)) {
        let end = (start + size).min(data_len);
        let mut seg = new_buf();
        seg.clear();
        seg.reserve(headers + end - start);
        seg.extend_from_slice(&packet.head[..headers]);
        packet.append_data(headers, (start, end), &mut seg);
        // Every bit of the flags' word as the super-packet had it, but these.
        let mut cleared = Flags::empty();
        if i + 1 < count {
            cleared |= Flags::FIN | Flags::PSH;
        }
        if i > 0 {
            cleared |= Flags::CWR;
        }
        // Each wire segment has its own Identification, so a piece starts at its first's.
        fix_ip(&mut seg[link_len..], gso.v6, ip_len, i * per)?;
        let mut tcp = TcpPacket::new_unchecked(&mut seg[link_len + ip_len..]);
        tcp.set_seq_number(seq + start);
        tcp.clear_flags(cleared);
        each(seg, link_len + ip_len, (src, dst));
    }
    Ok(())
}

/// The IP header's length and addresses, checking it carries TCP; `ip` is the packet from its
/// IP header on, but for `rest` bytes that lie elsewhere.
fn ip_header(ip: &[u8], v6: bool, rest: usize) -> Result<(usize, IpAddr, IpAddr), WireError> {
    if v6 {
        let header = match rest {
            0 => Ipv6Packet::new_checked(ip)?,
            _ => Ipv6Packet::new_checked_head(ip, rest)?,
        };
        if u8::from(header.next_header()) != 6 {
            return Err(WireError::Unsupported);
        }
        let addrs = (header.src_addr().into(), header.dst_addr().into());
        Ok((crate::ip::ipv6::HEADER_LEN, addrs.0, addrs.1))
    } else {
        let header = match rest {
            0 => Ipv4Packet::new_checked_super(ip)?,
            _ => Ipv4Packet::new_checked_head(ip, rest)?,
        };
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
        // Two words change: the checksum follows them (RFC 1624), as the super-packet's was
        // right (we built it), rather than summing the header again for every segment.
        let mut header = Ipv4Packet::new_unchecked(ip);
        let (old_total, old_ident) = (header.total_len(), header.ident());
        let ident = old_ident.wrapping_add(i as u16);
        header.set_total_len(total);
        header.set_ident(ident);
        let sum = checksum::update(header.checksum(), old_total, total);
        header.set_checksum(checksum::update(sum, old_ident, ident));
    }
    Ok(())
}
