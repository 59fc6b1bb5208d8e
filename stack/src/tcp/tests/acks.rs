//! When the receiver acknowledges: quick ACKs at a connection's start, then one cumulative ACK
//! per batch of in-order segments (but one at least every `MAX_STRETCH` segments, or every
//! second super-packet), and an ACK
//! at once for anything out of order (RFC 5681 4.2, RFC 9293 3.8.6.3).
//!
//! A batch is what the host receives before it is next asked for packets to send: the driver
//! hands it up to 64 packets at a time; here, the segments `send` gives it between two `recv`s.

use std::time::Duration;

use super::harness::*;
use super::recovery::{open_with, plain, with_sack};
use crate::tcp::receiver::{MAX_STRETCH, QUICK_ACKS};
use crate::tcp::{ConnId, Flags, SeqNumber};

/// The MSS `plain` and `with_sack` agree on.
const MSS: u32 = 1000;

/// The peer sends `n` full segments from `from`, all in one batch.
fn batch(h: &mut Harness, ours: u32, from: u32, n: u32) {
    for i in 0..n {
        let seq = from.wrapping_add(i * MSS);
        h.send(&Seg::to(80, Flags::ACK, seq, ours).with_payload(&[1; MSS as usize]));
    }
}

/// Uses up the quick ACKs: `2 * QUICK_ACKS` full segments, two at a time, each pair
/// acknowledged at once. Returns the peer's next sequence number.
fn past_the_quick_acks(h: &mut Harness, ours: u32, theirs: u32) -> u32 {
    let mut next = theirs;
    for _ in 0..QUICK_ACKS {
        batch(h, ours, next, 2);
        next = next.wrapping_add(2 * MSS);
        let acks = h.recv_all();
        assert_eq!(acks.len(), 1, "{acks:?}");
        assert_eq!(acks[0].ack, SeqNumber(next));
    }
    next
}

/// Reads everything, so that the window stays open.
fn drain(h: &mut Harness, id: ConnId) {
    while h.read(id).unwrap().is_some_and(|data| !data.is_empty()) {}
}

#[test]
fn the_first_segments_are_acknowledged_two_at_a_time_at_once() {
    let mut h = Harness::new();
    let (_, ours, theirs) = plain(&mut h);
    batch(&mut h, ours, theirs, 10);
    let acks = h.recv_all();
    let acked: Vec<SeqNumber> = acks.iter().map(|ack| ack.ack).collect();
    let every_second: Vec<SeqNumber> = (1..=5)
        .map(|i| SeqNumber(theirs.wrapping_add(i * 2 * MSS)))
        .collect();
    assert_eq!(acked, every_second, "quick ACKs: one per two segments");
}

#[test]
fn after_the_quick_acks_one_ack_covers_a_whole_batch() {
    let mut h = Harness::new();
    let (id, ours, theirs) = plain(&mut h);
    let next = past_the_quick_acks(&mut h, ours, theirs);
    drain(&mut h, id);
    // Announcing the window the read opened is an ACK of its own; it goes first.
    let update = h.recv_all();
    assert!(update.len() <= 1, "{update:?}");

    batch(&mut h, ours, next, 10);
    let acks = h.recv_all();
    assert_eq!(acks.len(), 1, "one ACK for ten segments: {acks:?}");
    assert_eq!(acks[0].ack, SeqNumber(next.wrapping_add(10 * MSS)));
    assert_eq!(acks[0].flags, Flags::ACK);
    assert_eq!(
        h.read(id).unwrap().map(|d| d.len()),
        Some(10 * MSS as usize)
    );
}

#[test]
fn with_delayed_ack_a_batch_of_two_goes_at_its_end_and_a_lone_segment_waits() {
    let mut h = Harness::with_config(|c| c.delayed_ack = Some(Duration::from_millis(40)));
    let (id, ours, theirs) = plain(&mut h);
    let next = past_the_quick_acks(&mut h, ours, theirs);
    drain(&mut h, id);
    h.recv_all();

    batch(&mut h, ours, next, 2);
    assert_eq!(h.expect().ack, SeqNumber(next.wrapping_add(2 * MSS)));
    h.expect_silence();
    batch(&mut h, ours, next.wrapping_add(2 * MSS), 1);
    h.advance(Duration::from_millis(39));
    h.expect_silence();
    h.advance(Duration::from_millis(1));
    assert_eq!(h.expect().ack, SeqNumber(next.wrapping_add(3 * MSS)));
}

#[test]
fn out_of_order_segments_in_a_batch_are_acknowledged_each_at_once() {
    let mut h = Harness::new();
    let (id, ours, theirs) = with_sack(&mut h);
    let next = past_the_quick_acks(&mut h, ours, theirs);
    drain(&mut h, id);
    h.recv_all();

    // Three in order, one lost, three after the hole: all in one batch.
    batch(&mut h, ours, next, 3);
    let hole = next.wrapping_add(3 * MSS);
    batch(&mut h, ours, hole.wrapping_add(MSS), 3);
    let acks = h.recv_all();
    assert_eq!(acks.len(), 3, "a duplicate ACK per early segment: {acks:?}");
    for (i, ack) in (1..).zip(&acks) {
        assert_eq!(ack.ack, SeqNumber(hole), "{ack:?}");
        let sacked = (hole.wrapping_add(MSS), hole.wrapping_add((1 + i) * MSS));
        assert_eq!(ack.sack.first(), Some(&sacked), "{ack:?}");
    }

    // The segment that fills the hole, and two more behind it: the fill is acknowledged at
    // once, the two in order after it at the end of the batch, together.
    batch(&mut h, ours, hole, 1);
    let after = hole.wrapping_add(4 * MSS);
    batch(&mut h, ours, after, 2);
    let acks = h.recv_all();
    let acked: Vec<SeqNumber> = acks.iter().map(|ack| ack.ack).collect();
    assert_eq!(
        acked,
        [SeqNumber(after), SeqNumber(after.wrapping_add(2 * MSS))]
    );
    assert!(acks[1].sack.is_empty(), "{:?}", acks[1]);
}

#[test]
fn a_long_batch_is_acknowledged_every_max_stretch_segments() {
    let mut h = Harness::new();
    let (id, ours, theirs) = plain(&mut h);
    let next = past_the_quick_acks(&mut h, ours, theirs);
    drain(&mut h, id);
    h.recv_all();

    let stretch = MAX_STRETCH as u32;
    batch(&mut h, ours, next, 2 * stretch + 3);
    let acked: Vec<SeqNumber> = h.recv_all().iter().map(|ack| ack.ack).collect();
    let expected: Vec<SeqNumber> = [stretch, 2 * stretch, 2 * stretch + 3]
        .iter()
        .map(|n| SeqNumber(next.wrapping_add(n * MSS)))
        .collect();
    assert_eq!(acked, expected);
}

#[test]
fn a_super_packet_does_not_stretch_the_acks_after_it() {
    let mut h = Harness::new();
    let (id, ours, theirs) = plain(&mut h);
    let mut next = past_the_quick_acks(&mut h, ours, theirs);
    drain(&mut h, id);
    h.recv_all();

    // Twenty segments at once, as a device's GRO hands them up: more than any MSS, so no
    // measure of the peer's.
    let big = 20 * MSS;
    h.send(&Seg::to(80, Flags::ACK, next, ours).with_payload(&vec![1; big as usize]));
    next = next.wrapping_add(big);
    assert_eq!(h.expect().ack, SeqNumber(next));
    drain(&mut h, id);
    h.recv_all();

    // Ordinary segments after it are still counted in the peer's MSS: an ACK every
    // MAX_STRETCH of them, as before the super-packet.
    let stretch = MAX_STRETCH as u32;
    batch(&mut h, ours, next, stretch + 3);
    let acked: Vec<SeqNumber> = h.recv_all().iter().map(|ack| ack.ack).collect();
    let expected: Vec<SeqNumber> = [stretch, stretch + 3]
        .iter()
        .map(|n| SeqNumber(next.wrapping_add(n * MSS)))
        .collect();
    assert_eq!(acked, expected);
}

#[test]
fn super_packets_are_acknowledged_every_second_one() {
    let mut h = Harness::new();
    let (id, ours, theirs) = plain(&mut h);
    let next = past_the_quick_acks(&mut h, ours, theirs);
    drain(&mut h, id);
    h.recv_all();

    // Five super-packets in one batch, each more than MAX_STRETCH segments: an ACK after the
    // second and the fourth, as for two full-sized segments, and one at the batch's end.
    let big = (MAX_STRETCH as u32 + 4) * MSS;
    for i in 0..5 {
        let seq = next.wrapping_add(i * big);
        h.send(&Seg::to(80, Flags::ACK, seq, ours).with_payload(&vec![1; big as usize]));
        drain(&mut h, id);
    }
    let acked: Vec<SeqNumber> = h.recv_all().iter().map(|ack| ack.ack).collect();
    let expected: Vec<SeqNumber> = [2, 4, 5]
        .iter()
        .map(|n| SeqNumber(next.wrapping_add(n * big)))
        .collect();
    assert_eq!(acked, expected);
}

#[test]
fn while_a_hole_is_open_the_window_stays_so_the_acks_stay_duplicates() {
    let mut h = Harness::new();
    // Window scaling, so that the window field is not pinned at 65,535.
    let syn = Seg::to(80, Flags::SYN, PEER_ISN, 0).with_mss(MSS as u16);
    let (id, ours, theirs) = open_with(&mut h, syn.with_window_scale(0));
    // 32 segments in order, acknowledged, not read yet.
    let next = past_the_quick_acks(&mut h, ours, theirs);
    assert!(h.recv_all().is_empty());

    // The segment at `next` is lost; three after it arrive, and the application reads the
    // in-order bytes meanwhile, which frees room. An ACK with another window would not be a
    // duplicate (RFC 5681 section 2), and a sender that counts them would not resend the hole.
    let mut acks = Vec::new();
    for i in 1..=3 {
        let seq = next.wrapping_add(i * MSS);
        h.send(&Seg::to(80, Flags::ACK, seq, ours).with_payload(&[1; MSS as usize]));
        acks.extend(h.recv_all());
        drain(&mut h, id);
    }
    let seen: Vec<(SeqNumber, u16)> = acks.iter().map(|a| (a.ack, a.window)).collect();
    assert_eq!(seen, vec![(SeqNumber(next), acks[0].window); 3]);

    // The hole filled: the window takes in the room the reads made.
    h.send(&Seg::to(80, Flags::ACK, next, ours).with_payload(&[1; MSS as usize]));
    let filled = h.recv_all();
    let last = filled.last().unwrap();
    assert_eq!(last.ack, SeqNumber(next.wrapping_add(4 * MSS)));
    assert!(last.window > acks[0].window, "{filled:?}");
}
