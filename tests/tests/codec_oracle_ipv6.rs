//! The IPv6 codecs (`tunstack::ip::ipv6`) against two independent implementations, etherparse
//! and smoltcp::wire:
//!
//! - what we emit, they read back field by field;
//! - what they emit (with link padding after it), we read back field by field;
//! - arbitrary bytes and every truncation of a valid packet: our parser never panics, and it
//!   accepts exactly what smoltcp's length checks and etherparse's slicer accept, and calls a
//!   wrong version a wrong version as etherparse does;
//! - extension-header chains etherparse builds (Hop-by-Hop, Destination Options, Routing with
//!   no segments left, Fragment, final Destination Options) walk to the protocol and offset
//!   where etherparse's own walk ends, or, with a Fragment header, to that header's fields and
//!   the data after it (where reassembly takes over; etherparse reads on);
//! - options: the verdict on an options header is the action smoltcp's `FailureType` gives the
//!   first option that is not padding and not skipped, or a drop where smoltcp's option reader
//!   finds an option running past the header.

mod common;

use std::net::Ipv6Addr;

use common::{arb_edits, config, mutate};
use etherparse::err::ipv6::{HeaderError, HeaderSliceError};
use etherparse::{
    IpFragOffset, IpNumber, Ipv6Extensions, Ipv6FlowLabel, Ipv6FragmentHeader, Ipv6Header,
    Ipv6HeaderSlice, Ipv6RawExtHeader, Ipv6RoutingExtensions,
};
use proptest::prelude::*;
use smoltcp::wire::{
    IpProtocol as SmolProtocol, Ipv6Option, Ipv6OptionFailureType, Ipv6OptionType, Ipv6Packet,
    Ipv6Repr,
};
use tunstack::ip::ipv6::ext::{walk, Chain, DropReason, ParamProblemCode, Verdict};
use tunstack::ip::ipv6::{NextHeader, Packet, Repr, HEADER_LEN};
use tunstack::ip::IpProtocol;
use tunstack::wire::WireError;

/// IPv6 addresses: any 128 bits, with multicast, loopback and unspecified drawn often.
fn arb_addr() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        4 => any::<u128>().prop_map(Ipv6Addr::from),
        1 => any::<u128>().prop_map(|bits| Ipv6Addr::from(bits | 0xff << 120)),
        1 => Just(Ipv6Addr::LOCALHOST),
        1 => Just(Ipv6Addr::UNSPECIFIED),
    ]
}

/// Payload lengths: mostly small, sometimes up to the largest a packet can carry.
fn arb_payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..64,
        1 => 0usize..=usize::from(u16::MAX),
    ]
}

/// Any header our `Repr` can describe.
fn arb_repr() -> impl Strategy<Value = Repr> {
    (
        (arb_addr(), arb_addr(), any::<u8>()),
        (any::<u8>(), any::<u8>(), 0u32..=0xfffff),
        arb_payload_len(),
    )
        .prop_map(
            |((src_addr, dst_addr, next), (hop_limit, traffic_class, flow_label), len)| Repr {
                src_addr,
                dst_addr,
                next_header: NextHeader::from(next),
                hop_limit,
                traffic_class,
                flow_label,
                payload_len: len,
            },
        )
}

/// A payload of `len` bytes that is not all zeros.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// The whole packet our emit writes for `repr`, with a payload after the header.
fn emit(repr: &Repr) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.total_len()];
    repr.emit(&mut bytes[..HEADER_LEN]);
    bytes[HEADER_LEN..].copy_from_slice(&payload(repr.payload_len));
    bytes
}

/// Ours: check, then parse.
fn parse(bytes: &[u8]) -> Result<Repr, WireError> {
    Packet::new_checked(bytes).map(|packet| Repr::parse(&packet))
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: every field of its header slice, and its header equals the one
    /// we meant.
    #[test]
    fn etherparse_reads_what_we_emit(repr in arb_repr()) {
        let bytes = emit(&repr);
        let header = Ipv6HeaderSlice::from_slice(&bytes).unwrap();
        prop_assert_eq!(header.version(), 6);
        prop_assert_eq!(header.traffic_class(), repr.traffic_class);
        prop_assert_eq!(header.flow_label().value(), repr.flow_label);
        prop_assert_eq!(usize::from(header.payload_length()), repr.payload_len);
        prop_assert_eq!(header.next_header(), IpNumber(u8::from(repr.next_header)));
        prop_assert_eq!(header.hop_limit(), repr.hop_limit);
        prop_assert_eq!(header.source_addr(), repr.src_addr);
        prop_assert_eq!(header.destination_addr(), repr.dst_addr);
        prop_assert_eq!(header.to_header(), ether_header(&repr));
    }

    /// (a) Ours → smoltcp: every field through its `Packet`, and its `Repr`.
    #[test]
    fn smoltcp_reads_what_we_emit(repr in arb_repr()) {
        let bytes = emit(&repr);
        let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(packet.version(), 6);
        prop_assert_eq!(packet.traffic_class(), repr.traffic_class);
        prop_assert_eq!(packet.flow_label(), repr.flow_label);
        prop_assert_eq!(usize::from(packet.payload_len()), repr.payload_len);
        prop_assert_eq!(u8::from(packet.next_header()), u8::from(repr.next_header));
        prop_assert_eq!(packet.hop_limit(), repr.hop_limit);
        prop_assert_eq!(packet.src_addr(), repr.src_addr);
        prop_assert_eq!(packet.dst_addr(), repr.dst_addr);
        prop_assert_eq!(packet.payload(), &bytes[HEADER_LEN..]);
        prop_assert_eq!(Ipv6Repr::parse(&packet).unwrap(), smol_repr(&repr));
    }

    /// (b) etherparse → ours: any header etherparse writes, with link padding after the payload.
    #[test]
    fn we_read_what_etherparse_emits(
        repr in arb_repr(),
        padding in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let repr = Repr { payload_len: repr.payload_len % 128, ..repr };
        let data = payload(repr.payload_len);
        let mut bytes = Vec::new();
        ether_header(&repr).write(&mut bytes).unwrap();
        bytes.extend_from_slice(&data);
        bytes.extend_from_slice(&padding);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(Repr::parse(&packet), repr);
        prop_assert_eq!(packet.payload(), &data[..]);
    }

    /// (b) smoltcp → ours: its `Repr::emit` (traffic class and flow label 0), then its `Packet`
    /// setters for the two fields its `Repr` does not carry.
    #[test]
    fn we_read_what_smoltcp_emits(repr in arb_repr()) {
        let smol = smol_repr(&repr);
        let mut bytes = vec![0xffu8; smol.buffer_len() + repr.payload_len];
        let mut packet = Ipv6Packet::new_unchecked(&mut bytes[..]);
        smol.emit(&mut packet);
        let plain = Repr { traffic_class: 0, flow_label: 0, ..repr };
        prop_assert_eq!(parse(&bytes), Ok(plain));

        let mut packet = Ipv6Packet::new_unchecked(&mut bytes[..]);
        packet.set_traffic_class(repr.traffic_class);
        packet.set_flow_label(repr.flow_label);
        prop_assert_eq!(parse(&bytes), Ok(repr));
    }

    /// (c) Arbitrary bytes (version 6 often), and valid packets with a few bytes overwritten:
    /// no panic, and the same verdict as both oracles.
    #[test]
    fn arbitrary_bytes_agree_with_the_oracles(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..100),
            proptest::collection::vec(any::<u8>(), 0..100).prop_map(|mut bytes| {
                if let Some(first) = bytes.first_mut() {
                    *first = 0x60 | (*first & 0x0f);
                }
                bytes
            }),
            (arb_repr(), arb_edits()).prop_map(|(repr, edits)| {
                let mut bytes = emit(&Repr { payload_len: repr.payload_len % 64, ..repr });
                bytes.truncate(100);
                mutate(bytes, &edits)
            }),
        ],
    ) {
        check_against_oracles(&bytes)?;
    }

    /// (c) Every truncation of a valid packet is `Truncated`, never a panic.
    #[test]
    fn every_truncation_is_truncated(repr in arb_repr()) {
        let bytes = emit(&Repr { payload_len: repr.payload_len % 64, ..repr });
        for len in 0..bytes.len() {
            prop_assert_eq!(parse(&bytes[..len]), Err(WireError::Truncated));
            check_against_oracles(&bytes[..len])?;
        }
        check_against_oracles(&bytes)?;
    }

    /// Chains etherparse builds walk to where etherparse's walk ends: the same upper-layer
    /// protocol at the same offset, or the same Fragment header with its data after it.
    #[test]
    fn chains_walk_to_where_etherparse_ends(
        chain in arb_extensions(),
        last in any::<u8>().prop_filter("an extension header etherparse reads", |n| {
            ![0, 43, 44, 51, 60].contains(n)
        }),
        upper in proptest::collection::vec(any::<u8>(), 0..24),
        multicast in any::<bool>(),
    ) {
        let mut exts = chain;
        let first = exts.set_next_headers(IpNumber(last));
        let mut bytes = Vec::new();
        exts.write(&mut bytes, first).unwrap();
        // A fragment with more to come carries a multiple of 8 bytes.
        let more = exts.fragment.as_ref().is_some_and(|f| f.more_fragments);
        let upper_len = if more { upper.len() / 8 * 8 } else { upper.len() };
        bytes.extend_from_slice(&upper[..upper_len]);

        let (_, ether_next, rest) = Ipv6Extensions::from_slice(first, &bytes).unwrap();
        let ether_offset = bytes.len() - rest.len();
        prop_assert_eq!(ether_offset, exts.header_len());
        let ours = walk(NextHeader::from(first.0), &bytes, multicast);
        match (exts.fragment.clone(), ours) {
            (Some(fragment), Ok(Chain::Fragment { header, offset })) => {
                // Our walk stops at the Fragment header; etherparse goes on to the final
                // Destination Options header, which RFC 8200 puts after it.
                let after = exts
                    .routing
                    .as_ref()
                    .and_then(|r| r.final_destination_options.as_ref())
                    .map_or(0, Ipv6RawExtHeader::header_len);
                prop_assert_eq!(offset, ether_offset - after);
                prop_assert_eq!(header.next_header, NextHeader::from(fragment.next_header.0));
                if after == 0 {
                    prop_assert_eq!(u8::from(header.next_header), ether_next.0);
                }
                prop_assert_eq!(header.offset, fragment.fragment_offset.byte_offset());
                prop_assert_eq!(header.more_fragments, fragment.more_fragments);
                prop_assert_eq!(header.ident, fragment.identification);
            }
            (None, Ok(Chain::Upper { protocol, offset })) => {
                prop_assert_eq!(offset, ether_offset);
                prop_assert_eq!(u8::from(protocol), ether_next.0);
            }
            (None, Err(Verdict::Drop(DropReason::NoNextHeader))) => {
                prop_assert_eq!(ether_next.0, 59);
            }
            (_, other) => prop_assert!(false, "walk gave {:?} for {:?}", other, exts),
        }
    }

    /// Options with any types: the walk's verdict is the action smoltcp's option reader and
    /// its `FailureType` give the first option that matters.
    #[test]
    fn option_verdicts_follow_smoltcp(
        options in proptest::collection::vec(arb_option(), 0..6),
        hop_by_hop in any::<bool>(),
        multicast in any::<bool>(),
        cut in any::<Option<u8>>(),
    ) {
        let mut body: Vec<u8> = options.concat();
        pad_options(&mut body);
        if let Some(cut) = cut {
            // An option cut short by its header's end: overwrite a length byte.
            if body.len() > 1 {
                let at = usize::from(cut) % (body.len() - 1);
                if body[at] > 1 {
                    body[at + 1] = body[at + 1].saturating_add(body.len() as u8);
                }
            }
        }
        let header = Ipv6RawExtHeader::new_raw(IpNumber::UDP, &body).unwrap();
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(b"udp");
        let first = if hop_by_hop { NextHeader::HopByHop } else { NextHeader::DestinationOptions };
        let ours = walk(first, &bytes, multicast);
        let expected = expected_options_verdict(&body, multicast).map(|()| Chain::Upper {
            protocol: IpProtocol::Udp,
            offset: bytes.len() - 3,
        });
        prop_assert_eq!(ours, expected);
    }
}

/// The verdict for an options header whose options are `body` (starting 2 bytes into the
/// payload), read with smoltcp's option view and failure types.
fn expected_options_verdict(body: &[u8], multicast: bool) -> Result<(), Verdict> {
    let mut at = 0;
    while at < body.len() {
        let Ok(option) = Ipv6Option::new_checked(&body[at..]) else {
            return Err(Verdict::Drop(DropReason::BadOption));
        };
        let kind = option.option_type();
        let len = match kind {
            Ipv6OptionType::Pad1 => 1,
            _ => 2 + usize::from(option.data_len()),
        };
        if !matches!(kind, Ipv6OptionType::Pad1 | Ipv6OptionType::PadN) {
            let problem = Verdict::ParameterProblem {
                code: ParamProblemCode::UnrecognizedOption,
                pointer: (HEADER_LEN + 2 + at) as u32,
                reason: DropReason::UnknownOption,
            };
            match Ipv6OptionFailureType::from(kind) {
                Ipv6OptionFailureType::Skip => {}
                Ipv6OptionFailureType::Discard => {
                    return Err(Verdict::Drop(DropReason::UnknownOption))
                }
                Ipv6OptionFailureType::DiscardSendAll => return Err(problem),
                Ipv6OptionFailureType::DiscardSendUnicast if multicast => {
                    return Err(Verdict::Drop(DropReason::UnknownOption))
                }
                Ipv6OptionFailureType::DiscardSendUnicast => return Err(problem),
            }
        }
        at += len;
    }
    Ok(())
}

/// One option: Pad1, PadN, or any type with up to 8 bytes of data.
fn arb_option() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(vec![0u8]),
        1 => (0u8..6).prop_map(|n| {
            let mut option = vec![1, n];
            option.resize(2 + usize::from(n), 0);
            option
        }),
        3 => (2u8..=255, proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(kind, data)| {
            let mut option = vec![kind, data.len() as u8];
            option.extend_from_slice(&data);
            option
        }),
    ]
}

/// Pads options so that the header is a whole number of 8-byte units (at least one).
fn pad_options(body: &mut Vec<u8>) {
    let target = (body.len() + 2).div_ceil(8).max(1) * 8 - 2;
    match target - body.len() {
        0 => {}
        1 => body.push(0),
        n => {
            body.push(1);
            body.push((n - 2) as u8);
            body.resize(target, 0);
        }
    }
}

/// An options header holding only skippable options (padding and types `00xxxxxx`).
fn arb_skippable_options_header() -> impl Strategy<Value = Ipv6RawExtHeader> {
    proptest::collection::vec(
        prop_oneof![arb_option().prop_filter("skippable", |o| o[0] >> 6 == 0),],
        0..4,
    )
    .prop_map(|options| {
        let mut body = options.concat();
        pad_options(&mut body);
        Ipv6RawExtHeader::new_raw(IpNumber::UDP, &body).unwrap()
    })
}

/// A Routing header of any type with no segments left, and 0 to 3 units of data.
fn arb_routing_header() -> impl Strategy<Value = Ipv6RawExtHeader> {
    (any::<u8>(), 0usize..4, any::<u8>()).prop_map(|(kind, units, fill)| {
        let mut body = vec![kind, 0];
        body.resize(6 + 8 * units, fill);
        Ipv6RawExtHeader::new_raw(IpNumber::UDP, &body).unwrap()
    })
}

/// A Fragment header whose offset leaves room for its data within 65,535 bytes.
fn arb_fragment_header() -> impl Strategy<Value = Ipv6FragmentHeader> {
    (0u16..8000, any::<bool>(), any::<u32>()).prop_map(|(units, more, ident)| {
        Ipv6FragmentHeader::new(
            IpNumber::UDP,
            IpFragOffset::try_new(units).unwrap(),
            more,
            ident,
        )
    })
}

/// Extension headers in etherparse's (RFC 8200's recommended) order, each there or not.
fn arb_extensions() -> impl Strategy<Value = Ipv6Extensions> {
    (
        proptest::option::of(arb_skippable_options_header()),
        proptest::option::of(arb_skippable_options_header()),
        proptest::option::of((
            arb_routing_header(),
            proptest::option::of(arb_skippable_options_header()),
        )),
        proptest::option::of(arb_fragment_header()),
    )
        .prop_map(
            |(hop_by_hop, destination, routing, fragment)| Ipv6Extensions {
                hop_by_hop_options: hop_by_hop,
                destination_options: destination,
                routing: routing.map(|(routing, final_destination_options)| {
                    Ipv6RoutingExtensions {
                        routing,
                        final_destination_options,
                    }
                }),
                fragment,
                auth: None,
            },
        )
}

/// Our checks and parse on `bytes` against smoltcp's and etherparse's.
fn check_against_oracles(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = parse(bytes);
    // smoltcp's `check_len` does not look at the version; its `Repr::parse` does.
    let smol = Ipv6Packet::new_checked(bytes)
        .ok()
        .and_then(|packet| Ipv6Repr::parse(&packet).ok());
    prop_assert_eq!(
        ours.is_ok(),
        smol.is_some(),
        "smoltcp disagrees on {:?}",
        bytes
    );
    // etherparse's header slice checks the 40 bytes; the payload must fit too. (Its
    // `Ipv6Slice` would read Payload Length 0 as a jumbogram taking the rest of the buffer.)
    let ether = Ipv6HeaderSlice::from_slice(bytes);
    let ether_ok = ether
        .as_ref()
        .is_ok_and(|header| HEADER_LEN + usize::from(header.payload_length()) <= bytes.len());
    prop_assert_eq!(
        ours.is_ok(),
        ether_ok,
        "etherparse disagrees on {:?}",
        bytes
    );
    if bytes.len() >= HEADER_LEN {
        let ether_bad_version = matches!(
            ether,
            Err(HeaderSliceError::Content(
                HeaderError::UnexpectedVersion { .. }
            ))
        );
        prop_assert_eq!(ours == Err(WireError::BadVersion), ether_bad_version);
    }
    if let (Ok(repr), Some(smol)) = (ours, smol) {
        prop_assert_eq!(smol, smol_repr(&repr));
        let packet = Packet::new_checked(bytes).unwrap();
        prop_assert_eq!(packet.payload().len(), repr.payload_len);
        let walked = walk(
            repr.next_header,
            packet.payload(),
            repr.dst_addr.is_multicast(),
        );
        if let Ok(chain) = walked {
            prop_assert!(chain.offset() <= repr.payload_len);
        }
    }
    Ok(())
}

/// Our `Repr` as etherparse's header.
fn ether_header(repr: &Repr) -> Ipv6Header {
    Ipv6Header {
        traffic_class: repr.traffic_class,
        flow_label: Ipv6FlowLabel::try_new(repr.flow_label).unwrap(),
        payload_length: repr.payload_len as u16,
        next_header: IpNumber(u8::from(repr.next_header)),
        hop_limit: repr.hop_limit,
        source: repr.src_addr.octets(),
        destination: repr.dst_addr.octets(),
    }
}

/// Our `Repr` as smoltcp's (which has no traffic class or flow label).
fn smol_repr(repr: &Repr) -> Ipv6Repr {
    Ipv6Repr {
        src_addr: repr.src_addr,
        dst_addr: repr.dst_addr,
        next_header: SmolProtocol::from(u8::from(repr.next_header)),
        payload_len: repr.payload_len,
        hop_limit: repr.hop_limit,
    }
}

/// A fixed example, so a reader sees one packet all three parsers agree on: an ICMPv6 echo
/// request behind a Hop-by-Hop header with a Router Alert option.
#[test]
fn an_echo_request_reads_the_same_in_all_three() {
    let mut exts = Ipv6Extensions {
        hop_by_hop_options: Some(
            Ipv6RawExtHeader::new_raw(IpNumber::IPV6_ICMP, &[5, 2, 0, 0, 1, 0]).unwrap(),
        ),
        ..Default::default()
    };
    let first = exts.set_next_headers(IpNumber::IPV6_ICMP);
    let mut chain = Vec::new();
    exts.write(&mut chain, first).unwrap();
    chain.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
    let repr = Repr {
        src_addr: "fd00:77::1".parse().unwrap(),
        dst_addr: "fd00:77::2".parse().unwrap(),
        next_header: NextHeader::HopByHop,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0xbeef,
        payload_len: chain.len(),
    };
    let mut bytes = vec![0u8; HEADER_LEN];
    repr.emit(&mut bytes);
    bytes.extend_from_slice(&chain);

    let ether = Ipv6HeaderSlice::from_slice(&bytes).unwrap();
    assert_eq!(ether.next_header(), IpNumber::IPV6_HEADER_HOP_BY_HOP);
    let smol = Ipv6Repr::parse(&Ipv6Packet::new_checked(&bytes[..]).unwrap()).unwrap();
    assert_eq!(smol.next_header, SmolProtocol::HopByHop);
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&packet), repr);
    assert_eq!(
        walk(packet.next_header(), packet.payload(), false),
        Ok(Chain::Upper {
            protocol: IpProtocol::Icmpv6,
            offset: 8
        })
    );
}
