//! The ICMPv4 codec (`tunstack::ip::icmp::header`) against etherparse and smoltcp::wire, for
//! echo request and reply, destination unreachable (port unreachable and the other codes,
//! fragmentation needed with its next-hop MTU) and time exceeded:
//!
//! - what we emit, they read back, with a checksum that they verify;
//! - what they emit, we read back;
//! - arbitrary bytes and every truncation: no panic, and the same verdict on the checksum.

mod common;

use std::net::Ipv4Addr;

use common::{arb_addr, arb_edits, config, mutate};
use etherparse::icmpv4::{DestUnreachableHeader, TimeExceededCode};
use etherparse::{IcmpEchoHeader, Icmpv4Header, Icmpv4Slice, Icmpv4Type};
use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv4DstUnreachable as SmolDstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr,
    Icmpv4TimeExceeded as SmolTimeExceeded, IpProtocol as SmolProtocol, Ipv4Repr,
};
use tunstack::ip::header::{self as ip, parse_quoted, IpProtocol};
use tunstack::ip::icmp::header::{DstUnreachable, Packet, Repr, TimeExceeded, HEADER_LEN};
use tunstack::wire::WireError;

/// The message types our `Repr` has a variant for.
const ECHO_REPLY: u8 = 0;
const DST_UNREACHABLE: u8 = 3;
const ECHO_REQUEST: u8 = 8;
const TIME_EXCEEDED: u8 = 11;

/// Our reason for a Destination Unreachable code (and the MTU word, read for code 4 only).
fn unreachable_reason(code: u8, next_hop_mtu: u16) -> DstUnreachable {
    match code {
        0 => DstUnreachable::NetUnreachable,
        1 => DstUnreachable::HostUnreachable,
        2 => DstUnreachable::ProtoUnreachable,
        3 => DstUnreachable::PortUnreachable,
        4 => DstUnreachable::FragRequired { next_hop_mtu },
        other => DstUnreachable::Other(other),
    }
}

/// Our reason for a Time Exceeded code.
fn exceeded_reason(code: u8) -> TimeExceeded {
    match code {
        0 => TimeExceeded::TtlExpired,
        1 => TimeExceeded::FragReassembly,
        other => TimeExceeded::Other(other),
    }
}

/// A message without its data, so that a strategy can own it; the data is drawn beside it.
#[derive(Debug, Clone, Copy)]
enum Shape {
    EchoRequest { ident: u16, seq_no: u16 },
    EchoReply { ident: u16, seq_no: u16 },
    Unreachable(DstUnreachable),
    Exceeded(TimeExceeded),
    Other { msg_type: u8, code: u8 },
}

impl Shape {
    fn with(self, data: &[u8]) -> Repr<'_> {
        match self {
            Shape::EchoRequest { ident, seq_no } => Repr::EchoRequest {
                ident,
                seq_no,
                data,
            },
            Shape::EchoReply { ident, seq_no } => Repr::EchoReply {
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

fn arb_echo() -> impl Strategy<Value = Shape> {
    (any::<bool>(), any::<u16>(), any::<u16>()).prop_map(|(request, ident, seq_no)| {
        if request {
            Shape::EchoRequest { ident, seq_no }
        } else {
            Shape::EchoReply { ident, seq_no }
        }
    })
}

/// Errors, with port unreachable (what the stack sends most) and fragmentation needed (the
/// only one with a value in its second word) drawn often.
fn arb_error() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Unreachable(DstUnreachable::PortUnreachable)),
        any::<u16>().prop_map(
            |next_hop_mtu| Shape::Unreachable(DstUnreachable::FragRequired { next_hop_mtu })
        ),
        (any::<u8>(), any::<u16>())
            .prop_map(|(code, mtu)| Shape::Unreachable(unreachable_reason(code, mtu))),
        (0u8..16).prop_map(|code| Shape::Unreachable(unreachable_reason(code, 0))),
        any::<u8>().prop_map(|code| Shape::Exceeded(exceeded_reason(code))),
        (0u8..2).prop_map(|code| Shape::Exceeded(exceeded_reason(code))),
    ]
}

/// Types our `Repr` has no variant for. etherparse insists that a timestamp message (types 13
/// and 14, code 0) is exactly 20 bytes long, while our `Other` emits the 8-byte header only,
/// so those two are left out.
fn arb_other() -> impl Strategy<Value = Shape> {
    (any::<u8>(), any::<u8>())
        .prop_filter("a type with its own variant", |&(t, _)| {
            ![ECHO_REPLY, DST_UNREACHABLE, ECHO_REQUEST, TIME_EXCEEDED].contains(&t)
        })
        .prop_filter("a timestamp message", |&(t, c)| {
            !(t == 13 || t == 14) || c != 0
        })
        .prop_map(|(msg_type, code)| Shape::Other { msg_type, code })
}

fn arb_shape() -> impl Strategy<Value = Shape> {
    prop_oneof![arb_echo(), arb_error(), arb_other()]
}

/// A whole IPv4 datagram of 8 to 40 payload bytes, as an error quotes a short datagram in full.
fn arb_datagram() -> impl Strategy<Value = Vec<u8>> {
    (
        arb_addr(),
        arb_addr(),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 8..40),
    )
        .prop_map(|(src, dst, protocol, ttl, payload)| {
            let repr = ip::Repr {
                src_addr: src,
                dst_addr: dst,
                protocol: IpProtocol::from(protocol),
                ttl,
                tos: 0,
                ident: 0,
                dont_fragment: true,
                more_fragments: false,
                fragment_offset: 0,
                payload_len: payload.len(),
            };
            let mut bytes = vec![0u8; repr.total_len()];
            repr.emit(&mut bytes[..ip::HEADER_LEN]);
            bytes[ip::HEADER_LEN..].copy_from_slice(&payload);
            bytes
        })
}

/// Data: echo payloads or quotes, arbitrary or a real datagram.
fn arb_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        arb_datagram(),
    ]
}

fn emit(repr: &Repr) -> Vec<u8> {
    let mut bytes = vec![0xa5; repr.buffer_len()];
    repr.emit(&mut bytes);
    bytes
}

fn parse(bytes: &[u8]) -> Result<Repr<'_>, WireError> {
    Repr::parse(&Packet::new_checked(bytes)?)
}

/// What etherparse should make of the message we emitted for `shape`.
fn etherparse_type(shape: Shape) -> Icmpv4Type {
    match shape {
        Shape::EchoRequest { ident, seq_no } => Icmpv4Type::EchoRequest(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Shape::EchoReply { ident, seq_no } => Icmpv4Type::EchoReply(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Shape::Unreachable(reason) => {
            let mtu = match reason {
                DstUnreachable::FragRequired { next_hop_mtu } => next_hop_mtu,
                _ => 0,
            };
            // etherparse names codes 0 to 15 (RFC 1812); above, the message is "unknown".
            match DestUnreachableHeader::from_values(reason.code(), mtu) {
                Some(header) => Icmpv4Type::DestinationUnreachable(header),
                None => Icmpv4Type::Unknown {
                    type_u8: DST_UNREACHABLE,
                    code_u8: reason.code(),
                    bytes5to8: [0; 4],
                },
            }
        }
        Shape::Exceeded(reason) => match TimeExceededCode::from_u8(reason.code()) {
            Some(code) => Icmpv4Type::TimeExceeded(code),
            None => Icmpv4Type::Unknown {
                type_u8: TIME_EXCEEDED,
                code_u8: reason.code(),
                bytes5to8: [0; 4],
            },
        },
        Shape::Other { .. } => unreachable!("compared by type and code only"),
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: type, code, the type-specific word, the data and the checksum.
    #[test]
    fn etherparse_reads_what_we_emit(shape in arb_shape(), data in arb_data()) {
        let repr = shape.with(&data);
        let bytes = emit(&repr);
        let slice = Icmpv4Slice::from_slice(&bytes).unwrap();
        match shape {
            Shape::Other { msg_type, code } => {
                prop_assert_eq!((slice.type_u8(), slice.code_u8()), (msg_type, code));
                prop_assert_eq!(slice.bytes5to8(), [0; 4]);
                prop_assert_eq!(slice.slice().len(), HEADER_LEN, "no data is kept");
                // etherparse decodes some of these types (redirect, parameter problem) into
                // its own headers; check the checksum with its plain RFC 1071 sum instead.
                let mut zeroed = bytes.clone();
                zeroed[2..4].fill(0);
                let sum = etherparse::checksum::Sum16BitWords::new().add_slice(&zeroed);
                prop_assert_eq!(slice.checksum(), sum.ones_complement().to_be());
            }
            _ => {
                let expected = etherparse_type(shape);
                prop_assert_eq!(&slice.icmp_type(), &expected);
                prop_assert_eq!(slice.payload(), &data[..]);
                prop_assert_eq!(slice.checksum(), expected.calc_checksum(slice.payload()));
            }
        }
    }

    /// (a) Ours → smoltcp, for every message: type, code and data through its `Packet`, and
    /// its checksum check.
    #[test]
    fn smoltcp_reads_the_header_of_what_we_emit(shape in arb_shape(), data in arb_data()) {
        let repr = shape.with(&data);
        let bytes = emit(&repr);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        prop_assert!(packet.verify_checksum());
        let (msg_type, code) = match shape {
            Shape::EchoRequest { ident, seq_no } | Shape::EchoReply { ident, seq_no } => {
                prop_assert_eq!((packet.echo_ident(), packet.echo_seq_no()), (ident, seq_no));
                let msg_type = if matches!(shape, Shape::EchoRequest { .. }) {
                    ECHO_REQUEST
                } else {
                    ECHO_REPLY
                };
                (msg_type, 0)
            }
            Shape::Unreachable(reason) => (DST_UNREACHABLE, reason.code()),
            Shape::Exceeded(reason) => (TIME_EXCEEDED, reason.code()),
            Shape::Other { msg_type, code } => (msg_type, code),
        };
        prop_assert_eq!(u8::from(packet.msg_type()), msg_type);
        prop_assert_eq!(packet.msg_code(), code);
        let sent_data: &[u8] = match repr {
            Repr::Other { .. } => &[],
            _ => &data,
        };
        prop_assert_eq!(&bytes[HEADER_LEN..], sent_data);
        if let Shape::Other { .. } = shape {
            // smoltcp's `Repr` has no variant for other types and refuses them.
            prop_assert!(Icmpv4Repr::parse(&packet, &ChecksumCapabilities::default()).is_err());
        }
    }

    /// (a) Ours → smoltcp's `Repr`, for echo and for errors that quote a whole datagram:
    /// smoltcp reads the quote as an IPv4 packet whose Total Length must fit in it, so it
    /// cannot read the usual quote cut short after 8 bytes of payload, nor arbitrary bytes.
    #[test]
    fn smoltcp_parses_what_we_emit(
        shape in prop_oneof![arb_echo(), arb_error()],
        echo_data in proptest::collection::vec(any::<u8>(), 0..64),
        datagram in arb_datagram(),
    ) {
        let data = match shape {
            Shape::EchoRequest { .. } | Shape::EchoReply { .. } => echo_data,
            _ => datagram,
        };
        let repr = shape.with(&data);
        let bytes = emit(&repr);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        let parsed = Icmpv4Repr::parse(&packet, &ChecksumCapabilities::default()).unwrap();
        let quoted = || {
            let (header, header_len) = parse_quoted(&data).unwrap();
            let header = Ipv4Repr {
                src_addr: header.src_addr,
                dst_addr: header.dst_addr,
                next_header: SmolProtocol::from(u8::from(header.protocol)),
                payload_len: data.len() - header_len,
                hop_limit: header.ttl,
            };
            (header, &data[header_len..])
        };
        let expected = match shape {
            Shape::EchoRequest { ident, seq_no } => Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data: &data,
            },
            Shape::EchoReply { ident, seq_no } => Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data: &data,
            },
            Shape::Unreachable(reason) => {
                let (header, data) = quoted();
                Icmpv4Repr::DstUnreachable {
                    reason: SmolDstUnreachable::from(reason.code()),
                    header,
                    data,
                }
            }
            Shape::Exceeded(reason) => {
                let (header, data) = quoted();
                Icmpv4Repr::TimeExceeded {
                    reason: SmolTimeExceeded::from(reason.code()),
                    header,
                    data,
                }
            }
            Shape::Other { .. } => unreachable!("not generated"),
        };
        prop_assert_eq!(parsed, expected);
    }

    /// (b) etherparse → ours: `Icmpv4Header::with_checksum` for the types etherparse names,
    /// and its `Unknown` type for any type, code and second word at all.
    #[test]
    fn we_read_what_etherparse_emits(
        icmp_type in prop_oneof![
            any::<(bool, u16, u16)>().prop_map(|(request, id, seq)| {
                let echo = IcmpEchoHeader { id, seq };
                if request { Icmpv4Type::EchoRequest(echo) } else { Icmpv4Type::EchoReply(echo) }
            }),
            (0u8..16, any::<u16>()).prop_map(|(code, mtu)| Icmpv4Type::DestinationUnreachable(
                DestUnreachableHeader::from_values(code, mtu).unwrap()
            )),
            (0u8..2).prop_map(|code| {
                Icmpv4Type::TimeExceeded(TimeExceededCode::from_u8(code).unwrap())
            }),
            (prop_oneof![Just(0u8), Just(3), Just(8), Just(11), any::<u8>()], any::<u8>())
                .prop_filter("a timestamp message (20 bytes)", |&(t, c)| {
                    !(t == 13 || t == 14) || c != 0
                })
                .prop_flat_map(|(type_u8, code_u8)| any::<[u8; 4]>().prop_map(
                    move |bytes5to8| Icmpv4Type::Unknown { type_u8, code_u8, bytes5to8 }
                )),
        ],
        data in arb_data(),
    ) {
        let header = Icmpv4Header::with_checksum(icmp_type.clone(), &data);
        let mut bytes = Vec::new();
        header.write(&mut bytes).unwrap();
        bytes.extend_from_slice(&data);
        let word = |b: [u8; 4], i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let expected = match icmp_type {
            Icmpv4Type::EchoRequest(echo) => Repr::EchoRequest {
                ident: echo.id,
                seq_no: echo.seq,
                data: &data,
            },
            Icmpv4Type::EchoReply(echo) => Repr::EchoReply {
                ident: echo.id,
                seq_no: echo.seq,
                data: &data,
            },
            Icmpv4Type::DestinationUnreachable(header) => {
                let mtu = match header {
                    DestUnreachableHeader::FragmentationNeeded { next_hop_mtu } => next_hop_mtu,
                    _ => 0,
                };
                Repr::DstUnreachable {
                    reason: unreachable_reason(header.code_u8(), mtu),
                    invoking: &data,
                }
            }
            Icmpv4Type::TimeExceeded(code) => Repr::TimeExceeded {
                reason: exceeded_reason(code.code_u8()),
                invoking: &data,
            },
            // Ours does not look at the code of an echo (RFC 792 says 0; Linux ignores it).
            Icmpv4Type::Unknown { type_u8, code_u8, bytes5to8 } => match type_u8 {
                ECHO_REQUEST => Repr::EchoRequest {
                    ident: word(bytes5to8, 0),
                    seq_no: word(bytes5to8, 2),
                    data: &data,
                },
                ECHO_REPLY => Repr::EchoReply {
                    ident: word(bytes5to8, 0),
                    seq_no: word(bytes5to8, 2),
                    data: &data,
                },
                DST_UNREACHABLE => Repr::DstUnreachable {
                    reason: unreachable_reason(code_u8, word(bytes5to8, 2)),
                    invoking: &data,
                },
                TIME_EXCEEDED => Repr::TimeExceeded {
                    reason: exceeded_reason(code_u8),
                    invoking: &data,
                },
                msg_type => Repr::Other { msg_type, code: code_u8 },
            },
            other => unreachable!("not generated: {other:?}"),
        };
        prop_assert_eq!(parse(&bytes), Ok(expected));
    }

    /// (b) smoltcp → ours: echo, and errors with the IPv4 header smoltcp writes into the quote
    /// (ident 0, DF, its own checksum), which our quote reader then reads.
    #[test]
    fn we_read_what_smoltcp_emits(
        kind in 0u8..4,
        (ident, seq_no, code) in any::<(u16, u16, u8)>(),
        (src, dst, protocol, ttl) in (arb_addr(), arb_addr(), any::<u8>(), any::<u8>()),
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let header = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: SmolProtocol::from(protocol),
            payload_len: data.len(),
            hop_limit: ttl,
        };
        let smol = match kind {
            0 => Icmpv4Repr::EchoRequest { ident, seq_no, data: &data },
            1 => Icmpv4Repr::EchoReply { ident, seq_no, data: &data },
            2 => Icmpv4Repr::DstUnreachable {
                reason: SmolDstUnreachable::from(code),
                header,
                data: &data,
            },
            _ => Icmpv4Repr::TimeExceeded {
                reason: SmolTimeExceeded::from(code),
                header,
                data: &data,
            },
        };
        let mut bytes = vec![0u8; smol.buffer_len()];
        smol.emit(&mut Icmpv4Packet::new_unchecked(&mut bytes[..]), &ChecksumCapabilities::default());
        let parsed = parse(&bytes).unwrap();
        let invoking = &bytes[HEADER_LEN..];
        let expected = match kind {
            0 => Repr::EchoRequest { ident, seq_no, data: &data },
            1 => Repr::EchoReply { ident, seq_no, data: &data },
            // smoltcp leaves the second word zero, next-hop MTU included.
            2 => Repr::DstUnreachable { reason: unreachable_reason(code, 0), invoking },
            _ => Repr::TimeExceeded { reason: exceeded_reason(code), invoking },
        };
        prop_assert_eq!(parsed, expected);
        if kind >= 2 {
            let quoted = ip::Repr {
                src_addr: src,
                dst_addr: dst,
                protocol: IpProtocol::from(protocol),
                ttl,
                tos: 0,
                ident: 0,
                dont_fragment: true,
                more_fragments: false,
                fragment_offset: 0,
                payload_len: data.len(),
            };
            prop_assert_eq!(parse_quoted(invoking), Ok((quoted, ip::HEADER_LEN)));
            let whole = ip::Packet::new_checked(invoking).and_then(|p| ip::Repr::parse(&p));
            prop_assert_eq!(whole, Ok(quoted));
        }
    }

    /// (c) Arbitrary bytes and emitted messages with a few bytes overwritten: no panic, and we
    /// accept exactly the messages whose checksum smoltcp verifies.
    #[test]
    fn arbitrary_bytes_agree_with_smoltcp(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..48),
            (arb_shape(), arb_data(), arb_edits())
                .prop_map(|(shape, data, edits)| mutate(emit(&shape.with(&data)), &edits)),
        ],
    ) {
        check_against_smoltcp(&bytes)?;
    }

    /// (c) Every truncation of a valid message: `Truncated` below the header, otherwise the
    /// same checksum verdict as smoltcp's.
    #[test]
    fn every_truncation_agrees_with_smoltcp(shape in arb_shape(), data in arb_data()) {
        let bytes = emit(&shape.with(&data));
        for len in 0..=bytes.len() {
            let prefix = &bytes[..len];
            if len < HEADER_LEN {
                prop_assert_eq!(Packet::new_checked(prefix).err(), Some(WireError::Truncated));
            }
            check_against_smoltcp(prefix)?;
        }
    }
}

/// Our check and parse of `bytes` against smoltcp's, every accessor, and the quote reader on
/// what an error carries.
fn check_against_smoltcp(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = Packet::new_checked(bytes);
    let smol = Icmpv4Packet::new_checked(bytes);
    prop_assert_eq!(ours.is_ok(), smol.is_ok());
    let (Ok(packet), Ok(smol)) = (ours, smol) else {
        return Ok(());
    };
    let _ = (packet.checksum(), packet.next_hop_mtu(), packet.data());
    prop_assert_eq!(packet.msg_type(), u8::from(smol.msg_type()));
    prop_assert_eq!(packet.code(), smol.msg_code());
    prop_assert_eq!(packet.echo_ident(), smol.echo_ident());
    prop_assert_eq!(packet.echo_seq_no(), smol.echo_seq_no());
    let parsed = Repr::parse(&packet);
    prop_assert_eq!(parsed.is_ok(), smol.verify_checksum());
    if let Ok(repr) = parsed {
        let _ = repr.to_string();
        if let Some(invoking) = repr.invoking() {
            let _ = parse_quoted(invoking);
            prop_assert_eq!(invoking, smol.data());
        }
        if smol.msg_type() == Icmpv4Message::EchoRequest {
            let is_request = matches!(repr, Repr::EchoRequest { .. });
            prop_assert!(is_request, "{:?} is not an echo request", repr);
        }
    }
    Ok(())
}

/// One port unreachable, as the stack sends it for a datagram to a closed port, read by all.
#[test]
fn a_port_unreachable_reads_the_same_in_all_three() {
    let datagram = {
        let repr = ip::Repr {
            src_addr: Ipv4Addr::new(10, 77, 0, 1),
            dst_addr: Ipv4Addr::new(10, 77, 0, 2),
            protocol: IpProtocol::Udp,
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len: 13,
        };
        let mut bytes = vec![0u8; repr.total_len()];
        repr.emit(&mut bytes[..ip::HEADER_LEN]);
        bytes[ip::HEADER_LEN..].copy_from_slice(b"\xd4\x31\x00\x07\x00\x0d\x00\x00hello");
        bytes
    };
    let repr = Repr::DstUnreachable {
        reason: DstUnreachable::PortUnreachable,
        invoking: &datagram,
    };
    let bytes = emit(&repr);
    let ether = Icmpv4Slice::from_slice(&bytes).unwrap();
    assert_eq!(
        ether.icmp_type(),
        Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port)
    );
    let smol = Icmpv4Repr::parse(
        &Icmpv4Packet::new_checked(&bytes[..]).unwrap(),
        &ChecksumCapabilities::default(),
    )
    .unwrap();
    assert!(matches!(
        smol,
        Icmpv4Repr::DstUnreachable {
            reason: SmolDstUnreachable::PortUnreachable,
            header: Ipv4Repr {
                next_header: SmolProtocol::Udp,
                ..
            },
            ..
        }
    ));
    assert_eq!(parse(&bytes), Ok(repr));
}
