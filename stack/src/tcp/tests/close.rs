//! Closing: every close order, half-close, TIME-WAIT, abort.

use std::io;
use std::time::Duration;

use super::harness::*;
use crate::tcp::{ConnId, Flags, SeqNumber, State};

/// An established passive connection: (connection, our next seq, the peer's next seq).
fn established(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

#[test]
fn passive_close_close_wait_then_last_ack() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours).with_payload(b"bye"));
    let ack = h.expect();
    assert_eq!(ack.ack, SeqNumber(theirs) + 4, "data and FIN acknowledged");
    assert_eq!(h.state(id), Some(State::CloseWait));
    assert_eq!(h.read(id).unwrap().unwrap(), b"bye");
    assert_eq!(
        h.read(id).unwrap().unwrap(),
        b"",
        "end of stream after the data"
    );
    // We may still write in CLOSE-WAIT.
    h.write(id, b"last words").unwrap();
    assert_eq!(h.expect().payload, b"last words");
    h.host.tcp_release(id);
    let fin = h.expect();
    assert!(fin.flags.fin());
    assert_eq!(fin.seq, SeqNumber(ours) + 10);
    assert_eq!(h.state(id), Some(State::LastAck));
    // A duplicate ACK, and an ACK short of our FIN, change nothing.
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(4), ours));
    h.send(&Seg::to(
        80,
        Flags::ACK,
        theirs.wrapping_add(4),
        ours.wrapping_add(10),
    ));
    assert_eq!(h.state(id), Some(State::LastAck));
    // A retransmitted FIN of theirs is acknowledged again.
    h.send(&Seg::to(
        80,
        Flags::ACK | Flags::FIN,
        theirs.wrapping_add(3),
        ours.wrapping_add(10),
    ));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 4);
    h.send(&Seg::to(
        80,
        Flags::ACK,
        theirs.wrapping_add(4),
        ours.wrapping_add(11),
    ));
    assert_eq!(
        h.state(id),
        None,
        "closed and forgotten: no TIME-WAIT for the passive closer"
    );
}

#[test]
fn active_close_through_fin_wait_and_time_wait() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.host.tcp_shutdown(id).unwrap();
    let fin = h.expect();
    assert_eq!(
        (fin.flags, fin.seq),
        (Flags::ACK | Flags::FIN, SeqNumber(ours))
    );
    assert_eq!(h.state(id), Some(State::FinWait1));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1)));
    assert_eq!(h.state(id), Some(State::FinWait2));
    // Half-closed: the peer's data still comes in.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1)).with_payload(b"more"));
    h.expect();
    assert_eq!(h.read(id).unwrap().unwrap(), b"more");
    h.send(&Seg::to(
        80,
        Flags::ACK | Flags::FIN,
        theirs.wrapping_add(4),
        ours.wrapping_add(1),
    ));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 5);
    assert_eq!(h.state(id), Some(State::TimeWait));
    // Writing after shutdown is an error.
    assert_eq!(
        h.write(id, b"x").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );

    // TIME-WAIT: a retransmitted FIN is acknowledged again and restarts 2 MSL (2 s here).
    h.advance(Duration::from_millis(1500));
    h.send(&Seg::to(
        80,
        Flags::ACK | Flags::FIN,
        theirs.wrapping_add(4),
        ours.wrapping_add(1),
    ));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 5);
    h.advance(Duration::from_millis(1500));
    h.expect_silence();
    assert_eq!(
        h.state(id),
        Some(State::TimeWait),
        "restarted, 1.5 s of 2 s"
    );
    h.advance(Duration::from_millis(600));
    h.expect_silence();
    assert_eq!(h.state(id), Some(State::Closed));
    assert_eq!(
        h.read(id).unwrap().unwrap(),
        b"",
        "a closed stream reads end of file"
    );
    h.host.tcp_release(id);
    assert!(h.host.tcp_connections().is_empty());
}

#[test]
fn simultaneous_close_through_closing() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.host.tcp_shutdown(id).unwrap();
    h.expect();
    // Their FIN crosses ours: it does not acknowledge ours.
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours));
    assert_eq!(h.state(id), Some(State::Closing));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 1);
    h.send(&Seg::to(
        80,
        Flags::ACK,
        theirs.wrapping_add(1),
        ours.wrapping_add(1),
    ));
    assert_eq!(h.state(id), Some(State::TimeWait));
}

#[test]
fn fin_with_the_ack_of_ours_goes_straight_to_time_wait() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.host.tcp_shutdown(id).unwrap();
    h.expect();
    h.send(&Seg::to(
        80,
        Flags::ACK | Flags::FIN,
        theirs,
        ours.wrapping_add(1),
    ));
    assert_eq!(h.state(id), Some(State::TimeWait));
}

#[test]
fn simultaneous_close_raced_with_data() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, b"ours").unwrap();
    h.host.tcp_shutdown(id).unwrap();
    let seg = h.expect();
    assert_eq!(
        (seg.payload.as_slice(), seg.flags.fin()),
        (&b"ours"[..], true),
        "FIN rides on the data"
    );
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours).with_payload(b"theirs"));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 7);
    assert_eq!(h.state(id), Some(State::Closing));
    assert_eq!(h.read(id).unwrap().unwrap(), b"theirs");
    h.send(&Seg::to(
        80,
        Flags::ACK,
        theirs.wrapping_add(7),
        ours.wrapping_add(5),
    ));
    assert_eq!(h.state(id), Some(State::TimeWait));
}

#[test]
fn close_with_data_queued_sends_the_fin_after_it() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(1460));
    let data = vec![7u8; 3000];
    h.write(id, &data).unwrap();
    h.host.tcp_shutdown(id).unwrap();
    let first = h.recv_all();
    assert_eq!(first.len(), 1, "the window takes one segment");
    assert!(!first[0].flags.fin());
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1460)).with_window(65535));
    let rest = h.recv_all();
    let last = rest.last().unwrap();
    assert!(
        last.flags.fin(),
        "the FIN comes with the last byte: {rest:?}"
    );
    assert_eq!(last.seq + last.payload.len(), SeqNumber(ours) + 3000);
}

#[test]
fn a_fin_after_a_hole_waits_for_the_hole() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(
        &Seg::to(80, Flags::ACK | Flags::FIN, theirs.wrapping_add(5), ours).with_payload(b"world"),
    );
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs),
        "the FIN is early: not consumed"
    );
    assert_eq!(h.state(id), Some(State::Established));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(b"hello"));
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs) + 11,
        "data and the held FIN"
    );
    assert_eq!(h.state(id), Some(State::CloseWait));
    assert_eq!(h.read(id).unwrap().unwrap(), b"helloworld");
    assert_eq!(h.read(id).unwrap().unwrap(), b"");
}

#[test]
fn data_after_the_fin_is_rejected() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours).with_payload(b"end"));
    h.expect();
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(4), ours).with_payload(b"ghost"));
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs) + 4,
        "beyond the FIN: not taken"
    );
    assert_eq!(h.read(id).unwrap().unwrap(), b"end");
    assert_eq!(h.read(id).unwrap().unwrap(), b"");
}

#[test]
fn half_close_from_the_peer_we_keep_writing() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours));
    h.expect();
    for i in 0..3u32 {
        h.write(id, b"still here").unwrap();
        assert_eq!(h.expect().payload, b"still here");
        h.send(&Seg::to(
            80,
            Flags::ACK,
            theirs.wrapping_add(1),
            ours.wrapping_add(10 * (i + 1)),
        ));
    }
    assert_eq!(h.state(id), Some(State::CloseWait));
}

#[test]
fn abort_sends_a_reset_from_any_open_state() {
    for close_first in [false, true] {
        let mut h = Harness::new();
        let (id, ours, _) = established(&mut h);
        if close_first {
            h.host.tcp_shutdown(id).unwrap();
            h.expect();
        }
        h.host.tcp_abort(id);
        let rst = h.expect();
        assert!(rst.flags.rst());
        assert_eq!(rst.seq, SeqNumber(ours) + usize::from(close_first));
        assert!(h.host.tcp_connections().is_empty());
    }
    // In SYN-SENT, nobody knows of us: no reset.
    let mut h = Harness::new();
    let id = h.connect(9000);
    h.expect();
    h.host.tcp_abort(id);
    h.expect_silence();
}

#[test]
fn dropping_a_stream_with_unread_data_resets() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(b"unread"));
    h.expect();
    h.host.tcp_release(id);
    assert!(
        h.expect().flags.rst(),
        "RFC 2525: unread data is reported as a reset"
    );
}

#[test]
fn data_for_a_dropped_stream_resets() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.host.tcp_release(id);
    let fin = h.expect();
    assert!(fin.flags.fin());
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1)).with_payload(b"anyone?"));
    assert!(h.expect().flags.rst());
    assert!(h.host.tcp_connections().is_empty());
}

#[test]
fn a_dropped_stream_finishes_its_close_in_the_background() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, b"queued").unwrap();
    h.expect();
    h.host.tcp_release(id);
    let fin = h.expect();
    assert_eq!(fin.seq, SeqNumber(ours) + 6);
    h.send(&Seg::to(
        80,
        Flags::ACK | Flags::FIN,
        theirs,
        ours.wrapping_add(7),
    ));
    let last_ack = h.expect();
    // Nobody holds it: TIME-WAIT keeps only a record, no connection (listed all the same).
    assert_eq!(h.state(id), None);
    let listed: Vec<_> = h.host.tcp_connections().iter().map(|c| c.state).collect();
    assert_eq!(listed, [State::TimeWait]);
    assert_eq!(h.host.stats().handshakes.time_wait_records, 1);
    // The peer missed our ACK and sends its FIN again: the record answers.
    let fin_again = Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours.wrapping_add(7));
    h.send(&fin_again);
    let again = h.expect();
    assert_eq!((again.seq, again.ack), (last_ack.seq, last_ack.ack));
    assert!(again.comment.is_some_and(|c| c.contains("TIME-WAIT")));
    // 2 MSL later it is gone: the same FIN meets a closed port.
    h.advance(Duration::from_secs(3));
    h.expect_silence();
    assert!(h.host.tcp_connections().is_empty());
    h.send(&fin_again);
    assert!(h.expect().flags.rst(), "forgotten after TIME-WAIT");
}

#[test]
fn our_fin_is_retransmitted() {
    let mut h = Harness::new();
    let (id, ours, _) = established(&mut h);
    h.host.tcp_shutdown(id).unwrap();
    let fin = h.expect();
    h.advance(Duration::from_secs(1));
    let again = h.expect();
    assert_eq!((again.flags, again.seq), (fin.flags, SeqNumber(ours)));
    assert!(again.comment.unwrap().contains("retransmission #1"));
}

/// Our FIN goes out and is acknowledged; the peer never sends its own. `release`: the
/// application lets go of the connection, else it only shuts down writing. Returns the
/// connection, our next sequence number (after the FIN) and the peer's.
fn fin_acknowledged_never_answered(h: &mut Harness, release: bool) -> (ConnId, u32, u32) {
    let (id, ours, theirs) = established(h);
    if release {
        h.host.tcp_release(id);
    } else {
        h.host.tcp_shutdown(id).unwrap();
    }
    assert!(h.expect().flags.fin());
    let ours = ours.wrapping_add(1);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours));
    assert_eq!(h.state(id), Some(State::FinWait2));
    (id, ours, theirs)
}

#[test]
fn an_orphaned_fin_wait_2_is_forgotten_after_the_fin_timeout() {
    let mut h = Harness::new();
    let (id, _, _) = fin_acknowledged_never_answered(&mut h, true);
    // Linux's tcp_fin_timeout: 60 s after the peer was last heard from.
    h.advance(Duration::from_secs(59));
    h.expect_silence();
    assert_eq!(h.state(id), Some(State::FinWait2));
    h.advance(Duration::from_secs(1));
    h.expect_silence(); // quietly: no reset
    assert!(h.host.tcp_connections().is_empty());
}

#[test]
fn a_half_close_the_application_still_holds_waits_in_fin_wait_2() {
    let mut h = Harness::new();
    let (id, ours, theirs) = fin_acknowledged_never_answered(&mut h, false);
    h.advance(Duration::from_secs(3600));
    h.expect_silence();
    assert_eq!(h.state(id), Some(State::FinWait2));
    // The peer still has things to say, and we still read them.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(b"late"));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 4);
    assert_eq!(h.read(id).unwrap().unwrap(), b"late");
}

#[test]
fn a_new_syn_beyond_the_old_connection_reopens_its_time_wait() {
    // RFC 6191 (without timestamps: by sequence number): the same client port comes back.
    let mut h = Harness::new();
    let (_, ours, theirs) = fin_acknowledged_never_answered(&mut h, true);
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours));
    let last = h.expect();
    assert_eq!(last.ack, SeqNumber(theirs) + 1);
    assert_eq!(h.host.stats().handshakes.time_wait_records, 1);
    // An old SYN (below where the old connection ended) gets our ACK, not a new handshake.
    h.send(&Seg::to(80, Flags::SYN, theirs.wrapping_sub(10), 0));
    assert_eq!(h.expect().flags, Flags::ACK);
    // One beyond it starts a new connection on the listener.
    h.send(&Seg::to(80, Flags::SYN, theirs.wrapping_add(100_000), 0).with_mss(1460));
    let syn_ack = h.expect();
    assert_eq!(syn_ack.flags, Flags::SYN | Flags::ACK);
    assert_eq!(syn_ack.ack, SeqNumber(theirs.wrapping_add(100_001)));
}

#[test]
fn dropping_a_stream_with_linger_zero_resets_and_discards_unsent_data() {
    let mut h = Harness::new();
    let (id, ours, _) = established(&mut h);
    h.host.tcp_set_linger(id, Some(Duration::ZERO)).unwrap();
    assert_eq!(h.host.tcp_linger(id).unwrap(), Some(Duration::ZERO));
    h.write(id, b"never sent").unwrap();
    // Released before the data went out: a RST at SND.NXT, and no data, no FIN.
    h.host.tcp_release(id);
    let rst = h.expect();
    assert!(rst.flags.rst() && !rst.flags.fin());
    assert!(rst.payload.is_empty(), "unsent data is discarded");
    assert_eq!(rst.seq, SeqNumber(ours));
    h.expect_silence();
    assert!(h.host.tcp_connections().is_empty(), "no TIME-WAIT");
}

#[test]
fn dropping_a_stream_with_a_nonzero_linger_closes_gracefully() {
    let mut h = Harness::new();
    let (id, ours, _) = established(&mut h);
    h.host
        .tcp_set_linger(id, Some(Duration::from_secs(5)))
        .unwrap();
    h.write(id, b"queued").unwrap();
    h.expect();
    h.host.tcp_release(id);
    let fin = h.expect();
    assert!(fin.flags.fin() && !fin.flags.rst());
    assert_eq!(fin.seq, SeqNumber(ours) + 6);
}
