//! IPv4 output: from a transport protocol down to the link.
//!
//! Encapsulation, step by step: the transport layer has written its header and data into the
//! buffer after byte 20; here the 20-byte IPv4 header goes in front of it, naming us as the source
//! and the peer as the destination. There is one link, so "routing" is a choice between a
//! destination on our network and one the link's far end must forward (the TUN peer is the Linux
//! kernel, which routes like any router).
//!
//! A datagram larger than the MTU (UDP, an echo reply) goes out in fragments ([RFC 791
//! section 3.2]): each a copy of the header with the same Identification, Don't Fragment clear,
//! the offset in 8-byte units, More Fragments on all but the last, and a piece of the payload,
//! a multiple of 8 bytes long except in the last. TCP never comes here with more than the MTU.
//!
//! [RFC 791 section 3.2]: https://www.rfc-editor.org/rfc/rfc791#section-3.2

use std::net::Ipv4Addr;

use tracing::debug;

use super::fragment::plan;
use super::header::{IpProtocol, Repr, HEADER_LEN};
use super::Ipv4Layer;
use crate::link::Reason;
use crate::queue::PacketQueue;

impl Ipv4Layer {
    /// The header of the next packet we send to `dst`.
    ///
    /// Every whole packet goes with Don't Fragment set: TCP sizes its segments to the MTU and
    /// never fragments ([RFC 1191] path MTU discovery style); only the fragments of a UDP
    /// datagram or echo reply larger than the MTU go without it ([`Ipv4Layer::send`]).
    ///
    /// [RFC 1191]: https://www.rfc-editor.org/rfc/rfc1191
    pub(crate) fn next_header(
        &mut self,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload_len: usize,
    ) -> Repr {
        let ident = self.next_ident;
        self.next_ident = self.next_ident.wrapping_add(1);
        Repr {
            src_addr: self.addr(),
            dst_addr: dst,
            protocol,
            ttl: self.ttl,
            tos: 0,
            ident,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len,
        }
    }

    /// Writes the IPv4 header in front of a payload that is already in `packet[20..]`.
    pub(crate) fn wrap(&mut self, packet: &mut [u8], header: &Repr) {
        header.emit(&mut packet[..HEADER_LEN]);
        self.stats.sent += 1;
        debug!(
            "ip: wrap {} bytes of {} -> {header} ({})",
            header.payload_len,
            header.protocol,
            if self.cidr.contains(header.dst_addr) {
                "on-link"
            } else {
                "via the link's peer"
            }
        );
    }

    /// How many packets a datagram with `payload_len` bytes of payload takes on this link: 1
    /// when it fits the MTU, else its fragments; `None` when the MTU cannot carry a fragment.
    #[cfg(test)]
    pub(crate) fn packets_for(&self, payload_len: usize) -> Option<usize> {
        self.packets_within(payload_len, self.mtu)
    }

    /// Like [`Ipv4Layer::packets_for`], on a path of `mtu` bytes.
    pub(crate) fn packets_within(&self, payload_len: usize, mtu: usize) -> Option<usize> {
        if HEADER_LEN + payload_len <= mtu {
            return Some(1);
        }
        let pieces = plan(payload_len, mtu.saturating_sub(HEADER_LEN)).len();
        (pieces > 0).then_some(pieces)
    }

    /// Builds a whole packet to `dst` and queues it for the link: `fill` writes the transport
    /// segment (header and data, `payload_len` bytes), then the IP header goes in front. A
    /// datagram larger than the MTU goes as fragments (see the module's documentation); the
    /// caller keeps `payload_len` within 65,515 bytes.
    ///
    /// Returns `false`, sending nothing, when the queue has no room for all of it (or the MTU
    /// cannot carry a fragment: [`Ipv4Layer::packets_for`] tells).
    pub(crate) fn send(
        &mut self,
        out: &mut PacketQueue,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload_len: usize,
        why: Option<Reason>,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        if HEADER_LEN + payload_len > self.mtu {
            return self.send_fragments(out, dst, protocol, payload_len, fill);
        }
        if !out.has_room() {
            return false;
        }
        let header = self.next_header(dst, protocol, payload_len);
        out.push_with(HEADER_LEN + payload_len, why, |packet| {
            fill(&mut packet[HEADER_LEN..]);
            self.wrap(packet, &header);
        })
    }

    /// Builds the datagram's payload once, then queues it in fragments, each with its own
    /// header: all or nothing.
    fn send_fragments(
        &mut self,
        out: &mut PacketQueue,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        let pieces = plan(payload_len, self.mtu.saturating_sub(HEADER_LEN));
        if pieces.is_empty() || out.free_slots() < pieces.len() {
            return false;
        }
        let mut payload = vec![0; payload_len];
        fill(&mut payload);
        let mut header = self.next_header(dst, protocol, payload_len);
        header.dont_fragment = false;
        let count = pieces.len();
        debug!(
            "ip: {} bytes of {protocol} over MTU {}: {count} fragments (ident {:#06x})",
            payload_len, self.mtu, header.ident
        );
        for (i, piece) in pieces.into_iter().enumerate() {
            header.fragment_offset = piece.offset as u16;
            header.more_fragments = piece.more;
            header.payload_len = piece.len;
            let why = Reason::Fragment {
                index: i + 1,
                count,
                total_len: HEADER_LEN + payload_len,
            };
            let data = &payload[piece.offset..piece.offset + piece.len];
            out.push_with(HEADER_LEN + piece.len, Some(why), |packet| {
                packet[HEADER_LEN..].copy_from_slice(data);
                self.wrap(packet, &header);
            });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::header::Packet;

    #[test]
    fn wraps_a_payload_in_a_valid_header() {
        let mut ip = Ipv4Layer::new("10.77.0.2/24".parse().unwrap(), 64, 0xfffe);
        let mut out = PacketQueue::new(4);
        let peer = Ipv4Addr::new(10, 77, 0, 1);
        for _ in 0..3 {
            assert!(ip.send(&mut out, peer, IpProtocol::Udp, 4, None, |p| {
                p.copy_from_slice(b"data")
            }));
        }
        let mut buf = Vec::new();
        let mut idents = Vec::new();
        while out.pop_into(&mut buf).is_some() {
            let packet = Packet::new_checked(&buf[..]).unwrap();
            let header = Repr::parse(&packet).unwrap();
            assert_eq!(header.src_addr, Ipv4Addr::new(10, 77, 0, 2));
            assert_eq!(header.dst_addr, peer);
            assert!(header.dont_fragment);
            assert_eq!(packet.payload(), b"data");
            idents.push(header.ident);
        }
        assert_eq!(
            idents,
            [0xfffe, 0xffff, 0],
            "the identification counter wraps"
        );
        assert_eq!(ip.stats.sent, 3);
    }

    /// A 4008-byte ICMP message on MTU 1500 (`ping -s 4000`'s reply): three fragments.
    #[test]
    fn fragments_a_datagram_larger_than_the_mtu() {
        let mut ip = Ipv4Layer::new("10.77.0.2/24".parse().unwrap(), 64, 0x1234);
        let mut out = PacketQueue::new(8);
        let peer = Ipv4Addr::new(10, 77, 0, 1);
        let data: Vec<u8> = (0..4008u32).map(|i| (i * 13) as u8).collect();
        assert_eq!(ip.packets_for(4008), Some(3));
        assert!(ip.send(&mut out, peer, IpProtocol::Icmp, 4008, None, |p| {
            p.copy_from_slice(&data)
        }));
        let mut got = Vec::new();
        let mut buf = Vec::new();
        while let Some(why) = out.pop_into(&mut buf) {
            let packet = Packet::new_checked(&buf[..]).unwrap();
            let header = Repr::parse(&packet).expect("a valid header checksum");
            got.push((
                buf.len(),
                header.fragment_offset,
                header.more_fragments,
                header.dont_fragment,
                header.ident,
                why.map(|w| w.to_string()),
            ));
            // Round trip through our own reassembler.
            let key = crate::ip::fragment::Ipv4FragKey::new(peer, peer, header.protocol, 1);
            let fragment = crate::ip::fragment::Fragment {
                offset: usize::from(header.fragment_offset),
                more: header.more_fragments,
                data: packet.payload(),
            };
            let outcome = ip.reassembler.insert(
                crate::time::Instant::ZERO,
                key,
                &buf[..HEADER_LEN],
                fragment,
            );
            if let crate::ip::fragment::Outcome::Complete(whole) = outcome {
                assert_eq!(whole.payload, data);
                assert_eq!(whole.fragments, 3);
            }
        }
        let words = |i| {
            Some(format!(
                "fragment {i} of 3 of a 4028-byte datagram (larger than the MTU)"
            ))
        };
        assert_eq!(
            got,
            [
                (1500, 0, true, false, 0x1234, words(1)),
                (1500, 1480, true, false, 0x1234, words(2)),
                (1068, 2960, false, false, 0x1234, words(3)),
            ]
        );
        assert!(ip.reassembler.is_empty(), "the round trip completed");
        assert_eq!(ip.stats.sent, 3);
        assert_eq!(ip.next_ident, 0x1235, "one identification for all");
    }

    #[test]
    fn fragments_go_all_or_nothing() {
        let mut ip = Ipv4Layer::new("10.77.0.2/24".parse().unwrap(), 64, 1);
        let mut out = PacketQueue::new(2);
        let peer = Ipv4Addr::new(10, 77, 0, 1);
        assert!(!ip.send(&mut out, peer, IpProtocol::Udp, 4008, None, |_| {}));
        assert_eq!(out.len(), 0);
        ip.mtu = 27;
        assert_eq!(
            ip.packets_for(100),
            None,
            "no room for 8 bytes after the header"
        );
    }
}
