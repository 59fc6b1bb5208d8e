//! Loss and the retransmission timer ([RFC 6298]).
//!
//! [RFC 6298]: https://www.rfc-editor.org/rfc/rfc6298

use std::io;
use std::time::Duration;

use super::harness::*;
use crate::tcp::{ConnId, Flags, SeqNumber, State};

/// How finely the tests below let time pass while waiting for a segment.
const STEP: Duration = Duration::from_millis(10);

fn established(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

#[test]
fn the_handshake_gives_the_first_rtt_sample_and_data_the_next() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    let syn_ack = h.expect();
    h.advance(Duration::from_millis(100));
    let ours = syn_ack.seq.0.wrapping_add(1);
    let theirs = PEER_ISN.wrapping_add(1);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours));
    let id = h.accept(80).unwrap();
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(
        info.srtt,
        Some(Duration::from_millis(100)),
        "the SYN-ACK was timed"
    );
    // RTO = SRTT + 4 × RTTVAR = 100 + 4 × 50 ms.
    assert_eq!(info.rto, Duration::from_millis(300));

    h.write(id, b"timed").unwrap();
    h.expect();
    h.advance(Duration::from_millis(200));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(5)));
    let info = h.host.tcp_info(id).unwrap();
    // RTTVAR = 3/4 × 50 + 1/4 × 100 = 62.5; SRTT = 7/8 × 100 + 1/8 × 200 = 112.5.
    assert_eq!(info.srtt, Some(Duration::from_micros(112_500)));
    assert_eq!(info.rttvar, Duration::from_micros(62_500));
    assert_eq!(info.rto, Duration::from_micros(362_500));
}

#[test]
fn a_lost_data_segment_is_sent_again_after_the_rto_and_backs_off() {
    let mut h = Harness::with_config(|c| c.retries = 4);
    let (id, ours, theirs) = established(&mut h);
    h.write(id, b"lost").unwrap();
    let first = h.expect();
    let mut waits = Vec::new();
    for n in 1..=4 {
        let (again, waited) = h.wait_for_segment(STEP, Duration::from_secs(60));
        assert_eq!(
            (again.seq, again.payload.as_slice()),
            (first.seq, &b"lost"[..])
        );
        assert_eq!(
            again.comment.unwrap(),
            format!("retransmission #{n} after RTO {} ms", waited.as_millis())
        );
        waits.push(waited.as_millis());
    }
    // The handshake measured an RTT of 0 here, so the RTO starts at its 200 ms floor.
    assert_eq!(waits, [200, 400, 800, 1600], "exponential backoff");
    // The fifth expiry gives up.
    h.advance(Duration::from_secs(4));
    h.expect_silence();
    assert_eq!(h.state(id), Some(State::Closed));
    assert_eq!(h.read(id).unwrap_err().kind(), io::ErrorKind::TimedOut);
    let _ = (ours, theirs);
}

#[test]
fn backoff_is_capped() {
    let mut h = Harness::with_config(|c| {
        c.retries = 10;
        c.rto.max = Duration::from_secs(5);
    });
    let (id, _, _) = established(&mut h);
    h.write(id, b"x").unwrap();
    h.expect();
    let waits: Vec<u128> = (0..6)
        .map(|_| {
            h.wait_for_segment(STEP, Duration::from_secs(60))
                .1
                .as_millis()
        })
        .collect();
    assert_eq!(waits, [200, 400, 800, 1600, 3200, 5000]);
}

#[test]
fn karns_rule_takes_no_sample_from_a_retransmission() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    let before = h.host.tcp_info(id).unwrap();
    h.write(id, b"x").unwrap();
    h.expect();
    h.wait_for_segment(STEP, Duration::from_secs(5));
    h.advance(Duration::from_millis(50));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1)));
    let after = h.host.tcp_info(id).unwrap();
    assert_eq!(
        after.srtt, before.srtt,
        "ambiguous: which copy was acknowledged?"
    );
    assert_eq!(
        after.rto, before.rto,
        "the backoff ends with new data acknowledged"
    );
}

#[test]
fn a_partial_ack_restarts_the_timer_and_goes_back_n() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, &vec![1u8; 4380]).unwrap();
    assert_eq!(h.recv_all().len(), 3);
    h.advance(Duration::from_millis(900));
    // The first segment arrives; the other two were lost.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1460)));
    h.expect_silence();
    let (again, waited) = h.wait_for_segment(STEP, Duration::from_secs(5));
    assert!(
        waited >= Duration::from_millis(200),
        "the timer restarted at the partial ACK"
    );
    assert_eq!(
        again.seq,
        SeqNumber(ours) + 1460,
        "from the oldest unacknowledged byte"
    );
    assert_eq!(
        h.recv_all().len(),
        0,
        "after a timeout the congestion window is one segment"
    );
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(2920)));
    let rest = h.recv_all();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].seq, SeqNumber(ours) + 2920);
}

#[test]
fn a_lost_syn_ack_is_recovered_and_the_handshake_completes() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    let syn_ack = h.expect();
    let (again, waited) = h.wait_for_segment(STEP, Duration::from_secs(5));
    assert_eq!(waited, Duration::from_secs(1));
    assert_eq!(again.seq, syn_ack.seq);
    h.send(&Seg::to(
        80,
        Flags::ACK,
        PEER_ISN.wrapping_add(1),
        syn_ack.seq.0 + 1,
    ));
    assert!(h.accept(80).is_some());
}

#[test]
fn an_ack_for_more_than_expected_moves_everything_on() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, &vec![0u8; 2920]).unwrap();
    h.recv_all();
    // A single ACK covering both segments ("stretch ACK").
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(2920)));
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(info.bytes_in_flight, 0);
    h.advance(Duration::from_secs(5));
    h.expect_silence();
}

#[test]
fn after_a_timeout_our_acks_carry_the_highest_sequence_number_sent() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, &[5; 3000]).unwrap();
    assert_eq!(h.recv_all().len(), 3);
    // No ACK: the timer goes back to the first segment, and resends only it (cwnd 1).
    let (again, _) = h.wait_for_segment(Duration::from_millis(10), Duration::from_secs(2));
    assert_eq!(again.seq, SeqNumber(ours));
    h.expect_silence();
    // The peer sends data: our ACK of it carries SND.MAX, not the rewound send point; a seq
    // below what the peer has received would make it answer with a duplicate ACK.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(b"hi"));
    let ack = h.expect();
    assert_eq!(ack.payload.len(), 0, "{ack:?}");
    assert_eq!(ack.seq, SeqNumber(ours) + 3000);
    assert_eq!(ack.ack, SeqNumber(theirs) + 2);
}
