//! The TCP header and options codecs (`tunstack::tcp::header`, `tunstack::tcp::options`)
//! against etherparse and smoltcp::wire, for every control flag (ECE, CWR and AE included) and
//! the options MSS, Window Scale, SACK-Permitted, SACK blocks and Timestamps:
//!
//! - what we emit, they read back: fields, checksum, and the options in our order and padding;
//! - what they emit (their own option layouts, repeated options), we read back;
//! - arbitrary bytes, arbitrary option areas and every truncation: no panic, and the same
//!   verdicts as theirs, option by option.

mod common;

use std::net::Ipv4Addr;

use common::{arb_addr, arb_edits, config, mutate, smol_addr};
use etherparse::{TcpHeader, TcpHeaderSlice, TcpOptionElement, TcpOptionReadError};
use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    TcpControl, TcpOption as SmolOption, TcpPacket, TcpRepr, TcpSeqNumber, TcpTimestampRepr,
};
use tunstack::tcp::header::{Packet, Repr, HEADER_LEN};
use tunstack::tcp::options::{Options, MAX_OPTIONS_LEN};
use tunstack::tcp::{Flags, SackBlock, SackBlocks, SeqNumber, TcpOption, Timestamps};
use tunstack::wire::WireError;

/// The addresses of the pseudo-header where the test does not draw them.
const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

// ----- strategies -----

fn blocks(edges: &[(u32, u32)]) -> SackBlocks {
    let mut blocks = SackBlocks::new();
    for &(left, right) in edges {
        assert!(blocks.push(SackBlock {
            left: SeqNumber(left),
            right: SeqNumber(right),
        }));
    }
    blocks
}

fn edges(blocks: &SackBlocks) -> Vec<(u32, u32)> {
    blocks
        .as_slice()
        .iter()
        .map(|b| (b.left.0, b.right.0))
        .collect()
}

/// The options a `Repr` carries.
#[derive(Debug, Clone)]
struct OptionSet {
    mss: Option<u16>,
    window_scale: Option<u8>,
    sack_permitted: bool,
    sack: Vec<(u32, u32)>,
    timestamps: Option<(u32, u32)>,
}

fn arb_options() -> impl Strategy<Value = OptionSet> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        proptest::collection::vec(any::<(u32, u32)>(), 0..=4),
        proptest::option::of(any::<(u32, u32)>()),
    )
        .prop_map(
            |(mss, window_scale, sack_permitted, sack, timestamps)| OptionSet {
                mss,
                window_scale,
                sack_permitted,
                sack,
                timestamps,
            },
        )
}

/// Payload lengths: mostly short, sometimes up to what a segment with a full header can carry.
fn arb_payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..64,
        1 => 0usize..=usize::from(u16::MAX) - 60,
    ]
}

/// A `Repr` with the given ports and flags and any other values.
fn arb_repr_with(
    ports: impl Strategy<Value = (u16, u16)>,
    flags: impl Strategy<Value = Flags>,
) -> impl Strategy<Value = Repr> {
    (
        ports,
        flags,
        any::<(u32, u32, u16, u16)>(),
        arb_options(),
        arb_payload_len(),
    )
        .prop_map(
            |((src_port, dst_port), flags, (seq, ack, window, urgent), o, payload_len)| Repr {
                src_port,
                dst_port,
                seq: SeqNumber(seq),
                ack: SeqNumber(ack),
                flags,
                window,
                urgent,
                mss: o.mss,
                window_scale: o.window_scale,
                sack_permitted: o.sack_permitted,
                sack_blocks: blocks(&o.sack),
                timestamps: o.timestamps.map(|(value, echo)| Timestamps { value, echo }),
                payload_len,
            },
        )
}

/// Any `Repr`: all nine flags in every combination.
fn arb_repr() -> impl Strategy<Value = Repr> {
    arb_repr_with(
        any::<(u16, u16)>(),
        (0u16..0x200).prop_map(Flags::from_bits_truncate),
    )
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 + 5) as u8).collect()
}

fn emit(repr: &Repr, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.buffer_len()];
    bytes[repr.header_len()..].copy_from_slice(&payload(repr.payload_len));
    repr.emit(&mut bytes, src, dst);
    bytes
}

fn parse(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<Repr, WireError> {
    Repr::parse(&Packet::new_checked(bytes)?, src, dst)
}

// ----- the option layout we promise, written out from `Repr::emit`'s documentation -----

/// The options our emit writes for `repr`, in order, as etherparse elements, and how many SACK
/// blocks fit: MSS; SACK-Permitted and Timestamps (each padded with NOPs to 4 bytes); NOP and
/// Window Scale; two NOPs and the SACK blocks that fit in the rest of the 40 bytes.
fn promised_layout(repr: &Repr) -> (Vec<TcpOptionElement>, usize) {
    use TcpOptionElement::*;
    let mut elements = Vec::new();
    let mut used = 0;
    if let Some(mss) = repr.mss {
        elements.push(MaximumSegmentSize(mss));
        used += 4;
    }
    match (repr.sack_permitted, repr.timestamps) {
        (true, Some(ts)) => {
            elements.extend([
                SelectiveAcknowledgementPermitted,
                Timestamp(ts.value, ts.echo),
            ]);
            used += 12;
        }
        (false, Some(ts)) => {
            elements.extend([Noop, Noop, Timestamp(ts.value, ts.echo)]);
            used += 12;
        }
        (true, None) => {
            elements.extend([Noop, Noop, SelectiveAcknowledgementPermitted]);
            used += 4;
        }
        (false, None) => {}
    }
    if let Some(shift) = repr.window_scale {
        elements.extend([Noop, WindowScale(shift)]);
        used += 4;
    }
    let room = (MAX_OPTIONS_LEN - used).saturating_sub(4) / 8;
    let sent = repr.sack_blocks.len().min(room);
    if sent > 0 {
        let mut sent_blocks = repr.sack_blocks;
        sent_blocks.truncate(sent);
        elements.extend([Noop, Noop]);
        elements.push(sack_element(&edges(&sent_blocks)));
    }
    (elements, sent)
}

fn sack_element(edges: &[(u32, u32)]) -> TcpOptionElement {
    let mut rest = [None; 3];
    for (slot, &edge) in rest.iter_mut().zip(&edges[1..]) {
        *slot = Some(edge);
    }
    TcpOptionElement::SelectiveAcknowledgement(edges[0], rest)
}

// ----- our options as the oracles' options -----

/// Our option as an etherparse element; `None` for what etherparse has no element for.
fn as_etherparse(option: &TcpOption) -> Option<TcpOptionElement> {
    use TcpOptionElement::*;
    Some(match *option {
        TcpOption::NoOperation => Noop,
        TcpOption::MaxSegmentSize(mss) => MaximumSegmentSize(mss),
        TcpOption::WindowScale(shift) => WindowScale(shift),
        TcpOption::SackPermitted => SelectiveAcknowledgementPermitted,
        TcpOption::Sack(blocks) => sack_element(&edges(&blocks)),
        TcpOption::Timestamps(ts) => Timestamp(ts.value, ts.echo),
        TcpOption::EndOfList | TcpOption::Unknown { .. } => return None,
    })
}

/// Our option as smoltcp's. smoltcp keeps at most 3 SACK blocks (it drops a fourth, rare
/// because timestamps leave room for 3 only), so a fourth is dropped here too.
fn as_smoltcp<'a>(option: &TcpOption<'a>) -> SmolOption<'a> {
    match *option {
        TcpOption::EndOfList => SmolOption::EndOfList,
        TcpOption::NoOperation => SmolOption::NoOperation,
        TcpOption::MaxSegmentSize(mss) => SmolOption::MaxSegmentSize(mss),
        TcpOption::WindowScale(shift) => SmolOption::WindowScale(shift),
        TcpOption::SackPermitted => SmolOption::SackPermitted,
        TcpOption::Sack(blocks) => SmolOption::SackRange(smol_ranges(&blocks)),
        TcpOption::Timestamps(ts) => SmolOption::TimeStamp {
            tsval: ts.value,
            tsecr: ts.echo,
        },
        TcpOption::Unknown { kind, data } => SmolOption::Unknown { kind, data },
    }
}

fn smol_ranges(blocks: &SackBlocks) -> [Option<(u32, u32)>; 3] {
    let mut ranges = [None; 3];
    for (slot, edge) in ranges.iter_mut().zip(edges(blocks)) {
        *slot = Some(edge);
    }
    ranges
}

/// smoltcp's options in `bytes`, read as its `Repr::parse` reads them: up to End of Option
/// List or the first error.
fn smoltcp_options(mut bytes: &[u8]) -> Vec<Result<SmolOption<'_>, ()>> {
    let mut options = Vec::new();
    while !bytes.is_empty() {
        match SmolOption::parse(bytes) {
            Ok((rest, option)) => {
                options.push(Ok(option));
                if option == SmolOption::EndOfList {
                    break;
                }
                bytes = rest;
            }
            Err(_) => {
                options.push(Err(()));
                break;
            }
        }
    }
    options
}

/// Checks our reading of an options area against smoltcp's and etherparse's, option by option.
///
/// They differ from ours, and from each other, in two places only, both skipped here:
/// smoltcp reads a Timestamps option of the wrong length as an unknown option (we and
/// etherparse refuse it, RFC 7323 fixes its length at 10); etherparse refuses option kinds it
/// does not know, which RFC 9293 says to skip by their length, as we and smoltcp do.
fn check_options(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours: Vec<Result<TcpOption, WireError>> = Options::new(bytes).collect();
    prop_assert!(ours.len() <= bytes.len());
    for (i, option) in ours.iter().enumerate() {
        if let Err(err) = option {
            prop_assert_eq!(*err, WireError::BadOption);
            prop_assert_eq!(i, ours.len() - 1, "the iterator stops at the first error");
        }
    }

    let smol = smoltcp_options(bytes);
    let mut pairs = ours.iter().zip(&smol);
    let compared_all = loop {
        match pairs.next() {
            None => break true,
            Some((Ok(ours), Ok(smol))) => prop_assert_eq!(as_smoltcp(ours), *smol),
            Some((Err(_), Ok(SmolOption::Unknown { kind: 8, .. }))) => break false,
            Some((Err(_), Err(()))) => {}
            Some((ours, smol)) => prop_assert!(false, "ours {:?}, smoltcp {:?}", ours, smol),
        }
    };
    if compared_all {
        prop_assert_eq!(ours.len(), smol.len(), "{:?} vs {:?}", ours, smol);
    }

    let mut ether = etherparse::TcpOptionsIterator::from_slice(bytes);
    for ours in &ours {
        match (ours, ether.next()) {
            (_, Some(Err(TcpOptionReadError::UnknownId(_)))) => break,
            (Ok(TcpOption::EndOfList), None) => break,
            (Ok(ours), Some(Ok(ether))) => prop_assert_eq!(as_etherparse(ours), Some(ether)),
            (Err(_), Some(Err(_))) => break,
            (ours, ether) => prop_assert!(false, "ours {:?}, etherparse {:?}", ours, ether),
        }
    }
    Ok(())
}

// ----- expectations from the oracles' values -----

fn flags_of(header: &TcpHeader) -> Flags {
    let bits = [
        header.fin, header.syn, header.rst, header.psh, header.ack, header.urg, header.ece,
        header.cwr, header.ns,
    ];
    let word = bits
        .iter()
        .enumerate()
        .fold(0u16, |word, (bit, &set)| word | (u16::from(set) << bit));
    Flags::from_bits_truncate(word)
}

/// What our `Repr` holds after reading `elements`: the last of each kind counts.
fn fold_elements(mut repr: Repr, elements: &[TcpOptionElement]) -> Repr {
    for element in elements {
        match *element {
            TcpOptionElement::Noop => {}
            TcpOptionElement::MaximumSegmentSize(mss) => repr.mss = Some(mss),
            TcpOptionElement::WindowScale(shift) => repr.window_scale = Some(shift),
            TcpOptionElement::SelectiveAcknowledgementPermitted => repr.sack_permitted = true,
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                let mut all = vec![first];
                all.extend(rest.iter().flatten());
                repr.sack_blocks = blocks(&all);
            }
            TcpOptionElement::Timestamp(value, echo) => {
                repr.timestamps = Some(Timestamps { value, echo })
            }
        }
    }
    repr
}

fn element_len(element: &TcpOptionElement) -> usize {
    use TcpOptionElement::*;
    match element {
        Noop => 1,
        MaximumSegmentSize(_) => 4,
        WindowScale(_) => 3,
        SelectiveAcknowledgementPermitted => 2,
        SelectiveAcknowledgement(_, rest) => 10 + 8 * rest.iter().flatten().count(),
        Timestamp(..) => 10,
    }
}

/// Any etherparse option element; SACK with 1 to 4 blocks.
fn arb_element() -> impl Strategy<Value = TcpOptionElement> {
    use TcpOptionElement::*;
    prop_oneof![
        Just(Noop),
        any::<u16>().prop_map(MaximumSegmentSize),
        any::<u8>().prop_map(WindowScale),
        Just(SelectiveAcknowledgementPermitted),
        proptest::collection::vec(any::<(u32, u32)>(), 1..=4).prop_map(|e| sack_element(&e)),
        any::<(u32, u32)>().prop_map(|(a, b)| Timestamp(a, b)),
    ]
}

/// Elements in any order, repeats included, as many as fit in 40 bytes.
fn arb_elements() -> impl Strategy<Value = Vec<TcpOptionElement>> {
    proptest::collection::vec(arb_element(), 0..10).prop_map(|all| {
        let mut used = 0;
        all.into_iter()
            .take_while(|e| {
                used += element_len(e);
                used <= MAX_OPTIONS_LEN
            })
            .collect()
    })
}

/// Option areas of at most 40 bytes, made of pieces that are often almost right: whole
/// options, NOPs and EOLs, known kinds with any length byte, unknown kinds, and random bytes.
fn arb_option_area() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        arb_element().prop_map(|e| {
            let mut header = TcpHeader::default();
            header.set_options(&[e]).unwrap();
            let len = element_len(&header.options_iterator().next().unwrap().unwrap());
            header.options.as_slice()[..len].to_vec()
        }),
        Just(vec![0u8]),
        Just(vec![1u8]),
        (
            prop_oneof![2u8..=8, any::<u8>()],
            0u8..12,
            proptest::collection::vec(any::<u8>(), 0..10)
        )
            .prop_map(|(kind, len, data)| {
                let mut piece = vec![kind, len];
                piece.extend(data);
                piece
            }),
        proptest::collection::vec(any::<u8>(), 1..6),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| {
        let mut area = pieces.concat();
        area.truncate(MAX_OPTIONS_LEN);
        area
    })
}

/// A segment with `options` as its options area (zero-padded to 4 bytes), checksum right.
fn segment_with_options(repr: &Repr, options: &[u8]) -> Vec<u8> {
    let bare = Repr {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack_blocks: SackBlocks::new(),
        timestamps: None,
        ..*repr
    };
    let mut bytes = emit(&bare, SRC, DST);
    let mut area = options.to_vec();
    area.resize(options.len().next_multiple_of(4), 0);
    bytes.splice(HEADER_LEN..HEADER_LEN, area.iter().copied());
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_header_len(HEADER_LEN + area.len());
    packet.fill_checksum(SRC, DST);
    bytes
}

proptest! {
    #![proptest_config(config())]

    /// (a) Ours → etherparse: every field and flag, the checksum it computes, and the options
    /// in the order and with the padding our emit promises.
    #[test]
    fn etherparse_reads_what_we_emit(
        repr in arb_repr(),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let bytes = emit(&repr, src, dst);
        let header = TcpHeaderSlice::from_slice(&bytes).unwrap();
        prop_assert_eq!(header.source_port(), repr.src_port);
        prop_assert_eq!(header.destination_port(), repr.dst_port);
        prop_assert_eq!(header.sequence_number(), repr.seq.0);
        prop_assert_eq!(header.acknowledgment_number(), repr.ack.0);
        prop_assert_eq!(usize::from(header.data_offset()) * 4, repr.header_len());
        prop_assert_eq!(flags_of(&header.to_header()), repr.flags);
        prop_assert_eq!(bytes[12] & 0x0e, 0, "reserved bits are sent as zero");
        prop_assert_eq!(header.window_size(), repr.window);
        prop_assert_eq!(header.urgent_pointer(), repr.urgent);
        let data = &bytes[repr.header_len()..];
        let expected = header.calc_checksum_ipv4_raw(src.octets(), dst.octets(), data).unwrap();
        prop_assert_eq!(header.checksum(), expected);

        let (layout, blocks_sent) = promised_layout(&repr);
        let elements: Vec<_> = header.options_iterator().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&elements, &layout);
        let used: usize = elements.iter().map(element_len).sum();
        prop_assert_eq!(HEADER_LEN + used, repr.header_len(), "no padding after the options");
        // As many SACK blocks as fit: one more would overflow the 40 option bytes.
        if blocks_sent < repr.sack_blocks.len() {
            let more = if blocks_sent == 0 { 4 + 8 } else { 8 };
            prop_assert!(used + more > MAX_OPTIONS_LEN);
        }
    }

    /// (a) Ours → smoltcp's `Packet`: every field, every flag (its `Repr` drops URG, ECE, CWR
    /// and NS), its checksum check, and its reading of our options.
    #[test]
    fn smoltcp_reads_the_header_of_what_we_emit(
        repr in arb_repr(),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let bytes = emit(&repr, src, dst);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert!(packet.verify_checksum(&smol_addr(src), &smol_addr(dst)));
        prop_assert_eq!(packet.src_port(), repr.src_port);
        prop_assert_eq!(packet.dst_port(), repr.dst_port);
        prop_assert_eq!(packet.seq_number(), TcpSeqNumber(repr.seq.0 as i32));
        prop_assert_eq!(packet.ack_number(), TcpSeqNumber(repr.ack.0 as i32));
        prop_assert_eq!(usize::from(packet.header_len()), repr.header_len());
        let f = repr.flags;
        let smol_flags = [
            (packet.fin(), Flags::FIN), (packet.syn(), Flags::SYN), (packet.rst(), Flags::RST),
            (packet.psh(), Flags::PSH), (packet.ack(), Flags::ACK), (packet.urg(), Flags::URG),
            (packet.ece(), Flags::ECE), (packet.cwr(), Flags::CWR), (packet.ns(), Flags::AE),
        ];
        for (set, flag) in smol_flags {
            prop_assert_eq!(set, f.contains(flag), "{:?}", flag);
        }
        prop_assert_eq!(packet.window_len(), repr.window);
        prop_assert_eq!(packet.urgent_at(), repr.urgent);
        prop_assert_eq!(packet.payload(), &payload(repr.payload_len)[..]);
        prop_assert_eq!(packet.segment_len(), repr.segment_len());
        check_options(packet.options())?;
    }

    /// (a) Ours → smoltcp's `Repr`. It refuses port 0 and more than one of SYN, FIN and RST
    /// (its `Control` holds one), so the generator draws nothing else; it clamps a window scale
    /// above 14 to 14 (RFC 7323 section 2.3) where we keep the value as sent for the TCP layer
    /// to clamp, and keeps 3 SACK blocks at most.
    #[test]
    fn smoltcp_parses_what_we_emit(
        repr in arb_repr_with(
            (1u16.., 1u16..),
            (prop_oneof![Just(0u16), Just(1), Just(2), Just(4)], 0u16..0x200)
                .prop_map(|(control, rest)| Flags::from_bits_truncate(control | (rest & !0x7))),
        ),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let bytes = emit(&repr, src, dst);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        let parsed = TcpRepr::parse(
            &packet,
            &smol_addr(src),
            &smol_addr(dst),
            &ChecksumCapabilities::default(),
        ).unwrap();
        let f = repr.flags;
        let control = if f.syn() {
            TcpControl::Syn
        } else if f.fin() {
            TcpControl::Fin
        } else if f.rst() {
            TcpControl::Rst
        } else if f.psh() {
            TcpControl::Psh
        } else {
            TcpControl::None
        };
        let (_, sent) = promised_layout(&repr);
        let mut sent_blocks = repr.sack_blocks;
        sent_blocks.truncate(sent);
        let data = payload(repr.payload_len);
        let expected = TcpRepr {
            src_port: repr.src_port,
            dst_port: repr.dst_port,
            control,
            seq_number: TcpSeqNumber(repr.seq.0 as i32),
            ack_number: f.ack().then_some(TcpSeqNumber(repr.ack.0 as i32)),
            window_len: repr.window,
            window_scale: repr.window_scale.map(|shift| shift.min(14)),
            max_seg_size: repr.mss,
            sack_permitted: repr.sack_permitted,
            sack_ranges: smol_ranges(&sent_blocks),
            timestamp: repr.timestamps.map(|ts| TcpTimestampRepr::new(ts.value, ts.echo)),
            payload: &data,
        };
        prop_assert_eq!(parsed, expected);
    }

    /// (b) etherparse → ours: any flags, and options in any order, repeated, with etherparse's
    /// layout (no alignment, zero padding at the end).
    #[test]
    fn we_read_what_etherparse_emits(
        (src_port, dst_port, seq, ack) in any::<(u16, u16, u32, u32)>(),
        flag_bits in 0u16..0x200,
        (window, urgent) in any::<(u16, u16)>(),
        elements in arb_elements(),
        data in proptest::collection::vec(any::<u8>(), 0..64),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let mut header = TcpHeader::new(src_port, dst_port, seq, window);
        header.acknowledgment_number = ack;
        let bit = |n: u16| flag_bits & (1 << n) != 0;
        (header.fin, header.syn, header.rst, header.psh) = (bit(0), bit(1), bit(2), bit(3));
        (header.ack, header.urg, header.ece, header.cwr, header.ns) =
            (bit(4), bit(5), bit(6), bit(7), bit(8));
        header.urgent_pointer = urgent;
        header.set_options(&elements).unwrap();
        header.checksum = header.calc_checksum_ipv4_raw(src.octets(), dst.octets(), &data).unwrap();
        let mut bytes = Vec::new();
        header.write(&mut bytes).unwrap();
        bytes.extend_from_slice(&data);

        let packet = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(packet.header_len(), header.header_len());
        prop_assert_eq!(packet.payload(), &data[..]);
        let bare = Repr {
            src_port,
            dst_port,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags: Flags::from_bits_truncate(flag_bits),
            window,
            urgent,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::new(),
            timestamps: None,
            payload_len: data.len(),
        };
        prop_assert_eq!(flags_of(&header), bare.flags);
        prop_assert_eq!(Repr::parse(&packet, src, dst), Ok(fold_elements(bare, &elements)));

        // Option by option: etherparse's elements, then End of Option List if it padded.
        let ours: Vec<_> = Options::new(packet.options()).collect::<Result<_, _>>().unwrap();
        let used: usize = elements.iter().map(element_len).sum();
        let mut expected: Vec<_> = elements.iter().cloned().map(Some).collect();
        if used < packet.options().len() {
            expected.push(None);
        }
        let ours: Vec<_> = ours.iter().map(as_etherparse).collect();
        prop_assert_eq!(ours, expected);
    }

    /// (b) smoltcp → ours: `TcpRepr::emit` (options packed without alignment, SACK blocks only
    /// on an ACK without SACK-Permitted, End of Option List padding), then its `Packet` setters
    /// for what its `Repr` does not carry: URG, ECE, CWR, NS and the urgent pointer.
    #[test]
    fn we_read_what_smoltcp_emits(
        (src_port, dst_port, seq, window) in any::<(u16, u16, u32, u16)>(),
        control in prop_oneof![
            Just(TcpControl::None), Just(TcpControl::Psh), Just(TcpControl::Syn),
            Just(TcpControl::Fin), Just(TcpControl::Rst),
        ],
        ack in proptest::option::of(any::<u32>()),
        options in arb_options(),
        extra_flags in 0u16..16,
        urgent in any::<u16>(),
        data in proptest::collection::vec(any::<u8>(), 0..64),
        (src, dst) in (arb_addr(), arb_addr()),
    ) {
        let mut ranges = [None; 3];
        for (slot, &edge) in ranges.iter_mut().zip(&options.sack) {
            *slot = Some(edge);
        }
        let smol = TcpRepr {
            src_port,
            dst_port,
            control,
            seq_number: TcpSeqNumber(seq as i32),
            ack_number: ack.map(|ack| TcpSeqNumber(ack as i32)),
            window_len: window,
            window_scale: options.window_scale,
            max_seg_size: options.mss,
            sack_permitted: options.sack_permitted,
            sack_ranges: ranges,
            timestamp: options.timestamps.map(|(v, e)| TcpTimestampRepr::new(v, e)),
            payload: &data,
        };
        // smoltcp's `TcpRepr` does not check that its options fit in the 40 bytes there are.
        prop_assume!(smol.header_len() <= 60);
        let mut bytes = vec![0u8; smol.buffer_len()];
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        smol.emit(&mut packet, &smol_addr(src), &smol_addr(dst), &ChecksumCapabilities::default());
        let bit = |n: u16| extra_flags & (1 << n) != 0;
        packet.set_urg(bit(0));
        packet.set_ece(bit(1));
        packet.set_cwr(bit(2));
        packet.set_ns(bit(3));
        packet.set_urgent_at(urgent);
        packet.fill_checksum(&smol_addr(src), &smol_addr(dst));

        let mut flags = match control {
            TcpControl::None => Flags::empty(),
            TcpControl::Psh => Flags::PSH,
            TcpControl::Syn => Flags::SYN,
            TcpControl::Fin => Flags::FIN,
            TcpControl::Rst => Flags::RST,
        };
        for (n, flag) in [Flags::URG, Flags::ECE, Flags::CWR, Flags::AE].into_iter().enumerate() {
            if bit(n as u16) {
                flags |= flag;
            }
        }
        if ack.is_some() {
            flags |= Flags::ACK;
        }
        let sack_sent = !options.sack_permitted && ack.is_some();
        let expected = Repr {
            src_port,
            dst_port,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack.unwrap_or(0)),
            flags,
            window,
            urgent,
            mss: options.mss,
            window_scale: options.window_scale,
            sack_permitted: options.sack_permitted,
            sack_blocks: if sack_sent { blocks(&options.sack[..options.sack.len().min(3)]) } else { SackBlocks::new() },
            timestamps: options.timestamps.map(|(value, echo)| Timestamps { value, echo }),
            payload_len: data.len(),
        };
        prop_assert_eq!(parse(&bytes, src, dst), Ok(expected));
    }

    /// (c) Option areas that are often almost right: our reading agrees with smoltcp's and
    /// etherparse's option by option, and a segment carrying them parses exactly when its
    /// options do.
    #[test]
    fn option_areas_agree_with_the_oracles(repr in arb_repr(), area in arb_option_area()) {
        check_options(&area)?;
        let bytes = segment_with_options(&Repr { payload_len: repr.payload_len % 64, ..repr }, &area);
        check_against_oracles(&bytes)?;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        let options_ok = Options::new(packet.options()).all(|o| o.is_ok());
        let parsed = Repr::parse(&packet, SRC, DST);
        prop_assert_eq!(parsed.is_ok(), options_ok);
        if !options_ok {
            prop_assert_eq!(parsed, Err(WireError::BadOption));
        }
    }

    /// (c) Arbitrary bytes and emitted segments with a few bytes overwritten: no panic, and
    /// the same lengths, fields and checksum verdict as smoltcp.
    #[test]
    fn arbitrary_bytes_agree_with_the_oracles(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..100),
            (arb_repr(), arb_edits()).prop_map(|(repr, edits)| {
                let repr = Repr { payload_len: repr.payload_len % 64, ..repr };
                mutate(emit(&repr, SRC, DST), &edits)
            }),
        ],
    ) {
        check_against_oracles(&bytes)?;
        // The same bytes with the checksum made right reach the options.
        if bytes.len() >= HEADER_LEN {
            let mut fixed = bytes.clone();
            Packet::new_unchecked(&mut fixed[..]).fill_checksum(SRC, DST);
            check_against_oracles(&fixed)?;
        }
    }

    /// (c) Every truncation of a valid segment: `Truncated` inside the header, otherwise the
    /// same checksum verdict as smoltcp.
    #[test]
    fn every_truncation_agrees_with_the_oracles(repr in arb_repr()) {
        let repr = Repr { payload_len: repr.payload_len % 64, ..repr };
        let bytes = emit(&repr, SRC, DST);
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            if len < repr.header_len() {
                prop_assert_eq!(Packet::new_checked(prefix).err(), Some(WireError::Truncated));
            }
            check_against_oracles(prefix)?;
        }
    }
}

/// Our check and parse of `bytes` against smoltcp's and etherparse's.
fn check_against_oracles(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = Packet::new_checked(bytes);
    let smol = TcpPacket::new_checked(bytes);
    prop_assert_eq!(ours.is_ok(), smol.is_ok());
    prop_assert_eq!(ours.is_ok(), TcpHeaderSlice::from_slice(bytes).is_ok());
    let (Ok(packet), Ok(smol)) = (ours, smol) else {
        return Ok(());
    };
    prop_assert_eq!(packet.src_port(), smol.src_port());
    prop_assert_eq!(packet.dst_port(), smol.dst_port());
    prop_assert_eq!(packet.seq_number().0 as i32, smol.seq_number().0);
    prop_assert_eq!(packet.ack_number().0 as i32, smol.ack_number().0);
    prop_assert_eq!(packet.header_len(), usize::from(smol.header_len()));
    let f = packet.flags();
    prop_assert_eq!(
        [f.fin(), f.syn(), f.rst(), f.psh(), f.ack(), f.urg()],
        [
            smol.fin(),
            smol.syn(),
            smol.rst(),
            smol.psh(),
            smol.ack(),
            smol.urg()
        ]
    );
    prop_assert_eq!(
        [
            f.contains(Flags::ECE),
            f.contains(Flags::CWR),
            f.contains(Flags::AE)
        ],
        [smol.ece(), smol.cwr(), smol.ns()]
    );
    prop_assert_eq!(packet.window_len(), smol.window_len());
    prop_assert_eq!(packet.urgent_at(), smol.urgent_at());
    prop_assert_eq!(packet.checksum(), smol.checksum());
    prop_assert_eq!(packet.options(), smol.options());
    prop_assert_eq!(packet.payload(), smol.payload());
    check_options(packet.options())?;

    let checksum_ok = packet.verify_checksum(SRC, DST);
    prop_assert_eq!(
        checksum_ok,
        smol.verify_checksum(&smol_addr(SRC), &smol_addr(DST))
    );
    let options_ok = Options::new(packet.options()).all(|o| o.is_ok());
    let parsed = Repr::parse(&packet, SRC, DST);
    let expected_err = if !checksum_ok {
        Some(WireError::BadChecksum)
    } else if !options_ok {
        Some(WireError::BadOption)
    } else {
        None
    };
    prop_assert_eq!(parsed.err(), expected_err);
    if let Ok(repr) = parsed {
        prop_assert_eq!(repr.payload_len, smol.payload().len());
        let _ = repr.to_string();
    }
    Ok(())
}

/// The SYN Linux sends (MSS, SACK-Permitted, Timestamps, Window Scale), read by all three.
#[test]
fn a_linux_syn_reads_the_same_in_all_three() {
    let repr = Repr {
        src_port: 54321,
        dst_port: 7,
        seq: SeqNumber(1_804_289_383),
        ack: SeqNumber(0),
        flags: Flags::SYN,
        window: 64240,
        urgent: 0,
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        sack_blocks: SackBlocks::new(),
        timestamps: Some(Timestamps {
            value: 987_654_321,
            echo: 0,
        }),
        payload_len: 0,
    };
    let bytes = emit(&repr, SRC, DST);
    assert_eq!(bytes.len(), 40);
    let ether = TcpHeaderSlice::from_slice(&bytes).unwrap();
    assert!(ether.syn() && !ether.ack());
    assert_eq!(
        ether.options_iterator().collect::<Result<Vec<_>, _>>(),
        Ok(vec![
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(987_654_321, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(7),
        ])
    );
    let smol = TcpRepr::parse(
        &TcpPacket::new_checked(&bytes[..]).unwrap(),
        &smol_addr(SRC),
        &smol_addr(DST),
        &ChecksumCapabilities::default(),
    )
    .unwrap();
    assert_eq!(smol.control, TcpControl::Syn);
    assert_eq!(
        (smol.max_seg_size, smol.window_scale, smol.sack_permitted),
        (Some(1460), Some(7), true)
    );
    assert_eq!(parse(&bytes, SRC, DST), Ok(repr));
}
