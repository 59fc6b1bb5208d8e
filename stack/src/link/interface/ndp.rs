//! The interface's Neighbor Discovery ([RFC 4861]) and duplicate address detection
//! ([RFC 4862 5.4]): what the link layer does with the solicitations and advertisements it
//! takes out of IPv6 packets, and the ones it sends. Why these live in the link layer, and
//! the exchanges drawn, are in [`crate::link::ndp`].
//!
//! [RFC 4861]: https://www.rfc-editor.org/rfc/rfc4861
//! [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4

use std::net::Ipv6Addr;

use tracing::debug;

use super::EthernetInterface;
use crate::ip::addr6::solicited_node;
use crate::link::ethernet::{EtherType, MacAddr};
use crate::link::ndp::dad::{AddrState, DadStep};
use crate::link::ndp::message::{Message, Ndp, ALL_NODES};
use crate::link::neighbour::{Advert, Learned};
use crate::link::reason::{NdpWhy, Reason};
use crate::stats::DropReason;
use crate::time::Instant;

impl EthernetInterface {
    /// A Neighbor Discovery message from the frame source `from`, as [`Message`] read it:
    /// valid, or the reason to drop it.
    pub(super) fn receive_ndp(
        &mut self,
        now: Instant,
        from: MacAddr,
        read: Result<Message, DropReason>,
    ) {
        self.ndp_stats.received += 1;
        let message = match read {
            Ok(message) => message,
            Err(reason) => {
                debug!(%from, %reason, "ndp: invalid message, dropped");
                self.ndp_stats.dropped.add(reason);
                return;
            }
        };
        debug!(%from, src = %message.src, dst = %message.dst, "ndp: {}", message.ndp);
        let done = match message.ndp {
            Ndp::Solicit { target, source_mac } => {
                self.receive_solicit(now, from, message.src, target, source_mac)
            }
            Ndp::Advert {
                solicited,
                override_,
                target,
                target_mac,
                ..
            } => {
                let advert = Advert {
                    solicited,
                    override_,
                };
                self.receive_advert(now, from, target, target_mac, advert)
            }
        };
        match done {
            Ok(()) => self.ndp_stats.delivered += 1,
            Err(reason) => self.ndp_stats.dropped.add(reason),
        }
    }

    /// A solicitation from `src` for `target` ([RFC 4861 7.2.3], [RFC 4862 5.4.3]): answered
    /// if `target` is one of our checked addresses; a duplicate if it is one we are checking
    /// and the asker checks it too (from `::`).
    ///
    /// [RFC 4861 7.2.3]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.3
    /// [RFC 4862 5.4.3]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4.3
    fn receive_solicit(
        &mut self,
        now: Instant,
        from: MacAddr,
        src: Ipv6Addr,
        target: Ipv6Addr,
        source_mac: Option<MacAddr>,
    ) -> Result<(), DropReason> {
        match self.ours6.state(target) {
            Some(AddrState::Preferred) => {}
            Some(AddrState::Tentative { .. }) if src.is_unspecified() => {
                // Another host checks the same address at the same time: neither may have it.
                self.ours6
                    .duplicate(target, from, "another host is checking it too");
                return Ok(());
            }
            // Resolution of an address we are still checking (ignored, RFC 4862 5.4.3), of one
            // another host has, or of an address that is not ours.
            _ => return Err(DropReason::NotForUs),
        }
        if src.is_unspecified() {
            // Another host checks whether our address is free: it is not, and it has no
            // address to hear the answer on, so all nodes hear it ([RFC 4861 7.2.4]).
            let to = MacAddr::ipv6_multicast(ALL_NODES);
            self.advertise(target, ALL_NODES, to, NdpWhy::Defend { target });
            return Ok(());
        }
        if self.ours6.state(src).is_some() || source_mac.is_some_and(|mac| !self.can_be(mac)) {
            // Another host uses one of our addresses, or a MAC address no host may have.
            return Err(DropReason::BadSource);
        }
        if let Some(mac) = source_mac {
            // RFC 4861 7.2.3: the asker's address, STALE until something proves it.
            let how = Learned::Unsolicited { create: true };
            self.neighbours.learn(now, src.into(), mac, how);
            self.take_actions();
        }
        // Without the option (a unicast solicitation may leave it out), the frame's source
        // is where the asker is.
        let to = source_mac.unwrap_or(from);
        self.advertise(target, src, to, NdpWhy::Advert { to: src });
        Ok(())
    }

    /// An advertisement for `target` ([RFC 4861 7.2.5], [RFC 4862 5.4.4]): a duplicate if we
    /// are checking `target`; otherwise news for the neighbour cache.
    ///
    /// [RFC 4861 7.2.5]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.5
    /// [RFC 4862 5.4.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4.4
    fn receive_advert(
        &mut self,
        now: Instant,
        from: MacAddr,
        target: Ipv6Addr,
        target_mac: Option<MacAddr>,
        advert: Advert,
    ) -> Result<(), DropReason> {
        match self.ours6.state(target) {
            None => {}
            Some(AddrState::Tentative { .. }) => {
                let mac = target_mac.unwrap_or(from);
                self.ours6.duplicate(target, mac, "it answered our check");
                return Ok(());
            }
            Some(AddrState::Preferred) => {
                let mac = target_mac.unwrap_or(from);
                tracing::warn!(%mac, "ndp: another host advertises our address {target}");
                return Err(DropReason::BadSource);
            }
            Some(AddrState::Duplicate) => return Err(DropReason::NotForUs),
        }
        if target_mac.is_some_and(|mac| !self.can_be(mac)) {
            return Err(DropReason::BadSource);
        }
        self.neighbours
            .advertised(now, target.into(), target_mac, advert);
        self.take_actions();
        Ok(())
    }

    /// Whether another host on the link may have MAC address `mac`: unicast, and not ours.
    fn can_be(&self, mac: MacAddr) -> bool {
        mac.is_unicast() && mac != self.mac
    }

    /// Sends "`target` is at our MAC address" from `target` to `dst` (at `to`): Override set,
    /// so that it replaces what the asker has; Solicited unless it goes to a group.
    fn advertise(&mut self, target: Ipv6Addr, dst: Ipv6Addr, to: MacAddr, why: NdpWhy) {
        let advert = Ndp::Advert {
            solicited: !dst.is_multicast(),
            override_: true,
            router: false,
            target,
            target_mac: Some(self.mac),
        };
        self.send_ndp(advert, target, dst, to, why);
    }

    /// Sends "who has `target`?" for the neighbour cache ([RFC 4861 7.2.2]): to the target's
    /// solicited-node group, or to `to` alone when checking a stale entry; from our address
    /// on the target's side of the link (link-local for a link-local target), with our MAC
    /// address in the Source Link-Layer Address option.
    ///
    /// [RFC 4861 7.2.2]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.2
    pub(super) fn solicit(
        &mut self,
        target: Ipv6Addr,
        to: Option<MacAddr>,
        attempt: u8,
        waiting: usize,
    ) {
        let Some(src) = self.ours6.source_for(target) else {
            // Every address of ours is still being checked, or another host's: nothing to
            // ask from. The cache asks again in a second.
            debug!(%target, "ndp: no usable address to ask for {target} from");
            self.ndp_stats.dropped.add(DropReason::BadSource);
            return;
        };
        let (dst, mac) = match to {
            Some(mac) => (target, mac),
            None => {
                let group = solicited_node(target);
                (group, MacAddr::ipv6_multicast(group))
            }
        };
        let solicit = Ndp::Solicit {
            target,
            source_mac: Some(self.mac),
        };
        let why = NdpWhy::Solicit {
            target,
            attempt,
            waiting,
            probe: to,
        };
        self.send_ndp(solicit, src, dst, mac, why);
    }

    /// Runs duplicate address detection at `now`: sends the solicitations that are due, from
    /// `::` to each tentative address's solicited-node group, without a source MAC option
    /// ([RFC 4862 5.4.2]).
    ///
    /// [RFC 4862 5.4.2]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4.2
    pub(super) fn run_dad(&mut self, now: Instant) {
        for step in self.ours6.poll(now) {
            let DadStep::Solicit { target, attempt } = step;
            debug!(%target, attempt, "ndp: is {target} free? (duplicate address detection)");
            let group = solicited_node(target);
            let solicit = Ndp::Solicit {
                target,
                source_mac: None,
            };
            let (src, to) = (Ipv6Addr::UNSPECIFIED, MacAddr::ipv6_multicast(group));
            self.send_ndp(solicit, src, group, to, NdpWhy::Dad { target });
        }
    }

    /// Queues a Neighbor Discovery message from `src` to `dst`, in a frame to `to`.
    fn send_ndp(&mut self, ndp: Ndp, src: Ipv6Addr, dst: Ipv6Addr, to: MacAddr, why: NdpWhy) {
        debug!(%src, %dst, %to, "ndp: {ndp}");
        let packet = ndp.emit(src, dst);
        if self.queue(packet, to, EtherType::Ipv6, Reason::Ndp(why)) {
            self.ndp_stats.sent += 1;
        } else {
            self.ndp_stats.dropped.add(DropReason::QueueFull);
        }
    }
}
