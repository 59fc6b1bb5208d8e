//! IPv6 output: from a transport protocol down to the link.
//!
//! The transport has written its header and data after byte 40; the 40-byte fixed header goes
//! in front, with Next Header naming the transport. A packet larger than the path's MTU (a UDP
//! datagram, an echo reply; TCP never is) goes in fragments, each with a Fragment header
//! ([`super::fragment`]); no other extension header is ever sent.

use std::net::Ipv6Addr;

use tracing::debug;

use super::header::{Repr, HEADER_LEN};
use super::layer::Ipv6Layer;
use super::{fragment, NextHeader};
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

    /// Builds a whole packet and queues it for the link: `fill` writes the upper-layer
    /// payload (`payload_len` bytes), then the fixed header goes in front; larger than the MTU,
    /// it goes in fragments. Returns `false`, sending nothing, when the queue has no room for
    /// all of it or it cannot go at all (over 65,535 bytes).
    pub(crate) fn send(
        &mut self,
        out: &mut PacketQueue,
        addrs: (Ipv6Addr, Ipv6Addr),
        protocol: IpProtocol,
        payload_len: usize,
        why: Option<Reason>,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        if HEADER_LEN + payload_len > self.mtu {
            return self.send_fragments(out, addrs, protocol, payload_len, fill);
        }
        if !out.has_room() {
            return false;
        }
        let header = self.header(addrs, protocol, payload_len);
        out.push_with(HEADER_LEN + payload_len, why, |packet| {
            fill(&mut packet[HEADER_LEN..]);
            self.wrap(packet, &header);
        })
    }

    /// Builds the payload once, then queues its fragments, all or none. The Identification
    /// is a counter from a random start: RFC 7739 asks for values an off-path attacker cannot
    /// guess, which a per-host counter only partly gives (Linux hashes the addresses with a
    /// secret); a teaching stack keeps the counter, visible in captures.
    fn send_fragments(
        &mut self,
        out: &mut PacketQueue,
        addrs: (Ipv6Addr, Ipv6Addr),
        protocol: IpProtocol,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        let count = fragment::plan(payload_len, self.mtu).len();
        if count == 0 || out.free_slots() < count {
            return false;
        }
        let mut payload = vec![0; payload_len];
        fill(&mut payload);
        let header = self.header(addrs, protocol, payload_len);
        let ident = self.next_ident;
        self.next_ident = self.next_ident.wrapping_add(1);
        debug!(
            "ipv6: {payload_len} bytes of {protocol} over MTU {}: {count} fragments (ident {ident:#010x})",
            self.mtu
        );
        let sent = fragment::queue_fragments(out, &header, ident, &payload, self.mtu);
        if sent {
            self.stats.sent += count as u64;
        }
        sent
    }
}
