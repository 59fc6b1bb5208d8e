//! IPv6 input: from the link up to a transport protocol ([RFC 8200]).
//!
//! The same questions as IPv4's input, asked of a simpler header: is it IPv6, does its length
//! fit, is it from a possible source, is it for us? Then one question IPv4 did not have: what
//! do the extension headers say ([`super::ext::walk`])? A bad chain is dropped, and some earn
//! the sender an ICMPv6 Parameter Problem, which this layer asks the host to send.
//!
//! [RFC 8200]: https://www.rfc-editor.org/rfc/rfc8200

use std::net::Ipv6Addr;

use tracing::debug;

use super::ext::{walk, Chain, ParamProblemCode, Verdict};
use super::fragment::{reassemble, Reassembly};
use super::header::{Packet, Repr, HEADER_LEN};
use super::layer::Ipv6Layer;
use super::NextHeader;
use crate::ip::input::Head;
use crate::ip::IpProtocol;
use crate::stats::DropReason;
use crate::time::Instant;

/// A packet that passed every check, unwrapped down to its upper-layer protocol.
#[derive(Debug)]
pub(crate) struct Inbound6<'a> {
    /// The fixed header's values.
    pub(crate) header: Repr,
    /// The upper-layer protocol, after any extension headers.
    pub(crate) protocol: IpProtocol,
    /// The upper-layer header and data.
    pub(crate) payload: &'a [u8],
    /// The whole packet (ICMPv6 errors quote it).
    pub(crate) packet: &'a [u8],
    /// Where the Next Header field that named `protocol` is, from the packet's start: what a
    /// Parameter Problem about an unknown protocol points at.
    pub(crate) protocol_field: u32,
}

impl<'a> Inbound6<'a> {
    /// Unwraps a checked packet whose chain ends at an upper-layer protocol `offset` bytes into
    /// its payload.
    fn new(packet: &'a [u8], header: Repr, protocol: IpProtocol, offset: usize) -> Inbound6<'a> {
        let total = HEADER_LEN + header.payload_len;
        Inbound6 {
            header,
            protocol,
            payload: &packet[HEADER_LEN + offset..total],
            packet: &packet[..total],
            protocol_field: protocol_field(packet, header, offset),
        }
    }

    /// Unwraps a packet this layer built itself (a reassembled datagram).
    pub(crate) fn of(packet: &'a [u8]) -> Option<Inbound6<'a>> {
        let view = Packet::new_checked(packet).ok()?;
        let header = Repr::parse(&view);
        match walk(
            header.next_header,
            view.payload(),
            header.dst_addr.is_multicast(),
        )
        .ok()?
        {
            Chain::Upper { protocol, offset } => {
                Some(Inbound6::new(packet, header, protocol, offset))
            }
            Chain::Fragment { .. } => None,
        }
    }
}

/// Where the Next Header field that names what starts `offset` bytes into the payload is:
/// the fixed header's (byte 6), or the first byte of the last extension header. The chain was
/// walked already, so every length read here is within the packet.
fn protocol_field(packet: &[u8], header: Repr, offset: usize) -> u32 {
    let mut field = 6;
    let mut at = 0;
    let mut next = header.next_header;
    while at < offset {
        field = HEADER_LEN + at;
        let Some(&len_units) = packet.get(HEADER_LEN + at + 1) else {
            break;
        };
        let len = if next == super::NextHeader::Fragment {
            super::ext::FRAGMENT_HEADER_LEN
        } else {
            (usize::from(len_units) + 1) * 8
        };
        next = super::NextHeader::from(packet[HEADER_LEN + at]);
        at += len;
    }
    field as u32
}

/// What came of a packet from the link.
#[derive(Debug)]
pub(crate) enum Received6<'a> {
    /// A whole datagram, for the upper layer.
    Packet(Inbound6<'a>),
    /// The fragment that completed a datagram: the datagram, joined, for [`Inbound6::of`].
    Reassembled(Vec<u8>),
    /// Dropped, and the sender should hear why: an ICMPv6 Parameter Problem quoting `packet`.
    Problem {
        /// The message's code.
        code: ParamProblemCode,
        /// The offending byte, from the start of the packet.
        pointer: u32,
        /// The packet, for the quote.
        packet: &'a [u8],
    },
}

impl Ipv6Layer {
    /// Validates a packet from the link and unwraps it, or returns `None` when it was dropped
    /// (and counted) or is a fragment held for reassembly.
    pub(crate) fn receive<'a>(&mut self, now: Instant, bytes: &'a [u8]) -> Option<Received6<'a>> {
        self.stats.received += 1;

        // 1. The lengths: version 6, a whole fixed header, a Payload Length that fits.
        let packet = match Packet::new_checked(bytes) {
            Ok(packet) => packet,
            Err(err) => {
                debug!(len = bytes.len(), %err, "ipv6: drop malformed packet");
                return self.stats.drop(err.into());
            }
        };
        let header = Repr::parse(&packet);

        // 2. The addresses (RFC 4291): from one host, to us.
        if let Some(reason) = self.address_problem(&header) {
            debug!(%header, %reason, "ipv6: drop packet");
            return self.stats.drop(reason);
        }

        // 3. The extension headers, to the upper layer or to a fragment.
        let dst_multicast = header.dst_addr.is_multicast();
        let chain = match walk(header.next_header, packet.payload(), dst_multicast) {
            Ok(chain) => chain,
            Err(verdict) => return self.refuse(&header, verdict, packet.into_inner()),
        };
        match chain {
            Chain::Upper { protocol, offset } => {
                debug!(
                    "ipv6: unwrap {header}{} -> {} bytes up to {protocol}",
                    if offset > 0 {
                        " (extension headers skipped)"
                    } else {
                        ""
                    },
                    header.payload_len - offset,
                );
                self.stats.delivered += 1;
                Some(Received6::Packet(Inbound6::new(
                    bytes, header, protocol, offset,
                )))
            }
            Chain::Fragment {
                header: fragment,
                offset,
            } => self.fragment(now, bytes, &header, fragment, offset),
        }
    }

    /// The header of a packet that came in two parts ([`Host::receive_parts`]): `head`, its
    /// headers, then `rest` more bytes of payload elsewhere. [`Head::Ours`] when it passes
    /// every check of [`Ipv6Layer::receive`] and carries TCP right after the fixed header
    /// (counted as received and delivered); [`Head::Dropped`] when its addresses fail
    /// (counted); [`Head::Join`], having counted nothing, for anything else (extension
    /// headers, another protocol, a group address, lengths that do not add up): the caller
    /// joins the parts and hands the packet to [`Ipv6Layer::receive`].
    ///
    /// [`Host::receive_parts`]: crate::Host::receive_parts
    pub(crate) fn receive_head(&mut self, head: &[u8], rest: usize) -> Head<Repr> {
        let Ok(packet) = Packet::new_checked_head(head, rest) else {
            return Head::Join;
        };
        let header = Repr::parse(&packet);
        let tcp = header.next_header == NextHeader::Protocol(IpProtocol::Tcp);
        if !tcp || header.dst_addr.is_multicast() {
            return Head::Join;
        }
        self.stats.received += 1;
        if let Some(reason) = self.address_problem(&header) {
            debug!(%header, %reason, "ipv6: drop packet");
            self.stats.dropped.add(reason);
            return Head::Dropped;
        }
        debug!(
            "ipv6: unwrap {header} -> {} bytes up to tcp",
            header.payload_len
        );
        self.stats.delivered += 1;
        Head::Ours(header)
    }

    /// Why a packet's addresses make it unacceptable, if they do.
    ///
    /// - The source is one host's unicast address ([RFC 4291 2.7]: multicast never is; the
    ///   unspecified address only in duplicate address detection, which the link layer takes),
    ///   not the loopback address ([RFC 4291 2.5.3]: "must never be sent outside a single
    ///   node"), not an IPv4-mapped address (those name IPv4 hosts and never appear on the
    ///   wire: Linux drops them too), and not ours.
    /// - The destination is one of our usable addresses, or a group we belong to.
    ///
    /// [RFC 4291 2.7]: https://www.rfc-editor.org/rfc/rfc4291#section-2.7
    /// [RFC 4291 2.5.3]: https://www.rfc-editor.org/rfc/rfc4291#section-2.5.3
    fn address_problem(&self, header: &Repr) -> Option<DropReason> {
        let (src, dst) = (header.src_addr, header.dst_addr);
        if src.is_loopback() || dst.is_loopback() {
            return Some(DropReason::LoopbackOnWire);
        }
        if src.is_multicast()
            || src.is_unspecified()
            || is_v4_mapped(src)
            || self.is_any_of_ours(src)
        {
            return Some(DropReason::BadSource);
        }
        let for_us = if dst.is_multicast() {
            self.is_member(dst)
        } else {
            self.is_ours(dst)
        };
        (!for_us).then_some(DropReason::NotForUs)
    }

    /// Drops a packet whose chain cannot be processed, asking for a Parameter Problem when the
    /// walk's verdict says so.
    fn refuse<'a>(
        &mut self,
        header: &Repr,
        verdict: Verdict,
        packet: &'a [u8],
    ) -> Option<Received6<'a>> {
        debug!(%header, reason = %verdict.reason(), "ipv6: drop packet with a bad extension header chain");
        self.stats.dropped.add(DropReason::ExtensionHeader);
        match verdict {
            Verdict::Drop(_) => None,
            Verdict::ParameterProblem { code, pointer, .. } => Some(Received6::Problem {
                code,
                pointer,
                packet,
            }),
        }
    }
}

/// Whether `addr` is IPv4-mapped, ::ffff:0:0/96 ([RFC 4291 2.5.5.2]).
///
/// [RFC 4291 2.5.5.2]: https://www.rfc-editor.org/rfc/rfc4291#section-2.5.5.2
pub(crate) fn is_v4_mapped(addr: Ipv6Addr) -> bool {
    addr.to_ipv4_mapped().is_some()
}

impl Ipv6Layer {
    /// A packet with a Fragment header ([RFC 8200 section 4.5]): held until its packet is
    /// whole, then walked again from the start; an atomic fragment ([RFC 6946]) is whole at
    /// once.
    ///
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    /// [RFC 6946]: https://www.rfc-editor.org/rfc/rfc6946
    fn fragment<'a>(
        &mut self,
        now: Instant,
        bytes: &'a [u8],
        header: &Repr,
        fragment: super::FragmentHeader,
        offset: usize,
    ) -> Option<Received6<'a>> {
        let packet = Packet::new_checked(bytes).ok()?;
        let at = offset - super::ext::FRAGMENT_HEADER_LEN;
        match reassemble(&mut self.reassembler, now, &packet, at, fragment) {
            Reassembly::Held => {
                debug!(%header, offset = fragment.offset, "ipv6: fragment held for reassembly");
                None
            }
            Reassembly::Complete { packet, fragments } => {
                debug!(%header, fragments, "ipv6: reassembled {} bytes", packet.len());
                self.stats.delivered += 1;
                Some(Received6::Reassembled(packet))
            }
            Reassembly::Dropped(dropped) => {
                debug!(%header, reason = %dropped.reason, "ipv6: drop fragment");
                self.stats
                    .dropped
                    .add_many(dropped.reason, dropped.fragments);
                let problem = dropped.problem?;
                Some(Received6::Problem {
                    code: problem.code,
                    pointer: problem.pointer,
                    packet: &bytes[..packet.total_len()],
                })
            }
        }
    }
}
