//! Resets and blind attacks ([RFC 5961]): only an exact RST resets; everything else in the
//! window gets a rate-limited challenge ACK.
//!
//! [RFC 5961]: https://www.rfc-editor.org/rfc/rfc5961

use std::io;
use std::time::Duration;

use super::harness::*;
use crate::stats::DropReason;
use crate::tcp::{ConnId, Flags, SeqNumber, State};

fn established(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

#[test]
fn an_exact_rst_resets() {
    let mut h = Harness::new();
    let (id, _, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::RST, theirs, 0));
    h.expect_silence();
    assert_eq!(h.state(id), Some(State::Closed));
    assert_eq!(
        h.read(id).unwrap_err().kind(),
        io::ErrorKind::ConnectionReset
    );
    assert_eq!(
        h.write(id, b"x").unwrap_err().kind(),
        io::ErrorKind::ConnectionReset,
        "writing after a reset reports the reset"
    );
}

#[test]
fn an_in_window_rst_gets_a_challenge_ack() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::RST, theirs.wrapping_add(100), 0));
    let challenge = h.expect();
    assert_eq!(challenge.flags, Flags::ACK);
    assert_eq!(
        (challenge.seq, challenge.ack),
        (SeqNumber(ours), SeqNumber(theirs))
    );
    assert!(challenge.comment.unwrap().contains("challenge ACK"));
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn an_out_of_window_rst_is_ignored() {
    let mut h = Harness::new();
    let (id, _, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::RST, theirs.wrapping_add(10_000_000), 0));
    h.send(&Seg::to(80, Flags::RST, theirs.wrapping_sub(1), 0));
    h.expect_silence();
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn a_rst_with_data_resets_too() {
    let mut h = Harness::new();
    let (id, _, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::RST | Flags::ACK, theirs, 0).with_payload(b"diagnostic text"));
    assert_eq!(h.state(id), Some(State::Closed));
    h.expect_silence();
}

#[test]
fn a_syn_in_a_synchronized_state_gets_a_challenge_ack() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    // In the window or not, a SYN never resets (RFC 5961 4.2).
    for seq in [theirs, theirs.wrapping_add(500), 12345] {
        h.advance(Duration::from_millis(500)); // past the per-connection limit
        h.send(&Seg::to(80, Flags::SYN, seq, 0));
        let challenge = h.expect();
        assert_eq!(
            (challenge.flags, challenge.ack),
            (Flags::ACK, SeqNumber(theirs))
        );
        assert_eq!(challenge.seq, SeqNumber(ours));
    }
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn challenge_acks_are_rate_limited() {
    // One per connection every 500 ms (as Linux's tcp_invalid_ratelimit); the host-wide budget,
    // drawn anew each second, is tested in `tcp/challenge.rs`.
    let mut h = Harness::new();
    let (_, _, theirs) = established(&mut h);
    for i in 0..10u32 {
        h.send(&Seg::to(80, Flags::RST, theirs.wrapping_add(10 + i), 0));
    }
    assert_eq!(h.recv_all().len(), 1, "one challenge ACK");
    assert_eq!(
        h.host.stats().tcp.dropped.get(DropReason::RateLimited),
        9,
        "the other nine counted"
    );
    h.advance(Duration::from_millis(499));
    h.send(&Seg::to(80, Flags::SYN, 12345, 0));
    h.expect_silence();
    h.advance(Duration::from_millis(1));
    h.send(&Seg::to(80, Flags::SYN, 12345, 0));
    assert_eq!(h.expect().flags, Flags::ACK, "500 ms later, the next");
}

#[test]
fn an_ack_too_old_gets_a_challenge_ack() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    // Nothing sent yet, so MAX.SND.WND bounds how far behind SND.UNA an ACK may be.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_sub(1_000_000)).with_payload(b"x"));
    let challenge = h.expect();
    assert_eq!(challenge.ack, SeqNumber(theirs), "the data was not taken");
    assert_eq!(h.read(id).unwrap(), None);
}

#[test]
fn never_a_rst_for_a_rst() {
    let mut h = Harness::new();
    h.listen(80);
    for flags in [Flags::RST, Flags::RST | Flags::ACK] {
        h.send(&Seg::to(81, flags, 1, 1));
        h.send(&Seg::to(80, flags, 1, 1));
    }
    h.expect_silence();
}

#[test]
fn rst_in_time_wait_closing_or_last_ack_just_closes() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours));
    h.expect();
    h.host.tcp_shutdown(id).unwrap();
    h.expect();
    assert_eq!(h.state(id), Some(State::LastAck));
    h.send(&Seg::to(80, Flags::RST, theirs.wrapping_add(1), 0));
    assert_eq!(h.state(id), Some(State::Closed));
    assert_eq!(h.read(id).unwrap().unwrap(), b"", "a close, not an error");
}
