//! Reassembly: orders, extension headers, the RFCs' errors, overlaps, duplicates, timeout.

use std::time::Duration;

use super::*;

#[test]
fn round_trips_in_order_reversed_and_shuffled() {
    let mut rng = fastrand::Rng::with_seed(6);
    for layout in [Layout::plain(UDP), Layout::with_options(UDP)] {
        for round in 0..100 {
            let payload = data(rng.usize(1300..20_000));
            let per = rng.usize(40..200) * 8;
            let mut fragments = layout.fragments(round, &payload, per);
            match round % 3 {
                0 => {}
                1 => fragments.reverse(),
                _ => rng.shuffle(&mut fragments),
            }
            let mut r = reassembler();
            let (packet, count) = complete(feed_all(&mut r, &fragments));
            assert_eq!(packet, layout.whole(&payload), "round {round}");
            assert_eq!(count, fragments.len());
            assert!(r.is_empty());
            assert_eq!((r.memory(), r.poll_at()), (0, None));
        }
    }
}

#[test]
fn extension_headers_before_the_fragment_header_are_kept_and_patched() {
    let layout = Layout::with_options(TCP);
    let payload = data(3000);
    let mut fragments = layout.fragments(7, &payload, 1448);
    // As sent: Hop-by-Hop names Destination Options, which names the Fragment header.
    assert_eq!(fragments[0][6], HOP_BY_HOP);
    assert_eq!(fragments[0][HEADER_LEN], DST_OPTS);
    assert_eq!(fragments[0][HEADER_LEN + 8], FRAGMENT);
    fragments.swap(0, 2);
    let (packet, _) = complete(feed_all(&mut reassembler(), &fragments));
    let view = Packet::new_checked(&packet[..]).expect("valid");
    assert_eq!(view.next_header(), NextHeader::HopByHop);
    assert_eq!(usize::from(view.payload_len()), 16 + payload.len());
    assert_eq!(view.payload()[0], DST_OPTS, "Hop-by-Hop unchanged");
    assert_eq!(view.payload()[8], TCP, "the Fragment header's Next Header");
    assert_eq!(&view.payload()[16..], &payload[..]);
    assert_eq!(
        walk(view.next_header(), view.payload(), false),
        Ok(Chain::Upper {
            protocol: IpProtocol::Tcp,
            offset: 16
        })
    );
}

#[test]
fn the_next_header_comes_from_the_first_fragment() {
    // Section 4.5: "Only the value from the Offset zero fragment packet is used".
    let layout = Layout::plain(UDP);
    let payload = data(2000);
    let mut fragments = layout.fragments(1, &payload, 1232);
    fragments[1][HEADER_LEN] = TCP;
    let (packet, _) = complete(feed_all(&mut reassembler(), &fragments));
    assert_eq!(packet, layout.whole(&payload));
}

#[test]
fn an_atomic_fragment_is_a_whole_packet_and_skips_reassembly() {
    for layout in [Layout::plain(UDP), Layout::with_options(UDP)] {
        let payload = data(100);
        let mut r = reassembler();
        // A packet in reassembly with the same Identification is not touched (RFC 6946).
        let pending = layout.fragments(9, &data(3000), 1448);
        assert_eq!(feed(&mut r, Instant::ZERO, &pending[1]), Reassembly::Held);
        let atomic = layout.fragment(9, 0, false, &payload);
        let (packet, count) = complete(feed(&mut r, Instant::ZERO, &atomic));
        assert_eq!((packet, count), (layout.whole(&payload), 1));
        assert_eq!(r.len(), 1);
        assert_eq!(feed(&mut r, Instant::ZERO, &pending[0]), Reassembly::Held);
        assert!(matches!(
            feed(&mut r, Instant::ZERO, &pending[2]),
            Reassembly::Complete { fragments: 3, .. }
        ));
    }
}

#[test]
fn more_fragments_on_a_length_not_a_multiple_of_8_points_at_payload_length() {
    for (layout, at) in [(Layout::plain(UDP), 0), (Layout::with_options(UDP), 16)] {
        let bad = layout.fragment(1, 0, true, &data(1001));
        let mut r = reassembler();
        let expected = (ParamProblemCode::ErroneousHeaderField, 4);
        assert_eq!(
            feed_at(&mut r, Instant::ZERO, &bad, at),
            dropped(DropReason::Fragment, Some(expected))
        );
        assert!(r.is_empty());
        // The walk finds the same problem first, with the same pointer.
        let packet = Packet::new_checked(&bad[..]).expect("valid");
        let verdict = walk(packet.next_header(), packet.payload(), false).unwrap_err();
        assert!(matches!(
            verdict,
            crate::ip::ipv6::Verdict::ParameterProblem { pointer: 4, .. }
        ));
    }
}

#[test]
fn a_fragment_ending_past_65535_points_at_the_fragment_offset() {
    for (layout, at) in [(Layout::plain(UDP), 0), (Layout::with_options(UDP), 16)] {
        let mut r = reassembler();
        // The largest end allowed: 65,535 bytes of payload with the Unfragmentable Part.
        let edge = 65_535 - at - 7;
        let fits = layout.fragment(1, edge & !7, false, &data(7 + edge % 8));
        assert_eq!(feed(&mut r, Instant::ZERO, &fits), Reassembly::Held);
        let past = layout.fragment(2, edge & !7, false, &data(8 + edge % 8));
        let pointer = (HEADER_LEN + at + 2) as u32;
        let expected = (ParamProblemCode::ErroneousHeaderField, pointer);
        assert_eq!(
            feed_at(&mut r, Instant::ZERO, &past, at),
            dropped(DropReason::ReassemblyTooBig, Some(expected))
        );
        let packet = Packet::new_checked(&past[..]).expect("valid");
        let verdict = walk(packet.next_header(), packet.payload(), false).unwrap_err();
        let walked = crate::ip::ipv6::Verdict::ParameterProblem {
            code: ParamProblemCode::ErroneousHeaderField,
            pointer,
            reason: crate::ip::ipv6::DropReason::BadFragment,
        };
        assert_eq!(verdict, walked, "the walk agrees");
    }
}

#[test]
fn a_first_fragment_without_the_whole_header_chain_is_dropped() {
    let mut r = reassembler();
    let incomplete = dropped(
        DropReason::ReassemblyIncompleteChain,
        Some((ParamProblemCode::IncompleteHeaderChain, 0)),
    );
    // 16 bytes of a 20-byte TCP header.
    let tcp = Layout::plain(TCP).fragment(1, 0, true, &data(16));
    assert_eq!(feed(&mut r, Instant::ZERO, &tcp), incomplete);
    // A Destination Options header of 24 bytes in a 16-byte first fragment.
    let mut chain = vec![UDP, 2];
    chain.extend_from_slice(&[0; 14]);
    let mut options = Layout::plain(UDP);
    options.upper = DST_OPTS;
    let cut_short = options.fragment(2, 0, true, &chain);
    assert_eq!(feed(&mut r, Instant::ZERO, &cut_short), incomplete);
    assert!(r.is_empty());
    // The same chain, whole, with 8 bytes of UDP after it: held.
    chain[1] = 1;
    chain.extend_from_slice(&[0; 8]);
    assert_eq!(
        feed(&mut r, Instant::ZERO, &options.fragment(3, 0, true, &chain)),
        Reassembly::Held
    );
    // 16 bytes of TCP further on, and a chain that ends with No Next Header, are fine.
    let later = Layout::plain(TCP).fragment(1, 1232, true, &data(16));
    assert_eq!(feed(&mut r, Instant::ZERO, &later), Reassembly::Held);
    let nothing = Layout::plain(59).fragment(4, 0, true, &data(8));
    assert_eq!(feed(&mut r, Instant::ZERO, &nothing), Reassembly::Held);
}

#[test]
fn an_overlap_drops_the_whole_packet_silently() {
    // RFC 5722 section 4: the fragment and every one held for its packet.
    let layout = Layout::plain(UDP);
    let payload = data(4000);
    let fragments = layout.fragments(1, &payload, 1448);
    let mut r = reassembler();
    feed(&mut r, Instant::ZERO, &fragments[0]);
    feed(&mut r, Instant::ZERO, &fragments[2]);
    let overlap = layout.fragment(1, 1440, true, &payload[1440..1480]);
    assert_eq!(
        feed(&mut r, Instant::ZERO, &overlap),
        Reassembly::Dropped(Dropped {
            reason: DropReason::ReassemblyOverlap,
            fragments: 3,
            problem: None
        })
    );
    assert!(r.is_empty());
    assert_eq!(r.memory(), 0);
    // What is left of the packet cannot complete: it waits for fragments that were dropped.
    assert_eq!(feed(&mut r, Instant::ZERO, &fragments[1]), Reassembly::Held);
}

#[test]
fn duplicates_are_dropped_alone_as_linux_does() {
    // Section 4.5 lets a receiver drop exact duplicates and keep the packet; Linux's
    // ip6_frag_queue does, for any fragment lying inside data it holds (IPFRAG_DUP).
    let layout = Layout::with_options(UDP);
    let payload = data(4000);
    let fragments = layout.fragments(1, &payload, 1448);
    let mut r = reassembler();
    let duplicate = dropped(DropReason::ReassemblyDuplicate, None);
    assert_eq!(feed(&mut r, Instant::ZERO, &fragments[0]), Reassembly::Held);
    assert_eq!(feed(&mut r, Instant::ZERO, &fragments[0]), duplicate);
    assert_eq!(feed(&mut r, Instant::ZERO, &fragments[2]), Reassembly::Held);
    assert_eq!(feed(&mut r, Instant::ZERO, &fragments[2]), duplicate);
    let inside = layout.fragment(1, 8, true, &payload[8..16]);
    assert_eq!(feed(&mut r, Instant::ZERO, &inside), duplicate);
    let (packet, count) = complete(feed(&mut r, Instant::ZERO, &fragments[1]));
    assert_eq!((packet, count), (layout.whole(&payload), 3));
}

#[test]
fn packets_from_other_sources_or_with_other_identifications_do_not_mix() {
    let a = Layout::plain(UDP);
    let b = Layout {
        src: Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 3),
        ..a.clone()
    };
    let (pa, pb, pc) = (data(2000), vec![0xb; 2000], vec![0xc; 2000]);
    let (fa, fb, fc) = (
        a.fragments(5, &pa, 1232),
        b.fragments(5, &pb, 1232),
        a.fragments(6, &pc, 1232),
    );
    let mut r = reassembler();
    for f in [&fa[0], &fb[0], &fc[1]] {
        assert_eq!(feed(&mut r, Instant::ZERO, f), Reassembly::Held);
    }
    assert_eq!(
        complete(feed(&mut r, Instant::ZERO, &fc[0])).0,
        a.whole(&pc)
    );
    assert_eq!(
        complete(feed(&mut r, Instant::ZERO, &fb[1])).0,
        b.whole(&pb)
    );
    assert_eq!(
        complete(feed(&mut r, Instant::ZERO, &fa[1])).0,
        a.whole(&pa)
    );
}

#[test]
fn times_out_after_60_seconds_and_quotes_the_first_fragment() {
    let layout = Layout::with_options(UDP);
    let fragments = layout.fragments(1, &data(4000), 1448);
    let mut r = reassembler();
    let t0 = Instant::from_secs(3);
    feed(&mut r, t0, &fragments[0]);
    feed(&mut r, t0 + Duration::from_secs(59), &fragments[2]);
    feed(
        &mut r,
        t0 + Duration::from_secs(1),
        &layout.fragments(2, &data(4000), 1448)[1],
    );
    assert_eq!(r.poll_at(), Some(t0 + Duration::from_secs(60)));
    assert!(r.expire(t0 + Duration::from_millis(59_999)).is_empty());
    let expired = r.expire(t0 + Duration::from_secs(60));
    assert_eq!(expired.len(), 1);
    assert_eq!(
        expired[0].key,
        Ipv6FragKey {
            src: SRC,
            dst: DST,
            ident: 1
        }
    );
    assert_eq!(expired[0].fragments, 2);
    // The quote is the first fragment packet as it came, Fragment header and all.
    let (header, first) = expired[0].first.clone().expect("offset 0 had come");
    assert_eq!([header, first].concat(), fragments[0]);
    // Packet 2 had no first fragment: its Time Exceeded is not sent.
    let expired = r.expire(t0 + Duration::from_secs(61));
    assert_eq!((expired.len(), expired[0].first.is_none()), (1, true));
    assert_eq!((r.memory(), r.poll_at()), (0, None));
}

#[test]
fn the_memory_bound_refuses_new_fragments_and_is_never_passed() {
    let mut r = reassembler();
    let layout = Layout::plain(UDP);
    let piece = data(1232);
    let (mut held, mut refused) = (0, 0);
    for ident in 0..5000 {
        match feed(
            &mut r,
            Instant::ZERO,
            &layout.fragment(ident, 0, true, &piece),
        ) {
            Reassembly::Held => held += 1,
            outcome => {
                assert_eq!(outcome, dropped(DropReason::ReassemblyMemory, None));
                refused += 1;
            }
        }
        assert!(r.memory() <= REASSEMBLY_CONFIG.memory_limit);
    }
    let each = r.memory() / held;
    assert!(refused > 0 && REASSEMBLY_CONFIG.memory_limit - r.memory() < each);
    // A packet that completes gives its memory back, and a new one fits again.
    let last = layout.fragment(0, 1232, false, &data(8));
    assert!(matches!(
        feed(&mut r, Instant::ZERO, &last),
        Reassembly::Complete { .. }
    ));
    assert_eq!(
        feed(
            &mut r,
            Instant::ZERO,
            &layout.fragment(9999, 0, true, &piece)
        ),
        Reassembly::Held
    );
}

#[test]
fn a_fragment_header_where_the_chain_does_not_lead_is_dropped() {
    let bytes = Layout::with_options(UDP).fragment(1, 0, true, &data(64));
    let mut r = reassembler();
    for at in [0, 8, 12, 24, 200] {
        let header = FragmentHeader {
            next_header: NextHeader::from(UDP),
            offset: 0,
            more_fragments: true,
            ident: 1,
        };
        let packet = Packet::new_checked(&bytes[..]).expect("valid");
        assert_eq!(
            reassemble(&mut r, Instant::ZERO, &packet, at, header),
            dropped(DropReason::Fragment, None),
            "at {at}"
        );
    }
    assert!(r.is_empty());
}
