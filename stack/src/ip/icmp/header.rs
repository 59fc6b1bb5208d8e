//! ICMP messages ([RFC 792]): echo (ping) and the errors a host reports.
//!
//! Every message starts with the same four bytes; the next four depend on the type, and the
//! rest is data. An echo request or reply:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Identifier          |        Sequence Number        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data ...
//! +-+-+-+-+-
//! ```
//!
//! An error (Destination Unreachable, Time Exceeded) quotes the start of the datagram that
//! caused it, so the sender can tell which of its connections it concerns. Fragmentation
//! Needed puts the next-hop MTU in the second word ([RFC 1191 section 4]); otherwise the word
//! is unused:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           unused = 0          |    Next-Hop MTU (code 4)      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Internet Header + 64 bits of Original Data Datagram      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! ICMP has no length field: a message is the whole IP payload, and the checksum covers all of
//! it (no pseudo-header).
//!
//! [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
//! [RFC 1191 section 4]: https://www.rfc-editor.org/rfc/rfc1191#section-4

use std::fmt;

use crate::ip::checksum;
use crate::wire::{read_u16, write_u16, WireError};

/// Byte ranges of the ICMP header fields.
mod field {
    use crate::wire::{Field, Rest};

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// The second word, whose meaning depends on the type.
    pub const REST_OF_HEADER: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ_NO: Field = 6..8;
    pub const NEXT_HOP_MTU: Field = 6..8;
    pub const DATA: Rest = 8..;
}

/// The message types this stack handles ([IANA ICMP parameters]).
///
/// [IANA ICMP parameters]: https://www.iana.org/assignments/icmp-parameters
mod msg_type {
    pub const ECHO_REPLY: u8 = 0;
    pub const DST_UNREACHABLE: u8 = 3;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
}

/// The length of the ICMP header: type, code, checksum and the type-specific word.
pub const HEADER_LEN: usize = 8;

/// A read-only or read-write view of an ICMP message in a byte buffer.
///
/// The buffer is the whole message (the IP payload). Built with [`Packet::new_checked`], every
/// accessor is safe to call.
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

    /// The message type (8 echo request, 0 echo reply, 3 destination unreachable, ...).
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

    /// Echo: the identifier that pairs replies with their sender (a ping process).
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo: the sequence number that pairs a reply with its request.
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ_NO.start)
    }

    /// Fragmentation Needed: the MTU of the next hop (0 from routers older than RFC 1191).
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU.start)
    }

    /// The data after the header: an echo's payload or an error's quoted datagram.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA]
    }

    /// Whether the checksum over the whole message is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.buffer.as_ref()) == 0
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

    /// Zeroes the type-specific word (the "unused" field of error messages).
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

    /// Sets the next-hop MTU of a Fragmentation Needed message.
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::NEXT_HOP_MTU.start, value);
    }

    /// The data after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA]
    }

    /// Computes the checksum over the whole buffer and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(sum);
    }
}

/// Why a destination was unreachable: the code of a type 3 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DstUnreachable {
    /// Code 0: no route to the network.
    NetUnreachable,
    /// Code 1: the host did not answer (e.g. ARP failed on the last hop).
    HostUnreachable,
    /// Code 2: the host does not speak the IP protocol of the datagram.
    ProtoUnreachable,
    /// Code 3: nothing listens on the destination UDP port.
    PortUnreachable,
    /// Code 4: the datagram was too big for the next hop and had DF set (path MTU discovery,
    /// [RFC 1191]).
    ///
    /// [RFC 1191]: https://www.rfc-editor.org/rfc/rfc1191
    FragRequired {
        /// The largest datagram the next hop carries (0 if the router does not say).
        next_hop_mtu: u16,
    },
    /// Any other code (e.g. 13, administratively prohibited, [RFC 1812]). Codes 0 to 4 parse
    /// as the variants above, never as `Other`.
    ///
    /// [RFC 1812]: https://www.rfc-editor.org/rfc/rfc1812
    Other(u8),
}

impl DstUnreachable {
    fn from_code(code: u8, next_hop_mtu: u16) -> DstUnreachable {
        match code {
            0 => DstUnreachable::NetUnreachable,
            1 => DstUnreachable::HostUnreachable,
            2 => DstUnreachable::ProtoUnreachable,
            3 => DstUnreachable::PortUnreachable,
            4 => DstUnreachable::FragRequired { next_hop_mtu },
            other => DstUnreachable::Other(other),
        }
    }

    /// The code field for this reason.
    pub const fn code(self) -> u8 {
        match self {
            DstUnreachable::NetUnreachable => 0,
            DstUnreachable::HostUnreachable => 1,
            DstUnreachable::ProtoUnreachable => 2,
            DstUnreachable::PortUnreachable => 3,
            DstUnreachable::FragRequired { .. } => 4,
            DstUnreachable::Other(code) => code,
        }
    }
}

impl fmt::Display for DstUnreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DstUnreachable::NetUnreachable => f.write_str("net unreachable"),
            DstUnreachable::HostUnreachable => f.write_str("host unreachable"),
            DstUnreachable::ProtoUnreachable => f.write_str("protocol unreachable"),
            DstUnreachable::PortUnreachable => f.write_str("port unreachable"),
            DstUnreachable::FragRequired { next_hop_mtu } => {
                write!(f, "fragmentation needed, mtu={next_hop_mtu}")
            }
            DstUnreachable::Other(code) => write!(f, "code {code}"),
        }
    }
}

/// Why a datagram was discarded in transit: the code of a type 11 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeExceeded {
    /// Code 0: the TTL reached zero (what traceroute provokes).
    TtlExpired,
    /// Code 1: not all fragments arrived before the reassembly timer ran out.
    FragReassembly,
    /// Any other code. Codes 0 and 1 parse as the variants above, never as `Other`.
    Other(u8),
}

impl TimeExceeded {
    fn from_code(code: u8) -> TimeExceeded {
        match code {
            0 => TimeExceeded::TtlExpired,
            1 => TimeExceeded::FragReassembly,
            other => TimeExceeded::Other(other),
        }
    }

    /// The code field for this reason.
    pub const fn code(self) -> u8 {
        match self {
            TimeExceeded::TtlExpired => 0,
            TimeExceeded::FragReassembly => 1,
            TimeExceeded::Other(code) => code,
        }
    }
}

impl fmt::Display for TimeExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeExceeded::TtlExpired => f.write_str("ttl expired in transit"),
            TimeExceeded::FragReassembly => f.write_str("fragment reassembly time exceeded"),
            TimeExceeded::Other(code) => write!(f, "code {code}"),
        }
    }
}

/// An ICMP message as plain values, borrowing its data from the buffer it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo Request (type 8): "ping".
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, to be returned unchanged in the reply.
        data: &'a [u8],
    },
    /// Echo Reply (type 0).
    EchoReply {
        /// Identifier, copied from the request.
        ident: u16,
        /// Sequence number, copied from the request.
        seq_no: u16,
        /// Data, copied from the request.
        data: &'a [u8],
    },
    /// Destination Unreachable (type 3).
    DstUnreachable {
        /// Why.
        reason: DstUnreachable,
        /// The leading bytes of the datagram that could not be delivered: its IP header and
        /// at least 8 bytes of its payload (RFC 792), often more (RFC 1812 lets routers quote
        /// up to 576 bytes of message). Its Total Length usually exceeds what is quoted.
        invoking: &'a [u8],
    },
    /// Time Exceeded (type 11).
    TimeExceeded {
        /// Why.
        reason: TimeExceeded,
        /// The leading bytes of the discarded datagram, as for `DstUnreachable`.
        invoking: &'a [u8],
    },
    /// A type this stack does not handle (timestamp, redirect, ...); its data is not kept.
    Other {
        /// The message type.
        msg_type: u8,
        /// The code.
        code: u8,
    },
}

impl<'a> Repr<'a> {
    /// Reads a checked message, verifying its checksum.
    ///
    /// Any type parses: the ones this stack does not handle become [`Repr::Other`]. The echo
    /// code, always 0 in RFC 792, is not checked.
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>, WireError> {
        if !packet.verify_checksum() {
            return Err(WireError::BadChecksum);
        }
        // From the buffer itself, not `packet.data()`, so the slice lives as long as the bytes.
        let data = packet.buffer.get(field::DATA).unwrap_or_default();
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
                reason: DstUnreachable::from_code(packet.code(), packet.next_hop_mtu()),
                invoking: data,
            },
            msg_type::TIME_EXCEEDED => Repr::TimeExceeded {
                reason: TimeExceeded::from_code(packet.code()),
                invoking: data,
            },
            msg_type => Repr::Other {
                msg_type,
                code: packet.code(),
            },
        };
        Ok(repr)
    }

    /// The quoted datagram of an error message; `None` for other messages.
    pub fn invoking(&self) -> Option<&'a [u8]> {
        match *self {
            Repr::DstUnreachable { invoking, .. } | Repr::TimeExceeded { invoking, .. } => {
                Some(invoking)
            }
            _ => None,
        }
    }

    /// The data after the header that [`Repr::emit`] writes.
    fn data(&self) -> &'a [u8] {
        match *self {
            Repr::EchoRequest { data, .. } | Repr::EchoReply { data, .. } => data,
            Repr::DstUnreachable { invoking, .. } | Repr::TimeExceeded { invoking, .. } => invoking,
            Repr::Other { .. } => &[],
        }
    }

    /// The bytes [`Repr::emit`] writes: the 8-byte header and the data.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the whole message, data copied in and checksum filled, into the first
    /// [`Repr::buffer_len`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) {
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
            Repr::DstUnreachable { reason, .. } => {
                if let DstUnreachable::FragRequired { next_hop_mtu } = reason {
                    packet.set_next_hop_mtu(next_hop_mtu);
                }
                (msg_type::DST_UNREACHABLE, reason.code())
            }
            Repr::TimeExceeded { reason, .. } => (msg_type::TIME_EXCEEDED, reason.code()),
            Repr::Other { msg_type, code } => (msg_type, code),
        };
        packet.set_msg_type(msg_type);
        packet.set_code(code);
        packet.data_mut().copy_from_slice(self.data());
        packet.fill_checksum();
    }
}

/// One line for logs, e.g. `ICMP echo request id=0x1234 seq=1 len=56`.
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
                    "ICMP echo request id={ident:#06x} seq={seq_no} len={len}"
                )
            }
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                let len = data.len();
                write!(f, "ICMP echo reply id={ident:#06x} seq={seq_no} len={len}")
            }
            Repr::DstUnreachable { reason, invoking } => {
                let quoted = invoking.len();
                write!(f, "ICMP destination unreachable ({reason}) quote={quoted}")
            }
            Repr::TimeExceeded { reason, invoking } => {
                let quoted = invoking.len();
                write!(f, "ICMP time exceeded ({reason}) quote={quoted}")
            }
            Repr::Other { msg_type, code } => write!(f, "ICMP type={msg_type} code={code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An echo request, identifier 0x1234, sequence 1, 16 bytes of data ("abcdefghijklmnop").
    const ECHO_REQUEST: [u8; 24] = [
        0x08, 0x00, 0xa2, 0x7f, 0x12, 0x34, 0x00, 0x01, b'a', b'b', b'c', b'd', b'e', b'f', b'g',
        b'h', b'i', b'j', b'k', b'l', b'm', b'n', b'o', b'p',
    ];

    /// The first 28 bytes of the UDP datagram in the IPv4 header tests: its IP header and UDP
    /// header, what a port unreachable message quotes.
    const QUOTED: [u8; 28] = [
        0x45, 0x00, 0x00, 0x21, 0x9c, 0x1e, 0x40, 0x00, 0x40, 0x11, 0x8a, 0x11, 0x0a, 0x4d, 0x00,
        0x01, 0x0a, 0x4d, 0x00, 0x02, 0xd4, 0x31, 0x00, 0x07, 0x00, 0x0d, 0x00, 0x00,
    ];

    /// The port unreachable header for that datagram; the 28 quoted bytes follow it.
    const PORT_UNREACHABLE_HEADER: [u8; 8] = [0x03, 0x03, 0x28, 0xb7, 0x00, 0x00, 0x00, 0x00];

    fn emit(repr: &Repr) -> Vec<u8> {
        let mut buf = vec![0xaa; repr.buffer_len()];
        repr.emit(&mut buf);
        buf
    }

    fn parse(bytes: &[u8]) -> Result<Repr<'_>, WireError> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    #[test]
    fn parses_an_echo_request() {
        let repr = parse(&ECHO_REQUEST).unwrap();
        assert_eq!(
            repr,
            Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: b"abcdefghijklmnop",
            }
        );
        assert_eq!(repr.invoking(), None);
        assert_eq!(repr.to_string(), "ICMP echo request id=0x1234 seq=1 len=16");
    }

    #[test]
    fn emits_the_same_echo_request() {
        let repr = parse(&ECHO_REQUEST).unwrap();
        assert_eq!(repr.buffer_len(), 24);
        assert_eq!(emit(&repr), ECHO_REQUEST);
    }

    #[test]
    fn answers_an_echo_request_with_a_reply() {
        let Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = parse(&ECHO_REQUEST).unwrap()
        else {
            panic!("not an echo request");
        };
        let reply = emit(&Repr::EchoReply {
            ident,
            seq_no,
            data,
        });
        // Only the type changes, and the checksum by exactly 8 << 8 (RFC 1624 incremental update).
        assert_eq!(reply[0], 0);
        assert_eq!(reply[2..4], (0xa27fu16 + 0x0800).to_be_bytes());
        assert_eq!(reply[4..], ECHO_REQUEST[4..]);
        assert_eq!(
            parse(&reply),
            Ok(Repr::EchoReply {
                ident,
                seq_no,
                data
            })
        );
    }

    #[test]
    fn round_trips_a_port_unreachable() {
        let mut bytes = PORT_UNREACHABLE_HEADER.to_vec();
        bytes.extend_from_slice(&QUOTED);
        let repr = Repr::DstUnreachable {
            reason: DstUnreachable::PortUnreachable,
            invoking: &QUOTED,
        };
        assert_eq!(parse(&bytes), Ok(repr));
        assert_eq!(emit(&repr), bytes);
        assert_eq!(repr.invoking(), Some(&QUOTED[..]));
        assert_eq!(
            repr.to_string(),
            "ICMP destination unreachable (port unreachable) quote=28"
        );
    }

    #[test]
    fn carries_the_next_hop_mtu() {
        let repr = Repr::DstUnreachable {
            reason: DstUnreachable::FragRequired { next_hop_mtu: 1400 },
            invoking: &QUOTED,
        };
        let bytes = emit(&repr);
        assert_eq!(bytes[..8], [3, 4, 0x23, 0x3e, 0, 0, 0x05, 0x78]);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.next_hop_mtu(), 1400);
        assert_eq!(Repr::parse(&packet), Ok(repr));
        assert!(repr.to_string().contains("fragmentation needed, mtu=1400"));
    }

    #[test]
    fn reads_time_exceeded_and_other_codes() {
        let ttl = Repr::TimeExceeded {
            reason: TimeExceeded::TtlExpired,
            invoking: &QUOTED,
        };
        assert_eq!(parse(&emit(&ttl)), Ok(ttl));
        assert_eq!(
            ttl.to_string(),
            "ICMP time exceeded (ttl expired in transit) quote=28"
        );
        let prohibited = Repr::DstUnreachable {
            reason: DstUnreachable::Other(13),
            invoking: &QUOTED[..20],
        };
        assert_eq!(parse(&emit(&prohibited)), Ok(prohibited));
        let reassembly = Repr::TimeExceeded {
            reason: TimeExceeded::FragReassembly,
            invoking: &[],
        };
        assert_eq!(parse(&emit(&reassembly)), Ok(reassembly));
    }

    #[test]
    fn parses_unhandled_types_without_their_data() {
        // A timestamp request (type 13): its 12 bytes of timestamps are ignored.
        let mut bytes = [13, 0, 0, 0, 0, 7, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        let repr = parse(&bytes).unwrap();
        assert_eq!(
            repr,
            Repr::Other {
                msg_type: 13,
                code: 0
            }
        );
        assert_eq!(repr.buffer_len(), 8);
        assert_eq!(repr.to_string(), "ICMP type=13 code=0");
    }

    #[test]
    fn rejects_a_bad_checksum() {
        let mut bytes = ECHO_REQUEST;
        bytes[23] = b'q';
        assert_eq!(parse(&bytes), Err(WireError::BadChecksum));
    }

    #[test]
    fn checksums_an_odd_length() {
        let repr = Repr::EchoRequest {
            ident: 1,
            seq_no: 2,
            data: b"odd",
        };
        let bytes = emit(&repr);
        assert_eq!(bytes.len(), 11);
        assert_eq!(parse(&bytes), Ok(repr));
    }

    #[test]
    fn every_short_prefix_is_truncated() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&ECHO_REQUEST[..len]).err(),
                Some(WireError::Truncated)
            );
        }
        // Longer prefixes are well-formed but lose bytes the checksum covered.
        for len in HEADER_LEN..ECHO_REQUEST.len() {
            assert_eq!(parse(&ECHO_REQUEST[..len]), Err(WireError::BadChecksum));
        }
    }

    /// A Repr without its data, so that a strategy can own it; the data is drawn beside it.
    #[derive(Debug, Clone)]
    enum Shape {
        Echo {
            request: bool,
            ident: u16,
            seq_no: u16,
        },
        Unreachable(DstUnreachable),
        Exceeded(TimeExceeded),
        Other {
            msg_type: u8,
            code: u8,
        },
    }

    impl Shape {
        fn with<'a>(&self, data: &'a [u8]) -> Repr<'a> {
            match *self {
                Shape::Echo {
                    request: true,
                    ident,
                    seq_no,
                } => Repr::EchoRequest {
                    ident,
                    seq_no,
                    data,
                },
                Shape::Echo {
                    request: false,
                    ident,
                    seq_no,
                } => Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                },
                Shape::Unreachable(reason) => Repr::DstUnreachable {
                    reason,
                    invoking: data,
                },
                Shape::Exceeded(reason) => Repr::TimeExceeded {
                    reason,
                    invoking: data,
                },
                Shape::Other { msg_type, code } => Repr::Other { msg_type, code },
            }
        }
    }

    fn arb_shape() -> impl Strategy<Value = Shape> {
        // Codes with a variant of their own never parse as `Other`, so do not generate them so.
        let unreachable = prop_oneof![
            (0u8..4).prop_map(|code| DstUnreachable::from_code(code, 0)),
            any::<u16>().prop_map(|next_hop_mtu| DstUnreachable::FragRequired { next_hop_mtu }),
            (5u8..).prop_map(DstUnreachable::Other),
        ];
        let handled = [0, 3, 8, 11];
        prop_oneof![
            any::<(bool, u16, u16)>().prop_map(|(request, ident, seq_no)| Shape::Echo {
                request,
                ident,
                seq_no
            }),
            unreachable.prop_map(Shape::Unreachable),
            any::<u8>().prop_map(|code| Shape::Exceeded(TimeExceeded::from_code(code))),
            any::<(u8, u8)>()
                .prop_filter("a handled type", move |(t, _)| !handled.contains(t))
                .prop_map(|(msg_type, code)| Shape::Other { msg_type, code }),
        ]
    }

    proptest! {
        /// Emit then parse gives the Repr back.
        #[test]
        fn emit_then_parse_round_trips(
            shape in arb_shape(),
            data in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let repr = shape.with(&data);
            let bytes = emit(&repr);
            prop_assert_eq!(parse(&bytes), Ok(repr));
        }

        /// Arbitrary bytes: checking, every accessor and parsing never panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.msg_type(), packet.code(), packet.checksum(), packet.data());
                let _ = (packet.echo_ident(), packet.echo_seq_no(), packet.next_hop_mtu());
                let _ = Repr::parse(&packet);
                let mut fixed = bytes.clone();
                Packet::new_unchecked(&mut fixed[..]).fill_checksum();
                let repr = parse(&fixed);
                prop_assert!(repr.is_ok());
                let _ = repr.map(|r| r.to_string());
            }
        }
    }
}
