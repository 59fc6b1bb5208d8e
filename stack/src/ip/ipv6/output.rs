//! IPv6 output: from a transport protocol down to the link.
//!
//! The transport has written its header and data after byte 40; the 40-byte fixed header goes
//! in front, with Next Header naming the transport and no extension headers: a host that
//! sends only whole packets has none to add.

use std::net::Ipv6Addr;

use tracing::debug;

use super::header::{Repr, HEADER_LEN};
use super::layer::Ipv6Layer;
use super::NextHeader;
use crate::ip::IpProtocol;
use crate::link::Reason;
use crate::queue::PacketQueue;

impl Ipv6Layer {
    /// The fixed header of a packet from `src` to `dst` carrying `payload_len` bytes of
    /// `protocol`.
    pub(crate) fn header(
        &self,
        (src, dst): (Ipv6Addr, Ipv6Addr),
        protocol: IpProtocol,
        payload_len: usize,
    ) -> Repr {
        Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: NextHeader::Protocol(protocol),
            hop_limit: self.hop_limit,
            traffic_class: 0,
            flow_label: 0,
            payload_len,
        }
    }

    /// Writes the fixed header in front of a payload that is already in `packet[40..]`.
    pub(crate) fn wrap(&mut self, packet: &mut [u8], header: &Repr) {
        header.emit(&mut packet[..HEADER_LEN]);
        self.stats.sent += 1;
        debug!(
            "ipv6: wrap {} bytes of {} -> {header} ({})",
            header.payload_len,
            header.next_header,
            if self.is_on_link(header.dst_addr) {
                "on-link"
            } else {
                "via the link's peer"
            }
        );
    }

    /// How many packets a datagram with `payload_len` bytes of payload takes: 1 when it fits
    /// the MTU; `None` otherwise (larger datagrams are not sent yet).
    pub(crate) fn packets_for(&self, payload_len: usize) -> Option<usize> {
        (HEADER_LEN + payload_len <= self.mtu).then_some(1)
    }

    /// Builds a whole packet and queues it for the link: `fill` writes the upper-layer
    /// payload (`payload_len` bytes), then the fixed header goes in front. Returns `false`,
    /// sending nothing, when the queue has no room or the packet is larger than the MTU.
    pub(crate) fn send(
        &mut self,
        out: &mut PacketQueue,
        addrs: (Ipv6Addr, Ipv6Addr),
        protocol: IpProtocol,
        payload_len: usize,
        why: Option<Reason>,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        if self.packets_for(payload_len).is_none() || !out.has_room() {
            return false;
        }
        let header = self.header(addrs, protocol, payload_len);
        out.push_with(HEADER_LEN + payload_len, why, |packet| {
            fill(&mut packet[HEADER_LEN..]);
            self.wrap(packet, &header);
        })
    }
}
