//! Tail loss probes (RFC 8985 section 7): when the ACKs stop, a probe after two round trips
//! instead of the retransmission timeout.

use std::time::Duration;

use super::harness::*;
use super::recovery::{plain, send_segments, STEP};
use crate::tcp::{ConnId, Flags};

/// A SACK connection whose SRTT is 10 ms: the handshake's round trip took that long.
pub(super) fn with_sack_and_srtt_10ms(h: &mut Harness) -> (ConnId, u32, u32) {
    h.listen(80);
    h.send(
        &Seg::to(80, Flags::SYN, PEER_ISN, 0)
            .with_mss(1000)
            .with_sack_permitted(),
    );
    let syn_ack = h.expect();
    h.advance(Duration::from_millis(10));
    let ours = syn_ack.seq.0.wrapping_add(1);
    let theirs = PEER_ISN.wrapping_add(1);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours));
    let id = h.accept(80).expect("established");
    assert_eq!(
        h.host.tcp_info(id).unwrap().srtt,
        Some(Duration::from_millis(10))
    );
    (id, ours, theirs)
}

#[test]
fn a_tail_loss_is_probed_after_two_round_trips_and_recovered_without_a_timeout() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack_and_srtt_10ms(&mut h);
    let seqs = send_segments(&mut h, id, 3);
    // All three lost: no ACK comes. After 2 × SRTT = 20 ms (well before the 200 ms RTO) the
    // last segment goes again: nothing new is left to send (RFC 8985 7.3).
    let (probe, waited) = h.wait_for_segment(STEP, Duration::from_millis(150));
    assert_eq!(waited, Duration::from_millis(20));
    assert_eq!(probe.seq.0, seqs[2], "the last segment");
    assert!(probe.comment.unwrap().starts_with("tail loss probe"));
    // The probe arrives; the peer SACKs it: the two before it are lost, resent at once.
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&[(seqs[2], seqs[2] + 1000)]));
    let resent: Vec<u32> = h.recv_all().iter().map(|s| s.seq.0).collect();
    assert_eq!(resent, [seqs[0], seqs[1]]);
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[2] + 1000));
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!((info.stats.timeouts, info.stats.tail_loss_probes), (0, 1));
    assert!(!info.in_recovery);
}

#[test]
fn a_tail_loss_probe_sends_new_data_when_the_window_allows() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack_and_srtt_10ms(&mut h);
    // Twelve segments written, ten sent (the initial window): the probe is the eleventh,
    // beyond the congestion window.
    h.write(id, &vec![7u8; 12 * 1000]).unwrap();
    let seqs: Vec<u32> = h.recv_all().iter().map(|s| s.seq.0).collect();
    assert_eq!(seqs.len(), 10);
    let (probe, waited) = h.wait_for_segment(STEP, Duration::from_millis(150));
    assert_eq!(waited, Duration::from_millis(20));
    assert_eq!(probe.seq.0, seqs[9] + 1000, "new data");
    assert!(probe
        .comment
        .unwrap()
        .starts_with("tail loss probe: new data"));
    // Only one probe: then the retransmission timer, restarted when the probe went.
    let (again, waited) = h.wait_for_segment(STEP, Duration::from_secs(1));
    assert_eq!(
        waited,
        h.host.tcp_info(id).unwrap().rto / 2,
        "the RTO, backed off once"
    );
    assert_eq!(again.seq.0, seqs[0]);
    assert!(again.comment.unwrap().contains("after RTO"));
    let _ = theirs;
}

#[test]
fn an_ack_in_time_cancels_the_probe() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack_and_srtt_10ms(&mut h);
    let seqs = send_segments(&mut h, id, 4);
    h.advance(Duration::from_millis(15));
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[2]));
    // The probe timer restarted at the ACK; it would be due 2 × SRTT later. Then the last
    // ACK comes, and nothing is outstanding: no probe at all.
    h.advance(Duration::from_millis(15));
    h.expect_silence();
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[3] + 1000));
    h.advance(Duration::from_secs(1));
    h.expect_silence();
    assert_eq!(h.host.tcp_info(id).unwrap().stats.tail_loss_probes, 0);
}

#[test]
fn without_sack_there_is_no_probe() {
    let mut h = Harness::new();
    let (id, _, _) = plain(&mut h);
    send_segments(&mut h, id, 3);
    let (seg, waited) = h.wait_for_segment(STEP, Duration::from_secs(2));
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(seg.comment.unwrap().contains("after RTO"));
}
