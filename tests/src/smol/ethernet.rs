//! What smoltcp's link layer does on an Ethernet wire, read from the frames that pass.
//!
//! smoltcp 0.14 counts no ARP packets and keeps its neighbour cache private (it lives inside
//! `Interface`, with no accessor). Tests still need to know that ARP ran, so the driver reads
//! every frame smoltcp sends and receives, with [`smoltcp::wire`]'s parsers:
//!
//! - ARP packets are counted by operation and direction ([`SmolArpStats`]);
//! - each unicast IPv4 frame smoltcp sends names the MAC address its neighbour cache gave for
//!   the packet's destination: the last one per destination is what the cache holds
//!   ([`SmolStack::neighbours`](super::SmolStack::neighbours)).
//!
//! On a wire that carries bare IP there is nothing to read, and both stay empty.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, Ipv4Packet,
};
use tunstack::device::Medium;
use tunstack::link::ethernet::MacAddr;

/// smoltcp's ARP packets, as they crossed the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmolArpStats {
    /// Requests smoltcp sent ("who has X?", broadcast).
    pub requests_sent: u64,
    /// Replies smoltcp sent, to requests for its address.
    pub replies_sent: u64,
    /// Requests smoltcp received, for any address (smoltcp answers those for its own).
    pub requests_received: u64,
    /// Replies smoltcp received.
    pub replies_received: u64,
}

/// The frames seen so far, kept behind the [`SmolStack`](super::SmolStack)'s lock.
#[derive(Debug, Default)]
pub(super) struct FrameLog {
    pub(super) arp: SmolArpStats,
    /// For each IPv4 destination, the MAC address of the last unicast frame smoltcp sent it.
    pub(super) neighbours: BTreeMap<Ipv4Addr, MacAddr>,
}

impl FrameLog {
    /// Reads a frame smoltcp sent.
    pub(super) fn sent(&mut self, medium: Medium, frame: &[u8]) {
        let Some(frame) = ethernet(medium, frame) else {
            return;
        };
        match frame.ethertype() {
            EthernetProtocol::Arp => match arp_operation(frame.payload()) {
                Some(ArpOperation::Request) => self.arp.requests_sent += 1,
                Some(ArpOperation::Reply) => self.arp.replies_sent += 1,
                _ => {}
            },
            EthernetProtocol::Ipv4 => {
                let dst = frame.dst_addr();
                if let (true, Ok(packet)) =
                    (dst.is_unicast(), Ipv4Packet::new_checked(frame.payload()))
                {
                    self.neighbours
                        .insert(packet.dst_addr(), MacAddr::new(dst.0));
                }
            }
            _ => {}
        }
    }

    /// Reads a frame smoltcp received.
    pub(super) fn received(&mut self, medium: Medium, frame: &[u8]) {
        let Some(frame) = ethernet(medium, frame) else {
            return;
        };
        if frame.ethertype() == EthernetProtocol::Arp {
            match arp_operation(frame.payload()) {
                Some(ArpOperation::Request) => self.arp.requests_received += 1,
                Some(ArpOperation::Reply) => self.arp.replies_received += 1,
                _ => {}
            }
        }
    }
}

/// The Ethernet frame in `bytes`, on a wire that carries frames.
fn ethernet(medium: Medium, bytes: &[u8]) -> Option<EthernetFrame<&[u8]>> {
    match medium {
        Medium::Ethernet => EthernetFrame::new_checked(bytes).ok(),
        Medium::Ip => None,
    }
}

/// The operation of the ARP packet (Ethernet and IPv4) in `payload`.
fn arp_operation(payload: &[u8]) -> Option<ArpOperation> {
    let packet = ArpPacket::new_checked(payload).ok()?;
    match ArpRepr::parse(&packet).ok()? {
        ArpRepr::EthernetIpv4 { operation, .. } => Some(operation),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
