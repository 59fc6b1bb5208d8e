//! The ARP codec (`tunstack::link::arp`) against etherparse and smoltcp::wire:
//!
//! - what we emit, they read back: as an ARP packet, and inside an Ethernet frame;
//! - what they emit, we read back (etherparse's any-length `ArpPacket` too, in our view);
//! - arbitrary bytes, packets with a few bytes changed, and every truncation: no panic, and
//!   the same verdict as both.
//!
//! One deliberate difference: smoltcp's `ArpRepr::parse` takes any operation (a RARP request,
//! 3, comes out as `Operation::Unknown(3)`), and our `Repr::parse` refuses all but request
//! and reply as `Unsupported`. RFC 826 defines only those two, and Linux drops the others too
//! (`arp_process` in net/ipv4/arp.c: "Understand only these message types"), so an unknown
//! operation neither gets an answer nor updates the neighbour cache. `check_against_oracles`
//! checks exactly that difference and no other.

mod common;

use std::net::Ipv4Addr;

use common::{arb_addr, arb_edits, arb_mac, config, mutate, smol_mac};
use etherparse::{
    ArpEthIpv4Packet, ArpHardwareId, ArpOperation as EtherOp, ArpPacket as EtherArp,
    ArpPacketSlice, NetSlice, SlicedPacket,
};
use proptest::prelude::*;
use smoltcp::wire::{ArpOperation as SmolOp, ArpPacket, ArpRepr, EthernetAddress};
use tunstack::link::arp::header::{Packet, Repr, HARDWARE_ETHERNET, HEADER_LEN};
use tunstack::link::arp::Operation;
use tunstack::link::ethernet::{self, EtherType, MacAddr};
use tunstack::wire::WireError;

fn arb_operation() -> impl Strategy<Value = Operation> {
    prop_oneof![Just(Operation::Request), Just(Operation::Reply)]
}

/// ARP packets for IPv4 over Ethernet, with the sender's and target's IP address the same
/// (a gratuitous ARP) now and then.
fn arb_repr() -> impl Strategy<Value = Repr> {
    (
        arb_operation(),
        (arb_mac(), arb_addr()),
        (arb_mac(), arb_addr()),
        any::<bool>(),
    )
        .prop_map(
            |(operation, (sender_mac, sender_ip), (target_mac, target_ip), gratuitous)| Repr {
                operation,
                sender_mac,
                sender_ip,
                target_mac,
                target_ip: if gratuitous { sender_ip } else { target_ip },
            },
        )
}

/// Bytes after the packet, as a NIC's padding leaves them (zeros) or anything else.
fn arb_padding() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(vec![0u8; 46 - HEADER_LEN]),
        proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

fn emit(repr: &Repr) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(&mut bytes);
    bytes
}

fn parse(bytes: &[u8]) -> Result<Repr, WireError> {
    Repr::parse(&Packet::new_checked(bytes)?)
}

fn smol_op(operation: Operation) -> SmolOp {
    SmolOp::from(u16::from(operation))
}

fn smol_repr(repr: &Repr) -> ArpRepr {
    ArpRepr::EthernetIpv4 {
        operation: smol_op(repr.operation),
        source_hardware_addr: smol_mac(repr.sender_mac),
        source_protocol_addr: repr.sender_ip,
        target_hardware_addr: smol_mac(repr.target_mac),
        target_protocol_addr: repr.target_ip,
    }
}

fn ether_repr(repr: &Repr) -> ArpEthIpv4Packet {
    ArpEthIpv4Packet {
        operation: EtherOp(u16::from(repr.operation)),
        sender_mac: repr.sender_mac.octets(),
        sender_ipv4: repr.sender_ip.octets(),
        target_mac: repr.target_mac.octets(),
        target_ipv4: repr.target_ip.octets(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: its slice's fields, its Ethernet/IPv4 form, and the same packet
    /// found by slicing a whole frame (padding and all) from the Ethernet header down.
    #[test]
    fn etherparse_reads_what_we_emit(repr in arb_repr(), padding in arb_padding()) {
        let bytes = emit(&repr);
        let slice = ArpPacketSlice::from_slice(&bytes).unwrap();
        prop_assert_eq!(slice.hw_addr_type(), ArpHardwareId::ETHERNET);
        prop_assert_eq!(slice.proto_addr_type(), etherparse::EtherType::IPV4);
        prop_assert_eq!((slice.hw_addr_size(), slice.proto_addr_size()), (6, 4));
        prop_assert_eq!(slice.operation(), EtherOp(u16::from(repr.operation)));
        prop_assert_eq!(slice.sender_hw_addr(), &repr.sender_mac.octets()[..]);
        prop_assert_eq!(slice.sender_protocol_addr(), &repr.sender_ip.octets()[..]);
        prop_assert_eq!(slice.target_hw_addr(), &repr.target_mac.octets()[..]);
        prop_assert_eq!(slice.target_protocol_addr(), &repr.target_ip.octets()[..]);
        prop_assert_eq!(slice.to_packet().try_eth_ipv4(), Ok(ether_repr(&repr)));

        let frame = in_frame(&repr, &padding);
        let sliced = SlicedPacket::from_ethernet(&frame).unwrap();
        let Some(NetSlice::Arp(arp)) = sliced.net else {
            return Err(TestCaseError::fail("etherparse found no ARP packet in the frame"));
        };
        prop_assert_eq!(arp.slice(), &bytes[..], "the padding is not part of the packet");
    }

    /// (a) Ours → smoltcp: its `Packet` and its `Repr`.
    #[test]
    fn smoltcp_reads_what_we_emit(repr in arb_repr(), padding in arb_padding()) {
        let mut bytes = emit(&repr);
        bytes.extend_from_slice(&padding);
        let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(ArpRepr::parse(&packet), Ok(smol_repr(&repr)));
    }

    /// (b) etherparse → ours: `ArpEthIpv4Packet::to_bytes`, and the same packet built as a
    /// general `ArpPacket` and written, with padding after it.
    #[test]
    fn we_read_what_etherparse_emits(repr in arb_repr(), padding in arb_padding()) {
        let ether = ether_repr(&repr);
        let mut bytes = ether.to_bytes().to_vec();
        prop_assert_eq!(parse(&bytes), Ok(repr));
        let general = EtherArp::from(ether);
        let mut written = Vec::new();
        general.write(&mut written).unwrap();
        prop_assert_eq!(&written, &bytes);
        bytes.extend_from_slice(&padding);
        prop_assert_eq!(parse(&bytes), Ok(repr));
    }

    /// (b) etherparse → ours, any hardware and protocol: an `ArpPacket` with any types,
    /// address lengths and operation reads the same in our view, and our `Repr` takes it
    /// exactly when etherparse's Ethernet/IPv4 form does and the operation is 1 or 2.
    #[test]
    fn our_view_reads_any_etherparse_packet(
        (htype, ptype, oper) in (
            prop_oneof![Just(1u16), Just(6), any::<u16>()],
            prop_oneof![Just(0x0800u16), Just(0x86dd), any::<u16>()],
            prop_oneof![Just(1u16), Just(2), any::<u16>()],
        ),
        (hlen, plen) in prop_oneof![Just((6usize, 4usize)), (0usize..=20, 0usize..=20)],
        seed in any::<u8>(),
    ) {
        let addr = |len: usize, k: u8| -> Vec<u8> {
            (0..len).map(|i| seed.wrapping_mul(k).wrapping_add(i as u8)).collect()
        };
        let (sha, spa, tha, tpa) = (addr(hlen, 1), addr(plen, 3), addr(hlen, 5), addr(plen, 7));
        let ether = EtherArp::new(
            ArpHardwareId(htype),
            etherparse::EtherType(ptype),
            EtherOp(oper),
            &sha, &spa, &tha, &tpa,
        ).unwrap();
        let bytes = ether.to_bytes();
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(packet.hardware_type(), htype);
        prop_assert_eq!(u16::from(packet.protocol_type()), ptype);
        prop_assert_eq!(usize::from(packet.hardware_len()), hlen);
        prop_assert_eq!(usize::from(packet.protocol_len()), plen);
        prop_assert_eq!(u16::from(packet.operation()), oper);
        prop_assert_eq!(packet.sender_hardware_addr(), &sha[..]);
        prop_assert_eq!(packet.sender_protocol_addr(), &spa[..]);
        prop_assert_eq!(packet.target_hardware_addr(), &tha[..]);
        prop_assert_eq!(packet.target_protocol_addr(), &tpa[..]);
        prop_assert_eq!(packet.packet_len(), bytes.len());
        let expected = match ether.try_eth_ipv4() {
            Ok(_) if oper == 1 || oper == 2 => Ok(()),
            _ => Err(WireError::Unsupported),
        };
        prop_assert_eq!(Repr::parse(&packet).map(|_| ()), expected);
    }

    /// (b) smoltcp → ours: `ArpRepr::emit`.
    #[test]
    fn we_read_what_smoltcp_emits(repr in arb_repr(), padding in arb_padding()) {
        let smol = smol_repr(&repr);
        let mut bytes = vec![0u8; smol.buffer_len()];
        smol.emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
        prop_assert_eq!(&bytes, &emit(&repr));
        bytes.extend_from_slice(&padding);
        prop_assert_eq!(parse(&bytes), Ok(repr));
    }

    /// (c) Arbitrary bytes, valid packets with a few bytes overwritten (which reaches the
    /// type, length and operation checks), and valid fixed parts with arbitrary addresses: no
    /// panic, and the same verdict as smoltcp and etherparse.
    #[test]
    fn arbitrary_bytes_agree_with_both(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            (arb_repr(), arb_padding(), arb_edits()).prop_map(|(repr, padding, edits)| {
                let mut bytes = emit(&repr);
                bytes.extend_from_slice(&padding);
                mutate(bytes, &edits)
            }),
            (arb_repr(), 0u8..=8, 0u8..=8, proptest::collection::vec(any::<u8>(), 0..40))
                .prop_map(|(repr, hlen, plen, addrs)| {
                    let mut bytes = emit(&repr)[..8].to_vec();
                    bytes[4] = hlen;
                    bytes[5] = plen;
                    bytes.extend_from_slice(&addrs);
                    bytes
                }),
        ],
    ) {
        check_against_oracles(&bytes)?;
    }

    /// (c) Every truncation of a valid packet is `Truncated`, as both others refuse it.
    #[test]
    fn every_truncation_is_truncated(repr in arb_repr()) {
        let bytes = emit(&repr);
        prop_assert_eq!(parse(&bytes), Ok(repr));
        for len in 0..bytes.len() {
            prop_assert_eq!(parse(&bytes[..len]), Err(WireError::Truncated));
            check_against_oracles(&bytes[..len])?;
        }
    }
}

/// `repr` in an Ethernet frame from its sender (a request to broadcast, a reply to the
/// target), with `padding` after it.
fn in_frame(repr: &Repr, padding: &[u8]) -> Vec<u8> {
    let header = ethernet::header::Repr {
        dst_addr: match repr.operation {
            Operation::Request => MacAddr::BROADCAST,
            _ => repr.target_mac,
        },
        src_addr: repr.sender_mac,
        ethertype: EtherType::Arp,
    };
    let mut frame = vec![0u8; header.buffer_len() + repr.buffer_len()];
    header.emit(&mut frame);
    repr.emit(&mut frame[header.buffer_len()..]);
    frame.extend_from_slice(padding);
    frame
}

/// Our check and parse of `bytes` against smoltcp's `Packet`/`Repr` and etherparse's
/// `ArpPacketSlice`/`try_eth_ipv4`: the same verdict (but for unknown operations, see the top
/// of this file) and the same fields.
fn check_against_oracles(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = Packet::new_checked(bytes);
    let smol = ArpPacket::new_checked(bytes);
    let ether = ArpPacketSlice::from_slice(bytes);
    prop_assert_eq!(ours.is_ok(), smol.is_ok());
    prop_assert_eq!(ours.is_ok(), ether.is_ok());
    let (Ok(packet), Ok(smol), Ok(ether)) = (ours, smol, ether) else {
        prop_assert_eq!(parse(bytes), Err(WireError::Truncated));
        return Ok(());
    };
    prop_assert_eq!(packet.hardware_type(), u16::from(smol.hardware_type()));
    prop_assert_eq!(packet.hardware_type(), ether.hw_addr_type().0);
    prop_assert_eq!(
        u16::from(packet.protocol_type()),
        u16::from(smol.protocol_type())
    );
    prop_assert_eq!(u16::from(packet.protocol_type()), ether.proto_addr_type().0);
    prop_assert_eq!(packet.hardware_len(), smol.hardware_len());
    prop_assert_eq!(packet.protocol_len(), ether.proto_addr_size());
    prop_assert_eq!(u16::from(packet.operation()), u16::from(smol.operation()));
    prop_assert_eq!(u16::from(packet.operation()), ether.operation().0);
    prop_assert_eq!(packet.sender_hardware_addr(), smol.source_hardware_addr());
    prop_assert_eq!(packet.sender_protocol_addr(), smol.source_protocol_addr());
    prop_assert_eq!(packet.target_hardware_addr(), smol.target_hardware_addr());
    prop_assert_eq!(packet.target_protocol_addr(), smol.target_protocol_addr());
    prop_assert_eq!(packet.sender_hardware_addr(), ether.sender_hw_addr());
    prop_assert_eq!(packet.target_protocol_addr(), ether.target_protocol_addr());
    prop_assert_eq!(packet.packet_len(), ether.slice().len());

    let parsed = Repr::parse(&packet);
    let smol_parsed = ArpRepr::parse(&smol);
    let ether_parsed = ether.to_packet().try_eth_ipv4();
    prop_assert_eq!(smol_parsed.is_ok(), ether_parsed.is_ok());
    let known_operation = matches!(packet.operation(), Operation::Request | Operation::Reply);
    prop_assert_eq!(parsed.is_ok(), smol_parsed.is_ok() && known_operation);
    if parsed.is_err() {
        prop_assert_eq!(parsed, Err(WireError::Unsupported));
        return Ok(());
    }
    if let (Ok(repr), Ok(smol_parsed), Ok(ether_parsed)) = (parsed, smol_parsed, ether_parsed) {
        prop_assert_eq!(smol_repr(&repr), smol_parsed);
        prop_assert_eq!(ether_repr(&repr), ether_parsed);
        prop_assert_eq!(&emit(&repr)[..], &bytes[..HEADER_LEN]);
        let _ = repr.to_string();
    }
    Ok(())
}

/// An ARP request and its reply as Linux sent them on a veth pair (captured with tcpdump,
/// whole 42-byte frames), read by all three, and our emit gives the same bytes.
#[test]
fn a_captured_exchange_reads_the_same_in_all_three() {
    const REQUEST: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x01,
    ];
    const REPLY: [u8; 42] = [
        0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x02, 0x00, 0x00, 0x77, 0x00, 0x01, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x77, 0x00, 0x01, 0x0a, 0x4d,
        0x00, 0x01, 0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d, 0x00, 0x02,
    ];
    let asker = MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x02]);
    let owner = MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x01]);
    let request = Repr {
        operation: Operation::Request,
        sender_mac: asker,
        sender_ip: Ipv4Addr::new(10, 77, 0, 2),
        target_mac: MacAddr::UNSPECIFIED,
        target_ip: Ipv4Addr::new(10, 77, 0, 1),
    };
    let reply = Repr {
        operation: Operation::Reply,
        sender_mac: owner,
        sender_ip: Ipv4Addr::new(10, 77, 0, 1),
        target_mac: asker,
        target_ip: Ipv4Addr::new(10, 77, 0, 2),
    };
    for (frame, repr, text) in [
        (REQUEST, request, "who has 10.77.0.1? tell 10.77.0.2"),
        (REPLY, reply, "10.77.0.1 is at 02:00:00:77:00:01"),
    ] {
        let arp = &frame[ethernet::header::HEADER_LEN..];
        assert_eq!(parse(arp), Ok(repr));
        assert_eq!(repr.to_string(), text);
        assert_eq!(in_frame(&repr, &[]), frame);
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(arp).unwrap()),
            Ok(smol_repr(&repr))
        );
        let sliced = SlicedPacket::from_ethernet(&frame).unwrap();
        let Some(NetSlice::Arp(slice)) = sliced.net else {
            panic!("etherparse found no ARP packet");
        };
        assert_eq!(slice.to_packet().try_eth_ipv4(), Ok(ether_repr(&repr)));
    }
    assert_eq!(smol_mac(asker), EthernetAddress([2, 0, 0, 0x77, 0, 2]));
    assert_eq!(HARDWARE_ETHERNET, ArpHardwareId::ETHERNET.0);
}

/// The one deliberate difference, shown: smoltcp reads a RARP request (operation 3) as ARP
/// with an unknown operation; we refuse it, as Linux does.
#[test]
fn an_unknown_operation_is_refused_where_smoltcp_reads_it() {
    let repr = Repr {
        operation: Operation::Unknown(3),
        sender_mac: MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x02]),
        sender_ip: Ipv4Addr::UNSPECIFIED,
        target_mac: MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x02]),
        target_ip: Ipv4Addr::UNSPECIFIED,
    };
    let bytes = emit(&repr);
    assert_eq!(parse(&bytes), Err(WireError::Unsupported));
    let smol = ArpRepr::parse(&ArpPacket::new_checked(&bytes[..]).unwrap());
    assert_eq!(smol, Ok(smol_repr(&repr)));
    assert!(matches!(
        smol,
        Ok(ArpRepr::EthernetIpv4 {
            operation: SmolOp::Unknown(3),
            ..
        })
    ));
}
