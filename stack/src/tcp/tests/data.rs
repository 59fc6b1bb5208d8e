//! ESTABLISHED: data both ways, windows, reassembly, wrap-around.

use std::time::Duration;

use super::harness::*;
use crate::tcp::{Flags, SeqNumber, State, TcpConfig};

/// An established passive connection on port 80; returns the connection, our next sequence
/// number and the peer's.
fn established(h: &mut Harness) -> (crate::tcp::ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn receive_and_send_both_at_once() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, b"from us").unwrap();
    h.send(&Seg::to(80, Flags::ACK | Flags::PSH, theirs, ours).with_payload(b"from the peer"));
    let segs = h.recv_all();
    // Our data goes with the ACK of theirs: one segment.
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_eq!(segs[0].payload, b"from us");
    assert_eq!(segs[0].ack, SeqNumber(theirs) + 13);
    assert!(segs[0].flags.psh());
    assert_eq!(h.read(id).unwrap().unwrap(), b"from the peer");
}

#[test]
fn a_push_is_readable_at_once_and_acknowledged() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK | Flags::PSH, theirs, ours).with_payload(b"hi"));
    let ack = h.expect();
    assert_eq!((ack.flags, ack.ack), (Flags::ACK, SeqNumber(theirs) + 2));
    assert_eq!(h.read(id).unwrap().unwrap(), b"hi");
    assert_eq!(
        h.read(id).unwrap(),
        None,
        "nothing more: the read would wait"
    );
}

#[test]
fn sending_more_than_the_peers_window() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(3000));
    h.write(id, &data(10_000)).unwrap();
    let segs = h.recv_all();
    let sizes: Vec<usize> = segs.iter().map(|s| s.payload.len()).collect();
    // Two full segments; the 80 bytes left in the window wait (silly window avoidance: a
    // sliver of a segment is not worth sending while more data waits).
    assert_eq!(sizes, [1460, 1460], "{segs:?}");
    // The peer takes it all and opens the window again.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(2920)).with_window(5000));
    let sizes: Vec<usize> = h.recv_all().iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, [1460, 1460, 1460]);
}

#[test]
fn a_window_shrunk_by_the_peer_is_respected() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(2920));
    h.write(id, &data(2920)).unwrap();
    assert_eq!(h.recv_all().len(), 2);
    // It acknowledges the first segment but shrinks the window so that nothing more fits.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1460)).with_window(1460));
    h.write(id, &data(1000)).unwrap();
    h.expect_silence();
}

#[test]
fn the_mss_of_the_peer_bounds_our_segments() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0).with_mss(500));
    let syn_ack = h.expect();
    h.send(&Seg::to(
        80,
        Flags::ACK,
        PEER_ISN.wrapping_add(1),
        syn_ack.seq.0 + 1,
    ));
    let id = h.accept(80).unwrap();
    h.write(id, &data(1200)).unwrap();
    let sizes: Vec<usize> = h.recv_all().iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, [500, 500, 200], "500-byte segments, and the tail");
}

#[test]
fn out_of_order_segments_wait_for_the_hole() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    let stream = data(4000);
    // Several holes: 1000..2000 and 3000..4000 arrive before 0..1000 and 2000..3000.
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(3000), ours).with_payload(&stream[3000..]));
    let dup = h.expect();
    assert_eq!(
        dup.ack,
        SeqNumber(theirs),
        "out of order: an immediate duplicate ACK"
    );
    h.send(
        &Seg::to(80, Flags::ACK, theirs.wrapping_add(1000), ours).with_payload(&stream[1000..2000]),
    );
    assert_eq!(h.expect().ack, SeqNumber(theirs));
    assert_eq!(
        h.read(id).unwrap(),
        None,
        "a hole at the start holds everything"
    );
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&stream[..1000]));
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs) + 2000,
        "up to the next hole"
    );
    h.send(
        &Seg::to(80, Flags::ACK, theirs.wrapping_add(2000), ours).with_payload(&stream[2000..3000]),
    );
    assert_eq!(
        h.expect().ack,
        SeqNumber(theirs) + 4000,
        "every hole filled"
    );
    assert_eq!(h.read(id).unwrap().unwrap(), stream);
}

#[test]
fn duplicates_and_overlaps_are_trimmed() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    let stream = data(300);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&stream[..200]));
    h.expect();
    // A full duplicate: an ACK, nothing delivered twice.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&stream[..200]));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 200);
    // An overlap: only the new part counts.
    h.send(
        &Seg::to(80, Flags::ACK, theirs.wrapping_add(100), ours).with_payload(&stream[100..300]),
    );
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 300);
    assert_eq!(h.read(id).unwrap().unwrap(), stream);
}

#[test]
fn data_partly_or_wholly_outside_the_window() {
    let mut h = Harness::with_config(|c: &mut TcpConfig| c.recv_buffer = 1000);
    let (id, ours, theirs) = established(&mut h);
    let stream = data(1500);
    // Partly: the first 1000 bytes fit, the rest is cut.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&stream));
    let ack = h.expect();
    assert_eq!((ack.ack, ack.window), (SeqNumber(theirs) + 1000, 0));
    // Wholly outside: an ACK, and the data is dropped.
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(1000), ours).with_payload(&stream[1000..]));
    assert_eq!(h.expect().ack, SeqNumber(theirs) + 1000);
    assert_eq!(h.read(id).unwrap().unwrap(), &stream[..1000]);
}

#[test]
fn ack_for_unsent_data_is_answered_and_dropped() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(
        &Seg::to(80, Flags::ACK | Flags::PSH, theirs, ours.wrapping_add(5000)).with_payload(b"x"),
    );
    let ack = h.expect();
    assert_eq!(
        ack.ack,
        SeqNumber(theirs),
        "the segment was dropped, data not taken"
    );
    assert_eq!(h.read(id).unwrap(), None);
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn a_segment_without_ack_is_dropped() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::PSH, theirs, ours).with_payload(b"no ack flag"));
    h.expect_silence();
    assert_eq!(h.read(id).unwrap(), None);
}

#[test]
fn sequence_numbers_wrap_while_sending_and_receiving() {
    let mut h = Harness::new();
    h.host.tcp.next_iss = Some(SeqNumber(u32::MAX - 1000));
    let (id, ours, theirs) = established(&mut h);
    assert!(
        ours > u32::MAX - 1001 && theirs > PEER_ISN,
        "both start just below 2^32"
    );
    let stream = data(20_000);
    let mut acked = ours;
    let mut sent = Vec::new();
    h.write(id, &stream).unwrap();
    while sent.len() < stream.len() {
        let segs = h.recv_all();
        assert!(!segs.is_empty(), "stalled at {}", sent.len());
        for seg in &segs {
            assert_eq!(seg.seq, SeqNumber(ours) + sent.len());
            sent.extend_from_slice(&seg.payload);
            acked = seg.seq.0.wrapping_add(seg.payload.len() as u32);
        }
        h.send(&Seg::to(80, Flags::ACK, theirs, acked));
    }
    assert_eq!(sent, stream);
    assert!(
        SeqNumber(acked).0 < 100_000,
        "our sequence numbers crossed 2^32"
    );
    // And receiving across the peer's wrap (its ISN is 256 below 2^32).
    let mut seq = theirs;
    for chunk in stream.chunks(1000) {
        h.send(&Seg::to(80, Flags::ACK, seq, acked).with_payload(chunk));
        seq = seq.wrapping_add(chunk.len() as u32);
    }
    assert_eq!(h.recv_all().last().unwrap().ack, SeqNumber(seq));
    assert_eq!(h.read(id).unwrap().unwrap(), stream);
}

#[test]
fn buffers_wrap_around() {
    let mut h = Harness::with_config(|c: &mut TcpConfig| {
        c.send_buffer = 3000;
        c.recv_buffer = 3000;
    });
    let (id, ours, theirs) = established(&mut h);
    let stream = data(50_000);
    let (mut written, mut echoed, mut got) = (0, Vec::new(), Vec::new());
    let (mut seq_out, mut seq_in) = (ours, theirs);
    while echoed.len() < stream.len() || got.len() < stream.len() {
        if written < stream.len() {
            written += h.write(id, &stream[written..]).unwrap();
        }
        for seg in h.recv_all() {
            echoed.extend_from_slice(&seg.payload);
            seq_out = seq_out.wrapping_add(seg.payload.len() as u32);
        }
        // The peer acknowledges everything and sends 700 bytes of its own.
        let chunk = &stream[got.len().min(stream.len())..(got.len() + 700).min(stream.len())];
        h.send(&Seg::to(80, Flags::ACK, seq_in, seq_out).with_payload(chunk));
        seq_in = seq_in.wrapping_add(chunk.len() as u32);
        if let Some(bytes) = h.read(id).unwrap() {
            got.extend_from_slice(&bytes);
        }
        h.advance(Duration::from_millis(1));
    }
    assert_eq!(echoed, stream);
    assert_eq!(got, stream);
}

#[test]
fn nagle_holds_small_segments_while_data_is_in_flight() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, b"a").unwrap();
    assert_eq!(h.expect().payload, b"a", "nothing in flight: sent at once");
    h.write(id, b"b").unwrap();
    h.write(id, b"c").unwrap();
    h.expect_silence();
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1)));
    assert_eq!(h.expect().payload, b"bc", "the ACK releases them, merged");
    h.host.tcp_set_nodelay(id, true).unwrap();
    h.write(id, b"d").unwrap();
    assert_eq!(
        h.expect().payload,
        b"d",
        "nodelay: at once though bc is in flight"
    );
}

#[test]
fn nagle_lets_a_small_tail_follow_full_segments_at_once() {
    // Minshall's version, as Linux's: only an unacknowledged *small* segment holds the next
    // small one back. An answer of two full segments and a tail goes out whole, without
    // waiting for the (maybe delayed) ACK of the full ones.
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    let mss = h.host.tcp_info(id).unwrap().mss;
    h.write(id, &data(2 * mss + 100)).unwrap();
    let sizes: Vec<usize> = h.recv_all().iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, [mss, mss, 100]);
    // The tail is small and unacknowledged: the next small write waits for its ACK.
    h.write(id, b"more").unwrap();
    h.expect_silence();
    let end = ours.wrapping_add((2 * mss + 100) as u32);
    h.send(&Seg::to(80, Flags::ACK, theirs, end));
    assert_eq!(h.expect().payload, b"more");
}

/// A connection's buffers are allocated by data, kept while messages come and go less than a
/// second apart, and given back after a quiet second: an idle connection holds no buffer.
#[test]
fn buffers_go_back_after_a_quiet_second_and_not_between_messages() {
    let mut h = Harness::new();
    let (id, iss) = h.passive_open(80);
    let (ours, theirs) = (iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1));
    let allocated = |h: &Harness| {
        let conn = h.host.tcp.conn(id).expect("open");
        (conn.snd.buf.is_allocated(), conn.rcv.buf.is_allocated())
    };
    assert_eq!(
        allocated(&h),
        (false, false),
        "nothing before the first byte"
    );
    let mut at = (theirs, ours);
    for round in 0..3u32 {
        // The peer's request, read by us; our answer, acknowledged by the peer.
        h.send(&Seg::to(80, Flags::ACK | Flags::PSH, at.0, at.1).with_payload(b"ping"));
        assert_eq!(h.read(id).unwrap(), Some(b"ping".to_vec()));
        h.write(id, b"pong").unwrap();
        h.recv_all();
        at = (at.0.wrapping_add(4), at.1.wrapping_add(4));
        h.send(&Seg::to(80, Flags::ACK, at.0, at.1));
        assert_eq!(
            allocated(&h),
            (true, true),
            "round {round}: kept between messages"
        );
        h.advance(Duration::from_millis(500));
    }
    h.advance(Duration::from_millis(600));
    h.recv_all();
    assert_eq!(allocated(&h), (false, false), "a quiet second: given back");
    // The next message allocates them again, and its bytes arrive whole.
    h.send(&Seg::to(80, Flags::ACK | Flags::PSH, at.0, at.1).with_payload(b"again"));
    assert_eq!(h.read(id).unwrap(), Some(b"again".to_vec()));
    assert_eq!(allocated(&h), (false, true));
}
