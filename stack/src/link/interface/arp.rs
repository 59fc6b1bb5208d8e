//! The interface's ARP ([RFC 826]): announcing our IPv4 address, answering requests for it,
//! learning senders, and asking for the neighbours the cache needs.
//!
//! [RFC 826]: https://www.rfc-editor.org/rfc/rfc826

use std::net::Ipv4Addr;

use tracing::debug;

use super::EthernetInterface;
use crate::link::arp::header::{self as arp, Operation};
use crate::link::ethernet::{EtherType, MacAddr};
use crate::link::neighbour::Learned;
use crate::link::reason::{ArpWhy, Reason};
use crate::stats::DropReason;
use crate::time::Instant;

impl EthernetInterface {
    /// Queues a gratuitous ARP, our address and MAC told to everyone ([RFC 5227 3]).
    ///
    /// [RFC 5227 3]: https://www.rfc-editor.org/rfc/rfc5227#section-3
    pub(super) fn announce(&mut self) {
        let us = self.addr.address();
        let announce = arp::Repr {
            operation: Operation::Request,
            sender_mac: self.mac,
            sender_ip: us,
            target_mac: MacAddr::UNSPECIFIED,
            target_ip: us,
        };
        let mac = self.mac;
        self.send_arp(MacAddr::BROADCAST, &announce, ArpWhy::Announce { mac });
    }

    /// An ARP packet: learn the sender (RFC 826's merge), and answer a request for our address.
    pub(super) fn receive_arp(&mut self, now: Instant, src: MacAddr, payload: &[u8]) {
        self.arp_stats.received += 1;
        let repr = match arp::Packet::new_checked(payload).and_then(|p| arp::Repr::parse(&p)) {
            Ok(repr) => repr,
            Err(err) => {
                debug!(%err, "arp: dropped");
                self.arp_stats.dropped.add(err.into());
                return;
            }
        };
        debug!(%src, "arp: {repr}");
        let us = self.addr.address();
        let sender_ok = repr.sender_mac.is_unicast()
            && !repr.sender_ip.is_unspecified()
            && !repr.sender_ip.is_broadcast()
            && !repr.sender_ip.is_multicast()
            && repr.sender_mac != self.mac;
        if repr.sender_ip == us && repr.sender_mac != self.mac {
            // Someone else claims our address (RFC 5227 2.4): nothing to learn; say so.
            tracing::warn!(mac = %repr.sender_mac, "arp: another host uses our address {us}");
            self.arp_stats.dropped.add(DropReason::BadSource);
            return;
        }
        let for_us = repr.target_ip == us;
        if sender_ok {
            let how = match repr.operation {
                Operation::Reply if for_us => Learned::Answer,
                _ => Learned::Unsolicited { create: for_us },
            };
            let sender = repr.sender_ip.into();
            self.neighbours.learn(now, sender, repr.sender_mac, how);
            self.take_actions();
        }
        // A probe (sender 0.0.0.0) is answered; a sender no host may be (multicast,
        // broadcast, our own MAC) is not.
        let answerable = sender_ok || repr.sender_ip.is_unspecified();
        if repr.operation == Operation::Request && for_us && answerable {
            self.reply(&repr);
            self.arp_stats.delivered += 1;
        } else if !sender_ok {
            self.arp_stats.dropped.add(DropReason::BadSource);
        } else {
            self.arp_stats.delivered += 1;
        }
    }

    /// Answers `request`, for our address, to the asker alone. A probe from a host checking
    /// whether our address is free (sender 0.0.0.0, RFC 5227 2.1.1) is answered too: that is
    /// how it learns that it is not.
    fn reply(&mut self, request: &arp::Repr) {
        let reply = arp::Repr {
            operation: Operation::Reply,
            sender_mac: self.mac,
            sender_ip: self.addr.address(),
            target_mac: request.sender_mac,
            target_ip: request.sender_ip,
        };
        let to = request.sender_ip;
        if request.sender_mac.is_unicast() && request.sender_mac != self.mac {
            self.send_arp(request.sender_mac, &reply, ArpWhy::Reply { to });
        }
    }

    /// Sends "who has `target`?": to everyone, or to `to` alone when checking a stale entry.
    pub(super) fn request(
        &mut self,
        target: Ipv4Addr,
        to: Option<MacAddr>,
        attempt: u8,
        waiting: usize,
    ) {
        let repr = arp::Repr {
            operation: Operation::Request,
            sender_mac: self.mac,
            sender_ip: self.addr.address(),
            target_mac: MacAddr::UNSPECIFIED,
            target_ip: target,
        };
        let why = ArpWhy::Request {
            target,
            attempt,
            waiting,
            probe: to,
        };
        self.send_arp(to.unwrap_or(MacAddr::BROADCAST), &repr, why);
    }

    /// Queues an ARP packet in a frame to `dst`.
    fn send_arp(&mut self, dst: MacAddr, repr: &arp::Repr, why: ArpWhy) {
        debug!(%dst, "arp: {repr}");
        let mut packet = vec![0; repr.buffer_len()];
        repr.emit(&mut packet);
        if self.queue(packet, dst, EtherType::Arp, Reason::Arp(why)) {
            self.arp_stats.sent += 1;
        } else {
            self.arp_stats.dropped.add(DropReason::QueueFull);
        }
    }
}
