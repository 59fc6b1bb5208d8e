//! The reassembler on a virtual clock: orders, duplicates, overlaps, timeouts and bounds.

use std::time::Duration;

use super::*;

const HEADER: &[u8] = b"first-header";

fn reassembler() -> Reassembler<u16> {
    Reassembler::new(ReassemblyConfig::default())
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

/// The fragments of `payload` in pieces of `per` bytes, as (offset, more, bytes).
fn cut(payload: &[u8], per: usize) -> Vec<(usize, bool, Vec<u8>)> {
    plan_for(payload.len(), per)
        .into_iter()
        .map(|(offset, len, more)| (offset, more, payload[offset..offset + len].to_vec()))
        .collect()
}

fn plan_for(len: usize, per: usize) -> Vec<(usize, usize, bool)> {
    crate::ip::fragment::plan(len, per)
        .iter()
        .map(|p| (p.offset, p.len, p.more))
        .collect()
}

fn give(
    r: &mut Reassembler<u16>,
    now: Instant,
    key: u16,
    frag: &(usize, bool, Vec<u8>),
) -> Outcome {
    let header = if frag.0 == 0 { HEADER } else { b"later-header" };
    r.insert(
        now,
        key,
        header,
        Fragment {
            offset: frag.0,
            more: frag.1,
            data: &frag.2,
        },
    )
}

/// Feeds `frags` in the given order; every outcome but the last must be `Held`.
fn feed_all(r: &mut Reassembler<u16>, frags: &[(usize, bool, Vec<u8>)]) -> Outcome {
    let mut last = Outcome::Held;
    for (i, frag) in frags.iter().enumerate() {
        assert_eq!(last, Outcome::Held, "before fragment {i}");
        last = give(r, Instant::ZERO, 1, frag);
    }
    last
}

fn complete(outcome: Outcome) -> Reassembled {
    match outcome {
        Outcome::Complete(whole) => whole,
        other => panic!("not complete: {other:?}"),
    }
}

#[test]
fn in_order() {
    let payload = data(4008);
    let mut r = reassembler();
    let whole = complete(feed_all(&mut r, &cut(&payload, 1480)));
    assert_eq!(whole.payload, payload);
    assert_eq!(whole.header, HEADER);
    assert_eq!(whole.fragments, 3);
    assert!(r.is_empty());
    assert_eq!(r.memory(), 0);
    assert_eq!(r.poll_at(), None);
}

#[test]
fn reversed() {
    let payload = data(8000);
    let mut frags = cut(&payload, 1480);
    frags.reverse();
    let mut r = reassembler();
    let whole = complete(feed_all(&mut r, &frags));
    assert_eq!(whole.payload, payload);
    assert_eq!(
        whole.header, HEADER,
        "the header of offset 0, not of the first to arrive"
    );
    assert_eq!(r.memory(), 0);
}

#[test]
fn shuffled() {
    let mut rng = fastrand::Rng::with_seed(11);
    for round in 0..200 {
        let payload = data(rng.usize(9..20_000));
        let mut frags = cut(&payload, rng.usize(1..200) * 8);
        if frags.len() > 64 {
            continue;
        }
        rng.shuffle(&mut frags);
        let mut r = reassembler();
        let whole = complete(feed_all(&mut r, &frags));
        assert_eq!(whole.payload, payload, "round {round}");
        assert_eq!(r.memory(), 0);
    }
}

#[test]
fn duplicates_are_dropped_and_the_datagram_kept() {
    let payload = data(4008);
    let frags = cut(&payload, 1480);
    let mut r = reassembler();
    assert_eq!(give(&mut r, Instant::ZERO, 1, &frags[0]), Outcome::Held);
    let memory = r.memory();
    let dup = Outcome::Dropped {
        reason: DropReason::ReassemblyDuplicate,
        fragments: 1,
    };
    assert_eq!(give(&mut r, Instant::ZERO, 1, &frags[0]), dup);
    assert_eq!(give(&mut r, Instant::ZERO, 1, &frags[2]), Outcome::Held);
    assert_eq!(
        give(&mut r, Instant::ZERO, 1, &frags[2]),
        dup,
        "the last one too"
    );
    // A piece inside what is held is a duplicate as well (Linux's IPFRAG_DUP).
    let inside = (8, true, payload[8..16].to_vec());
    assert_eq!(give(&mut r, Instant::ZERO, 1, &inside), dup);
    assert!(r.memory() > memory);
    let whole = complete(give(&mut r, Instant::ZERO, 1, &frags[1]));
    assert_eq!(whole.payload, payload);
}

#[test]
fn an_overlap_drops_the_whole_datagram() {
    let payload = data(4008);
    let frags = cut(&payload, 1480);
    let mut r = reassembler();
    give(&mut r, Instant::ZERO, 1, &frags[0]);
    give(&mut r, Instant::ZERO, 1, &frags[2]);
    // Starts inside the first fragment and runs into the hole.
    let overlap = (1472, true, payload[1472..1480 + 16].to_vec());
    assert_eq!(
        give(&mut r, Instant::ZERO, 1, &overlap),
        Outcome::Dropped {
            reason: DropReason::ReassemblyOverlap,
            fragments: 3
        }
    );
    assert!(r.is_empty());
    assert_eq!(r.memory(), 0);
    // The rest of the datagram now starts a new one, which cannot complete.
    assert_eq!(give(&mut r, Instant::ZERO, 1, &frags[1]), Outcome::Held);
}

#[test]
fn inconsistent_ends_drop_the_datagram() {
    let payload = data(4008);
    let frags = cut(&payload, 1480);
    let mut r = reassembler();
    give(&mut r, Instant::ZERO, 1, &frags[2]);
    // A second "last" fragment that ends elsewhere.
    let other_last = (0, false, payload[..1480].to_vec());
    let dropped = give(&mut r, Instant::ZERO, 1, &other_last);
    assert!(matches!(
        dropped,
        Outcome::Dropped {
            reason: DropReason::ReassemblyOverlap,
            fragments: 2
        }
    ));
    // Data beyond a known end.
    give(
        &mut r,
        Instant::ZERO,
        2,
        &(16, false, payload[16..32].to_vec()),
    );
    let beyond = (32, true, payload[32..48].to_vec());
    assert!(matches!(
        give(&mut r, Instant::ZERO, 2, &beyond),
        Outcome::Dropped { .. }
    ));
    assert_eq!(r.memory(), 0);
}

#[test]
fn malformed_fragments_are_refused() {
    let mut r = reassembler();
    let refused = Outcome::Dropped {
        reason: DropReason::Fragment,
        fragments: 1,
    };
    assert_eq!(
        give(&mut r, Instant::ZERO, 1, &(0, true, vec![0; 12])),
        refused
    );
    assert_eq!(give(&mut r, Instant::ZERO, 1, &(8, false, vec![])), refused);
    assert!(r.is_empty());
}

#[test]
fn missing_last_then_timeout() {
    let payload = data(4008);
    let frags = cut(&payload, 1480);
    let mut r = reassembler();
    let t0 = Instant::from_secs(5);
    give(&mut r, t0, 1, &frags[0]);
    give(&mut r, t0 + Duration::from_secs(10), 1, &frags[1]);
    assert_eq!(r.len(), 1);
    // The timer runs from the first fragment and does not restart.
    assert_eq!(r.poll_at(), Some(t0 + Duration::from_secs(30)));
    assert!(r.expire(t0 + Duration::from_millis(29_999)).is_empty());
    let expired = r.expire(t0 + Duration::from_secs(30));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].key, 1);
    assert_eq!(expired[0].fragments, 2);
    let (header, first) = expired[0].first.clone().expect("offset 0 had come");
    assert_eq!(
        (header.as_slice(), first.as_slice()),
        (HEADER, &payload[..1480])
    );
    assert!(r.is_empty());
    assert_eq!((r.memory(), r.poll_at()), (0, None));
}

#[test]
fn a_timeout_without_the_first_fragment_has_nothing_to_quote() {
    let payload = data(4008);
    let frags = cut(&payload, 1480);
    let mut r = reassembler();
    give(&mut r, Instant::ZERO, 1, &frags[2]);
    give(&mut r, Instant::from_secs(1), 2, &frags[0]);
    let expired = r.expire(Instant::from_secs(60));
    assert_eq!(expired.len(), 2);
    assert_eq!((expired[0].key, expired[0].first.is_none()), (1, true));
    assert_eq!((expired[1].key, expired[1].first.is_some()), (2, true));
}

#[test]
fn the_memory_bound_refuses_new_fragments() {
    let config = ReassemblyConfig {
        memory_limit: 10_000,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(config);
    let piece = (0, true, vec![0; 1480]);
    let mut held = 0;
    for key in 0..100 {
        match give(&mut r, Instant::ZERO, key, &piece) {
            Outcome::Held => held += 1,
            Outcome::Dropped {
                reason: DropReason::ReassemblyMemory,
                fragments: 1,
            } => {}
            other => panic!("{other:?}"),
        }
        assert!(r.memory() <= 10_000);
    }
    let each = DATAGRAM_OVERHEAD + FRAGMENT_OVERHEAD + HEADER.len() + 1480;
    assert_eq!(held, 10_000 / each);
    assert_eq!(r.memory(), held * each);
    // A datagram that completes gives its memory back.
    let last = (1480, false, vec![0; 8]);
    assert!(matches!(
        give(&mut r, Instant::ZERO, 0, &last),
        Outcome::Complete(_)
    ));
    assert_eq!(r.memory(), (held - 1) * each);
}

#[test]
fn too_big_drops_the_datagram() {
    let mut r = reassembler();
    give(&mut r, Instant::ZERO, 1, &(0, true, vec![0; 1480]));
    // 65,512 + 8 > 65,515: the datagram would be 65,540 bytes with its header.
    let beyond = (65_512, false, vec![0; 8]);
    assert_eq!(
        give(&mut r, Instant::ZERO, 1, &beyond),
        Outcome::Dropped {
            reason: DropReason::ReassemblyTooBig,
            fragments: 2
        }
    );
    assert!(r.is_empty());
    // The largest allowed: ends at exactly 65,515.
    let edge = (65_512, false, vec![0; 3]);
    assert_eq!(give(&mut r, Instant::ZERO, 2, &edge), Outcome::Held);
}

#[test]
fn too_many_fragments_drop_the_datagram() {
    let mut r = reassembler();
    for i in 0..64 {
        assert_eq!(
            give(&mut r, Instant::ZERO, 1, &(i * 16, true, vec![0; 8])),
            Outcome::Held
        );
    }
    assert_eq!(
        give(&mut r, Instant::ZERO, 1, &(64 * 16, true, vec![0; 8])),
        Outcome::Dropped {
            reason: DropReason::ReassemblyTooManyFragments,
            fragments: 65
        }
    );
    assert_eq!(r.memory(), 0);
}

#[test]
fn datagrams_with_other_keys_do_not_mix() {
    let a = data(3000);
    let b: Vec<u8> = a.iter().map(|x| !x).collect();
    let (fa, fb) = (cut(&a, 1480), cut(&b, 1480));
    let mut r = reassembler();
    for (x, y) in fa.iter().zip(&fb).take(2) {
        assert_eq!(give(&mut r, Instant::ZERO, 1, x), Outcome::Held);
        assert_eq!(give(&mut r, Instant::ZERO, 2, y), Outcome::Held);
    }
    assert_eq!(complete(give(&mut r, Instant::ZERO, 2, &fb[2])).payload, b);
    assert_eq!(complete(give(&mut r, Instant::ZERO, 1, &fa[2])).payload, a);
}

/// A flood of 100,000 random fragments from many sources: the memory account stays within its
/// bound at every step, once the timeout has passed nothing is left, and a real datagram then
/// gets through.
#[test]
fn a_flood_of_random_fragments_stays_bounded() {
    let config = ReassemblyConfig::default();
    let mut r: Reassembler<(u32, u16)> = Reassembler::new(config);
    let mut rng = fastrand::Rng::with_seed(2024);
    let buf = vec![0xab; 1480];
    let (mut held, mut complete, mut dropped, mut memory) = (0u64, 0u64, 0u64, 0u64);
    let mut peak = 0;
    let mut now = Instant::ZERO;
    for _ in 0..100_000 {
        now += Duration::from_micros(rng.u64(0..500));
        r.expire(now);
        let key = (rng.u32(..4096), rng.u16(..16));
        let offset = rng.usize(..8192) * 8;
        let len = rng.usize(1..=1480);
        let outcome = r.insert(
            now,
            key,
            HEADER,
            Fragment {
                offset,
                more: rng.bool(),
                data: &buf[..len],
            },
        );
        match outcome {
            Outcome::Held => held += 1,
            Outcome::Complete(_) => complete += 1,
            Outcome::Dropped {
                reason: DropReason::ReassemblyMemory,
                ..
            } => memory += 1,
            Outcome::Dropped { .. } => dropped += 1,
        }
        peak = peak.max(r.memory());
        assert!(r.memory() <= config.memory_limit);
    }
    eprintln!(
        "flood: {held} held, {complete} completed, {memory} refused at the memory bound, \
         {dropped} dropped otherwise; peak {peak} bytes, {} datagrams at the end",
        r.len()
    );
    assert!(memory > 0, "the flood reaches the bound");
    r.expire(now + config.timeout);
    assert!(r.is_empty());
    assert_eq!((r.memory(), r.poll_at()), (0, None));
    // Once the flood's datagrams have timed out, a real one gets through.
    let payload = data(4008);
    let mut last = Outcome::Held;
    for (offset, more, bytes) in cut(&payload, 1480).iter().rev() {
        assert_eq!(last, Outcome::Held);
        let fragment = Fragment {
            offset: *offset,
            more: *more,
            data: bytes,
        };
        last = r.insert(now, (1, 1), HEADER, fragment);
    }
    assert!(matches!(last, Outcome::Complete(whole) if whole.payload == payload));
}
