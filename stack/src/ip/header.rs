//! The IPv4 header ([RFC 791 section 3.1]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |Type of Service|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |Flags|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options                    |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! IHL counts 32-bit words, so a header is 20 to 60 bytes. Total Length counts the header and the
//! data. Flags are reserved (0), DF (don't fragment) and MF (more fragments); the fragment
//! offset counts 8-byte units. This stack sends no options and skips the options it receives:
//! the header checksum covers them, and [`Packet::header_len`] steps over them.
//!
//! [RFC 791 section 3.1]: https://www.rfc-editor.org/rfc/rfc791#section-3.1

use std::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use crate::wire::{read_u16, write_u16, Field, WireError};

/// Byte ranges of the IPv4 header fields.
mod field {
    use crate::wire::Field;

    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// The length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// The Don't Fragment flag, in the flags-and-offset word.
const FLAG_DF: u16 = 0x4000;
/// The More Fragments flag, in the flags-and-offset word.
const FLAG_MF: u16 = 0x2000;
/// The fragment offset bits, in the flags-and-offset word.
const OFFSET_MASK: u16 = 0x1fff;

/// The upper-layer protocol a packet carries: IPv4's Protocol field, and the Next Header value
/// that ends an IPv6 extension-header chain ([IANA protocol numbers], one registry for both).
///
/// One type serves both IP versions, so UDP, TCP and the demultiplexer above IP match on the
/// same values whichever version delivered the payload. IPv6's extension headers are numbers
/// from the same registry, but they are not a transport: the chain walk consumes them before
/// anything reaches a transport, so they live in their own type,
/// [`NextHeader`](super::ipv6::NextHeader), which wraps this one for everything else. Keeping
/// them out of here means no IPv4 `match` needs arms for headers that can never reach it.
///
/// [IANA protocol numbers]: https://www.iana.org/assignments/protocol-numbers
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// ICMP, protocol 1 ([RFC 792]).
    ///
    /// [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
    Icmp,
    /// TCP, protocol 6 ([RFC 9293]).
    ///
    /// [RFC 9293]: https://www.rfc-editor.org/rfc/rfc9293
    Tcp,
    /// UDP, protocol 17 ([RFC 768]).
    ///
    /// [RFC 768]: https://www.rfc-editor.org/rfc/rfc768
    Udp,
    /// ICMPv6, protocol 58 ([RFC 4443]): IPv6's control messages (and NDP's).
    ///
    /// [RFC 4443]: https://www.rfc-editor.org/rfc/rfc4443
    Icmpv6,
    /// Any other protocol number.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            58 => IpProtocol::Icmpv6,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> u8 {
        match value {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Unknown(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Icmpv6 => f.write_str("ICMPv6"),
            IpProtocol::Unknown(n) => write!(f, "proto-{n}"),
        }
    }
}

/// A read-only or read-write view of an IPv4 packet in a byte buffer.
///
/// Built with [`Packet::new_checked`], every accessor is safe to call: the lengths it relies on
/// were validated once, up front.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. For building packets in a buffer known to be large
    /// enough; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that its lengths are consistent, so that no accessor panics.
    ///
    /// Checks, in order: the version is 4; the fixed header fits; IHL is at least 5 and the header
    /// it describes fits; Total Length covers the header and fits in the buffer. The buffer may
    /// be longer than Total Length (link padding); [`Packet::payload`] ignores the excess.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        let len = packet.buffer.as_ref().len();
        packet.check_lengths(len).map(|()| packet)
    }

    /// Like [`Packet::new_checked`], for a buffer that holds the packet's first bytes only
    /// (its headers), the other `rest` bytes lying elsewhere: Total Length must be exactly
    /// the buffer's length and `rest`.
    pub fn new_checked_head(buffer: T, rest: usize) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        let len = packet.buffer.as_ref().len();
        packet.check_lengths(len.saturating_add(rest))?;
        match usize::from(packet.total_len()) == len.saturating_add(rest) {
            true => Ok(packet),
            false => Err(WireError::BadLength),
        }
    }

    /// Like [`Packet::new_checked`], for a TCP super-packet on its way to a device with BIG
    /// TCP ([`Offloads::big_tcp`](crate::device::Offloads::big_tcp)): on a buffer longer than
    /// Total Length can say, a Total Length of 0 stands for the buffer's length, as Linux
    /// reads such a packet (`iph_totlen`).
    pub fn new_checked_super(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        let len = packet.buffer.as_ref().len();
        packet.check_lengths_as(len, true).map(|()| packet)
    }

    /// [`Packet::new_checked`]'s checks, for a packet of which `len` bytes are at hand.
    fn check_lengths(&self, len: usize) -> Result<(), WireError> {
        self.check_lengths_as(len, false)
    }

    /// [`Packet::check_lengths`]; with `big`, a BIG TCP packet's Total Length of 0 is read
    /// as [`Packet::packet_len`] reads it.
    fn check_lengths_as(&self, len: usize, big: bool) -> Result<(), WireError> {
        let packet = self;
        let data = packet.buffer.as_ref();
        match data.first() {
            None => return Err(WireError::Truncated),
            Some(b) if b >> 4 != 4 => return Err(WireError::BadVersion),
            Some(_) => {}
        }
        if data.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let header_len = packet.header_len();
        if header_len < HEADER_LEN {
            return Err(WireError::BadLength);
        }
        if header_len > data.len() {
            return Err(WireError::Truncated);
        }
        let total_len = match big {
            true => packet.packet_len(),
            false => usize::from(packet.total_len()),
        };
        if total_len < header_len {
            return Err(WireError::BadLength);
        }
        if total_len > len {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 for every packet that passed `new_checked`).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The Type of Service byte (DSCP and ECN, [RFC 2474], [RFC 3168]).
    ///
    /// [RFC 2474]: https://www.rfc-editor.org/rfc/rfc2474
    /// [RFC 3168]: https://www.rfc-editor.org/rfc/rfc3168
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Total Length: header plus data, in bytes.
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The Identification field, shared by the fragments of one datagram.
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    /// The Don't Fragment flag.
    pub fn dont_fragment(&self) -> bool {
        self.flags_and_offset() & FLAG_DF != 0
    }

    /// The More Fragments flag.
    pub fn more_fragments(&self) -> bool {
        self.flags_and_offset() & FLAG_MF != 0
    }

    /// The fragment offset, in bytes (the field counts 8-byte units).
    pub fn fragment_offset(&self) -> u16 {
        (self.flags_and_offset() & OFFSET_MASK) * 8
    }

    /// Whether this packet is a fragment of a larger datagram (MF set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.more_fragments() || self.fragment_offset() != 0
    }

    fn flags_and_offset(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    /// Time to Live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The Header Checksum field as sent.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Whether the header checksum (over the whole header, options included) is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(&self.buffer.as_ref()[..self.header_len()]) == 0
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        addr_at(self.buffer.as_ref(), field::SRC_ADDR)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        addr_at(self.buffer.as_ref(), field::DST_ADDR)
    }

    /// The options bytes (empty when IHL is 5).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The payload: the bytes after the header, up to Total Length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..self.packet_len()]
    }

    /// The packet's length: Total Length, or the buffer's for a BIG TCP super-packet (Total
    /// Length 0 on a buffer longer than 65,535 bytes; see [`Packet::new_checked_super`]).
    pub fn packet_len(&self) -> usize {
        let len = self.buffer.as_ref().len();
        match self.total_len() {
            0 if len > usize::from(u16::MAX) => len,
            total => usize::from(total),
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 4 and the header length in bytes (a multiple of 4).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    /// Sets the Type of Service byte.
    pub fn set_tos(&mut self, value: u8) {
        self.buffer.as_mut()[field::TOS] = value;
    }

    /// Sets Total Length.
    pub fn set_total_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    /// Sets the header checksum field as it is (see [`Packet::fill_checksum`] to compute it).
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Sets the Identification field.
    pub fn set_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT.start, value);
    }

    /// Sets the flags and the fragment offset (in bytes, a multiple of 8).
    pub fn set_flags_and_offset(&mut self, dont_fragment: bool, more_fragments: bool, offset: u16) {
        let mut word = (offset / 8) & OFFSET_MASK;
        if dont_fragment {
            word |= FLAG_DF;
        }
        if more_fragments {
            word |= FLAG_MF;
        }
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, word);
    }

    /// Sets Time to Live.
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = value.into();
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets());
    }

    /// Computes the header checksum over the header as it stands and stores it.
    pub fn fill_checksum(&mut self) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, 0);
        let header_len = self.header_len();
        let sum = checksum::checksum(&self.buffer.as_ref()[..header_len]);
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, sum);
    }

    /// The payload, writable; the header (including Total Length) must already be set.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

fn addr_at(data: &[u8], field: Field) -> Ipv4Addr {
    let b = &data[field];
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// An IPv4 header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// The protocol of the payload.
    pub protocol: IpProtocol,
    /// Time to Live.
    pub ttl: u8,
    /// Type of Service (DSCP and ECN).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_fragment: bool,
    /// More Fragments.
    pub more_fragments: bool,
    /// Fragment offset in bytes.
    pub fragment_offset: u16,
    /// Length of the payload in bytes (Total Length minus the header).
    pub payload_len: usize,
}

impl Repr {
    /// Reads the header of a checked packet, verifying its checksum.
    ///
    /// Options are skipped: they are covered by the checksum but not represented.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, WireError> {
        if !packet.verify_checksum() {
            return Err(WireError::BadChecksum);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_fragment: packet.dont_fragment(),
            more_fragments: packet.more_fragments(),
            fragment_offset: packet.fragment_offset(),
            payload_len: packet.packet_len().saturating_sub(packet.header_len()),
        })
    }

    /// The bytes [`Repr::emit`] writes: the header only (this stack sends no options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole packet's length: header plus payload.
    pub const fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header, checksum included, into the first 20 bytes of `buf`.
    ///
    /// `buf` must hold at least [`Repr::buffer_len`] bytes; the payload is the caller's to write.
    /// `payload_len` keeps the total within 65,535 bytes but for a BIG TCP super-packet
    /// ([`Offloads::big_tcp`](crate::device::Offloads::big_tcp)), whose Total Length is
    /// written as 0: its length is its buffer's, as Linux has it.
    pub fn emit(&self, buf: &mut [u8]) {
        let mut packet = Packet::new_unchecked(buf);
        packet.set_version_and_header_len(HEADER_LEN);
        packet.set_tos(self.tos);
        packet.set_total_len(u16::try_from(self.total_len()).unwrap_or(0));
        packet.set_ident(self.ident);
        packet.set_flags_and_offset(
            self.dont_fragment,
            self.more_fragments,
            self.fragment_offset,
        );
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

/// Reads the header of a datagram quoted inside an ICMP error ([RFC 792]: the quote is the
/// IP header plus at least 8 bytes of data). The quote is cut short, so Total Length is not held
/// against the buffer, and the checksum is not checked (routers may have rewritten the TTL).
/// Returns the header and its length in bytes.
///
/// [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
pub fn parse_quoted(bytes: &[u8]) -> Result<(Repr, usize), WireError> {
    match bytes.first() {
        None => return Err(WireError::Truncated),
        Some(b) if b >> 4 != 4 => return Err(WireError::BadVersion),
        Some(_) => {}
    }
    if bytes.len() < HEADER_LEN {
        return Err(WireError::Truncated);
    }
    let header_len = usize::from(bytes[field::VER_IHL] & 0x0f) * 4;
    if header_len < HEADER_LEN {
        return Err(WireError::BadLength);
    }
    if header_len > bytes.len() {
        return Err(WireError::Truncated);
    }
    // Only the header is looked at: every accessor used below reads within `header_len`.
    let packet = Packet::new_unchecked(&bytes[..header_len]);
    let repr = Repr {
        src_addr: packet.src_addr(),
        dst_addr: packet.dst_addr(),
        protocol: packet.protocol(),
        ttl: packet.ttl(),
        tos: packet.tos(),
        ident: packet.ident(),
        dont_fragment: packet.dont_fragment(),
        more_fragments: packet.more_fragments(),
        fragment_offset: packet.fragment_offset(),
        payload_len: usize::from(packet.total_len()).saturating_sub(header_len),
    };
    Ok((repr, header_len))
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv4 {} > {} {} ttl={} id={:#06x}{} len={}+{}",
            self.src_addr,
            self.dst_addr,
            self.protocol,
            self.ttl,
            self.ident,
            if self.dont_fragment { " DF" } else { "" },
            HEADER_LEN,
            self.payload_len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP datagram 10.77.0.1:54321 → 10.77.0.2:7 carrying "hello" (UDP checksum left at 0).
    const UDP_PACKET: [u8; 33] = [
        0x45, 0x00, 0x00, 0x21, 0x9c, 0x1e, 0x40, 0x00, 0x40, 0x11, 0x8a, 0x11, 0x0a, 0x4d, 0x00,
        0x01, 0x0a, 0x4d, 0x00, 0x02, 0xd4, 0x31, 0x00, 0x07, 0x00, 0x0d, 0x00, 0x00, b'h', b'e',
        b'l', b'l', b'o',
    ];

    fn repr() -> Repr {
        Repr {
            src_addr: Ipv4Addr::new(10, 77, 0, 1),
            dst_addr: Ipv4Addr::new(10, 77, 0, 2),
            protocol: IpProtocol::Udp,
            ttl: 64,
            tos: 0,
            ident: 0x9c1e,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len: 13,
        }
    }

    #[test]
    fn a_big_tcp_packet_says_total_length_0_and_only_a_super_packet_reader_takes_it() {
        let len = 100_000;
        let header = Repr {
            protocol: IpProtocol::Tcp,
            payload_len: len - HEADER_LEN,
            ..repr()
        };
        let mut buf = vec![0; len];
        header.emit(&mut buf);
        let packet = Packet::new_unchecked(&buf[..]);
        assert_eq!(packet.total_len(), 0, "more than 16 bits can say");
        assert!(packet.verify_checksum());
        assert_eq!(
            Packet::new_checked(&buf[..]).err(),
            Some(WireError::BadLength)
        );
        let packet = Packet::new_checked_super(&buf[..]).expect("Linux's reading");
        assert_eq!(
            (packet.packet_len(), packet.payload().len()),
            (len, len - 20)
        );
        assert_eq!(Repr::parse(&packet).map(|r| r.payload_len), Ok(len - 20));
        // A Total Length of 0 on a packet that fits 16 bits is no BIG TCP packet.
        let mut short = buf[..60_000].to_vec();
        Packet::new_unchecked(&mut short[..]).fill_checksum();
        assert_eq!(
            Packet::new_checked_super(&short[..]).err(),
            Some(WireError::BadLength)
        );
        // An ordinary packet reads the same either way; a short buffer is an error, no panic.
        let udp = Packet::new_checked_super(&UDP_PACKET[..]).expect("ordinary");
        assert_eq!(udp.payload().len(), 13);
        assert_eq!(
            Packet::new_checked_super(&UDP_PACKET[..3]).err(),
            Some(WireError::Truncated)
        );
    }

    #[test]
    fn parses_a_real_packet() {
        let packet = Packet::new_checked(&UDP_PACKET[..]).unwrap();
        let parsed = Repr::parse(&packet).unwrap();
        assert_eq!(parsed, repr());
        assert_eq!(packet.payload().len(), 13);
        assert!(!packet.is_fragment());
    }

    #[test]
    fn emits_the_same_bytes() {
        let mut buf = [0u8; 20];
        repr().emit(&mut buf);
        assert_eq!(buf, UDP_PACKET[..20]);
    }

    #[test]
    fn rejects_wrong_version_and_lengths() {
        let mut bytes = UDP_PACKET;
        bytes[0] = 0x65;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(WireError::BadVersion)
        );
        bytes[0] = 0x44; // IHL 4: a header shorter than 20 bytes
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(WireError::BadLength)
        );
        assert_eq!(
            Packet::new_checked(&UDP_PACKET[..19]).err(),
            Some(WireError::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&UDP_PACKET[..32]).err(),
            Some(WireError::Truncated),
            "total length 33 does not fit in 32 bytes"
        );
        let mut short_total = UDP_PACKET;
        short_total[3] = 19;
        assert_eq!(
            Packet::new_checked(&short_total[..]).err(),
            Some(WireError::BadLength)
        );
        assert_eq!(
            Packet::new_checked(&[][..]).err(),
            Some(WireError::Truncated)
        );
    }

    #[test]
    fn rejects_a_bad_checksum() {
        let mut bytes = UDP_PACKET;
        bytes[8] = 63; // TTL changed without fixing the checksum
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Err(WireError::BadChecksum));
    }

    #[test]
    fn skips_options_and_ignores_link_padding() {
        // The same packet with a 4-byte option (NOP NOP NOP EOL) and 6 bytes of padding after it.
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&UDP_PACKET[..20]);
        bytes.extend_from_slice(&[1, 1, 1, 0]);
        bytes.extend_from_slice(&UDP_PACKET[20..]);
        bytes.extend_from_slice(&[0; 6]);
        bytes[0] = 0x46;
        bytes[3] = 37;
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.fill_checksum();
        let parsed = Repr::parse(&packet).unwrap();
        assert_eq!(parsed.payload_len, 13);
        assert_eq!(packet.options(), &[1, 1, 1, 0]);
        assert_eq!(packet.payload(), &UDP_PACKET[20..]);
    }

    #[test]
    fn reads_a_quoted_header_cut_short() {
        let (quoted, header_len) = parse_quoted(&UDP_PACKET[..28]).unwrap();
        assert_eq!(
            (quoted.dst_addr, quoted.protocol, header_len),
            (repr().dst_addr, IpProtocol::Udp, 20)
        );
        assert_eq!(
            quoted.payload_len, 13,
            "from Total Length, though the quote holds only 8"
        );
        assert_eq!(parse_quoted(&UDP_PACKET[..19]), Err(WireError::Truncated));
        assert_eq!(parse_quoted(&[0x60; 40]), Err(WireError::BadVersion));
    }

    #[test]
    fn reads_fragment_fields() {
        let mut bytes = UDP_PACKET;
        bytes[6] = 0x20; // MF, offset 0
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.more_fragments() && packet.is_fragment());
        bytes[6] = 0x00;
        bytes[7] = 0x03; // offset 3 units = 24 bytes
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.fragment_offset(), 24);
        assert!(packet.is_fragment() && !packet.more_fragments());
    }
}
