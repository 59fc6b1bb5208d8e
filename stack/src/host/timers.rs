//! What the host does when time passes with no packet: fragments that waited too long, and
//! packets the link layer could not deliver.

use tracing::debug;

use super::Host;
use crate::ip::error::{IcmpError, Problem};
use crate::ip::icmp::header::TimeExceeded;
use crate::ip::icmp::ERROR_QUOTE_MAX;
use crate::stats::DropReason;
use crate::time::Instant;

impl Host {
    /// Drops the datagrams whose reassembly time has run out, counting their fragments, and
    /// tells each sender whose first fragment had come: ICMP time exceeded, "fragment
    /// reassembly time exceeded" ([RFC 792]; [RFC 1122 3.3.2]: only "if fragment zero has been
    /// received"), quoting that fragment, rate-limited like every ICMP error. Linux does the
    /// same (`ip_expire`).
    ///
    /// [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
    /// [RFC 1122 3.3.2]: https://www.rfc-editor.org/rfc/rfc1122#section-3.3.2
    pub(super) fn expire_fragments(&mut self, now: Instant) {
        self.expire_fragments_v6(now);
        if self.ip.v4.reassembler.poll_at().is_none_or(|at| at > now) {
            return;
        }
        for expired in self.ip.v4.reassembler.expire(now) {
            let key = expired.key;
            debug!(
                src = %key.src, ident = key.ident, fragments = expired.fragments,
                "ip: reassembly timed out"
            );
            let reason = DropReason::ReassemblyTimeout;
            self.ip.v4.stats.dropped.add_many(reason, expired.fragments);
            if let Some((mut quote, data)) = expired.first {
                quote.extend_from_slice(&data[..data.len().min(ERROR_QUOTE_MAX)]);
                let reason = TimeExceeded::FragReassembly;
                let (ip, out) = (&mut self.ip.v4, &mut self.out);
                self.icmp
                    .send_time_exceeded(now, ip, out, reason, key.src, &quote);
            }
        }
    }

    /// IPv6's packets whose reassembly time (60 s) has run out, as [`Host::expire_fragments`]
    /// for IPv4: ICMPv6 time exceeded, code 1, only when the first fragment came ([RFC 8200
    /// section 4.5]).
    ///
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    fn expire_fragments_v6(&mut self, now: Instant) {
        let Some(v6) = self.ip.v6.as_mut() else {
            return;
        };
        if v6.reassembler.poll_at().is_none_or(|at| at > now) {
            return;
        }
        for expired in v6.reassembler.expire(now) {
            debug!(src = %expired.key.src, fragments = expired.fragments, "ipv6: reassembly timed out");
            let reason = DropReason::ReassemblyTimeout;
            v6.stats.dropped.add_many(reason, expired.fragments);
            if let Some((mut first, data)) = expired.first {
                first.extend_from_slice(&data);
                self.icmpv6
                    .send_reassembly_timeout(now, v6, &mut self.out, &first);
            }
        }
    }

    /// Tells the senders of packets that could not be delivered: a next hop that never
    /// answered ARP is "host unreachable", as an ICMP error from a router would say (Linux does
    /// the same, `arp_error_report`); no route is "network unreachable".
    pub(super) fn report_undeliverable(&mut self, now: Instant) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        for lost in link.take_undeliverable() {
            let problem = if lost.no_route {
                Problem::NetUnreachable
            } else {
                Problem::HostUnreachable
            };
            if let Ok(error) = IcmpError::about(problem, &lost.packet) {
                self.transport_error(now, &error);
            }
        }
    }
}
