//! The UDP header ([RFC 768]).
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |     Source      |   Destination   |
//! |      Port       |      Port       |
//! +--------+--------+--------+--------+
//! |                 |                 |
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! |
//! |          data octets ...
//! +---------------- ...
//! ```
//!
//! Length counts the header and the data, so it is at least 8. The checksum covers a
//! pseudo-header (addresses, protocol 17 and the UDP length), the header and the data. Over IPv4
//! it is optional: a checksum field of 0 means the sender did not compute one, which is why a
//! computed checksum that comes out as 0 is sent as its other ones' complement form, 0xffff.
//!
//! [RFC 768]: https://www.rfc-editor.org/rfc/rfc768

use std::fmt;
use std::net::IpAddr;
#[cfg(test)]
use std::net::Ipv4Addr;

use crate::ip::checksum;
use crate::wire::{read_u16, write_u16, WireError};

/// Byte ranges of the UDP header fields.
mod field {
    use crate::wire::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// The length of a UDP header.
pub const HEADER_LEN: usize = 8;

/// The IP protocol number of UDP, for the pseudo-header.
const PROTOCOL: u8 = 17;

/// A read-only or read-write view of a UDP datagram in a byte buffer.
///
/// Built with [`Packet::new_checked`], every accessor is safe to call.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. For building datagrams in a buffer known to be large
    /// enough; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that its lengths are consistent, so that no accessor panics.
    ///
    /// Checks that the header fits (`Truncated`), that Length covers at least the header
    /// (`BadLength`) and that it fits in the buffer (`Truncated`). The buffer may be longer than
    /// Length; [`Packet::payload`] ignores the excess.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        let buffer_len = packet.buffer.as_ref().len();
        if buffer_len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let len = usize::from(packet.len());
        if len < HEADER_LEN {
            return Err(WireError::BadLength);
        }
        if len > buffer_len {
            return Err(WireError::Truncated);
        }
        Ok(packet)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port (0 if the sender expects no reply).
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The Length field: header plus data, in bytes.
    #[allow(clippy::len_without_is_empty)] // a header field, not a collection
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The checksum field as sent (0: none was computed).
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The data: the bytes after the header, up to Length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// Whether the checksum over the pseudo-header, header and data is right.
    ///
    /// This checks the arithmetic only; [`Repr::parse`] also accepts a checksum field of 0.
    pub fn verify_checksum(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) -> bool {
        let len = self.len();
        let sum = checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, usize::from(len));
        let datagram = &self.buffer.as_ref()[..usize::from(len)];
        checksum::finish(checksum::add(sum, datagram)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, value);
    }

    /// Sets the Length field.
    pub fn set_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// The data, writable; Length must already be set.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Computes the checksum over the pseudo-header, header and data (up to Length) and
    /// stores it, sending a computed 0 as 0xffff (RFC 768: 0 means "no checksum").
    pub fn fill_checksum(&mut self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        self.set_checksum(0);
        let len = self.len();
        let sum = checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, usize::from(len));
        let sum = checksum::finish(checksum::add(
            sum,
            &self.buffer.as_ref()[..usize::from(len)],
        ));
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
    }
}

/// A UDP header as plain values; the data stays in the buffer (`payload_len` says how much).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length of the data after the header (Length minus 8).
    pub payload_len: usize,
}

impl Repr {
    /// Reads the header of a checked datagram, verifying its checksum unless the field is 0
    /// over IPv4 (the sender computed none, which RFC 768 allows there). Over IPv6 the
    /// checksum is mandatory, and a datagram with 0 is discarded ([RFC 8200 section 8.1]).
    ///
    /// [RFC 8200 section 8.1]: https://www.rfc-editor.org/rfc/rfc8200#section-8.1
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) -> Result<Repr, WireError> {
        let (src, dst) = (src.into(), dst.into());
        let absent_allowed = src.is_ipv4() && packet.checksum() == 0;
        if !absent_allowed && !packet.verify_checksum(src, dst) {
            return Err(WireError::BadChecksum);
        }
        Ok(Self::parse_trusted(packet))
    }

    /// Reads the header of a checked datagram without verifying its checksum: for a datagram
    /// whose device vouches for it ([`crate::device::PacketInfo::checksum_trusted`]).
    pub fn parse_trusted<T: AsRef<[u8]>>(packet: &Packet<T>) -> Repr {
        Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.payload().len(),
        }
    }

    /// The length of the header [`Repr::emit`] writes: always 8.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole datagram's length: header plus payload (the Length field).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header and fills the checksum over the pseudo-header, header and payload.
    ///
    /// The caller has already written the payload at `buf[8..buffer_len()]`; `buf` must hold
    /// [`Repr::buffer_len`] bytes, at most 65,535, and the bytes after are ignored.
    pub fn emit(&self, buf: &mut [u8], src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        let mut packet = Packet::new_unchecked(&mut buf[..self.buffer_len()]);
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len() as u16);
        packet.fill_checksum(src, dst);
    }
}

/// One line for logs, e.g. `UDP 54321 > 7 len=5`.
impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UDP {} > {} len={}",
            self.src_port, self.dst_port, self.payload_len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    /// 10.77.0.1:54321 → 10.77.0.2:7 carrying "hello", checksum computed for these addresses
    /// (the payload of the packet in the IPv4 header tests, with its checksum filled in).
    const DATAGRAM: [u8; 13] = [
        0xd4, 0x31, 0x00, 0x07, 0x00, 0x0d, 0xd3, 0x2c, b'h', b'e', b'l', b'l', b'o',
    ];

    fn repr() -> Repr {
        Repr {
            src_port: 54321,
            dst_port: 7,
            payload_len: 5,
        }
    }

    #[test]
    fn parses_a_datagram() {
        let packet = Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(Repr::parse(&packet, SRC, DST), Ok(repr()));
        assert_eq!(packet.payload(), b"hello");
    }

    #[test]
    fn emits_the_same_bytes() {
        let mut buf = [0u8; 13];
        buf[8..].copy_from_slice(b"hello");
        repr().emit(&mut buf, SRC, DST);
        assert_eq!(buf, DATAGRAM);
        assert_eq!(repr().to_string(), "UDP 54321 > 7 len=5");
    }

    #[test]
    fn rejects_a_bad_checksum() {
        let packet = Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(
            Repr::parse(&packet, SRC, Ipv4Addr::new(10, 77, 0, 3)),
            Err(WireError::BadChecksum),
            "the pseudo-header covers the addresses"
        );
        let mut bytes = DATAGRAM;
        bytes[8] = b'j';
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet, SRC, DST), Err(WireError::BadChecksum));
    }

    #[test]
    fn accepts_a_zero_checksum_as_none() {
        let mut bytes = DATAGRAM;
        bytes[6..8].copy_from_slice(&[0, 0]);
        bytes[8] = b'j'; // would fail any real checksum
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet, SRC, DST), Ok(repr()));
    }

    #[test]
    fn sends_a_computed_zero_as_ffff() {
        // Choose the payload word so that the whole sum comes out as 0xffff (checksum 0):
        // start from a zero word, compute the checksum c, then put c in the payload.
        let mut buf = [0u8; 10];
        let header_only = Repr {
            payload_len: 2,
            ..repr()
        };
        header_only.emit(&mut buf, SRC, DST);
        let c = Packet::new_unchecked(&buf[..]).checksum();
        buf[8..10].copy_from_slice(&c.to_be_bytes());
        header_only.emit(&mut buf, SRC, DST);
        assert_eq!(Packet::new_unchecked(&buf[..]).checksum(), 0xffff);
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&packet, SRC, DST), Ok(header_only));
    }

    #[test]
    fn checks_lengths() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&DATAGRAM[..len]).err(),
                Some(WireError::Truncated)
            );
        }
        for len in HEADER_LEN..DATAGRAM.len() {
            assert_eq!(
                Packet::new_checked(&DATAGRAM[..len]).err(),
                Some(WireError::Truncated),
                "Length 13 does not fit in {len} bytes"
            );
        }
        let mut short = DATAGRAM;
        short[5] = 7;
        assert_eq!(
            Packet::new_checked(&short[..]).err(),
            Some(WireError::BadLength)
        );
    }

    #[test]
    fn ignores_bytes_past_length() {
        let mut padded = DATAGRAM.to_vec();
        padded.extend_from_slice(&[0xee; 5]);
        let packet = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(packet.payload(), b"hello");
        assert_eq!(Repr::parse(&packet, SRC, DST), Ok(repr()));
    }

    proptest! {
        /// Emit then parse gives the Repr back, whatever the payload.
        #[test]
        fn emit_then_parse_round_trips(
            src_port in any::<u16>(),
            dst_port in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let repr = Repr { src_port, dst_port, payload_len: payload.len() };
            let mut buf = vec![0; repr.buffer_len()];
            buf[repr.header_len()..].copy_from_slice(&payload);
            repr.emit(&mut buf, SRC, DST);
            let packet = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_ne!(packet.checksum(), 0);
            prop_assert_eq!(Repr::parse(&packet, SRC, DST), Ok(repr));
            prop_assert_eq!(packet.payload(), &payload[..]);
        }

        /// Arbitrary bytes: checking, every accessor and parsing never panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.src_port(), packet.dst_port(), packet.len(), packet.checksum());
                prop_assert_eq!(packet.payload().len() + HEADER_LEN, usize::from(packet.len()));
                let _ = Repr::parse(&packet, SRC, DST);
            }
        }
    }
}
