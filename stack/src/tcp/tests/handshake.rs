//! Opening: CLOSED, LISTEN, SYN-SENT and SYN-RECEIVED.

use std::io;
use std::time::Duration;

use super::harness::*;
use crate::stats::DropReason;
use crate::tcp::{Flags, SeqNumber, State};

#[test]
fn a_segment_to_a_closed_port_is_reset() {
    let mut h = Harness::new();
    // Without ACK: RST|ACK with ACK = SEG.SEQ + SEG.LEN (RFC 9293 3.10.7.1).
    h.send(&Seg::to(80, Flags::SYN, 1000, 0));
    let rst = h.expect();
    assert_eq!(rst.flags, Flags::RST | Flags::ACK);
    assert_eq!((rst.seq, rst.ack), (SeqNumber(0), SeqNumber(1001)));
    h.send(&Seg::to(80, Flags::PSH, 5000, 0).with_payload(b"hello"));
    assert_eq!(h.expect().ack, SeqNumber(5005));
    // With ACK: RST with SEQ = SEG.ACK.
    h.send(&Seg::to(80, Flags::ACK, 1000, 777));
    let rst = h.expect();
    assert_eq!((rst.flags, rst.seq), (Flags::RST, SeqNumber(777)));
    // Never a RST for a RST.
    h.send(&Seg::to(80, Flags::RST, 1000, 0));
    h.expect_silence();
    assert_eq!(h.host.stats().tcp.dropped.get(DropReason::NoSocket), 4);
}

#[test]
fn listen_twice_on_a_port_is_addr_in_use() {
    let mut h = Harness::new();
    h.listen(80);
    let err = h
        .host
        .tcp_listen(std::net::SocketAddrV4::new(US, 80), None)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
}

#[test]
fn syn_gets_syn_ack_with_our_options() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(
        &Seg::to(80, Flags::SYN, PEER_ISN, 0)
            .with_mss(1200)
            .with_window_scale(7),
    );
    let syn_ack = h.expect();
    assert_eq!(syn_ack.flags, Flags::SYN | Flags::ACK);
    assert_eq!(syn_ack.ack, SeqNumber(PEER_ISN) + 1);
    assert_eq!(syn_ack.mss, Some(1460), "MSS from our MTU: 1500 - 40");
    assert_eq!(syn_ack.window_scale, Some(3), "256 KiB buffer: shift 3");
    assert_eq!(syn_ack.window, 65535, "a SYN's window is not scaled");
    assert!(syn_ack.comment.is_some_and(|c| c.contains("SYN-ACK")));
}

#[test]
fn no_window_scale_in_syn_ack_when_the_peer_offered_none() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    assert_eq!(h.expect().window_scale, None);
}

#[test]
fn ack_or_rst_to_a_listener() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::ACK, 10, 20));
    let rst = h.expect();
    assert_eq!((rst.flags, rst.seq), (Flags::RST, SeqNumber(20)));
    h.send(&Seg::to(80, Flags::RST, 10, 0));
    h.expect_silence();
    assert!(h.accept(80).is_none());
}

#[test]
fn tiny_or_missing_mss_is_clamped() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0).with_mss(0));
    let syn_ack = h.expect();
    h.send(&Seg::to(
        80,
        Flags::ACK,
        PEER_ISN.wrapping_add(1),
        syn_ack.seq.0 + 1,
    ));
    let id = h.accept(80).unwrap();
    assert_eq!(
        h.host.tcp_info(id).unwrap().mss,
        88,
        "clamped to the minimum"
    );

    let mut h = Harness::new();
    let (id, _) = {
        h.listen(81);
        h.send(&Seg::to(81, Flags::SYN, PEER_ISN, 0));
        let syn_ack = h.expect();
        h.send(&Seg::to(
            81,
            Flags::ACK,
            PEER_ISN.wrapping_add(1),
            syn_ack.seq.0 + 1,
        ));
        (h.accept(81).unwrap(), ())
    };
    assert_eq!(
        h.host.tcp_info(id).unwrap().mss,
        536,
        "RFC 9293 default without the option"
    );
}

#[test]
fn a_full_syn_queue_drops_syns_without_cookies() {
    let mut h = Harness::with_config(|c| {
        c.syn_queue = 2;
        c.syn_cookies = false;
    });
    h.listen(80);
    for port in [1, 2, 3] {
        let mut syn = Seg::to(80, Flags::SYN, PEER_ISN, 0);
        syn.src_port = port;
        h.send(&syn);
    }
    assert_eq!(h.recv_all().len(), 2, "two SYN-ACKs, the third SYN dropped");
    assert_eq!(h.host.stats().tcp.dropped.get(DropReason::QueueFull), 1);
}

#[test]
fn a_full_accept_queue_drops_the_handshakes_ack_until_there_is_room() {
    let mut h = Harness::new();
    h.listen_with_backlog(80, 1);
    let mut acks = Vec::new();
    for port in [1, 2] {
        let mut syn = Seg::to(80, Flags::SYN, PEER_ISN, 0);
        syn.src_port = port;
        h.send(&syn);
        let syn_ack = h.expect();
        let mut ack = Seg::to(80, Flags::ACK, PEER_ISN.wrapping_add(1), syn_ack.seq.0 + 1);
        ack.src_port = port;
        acks.push(ack);
    }
    h.send(&acks[0]);
    h.send(&acks[1]);
    h.expect_silence();
    assert_eq!(h.host.stats().tcp.dropped.get(DropReason::QueueFull), 1);
    let accept = |h: &mut Harness| h.host.tcp_poll_accept(&mut cx(), 80).is_ready();
    assert!(accept(&mut h));
    assert!(!accept(&mut h), "the second waits in the SYN queue");
    h.send(&acks[1]);
    assert!(accept(&mut h), "its ACK again, now there is room");
}

#[test]
fn closing_a_listener_resets_its_half_open_connections() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    let syn_ack = h.expect();
    h.host.tcp_unlisten(80);
    let rst = h.expect();
    assert!(rst.flags.rst());
    assert_eq!(rst.seq, syn_ack.seq + 1);
    assert!(h.host.tcp_connections().is_empty());
}

#[test]
fn the_handshake_both_ways_across_the_wrap() {
    let mut h = Harness::new();
    let (id, _) = h.passive_open(80);
    assert_eq!(h.state(id), Some(State::Established));
    let (id, _) = h.active_open(9000);
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn syn_ack_with_a_wrong_ack_is_reset() {
    let mut h = Harness::new();
    let id = h.connect(9000);
    let syn = h.expect();
    h.send(&from_port(
        9000,
        syn.src_port,
        Flags::SYN | Flags::ACK,
        PEER_ISN,
        syn.seq.0.wrapping_add(5),
    ));
    let rst = h.expect();
    assert_eq!((rst.flags, rst.seq), (Flags::RST, syn.seq + 5));
    assert_eq!(
        h.state(id),
        Some(State::SynSent),
        "still waiting for a good answer"
    );
}

#[test]
fn rst_in_syn_sent_refuses_only_with_a_good_ack() {
    let mut h = Harness::new();
    let id = h.connect(9000);
    let syn = h.expect();
    h.send(&from_port(
        9000,
        syn.src_port,
        Flags::RST | Flags::ACK,
        0,
        syn.seq.0.wrapping_add(9),
    ));
    assert_eq!(
        h.state(id),
        Some(State::SynSent),
        "a bad ACK: the RST is dropped"
    );
    h.send(&from_port(9000, syn.src_port, Flags::RST, 0, 0));
    assert_eq!(h.state(id), Some(State::SynSent), "no ACK: dropped");
    h.send(&from_port(
        9000,
        syn.src_port,
        Flags::RST | Flags::ACK,
        0,
        syn.seq.0.wrapping_add(1),
    ));
    assert_eq!(h.state(id), Some(State::Closed));
    let err = h.read(id).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn syn_ack_without_window_scaling_turns_scaling_off_both_ways() {
    let mut h = Harness::new();
    let id = h.connect(9000);
    let syn = h.expect();
    assert_eq!(syn.window_scale, Some(3), "we offer scaling in our SYN");
    h.send(
        &from_port(
            9000,
            syn.src_port,
            Flags::SYN | Flags::ACK,
            PEER_ISN,
            syn.seq.0 + 1,
        )
        .with_window(1000),
    );
    let ack = h.expect();
    assert_eq!(
        ack.window, 65535,
        "our window unscaled: 256 KiB capped at 65535"
    );
    assert_eq!(
        h.host.tcp_info(id).unwrap().peer_window,
        1000,
        "theirs unscaled too"
    );
}

#[test]
fn window_scale_applies_after_the_handshake() {
    let mut h = Harness::new();
    let id = h.connect(9000);
    let syn = h.expect();
    let port = syn.src_port;
    h.send(
        &from_port(9000, port, Flags::SYN | Flags::ACK, PEER_ISN, syn.seq.0 + 1)
            .with_window_scale(2)
            .with_window(1000),
    );
    let ack = h.expect();
    assert_eq!(
        usize::from(ack.window) << 3,
        256 * 1024,
        "our window, scaled by our shift"
    );
    assert_eq!(
        h.host.tcp_info(id).unwrap().peer_window,
        1000,
        "a SYN-ACK's window is not scaled"
    );
    h.send(
        &from_port(
            9000,
            port,
            Flags::ACK,
            PEER_ISN.wrapping_add(1),
            syn.seq.0 + 1,
        )
        .with_window(1000),
    );
    assert_eq!(
        h.host.tcp_info(id).unwrap().peer_window,
        4000,
        "later windows are"
    );
}

#[test]
fn simultaneous_open() {
    let mut h = Harness::new();
    let id = h.connect(9000);
    let syn = h.expect();
    let port = syn.src_port;
    // The peer's SYN crosses ours.
    h.send(&from_port(9000, port, Flags::SYN, PEER_ISN, 0).with_mss(1460));
    assert_eq!(h.state(id), Some(State::SynReceived));
    let syn_ack = h.expect();
    assert_eq!(syn_ack.flags, Flags::SYN | Flags::ACK);
    assert_eq!(
        (syn_ack.seq, syn_ack.ack),
        (syn.seq, SeqNumber(PEER_ISN) + 1),
        "same ISS"
    );
    // The peer's SYN-ACK for our SYN.
    h.send(&from_port(
        9000,
        port,
        Flags::SYN | Flags::ACK,
        PEER_ISN,
        syn.seq.0 + 1,
    ));
    h.recv_all();
    h.send(&from_port(
        9000,
        port,
        Flags::ACK,
        PEER_ISN.wrapping_add(1),
        syn.seq.0 + 1,
    ));
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn syn_is_retransmitted_with_backoff_then_times_out() {
    let mut h = Harness::with_config(|c| c.syn_retries = 3);
    let id = h.connect(9000);
    let first = h.expect();
    let mut waits = Vec::new();
    for _ in 0..3 {
        let mut waited = Duration::ZERO;
        loop {
            h.advance(Duration::from_millis(100));
            waited += Duration::from_millis(100);
            if let Some(again) = h.recv() {
                assert_eq!((again.flags, again.seq), (Flags::SYN, first.seq));
                assert!(again.comment.unwrap().starts_with("retransmission #"));
                break;
            }
            assert!(waited < Duration::from_secs(30), "no retransmission");
        }
        waits.push(waited.as_millis());
    }
    assert_eq!(waits, [1000, 2000, 4000], "RTO doubles from one second");
    h.advance(Duration::from_secs(8));
    h.expect_silence();
    assert_eq!(h.state(id), Some(State::Closed));
    assert_eq!(h.read(id).unwrap_err().kind(), io::ErrorKind::TimedOut);
}

#[test]
fn connect_to_an_unspecified_address_is_refused_at_once() {
    let mut h = Harness::new();
    let err = h
        .host
        .tcp_connect(
            h.now,
            std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 80),
        )
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn two_connects_get_two_ports() {
    let mut h = Harness::new();
    let a = h.connect(9000);
    let b = h.connect(9000);
    assert_ne!(h.local_port(a), h.local_port(b));
    assert!(crate::ports::EPHEMERAL.contains(&h.local_port(a)));
}

#[test]
fn syn_received_ack_too_low_or_too_high_is_reset() {
    for offset in [0u32, 2] {
        let mut h = Harness::new();
        h.listen(80);
        h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
        let syn_ack = h.expect();
        let bad = syn_ack.seq.0.wrapping_add(offset);
        h.send(&Seg::to(80, Flags::ACK, PEER_ISN.wrapping_add(1), bad));
        let rst = h.expect();
        assert_eq!((rst.flags, rst.seq), (Flags::RST, SeqNumber(bad)));
        assert!(h.accept(80).is_none());
    }
}

#[test]
fn rst_in_syn_received_returns_to_listen() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    h.expect();
    h.send(&Seg::to(80, Flags::RST, PEER_ISN.wrapping_add(1), 0));
    assert!(
        h.host.tcp_connections().is_empty(),
        "the half-open connection is forgotten"
    );
    // The listener still works.
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    assert!(h.expect().flags.syn());
}

#[test]
fn fin_in_syn_received_closes_after_accept() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    let syn_ack = h.expect();
    h.send(&Seg::to(
        80,
        Flags::ACK | Flags::FIN,
        PEER_ISN.wrapping_add(1),
        syn_ack.seq.0 + 1,
    ));
    let id = h.accept(80).unwrap();
    assert_eq!(h.state(id), Some(State::CloseWait));
    assert_eq!(
        h.read(id).unwrap(),
        Some(Vec::new()),
        "end of stream at once"
    );
}

#[test]
fn syn_ack_is_retransmitted_and_a_repeated_syn_is_answered() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    let syn_ack = h.expect();
    h.advance(Duration::from_secs(1));
    let again = h.expect();
    assert_eq!((again.flags, again.seq), (syn_ack.flags, syn_ack.seq));
    // The peer did not get it either and sends its SYN again: our SYN-ACK again, at once.
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    assert_eq!(h.expect().flags, Flags::SYN | Flags::ACK);
}

#[test]
fn close_before_the_handshake_completes() {
    let mut h = Harness::new();
    let id = h.connect(9000);
    h.expect();
    h.host.tcp_release(id);
    assert!(
        h.host.tcp_connections().is_empty(),
        "SYN-SENT: closing just forgets"
    );
    h.advance(Duration::from_secs(5));
    h.expect_silence();
}

#[test]
fn isns_differ_between_hosts_with_different_keys() {
    let mut a = Harness::new();
    let mut b = Harness::with_config(|_| {});
    b.host = crate::Host::new({
        let mut c = crate::Config::new("10.77.0.2/24".parse().unwrap());
        c.seed = Some(8);
        c
    });
    let (_, isn_a) = a.passive_open(80);
    let (_, isn_b) = b.passive_open(80);
    assert_ne!(isn_a, isn_b);
}
