//! Keep-alive (RFC 9293 3.8.4) and the user timeout (RFC 9293 3.8.3).

use std::io;
use std::time::Duration;

use super::harness::*;
use crate::tcp::{ConnId, Flags, KeepAlive, SeqNumber, State};

const STEP: Duration = Duration::from_millis(100);

/// Probes after 10 s of silence, then every second, three of them.
const KEEPALIVE: KeepAlive = KeepAlive {
    idle: Duration::from_secs(10),
    interval: Duration::from_secs(1),
    probes: 3,
};

/// A connection opened by the peer, with keep-alive on. Returns it, our next sequence number
/// and the peer's.
fn idle_connection(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    h.host.tcp_set_keepalive(id, Some(KEEPALIVE)).unwrap();
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

#[test]
fn an_idle_connection_is_probed_and_an_answer_keeps_it_open() {
    let mut h = Harness::new();
    let (id, ours, theirs) = idle_connection(&mut h);
    let (probe, waited) = h.wait_for_segment(STEP, Duration::from_secs(60));
    assert_eq!(waited, KEEPALIVE.idle);
    // One below SND.NXT, no data: a byte the peer has, so a live peer answers.
    assert_eq!(probe.flags, Flags::ACK);
    assert_eq!(probe.seq, SeqNumber(ours) - 1);
    assert_eq!(probe.ack, SeqNumber(theirs));
    assert!(probe.payload.is_empty());
    assert!(probe.comment.unwrap().starts_with("keep-alive probe #1"));
    // The answer: the idle time starts over.
    h.advance(Duration::from_millis(500));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours));
    let (_, waited) = h.wait_for_segment(STEP, Duration::from_secs(60));
    assert_eq!(waited, KEEPALIVE.idle);
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(
        (info.state, info.stats.keepalive_probes),
        (State::Established, 2)
    );
}

#[test]
fn unanswered_probes_end_the_connection_with_timed_out() {
    let mut h = Harness::new();
    let (id, _, _) = idle_connection(&mut h);
    let mut sent_at = Vec::new();
    let mut elapsed = Duration::ZERO;
    while h.state(id) == Some(State::Established) {
        assert!(elapsed < Duration::from_secs(60), "still open");
        if h.recv().is_some() {
            sent_at.push(elapsed);
        }
        h.advance(STEP);
        elapsed += STEP;
    }
    let secs = |s| Duration::from_secs(s);
    assert_eq!(sent_at, [secs(10), secs(11), secs(12)]);
    // Given up one interval after the last probe.
    assert_eq!(elapsed, secs(13) + STEP);
    let err = h.read(id).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
}

#[test]
fn keepalive_is_off_by_default() {
    let mut h = Harness::new();
    let (id, _) = h.passive_open(80);
    assert_eq!(h.host.tcp_keepalive(id).unwrap(), None);
    for _ in 0..5 {
        h.advance(Duration::from_secs(3600));
        h.expect_silence();
    }
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn no_probe_while_data_waits_for_an_ack() {
    let mut h = Harness::new();
    let (id, ours, _) = idle_connection(&mut h);
    h.write(id, b"hello").unwrap();
    assert_eq!(h.expect().payload, b"hello");
    // The retransmission timer is in charge: what goes out after the idle time is the data
    // again, never a keep-alive probe.
    for _ in 0..(15_000 / STEP.as_millis()) {
        h.advance(STEP);
        for seg in h.recv_all() {
            assert_eq!(seg.seq, SeqNumber(ours), "{seg:?}");
        }
    }
    assert_eq!(h.host.tcp_info(id).unwrap().stats.keepalive_probes, 0);
}

#[test]
fn a_keepalive_probe_from_the_peer_is_answered() {
    let mut h = Harness::new();
    let (_, iss) = h.passive_open(80);
    let (ours, theirs) = (iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1));
    // Linux's probe has no data; older stacks send one byte of garbage. Either way the ACK
    // says where we are.
    for payload in [&b""[..], &b"?"[..]] {
        h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_sub(1), ours).with_payload(payload));
        let ack = h.expect();
        assert_eq!(
            (ack.flags, ack.seq, ack.ack),
            (Flags::ACK, SeqNumber(ours), SeqNumber(theirs))
        );
    }
}

/// A connection opened by the peer, with a 5 s user timeout.
fn with_user_timeout(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    h.host
        .tcp_set_user_timeout(id, Some(Duration::from_secs(5)))
        .unwrap();
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

/// Lets time pass until `id` closes; returns how long that took.
fn time_until_closed(h: &mut Harness, id: ConnId) -> Duration {
    let mut elapsed = Duration::ZERO;
    while h.state(id) != Some(State::Closed) {
        assert!(elapsed < Duration::from_secs(600), "still open");
        h.recv_all();
        h.advance(STEP);
        elapsed += STEP;
    }
    elapsed
}

#[test]
fn the_user_timeout_ends_a_connection_whose_data_is_never_acknowledged() {
    let mut h = Harness::new();
    let (id, _, _) = with_user_timeout(&mut h);
    h.write(id, b"hello").unwrap();
    // The retry limit (15) would take many minutes; the user timeout says 5 s.
    assert_eq!(time_until_closed(&mut h, id), Duration::from_secs(5) + STEP);
    assert_eq!(h.read(id).unwrap_err().kind(), io::ErrorKind::TimedOut);
}

#[test]
fn the_user_timeout_starts_over_when_data_is_acknowledged() {
    let mut h = Harness::new();
    let (id, ours, theirs) = with_user_timeout(&mut h);
    h.write(id, &[1; 2000]).unwrap();
    assert_eq!(h.recv_all().len(), 2);
    h.advance(Duration::from_secs(3));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1000)));
    // 5 s after the ACK, not after the first write.
    assert_eq!(time_until_closed(&mut h, id), Duration::from_secs(5) + STEP);
}

#[test]
fn the_user_timeout_counts_a_window_that_stays_closed() {
    let mut h = Harness::new();
    let (id, ours, theirs) = with_user_timeout(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
    h.write(id, b"hello").unwrap();
    // Every window probe is answered, with the window still closed: the peer is alive, but
    // nothing moves.
    let mut elapsed = Duration::ZERO;
    while h.state(id) != Some(State::Closed) {
        assert!(elapsed < Duration::from_secs(60), "still open");
        for seg in h.recv_all() {
            assert_eq!(seg.payload.len(), 1, "a window probe: {seg:?}");
            h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
        }
        h.advance(STEP);
        elapsed += STEP;
    }
    assert_eq!(elapsed, Duration::from_secs(5) + STEP);
}

#[test]
fn an_actively_opened_connection_is_probed_too() {
    let mut h = Harness::new();
    let (id, iss) = h.active_open(5000);
    h.host.tcp_set_keepalive(id, Some(KEEPALIVE)).unwrap();
    let (probe, waited) = h.wait_for_segment(STEP, Duration::from_secs(60));
    assert_eq!(waited, KEEPALIVE.idle);
    assert_eq!(probe.seq, iss);
}

#[test]
fn the_peers_own_probes_do_not_stop_ours() {
    let mut h = Harness::new();
    let (_, ours, theirs) = idle_connection(&mut h);
    // The peer probes every 4 s; we answer each. Its probes are not acceptable segments, so
    // they say nothing about the peer being there (it could be a stale half): ours still go
    // out 10 s after the last acceptable segment.
    let mut probes_at = Vec::new();
    let mut elapsed = Duration::ZERO;
    while elapsed < Duration::from_millis(10_500) {
        if elapsed.as_millis().is_multiple_of(4000) && !elapsed.is_zero() {
            h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_sub(1), ours));
        }
        for seg in h.recv_all() {
            if seg.seq == SeqNumber(ours) - 1 {
                probes_at.push(elapsed);
            }
        }
        h.advance(STEP);
        elapsed += STEP;
    }
    assert_eq!(probes_at, [KEEPALIVE.idle]);
}

#[test]
fn zero_keepalive_times_do_not_probe_in_a_loop() {
    let mut h = Harness::new();
    let (id, _) = h.passive_open(80);
    let zero = KeepAlive {
        idle: Duration::ZERO,
        interval: Duration::ZERO,
        probes: u32::MAX,
    };
    h.host.tcp_set_keepalive(id, Some(zero)).unwrap();
    // At most one probe per 10 ms, and only as time passes.
    assert!(h.recv_all().len() <= 1);
    h.advance(Duration::from_millis(100));
    let probes = h.recv_all().len();
    assert!((1..=11).contains(&probes), "{probes} probes in 100 ms");
}

#[test]
fn after_a_long_silence_the_probes_still_wait_their_interval() {
    // The host is called late (a suspended process): 9 minutes pass at once. The first probe
    // goes then; the next ones each wait their interval, not back to back.
    let mut h = Harness::new();
    let (id, _, _) = idle_connection(&mut h);
    h.advance(Duration::from_secs(540));
    let probes = h.recv_all();
    assert_eq!(probes.len(), 1, "{probes:?}");
    h.advance(Duration::from_micros(1));
    h.expect_silence();
    let (second, waited) = h.wait_for_segment(STEP, Duration::from_secs(60));
    assert!(second.comment.unwrap().starts_with("keep-alive probe #2"));
    assert_eq!(waited, KEEPALIVE.interval);
    assert_eq!(h.state(id), Some(State::Established));
}
