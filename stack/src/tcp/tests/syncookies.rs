//! The SYN queue and SYN cookies (RFC 4987), seen from a client: handshakes that cost no
//! connection until they complete, cookies once the queue is full.

use std::task::Poll;
use std::time::Duration;

use super::harness::*;
use crate::tcp::{Flags, SeqNumber};

/// A listener on port 80 whose SYN queue holds one handshake, already taken by port 1.
fn full_queue() -> Harness {
    let mut h = Harness::with_config(|c| c.syn_queue = 1);
    h.listen(80);
    h.send(&syn_from(1).with_mss(1460));
    h.expect();
    h
}

fn syn_from(port: u16) -> Seg {
    let mut syn = Seg::to(80, Flags::SYN, PEER_ISN, 0);
    syn.src_port = port;
    syn
}

fn ack_from(port: u16, ack: SeqNumber) -> Seg {
    let mut seg = Seg::to(
        80,
        Flags::ACK,
        PEER_ISN.wrapping_add(1),
        ack.0.wrapping_add(1),
    );
    seg.src_port = port;
    seg
}

fn accepted(h: &mut Harness) -> Option<u16> {
    match h.host.tcp_poll_accept(&mut cx(), 80) {
        Poll::Ready(Ok((_, remote))) => Some(remote.port()),
        _ => None,
    }
}

#[test]
fn handshakes_under_way_hold_no_connection() {
    let mut h = Harness::new();
    h.listen(80);
    for port in 1..=100 {
        h.send(&syn_from(port));
    }
    assert_eq!(h.recv_all().len(), 100, "a SYN-ACK each");
    assert!(
        h.host.tcp_connections().is_empty(),
        "no buffers until ESTABLISHED"
    );
    assert_eq!(h.host.stats().handshakes.syns_queued, 100);
}

#[test]
fn a_full_queue_answers_with_a_cookie_that_opens_the_connection_with_its_data() {
    let mut h = full_queue();
    h.send(&syn_from(2).with_mss(1400));
    let syn_ack = h.expect();
    assert_eq!(syn_ack.flags, Flags::SYN | Flags::ACK);
    assert_eq!(
        syn_ack.comment.as_deref().map(|c| c.contains("cookie")),
        Some(true)
    );
    assert_eq!(h.host.stats().handshakes.syn_cookies_sent, 1);
    // Nothing is kept: the ACK alone, with data, opens the connection.
    h.send(&ack_from(2, syn_ack.seq).with_payload(b"hello"));
    assert_eq!(
        h.expect().ack,
        SeqNumber(PEER_ISN) + 6,
        "its data acknowledged"
    );
    assert_eq!(accepted(&mut h), Some(2));
    let info = h.host.tcp_connections();
    assert_eq!(info.len(), 1);
    assert_eq!(
        info[0].mss, 1300,
        "the table's MSS not above the client's 1,400"
    );
    assert_eq!(h.host.stats().handshakes.syn_cookies_accepted, 1);
}

#[test]
fn a_cookie_for_another_4_tuple_or_a_guess_is_reset() {
    let mut h = full_queue();
    h.send(&syn_from(2));
    let syn_ack = h.expect();
    for ack in [ack_from(3, syn_ack.seq), ack_from(2, syn_ack.seq + 1)] {
        h.send(&ack);
        let rst = h.expect();
        assert!(rst.flags.rst(), "{rst:?}");
    }
    assert_eq!(accepted(&mut h), None);
    assert_eq!(h.host.stats().handshakes.syn_cookies_rejected, 2);
}

#[test]
fn a_cookie_expires() {
    let mut h = full_queue();
    h.send(&syn_from(2));
    let syn_ack = h.expect();
    h.advance(Duration::from_secs(3 * 64 + 1));
    h.send(&ack_from(2, syn_ack.seq));
    assert!(h.recv_all().iter().any(|s| s.flags.rst()));
    assert_eq!(accepted(&mut h), None);
}

#[test]
fn with_timestamps_a_cookie_keeps_window_scale_and_sack() {
    let mut h = full_queue();
    let syn = syn_from(2)
        .with_mss(1460)
        .with_window_scale(7)
        .with_sack_permitted()
        .with_ts(500, 0);
    h.send(&syn);
    let syn_ack = h.expect();
    let (tsval, _) = syn_ack.ts.expect("timestamps answered");
    assert!(syn_ack.window_scale.is_some());
    h.send(&ack_from(2, syn_ack.seq).with_ts(501, tsval));
    assert_eq!(accepted(&mut h), Some(2));
    let info = &h.host.tcp_connections()[0];
    assert!(info.sack && info.timestamps, "{info:?}");
    // The peer's window is scaled by its 7: a field of 100 is 12,800 bytes.
    let mut update = ack_from(2, syn_ack.seq)
        .with_ts(502, tsval)
        .with_window(100);
    update.seq = SeqNumber(PEER_ISN.wrapping_add(1));
    h.send(&update);
    assert_eq!(h.host.tcp_connections()[0].peer_window, 100 << 7);
}

#[test]
fn the_syn_ack_is_sent_again_five_times_then_the_handshake_is_dropped() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&syn_from(1));
    h.expect();
    let mut again = 0;
    while let Some(at) = h.host.poll_at() {
        h.now = h.now.max(at);
        again += h.recv_all().len();
    }
    assert_eq!(again, 5, "Linux's tcp_synack_retries");
    assert_eq!(h.host.stats().handshakes.handshakes_expired, 1);
}
