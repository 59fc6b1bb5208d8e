//! The Ethernet II codec (`tunstack::link::ethernet`) against etherparse and smoltcp::wire:
//!
//! - what we emit, they read back: both addresses, the EtherType and the payload;
//! - what they emit, we read back;
//! - arbitrary bytes and every truncation: no panic, and the same verdict as both (all three
//!   take any 14 bytes as a header, and none wants an FCS or a minimum length);
//! - MAC addresses: the same classification (broadcast, multicast, unicast, local) as
//!   smoltcp's, and its text form (`02-00-00-77-00-02`) parses to the same address.

mod common;

use common::{arb_edits, arb_mac, config, mutate, smol_mac};
use etherparse::{Ethernet2Header, Ethernet2HeaderSlice, Ethernet2Slice};
use proptest::prelude::*;
use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr};
use tunstack::link::ethernet::header::{Frame, Repr, HEADER_LEN};
use tunstack::link::ethernet::{EtherType, MacAddr};
use tunstack::wire::WireError;

/// EtherTypes: the three we name, a VLAN tag, IEEE 802.3 length values, and anything.
fn arb_ethertype() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0x0800u16),
        Just(0x0806),
        Just(0x86dd),
        Just(0x8100),
        0u16..=1500,
        any::<u16>(),
    ]
}

fn arb_repr() -> impl Strategy<Value = Repr> {
    (arb_mac(), arb_mac(), arb_ethertype()).prop_map(|(dst_addr, src_addr, ethertype)| Repr {
        dst_addr,
        src_addr,
        ethertype: EtherType::from(ethertype),
    })
}

/// Payloads: mostly short (below the 46 bytes a NIC would pad to), sometimes up to a full
/// 1500-byte MTU.
fn arb_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..=1500),
    ]
}

fn emit(repr: &Repr, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.buffer_len()];
    bytes.extend_from_slice(payload);
    repr.emit(&mut bytes);
    bytes
}

fn parse(bytes: &[u8]) -> Result<Repr, WireError> {
    Repr::parse(&Frame::new_checked(bytes)?)
}

fn smol_repr(repr: &Repr) -> EthernetRepr {
    EthernetRepr {
        src_addr: smol_mac(repr.src_addr),
        dst_addr: smol_mac(repr.dst_addr),
        ethertype: EthernetProtocol::from(u16::from(repr.ethertype)),
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: its header slice, its owned header, and the payload of its
    /// frame slice (read without FCS, as a TAP device gives frames).
    #[test]
    fn etherparse_reads_what_we_emit(repr in arb_repr(), payload in arb_payload()) {
        let bytes = emit(&repr, &payload);
        let slice = Ethernet2HeaderSlice::from_slice(&bytes).unwrap();
        prop_assert_eq!(slice.destination(), repr.dst_addr.octets());
        prop_assert_eq!(slice.source(), repr.src_addr.octets());
        prop_assert_eq!(slice.ether_type().0, u16::from(repr.ethertype));
        let (header, rest) = Ethernet2Header::from_slice(&bytes).unwrap();
        prop_assert_eq!(header, slice.to_header());
        prop_assert_eq!(rest, &payload[..]);
        let frame = Ethernet2Slice::from_slice_without_fcs(&bytes).unwrap();
        prop_assert_eq!(frame.payload().payload, &payload[..]);
    }

    /// (a) Ours → smoltcp: its `Frame` and its `Repr`.
    #[test]
    fn smoltcp_reads_what_we_emit(repr in arb_repr(), payload in arb_payload()) {
        let bytes = emit(&repr, &payload);
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&frame), Ok(smol_repr(&repr)));
        prop_assert_eq!(frame.payload(), &payload[..]);
    }

    /// (b) etherparse → ours: `Ethernet2Header::write`, then the payload.
    #[test]
    fn we_read_what_etherparse_emits(
        (dst, src, ethertype) in (arb_mac(), arb_mac(), arb_ethertype()),
        payload in arb_payload(),
    ) {
        let header = Ethernet2Header {
            source: src.octets(),
            destination: dst.octets(),
            ether_type: etherparse::EtherType(ethertype),
        };
        let mut bytes = Vec::new();
        header.write(&mut bytes).unwrap();
        prop_assert_eq!(&bytes[..], &header.to_bytes()[..]);
        bytes.extend_from_slice(&payload);
        let expected = Repr { dst_addr: dst, src_addr: src, ethertype: EtherType::from(ethertype) };
        prop_assert_eq!(parse(&bytes), Ok(expected));
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(frame.payload(), &payload[..]);
        prop_assert_eq!(u16::from(frame.ethertype()), ethertype);
    }

    /// (b) smoltcp → ours: `EthernetRepr::emit` into a frame, then the payload.
    #[test]
    fn we_read_what_smoltcp_emits(repr in arb_repr(), payload in arb_payload()) {
        let smol = smol_repr(&repr);
        let mut bytes = vec![0u8; smol.buffer_len() + payload.len()];
        let mut frame = EthernetFrame::new_unchecked(&mut bytes[..]);
        smol.emit(&mut frame);
        frame.payload_mut().copy_from_slice(&payload);
        prop_assert_eq!(parse(&bytes), Ok(repr));
        let ours = Frame::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(ours.payload(), &payload[..]);
    }

    /// (c) Arbitrary bytes and emitted frames with a few bytes overwritten: no panic, and the
    /// same verdict and fields as smoltcp and etherparse.
    #[test]
    fn arbitrary_bytes_agree_with_both(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            (arb_repr(), proptest::collection::vec(any::<u8>(), 0..32), arb_edits())
                .prop_map(|(repr, payload, edits)| mutate(emit(&repr, &payload), &edits)),
        ],
    ) {
        check_against_oracles(&bytes)?;
    }

    /// (c) Every truncation of a valid frame: below 14 bytes `Truncated`, as the others refuse
    /// it; from 14 bytes on, a frame with a shorter payload, as the others read it.
    #[test]
    fn every_truncation_agrees(repr in arb_repr(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let bytes = emit(&repr, &payload);
        for len in 0..=bytes.len() {
            let cut = &bytes[..len];
            if len < HEADER_LEN {
                prop_assert_eq!(Frame::new_checked(cut).err(), Some(WireError::Truncated));
            } else {
                prop_assert_eq!(parse(cut), Ok(repr));
            }
            check_against_oracles(cut)?;
        }
    }

    /// MAC addresses: our classification is smoltcp's, and its text form (dash-separated)
    /// parses back to the same address, as ours (colon-separated) does.
    #[test]
    fn mac_addresses_agree_with_smoltcp(mac in arb_mac()) {
        let smol = smol_mac(mac);
        prop_assert_eq!(mac.is_broadcast(), smol.is_broadcast());
        prop_assert_eq!(mac.is_multicast(), smol.is_multicast());
        prop_assert_eq!(mac.is_unicast(), smol.is_unicast());
        prop_assert_eq!(mac.is_locally_administered(), smol.is_local());
        prop_assert_eq!(smol.to_string().parse::<MacAddr>(), Ok(mac));
        prop_assert_eq!(mac.to_string().replace(':', "-"), smol.to_string());
    }
}

/// Our check and parse of `bytes` against smoltcp's `Frame`/`Repr` and etherparse's header
/// and frame slices: the same verdict, and the same fields when all accept.
fn check_against_oracles(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = Frame::new_checked(bytes);
    let smol = EthernetFrame::new_checked(bytes);
    let ether = Ethernet2HeaderSlice::from_slice(bytes);
    let ether_frame = Ethernet2Slice::from_slice_without_fcs(bytes);
    prop_assert_eq!(ours.is_ok(), smol.is_ok());
    prop_assert_eq!(ours.is_ok(), ether.is_ok());
    prop_assert_eq!(ours.is_ok(), ether_frame.is_ok());
    let (Ok(frame), Ok(smol), Ok(ether), Ok(ether_frame)) = (ours, smol, ether, ether_frame) else {
        return Ok(());
    };
    prop_assert_eq!(smol_mac(frame.dst_addr()), smol.dst_addr());
    prop_assert_eq!(smol_mac(frame.src_addr()), smol.src_addr());
    prop_assert_eq!(u16::from(frame.ethertype()), u16::from(smol.ethertype()));
    prop_assert_eq!(frame.payload(), smol.payload());
    prop_assert_eq!(frame.dst_addr().octets(), ether.destination());
    prop_assert_eq!(frame.src_addr().octets(), ether.source());
    prop_assert_eq!(u16::from(frame.ethertype()), ether.ether_type().0);
    prop_assert_eq!(frame.payload(), ether_frame.payload().payload);
    let repr = Repr::parse(&frame);
    let smol_parsed = EthernetRepr::parse(&smol);
    prop_assert_eq!(repr.is_ok(), smol_parsed.is_ok());
    if let (Ok(repr), Ok(smol_parsed)) = (repr, smol_parsed) {
        prop_assert_eq!(smol_repr(&repr), smol_parsed);
        let _ = repr.to_string();
    }
    Ok(())
}

/// An ARP request as Linux sent it on a veth pair (captured with tcpdump), read by all three.
#[test]
fn a_captured_frame_reads_the_same_in_all_three() {
    let bytes: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x01,
    ];
    let ours = MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x02]);
    let repr = Repr {
        dst_addr: MacAddr::BROADCAST,
        src_addr: ours,
        ethertype: EtherType::Arp,
    };
    assert_eq!(parse(&bytes), Ok(repr));
    assert_eq!(emit(&repr, &bytes[HEADER_LEN..]), bytes);
    let smol = EthernetRepr::parse(&EthernetFrame::new_checked(&bytes[..]).unwrap());
    assert_eq!(
        smol,
        Ok(EthernetRepr {
            src_addr: EthernetAddress(ours.octets()),
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EthernetProtocol::Arp,
        })
    );
    let ether = Ethernet2HeaderSlice::from_slice(&bytes).unwrap();
    assert_eq!(ether.ether_type(), etherparse::EtherType::ARP);
    assert_eq!(ether.destination(), [0xff; 6]);
    assert_eq!(ether.source(), ours.octets());
}

/// The EtherTypes we name have the values the others give them.
#[test]
fn ethertype_values_agree() {
    for (ours, smol, ether) in [
        (
            EtherType::Ipv4,
            EthernetProtocol::Ipv4,
            etherparse::EtherType::IPV4,
        ),
        (
            EtherType::Arp,
            EthernetProtocol::Arp,
            etherparse::EtherType::ARP,
        ),
        (
            EtherType::Ipv6,
            EthernetProtocol::Ipv6,
            etherparse::EtherType::IPV6,
        ),
    ] {
        assert_eq!(u16::from(ours), u16::from(smol));
        assert_eq!(u16::from(ours), ether.0);
        assert_eq!(EtherType::from(ether.0), ours);
        assert_eq!(ours.to_string(), smol.to_string());
    }
    let vlan = EtherType::from(0x8100);
    assert_eq!(vlan, EtherType::Unknown(0x8100));
    assert_eq!(vlan.to_string(), EthernetProtocol::from(0x8100).to_string());
}
