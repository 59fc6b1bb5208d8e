//! The IPv4 header codec (`tunstack::ip::header`) against two independent implementations,
//! etherparse and smoltcp::wire:
//!
//! - what we emit, they read back field by field, and their checksum check passes;
//! - what they emit (options included, for etherparse), we read back field by field;
//! - arbitrary bytes and every truncation of a valid packet: our parser never panics, and it
//!   accepts exactly what smoltcp's length checks and etherparse's slicer accept.

mod common;

use std::net::Ipv4Addr;

use common::{arb_addr, arb_edits, config, mutate};
use etherparse::{
    IpDscp, IpEcn, IpFragOffset, IpNumber, Ipv4Header, Ipv4HeaderSlice, Ipv4Options, Ipv4Slice,
};
use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{IpProtocol as SmolProtocol, Ipv4Packet, Ipv4Repr};
use tunstack::ip::header::{parse_quoted, IpProtocol, Packet, Repr, HEADER_LEN};
use tunstack::wire::WireError;

/// IP protocol 51, the Authentication Header: etherparse's `Ipv4Slice` reads it as an
/// extension header inside the payload, so it is kept out of payload comparisons.
const AH: u8 = 51;

/// Payload lengths: mostly small, sometimes up to the largest a packet can carry.
fn arb_payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..64,
        1 => 0usize..=usize::from(u16::MAX) - HEADER_LEN,
    ]
}

/// Fragment offsets in 8-byte units; 0 often, because smoltcp only reads whole datagrams.
fn arb_fragment_units() -> impl Strategy<Value = u16> {
    prop_oneof![Just(0u16), 0u16..=0x1fff]
}

/// Any header our `Repr` can describe.
fn arb_repr() -> impl Strategy<Value = Repr> {
    (
        (arb_addr(), arb_addr(), any::<u8>()),
        (any::<u8>(), any::<u8>(), any::<u16>()),
        (any::<bool>(), any::<bool>(), arb_fragment_units()),
        arb_payload_len(),
    )
        .prop_map(
            |((src_addr, dst_addr, protocol), (ttl, tos, ident), (df, mf, units), len)| Repr {
                src_addr,
                dst_addr,
                protocol: IpProtocol::from(protocol),
                ttl,
                tos,
                ident,
                dont_fragment: df,
                more_fragments: mf,
                // The field counts 8-byte units; the Repr holds bytes.
                fragment_offset: units * 8,
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
    Repr::parse(&Packet::new_checked(bytes)?)
}

fn is_fragment(repr: &Repr) -> bool {
    repr.more_fragments || repr.fragment_offset != 0
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: every field, and the header checksum etherparse computes.
    #[test]
    fn etherparse_reads_what_we_emit(repr in arb_repr()) {
        let bytes = emit(&repr);
        let header = Ipv4HeaderSlice::from_slice(&bytes).unwrap();
        prop_assert_eq!(header.version(), 4);
        prop_assert_eq!(header.ihl(), 5);
        prop_assert!(header.options().is_empty());
        prop_assert_eq!((header.dcp().value() << 2) | header.ecn().value(), repr.tos);
        prop_assert_eq!(usize::from(header.total_len()), repr.total_len());
        prop_assert_eq!(usize::from(header.payload_len().unwrap()), repr.payload_len);
        prop_assert_eq!(header.identification(), repr.ident);
        prop_assert_eq!(header.dont_fragment(), repr.dont_fragment);
        prop_assert_eq!(header.more_fragments(), repr.more_fragments);
        prop_assert_eq!(header.fragments_offset().byte_offset(), repr.fragment_offset);
        prop_assert_eq!(header.is_fragmenting_payload(), is_fragment(&repr));
        prop_assert_eq!(header.ttl(), repr.ttl);
        prop_assert_eq!(header.protocol(), IpNumber(u8::from(repr.protocol)));
        prop_assert_eq!(header.source_addr(), repr.src_addr);
        prop_assert_eq!(header.destination_addr(), repr.dst_addr);
        prop_assert_eq!(bytes[6] & 0x80, 0, "the reserved flag is sent as zero");
        prop_assert_eq!(header.header_checksum(), header.to_header().calc_header_checksum());
        if u8::from(repr.protocol) != AH {
            let packet = Ipv4Slice::from_slice(&bytes).unwrap();
            prop_assert_eq!(packet.payload().payload, &bytes[HEADER_LEN..]);
        }
    }

    /// (a) Ours → smoltcp: every field through its `Packet`, its checksum check, and its `Repr`.
    #[test]
    fn smoltcp_reads_what_we_emit(repr in arb_repr()) {
        let bytes = emit(&repr);
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        prop_assert!(packet.verify_checksum());
        prop_assert_eq!(packet.version(), 4);
        prop_assert_eq!(usize::from(packet.header_len()), HEADER_LEN);
        prop_assert_eq!((packet.dscp() << 2) | packet.ecn(), repr.tos);
        prop_assert_eq!(usize::from(packet.total_len()), repr.total_len());
        prop_assert_eq!(packet.ident(), repr.ident);
        prop_assert_eq!(packet.dont_frag(), repr.dont_fragment);
        prop_assert_eq!(packet.more_frags(), repr.more_fragments);
        prop_assert_eq!(packet.frag_offset(), repr.fragment_offset);
        prop_assert_eq!(packet.hop_limit(), repr.ttl);
        prop_assert_eq!(u8::from(packet.next_header()), u8::from(repr.protocol));
        prop_assert_eq!(packet.src_addr(), repr.src_addr);
        prop_assert_eq!(packet.dst_addr(), repr.dst_addr);
        prop_assert_eq!(packet.payload(), &bytes[HEADER_LEN..]);
        let parsed = Ipv4Repr::parse(&packet, &ChecksumCapabilities::default());
        if is_fragment(&repr) {
            // smoltcp built without its fragmentation feature (as here) refuses fragments in
            // `Repr::parse`; the `Packet` accessors above have checked their fields.
            prop_assert!(parsed.is_err());
        } else {
            prop_assert_eq!(
                parsed.unwrap(),
                Ipv4Repr {
                    src_addr: repr.src_addr,
                    dst_addr: repr.dst_addr,
                    next_header: SmolProtocol::from(u8::from(repr.protocol)),
                    payload_len: repr.payload_len,
                    hop_limit: repr.ttl,
                }
            );
        }
    }

    /// (b) etherparse → ours: any header etherparse writes, options and link padding included.
    #[test]
    fn we_read_what_etherparse_emits(
        (src, dst, protocol) in (arb_addr(), arb_addr(), any::<u8>()),
        (dscp, ecn, ident) in (0u8..64, 0u8..4, any::<u16>()),
        (df, mf, units, ttl) in (any::<bool>(), any::<bool>(), arb_fragment_units(), any::<u8>()),
        option_words in 0usize..=10,
        option_fill in any::<u8>(),
        payload_len in 0usize..64,
        padding in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let options: Vec<u8> = (0..option_words * 4).map(|i| option_fill ^ i as u8).collect();
        let data = payload(payload_len);
        let mut header = Ipv4Header {
            dscp: IpDscp::try_new(dscp).unwrap(),
            ecn: IpEcn::try_new(ecn).unwrap(),
            total_len: 0,
            identification: ident,
            dont_fragment: df,
            more_fragments: mf,
            fragment_offset: IpFragOffset::try_new(units).unwrap(),
            time_to_live: ttl,
            protocol: IpNumber(protocol),
            header_checksum: 0,
            source: src.octets(),
            destination: dst.octets(),
            options: Default::default(),
        };
        header.options = Ipv4Options::try_from(&options[..]).unwrap();
        header.set_payload_len(payload_len).unwrap();
        let mut bytes = Vec::new();
        header.write(&mut bytes).unwrap(); // computes the checksum
        bytes.extend_from_slice(&data);
        bytes.extend_from_slice(&padding);

        let packet = Packet::new_checked(&bytes[..]).unwrap();
        let expected = Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::from(protocol),
            ttl,
            tos: (dscp << 2) | ecn,
            ident,
            dont_fragment: df,
            more_fragments: mf,
            fragment_offset: units * 8,
            payload_len,
        };
        prop_assert_eq!(Repr::parse(&packet), Ok(expected));
        prop_assert_eq!(packet.header_len(), HEADER_LEN + options.len());
        prop_assert_eq!(packet.options(), &options[..]);
        prop_assert_eq!(packet.payload(), &data[..]);
        prop_assert_eq!(packet.is_fragment(), mf || units != 0);
        prop_assert_eq!(packet.checksum(), header.calc_header_checksum());
        // Quoted in an ICMP error, even cut right after the header, it reads the same.
        let header_len = packet.header_len();
        prop_assert_eq!(parse_quoted(&bytes), Ok((expected, header_len)));
        prop_assert_eq!(parse_quoted(&bytes[..header_len]), Ok((expected, header_len)));
    }

    /// (b) smoltcp → ours: its `Repr::emit`, then its `Packet` setters for the fields its
    /// `Repr` does not carry (it always sends ident 0, DF and ToS 0), with its checksum.
    #[test]
    fn we_read_what_smoltcp_emits(
        (src, dst, protocol, ttl) in (arb_addr(), arb_addr(), any::<u8>(), any::<u8>()),
        (dscp, ecn, ident) in (0u8..64, 0u8..4, any::<u16>()),
        (df, mf, units) in (any::<bool>(), any::<bool>(), arb_fragment_units()),
        payload_len in arb_payload_len(),
    ) {
        let smol = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: SmolProtocol::from(protocol),
            payload_len,
            hop_limit: ttl,
        };
        let mut bytes = vec![0u8; smol.buffer_len() + payload_len];
        let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
        smol.emit(&mut packet, &ChecksumCapabilities::default());
        let plain = Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::from(protocol),
            ttl,
            tos: 0,
            ident: 0,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len,
        };
        prop_assert_eq!(parse(&bytes), Ok(plain));

        let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
        packet.set_dscp(dscp);
        packet.set_ecn(ecn);
        packet.set_ident(ident);
        packet.clear_flags();
        packet.set_dont_frag(df);
        packet.set_more_frags(mf);
        packet.set_frag_offset(units * 8);
        packet.fill_checksum();
        let full = Repr {
            tos: (dscp << 2) | ecn,
            ident,
            dont_fragment: df,
            more_fragments: mf,
            fragment_offset: units * 8,
            ..plain
        };
        prop_assert_eq!(parse(&bytes), Ok(full));
    }

    /// (c) Arbitrary bytes, and valid packets with a few bytes overwritten: no panic, and
    /// we accept exactly what the oracles accept.
    #[test]
    fn arbitrary_bytes_agree_with_the_oracles(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..80),
            (arb_repr(), arb_edits()).prop_map(|(repr, edits)| {
                let mut bytes = emit(&Repr { payload_len: repr.payload_len % 64, ..repr });
                bytes.truncate(80);
                mutate(bytes, &edits)
            }),
        ],
    ) {
        check_against_oracles(&bytes)?;
    }

    /// (c) Every truncation of a valid packet (options included) is `Truncated`, never a
    /// panic; a quote keeps working down to the end of the header.
    #[test]
    fn every_truncation_is_truncated(
        repr in arb_repr(),
        option_words in 0usize..=10,
    ) {
        let mut bytes = emit(&Repr { payload_len: repr.payload_len % 64, ..repr });
        // Make room for options after the fixed header and describe them in IHL and Total Length.
        let header_len = HEADER_LEN + option_words * 4;
        bytes.splice(HEADER_LEN..HEADER_LEN, std::iter::repeat_n(1u8, option_words * 4)); // NOPs
        let total_len = bytes.len() as u16;
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version_and_header_len(header_len);
        packet.set_total_len(total_len);
        packet.fill_checksum();
        let (whole, _) = parse_quoted(&bytes).unwrap();
        prop_assert_eq!(parse(&bytes), Ok(whole));
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            prop_assert_eq!(Packet::new_checked(prefix).err(), Some(WireError::Truncated));
            if len >= header_len {
                prop_assert_eq!(parse_quoted(prefix), Ok((whole, header_len)));
            } else {
                prop_assert_eq!(parse_quoted(prefix), Err(WireError::Truncated));
            }
            check_against_oracles(prefix)?;
        }
    }
}

/// Our checks and parse on `bytes` against smoltcp's and etherparse's, plus every accessor.
fn check_against_oracles(bytes: &[u8]) -> Result<(), TestCaseError> {
    let _ = parse_quoted(bytes);
    let ours = Packet::new_checked(bytes);
    // smoltcp's `check_len` does not look at the version; its `Repr::parse` does.
    let smol = Ipv4Packet::new_checked(bytes);
    let smol_ok = smol.is_ok() && bytes[0] >> 4 == 4;
    prop_assert_eq!(ours.is_ok(), smol_ok, "smoltcp disagrees on {:?}", bytes);
    if bytes.get(9) != Some(&AH) {
        let ether_ok = Ipv4Slice::from_slice(bytes).is_ok();
        prop_assert_eq!(
            ours.is_ok(),
            ether_ok,
            "etherparse disagrees on {:?}",
            bytes
        );
    }
    let (Ok(packet), Ok(smol)) = (ours, smol) else {
        return Ok(());
    };
    let _ = (
        packet.tos(),
        packet.ident(),
        packet.ttl(),
        packet.protocol(),
    );
    let _ = (
        packet.src_addr(),
        packet.dst_addr(),
        packet.options(),
        packet.payload(),
    );
    let _ = (
        packet.is_fragment(),
        packet.fragment_offset(),
        packet.checksum(),
    );
    let parsed = Repr::parse(&packet);
    prop_assert_eq!(parsed.is_ok(), smol.verify_checksum());
    if let Ok(repr) = parsed {
        prop_assert_eq!(repr.src_addr, smol.src_addr());
        prop_assert_eq!(repr.dst_addr, smol.dst_addr());
        prop_assert_eq!(repr.fragment_offset, smol.frag_offset());
        prop_assert_eq!(repr.dont_fragment, smol.dont_frag());
        prop_assert_eq!(repr.more_fragments, smol.more_frags());
        prop_assert_eq!(repr.payload_len, smol.payload().len());
        prop_assert_eq!(repr.payload_len, packet.payload().len());
    }
    Ok(())
}

/// A fixed example, so a reader sees one packet all three parsers agree on.
#[test]
fn a_ping_reads_the_same_in_all_three() {
    let repr = Repr {
        src_addr: Ipv4Addr::new(10, 77, 0, 1),
        dst_addr: Ipv4Addr::new(10, 77, 0, 2),
        protocol: IpProtocol::Icmp,
        ttl: 64,
        tos: 0,
        ident: 0x1234,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
        payload_len: 64,
    };
    let bytes = emit(&repr);
    let ether = Ipv4HeaderSlice::from_slice(&bytes).unwrap();
    assert_eq!(ether.protocol(), IpNumber::ICMP);
    assert_eq!(ether.total_len(), 84);
    let smol = Ipv4Repr::parse(
        &Ipv4Packet::new_checked(&bytes[..]).unwrap(),
        &ChecksumCapabilities::default(),
    )
    .unwrap();
    assert_eq!(smol.next_header, SmolProtocol::Icmp);
    assert_eq!(parse(&bytes), Ok(repr));
}
