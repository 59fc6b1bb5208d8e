//! A flood of random fragments: the memory bound holds at every step, every drop is counted,
//! and a real packet still gets through.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

/// One random fragment packet, its Fragment header, and where that header is: one of 1,024
/// sources, 64 Identifications, any offset (0 one time in 8), 0 to 1,232 bytes (a multiple of
/// 8 one time in 2), M or not, with or without
/// extension headers before the Fragment header, and sometimes a position that is wrong.
fn random_fragment(rng: &mut fastrand::Rng, buf: &[u8]) -> (Vec<u8>, FragmentHeader, usize) {
    let mut layout = if rng.bool() {
        Layout::plain(UDP)
    } else {
        Layout::with_options(TCP)
    };
    layout.src = Ipv6Addr::new(0xfd00, 0x66, 0, 0, 0, 0, 0, rng.u16(..1024));
    let header = FragmentHeader {
        next_header: NextHeader::from(layout.upper),
        offset: if rng.u8(..8) == 0 {
            0
        } else {
            rng.u16(..8192) * 8
        },
        more_fragments: rng.bool(),
        ident: rng.u32(..64),
    };
    let len = match rng.bool() {
        true => rng.usize(..=buf.len() / 8) * 8,
        false => rng.usize(..=buf.len()),
    };
    let offset = usize::from(header.offset);
    let bytes = layout.fragment(header.ident, offset, header.more_fragments, &buf[..len]);
    let at = match rng.u8(..32) {
        0 => rng.usize(..24),
        _ => layout.unfragmentable.len(),
    };
    (bytes, header, at)
}

/// 100,000 random fragment packets over 100 seconds of virtual time (so that the 60-second
/// timeout frees memory while the flood goes on), with a real 3-fragment packet from another
/// source every 1,000. Checks: the memory account never passes its bound; every fragment is
/// held, completes a packet, or is counted as dropped; a real packet either comes out whole or
/// lost a fragment to the memory bound; after the flood, a real packet gets through.
#[test]
fn a_flood_of_random_fragments_stays_bounded_and_a_real_packet_gets_through() {
    let mut rng = fastrand::Rng::with_seed(8200);
    let mut r = reassembler();
    let buf = data(1232);
    let real = Layout {
        src: Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 9),
        ..Layout::with_options(UDP)
    };
    let payload = data(3000);
    let mut drops: BTreeMap<DropReason, usize> = BTreeMap::new();
    let (mut held, mut completed, mut peak) = (0usize, 0usize, 0usize);
    let (mut real_sent, mut real_through) = (0u32, 0u32);
    let mut now = Instant::ZERO;
    for i in 0..100_000u32 {
        now += Duration::from_micros(rng.u64(..2_000));
        for expired in r.expire(now) {
            *drops.entry(DropReason::ReassemblyTimeout).or_default() += expired.fragments;
        }
        let (bytes, header, at) = random_fragment(&mut rng, &buf);
        let packet = Packet::new_checked(&bytes[..]).expect("valid");
        match reassemble(&mut r, now, &packet, at, header) {
            Reassembly::Held => held += 1,
            Reassembly::Complete { .. } => completed += 1,
            Reassembly::Dropped(d) => *drops.entry(d.reason).or_default() += d.fragments,
        }
        peak = peak.max(r.memory());
        assert!(r.memory() <= REASSEMBLY_CONFIG.memory_limit, "fragment {i}");
        if i % 1000 == 999 {
            real_sent += 1;
            let (mut through, mut refused) = (false, false);
            for fragment in real.fragments(real_sent, &payload, 1448) {
                match feed(&mut r, now, &fragment) {
                    Reassembly::Held => {}
                    Reassembly::Complete { packet, .. } => {
                        assert_eq!(packet, real.whole(&payload));
                        through = true;
                    }
                    Reassembly::Dropped(d) => {
                        assert_eq!(d.reason, DropReason::ReassemblyMemory);
                        refused = true;
                    }
                }
            }
            assert!(through != refused, "real packet {real_sent}");
            real_through += u32::from(through);
        }
    }
    eprintln!(
        "flood: {held} held, {completed} completed, dropped {drops:?}; peak {peak} bytes; \
         {real_through} of {real_sent} real packets through"
    );
    assert!(
        drops[&DropReason::ReassemblyMemory] > 0,
        "the flood reaches the bound"
    );
    assert!(
        drops[&DropReason::ReassemblyTimeout] > 0,
        "and outlives the timeout"
    );
    for reason in [
        DropReason::Fragment,
        DropReason::ReassemblyOverlap,
        DropReason::ReassemblyDuplicate,
        DropReason::ReassemblyTooBig,
        DropReason::ReassemblyIncompleteChain,
    ] {
        assert!(drops.get(&reason).is_some_and(|n| *n > 0), "no {reason}");
    }

    r.expire(now + REASSEMBLY_CONFIG.timeout);
    assert!(r.is_empty());
    assert_eq!((r.memory(), r.poll_at()), (0, None));
    let fragments = real.fragments(0, &payload, 1448);
    let (packet, count) = complete(feed_all(&mut r, &fragments));
    assert_eq!((packet, count), (real.whole(&payload), 3));
}
