//! IPv4 input: from the link up to a transport protocol.
//!
//! Each check below is one reason a packet can be dropped, in the order a reader would ask
//! "is this really an IPv4 packet for me?". A dropped packet is counted and logged, never
//! answered with a panic. What survives is unwrapped: the header stays here as a [`Repr`], the
//! payload goes up.

use std::net::Ipv4Addr;

use tracing::debug;

use super::fragment::{Fragment, Ipv4FragKey, Outcome};
use super::header::{Packet, Repr};
use super::Ipv4Layer;
use crate::stats::DropReason;
use crate::time::Instant;

/// A packet that passed every check, unwrapped.
#[derive(Debug)]
pub(crate) struct Inbound<'a> {
    /// The header's values.
    pub(crate) header: Repr,
    /// The payload: the transport segment.
    pub(crate) payload: &'a [u8],
    /// The whole packet, without any link padding (ICMP errors quote it).
    pub(crate) packet: &'a [u8],
}

impl<'a> Inbound<'a> {
    /// Unwraps a packet this layer built itself (a reassembled datagram): its header was
    /// checked fragment by fragment already.
    pub(crate) fn of(packet: &'a [u8]) -> Option<Inbound<'a>> {
        let view = Packet::new_checked(packet).ok()?;
        let header = Repr::parse(&view).ok()?;
        let total_len = usize::from(view.total_len());
        Some(Inbound {
            header,
            payload: &packet[view.header_len()..total_len],
            packet: &packet[..total_len],
        })
    }
}

/// What came of a packet's headers, when its payload is elsewhere
/// ([`Ipv4Layer::receive_head`], and IPv6's): `R` is the IP header's values.
#[derive(Debug)]
pub(crate) enum Head<R = Repr> {
    /// For us: the header's values.
    Ours(R),
    /// Dropped, and counted.
    Dropped,
    /// Not for this path: join the parts and receive the packet whole.
    Join,
}

impl<R> Head<R> {
    /// What came of it, with `f` of the header's values for a packet that is ours.
    pub(crate) fn map<T>(self, f: impl FnOnce(R) -> T) -> Head<T> {
        match self {
            Head::Ours(header) => Head::Ours(f(header)),
            Head::Dropped => Head::Dropped,
            Head::Join => Head::Join,
        }
    }
}

/// What came of a packet from the link.
#[derive(Debug)]
pub(crate) enum Received<'a> {
    /// A whole datagram, for the transport above.
    Packet(Inbound<'a>),
    /// The fragment that completed a datagram: the datagram, joined, for [`Inbound::of`].
    Reassembled(Vec<u8>),
}

impl Ipv4Layer {
    /// Validates a packet from the link and unwraps it, or returns `None` when it was dropped
    /// (and counted) or is a fragment held for reassembly.
    pub(crate) fn receive<'a>(&mut self, now: Instant, bytes: &'a [u8]) -> Option<Received<'a>> {
        self.stats.received += 1;

        // 1. The lengths: version 4, a header that fits, a Total Length that fits the buffer.
        let packet = match Packet::new_checked(bytes) {
            Ok(packet) => packet,
            Err(err) => {
                debug!(len = bytes.len(), %err, "ip: drop malformed packet");
                return self.stats.drop(err.into());
            }
        };

        // 2.-6. The header: checksum, TTL, addresses.
        let header = match self.check(&packet) {
            Ok(header) => header,
            Err(reason) => return self.stats.drop(reason),
        };

        // 7. A fragment waits for the rest of its datagram (checked last, so that only packets
        //    we would accept take memory).
        if packet.is_fragment() {
            return self.reassemble(now, &packet, &header);
        }

        debug!(
            "ip: unwrap {header}{} -> {} bytes up to {}",
            if packet.options().is_empty() {
                ""
            } else {
                " (options skipped)"
            },
            header.payload_len,
            header.protocol
        );
        self.stats.delivered += 1;
        let total_len = usize::from(packet.total_len());
        Some(Received::Packet(Inbound {
            header,
            payload: &bytes[packet.header_len()..total_len],
            packet: &bytes[..total_len],
        }))
    }

    /// Steps 2 to 6 of [`Ipv4Layer::receive`]: the header's checksum, TTL and addresses.
    /// Returns the header's values, or why the packet is to be dropped.
    #[inline(always)]
    fn check(&self, packet: &Packet<&[u8]>) -> Result<Repr, DropReason> {
        // 2. The header checksum (RFC 791 3.1; RFC 1122 3.2.1.2: silently discard on failure).
        let header = match Repr::parse(packet) {
            Ok(header) => header,
            Err(err) => {
                debug!(%err, "ip: drop packet with bad header");
                return Err(err.into());
            }
        };

        // 3. TTL: no host sends 0 (RFC 1122 3.2.1.7); any other value is fine for a host.
        if header.ttl == 0 {
            debug!(%header, "ip: drop packet with TTL 0");
            return Err(DropReason::TtlZero);
        }

        // 4. Loopback addresses, either way: 127.0.0.0/8 "MUST NOT appear outside a host"
        //    (RFC 1122 3.2.1.3 (g)), so a packet from the link that carries one is forged or
        //    leaked. Checked before the destination, so that a packet to 127.0.0.1 is counted
        //    as what it is rather than as one for another host.
        if header.src_addr.is_loopback() || header.dst_addr.is_loopback() {
            debug!(%header, "ip: drop packet with a loopback address from the link");
            return Err(DropReason::LoopbackOnWire);
        }

        // 5. The destination: this host has one address and does not forward.
        if header.dst_addr != self.addr() {
            debug!(%header, "ip: drop packet for another host");
            return Err(DropReason::NotForUs);
        }

        // 6. The source must be one host's unicast address (RFC 1122 3.2.1.3), and not ours.
        if !self.is_valid_source(header.src_addr) {
            debug!(%header, "ip: drop packet from an invalid source address");
            return Err(DropReason::BadSource);
        }
        Ok(header)
    }

    /// The header of a packet that came in two parts ([`Host::receive_parts`]): `head`, its
    /// headers, then `rest` more bytes of payload elsewhere. [`Head::Ours`] when it passes
    /// every check of [`Ipv4Layer::receive`] (counted as received and delivered);
    /// [`Head::Dropped`] when it fails one (counted); [`Head::Join`], having counted nothing,
    /// for a fragment or lengths that do not add up: the caller joins the parts and hands the
    /// packet to [`Ipv4Layer::receive`].
    ///
    /// [`Host::receive_parts`]: crate::Host::receive_parts
    pub(crate) fn receive_head(&mut self, head: &[u8], rest: usize) -> Head {
        let Ok(packet) = Packet::new_checked_head(head, rest) else {
            return Head::Join;
        };
        if packet.is_fragment() {
            return Head::Join;
        }
        self.stats.received += 1;
        match self.check(&packet) {
            Ok(header) => {
                debug!(
                    "ip: unwrap {header} -> {} bytes up to {}",
                    header.payload_len, header.protocol
                );
                self.stats.delivered += 1;
                Head::Ours(header)
            }
            Err(reason) => {
                self.stats.dropped.add(reason);
                Head::Dropped
            }
        }
    }

    /// Gives a fragment to the reassembler; returns its datagram when it was the last piece
    /// missing. The datagram takes the first fragment's header, with the flags and offset
    /// cleared and Total Length set to the whole.
    fn reassemble<'a>(
        &mut self,
        now: Instant,
        packet: &Packet<&[u8]>,
        header: &Repr,
    ) -> Option<Received<'a>> {
        let key = Ipv4FragKey::new(
            header.src_addr,
            header.dst_addr,
            header.protocol,
            header.ident,
        );
        let bytes = packet.clone().into_inner();
        let fragment = Fragment {
            offset: usize::from(header.fragment_offset),
            more: header.more_fragments,
            data: packet.payload(),
        };
        let header_bytes = &bytes[..packet.header_len()];
        let whole = match self.reassembler.insert(now, key, header_bytes, fragment) {
            Outcome::Held => {
                debug!(%header, offset = header.fragment_offset, "ip: fragment held for reassembly");
                return None;
            }
            Outcome::Dropped { reason, fragments } => {
                debug!(%header, offset = header.fragment_offset, %reason, fragments, "ip: drop fragment");
                self.stats.dropped.add_many(reason, fragments);
                return None;
            }
            Outcome::Complete(whole) => whole,
        };
        let total_len = whole.header.len() + whole.payload.len();
        let Ok(total) = u16::try_from(total_len) else {
            // The first fragment's options made it too long.
            debug!(%header, total_len, "ip: drop reassembled datagram over 65,535 bytes");
            self.stats
                .dropped
                .add_many(DropReason::ReassemblyTooBig, whole.fragments);
            return None;
        };
        let mut datagram = whole.header;
        datagram.extend_from_slice(&whole.payload);
        let mut view = Packet::new_unchecked(&mut datagram[..]);
        view.set_total_len(total);
        let dont_fragment = view.dont_fragment();
        view.set_flags_and_offset(dont_fragment, false, 0);
        view.fill_checksum();
        debug!(
            "ip: reassembled {total_len} bytes of {} from {} fragments (ident {:#06x})",
            header.protocol, whole.fragments, header.ident
        );
        self.stats.delivered += 1;
        Some(Received::Reassembled(datagram))
    }

    /// Whether `src` may appear as the source of a packet we accept ([RFC 1122 3.2.1.3]).
    ///
    /// - Not 0.0.0.0/8, "this host" or "a host on this network" (a), (b): only a host that
    ///   does not know its address yet sends from there, to a DHCP or BOOTP server. This stack
    ///   runs none, so no packet it accepts may come from there.
    /// - Not a broadcast address, limited (255.255.255.255) or our network's (c), (d), nor a
    ///   multicast group: those name many hosts, and a packet comes from one.
    /// - Not our own address: a packet from us that comes back in is a loop or a forgery.
    ///
    /// [RFC 1122 3.2.1.3]: https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.3
    fn is_valid_source(&self, src: Ipv4Addr) -> bool {
        !(src.octets()[0] == 0
            || src.is_broadcast()
            || src.is_multicast()
            || src == self.addr()
            || src == self.cidr.broadcast() && self.cidr.prefix_len() < 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::header::IpProtocol;
    use crate::ip::Ipv4Cidr;

    fn layer() -> Ipv4Layer {
        Ipv4Layer::new("10.77.0.2/24".parse().unwrap(), 64, 1)
    }

    fn packet(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let repr = Repr {
            src_addr: Ipv4Addr::from(src),
            dst_addr: Ipv4Addr::from(dst),
            protocol: IpProtocol::Udp,
            ttl: 64,
            tos: 0,
            ident: 7,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len: payload.len(),
        };
        let mut bytes = vec![0; repr.total_len()];
        repr.emit(&mut bytes);
        bytes[20..].copy_from_slice(payload);
        bytes
    }

    const PEER: [u8; 4] = [10, 77, 0, 1];
    const US: [u8; 4] = [10, 77, 0, 2];

    #[test]
    fn delivers_a_valid_packet() {
        let mut ip = layer();
        let bytes = packet(PEER, US, b"payload");
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0; 4]); // link padding after Total Length
        let Some(Received::Packet(inbound)) = ip.receive(Instant::ZERO, &padded) else {
            panic!("delivered");
        };
        assert_eq!(inbound.header.protocol, IpProtocol::Udp);
        assert_eq!(inbound.payload, b"payload");
        assert_eq!(inbound.packet, &bytes[..]);
        assert_eq!((ip.stats.received, ip.stats.delivered), (1, 1));
    }

    #[test]
    fn counts_each_drop_reason() {
        let mut ip = layer();
        let good = packet(PEER, US, b"x");
        let cases: Vec<(Vec<u8>, DropReason)> = vec![
            (good[..10].to_vec(), DropReason::Truncated),
            (
                {
                    let mut b = good.clone();
                    b[0] = 0x60;
                    b
                },
                DropReason::BadVersion,
            ),
            (
                {
                    let mut b = good.clone();
                    b[12] ^= 1;
                    b
                },
                DropReason::BadChecksum,
            ),
            (packet(PEER, [10, 77, 0, 9], b"x"), DropReason::NotForUs),
            (packet([224, 0, 0, 1], US, b"x"), DropReason::BadSource),
            (packet(US, US, b"x"), DropReason::BadSource),
            (packet([10, 77, 0, 255], US, b"x"), DropReason::BadSource),
            (
                packet([255, 255, 255, 255], US, b"x"),
                DropReason::BadSource,
            ),
            (packet([0, 0, 0, 0], US, b"x"), DropReason::BadSource),
            (packet([0, 77, 0, 1], US, b"x"), DropReason::BadSource),
            (packet([239, 1, 2, 3], US, b"x"), DropReason::BadSource),
        ];
        for (bytes, reason) in &cases {
            let before = ip.stats.dropped.get(*reason);
            assert!(
                ip.receive(Instant::ZERO, bytes).is_none(),
                "{reason} should drop"
            );
            assert_eq!(ip.stats.dropped.get(*reason), before + 1, "{reason}");
        }
        assert_eq!(ip.stats.delivered, 0);
    }

    #[test]
    fn drops_malformed_fragments_and_ttl_zero() {
        let mut ip = layer();
        for (byte, value, reason) in [
            (6, 0x20, DropReason::Fragment), // MF on 1 byte: not a multiple of 8
            (8, 0x00, DropReason::TtlZero),
        ] {
            let mut bytes = packet(PEER, US, b"x");
            bytes[byte] = value;
            Packet::new_checked(&mut bytes[..]).unwrap().fill_checksum();
            assert!(ip.receive(Instant::ZERO, &bytes).is_none());
            assert!(ip.stats.dropped.get(reason) > 0, "{reason}");
        }
    }

    /// RFC 1122 3.2.1.3 (g): 127.0.0.0/8 never comes from a wire, as source or destination.
    #[test]
    fn drops_loopback_addresses_from_the_link() {
        let mut ip = layer();
        for (src, dst) in [
            ([127, 0, 0, 1], US),
            ([127, 9, 8, 7], US),
            (PEER, [127, 0, 0, 1]),
            ([127, 0, 0, 1], [127, 0, 0, 1]),
        ] {
            let bytes = packet(src, dst, b"x");
            assert!(
                ip.receive(Instant::ZERO, &bytes).is_none(),
                "{src:?} -> {dst:?}"
            );
        }
        assert_eq!(ip.stats.dropped.get(DropReason::LoopbackOnWire), 4);
        assert_eq!(ip.stats.dropped.total(), 4, "counted once, as loopback");
        assert_eq!(ip.stats.delivered, 0);
    }

    #[test]
    fn a_point_to_point_network_has_no_broadcast_address() {
        let mut ip = Ipv4Layer::new(Ipv4Cidr::new(Ipv4Addr::from(US), 31).unwrap(), 64, 1);
        let bytes = packet([10, 77, 0, 3], US, b"x");
        assert!(
            ip.receive(Instant::ZERO, &bytes).is_some(),
            "10.77.0.3 is a host on a /31"
        );
    }
}
