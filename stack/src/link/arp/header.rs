//! The ARP packet ([RFC 826], "Packet format"), as it is sent for IPv4 over Ethernet.
//!
//! ```text
//!  byte  0               1               2               3
//!       +---------------+---------------+---------------+---------------+
//!     0 |     hardware type (htype)     |     protocol type (ptype)     |
//!       +---------------+---------------+---------------+---------------+
//!     4 |  hlen = 6     |  plen = 4     |       operation (oper)        |
//!       +---------------+---------------+---------------+---------------+
//!     8 |            sender hardware address (SHA), 6 bytes ...         |
//!       +---------------+---------------+---------------+---------------+
//!    12 |        ... SHA (cont.)        | sender protocol address (SPA) |
//!       +---------------+---------------+---------------+---------------+
//!    16 |        ... SPA (cont.)        | target hardware address (THA) |
//!       +---------------+---------------+---------------+---------------+
//!    20 |                        ... THA (cont.)                        |
//!       +---------------+---------------+---------------+---------------+
//!    24 |            target protocol address (TPA), 4 bytes             |
//!       +---------------+---------------+---------------+---------------+
//! ```
//!
//! RFC 826 writes ARP for any link and any protocol, so the first 8 bytes say which: htype is
//! the kind of hardware address (1, Ethernet, from the [IANA ARP parameters]), ptype the kind
//! of protocol address as an EtherType (0x0800, IPv4), hlen and plen their lengths in bytes
//! (6 and 4). The four addresses follow, and their lengths come from hlen and plen: a packet is
//! `8 + 2 × (hlen + plen)` bytes, 28 for IPv4 over Ethernet. The operation is 1 for a request
//! and 2 for a reply ([`Operation`]).
//!
//! The view, [`Packet`], reads any hlen and plen; the values, [`Repr`], are only IPv4 over
//! Ethernet, the one combination this stack speaks. Bytes after the addresses (the padding a
//! NIC adds to reach Ethernet's 46-byte minimum payload) are ignored.
//!
//! [RFC 826]: https://www.rfc-editor.org/rfc/rfc826
//! [IANA ARP parameters]: https://www.iana.org/assignments/arp-parameters

use std::fmt;
use std::net::Ipv4Addr;

use crate::link::ethernet::{EtherType, MacAddr};
use crate::wire::{read_u16, write_u16, WireError};

/// Byte ranges of the ARP fields. The addresses' places depend on the address lengths.
mod field {
    use crate::wire::Field;

    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;

    /// Sender hardware address.
    pub const fn sha(hlen: u8, _plen: u8) -> Field {
        let start = OPER.end;
        start..start + hlen as usize
    }

    /// Sender protocol address.
    pub const fn spa(hlen: u8, plen: u8) -> Field {
        let start = sha(hlen, plen).end;
        start..start + plen as usize
    }

    /// Target hardware address.
    pub const fn tha(hlen: u8, plen: u8) -> Field {
        let start = spa(hlen, plen).end;
        start..start + hlen as usize
    }

    /// Target protocol address.
    pub const fn tpa(hlen: u8, plen: u8) -> Field {
        let start = tha(hlen, plen).end;
        start..start + plen as usize
    }
}

/// The length of the fixed part, before the addresses: htype, ptype, hlen, plen, oper.
pub const FIXED_LEN: usize = field::OPER.end;

/// The length of an ARP packet for IPv4 over Ethernet: 8 + 2 × (6 + 4) bytes.
pub const HEADER_LEN: usize = field::tpa(MAC_LEN, IPV4_LEN).end;

/// The hardware type of Ethernet ([IANA ARP parameters], "Hardware Types").
///
/// [IANA ARP parameters]: https://www.iana.org/assignments/arp-parameters
pub const HARDWARE_ETHERNET: u16 = 1;

/// The length of an Ethernet address, the hlen of the packets [`Repr`] reads.
const MAC_LEN: u8 = 6;
/// The length of an IPv4 address, the plen of the packets [`Repr`] reads.
const IPV4_LEN: u8 = 4;

/// What an ARP packet asks or answers: the oper field ([RFC 826]; the other values are in the
/// [IANA ARP parameters], for RARP, InARP and others).
///
/// [RFC 826]: https://www.rfc-editor.org/rfc/rfc826
/// [IANA ARP parameters]: https://www.iana.org/assignments/arp-parameters
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1: "who has the target protocol address? tell the sender."
    Request,
    /// 2: "the sender protocol address is at the sender hardware address."
    Reply,
    /// Any other value (3 and 4 are RARP's, [RFC 903]).
    ///
    /// [RFC 903]: https://www.rfc-editor.org/rfc/rfc903
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(value: u16) -> Self {
        match value {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(value: Operation) -> u16 {
        match value {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(other) => other,
        }
    }
}

/// `request`, `reply`, or `operation 3`.
impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Request => f.write_str("request"),
            Operation::Reply => f.write_str("reply"),
            Operation::Unknown(n) => write!(f, "operation {n}"),
        }
    }
}

/// A read-only or read-write view of an ARP packet in a byte buffer, for any hardware and
/// protocol address lengths.
///
/// Built with [`Packet::new_checked`], every accessor is safe to call. Changing hlen or plen
/// with a setter afterwards moves the addresses, and the check no longer holds.
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

    /// Wraps a buffer after checking that it holds the whole packet, so that no accessor
    /// panics.
    ///
    /// Checks that the 8-byte fixed part fits, then that the four addresses hlen and plen
    /// describe fit too (`8 + 2 × (hlen + plen)` bytes); [`WireError::Truncated`] if not. What
    /// the types and lengths are is [`Repr::parse`]'s question. The buffer may be longer (frame
    /// padding); the accessors ignore the excess.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    /// `Truncated` unless the buffer holds the fixed part and the addresses it describes.
    fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN || len < self.packet_len() {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length of the packet as hlen and plen describe it: `8 + 2 × (hlen + plen)`, 28 for
    /// IPv4 over Ethernet. Bytes past it are padding.
    pub fn packet_len(&self) -> usize {
        field::tpa(self.hardware_len(), self.protocol_len()).end
    }

    /// The hardware type (htype): [`HARDWARE_ETHERNET`] (1) for Ethernet.
    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE.start)
    }

    /// The protocol type (ptype), an EtherType: [`EtherType::Ipv4`] for IPv4.
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::PTYPE.start))
    }

    /// The length of a hardware address in bytes (hlen): 6 for Ethernet.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The length of a protocol address in bytes (plen): 4 for IPv4.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation (oper): request or reply.
    pub fn operation(&self) -> Operation {
        Operation::from(read_u16(self.buffer.as_ref(), field::OPER.start))
    }

    /// The sender hardware address (SHA), hlen bytes: who sends this packet.
    pub fn sender_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::sha(self.hardware_len(), self.protocol_len())]
    }

    /// The sender protocol address (SPA), plen bytes: the sender's IP address.
    pub fn sender_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::spa(self.hardware_len(), self.protocol_len())]
    }

    /// The target hardware address (THA), hlen bytes: in a request, unknown (zeros); in a
    /// reply, the requester's.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tha(self.hardware_len(), self.protocol_len())]
    }

    /// The target protocol address (TPA), plen bytes: in a request, the address asked about.
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tpa(self.hardware_len(), self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the hardware type (htype).
    pub fn set_hardware_type(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::HTYPE.start, value);
    }

    /// Sets the protocol type (ptype).
    pub fn set_protocol_type(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE.start, value.into());
    }

    /// Sets the hardware address length (hlen). The addresses after it move.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length (plen). The addresses after it move.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation (oper).
    pub fn set_operation(&mut self, value: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER.start, value.into());
    }

    /// Sets the sender hardware address (SHA).
    ///
    /// # Panics
    ///
    /// If `value` is not hlen bytes long, or the buffer too short for it.
    pub fn set_sender_hardware_addr(&mut self, value: &[u8]) {
        let range = field::sha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the sender protocol address (SPA).
    ///
    /// # Panics
    ///
    /// If `value` is not plen bytes long, or the buffer too short for it.
    pub fn set_sender_protocol_addr(&mut self, value: &[u8]) {
        let range = field::spa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the target hardware address (THA).
    ///
    /// # Panics
    ///
    /// If `value` is not hlen bytes long, or the buffer too short for it.
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        let range = field::tha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the target protocol address (TPA).
    ///
    /// # Panics
    ///
    /// If `value` is not plen bytes long, or the buffer too short for it.
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        let range = field::tpa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }
}

/// An ARP packet for IPv4 over Ethernet, as plain values.
///
/// ```
/// use std::net::Ipv4Addr;
/// use tunstack::link::arp::header::{Packet, Repr, HEADER_LEN};
/// use tunstack::link::arp::Operation;
/// use tunstack::link::ethernet::MacAddr;
///
/// let request = Repr {
///     operation: Operation::Request,
///     sender_mac: "02:00:00:77:00:02".parse().unwrap(),
///     sender_ip: Ipv4Addr::new(10, 77, 0, 2),
///     target_mac: MacAddr::UNSPECIFIED,
///     target_ip: Ipv4Addr::new(10, 77, 0, 1),
/// };
/// let mut bytes = [0u8; HEADER_LEN];
/// request.emit(&mut bytes);
/// assert_eq!(Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()), Ok(request));
/// assert_eq!(request.to_string(), "who has 10.77.0.1? tell 10.77.0.2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Request or reply. [`Repr::parse`] gives no other; [`Repr::emit`] writes any.
    pub operation: Operation,
    /// The sender's MAC address (SHA).
    pub sender_mac: MacAddr,
    /// The sender's IPv4 address (SPA).
    pub sender_ip: Ipv4Addr,
    /// The target's MAC address (THA): zeros in a request, which asks for it.
    pub target_mac: MacAddr,
    /// The target's IPv4 address (TPA): in a request, the address asked about.
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// Reads an ARP packet for IPv4 over Ethernet.
    ///
    /// Only that combination is read: htype 1 (Ethernet) with hlen 6, ptype 0x0800 (IPv4) with
    /// plen 4, and operation 1 (request) or 2 (reply). Anything else is well-formed ARP that
    /// this stack does not speak: [`WireError::Unsupported`]. A buffer that does not hold the
    /// whole packet (a [`Packet::new_unchecked`] view) is [`WireError::Truncated`]. Bytes after
    /// the 28 are ignored.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, WireError> {
        packet.check_len()?;
        let ethernet_ipv4 = packet.hardware_type() == HARDWARE_ETHERNET
            && packet.hardware_len() == MAC_LEN
            && packet.protocol_type() == EtherType::Ipv4
            && packet.protocol_len() == IPV4_LEN;
        let operation = packet.operation();
        if !ethernet_ipv4 || matches!(operation, Operation::Unknown(_)) {
            return Err(WireError::Unsupported);
        }
        let data = packet.buffer.as_ref();
        Ok(Repr {
            operation,
            sender_mac: mac_at(data, field::sha(MAC_LEN, IPV4_LEN).start),
            sender_ip: ipv4_at(data, field::spa(MAC_LEN, IPV4_LEN).start),
            target_mac: mac_at(data, field::tha(MAC_LEN, IPV4_LEN).start),
            target_ip: ipv4_at(data, field::tpa(MAC_LEN, IPV4_LEN).start),
        })
    }

    /// The length of the packet [`Repr::emit`] writes: always 28.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 28-byte packet at the start of `buf` (htype 1, ptype IPv4, hlen 6, plen 4,
    /// then the operation and addresses). Bytes after the 28 are left alone.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than 28 bytes: the caller sized it, so that is a bug, not bad input.
    pub fn emit(&self, buf: &mut [u8]) {
        let mut packet = Packet::new_unchecked(&mut buf[..HEADER_LEN]);
        packet.set_hardware_type(HARDWARE_ETHERNET);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(MAC_LEN);
        packet.set_protocol_len(IPV4_LEN);
        packet.set_operation(self.operation);
        packet.set_sender_hardware_addr(&self.sender_mac.octets());
        packet.set_sender_protocol_addr(&self.sender_ip.octets());
        packet.set_target_hardware_addr(&self.target_mac.octets());
        packet.set_target_protocol_addr(&self.target_ip.octets());
    }
}

/// One line for logs, in the words of Wireshark's summary: `who has 10.77.0.1? tell 10.77.0.2`
/// for a request, `10.77.0.1 is at 02:00:00:77:00:01` for a reply.
impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            Operation::Request => write!(f, "who has {}? tell {}", self.target_ip, self.sender_ip),
            Operation::Reply => write!(f, "{} is at {}", self.sender_ip, self.sender_mac),
            Operation::Unknown(_) => write!(
                f,
                "{} from {} ({}) to {} ({})",
                self.operation, self.sender_ip, self.sender_mac, self.target_ip, self.target_mac
            ),
        }
    }
}

/// The six bytes at `at` as a MAC address; `data` holds them (a checked packet does).
fn mac_at(data: &[u8], at: usize) -> MacAddr {
    let mut octets = [0u8; 6];
    octets.copy_from_slice(&data[at..at + 6]);
    MacAddr(octets)
}

/// The four bytes at `at` as an IPv4 address; `data` holds them.
fn ipv4_at(data: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(data[at], data[at + 1], data[at + 2], data[at + 3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OURS: MacAddr = MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x02]);
    const PEER: MacAddr = MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x01]);
    const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
    const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

    /// The ARP part of a request Linux sent on a veth pair (captured with tcpdump, after the
    /// 14-byte Ethernet header): 02:00:00:77:00:02 (10.77.0.2) asks who has 10.77.0.1.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet, IPv4, 6, 4, request
        0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d, 0x00, 0x02, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x01, // target: unknown MAC
    ];

    /// Linux's answer, from the same capture: 10.77.0.1 is at 02:00:00:77:00:01.
    const REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, // Ethernet, IPv4, 6, 4, reply
        0x02, 0x00, 0x00, 0x77, 0x00, 0x01, 0x0a, 0x4d, 0x00, 0x01, // sender
        0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d, 0x00, 0x02, // target: the requester
    ];

    fn request() -> Repr {
        Repr {
            operation: Operation::Request,
            sender_mac: OURS,
            sender_ip: OUR_IP,
            target_mac: MacAddr::UNSPECIFIED,
            target_ip: PEER_IP,
        }
    }

    fn reply() -> Repr {
        Repr {
            operation: Operation::Reply,
            sender_mac: PEER,
            sender_ip: PEER_IP,
            target_mac: OURS,
            target_ip: OUR_IP,
        }
    }

    fn parse(bytes: &[u8]) -> Result<Repr, WireError> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    #[test]
    fn parses_captured_packets() {
        assert_eq!(parse(&REQUEST), Ok(request()));
        assert_eq!(parse(&REPLY), Ok(reply()));
        let packet = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(packet.hardware_type(), HARDWARE_ETHERNET);
        assert_eq!(packet.protocol_type(), EtherType::Ipv4);
        assert_eq!((packet.hardware_len(), packet.protocol_len()), (6, 4));
        assert_eq!(packet.operation(), Operation::Request);
        assert_eq!(packet.sender_hardware_addr(), &OURS.octets()[..]);
        assert_eq!(packet.sender_protocol_addr(), &[10, 77, 0, 2][..]);
        assert_eq!(packet.target_hardware_addr(), &[0; 6][..]);
        assert_eq!(packet.target_protocol_addr(), &[10, 77, 0, 1][..]);
        assert_eq!(packet.packet_len(), HEADER_LEN);
    }

    #[test]
    fn emits_the_same_bytes() {
        for (repr, bytes) in [(request(), REQUEST), (reply(), REPLY)] {
            let mut buf = [0u8; HEADER_LEN];
            repr.emit(&mut buf);
            assert_eq!(buf, bytes);
            assert_eq!(repr.buffer_len(), HEADER_LEN);
        }
        assert_eq!(request().to_string(), "who has 10.77.0.1? tell 10.77.0.2");
        assert_eq!(reply().to_string(), "10.77.0.1 is at 02:00:00:77:00:01");
    }

    #[test]
    fn ignores_frame_padding() {
        // From a real NIC the payload is padded to 46 bytes.
        let mut padded = REQUEST.to_vec();
        padded.resize(46, 0);
        assert_eq!(parse(&padded), Ok(request()));
        let mut buf = [0xeeu8; 46];
        request().emit(&mut buf);
        assert_eq!(&buf[..HEADER_LEN], &REQUEST[..]);
        assert_eq!(buf[HEADER_LEN..], [0xee; 46 - HEADER_LEN], "left alone");
    }

    #[test]
    fn checks_lengths() {
        for len in 0..HEADER_LEN {
            assert_eq!(parse(&REQUEST[..len]), Err(WireError::Truncated), "{len}");
            let unchecked = Packet::new_unchecked(&REQUEST[..len]);
            assert_eq!(Repr::parse(&unchecked), Err(WireError::Truncated));
        }
        // The lengths decide where the packet ends: hlen 255 and plen 255 ask for 1028 bytes.
        let mut long = REQUEST.to_vec();
        long[4] = 255;
        long[5] = 255;
        long.resize(1027, 0);
        assert_eq!(parse(&long), Err(WireError::Truncated));
        long.push(0);
        assert_eq!(parse(&long), Err(WireError::Unsupported));
        // Zero-length addresses: just the fixed part.
        let mut empty = REQUEST;
        empty[4] = 0;
        empty[5] = 0;
        let packet = Packet::new_checked(&empty[..FIXED_LEN]).unwrap();
        assert_eq!(packet.packet_len(), FIXED_LEN);
        assert!(
            packet.sender_hardware_addr().is_empty() && packet.target_protocol_addr().is_empty()
        );
    }

    #[test]
    fn reads_other_address_lengths_in_the_view() {
        // IPv6-sized protocol addresses (plen 16): the view finds them, Repr does not take them.
        let mut bytes = [0u8; 8 + 2 * (6 + 16)];
        bytes[..8].copy_from_slice(&[0x00, 0x01, 0x86, 0xdd, 6, 16, 0x00, 0x01]);
        bytes[14..30].copy_from_slice(&[0xaa; 16]);
        bytes[36..52].copy_from_slice(&[0xbb; 16]);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.sender_protocol_addr(), &[0xaa; 16][..]);
        assert_eq!(packet.target_protocol_addr(), &[0xbb; 16][..]);
        assert_eq!(packet.protocol_type(), EtherType::Ipv6);
        assert_eq!(Repr::parse(&packet), Err(WireError::Unsupported));
    }

    #[test]
    fn refuses_what_it_does_not_speak() {
        for (at, value) in [
            (1, 6),    // htype 6: IEEE 802 networks
            (2, 0x86), // ptype 0x8600
            (4, 8),    // hlen 8
            (5, 6),    // plen 6
            (7, 3),    // RARP request
            (7, 0),    // operation 0
        ] {
            let mut bytes = REQUEST.to_vec();
            bytes[at] = value;
            bytes.resize(64, 0); // room for any lengths
            assert_eq!(
                parse(&bytes),
                Err(WireError::Unsupported),
                "byte {at} = {value}"
            );
        }
    }

    #[test]
    fn setters_write_any_lengths() {
        let mut buf = [0u8; 8 + 2 * (2 + 3)];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        packet.set_hardware_type(0x1234);
        packet.set_protocol_type(EtherType::Unknown(0x5678));
        packet.set_hardware_len(2);
        packet.set_protocol_len(3);
        packet.set_operation(Operation::Unknown(9));
        packet.set_sender_hardware_addr(&[1, 2]);
        packet.set_sender_protocol_addr(&[3, 4, 5]);
        packet.set_target_hardware_addr(&[6, 7]);
        packet.set_target_protocol_addr(&[8, 9, 10]);
        assert_eq!(
            buf,
            [0x12, 0x34, 0x56, 0x78, 2, 3, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        );
    }

    #[test]
    #[should_panic]
    fn emit_into_a_short_buffer_is_a_bug() {
        request().emit(&mut [0u8; HEADER_LEN - 1]);
    }

    #[test]
    fn names_operations() {
        assert_eq!(Operation::from(1), Operation::Request);
        assert_eq!(Operation::from(2), Operation::Reply);
        assert_eq!(Operation::from(3), Operation::Unknown(3));
        assert_eq!(u16::from(Operation::Unknown(3)), 3);
        assert_eq!(Operation::Unknown(3).to_string(), "operation 3");
        let odd = Repr {
            operation: Operation::Unknown(3),
            ..request()
        };
        assert_eq!(
            odd.to_string(),
            "operation 3 from 10.77.0.2 (02:00:00:77:00:02) to 10.77.0.1 (00:00:00:00:00:00)"
        );
    }

    proptest! {
        /// Emit then parse gives the Repr back.
        #[test]
        fn emit_then_parse_round_trips(
            reply in any::<bool>(),
            macs in any::<([u8; 6], [u8; 6])>(),
            ips in any::<(u32, u32)>(),
        ) {
            let repr = Repr {
                operation: if reply { Operation::Reply } else { Operation::Request },
                sender_mac: MacAddr(macs.0),
                sender_ip: Ipv4Addr::from(ips.0),
                target_mac: MacAddr(macs.1),
                target_ip: Ipv4Addr::from(ips.1),
            };
            let mut buf = [0u8; HEADER_LEN];
            repr.emit(&mut buf);
            prop_assert_eq!(parse(&buf), Ok(repr));
        }

        /// Arbitrary bytes: checking, every accessor and parsing never panic, and what parses
        /// emits the same first 28 bytes.
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                proptest::collection::vec(any::<u8>(), 0..40).prop_map(|tail| {
                    let mut bytes = REQUEST[..6].to_vec();
                    bytes.extend(tail);
                    bytes
                }),
            ],
        ) {
            let Ok(packet) = Packet::new_checked(&bytes[..]) else {
                return Ok(());
            };
            let _ = (packet.hardware_type(), packet.protocol_type(), packet.operation());
            let _ = (packet.sender_hardware_addr(), packet.sender_protocol_addr());
            let _ = (packet.target_hardware_addr(), packet.target_protocol_addr());
            prop_assert!(packet.packet_len() <= bytes.len());
            if let Ok(repr) = Repr::parse(&packet) {
                let mut again = [0u8; HEADER_LEN];
                repr.emit(&mut again);
                prop_assert_eq!(&again[..], &bytes[..HEADER_LEN]);
                let _ = repr.to_string();
            }
        }
    }
}
