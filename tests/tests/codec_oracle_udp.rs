//! The UDP header codec (`tunstack::udp::header`) against etherparse and smoltcp::wire:
//!
//! - what we emit, they read back, with the checksum they compute over the pseudo-header;
//! - what they emit (with a checksum, and etherparse's without one), we read back;
//! - arbitrary bytes and every truncation: no panic, and the same verdict as smoltcp.

mod common;

use std::net::Ipv4Addr;

use common::{arb_addr, arb_edits, config, mutate, smol_addr};
use etherparse::{UdpHeader, UdpHeaderSlice};
use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{UdpPacket, UdpRepr};
use tunstack::udp::header::{Packet, Repr, HEADER_LEN};
use tunstack::wire::WireError;

/// Payloads: mostly short, sometimes up to the largest a datagram can carry.
fn arb_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => (0usize..=usize::from(u16::MAX) - HEADER_LEN, any::<u8>())
            .prop_map(|(len, seed)| (0..len).map(|i| seed.wrapping_add(i as u8)).collect()),
    ]
}

/// Ports, with 0 drawn often: it is legal as a source ("no reply expected").
fn arb_port() -> impl Strategy<Value = u16> {
    prop_oneof![Just(0u16), any::<u16>()]
}

fn emit(repr: &Repr, payload: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.buffer_len()];
    bytes[HEADER_LEN..].copy_from_slice(payload);
    repr.emit(&mut bytes, src, dst);
    bytes
}

fn parse(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<Repr, WireError> {
    Repr::parse(&Packet::new_checked(bytes)?, src, dst)
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: ports, Length, and the checksum etherparse computes.
    #[test]
    fn etherparse_reads_what_we_emit(
        (src_port, dst_port) in (arb_port(), arb_port()),
        (src, dst) in (arb_addr(), arb_addr()),
        payload in arb_payload(),
    ) {
        let repr = Repr { src_port, dst_port, payload_len: payload.len() };
        let bytes = emit(&repr, &payload, src, dst);
        let header = UdpHeaderSlice::from_slice(&bytes).unwrap();
        prop_assert_eq!(header.source_port(), src_port);
        prop_assert_eq!(header.destination_port(), dst_port);
        prop_assert_eq!(usize::from(header.length()), HEADER_LEN + payload.len());
        let expected = header
            .to_header()
            .calc_checksum_ipv4_raw(src.octets(), dst.octets(), &payload)
            .unwrap();
        prop_assert_eq!(header.checksum(), expected);
        prop_assert_ne!(header.checksum(), 0, "0 would mean no checksum");
    }

    /// (a) Ours → smoltcp: its `Packet`, its checksum check and its `Repr`. smoltcp's `Repr`
    /// refuses destination port 0, so the destination port is drawn from 1 up.
    #[test]
    fn smoltcp_reads_what_we_emit(
        (src_port, dst_port) in (arb_port(), 1u16..),
        (src, dst) in (arb_addr(), arb_addr()),
        payload in arb_payload(),
    ) {
        let repr = Repr { src_port, dst_port, payload_len: payload.len() };
        let bytes = emit(&repr, &payload, src, dst);
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert!(packet.verify_checksum(&smol_addr(src), &smol_addr(dst)));
        prop_assert_eq!(usize::from(packet.len()), HEADER_LEN + payload.len());
        prop_assert_eq!(packet.payload(), &payload[..]);
        let parsed = UdpRepr::parse(
            &packet,
            &smol_addr(src),
            &smol_addr(dst),
            &ChecksumCapabilities::default(),
        );
        prop_assert_eq!(parsed, Ok(UdpRepr { src_port, dst_port }));
    }

    /// (b) etherparse → ours: `UdpHeader::with_ipv4_checksum`, and `without_ipv4_checksum`
    /// (checksum 0, which RFC 768 allows over IPv4), with link padding after the datagram.
    #[test]
    fn we_read_what_etherparse_emits(
        (src_port, dst_port) in (arb_port(), arb_port()),
        (src, dst) in (arb_addr(), arb_addr()),
        payload in arb_payload(),
        with_checksum in any::<bool>(),
        padding in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let header = if with_checksum {
            let ip = etherparse::Ipv4Header {
                source: src.octets(),
                destination: dst.octets(),
                ..Default::default()
            };
            UdpHeader::with_ipv4_checksum(src_port, dst_port, &ip, &payload).unwrap()
        } else {
            UdpHeader::without_ipv4_checksum(src_port, dst_port, payload.len()).unwrap()
        };
        let mut bytes = Vec::new();
        header.write(&mut bytes).unwrap();
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&padding);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(packet.checksum(), header.checksum);
        prop_assert_eq!(packet.payload(), &payload[..]);
        let expected = Repr { src_port, dst_port, payload_len: payload.len() };
        prop_assert_eq!(Repr::parse(&packet, src, dst), Ok(expected));
        if with_checksum {
            prop_assert!(packet.verify_checksum(src, dst));
        }
    }

    /// (b) smoltcp → ours: `UdpRepr::emit` with its checksum.
    #[test]
    fn we_read_what_smoltcp_emits(
        (src_port, dst_port) in (arb_port(), arb_port()),
        (src, dst) in (arb_addr(), arb_addr()),
        payload in arb_payload(),
    ) {
        let smol = UdpRepr { src_port, dst_port };
        let mut bytes = vec![0u8; smol.header_len() + payload.len()];
        smol.emit(
            &mut UdpPacket::new_unchecked(&mut bytes[..]),
            &smol_addr(src),
            &smol_addr(dst),
            payload.len(),
            |buf| buf.copy_from_slice(&payload),
            &ChecksumCapabilities::default(),
        );
        let expected = Repr { src_port, dst_port, payload_len: payload.len() };
        prop_assert_eq!(parse(&bytes, src, dst), Ok(expected));
    }

    /// (c) Arbitrary bytes and emitted datagrams with a few bytes overwritten: no panic, and
    /// we accept exactly what smoltcp's length and checksum checks accept.
    #[test]
    fn arbitrary_bytes_agree_with_smoltcp(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            (any::<(u16, u16)>(), proptest::collection::vec(any::<u8>(), 0..32), arb_edits())
                .prop_map(|((src_port, dst_port), payload, edits)| {
                    let repr = Repr { src_port, dst_port, payload_len: payload.len() };
                    mutate(emit(&repr, &payload, SRC, DST), &edits)
                }),
        ],
    ) {
        check_against_smoltcp(&bytes)?;
    }

    /// (c) Every truncation of a valid datagram is `Truncated`, as smoltcp also refuses it.
    #[test]
    fn every_truncation_is_truncated(
        (src_port, dst_port) in any::<(u16, u16)>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let repr = Repr { src_port, dst_port, payload_len: payload.len() };
        let bytes = emit(&repr, &payload, SRC, DST);
        prop_assert_eq!(parse(&bytes, SRC, DST), Ok(repr));
        for len in 0..bytes.len() {
            prop_assert_eq!(Packet::new_checked(&bytes[..len]).err(), Some(WireError::Truncated));
            check_against_smoltcp(&bytes[..len])?;
        }
    }
}

/// The addresses the arbitrary-bytes checks use for the pseudo-header.
const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// Our check and parse of `bytes` against smoltcp's (its `Packet`: its `Repr` also refuses
/// destination port 0, which we accept and answer with port unreachable).
fn check_against_smoltcp(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = Packet::new_checked(bytes);
    let smol = UdpPacket::new_checked(bytes);
    prop_assert_eq!(ours.is_ok(), smol.is_ok());
    let (Ok(packet), Ok(smol)) = (ours, smol) else {
        return Ok(());
    };
    prop_assert_eq!(packet.src_port(), smol.src_port());
    prop_assert_eq!(packet.dst_port(), smol.dst_port());
    prop_assert_eq!(packet.len(), smol.len());
    prop_assert_eq!(packet.checksum(), smol.checksum());
    prop_assert_eq!(packet.payload(), smol.payload());
    let parsed = Repr::parse(&packet, SRC, DST);
    // smoltcp's check passes a checksum field of 0 too.
    prop_assert_eq!(
        parsed.is_ok(),
        smol.verify_checksum(&smol_addr(SRC), &smol_addr(DST))
    );
    if let Ok(repr) = parsed {
        prop_assert_eq!(repr.payload_len, smol.payload().len());
        let _ = repr.to_string();
    }
    Ok(())
}

/// The datagram of the UDP echo demo ("hello" to port 7), read by all three.
#[test]
fn an_echo_request_reads_the_same_in_all_three() {
    let repr = Repr {
        src_port: 54321,
        dst_port: 7,
        payload_len: 5,
    };
    let bytes = emit(&repr, b"hello", SRC, DST);
    let ether = UdpHeaderSlice::from_slice(&bytes).unwrap();
    assert_eq!((ether.source_port(), ether.destination_port()), (54321, 7));
    assert_eq!(ether.checksum(), 0xd32c);
    let smol = UdpRepr::parse(
        &UdpPacket::new_checked(&bytes[..]).unwrap(),
        &smol_addr(SRC),
        &smol_addr(DST),
        &ChecksumCapabilities::default(),
    );
    assert_eq!(
        smol,
        Ok(UdpRepr {
            src_port: 54321,
            dst_port: 7
        })
    );
    assert_eq!(parse(&bytes, SRC, DST), Ok(repr));
}
