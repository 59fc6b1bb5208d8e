//! PAWS (RFC 7323 5.3) and the zero-window allowance for valid ACKs (RFC 9293 3.10.7.4).

use std::time::Duration;

use super::harness::*;
use crate::tcp::{ConnId, Flags, SeqNumber};

/// A connection opened by a peer that offers timestamps, its first at 1,000 ms. Returns our
/// first data sequence number, the peer's, and our timestamp to echo.
fn open_with_timestamps(h: &mut Harness) -> (ConnId, u32, u32, u32) {
    h.listen(80);
    h.send(
        &Seg::to(80, Flags::SYN, PEER_ISN, 0)
            .with_mss(1460)
            .with_ts(1000, 0),
    );
    let syn_ack = h.expect();
    let (ours, theirs) = (syn_ack.seq.0.wrapping_add(1), PEER_ISN.wrapping_add(1));
    let ts = syn_ack.ts.map_or(0, |t| t.0);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_ts(1001, ts));
    let id = h.accept(80).expect("the handshake completed");
    (id, ours, theirs, ts)
}

#[test]
fn an_old_duplicate_with_an_old_timestamp_is_dropped_and_acknowledged() {
    let mut h = Harness::new();
    let (id, ours, theirs, echo) = open_with_timestamps(&mut h);
    let data = Seg::to(80, Flags::ACK | Flags::PSH, theirs, ours).with_payload(b"new");
    h.send(&data.clone().with_ts(2000, echo));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 3);
    assert_eq!(h.read(id).ok().flatten().as_deref(), Some(&b"new"[..]));
    // The same sequence numbers come back from an earlier lap, with an older timestamp.
    let old = Seg::to(80, Flags::ACK | Flags::PSH, theirs.wrapping_add(3), ours)
        .with_payload(b"old")
        .with_ts(1500, echo);
    h.send(&old);
    let ack = h.expect();
    assert_eq!(
        ack.ack,
        SeqNumber(theirs) + 3,
        "dropped, and RCV.NXT said again"
    );
    assert_eq!(
        ack.ts.map(|t| t.1),
        Some(2000),
        "TS.Recent did not move back"
    );
    assert_eq!(h.read(id).ok().flatten(), None, "nothing to read");
    assert_eq!(
        h.host.tcp_info(id).map(|i| i.stats.paws_rejected).ok(),
        Some(1)
    );
    // The same bytes with a current timestamp are taken.
    h.send(&old.with_ts(2001, echo));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 6);
}

#[test]
fn after_24_idle_days_an_old_timestamp_is_accepted() {
    let mut h = Harness::new();
    let (id, ours, theirs, echo) = open_with_timestamps(&mut h);
    h.send(
        &Seg::to(80, Flags::ACK | Flags::PSH, theirs, ours)
            .with_payload(b"a")
            .with_ts(1 << 31, echo),
    );
    h.recv_all();
    // After 25 idle days the peer's clock may be anywhere: here a little behind TS.Recent.
    h.advance(Duration::from_secs(25 * 24 * 3600));
    h.send(
        &Seg::to(80, Flags::ACK | Flags::PSH, theirs.wrapping_add(1), ours)
            .with_payload(b"b")
            .with_ts((1 << 31) - 5, echo),
    );
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs) + 2,
        "taken (RFC 7323 5.5)"
    );
    assert_eq!(
        h.host.tcp_info(id).map(|i| i.stats.paws_rejected).ok(),
        Some(0)
    );
}

#[test]
fn a_rst_is_judged_without_its_timestamp() {
    let mut h = Harness::new();
    let (id, ours, theirs, echo) = open_with_timestamps(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_ts(5000, echo));
    h.send(&Seg::to(80, Flags::RST, theirs, 0).with_ts(10, 0));
    assert_eq!(h.state(id), Some(crate::tcp::State::Closed));
}

/// Our window is full; the peer's segment at RCV.NXT carries a byte we cannot take, and the
/// ACK of our data. The byte is dropped, the ACK is not (RFC 9293 3.10.7.4: "special
/// allowance should be made to accept valid ACKs").
#[test]
fn at_a_zero_window_a_segment_at_rcv_nxt_still_acknowledges_our_data() {
    let mut h = Harness::with_config(|c| c.recv_buffer = 2000);
    let (id, iss) = h.passive_open(80);
    let (ours, theirs) = (iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1));
    // Fill our window.
    let mut sent = 0u32;
    loop {
        let chunk =
            Seg::to(80, Flags::ACK, theirs.wrapping_add(sent), ours).with_payload(&[1; 500]);
        h.send(&chunk);
        let ack = h.recv_all().pop().expect("an ACK");
        sent = ack.ack.0.wrapping_sub(theirs);
        if ack.window == 0 {
            break;
        }
    }
    // We send; the peer's reply carries a byte (its zero-window probe) and our data's ACK.
    h.write(id, b"hello").expect("room for 5 bytes");
    let ours_out = h.expect();
    assert_eq!(ours_out.payload, b"hello");
    let probe = Seg::to(
        80,
        Flags::ACK,
        theirs.wrapping_add(sent),
        ours.wrapping_add(5),
    )
    .with_payload(b"x");
    h.send(&probe);
    let answer = h.expect();
    assert_eq!(
        (answer.ack, answer.window),
        (SeqNumber(theirs.wrapping_add(sent)), 0)
    );
    let info = h.host.tcp_info(id).expect("the connection");
    assert_eq!(info.bytes_in_flight, 0, "our data is acknowledged");
}
