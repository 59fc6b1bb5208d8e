//! Counters: what each layer received, delivered, sent, and dropped (and why).
//!
//! Nothing in the stack drops a packet silently. Every drop is counted under a [`DropReason`] in
//! the layer that made the decision, and logged at debug level. [`Stats`] is a snapshot of all
//! counters, cheap to copy, and prints as a small table.

use std::fmt;

/// Why a layer dropped a packet (or a datagram, or a segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropReason {
    /// Shorter than its header, or than its length field says.
    Truncated,
    /// A length field is inconsistent.
    BadLength,
    /// Not IPv4 (e.g. an IPv6 packet on the link).
    BadVersion,
    /// The checksum does not match.
    BadChecksum,
    /// A malformed TCP option.
    BadOption,
    /// A fragment that can be no part of a datagram: no data, or More Fragments set on a length
    /// that is not a multiple of 8 bytes ([RFC 791 section 3.2]; for IPv6 also a Fragment header
    /// that is not where the packet's header chain leads).
    ///
    /// [RFC 791 section 3.2]: https://www.rfc-editor.org/rfc/rfc791#section-3.2
    Fragment,
    /// Addressed to another host.
    NotForUs,
    /// Time to Live of zero: no host may send that ([RFC 1122 3.2.1.7]).
    ///
    /// [RFC 1122 3.2.1.7]: https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.7
    TtlZero,
    /// A source address no host may use ([RFC 1122 3.2.1.3]): "this network" (0.0.0.0/8),
    /// broadcast, multicast, or our own.
    ///
    /// [RFC 1122 3.2.1.3]: https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.3
    BadSource,
    /// A loopback address (127.0.0.0/8) as the source or destination of a packet from the link.
    /// Such addresses "MUST NOT appear outside a host" ([RFC 1122 3.2.1.3] (g)): the packet was
    /// forged, or leaked by a misconfigured host. Linux calls these martians.
    ///
    /// [RFC 1122 3.2.1.3]: https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.3
    LoopbackOnWire,
    /// A protocol this stack does not speak.
    UnknownProtocol,
    /// A message type this layer does not handle (e.g. an ICMP timestamp request).
    Unhandled,
    /// No socket is bound to the destination port.
    NoSocket,
    /// A bounded queue was full.
    QueueFull,
    /// Held back by a rate limit (e.g. ICMP errors, [RFC 1812 4.3.2.8]).
    ///
    /// [RFC 1812 4.3.2.8]: https://www.rfc-editor.org/rfc/rfc1812#section-4.3.2.8
    RateLimited,
    /// Larger than the link's MTU.
    TooBig,
    /// Addressed off our network, and no gateway is set.
    NoRoute,
    /// Reassembly: the datagram's time ran out before its fragments were all in (30 s for IPv4,
    /// 60 s for IPv6). Counted once per fragment held.
    ReassemblyTimeout,
    /// Reassembly: a fragment overlapped data held, or disagreed on where the datagram ends.
    /// The whole datagram goes ([RFC 5722], as Linux does for IPv4); counted once per fragment.
    ///
    /// [RFC 5722]: https://www.rfc-editor.org/rfc/rfc5722
    ReassemblyOverlap,
    /// Reassembly: a fragment whose bytes were all held already (a duplicate); the datagram
    /// stays.
    ReassemblyDuplicate,
    /// Reassembly: the memory bound for all datagrams in reassembly was reached; the new
    /// fragment goes.
    ReassemblyMemory,
    /// Reassembly: the datagram would be larger than 65,535 bytes; it goes whole. (An IPv6
    /// fragment that would end past 65,535 bytes goes alone, with a Parameter Problem.)
    ReassemblyTooBig,
    /// Reassembly: the datagram came in more fragments than allowed; it goes whole.
    ReassemblyTooManyFragments,
    /// Reassembly (IPv6): a first fragment that does not hold the whole header chain, up to
    /// and including the upper-layer header ([RFC 7112], [RFC 8200 section 4.5]).
    ///
    /// [RFC 7112]: https://www.rfc-editor.org/rfc/rfc7112
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    ReassemblyIncompleteChain,
    /// IPv6: an extension header chain that cannot be processed ([RFC 8200 section 4]): too
    /// long, truncated, an option or routing header that says drop. Logs name the exact
    /// reason ([`crate::ip::ipv6::DropReason`]).
    ///
    /// [RFC 8200 section 4]: https://www.rfc-editor.org/rfc/rfc8200#section-4
    ExtensionHeader,
    /// A field holds a value its protocol forbids, and the message must be discarded: e.g. a
    /// Neighbor Solicitation with a nonzero code or a multicast target ([RFC 4861 7.1.1]).
    ///
    /// [RFC 4861 7.1.1]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
    Invalid,
    /// A Neighbor Discovery message whose Hop Limit is not 255: a router forwarded it, so it
    /// did not come from our link, and may be forged from afar ([RFC 4861 7.1.1]).
    ///
    /// [RFC 4861 7.1.1]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
    NotFromLink,
}

impl DropReason {
    /// Every reason, in display order.
    pub const ALL: [DropReason; 27] = [
        DropReason::Truncated,
        DropReason::BadLength,
        DropReason::BadVersion,
        DropReason::BadChecksum,
        DropReason::BadOption,
        DropReason::Fragment,
        DropReason::NotForUs,
        DropReason::TtlZero,
        DropReason::BadSource,
        DropReason::LoopbackOnWire,
        DropReason::UnknownProtocol,
        DropReason::Unhandled,
        DropReason::NoSocket,
        DropReason::QueueFull,
        DropReason::RateLimited,
        DropReason::TooBig,
        DropReason::NoRoute,
        DropReason::ReassemblyTimeout,
        DropReason::ReassemblyOverlap,
        DropReason::ReassemblyDuplicate,
        DropReason::ReassemblyMemory,
        DropReason::ReassemblyTooBig,
        DropReason::ReassemblyTooManyFragments,
        DropReason::ReassemblyIncompleteChain,
        DropReason::ExtensionHeader,
        DropReason::Invalid,
        DropReason::NotFromLink,
    ];

    /// A short snake_case name, used in logs and in the JSON stats.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::BadLength => "bad_length",
            DropReason::BadVersion => "bad_version",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::BadOption => "bad_option",
            DropReason::Fragment => "fragment",
            DropReason::NotForUs => "not_for_us",
            DropReason::TtlZero => "ttl_zero",
            DropReason::BadSource => "bad_source",
            DropReason::LoopbackOnWire => "loopback_on_wire",
            DropReason::UnknownProtocol => "unknown_protocol",
            DropReason::Unhandled => "unhandled",
            DropReason::NoSocket => "no_socket",
            DropReason::QueueFull => "queue_full",
            DropReason::RateLimited => "rate_limited",
            DropReason::TooBig => "too_big",
            DropReason::NoRoute => "no_route",
            DropReason::ReassemblyTimeout => "reassembly_timeout",
            DropReason::ReassemblyOverlap => "reassembly_overlap",
            DropReason::ReassemblyDuplicate => "reassembly_duplicate",
            DropReason::ReassemblyMemory => "reassembly_memory",
            DropReason::ReassemblyTooBig => "reassembly_too_big",
            DropReason::ReassemblyTooManyFragments => "reassembly_too_many_fragments",
            DropReason::ReassemblyIncompleteChain => "reassembly_incomplete_chain",
            DropReason::ExtensionHeader => "extension_header",
            DropReason::Invalid => "invalid",
            DropReason::NotFromLink => "not_from_link",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl From<crate::wire::WireError> for DropReason {
    fn from(err: crate::wire::WireError) -> Self {
        use crate::wire::WireError;
        match err {
            WireError::Truncated => DropReason::Truncated,
            WireError::BadLength => DropReason::BadLength,
            WireError::BadVersion => DropReason::BadVersion,
            WireError::BadChecksum => DropReason::BadChecksum,
            WireError::BadOption => DropReason::BadOption,
            WireError::Unsupported => DropReason::Unhandled,
            WireError::Invalid => DropReason::Invalid,
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Drop counts, one per [`DropReason`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    counts: [u64; DropReason::ALL.len()],
}

impl Drops {
    /// How many were dropped for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()]
    }

    /// The total over all reasons.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The reasons with a non-zero count, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (*r, self.get(*r)))
            .filter(|(_, n)| *n > 0)
    }

    pub(crate) fn add(&mut self, reason: DropReason) {
        self.counts[reason.index()] += 1;
    }

    /// Counts `n` drops for `reason` (the fragments of a datagram dropped whole).
    pub(crate) fn add_many(&mut self, reason: DropReason, n: usize) {
        self.counts[reason.index()] += n as u64;
    }
}

impl fmt::Display for Drops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (reason, n) in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{reason}={n}")?;
            first = false;
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// The counters of one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerStats {
    /// Packets handed to this layer by the one below.
    pub received: u64,
    /// Packets this layer handed up (to a protocol above, or to a socket).
    pub delivered: u64,
    /// Packets this layer sent down.
    pub sent: u64,
    /// Packets dropped, by reason.
    pub dropped: Drops,
}

impl LayerStats {
    /// Counts a drop; returns `None` so that input paths can `return layer.drop(reason)`.
    pub(crate) fn drop<T>(&mut self, reason: DropReason) -> Option<T> {
        self.dropped.add(reason);
        None
    }
}

/// A snapshot of every layer's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Ethernet frames, on a device that carries them (zero on TUN).
    pub ethernet: LayerStats,
    /// ARP packets (zero on TUN).
    pub arp: LayerStats,
    /// Neighbor Discovery: the IPv6 neighbour solicitations and advertisements the link layer
    /// reads and sends (zero on TUN, and without IPv6).
    pub ndp: LayerStats,
    /// Duplicate address detection of our IPv6 addresses.
    pub dad: crate::link::ndp::DadStats,
    /// The neighbour cache: requests, answers, packets that waited.
    pub neighbours: crate::link::neighbour::NeighbourStats,
    /// IPv4: every packet from the link, and every packet sent to it.
    pub ip: LayerStats,
    /// ICMP messages.
    pub icmp: LayerStats,
    /// IPv6 (zero while IPv6 is off).
    pub ipv6: LayerStats,
    /// ICMPv6 messages.
    pub icmpv6: LayerStats,
    /// UDP datagrams.
    pub udp: LayerStats,
    /// TCP segments.
    pub tcp: LayerStats,
    /// TCP's passive opens: SYN queue, SYN cookies, TIME-WAIT records.
    pub handshakes: crate::tcp::HandshakeStats,
}

impl Stats {
    /// Whether the link layer has counted anything: the host is on a device that carries
    /// Ethernet frames.
    pub fn on_ethernet(&self) -> bool {
        self.ethernet != LayerStats::default()
    }

    /// Each layer's counters with its short name, bottom up: `eth` and `arp` first on a device
    /// that carries frames, and `ndp` when IPv6 has used it, then `ip`, `icmp`, `ipv6` and
    /// `icmpv6` once IPv6 has counted anything, `udp`, `tcp`.
    pub fn layers(&self) -> Vec<(&'static str, &LayerStats)> {
        let ethernet = self.on_ethernet();
        let ndp = ethernet && self.ndp != LayerStats::default();
        let link = [
            ("eth", &self.ethernet, ethernet),
            ("arp", &self.arp, ethernet),
            ("ndp", &self.ndp, ndp),
        ];
        let link = link
            .into_iter()
            .filter(|(_, _, shown)| *shown)
            .map(|(name, stats, _)| (name, stats));
        let v6 = [("ipv6", &self.ipv6), ("icmpv6", &self.icmpv6)];
        let v6 = v6
            .into_iter()
            .filter(|_| self.ipv6 != LayerStats::default());
        link.chain([("ip", &self.ip), ("icmp", &self.icmp)])
            .chain(v6)
            .chain([("udp", &self.udp), ("tcp", &self.tcp)])
            .collect()
    }
}

impl fmt::Display for Stats {
    /// A table, one row per layer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<6} {:>10} {:>10} {:>10}  dropped",
            "layer", "received", "delivered", "sent"
        )?;
        let ethernet = self.on_ethernet();
        for (name, s) in self.layers() {
            writeln!(
                f,
                "{:<6} {:>10} {:>10} {:>10}  {}",
                name, s.received, s.delivered, s.sent, s.dropped
            )?;
        }
        let n = &self.neighbours;
        if ethernet {
            writeln!(
                f,
                "neighbours: {} requests, {} probes, {} resolved, {} given up, {} evicted; \
                 {} packets waited, {} sent after the answer, {} dropped waiting",
                n.requests,
                n.probes,
                n.resolved,
                n.failed,
                n.evicted,
                n.held,
                n.released,
                n.held_dropped
            )?;
        }
        let d = &self.dad;
        if *d != crate::link::ndp::DadStats::default() {
            writeln!(
                f,
                "duplicate address detection: {} addresses checked, {} taken, {} duplicates",
                d.checked, d.passed, d.duplicates
            )?;
        }
        let h = &self.handshakes;
        if *h != crate::tcp::HandshakeStats::default() {
            writeln!(
                f,
                "tcp handshakes: {} queued, {} SYN-ACKs again, {} expired; SYN cookies: {} sent, \
                 {} accepted, {} rejected; {} accept queue overflows; TIME-WAIT: {} records, \
                 {} evicted",
                h.syns_queued,
                h.syn_ack_retransmissions,
                h.handshakes_expired,
                h.syn_cookies_sent,
                h.syn_cookies_accepted,
                h.syn_cookies_rejected,
                h.accept_queue_overflows,
                h.time_wait_records,
                h.time_wait_evicted
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_slot() {
        let mut drops = Drops::default();
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
            drops.add(*reason);
        }
        assert_eq!(drops.total(), DropReason::ALL.len() as u64);
        assert!(DropReason::ALL.iter().all(|r| drops.get(*r) == 1));
    }

    #[test]
    fn display_lists_only_what_happened() {
        let mut s = LayerStats::default();
        assert_eq!(s.dropped.to_string(), "-");
        let _: Option<()> = s.drop(DropReason::BadChecksum);
        let _: Option<()> = s.drop(DropReason::BadChecksum);
        let _: Option<()> = s.drop(DropReason::Fragment);
        assert_eq!(s.dropped.to_string(), "bad_checksum=2, fragment=1");
    }

    /// `ndp` is a row of its own on Ethernet once Neighbor Discovery counted anything (IPv6 is
    /// on), never on TUN.
    #[test]
    fn ndp_is_a_row_once_ipv6_used_it() {
        let names = |stats: &Stats| -> Vec<&str> {
            stats.layers().into_iter().map(|(name, _)| name).collect()
        };
        let mut stats = Stats::default();
        assert_eq!(names(&stats), ["ip", "icmp", "udp", "tcp"]);
        stats.ethernet.received = 1;
        assert_eq!(names(&stats), ["eth", "arp", "ip", "icmp", "udp", "tcp"]);
        stats.ndp.sent = 2;
        assert_eq!(
            names(&stats),
            ["eth", "arp", "ndp", "ip", "icmp", "udp", "tcp"]
        );
        assert!(stats.to_string().contains("\nndp "), "{stats}");
        stats.dad.checked = 2;
        stats.dad.duplicates = 1;
        assert!(stats
            .to_string()
            .contains("duplicate address detection: 2 addresses checked, 0 taken, 1 duplicates"));
    }
}
