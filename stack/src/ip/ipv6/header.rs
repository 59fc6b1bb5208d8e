//! The IPv6 fixed header ([RFC 8200 section 3]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +                         Source Address                        +
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +                      Destination Address                      +
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Always 40 bytes. Traffic Class is IPv4's Type of Service byte (DSCP and ECN, [RFC 2474],
//! [RFC 3168]), split across the first two bytes; the Flow Label (20 bits, [RFC 6437]) lets a
//! source mark packets that belong together. Payload Length counts everything after these 40
//! bytes, extension headers included (unlike IPv4's Total Length, which counts the header).
//! Next Header names what follows: an extension header or the upper-layer protocol. Hop Limit is
//! IPv4's TTL, renamed for what it always was.
//!
//! [RFC 8200 section 3]: https://www.rfc-editor.org/rfc/rfc8200#section-3
//! [RFC 2474]: https://www.rfc-editor.org/rfc/rfc2474
//! [RFC 3168]: https://www.rfc-editor.org/rfc/rfc3168
//! [RFC 6437]: https://www.rfc-editor.org/rfc/rfc6437

use std::fmt;
use std::net::Ipv6Addr;

use super::NextHeader;
use crate::wire::{read_u16, read_u32, write_u16, write_u32, Field, WireError};

/// Byte ranges of the IPv6 header fields.
mod field {
    use crate::wire::Field;

    /// Version (4 bits), Traffic Class (8 bits) and Flow Label (20 bits), as one 32-bit word.
    pub const VER_TC_FLOW: Field = 0..4;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// The length of the IPv6 header: fixed, with no options.
pub const HEADER_LEN: usize = 40;

/// The Flow Label bits in the first 32-bit word.
const FLOW_LABEL_MASK: u32 = 0x000f_ffff;

/// The largest Flow Label (20 bits).
pub const MAX_FLOW_LABEL: u32 = FLOW_LABEL_MASK;

/// A read-only or read-write view of an IPv6 packet in a byte buffer.
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
    /// Checks, in order: the version is 6 ([`WireError::BadVersion`]); the 40-byte header fits;
    /// Payload Length fits in the rest of the buffer ([`WireError::Truncated`] for both). The
    /// buffer may be longer than 40 + Payload Length (Ethernet pads short frames): the excess is
    /// not payload, and [`Packet::payload`] leaves it out. Jumbograms ([RFC 2675], Payload
    /// Length 0 with a Jumbo Payload option) are not supported: their payload reads as empty.
    ///
    /// [RFC 2675]: https://www.rfc-editor.org/rfc/rfc2675
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        packet.check_fixed()?;
        if packet.total_len() > packet.buffer.as_ref().len() {
            return Err(WireError::Truncated);
        }
        Ok(packet)
    }

    /// Like [`Packet::new_checked`], for a packet that came in two parts: `buffer` holds its
    /// start (the fixed header at least), and `rest` more bytes follow elsewhere. The
    /// Payload Length must count exactly the two together.
    pub fn new_checked_head(buffer: T, rest: usize) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        packet.check_fixed()?;
        let len = packet.buffer.as_ref().len();
        match packet.total_len() == len.saturating_add(rest) {
            true => Ok(packet),
            false => Err(WireError::BadLength),
        }
    }

    /// Version 6, and the whole fixed header at hand.
    fn check_fixed(&self) -> Result<(), WireError> {
        let data = self.buffer.as_ref();
        match data.first() {
            None => return Err(WireError::Truncated),
            Some(b) if b >> 4 != 6 => return Err(WireError::BadVersion),
            Some(_) => {}
        }
        if data.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn first_word(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VER_TC_FLOW.start)
    }

    /// The version field (6 for every packet that passed `new_checked`).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    /// The Traffic Class byte (DSCP in the high six bits, ECN in the low two).
    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// The Flow Label (20 bits; 0 when the source does not label flows).
    pub fn flow_label(&self) -> u32 {
        self.first_word() & FLOW_LABEL_MASK
    }

    /// Payload Length: the bytes after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PAYLOAD_LEN.start)
    }

    /// The packet's length as its header says: 40 + Payload Length.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    /// What follows the fixed header: an extension header or the upper-layer protocol.
    pub fn next_header(&self) -> NextHeader {
        NextHeader::from(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// Hop Limit (IPv4's TTL).
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), field::SRC_ADDR)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), field::DST_ADDR)
    }

    /// The payload: exactly Payload Length bytes after the header (extension headers included,
    /// link padding left out).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_first_word(&mut self, word: u32) {
        write_u32(self.buffer.as_mut(), field::VER_TC_FLOW.start, word);
    }

    /// Sets the version to 6, keeping Traffic Class and Flow Label.
    pub fn set_version(&mut self) {
        let word = self.first_word() & 0x0fff_ffff;
        self.set_first_word(word | 6 << 28);
    }

    /// Sets the Traffic Class byte.
    pub fn set_traffic_class(&mut self, value: u8) {
        let word = self.first_word() & 0xf00f_ffff;
        self.set_first_word(word | u32::from(value) << 20);
    }

    /// Sets the Flow Label; bits above the 20 the field holds are dropped.
    pub fn set_flow_label(&mut self, value: u32) {
        let word = self.first_word() & !FLOW_LABEL_MASK;
        self.set_first_word(word | (value & FLOW_LABEL_MASK));
    }

    /// Sets Payload Length.
    pub fn set_payload_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::PAYLOAD_LEN.start, value);
    }

    /// Sets Next Header.
    pub fn set_next_header(&mut self, value: NextHeader) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value.into();
    }

    /// Sets Hop Limit.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets());
    }

    /// The payload, writable; Payload Length must already be set.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

fn addr_at(data: &[u8], field: Field) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&data[field]);
    Ipv6Addr::from(octets)
}

/// An IPv6 fixed header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// What follows the fixed header.
    pub next_header: NextHeader,
    /// Hop Limit.
    pub hop_limit: u8,
    /// Traffic Class (DSCP and ECN).
    pub traffic_class: u8,
    /// Flow Label, at most [`MAX_FLOW_LABEL`].
    pub flow_label: u32,
    /// Payload Length: the bytes after the fixed header, extension headers included.
    pub payload_len: usize,
}

impl Repr {
    /// Reads the header of a checked packet.
    ///
    /// Nothing is left to reject once [`Packet::new_checked`] has passed: IPv6 has no header
    /// checksum, and what follows the header is the extension-header walk's to judge
    /// ([`super::ext::walk`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Repr {
        Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
            payload_len: usize::from(packet.payload_len()),
        }
    }

    /// The bytes [`Repr::emit`] writes: the 40-byte fixed header.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole packet's length: header plus payload.
    pub const fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header into the first 40 bytes of `buf`.
    ///
    /// `buf` must hold at least [`Repr::buffer_len`] bytes; the payload is the caller's to write.
    /// `payload_len` must be at most 65,535 and `flow_label` at most [`MAX_FLOW_LABEL`] (the
    /// layers above ensure it; larger values are cut to the field's width).
    pub fn emit(&self, buf: &mut [u8]) {
        let mut packet = Packet::new_unchecked(buf);
        packet.set_first_word(0);
        packet.set_version();
        packet.set_traffic_class(self.traffic_class);
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(self.payload_len as u16);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv6 {} > {} {} hlim={}",
            self.src_addr, self.dst_addr, self.next_header, self.hop_limit
        )?;
        if self.traffic_class != 0 {
            write!(f, " tc={:#04x}", self.traffic_class)?;
        }
        if self.flow_label != 0 {
            write!(f, " flow={:#07x}", self.flow_label)?;
        }
        write!(f, " len={}+{}", HEADER_LEN, self.payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::IpProtocol;

    /// A UDP datagram [fd00:77::1]:54321 → [fd00:77::2]:7 carrying "hello", traffic class 0xb8
    /// (DSCP EF), flow label 0x12345 (UDP checksum left at 0), and two bytes of link padding.
    const UDP_PACKET: [u8; 55] = [
        0x6b, 0x81, 0x23, 0x45, 0x00, 0x0d, 0x11, 0x40, // ver/tc/flow, len 13, UDP, hlim 64
        0xfd, 0x00, 0x00, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source
        0xfd, 0x00, 0x00, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // destination
        0xd4, 0x31, 0x00, 0x07, 0x00, 0x0d, 0x00, 0x00, b'h', b'e', b'l', b'l', b'o', // UDP
        0xee, 0xee, // padding
    ];

    fn repr() -> Repr {
        Repr {
            src_addr: "fd00:77::1".parse().unwrap(),
            dst_addr: "fd00:77::2".parse().unwrap(),
            next_header: NextHeader::Protocol(IpProtocol::Udp),
            hop_limit: 64,
            traffic_class: 0xb8,
            flow_label: 0x12345,
            payload_len: 13,
        }
    }

    #[test]
    fn parses_a_packet_and_leaves_padding_out() {
        let packet = Packet::new_checked(&UDP_PACKET[..]).unwrap();
        assert_eq!(Repr::parse(&packet), repr());
        assert_eq!(packet.version(), 6);
        assert_eq!(packet.payload(), &UDP_PACKET[40..53]);
        assert_eq!(packet.total_len(), 53);
    }

    #[test]
    fn emits_the_same_bytes() {
        let mut buf = [0xffu8; 40];
        repr().emit(&mut buf);
        assert_eq!(buf, UDP_PACKET[..40]);
    }

    #[test]
    fn setters_keep_the_neighbouring_bits() {
        let mut buf = UDP_PACKET;
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_flow_label(0xfff_ffff); // wider than the field: cut to 20 bits
        assert_eq!(
            (
                packet.version(),
                packet.traffic_class(),
                packet.flow_label()
            ),
            (6, 0xb8, 0xfffff)
        );
        packet.set_traffic_class(0x01);
        assert_eq!(
            (
                packet.version(),
                packet.traffic_class(),
                packet.flow_label()
            ),
            (6, 0x01, 0xfffff)
        );
        packet.payload_mut().fill(0);
        assert_eq!(&buf[53..], &[0xee, 0xee], "padding is not payload");
    }

    #[test]
    fn rejects_wrong_version_and_lengths() {
        let mut bytes = UDP_PACKET;
        bytes[0] = 0x4b;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(WireError::BadVersion)
        );
        assert_eq!(
            Packet::new_checked(&[][..]).err(),
            Some(WireError::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&UDP_PACKET[..39]).err(),
            Some(WireError::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&UDP_PACKET[..52]).err(),
            Some(WireError::Truncated),
            "payload length 13 does not fit in 12 bytes"
        );
        assert!(Packet::new_checked(&UDP_PACKET[..53]).is_ok());
    }

    #[test]
    fn displays_the_fields_for_tracing() {
        assert_eq!(
            repr().to_string(),
            "IPv6 fd00:77::1 > fd00:77::2 UDP hlim=64 tc=0xb8 flow=0x12345 len=40+13"
        );
    }
}
