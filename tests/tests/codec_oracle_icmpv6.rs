//! The ICMPv6 codec (`tunstack::ip::icmpv6::header`) against smoltcp::wire and etherparse, for
//! echo request and reply, the four errors (destination unreachable, packet too big, time
//! exceeded, parameter problem) and the neighbour solicitation and advertisement:
//!
//! - what we emit, they read back, with a checksum over the IPv6 pseudo-header that they verify
//!   and that etherparse computes the same;
//! - what they emit, we read back;
//! - arbitrary bytes and every truncation: no panic, and the same verdict on the checksum.
//!
//! Where the readers differ: ours reads an echo or a Packet Too Big whatever its code, smoltcp
//! refuses a nonzero one; smoltcp reads an error only if its quote holds a whole IPv6 header,
//! ours takes any quote (the input path reads it); on neighbour discovery, ours also refuses a
//! multicast target and a link-layer address option that is not Ethernet's 8 bytes.

mod common;

use std::net::Ipv6Addr;

use common::{arb_edits, arb_mac, mutate, smol_mac};
use etherparse::icmpv6::{
    DestUnreachableCode, NeighborAdvertisementHeader, ParameterProblemCode, ParameterProblemHeader,
    TimeExceededCode,
};
use etherparse::{IcmpEchoHeader, Icmpv6Header, Icmpv6Slice, Icmpv6Type};
use proptest::prelude::*;
use proptest::test_runner::Config;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv6DstUnreachable as SmolDstUnreachable, Icmpv6Packet, Icmpv6ParamProblem, Icmpv6Repr,
    Icmpv6TimeExceeded as SmolTimeExceeded, IpProtocol as SmolProtocol, Ipv6Packet, Ipv6Repr,
    NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};
use tunstack::ip::icmpv6::header::{
    DstUnreachable, Packet, ParamProblem, Repr, TimeExceeded, HEADER_LEN,
};
use tunstack::link::ethernet::MacAddr;
use tunstack::wire::WireError;

/// Fewer cases than the other suites: each case emits and parses up to three times.
fn config() -> Config {
    Config {
        cases: 256,
        ..Config::default()
    }
}

/// Any IPv6 address, with link-local and solicited-node ones drawn often.
fn arb_addr() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(Ipv6Addr::from),
        any::<u64>().prop_map(|id| Ipv6Addr::from((0xfe80u128 << 112) | u128::from(id))),
        any::<u32>().prop_map(|low| {
            Ipv6Addr::from(
                0xff02_0000_0000_0000_0000_0001_ff00_0000u128 | u128::from(low & 0xff_ffff),
            )
        }),
    ]
}

/// A unicast address: a neighbour discovery target, or the source of a solicitation.
fn arb_unicast() -> impl Strategy<Value = Ipv6Addr> {
    arb_addr().prop_filter("not multicast", |a| {
        !a.is_multicast() && !a.is_unspecified()
    })
}

fn arb_data() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..64)
}

/// A message without its data, so that a strategy can own it; the data is drawn beside it.
#[derive(Debug, Clone, Copy)]
enum Shape {
    EchoRequest { ident: u16, seq_no: u16 },
    EchoReply { ident: u16, seq_no: u16 },
    Unreachable(DstUnreachable),
    TooBig(u32),
    Exceeded(TimeExceeded),
    Problem(ParamProblem, u32),
    Solicit(Ipv6Addr, Option<MacAddr>),
    Advert([bool; 3], Ipv6Addr, Option<MacAddr>),
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
            Shape::Unreachable(code) => Repr::DstUnreachable {
                code,
                invoking: data,
            },
            Shape::TooBig(mtu) => Repr::PacketTooBig {
                mtu,
                invoking: data,
            },
            Shape::Exceeded(code) => Repr::TimeExceeded {
                code,
                invoking: data,
            },
            Shape::Problem(code, pointer) => Repr::ParamProblem {
                code,
                pointer,
                invoking: data,
            },
            Shape::Solicit(target, source_mac) => Repr::NeighborSolicit { target, source_mac },
            Shape::Advert([router, solicited, override_], target, target_mac) => {
                Repr::NeighborAdvert {
                    router,
                    solicited,
                    override_,
                    target,
                    target_mac,
                }
            }
        }
    }

    fn is_ndp(self) -> bool {
        matches!(self, Shape::Solicit(..) | Shape::Advert(..))
    }
}

fn arb_echo() -> impl Strategy<Value = Shape> {
    any::<(bool, u16, u16)>().prop_map(|(request, ident, seq_no)| {
        if request {
            Shape::EchoRequest { ident, seq_no }
        } else {
            Shape::EchoReply { ident, seq_no }
        }
    })
}

fn arb_error() -> impl Strategy<Value = Shape> {
    prop_oneof![
        any::<u8>().prop_map(|c| Shape::Unreachable(DstUnreachable::from_code(c))),
        any::<u32>().prop_map(Shape::TooBig),
        any::<u8>().prop_map(|c| Shape::Exceeded(TimeExceeded::from_code(c))),
        any::<(u8, u32)>().prop_map(|(c, p)| Shape::Problem(ParamProblem::from_code(c), p)),
    ]
}

/// A neighbour solicitation or advertisement with a unicast target.
fn arb_ndp() -> impl Strategy<Value = Shape> {
    let mac = || proptest::option::of(arb_mac());
    prop_oneof![
        (arb_unicast(), mac()).prop_map(|(t, m)| Shape::Solicit(t, m)),
        (any::<[bool; 3]>(), arb_unicast(), mac()).prop_map(|(f, t, m)| Shape::Advert(f, t, m)),
    ]
}

fn arb_shape() -> impl Strategy<Value = Shape> {
    prop_oneof![arb_echo(), arb_error(), arb_ndp()]
}

/// Addresses under which `shape` is valid: a solicited advertisement goes to unicast, and a
/// solicitation comes from a unicast address (the unspecified one is for duplicate address
/// detection, tested in the unit tests).
fn addrs_for(shape: Shape, src: Ipv6Addr, dst: Ipv6Addr) -> (Ipv6Addr, Ipv6Addr) {
    let unicast = |a: Ipv6Addr| {
        if a.is_multicast() || a.is_unspecified() {
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)
        } else {
            a
        }
    };
    match shape {
        Shape::Solicit(..) => (unicast(src), dst),
        Shape::Advert([_, true, _], ..) => (src, unicast(dst)),
        _ => (src, dst),
    }
}

fn emit(repr: &Repr, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut buf = vec![0xaa; repr.buffer_len()];
    repr.emit(&mut buf, src, dst);
    buf
}

fn parse(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<Repr<'_>, WireError> {
    Repr::parse(&Packet::new_checked(bytes)?, src, dst)
}

/// What etherparse should call the message we emitted for `shape`.
fn etherparse_type(shape: Shape) -> Icmpv6Type {
    let unknown = |type_u8, code_u8, word: u32| Icmpv6Type::Unknown {
        type_u8,
        code_u8,
        bytes5to8: word.to_be_bytes(),
    };
    match shape {
        Shape::EchoRequest { ident, seq_no } => Icmpv6Type::EchoRequest(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Shape::EchoReply { ident, seq_no } => Icmpv6Type::EchoReply(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Shape::Unreachable(code) => match DestUnreachableCode::from_u8(code.code()) {
            Some(code) => Icmpv6Type::DestinationUnreachable(code),
            None => unknown(1, code.code(), 0),
        },
        Shape::TooBig(mtu) => Icmpv6Type::PacketTooBig { mtu },
        Shape::Exceeded(code) => match TimeExceededCode::from_u8(code.code()) {
            Some(code) => Icmpv6Type::TimeExceeded(code),
            None => unknown(3, code.code(), 0),
        },
        Shape::Problem(code, pointer) => match ParameterProblemCode::from_u8(code.code()) {
            Some(code) => Icmpv6Type::ParameterProblem(ParameterProblemHeader { code, pointer }),
            None => unknown(4, code.code(), pointer),
        },
        Shape::Solicit(..) => Icmpv6Type::NeighborSolicitation,
        Shape::Advert([router, solicited, r#override], ..) => {
            Icmpv6Type::NeighborAdvertisement(NeighborAdvertisementHeader {
                router,
                solicited,
                r#override,
            })
        }
    }
}

fn smol_ll(mac: Option<MacAddr>) -> Option<RawHardwareAddress> {
    mac.map(|m| RawHardwareAddress::from_bytes(&smol_mac(m).0))
}

/// An IPv6 packet for an error to quote: a fixed header smoltcp writes, then `data`.
fn invoking_packet(header: &Ipv6Repr, data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; header.buffer_len()];
    header.emit(&mut Ipv6Packet::new_unchecked(&mut bytes[..]));
    bytes.extend_from_slice(data);
    bytes
}

fn arb_ipv6_repr() -> impl Strategy<Value = Ipv6Repr> {
    (
        arb_addr(),
        arb_addr(),
        any::<u8>(),
        any::<u8>(),
        0usize..2000,
    )
        .prop_map(
            |(src_addr, dst_addr, next_header, hop_limit, payload_len)| Ipv6Repr {
                src_addr,
                dst_addr,
                next_header: SmolProtocol::from(next_header),
                payload_len,
                hop_limit,
            },
        )
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: it verifies our checksum, computes the same one, and reads the
    /// same type, fields and payload.
    #[test]
    fn etherparse_reads_what_we_emit(
        shape in arb_shape(),
        data in arb_data(),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let (src, dst) = addrs_for(shape, src, dst);
        let repr = shape.with(&data);
        let bytes = emit(&repr, src, dst);
        prop_assert_eq!(parse(&bytes, src, dst), Ok(repr));
        let slice = Icmpv6Slice::from_slice(&bytes).unwrap();
        prop_assert!(slice.is_checksum_valid(src.octets(), dst.octets()));
        let expected = etherparse_type(shape);
        prop_assert_eq!(slice.icmp_type(), expected);
        prop_assert_eq!(slice.payload(), &bytes[HEADER_LEN..]);
        let header = Icmpv6Header::with_checksum(
            expected, src.octets(), dst.octets(), slice.payload()
        ).unwrap();
        prop_assert_eq!(header.checksum, slice.checksum());
        let mut theirs = Vec::new();
        header.write(&mut theirs).unwrap();
        prop_assert_eq!(&theirs[..], &bytes[..HEADER_LEN]);
    }

    /// (a) Ours → smoltcp's `Repr`: echo, neighbour discovery, and errors that quote a packet
    /// beginning with an IPv6 header (smoltcp reads the quote as one and refuses less).
    #[test]
    fn smoltcp_parses_what_we_emit(
        shape in arb_shape(),
        data in arb_data(),
        header in arb_ipv6_repr(),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let (src, dst) = addrs_for(shape, src, dst);
        let quoted = invoking_packet(&header, &data);
        let body: &[u8] = match shape {
            Shape::EchoRequest { .. } | Shape::EchoReply { .. } => &data,
            _ => &quoted,
        };
        let bytes = emit(&shape.with(body), src, dst);
        let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        prop_assert!(packet.verify_checksum(&src, &dst));
        let parsed = Icmpv6Repr::parse(&src, &dst, &packet, &ChecksumCapabilities::default());
        let expected = match shape {
            Shape::EchoRequest { ident, seq_no } => Icmpv6Repr::EchoRequest { ident, seq_no, data: &data },
            Shape::EchoReply { ident, seq_no } => Icmpv6Repr::EchoReply { ident, seq_no, data: &data },
            Shape::Unreachable(code) => Icmpv6Repr::DstUnreachable {
                reason: SmolDstUnreachable::from(code.code()),
                header,
                data: &data,
            },
            Shape::TooBig(mtu) => Icmpv6Repr::PktTooBig { mtu, header, data: &data },
            Shape::Exceeded(code) => Icmpv6Repr::TimeExceeded {
                reason: SmolTimeExceeded::from(code.code()),
                header,
                data: &data,
            },
            Shape::Problem(code, pointer) => Icmpv6Repr::ParamProblem {
                reason: Icmpv6ParamProblem::from(code.code()),
                pointer,
                header,
                data: &data,
            },
            Shape::Solicit(target_addr, mac) => Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr: smol_ll(mac),
            }),
            Shape::Advert([router, solicited, override_], target_addr, mac) => {
                let mut flags = NdiscNeighborFlags::empty();
                flags.set(NdiscNeighborFlags::ROUTER, router);
                flags.set(NdiscNeighborFlags::SOLICITED, solicited);
                flags.set(NdiscNeighborFlags::OVERRIDE, override_);
                Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                    flags,
                    target_addr,
                    lladdr: smol_ll(mac),
                })
            }
        };
        prop_assert_eq!(parsed, Ok(expected));
    }

    /// (b) etherparse → ours: `Icmpv6Header::with_checksum` for echo and the errors it names,
    /// and its `Unknown` type for any type, code and second word at all.
    #[test]
    fn we_read_what_etherparse_emits(
        icmp_type in prop_oneof![
            any::<(bool, u16, u16)>().prop_map(|(request, id, seq)| {
                let echo = IcmpEchoHeader { id, seq };
                if request { Icmpv6Type::EchoRequest(echo) } else { Icmpv6Type::EchoReply(echo) }
            }),
            (0u8..7).prop_map(|c| Icmpv6Type::DestinationUnreachable(
                DestUnreachableCode::from_u8(c).unwrap()
            )),
            any::<u32>().prop_map(|mtu| Icmpv6Type::PacketTooBig { mtu }),
            (0u8..2).prop_map(|c| Icmpv6Type::TimeExceeded(TimeExceededCode::from_u8(c).unwrap())),
            (0u8..11, any::<u32>()).prop_map(|(c, pointer)| Icmpv6Type::ParameterProblem(
                ParameterProblemHeader { code: ParameterProblemCode::from_u8(c).unwrap(), pointer }
            )),
            (
                prop_oneof![Just(1u8), Just(2), Just(3), Just(4), Just(128), Just(129), any::<u8>()]
                    .prop_filter("neighbour discovery", |t| *t != 135 && *t != 136),
                any::<u8>(),
                any::<[u8; 4]>(),
            ).prop_map(|(type_u8, code_u8, bytes5to8)| Icmpv6Type::Unknown { type_u8, code_u8, bytes5to8 }),
        ],
        data in arb_data(),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let header = Icmpv6Header::with_checksum(icmp_type, src.octets(), dst.octets(), &data)
            .unwrap();
        let mut bytes = Vec::new();
        header.write(&mut bytes).unwrap();
        bytes.extend_from_slice(&data);
        let word = |b: [u8; 4]| u32::from_be_bytes(b);
        let half = |b: [u8; 4], i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let expected = match icmp_type {
            Icmpv6Type::EchoRequest(e) => Repr::EchoRequest { ident: e.id, seq_no: e.seq, data: &data },
            Icmpv6Type::EchoReply(e) => Repr::EchoReply { ident: e.id, seq_no: e.seq, data: &data },
            Icmpv6Type::DestinationUnreachable(c) => Repr::DstUnreachable {
                code: DstUnreachable::from_code(c.code_u8()),
                invoking: &data,
            },
            Icmpv6Type::PacketTooBig { mtu } => Repr::PacketTooBig { mtu, invoking: &data },
            Icmpv6Type::TimeExceeded(c) => Repr::TimeExceeded {
                code: TimeExceeded::from_code(c.code_u8()),
                invoking: &data,
            },
            Icmpv6Type::ParameterProblem(p) => Repr::ParamProblem {
                code: ParamProblem::from_code(p.code.code_u8()),
                pointer: p.pointer,
                invoking: &data,
            },
            // Ours reads the echo whatever its code (RFC 4443 says 0), and Packet Too Big's MTU
            // whatever its code; smoltcp refuses both with a nonzero code.
            Icmpv6Type::Unknown { type_u8, code_u8, bytes5to8 } => match type_u8 {
                128 => Repr::EchoRequest { ident: half(bytes5to8, 0), seq_no: half(bytes5to8, 2), data: &data },
                129 => Repr::EchoReply { ident: half(bytes5to8, 0), seq_no: half(bytes5to8, 2), data: &data },
                1 => Repr::DstUnreachable { code: DstUnreachable::from_code(code_u8), invoking: &data },
                2 => Repr::PacketTooBig { mtu: word(bytes5to8), invoking: &data },
                3 => Repr::TimeExceeded { code: TimeExceeded::from_code(code_u8), invoking: &data },
                4 => Repr::ParamProblem {
                    code: ParamProblem::from_code(code_u8),
                    pointer: word(bytes5to8),
                    invoking: &data,
                },
                msg_type => Repr::Other { msg_type, code: code_u8 },
            },
            other => unreachable!("not generated: {other:?}"),
        };
        prop_assert_eq!(parse(&bytes, src, dst), Ok(expected));
    }

    /// (b) smoltcp → ours: echo, errors (with the IPv6 header smoltcp writes into the quote),
    /// and neighbour discovery with or without a link-layer address.
    #[test]
    fn we_read_what_smoltcp_emits(
        shape in arb_shape(),
        data in arb_data(),
        header in arb_ipv6_repr(),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let (src, dst) = addrs_for(shape, src, dst);
        let flags = |[router, solicited, override_]: [bool; 3]| {
            let mut flags = NdiscNeighborFlags::empty();
            flags.set(NdiscNeighborFlags::ROUTER, router);
            flags.set(NdiscNeighborFlags::SOLICITED, solicited);
            flags.set(NdiscNeighborFlags::OVERRIDE, override_);
            flags
        };
        let smol = match shape {
            Shape::EchoRequest { ident, seq_no } => Icmpv6Repr::EchoRequest { ident, seq_no, data: &data },
            Shape::EchoReply { ident, seq_no } => Icmpv6Repr::EchoReply { ident, seq_no, data: &data },
            Shape::Unreachable(code) => Icmpv6Repr::DstUnreachable {
                reason: SmolDstUnreachable::from(code.code()), header, data: &data,
            },
            Shape::TooBig(mtu) => Icmpv6Repr::PktTooBig { mtu, header, data: &data },
            Shape::Exceeded(code) => Icmpv6Repr::TimeExceeded {
                reason: SmolTimeExceeded::from(code.code()), header, data: &data,
            },
            Shape::Problem(code, pointer) => Icmpv6Repr::ParamProblem {
                reason: Icmpv6ParamProblem::from(code.code()), pointer, header, data: &data,
            },
            Shape::Solicit(target_addr, mac) => Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target_addr, lladdr: smol_ll(mac),
            }),
            Shape::Advert(f, target_addr, mac) => Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags: flags(f), target_addr, lladdr: smol_ll(mac),
            }),
        };
        let mut bytes = vec![0u8; smol.buffer_len()];
        smol.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut bytes[..]), &ChecksumCapabilities::default());
        let quoted = invoking_packet(&header, &data);
        let expected = if shape.is_ndp() || matches!(shape, Shape::EchoRequest { .. } | Shape::EchoReply { .. }) {
            shape.with(&data)
        } else {
            shape.with(&quoted)
        };
        prop_assert_eq!(parse(&bytes, src, dst), Ok(expected));
    }

    /// (c) Arbitrary bytes and emitted messages with a few bytes overwritten: no panic, and we
    /// refuse a checksum exactly when smoltcp does.
    #[test]
    fn arbitrary_bytes_agree_with_smoltcp(
        (src, dst) in (arb_addr(), arb_addr()),
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..48),
            (arb_shape(), arb_data(), arb_edits()).prop_map(|(shape, data, edits)| {
                let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
                let dst = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
                mutate(emit(&shape.with(&data), src, dst), &edits)
            }),
        ],
    ) {
        check_against_smoltcp(&bytes, src, dst)?;
        let link_local = |n| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n);
        check_against_smoltcp(&bytes, link_local(1), link_local(2))?;
    }

    /// (c) Every truncation of a valid message: `Truncated` below the header, otherwise the
    /// same checksum verdict as smoltcp's.
    #[test]
    fn every_truncation_agrees_with_smoltcp(
        shape in arb_shape(),
        data in arb_data(),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let (src, dst) = addrs_for(shape, src, dst);
        let bytes = emit(&shape.with(&data), src, dst);
        for len in 0..=bytes.len() {
            let prefix = &bytes[..len];
            if len < HEADER_LEN {
                prop_assert_eq!(Packet::new_checked(prefix).err(), Some(WireError::Truncated));
            }
            check_against_smoltcp(prefix, src, dst)?;
        }
    }
}

/// Our check and parse of `bytes` against smoltcp's: both accessors agree, and our parse fails
/// on the checksum exactly when smoltcp's verification does.
fn check_against_smoltcp(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<(), TestCaseError> {
    let Ok(packet) = Packet::new_checked(bytes) else {
        prop_assert!(bytes.len() < HEADER_LEN);
        return Ok(());
    };
    let smol = Icmpv6Packet::new_unchecked(bytes);
    let _ = (packet.data(), packet.ndp_target(), packet.ndp_flags());
    prop_assert_eq!(packet.msg_type(), u8::from(smol.msg_type()));
    prop_assert_eq!(packet.code(), smol.msg_code());
    prop_assert_eq!(packet.checksum(), smol.checksum());
    prop_assert_eq!(packet.echo_ident(), smol.echo_ident());
    prop_assert_eq!(packet.echo_seq_no(), smol.echo_seq_no());
    let parsed = Repr::parse(&packet, src, dst);
    prop_assert_eq!(
        parsed != Err(WireError::BadChecksum),
        smol.verify_checksum(&src, &dst)
    );
    if let Ok(repr) = parsed {
        let _ = repr.to_string();
        if let Some(invoking) = repr.invoking() {
            prop_assert_eq!(invoking, &bytes[HEADER_LEN..]);
        }
    }
    Ok(())
}

/// A neighbour solicitation like the one Linux sends to resolve `fe80::2` from `fe80::1`, read by
/// all three.
#[test]
fn a_neighbor_solicitation_reads_the_same_in_all_three() {
    let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
    let target = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    let mac = MacAddr::new([0x02, 0, 0, 0, 0, 1]);
    let repr = Repr::NeighborSolicit {
        target,
        source_mac: Some(mac),
    };
    let bytes = emit(&repr, src, dst);
    let ether = Icmpv6Slice::from_slice(&bytes).unwrap();
    assert_eq!(ether.icmp_type(), Icmpv6Type::NeighborSolicitation);
    assert!(ether.is_checksum_valid(src.octets(), dst.octets()));
    let smol = Icmpv6Repr::parse(
        &src,
        &dst,
        &Icmpv6Packet::new_checked(&bytes[..]).unwrap(),
        &ChecksumCapabilities::default(),
    )
    .unwrap();
    assert_eq!(
        smol,
        Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: smol_ll(Some(mac)),
        })
    );
    assert_eq!(parse(&bytes, src, dst), Ok(repr));
}

/// Neighbour discovery checks (RFC 4861 sections 4.6 and 7.1.1): both refuse an option of
/// length 0 and a nonzero code; only ours refuses a multicast target, and a link-layer address
/// option of another size than Ethernet's, which smoltcp keeps as a longer hardware address.
#[test]
fn neighbor_discovery_checks_against_smoltcp() {
    let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
    let target = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    let smol_reads = |bytes: &[u8]| {
        let packet = Icmpv6Packet::new_checked(bytes).unwrap();
        Icmpv6Repr::parse(&src, &dst, &packet, &ChecksumCapabilities::default()).is_ok()
    };
    let solicit = Repr::NeighborSolicit {
        target,
        source_mac: None,
    };
    let base = emit(&solicit, src, dst);
    let edited = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = base.clone();
        edit(&mut bytes);
        Packet::new_unchecked(&mut bytes[..]).fill_checksum(src, dst);
        bytes
    };

    let zero_len = edited(&|b| b.extend_from_slice(&[14, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(parse(&zero_len, src, dst), Err(WireError::BadOption));
    assert!(!smol_reads(&zero_len));

    let code = edited(&|b| b[1] = 1);
    assert_eq!(parse(&code, src, dst), Err(WireError::Invalid));
    assert!(!smol_reads(&code));

    let multicast = edited(&|b| b[8..24].copy_from_slice(&dst.octets()));
    assert_eq!(parse(&multicast, src, dst), Err(WireError::Invalid));
    assert!(smol_reads(&multicast));

    let long_mac =
        edited(&|b| b.extend_from_slice(&[1, 2, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(parse(&long_mac, src, dst), Err(WireError::BadOption));
    assert!(smol_reads(&long_mac));
}
