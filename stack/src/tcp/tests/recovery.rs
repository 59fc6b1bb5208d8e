//! Loss recovery: duplicate ACKs, fast retransmit, NewReno and SACK recovery, SACK blocks we
//! send, timestamps, delayed ACK.

use std::time::Duration;

use super::harness::*;
use crate::tcp::{ConnId, Flags, SeqNumber, State};

/// How finely the tests below let time pass while waiting for a segment.
pub(super) const STEP: Duration = Duration::from_millis(1);

/// A passive open where the peer offers what `syn` adds (SACK, timestamps...). Returns the
/// connection, our next sequence number and the peer's.
pub(super) fn open_with(h: &mut Harness, syn: Seg) -> (ConnId, u32, u32) {
    h.listen(80);
    h.send(&syn);
    let syn_ack = h.expect();
    let ours = syn_ack.seq.0.wrapping_add(1);
    let mut ack = Seg::to(80, Flags::ACK, PEER_ISN.wrapping_add(1), ours);
    ack.ts = syn_ack.ts.map(|(value, _)| (501, value));
    h.send(&ack);
    (
        h.accept(80).expect("established"),
        ours,
        PEER_ISN.wrapping_add(1),
    )
}

pub(super) fn plain(h: &mut Harness) -> (ConnId, u32, u32) {
    open_with(h, Seg::to(80, Flags::SYN, PEER_ISN, 0).with_mss(1000))
}

pub(super) fn with_sack(h: &mut Harness) -> (ConnId, u32, u32) {
    open_with(
        h,
        Seg::to(80, Flags::SYN, PEER_ISN, 0)
            .with_mss(1000)
            .with_sack_permitted(),
    )
}

/// Writes `n` segments' worth and returns the sequence numbers of the segments sent.
pub(super) fn send_segments(h: &mut Harness, id: ConnId, n: usize) -> Vec<u32> {
    h.write(id, &vec![7u8; n * 1000]).unwrap();
    let sent = h.recv_all();
    assert_eq!(sent.len(), n, "{sent:?}");
    sent.iter().map(|s| s.seq.0).collect()
}

#[test]
fn three_duplicate_acks_bring_a_fast_retransmit_not_two() {
    let mut h = Harness::new();
    let (id, ours, theirs) = plain(&mut h);
    let seqs = send_segments(&mut h, id, 6);
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1])); // segment 1 arrived, 2 lost
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]));
    h.expect_silence(); // two duplicates: maybe only reordering
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]));
    let again = h.expect();
    assert_eq!(again.seq, SeqNumber(seqs[1]), "segment 2 again, at once");
    assert!(again
        .comment
        .unwrap()
        .contains("fast retransmission after 3 duplicate ACKs"));
    let info = h.host.tcp_info(id).unwrap();
    assert!(info.in_recovery);
    assert_eq!(
        (info.stats.duplicate_acks, info.stats.fast_retransmissions),
        (3, 1)
    );
    let _ = ours;
}

#[test]
fn window_updates_and_data_are_not_duplicate_acks() {
    let mut h = Harness::new();
    let (id, _, theirs) = plain(&mut h);
    let seqs = send_segments(&mut h, id, 4);
    for window in [60000, 61000, 62000, 63000] {
        h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_window(window));
    }
    let mut seq = theirs;
    for _ in 0..4 {
        h.send(&Seg::to(80, Flags::ACK, seq, seqs[0]).with_payload(b"data"));
        seq = seq.wrapping_add(4);
    }
    let segs = h.recv_all();
    assert!(
        segs.iter().all(|s| s.payload.is_empty()),
        "only ACKs of their data: {segs:?}"
    );
    assert_eq!(h.host.tcp_info(id).unwrap().stats.duplicate_acks, 0);
}

#[test]
fn newreno_partial_ack_resends_the_next_hole_and_a_full_ack_ends_recovery() {
    let mut h = Harness::with_config(|c| c.congestion = crate::tcp::Algorithm::NewReno);
    let (id, _, theirs) = plain(&mut h);
    let seqs = send_segments(&mut h, id, 8);
    // Segments 1 and 4 were lost; the others arrive and bring duplicate ACKs.
    for _ in 0..3 {
        h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]));
    }
    assert_eq!(h.expect().seq, SeqNumber(seqs[0]));
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(
        info.ssthresh, 4000,
        "half of the 8000 bytes in flight (RFC 5681 eq. 4)"
    );
    // The resent segment 1 arrives: the ACK covers 1..3 only (partial): 4 goes again at once.
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[3]));
    let next = h.recv_all();
    assert_eq!(next[0].seq, SeqNumber(seqs[3]), "{next:?}");
    assert!(next[0]
        .comment
        .as_deref()
        .unwrap_or("")
        .contains("partial ACK"));
    assert!(h.host.tcp_info(id).unwrap().in_recovery);
    // Everything outstanding at the start is acknowledged: recovery is over.
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[7].wrapping_add(1000)));
    let info = h.host.tcp_info(id).unwrap();
    assert!(!info.in_recovery);
    assert_eq!(info.stats.timeouts, 0, "no timeout was needed");
}

#[test]
fn sack_recovery_resends_only_the_holes() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 10);
    let end = seqs[9].wrapping_add(1000);
    // Segments 2 and 5 (indices 1 and 4) lost. The peer reports what it holds.
    let holds = |upto: usize| -> Vec<(u32, u32)> {
        let mut blocks = vec![(seqs[2], seqs[4])];
        if upto > 5 {
            blocks.insert(0, (seqs[5], seqs[upto.min(9)].wrapping_add(1000)));
        }
        blocks
    };
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]).with_sack(&holds(3)));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]).with_sack(&holds(6)));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]).with_sack(&holds(9)));
    let resent: Vec<u32> = h
        .recv_all()
        .iter()
        .filter(|s| s.seq.0 < end)
        .map(|s| s.seq.0)
        .collect();
    assert_eq!(
        resent,
        [seqs[1], seqs[4]],
        "the two holes and nothing SACKed"
    );
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(
        info.stats.sack_retransmissions + info.stats.fast_retransmissions,
        2
    );
    assert_eq!(info.stats.sacked_bytes, 7000);
    h.send(&Seg::to(80, Flags::ACK, theirs, end));
    assert!(!h.host.tcp_info(id).unwrap().in_recovery);
}

/// With SACK, RFC 6675's IsLost counts segments reported held, not duplicate ACKs: the third
/// segment SACKed past the hole declares the loss. Here that comes with the second duplicate,
/// because the first segment past the hole was SACKed by the ACK that moved SND.UNA up to the
/// hole, which is no duplicate: what `captures/05-lossy-transfer.pcapng` shows (frames 23, 26,
/// 28, then the retransmission in frame 29), and what `stack/README.md` explains.
#[test]
fn with_sack_the_third_segment_held_past_the_hole_declares_the_loss() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 8);
    let held_past_the_hole = |n: usize| [(seqs[2], seqs[2 + n])];
    // Segment 0 and segment 2 arrived, segment 1 did not: one ACK says both.
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]).with_sack(&held_past_the_hole(1)));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]).with_sack(&held_past_the_hole(2)));
    h.expect_silence(); // one duplicate, two segments held: maybe only reordering
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[1]).with_sack(&held_past_the_hole(3)));
    let again = h.expect();
    assert_eq!(again.seq.0, seqs[1], "the hole, at once");
    assert_eq!(
        again.comment.as_deref(),
        Some("fast retransmission after 2 duplicate ACKs (SACK)")
    );
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(
        (info.stats.duplicate_acks, info.stats.fast_retransmissions),
        (2, 1)
    );
}

#[test]
fn reordering_by_two_segments_causes_no_retransmission() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 5);
    // Segment 1 arrives after segments 2 and 3: two duplicates, then the ACK of all.
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[2])]));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[3])]));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[3]));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[4].wrapping_add(1000)));
    h.expect_silence();
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!((info.stats.retransmissions, info.in_recovery), (0, false));
}

#[test]
fn we_send_sack_blocks_most_recent_first() {
    let mut h = Harness::new();
    let (id, ours, theirs) = with_sack(&mut h);
    // Bytes 100..200 and 400..500 arrive; 0..100 and 200..400 are missing.
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(100), ours).with_payload(&[1; 100]));
    let first = h.expect();
    assert_eq!(first.ack, SeqNumber(theirs));
    assert_eq!(
        first.sack,
        [(theirs.wrapping_add(100), theirs.wrapping_add(200))]
    );
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(400), ours).with_payload(&[1; 100]));
    let second = h.expect();
    assert_eq!(
        second.sack,
        [
            (theirs.wrapping_add(400), theirs.wrapping_add(500)),
            (theirs.wrapping_add(100), theirs.wrapping_add(200))
        ],
        "the newest block first"
    );
    // The holes fill: no SACK blocks any more.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&[1; 100]));
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(200), ours).with_payload(&[1; 200]));
    let last = h.recv_all().pop().unwrap();
    assert_eq!(last.ack, SeqNumber(theirs) + 500);
    assert!(last.sack.is_empty());
    assert_eq!(h.read(id).unwrap().unwrap().len(), 500);
}

#[test]
fn a_timeout_leaves_recovery_and_cuts_the_window_to_one_segment() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 6);
    for _ in 0..3 {
        h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[2])]));
    }
    h.recv_all();
    h.advance(Duration::from_secs(2));
    let after = h.recv_all();
    assert_eq!(after.len(), 1, "one segment after a timeout: {after:?}");
    assert_eq!(after[0].seq, SeqNumber(seqs[0]));
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!((info.cwnd, info.in_recovery), (1000, false));
    assert_eq!(info.stats.timeouts, 1);
}

#[test]
fn delayed_ack_waits_for_a_second_segment_or_40_ms() {
    let mut h = Harness::with_config(|c| c.delayed_ack = Some(Duration::from_millis(40)));
    let (id, ours, theirs) = plain(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&[1; 1000]));
    h.expect_silence();
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(1000), ours).with_payload(&[1; 1000]));
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs) + 2000,
        "every second full segment: at once"
    );
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(2000), ours).with_payload(&[1; 1000]));
    h.advance(Duration::from_millis(39));
    h.expect_silence();
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs) + 3000,
        "a lone segment: after 40 ms"
    );
    // Data to send carries the ACK with it.
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(3000), ours).with_payload(&[1; 10]));
    h.write(id, b"reply").unwrap();
    let reply = h.expect();
    assert_eq!(
        (reply.payload.len(), reply.ack),
        (5, SeqNumber(theirs) + 3010)
    );
    // Out of order: at once.
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(5000), ours).with_payload(&[1; 10]));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 3010);
}

#[test]
fn a_fin_is_acknowledged_at_once_even_with_delayed_ack() {
    let mut h = Harness::with_config(|c| c.delayed_ack = Some(Duration::from_millis(40)));
    let (id, ours, theirs) = plain(&mut h);
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours).with_payload(b"bye"));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 4);
    assert_eq!(h.state(id), Some(State::CloseWait));
}

#[test]
fn timestamps_are_echoed_and_time_a_retransmitted_segment() {
    let mut h = Harness::new();
    let (id, ours, theirs) = open_with(
        &mut h,
        Seg::to(80, Flags::SYN, PEER_ISN, 0)
            .with_mss(1000)
            .with_ts(500, 0),
    );
    assert!(h.host.tcp_info(id).unwrap().timestamps);
    h.write(id, b"x").unwrap();
    let first = h.expect();
    let (tsval, echo) = first.ts.expect("timestamps on every segment");
    assert_eq!(echo, 501, "the peer's latest timestamp is echoed");
    let before = h.host.tcp_info(id).unwrap().srtt;
    // The segment is resent after the RTO; the peer's ACK echoes the resent copy's timestamp,
    // 30 ms after it went: Karn alone would give no sample, timestamps do.
    h.advance(Duration::from_secs(1));
    let again = h.expect();
    let resent_ts = again.ts.unwrap().0;
    assert!(resent_ts > tsval);
    h.advance(Duration::from_millis(30));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1)).with_ts(502, resent_ts));
    let after = h.host.tcp_info(id).unwrap();
    assert_ne!(
        after.srtt, before,
        "an RTT sample from the echoed timestamp"
    );
    assert_eq!(
        after.stats.spurious_timeouts, 0,
        "the ACK was for the resent copy"
    );
}

#[test]
fn a_spurious_timeout_is_undone() {
    let mut h = Harness::new();
    let (id, ours, theirs) = open_with(
        &mut h,
        Seg::to(80, Flags::SYN, PEER_ISN, 0)
            .with_mss(1000)
            .with_ts(500, 0),
    );
    h.write(id, &[7u8; 3952]).unwrap();
    let sent = h.recv_all();
    assert_eq!(
        sent.len(),
        4,
        "988 bytes each: the MSS less 12 bytes of timestamps"
    );
    let original_ts = sent[0].ts.unwrap().0;
    let cwnd = h.host.tcp_info(id).unwrap().cwnd;
    h.advance(Duration::from_secs(1)); // the ACK is late, not lost: the timer expires
    let resent = h.expect();
    assert_eq!(resent.seq, sent[0].seq);
    assert_eq!(h.host.tcp_info(id).unwrap().cwnd, 1000);
    // The late ACK echoes the original segment's timestamp: the timeout was spurious.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(3952)).with_ts(502, original_ts));
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(info.stats.spurious_timeouts, 1);
    assert!(
        info.cwnd >= cwnd,
        "the window is restored (then grows with this ACK)"
    );
}

#[test]
fn limited_transmit_sends_a_new_segment_on_each_of_the_first_two_duplicates() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    // Twelve segments written; the initial window (ten) lets ten go.
    h.write(id, &vec![7u8; 12 * 1000]).unwrap();
    let seqs: Vec<u32> = h.recv_all().iter().map(|s| s.seq.0).collect();
    assert_eq!(seqs.len(), 10);
    let next = seqs[9].wrapping_add(1000);
    // Segment 1 lost; 2 arrives: the first duplicate lets segment 11 go (RFC 3042)...
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[2])]));
    let sent = h.recv_all();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].seq.0, next, "new data, not a retransmission");
    // ... the second, segment 12 ...
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[3])]));
    assert_eq!(h.expect().seq.0, next.wrapping_add(1000));
    // ... and the third brings the fast retransmission.
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[4])]));
    assert_eq!(h.expect().seq.0, seqs[0]);
    assert_eq!(h.host.tcp_info(id).unwrap().stats.timeouts, 0);
}

#[test]
fn early_retransmit_needs_only_one_duplicate_when_two_segments_are_out() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 2);
    // The first lost, the second arrives: one duplicate is all the peer can ever send, and
    // nothing is left to send to bring more (RFC 5827).
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[1] + 1000)]));
    let again = h.expect();
    assert_eq!(again.seq.0, seqs[0], "at once, not after the timeout");
    assert!(again
        .comment
        .unwrap()
        .contains("fast retransmission after 1 duplicate ACKs"));
    // With four or more out, three are still needed.
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 4);
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[2])]));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[1], seqs[3])]));
    h.expect_silence();
    let _ = id;
}

#[test]
fn a_lost_fast_retransmission_is_sent_again_without_a_timeout() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    h.write(id, &vec![7u8; 30 * 1000]).unwrap();
    let seqs: Vec<u32> = h.recv_all().iter().map(|s| s.seq.0).collect();
    assert_eq!(seqs.len(), 10);
    let sacked = |upto: u32| [(seqs[1], upto)];
    // Segment 1 lost; three duplicates: fast retransmit, and recovery sends new data as the
    // SACKs show the pipe draining.
    let mut end = seqs[1];
    for i in 2..=4 {
        end = seqs[i - 1].wrapping_add(1000);
        h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&sacked(end)));
    }
    let sent = h.recv_all();
    assert!(sent.iter().any(|s| s.seq.0 == seqs[0]), "{sent:?}");
    // The retransmission is lost too. The rest of the flight and what recovery sent after the
    // retransmission arrive, in order.
    let mut resent = Vec::new();
    let mut top = seqs[9].wrapping_add(1000);
    for _ in 0..12 {
        end = end.wrapping_add(1000);
        h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&sacked(end)));
        for seg in h.recv_all() {
            if seg.seq.0 == seqs[0] {
                resent.push(seg);
            } else if !seg.payload.is_empty() {
                top = top.max(seg.seq.0.wrapping_add(seg.payload.len() as u32));
            }
        }
        if !resent.is_empty() || end == top {
            break;
        }
    }
    assert_eq!(
        resent.len(),
        1,
        "segment 1 a third time, before any timeout"
    );
    assert!(resent[0]
        .comment
        .as_deref()
        .unwrap()
        .contains("was lost too"));
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(
        (info.stats.timeouts, info.stats.lost_retransmissions),
        (0, 1)
    );
}

#[test]
fn after_a_spurious_timeout_a_later_loss_is_found_by_duplicate_acks() {
    let mut h = Harness::new();
    let (id, _, theirs) = open_with(
        &mut h,
        Seg::to(80, Flags::SYN, PEER_ISN, 0)
            .with_mss(1000)
            .with_sack_permitted()
            .with_ts(500, 0),
    );
    h.write(id, &[7u8; 8 * 988]).unwrap();
    let sent = h.recv_all();
    assert_eq!(sent.len(), 8);
    let seq = |i: usize| sent[i].seq.0;
    let original_ts = sent[0].ts.unwrap().0;
    h.advance(Duration::from_secs(1)); // the ACKs are late: the timer expires
    assert_eq!(h.expect().seq, sent[0].seq);
    // The late ACK of the first four segments echoes the original's timestamp: spurious,
    // undone. Segment 5 was lost; the peer holds 6 to 8 and says so, three times.
    let ack = |sack_to: usize| {
        Seg::to(80, Flags::ACK, theirs, seq(4))
            .with_ts(502, original_ts)
            .with_sack(&[(seq(5), seq(sack_to).wrapping_add(988))])
    };
    h.send(&Seg::to(80, Flags::ACK, theirs, seq(4)).with_ts(502, original_ts));
    assert_eq!(h.host.tcp_info(id).unwrap().stats.spurious_timeouts, 1);
    h.recv_all();
    for sack_to in 5..=7 {
        h.send(&ack(sack_to));
    }
    // A fast retransmission, not a second timeout.
    let resent: Vec<Seg> = h.recv_all();
    assert!(
        resent.iter().any(|s| s.seq.0 == seq(4)),
        "segment 5 resent at once: {resent:?}"
    );
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!((info.stats.timeouts, info.stats.fast_recoveries), (1, 1));
}
