//! ICMPv6 messages ([RFC 4443]) and the two neighbour discovery messages a host needs to find
//! its neighbours' link-layer addresses ([RFC 4861 sections 4.3 and 4.4]).
//!
//! Every message starts with the same four bytes ([RFC 4443 section 2.1]):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                         Message Body                          +
//! |                                                               |
//! ```
//!
//! Types 0 to 127 are errors, 128 to 255 informational. The body of every message this codec
//! reads begins with a 32-bit word whose meaning depends on the type: the echo identifier and
//! sequence number, Packet Too Big's MTU, Parameter Problem's pointer to the offending byte,
//! the neighbour advertisement's flags (R, S, O), or zero. An error then quotes as much of the
//! packet that caused it as fits in the minimum MTU of 1280 bytes ([RFC 4443 section 2.4] (c),
//! [`quote`]). A neighbour solicitation or advertisement carries the 128-bit target address,
//! then options ([RFC 4861 section 4.6]):
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|S|O|                     Reserved                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! +                       Target Address (16 bytes)               +
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |   Link-Layer Address ...      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! (R, S and O only in an advertisement; a solicitation's first word is reserved.) An option's
//! Length counts units of 8 bytes, type and length included: a Source (type 1) or Target
//! (type 2) Link-Layer Address option for Ethernet is 1, eight bytes.
//!
//! The checksum covers the IPv6 pseudo-header too ([RFC 8200 section 8.1]: source,
//! destination, the ICMPv6 length as 32 bits, three zero bytes and Next Header 58), so
//! [`Repr::parse`] and [`Repr::emit`] take both addresses.
//!
//! Neighbour discovery validity ([RFC 4861 sections 7.1.1 and 7.1.2]): [`Repr::parse`] checks
//! what the message and its addresses tell (code 0, at least 24 bytes, a unicast target, every
//! option longer than zero, the solicitation and advertisement rules about the unspecified
//! source and multicast destination). One check needs the IP header and belongs to the input
//! path: the Hop Limit must be 255, which proves the message was not forwarded by a router, so
//! it came from the link itself.
//!
//! [RFC 4443]: https://www.rfc-editor.org/rfc/rfc4443
//! [RFC 4443 section 2.1]: https://www.rfc-editor.org/rfc/rfc4443#section-2.1
//! [RFC 4443 section 2.4]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4
//! [RFC 4861 sections 4.3 and 4.4]: https://www.rfc-editor.org/rfc/rfc4861#section-4.3
//! [RFC 4861 section 4.6]: https://www.rfc-editor.org/rfc/rfc4861#section-4.6
//! [RFC 4861 sections 7.1.1 and 7.1.2]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
//! [RFC 8200 section 8.1]: https://www.rfc-editor.org/rfc/rfc8200#section-8.1

use std::fmt;
use std::net::Ipv6Addr;

use super::ndp_option as option;
use crate::ip::checksum;
use crate::link::ethernet::MacAddr;
use crate::wire::{read_u16, read_u32, write_u16, write_u32, WireError};

pub use super::codes::{DstUnreachable, ParamProblem, TimeExceeded};

/// Byte ranges of the ICMPv6 header fields.
mod field {
    use crate::wire::{Field, Rest};

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// The first word of the body, whose meaning depends on the type.
    pub const REST_OF_HEADER: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ_NO: Field = 6..8;
    /// Packet Too Big's MTU, Parameter Problem's pointer.
    pub const WORD: Field = 4..8;
    pub const NDP_FLAGS: usize = 4;
    pub const DATA: Rest = 8..;
    pub const NDP_TARGET: Field = 8..24;
    pub const NDP_OPTIONS: Rest = 24..;
}

/// The message types this codec reads ([IANA ICMPv6 parameters]).
///
/// [IANA ICMPv6 parameters]: https://www.iana.org/assignments/icmpv6-parameters
mod msg_type {
    pub const DST_UNREACHABLE: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAM_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;
}

/// The flags of a neighbour advertisement, in its first body byte.
mod flag {
    pub const ROUTER: u8 = 0x80;
    pub const SOLICITED: u8 = 0x40;
    pub const OVERRIDE: u8 = 0x20;
}

/// The IPv6 Next Header value of ICMPv6, in the checksum's pseudo-header.
const NEXT_HEADER: u8 = 58;

/// The length of the ICMPv6 header this codec reads before the data: type, code, checksum and
/// the type-specific word.
pub const HEADER_LEN: usize = 8;

/// The length of a neighbour solicitation or advertisement without options: the header and
/// the target address.
pub const NDP_LEN: usize = 24;

/// The minimum MTU of an IPv6 link ([RFC 8200 section 5]): the largest an ICMPv6 error may
/// make its packet.
///
/// [RFC 8200 section 5]: https://www.rfc-editor.org/rfc/rfc8200#section-5
pub const MIN_MTU: usize = 1280;

/// The most of the invoking packet an error quotes: what is left of [`MIN_MTU`] after the
/// 40-byte IPv6 header and the 8-byte ICMPv6 header (no extension headers).
pub const MAX_INVOKING_LEN: usize = MIN_MTU - 40 - HEADER_LEN;

/// The start of `packet` (the whole IPv6 packet that caused an error, fixed header first) that
/// an error message quotes: as much as fits in [`MIN_MTU`] ([RFC 4443 section 2.4] (c)).
///
/// [RFC 4443 section 2.4]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4
pub fn quote(packet: &[u8]) -> &[u8] {
    &packet[..packet.len().min(MAX_INVOKING_LEN)]
}

/// A read-only or read-write view of an ICMPv6 message in a byte buffer.
///
/// The buffer is the whole message (the upper-layer payload of the IPv6 packet). Built with
/// [`Packet::new_checked`], every accessor is safe to call.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. For building messages in a buffer known to be large
    /// enough; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that it holds the 8-byte header, so that no accessor panics.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type (128 echo request, 135 neighbour solicitation, 1 destination
    /// unreachable, ...).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// The code: the subtype, e.g. why a destination was unreachable.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field as sent.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Echo: the identifier that pairs replies with their sender.
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo: the sequence number that pairs a reply with its request.
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ_NO.start)
    }

    /// The first body word as a number: Packet Too Big's MTU, Parameter Problem's pointer.
    pub fn word(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::WORD.start)
    }

    /// Neighbour advertisement: the flags byte (R `0x80`, S `0x40`, O `0x20`).
    pub fn ndp_flags(&self) -> u8 {
        self.buffer.as_ref()[field::NDP_FLAGS]
    }

    /// Neighbour solicitation or advertisement: the target address, if the buffer holds it.
    pub fn ndp_target(&self) -> Option<Ipv6Addr> {
        let bytes: [u8; 16] = self
            .buffer
            .as_ref()
            .get(field::NDP_TARGET)?
            .try_into()
            .ok()?;
        Some(Ipv6Addr::from(bytes))
    }

    /// The data after the 8-byte header: an echo's payload, an error's quoted packet, or a
    /// neighbour discovery message's target and options.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA]
    }

    /// Whether the checksum over the pseudo-header of `src` and `dst` and the whole message is
    /// right.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let sum = checksum::pseudo_header_v6(src, dst, NEXT_HEADER, len);
        checksum::finish(checksum::add(sum, data)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    /// Sets the code.
    pub fn set_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Zeroes the type-specific word (unused or reserved in most messages).
    pub fn clear_rest_of_header(&mut self) {
        self.buffer.as_mut()[field::REST_OF_HEADER].fill(0);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT.start, value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQ_NO.start, value);
    }

    /// Sets the first body word: Packet Too Big's MTU, Parameter Problem's pointer.
    pub fn set_word(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::WORD.start, value);
    }

    /// Sets a neighbour advertisement's flags byte.
    pub fn set_ndp_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::NDP_FLAGS] = value;
    }

    /// Sets a neighbour discovery message's target address (the buffer must hold 24 bytes).
    pub fn set_ndp_target(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::NDP_TARGET].copy_from_slice(&value.octets());
    }

    /// The data after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA]
    }

    /// Computes the checksum over the pseudo-header and the whole buffer, and stores it.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let sum = checksum::pseudo_header_v6(src, dst, NEXT_HEADER, len);
        let sum = checksum::finish(checksum::add(sum, data));
        self.set_checksum(sum);
    }
}

/// An ICMPv6 message as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo Request, type 128 ([RFC 4443 section 4.1]): ping.
    ///
    /// [RFC 4443 section 4.1]: https://www.rfc-editor.org/rfc/rfc4443#section-4.1
    EchoRequest {
        /// Pairs replies with their sender.
        ident: u16,
        /// Pairs a reply with its request.
        seq_no: u16,
        /// The payload, echoed back unchanged.
        data: &'a [u8],
    },
    /// Echo Reply, type 129 ([RFC 4443 section 4.2]).
    ///
    /// [RFC 4443 section 4.2]: https://www.rfc-editor.org/rfc/rfc4443#section-4.2
    EchoReply {
        /// The request's identifier.
        ident: u16,
        /// The request's sequence number.
        seq_no: u16,
        /// The request's payload.
        data: &'a [u8],
    },
    /// Destination Unreachable, type 1 ([RFC 4443 section 3.1]).
    ///
    /// [RFC 4443 section 3.1]: https://www.rfc-editor.org/rfc/rfc4443#section-3.1
    DstUnreachable {
        /// Why.
        code: DstUnreachable,
        /// The start of the packet that could not be delivered, IPv6 header first ([`quote`]).
        invoking: &'a [u8],
    },
    /// Packet Too Big, type 2 ([RFC 4443 section 3.2]): path MTU discovery's signal.
    ///
    /// [RFC 4443 section 3.2]: https://www.rfc-editor.org/rfc/rfc4443#section-3.2
    PacketTooBig {
        /// The MTU of the link the packet did not fit.
        mtu: u32,
        /// The start of the packet that did not fit.
        invoking: &'a [u8],
    },
    /// Time Exceeded, type 3 ([RFC 4443 section 3.3]).
    ///
    /// [RFC 4443 section 3.3]: https://www.rfc-editor.org/rfc/rfc4443#section-3.3
    TimeExceeded {
        /// Why.
        code: TimeExceeded,
        /// The start of the discarded packet.
        invoking: &'a [u8],
    },
    /// Parameter Problem, type 4 ([RFC 4443 section 3.4]).
    ///
    /// [RFC 4443 section 3.4]: https://www.rfc-editor.org/rfc/rfc4443#section-3.4
    ParamProblem {
        /// What kind of problem.
        code: ParamProblem,
        /// The offset of the offending byte in the invoking packet.
        pointer: u32,
        /// The start of the discarded packet.
        invoking: &'a [u8],
    },
    /// Neighbor Solicitation, type 135 ([RFC 4861 section 4.3]): who has `target`?
    ///
    /// [RFC 4861 section 4.3]: https://www.rfc-editor.org/rfc/rfc4861#section-4.3
    NeighborSolicit {
        /// The address whose link-layer address is asked for.
        target: Ipv6Addr,
        /// The sender's link-layer address (Source Link-Layer Address option), so the target
        /// can answer without asking back; absent when the source is the unspecified address
        /// (duplicate address detection).
        source_mac: Option<MacAddr>,
    },
    /// Neighbor Advertisement, type 136 ([RFC 4861 section 4.4]): `target` is at `target_mac`.
    ///
    /// [RFC 4861 section 4.4]: https://www.rfc-editor.org/rfc/rfc4861#section-4.4
    NeighborAdvert {
        /// R: the sender is a router.
        router: bool,
        /// S: an answer to a solicitation (never set when sent to a multicast address).
        solicited: bool,
        /// O: the link-layer address should replace a cached one.
        override_: bool,
        /// The address advertised.
        target: Ipv6Addr,
        /// Its link-layer address (Target Link-Layer Address option).
        target_mac: Option<MacAddr>,
    },
    /// Any other type (router discovery, redirect, multicast listener discovery, ...): its body
    /// is not read. Types with a variant above never parse as `Other`; a message of such a type
    /// that is malformed is an error, not `Other`.
    Other {
        /// The message type.
        msg_type: u8,
        /// The code.
        code: u8,
    },
}

impl<'a> Repr<'a> {
    /// Reads a checked message sent from `src` to `dst`, verifying its checksum.
    ///
    /// Any type parses: the ones this codec does not read become [`Repr::Other`]. The echo
    /// code, 0 in RFC 4443, is not checked. A neighbour solicitation or advertisement must pass
    /// the checks of RFC 4861 sections 7.1.1 and 7.1.2 that need no more than the message and
    /// its addresses, otherwise: [`WireError::Truncated`] if shorter than 24 bytes or an option
    /// runs past the end, [`WireError::BadOption`] for an option of length 0 or a link-layer
    /// address that is not 6 bytes, and [`WireError::Invalid`] for a nonzero code, a multicast
    /// target, a solicitation from the unspecified address that is not to a solicited-node
    /// address or carries a source link-layer address, or a solicited advertisement to a
    /// multicast address. The Hop Limit of 255 is for the input path to check.
    pub fn parse(
        packet: &Packet<&'a [u8]>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) -> Result<Repr<'a>, WireError> {
        if !packet.verify_checksum(src, dst) {
            return Err(WireError::BadChecksum);
        }
        let buffer: &'a [u8] = packet.buffer;
        // From the buffer itself, not `packet.data()`, so the slice lives as long as the bytes.
        let data = buffer.get(field::DATA).unwrap_or_default();
        let repr = match packet.msg_type() {
            msg_type::ECHO_REQUEST => Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            msg_type::ECHO_REPLY => Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            msg_type::DST_UNREACHABLE => Repr::DstUnreachable {
                code: DstUnreachable::from_code(packet.code()),
                invoking: data,
            },
            msg_type::PACKET_TOO_BIG => Repr::PacketTooBig {
                mtu: packet.word(),
                invoking: data,
            },
            msg_type::TIME_EXCEEDED => Repr::TimeExceeded {
                code: TimeExceeded::from_code(packet.code()),
                invoking: data,
            },
            msg_type::PARAM_PROBLEM => Repr::ParamProblem {
                code: ParamProblem::from_code(packet.code()),
                pointer: packet.word(),
                invoking: data,
            },
            kind @ (msg_type::NEIGHBOR_SOLICIT | msg_type::NEIGHBOR_ADVERT) => {
                let target = packet.ndp_target().ok_or(WireError::Truncated)?;
                if packet.code() != 0 || target.is_multicast() {
                    return Err(WireError::Invalid);
                }
                let options = buffer.get(field::NDP_OPTIONS).unwrap_or_default();
                if kind == msg_type::NEIGHBOR_SOLICIT {
                    let source_mac = option::read_link_layer(options, option::SOURCE_LL_ADDR)?;
                    if src.is_unspecified()
                        && (!option::is_solicited_node(dst) || source_mac.is_some())
                    {
                        return Err(WireError::Invalid);
                    }
                    Repr::NeighborSolicit { target, source_mac }
                } else {
                    let flags = packet.ndp_flags();
                    let solicited = flags & flag::SOLICITED != 0;
                    if solicited && dst.is_multicast() {
                        return Err(WireError::Invalid);
                    }
                    Repr::NeighborAdvert {
                        router: flags & flag::ROUTER != 0,
                        solicited,
                        override_: flags & flag::OVERRIDE != 0,
                        target,
                        target_mac: option::read_link_layer(options, option::TARGET_LL_ADDR)?,
                    }
                }
            }
            msg_type => Repr::Other {
                msg_type,
                code: packet.code(),
            },
        };
        Ok(repr)
    }

    /// The quoted packet of an error message; `None` for other messages.
    pub fn invoking(&self) -> Option<&'a [u8]> {
        match *self {
            Repr::DstUnreachable { invoking, .. }
            | Repr::PacketTooBig { invoking, .. }
            | Repr::TimeExceeded { invoking, .. }
            | Repr::ParamProblem { invoking, .. } => Some(invoking),
            _ => None,
        }
    }

    /// The data after the 8-byte header that [`Repr::emit`] copies in (echo payload or quote).
    fn data(&self) -> &'a [u8] {
        match *self {
            Repr::EchoRequest { data, .. } | Repr::EchoReply { data, .. } => data,
            _ => self.invoking().unwrap_or_default(),
        }
    }

    /// The bytes [`Repr::emit`] writes: the 8-byte header and the data, or for neighbour
    /// discovery the 24 bytes and an 8-byte link-layer address option if there is one.
    pub fn buffer_len(&self) -> usize {
        match *self {
            Repr::NeighborSolicit {
                source_mac: mac, ..
            }
            | Repr::NeighborAdvert {
                target_mac: mac, ..
            } => NDP_LEN + mac.map_or(0, |_| option::LL_ADDR_LEN),
            _ => HEADER_LEN + self.data().len(),
        }
    }

    /// Writes the whole message from `src` to `dst`, data copied in and checksum filled, into
    /// the first [`Repr::buffer_len`] bytes of `buf`.
    ///
    /// An error's `invoking` is written as given: cut it with [`quote`] first.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) {
        let mut packet = Packet::new_unchecked(&mut buf[..self.buffer_len()]);
        packet.clear_rest_of_header();
        let (msg_type, code) = match *self {
            Repr::EchoRequest { ident, seq_no, .. } => {
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                (msg_type::ECHO_REQUEST, 0)
            }
            Repr::EchoReply { ident, seq_no, .. } => {
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                (msg_type::ECHO_REPLY, 0)
            }
            Repr::DstUnreachable { code, .. } => (msg_type::DST_UNREACHABLE, code.code()),
            Repr::PacketTooBig { mtu, .. } => {
                packet.set_word(mtu);
                (msg_type::PACKET_TOO_BIG, 0)
            }
            Repr::TimeExceeded { code, .. } => (msg_type::TIME_EXCEEDED, code.code()),
            Repr::ParamProblem { code, pointer, .. } => {
                packet.set_word(pointer);
                (msg_type::PARAM_PROBLEM, code.code())
            }
            Repr::NeighborSolicit { target, source_mac } => {
                packet.set_ndp_target(target);
                option::write_link_layer(
                    &mut packet.buffer[NDP_LEN..],
                    option::SOURCE_LL_ADDR,
                    source_mac,
                );
                (msg_type::NEIGHBOR_SOLICIT, 0)
            }
            Repr::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                target_mac,
            } => {
                let mut flags = 0;
                for (set, bit) in [
                    (router, flag::ROUTER),
                    (solicited, flag::SOLICITED),
                    (override_, flag::OVERRIDE),
                ] {
                    if set {
                        flags |= bit;
                    }
                }
                packet.set_ndp_flags(flags);
                packet.set_ndp_target(target);
                option::write_link_layer(
                    &mut packet.buffer[NDP_LEN..],
                    option::TARGET_LL_ADDR,
                    target_mac,
                );
                (msg_type::NEIGHBOR_ADVERT, 0)
            }
            Repr::Other { msg_type, code } => (msg_type, code),
        };
        packet.set_msg_type(msg_type);
        packet.set_code(code);
        if !matches!(
            self,
            Repr::NeighborSolicit { .. } | Repr::NeighborAdvert { .. }
        ) {
            packet.data_mut().copy_from_slice(self.data());
        }
        packet.fill_checksum(src, dst);
    }
}

/// One line for logs, e.g. `ICMPv6 echo request id=0x1234 seq=1 len=56`.
impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                let len = data.len();
                write!(
                    f,
                    "ICMPv6 echo request id={ident:#06x} seq={seq_no} len={len}"
                )
            }
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                let len = data.len();
                write!(
                    f,
                    "ICMPv6 echo reply id={ident:#06x} seq={seq_no} len={len}"
                )
            }
            Repr::DstUnreachable { code, invoking } => {
                let quoted = invoking.len();
                write!(f, "ICMPv6 destination unreachable ({code}) quote={quoted}")
            }
            Repr::PacketTooBig { mtu, invoking } => {
                let quoted = invoking.len();
                write!(f, "ICMPv6 packet too big mtu={mtu} quote={quoted}")
            }
            Repr::TimeExceeded { code, invoking } => {
                let quoted = invoking.len();
                write!(f, "ICMPv6 time exceeded ({code}) quote={quoted}")
            }
            Repr::ParamProblem {
                code,
                pointer,
                invoking,
            } => {
                let quoted = invoking.len();
                write!(
                    f,
                    "ICMPv6 parameter problem ({code}) pointer={pointer} quote={quoted}"
                )
            }
            Repr::NeighborSolicit { target, source_mac } => {
                write!(f, "ICMPv6 neighbor solicitation who has {target}")?;
                match source_mac {
                    Some(mac) => write!(f, " tell {mac}"),
                    None => Ok(()),
                }
            }
            Repr::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                target_mac,
            } => {
                write!(f, "ICMPv6 neighbor advertisement {target}")?;
                if let Some(mac) = target_mac {
                    write!(f, " is at {mac}")?;
                }
                let flags: String = [(router, 'R'), (solicited, 'S'), (override_, 'O')]
                    .iter()
                    .filter(|(set, _)| **set)
                    .map(|(_, c)| *c)
                    .collect();
                if !flags.is_empty() {
                    write!(f, " [{flags}]")?;
                }
                Ok(())
            }
            Repr::Other { msg_type, code } => write!(f, "ICMPv6 type={msg_type} code={code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::ipv6::ParamProblemCode;
    use proptest::prelude::*;

    const ULA_1: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    const ULA_2: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    const LL_1: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    const LL_2: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    /// `ff02::1:ff00:2`, the solicited-node group of `fe80::2`.
    const SOLICITED_2: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
    const MAC_1: MacAddr = MacAddr::new([0x02, 0, 0, 0, 0, 1]);
    const MAC_2: MacAddr = MacAddr::new([0x02, 0, 0, 0, 0, 2]);

    /// An echo request from `fd00::1` to `fd00::2`, identifier 0x1234, sequence 1, 16 bytes of
    /// data; the checksum computed apart from this code (a short Python script over the
    /// pseudo-header).
    const ECHO_REQUEST: [u8; 24] = [
        0x80, 0x00, 0x30, 0x28, 0x12, 0x34, 0x00, 0x01, b'a', b'b', b'c', b'd', b'e', b'f', b'g',
        b'h', b'i', b'j', b'k', b'l', b'm', b'n', b'o', b'p',
    ];

    /// A neighbour solicitation laid out as Linux sends one to resolve `fe80::2`: from
    /// `fe80::1` to the solicited-node group `ff02::1:ff00:2`, with the Source Link-Layer
    /// Address option `02:00:00:00:00:01`; the checksum computed apart, as for the echo.
    const NEIGHBOR_SOLICIT: [u8; 32] = [
        0x87, 0x00, 0x7a, 0x97, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x01,
    ];

    /// The answer from `fe80::2` to `fe80::1`: solicited and override set, Target Link-Layer
    /// Address option `02:00:00:00:00:02`.
    const NEIGHBOR_ADVERT: [u8; 32] = [
        0x88, 0x00, 0x18, 0x1a, 0x60, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x02,
    ];

    fn emit(repr: &Repr, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        let mut buf = vec![0xaa; repr.buffer_len()];
        repr.emit(&mut buf, src, dst);
        buf
    }

    fn parse(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<Repr<'_>, WireError> {
        Repr::parse(&Packet::new_checked(bytes)?, src, dst)
    }

    /// `bytes` with the checksum recomputed, for tests that edit a valid message.
    fn refilled(mut bytes: Vec<u8>, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        Packet::new_unchecked(&mut bytes[..]).fill_checksum(src, dst);
        bytes
    }

    #[test]
    fn parses_and_emits_an_echo_request() {
        let repr = parse(&ECHO_REQUEST, ULA_1, ULA_2).unwrap();
        assert_eq!(
            repr,
            Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: b"abcdefghijklmnop",
            }
        );
        assert_eq!(repr.invoking(), None);
        assert_eq!(repr.buffer_len(), 24);
        assert_eq!(emit(&repr, ULA_1, ULA_2), ECHO_REQUEST);
        assert_eq!(
            repr.to_string(),
            "ICMPv6 echo request id=0x1234 seq=1 len=16"
        );
    }

    #[test]
    fn the_checksum_covers_the_addresses() {
        // The same bytes between other addresses, or the other way round in a way that changes
        // the sum, fail; swapping source and destination does not change a ones' complement sum.
        assert_eq!(
            parse(&ECHO_REQUEST, ULA_1, LL_2),
            Err(WireError::BadChecksum)
        );
        assert!(parse(&ECHO_REQUEST, ULA_2, ULA_1).is_ok());
        let mut bytes = ECHO_REQUEST;
        bytes[23] = b'q';
        assert_eq!(parse(&bytes, ULA_1, ULA_2), Err(WireError::BadChecksum));
    }

    #[test]
    fn answers_an_echo_request_with_a_reply() {
        let Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = parse(&ECHO_REQUEST, ULA_1, ULA_2).unwrap()
        else {
            panic!("not an echo request");
        };
        let reply = Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        let bytes = emit(&reply, ULA_2, ULA_1);
        // Only the type changes (128 to 129), and the checksum by exactly 1 << 8.
        assert_eq!(bytes[0], 129);
        assert_eq!(bytes[2..4], (0x3028u16 - 0x0100).to_be_bytes());
        assert_eq!(bytes[4..], ECHO_REQUEST[4..]);
        assert_eq!(parse(&bytes, ULA_2, ULA_1), Ok(reply));
    }

    #[test]
    fn parses_and_emits_a_neighbor_solicitation() {
        let repr = parse(&NEIGHBOR_SOLICIT, LL_1, SOLICITED_2).unwrap();
        assert_eq!(
            repr,
            Repr::NeighborSolicit {
                target: LL_2,
                source_mac: Some(MAC_1),
            }
        );
        assert_eq!(repr.buffer_len(), 32);
        assert_eq!(emit(&repr, LL_1, SOLICITED_2), NEIGHBOR_SOLICIT);
        assert_eq!(
            repr.to_string(),
            "ICMPv6 neighbor solicitation who has fe80::2 tell 02:00:00:00:00:01"
        );
    }

    #[test]
    fn parses_and_emits_a_neighbor_advertisement() {
        let repr = parse(&NEIGHBOR_ADVERT, LL_2, LL_1).unwrap();
        assert_eq!(
            repr,
            Repr::NeighborAdvert {
                router: false,
                solicited: true,
                override_: true,
                target: LL_2,
                target_mac: Some(MAC_2),
            }
        );
        assert_eq!(emit(&repr, LL_2, LL_1), NEIGHBOR_ADVERT);
        assert_eq!(
            repr.to_string(),
            "ICMPv6 neighbor advertisement fe80::2 is at 02:00:00:00:00:02 [SO]"
        );
    }

    #[test]
    fn duplicate_address_detection_has_no_source_address() {
        let dad = Repr::NeighborSolicit {
            target: LL_2,
            source_mac: None,
        };
        let src = Ipv6Addr::UNSPECIFIED;
        let bytes = emit(&dad, src, SOLICITED_2);
        assert_eq!(bytes.len(), NDP_LEN);
        assert_eq!(parse(&bytes, src, SOLICITED_2), Ok(dad));
        // From the unspecified address: only to a solicited-node group, and with no option.
        let to_unicast = emit(&dad, src, LL_2);
        assert_eq!(parse(&to_unicast, src, LL_2), Err(WireError::Invalid));
        let with_mac = NEIGHBOR_SOLICIT.to_vec();
        let with_mac = refilled(with_mac, src, SOLICITED_2);
        assert_eq!(parse(&with_mac, src, SOLICITED_2), Err(WireError::Invalid));
    }

    #[test]
    fn rejects_invalid_neighbor_discovery() {
        // A nonzero code.
        let mut bytes = NEIGHBOR_SOLICIT.to_vec();
        bytes[1] = 1;
        let bytes = refilled(bytes, LL_1, SOLICITED_2);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Err(WireError::Invalid));
        // A multicast target.
        let multicast = Repr::NeighborSolicit {
            target: SOLICITED_2,
            source_mac: None,
        };
        let bytes = emit(&multicast, LL_1, SOLICITED_2);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Err(WireError::Invalid));
        // A solicited advertisement to a multicast address.
        let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        let bytes = refilled(NEIGHBOR_ADVERT.to_vec(), LL_2, all_nodes);
        assert_eq!(parse(&bytes, LL_2, all_nodes), Err(WireError::Invalid));
        // Unsolicited, it may go there.
        let mut bytes = NEIGHBOR_ADVERT.to_vec();
        bytes[4] = 0x20;
        let bytes = refilled(bytes, LL_2, all_nodes);
        assert!(parse(&bytes, LL_2, all_nodes).is_ok());
    }

    #[test]
    fn reads_neighbor_discovery_options() {
        let with = |options: &[u8]| {
            let mut bytes = NEIGHBOR_SOLICIT[..NDP_LEN].to_vec();
            bytes.extend_from_slice(options);
            refilled(bytes, LL_1, SOLICITED_2)
        };
        let solicit = |source_mac| Repr::NeighborSolicit {
            target: LL_2,
            source_mac,
        };
        // An unknown option (type 14, nonce, 8 bytes) and a target address option are skipped.
        let bytes = with(&[14, 1, 1, 2, 3, 4, 5, 6, 2, 1, 9, 9, 9, 9, 9, 9]);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Ok(solicit(None)));
        // Of two source address options, the first counts.
        let bytes = with(&[1, 1, 2, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 9]);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Ok(solicit(Some(MAC_1))));
        // Length 0: the whole message is discarded.
        let bytes = with(&[14, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1]);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Err(WireError::BadOption));
        // A 16-byte link-layer address option: not Ethernet's.
        let bytes = with(&[1, 2, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Err(WireError::BadOption));
        // Past the end, or a lone type byte.
        let bytes = with(&[14, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Err(WireError::Truncated));
        let bytes = with(&[14]);
        assert_eq!(parse(&bytes, LL_1, SOLICITED_2), Err(WireError::Truncated));
    }

    #[test]
    fn round_trips_the_errors() {
        let quoted: Vec<u8> = (0..60).collect();
        for repr in [
            Repr::DstUnreachable {
                code: DstUnreachable::PortUnreachable,
                invoking: &quoted,
            },
            Repr::DstUnreachable {
                code: DstUnreachable::Other(7),
                invoking: &[],
            },
            Repr::PacketTooBig {
                mtu: 1280,
                invoking: &quoted,
            },
            Repr::TimeExceeded {
                code: TimeExceeded::FragReassembly,
                invoking: &quoted[..41],
            },
            Repr::ParamProblem {
                code: ParamProblemCode::UnrecognizedNextHeader.into(),
                pointer: 40,
                invoking: &quoted,
            },
        ] {
            let bytes = emit(&repr, ULA_2, ULA_1);
            assert_eq!(parse(&bytes, ULA_2, ULA_1), Ok(repr), "{repr}");
            assert_eq!(&bytes[HEADER_LEN..], repr.invoking().unwrap());
        }
        let too_big = Repr::PacketTooBig {
            mtu: 1400,
            invoking: &quoted,
        };
        let bytes = emit(&too_big, ULA_2, ULA_1);
        assert_eq!(bytes[..2], [2, 0]);
        assert_eq!(bytes[4..8], 1400u32.to_be_bytes());
        assert_eq!(
            too_big.to_string(),
            "ICMPv6 packet too big mtu=1400 quote=60"
        );
        let problem = Repr::ParamProblem {
            code: ParamProblem::ErroneousHeaderField,
            pointer: 4,
            invoking: &quoted,
        };
        let bytes = emit(&problem, ULA_2, ULA_1);
        assert_eq!(bytes[..2], [4, 0]);
        assert_eq!(bytes[4..8], [0, 0, 0, 4]);
    }

    #[test]
    fn quotes_at_most_what_fits_the_minimum_mtu() {
        let big = vec![0x5a; 9000];
        let invoking = quote(&big);
        assert_eq!(invoking.len(), 1232);
        let repr = Repr::DstUnreachable {
            code: DstUnreachable::AddrUnreachable,
            invoking,
        };
        assert_eq!(40 + repr.buffer_len(), MIN_MTU);
        assert_eq!(quote(&big[..100]).len(), 100);
    }

    #[test]
    fn parses_other_types_without_their_body() {
        // A router solicitation (type 133) with a source address option.
        let bytes = [133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1];
        let bytes = refilled(bytes.to_vec(), LL_1, SOLICITED_2);
        let repr = parse(&bytes, LL_1, SOLICITED_2).unwrap();
        assert_eq!(
            repr,
            Repr::Other {
                msg_type: 133,
                code: 0
            }
        );
        assert_eq!(repr.buffer_len(), HEADER_LEN);
        assert_eq!(repr.to_string(), "ICMPv6 type=133 code=0");
    }

    #[test]
    fn every_short_prefix_fails() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&ECHO_REQUEST[..len]).err(),
                Some(WireError::Truncated)
            );
        }
        // Longer prefixes lose bytes the checksum covered (and the length in the pseudo-header).
        for len in HEADER_LEN..ECHO_REQUEST.len() {
            assert_eq!(
                parse(&ECHO_REQUEST[..len], ULA_1, ULA_2),
                Err(WireError::BadChecksum)
            );
        }
        // With the checksum mended, a neighbour solicitation shorter than 24 bytes is truncated.
        for len in HEADER_LEN..NDP_LEN {
            let bytes = refilled(NEIGHBOR_SOLICIT[..len].to_vec(), LL_1, SOLICITED_2);
            assert_eq!(
                parse(&bytes, LL_1, SOLICITED_2),
                Err(WireError::Truncated),
                "length {len}"
            );
        }
    }

    #[test]
    fn checksums_an_odd_length() {
        let repr = Repr::EchoReply {
            ident: 1,
            seq_no: 2,
            data: b"odd",
        };
        let bytes = emit(&repr, ULA_1, ULA_2);
        assert_eq!(bytes.len(), 11);
        assert_eq!(parse(&bytes, ULA_1, ULA_2), Ok(repr));
    }

    proptest! {
        /// Arbitrary bytes, checksum mended or not: checking, every accessor and parsing never
        /// panic; what parses emits back to the same `Repr`.
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..48),
            msg_type in prop_oneof![Just(135u8), Just(136), Just(2), Just(4), any::<u8>()],
            src in any::<[u8; 16]>().prop_map(Ipv6Addr::from),
            dst in any::<[u8; 16]>().prop_map(Ipv6Addr::from),
        ) {
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.msg_type(), packet.code(), packet.checksum(), packet.data());
                let _ = (packet.echo_ident(), packet.echo_seq_no(), packet.word());
                let _ = (packet.ndp_flags(), packet.ndp_target());
                let _ = Repr::parse(&packet, src, dst);
                let mut fixed = bytes.clone();
                fixed[0] = msg_type;
                let fixed = refilled(fixed, src, dst);
                if let Ok(repr) = parse(&fixed, src, dst) {
                    let _ = repr.to_string();
                    let again = emit(&repr, src, dst);
                    prop_assert_eq!(parse(&again, src, dst), Ok(repr));
                }
            }
        }
    }
}
