//! IPv4 output: from a transport protocol down to the link.
//!
//! Encapsulation, step by step: the transport layer has written its header and data into the
//! buffer after byte 20; here the 20-byte IPv4 header goes in front of it, naming us as the source
//! and the peer as the destination. There is one link, so "routing" is a choice between a
//! destination on our network and one the link's far end must forward (the TUN peer is the Linux
//! kernel, which routes like any router).

use std::net::Ipv4Addr;

use tracing::debug;

use super::header::{IpProtocol, Repr, HEADER_LEN};
use super::Ipv4Layer;
use crate::link::Reason;
use crate::queue::PacketQueue;

impl Ipv4Layer {
    /// The header of the next packet we send to `dst`.
    ///
    /// Every packet goes with Don't Fragment set: the stack sizes its segments to the MTU and does
    /// not fragment ([RFC 1191] path MTU discovery style).
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

    /// Runs `send` with `ttl` as the TTL of the packets it builds (a socket's `IP_TTL`), then
    /// goes back to the default; `None` keeps the default.
    pub(crate) fn with_ttl<R>(&mut self, ttl: Option<u8>, send: impl FnOnce(&mut Self) -> R) -> R {
        let Some(ttl) = ttl else {
            return send(self);
        };
        let default = std::mem::replace(&mut self.ttl, ttl);
        let result = send(self);
        self.ttl = default;
        result
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

    /// Builds a whole packet to `dst` and queues it for the link: `fill` writes the transport
    /// segment (header and data, `payload_len` bytes), then the IP header goes in front.
    ///
    /// Returns `false`, sending nothing, when the queue is full.
    pub(crate) fn send(
        &mut self,
        out: &mut PacketQueue,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload_len: usize,
        why: Option<Reason>,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        if !out.has_room() {
            return false;
        }
        let header = self.next_header(dst, protocol, payload_len);
        out.push_with(HEADER_LEN + payload_len, why, |packet| {
            fill(&mut packet[HEADER_LEN..]);
            self.wrap(packet, &header);
        })
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
}
