//! Urgent data (RFC 9293 3.8.5, RFC 6093): the pointer we send, and the mark we keep from the
//! peer's. The pointer points to the byte after the last urgent byte; the data stays inline.

use std::time::Duration;

use super::harness::*;
use crate::tcp::pos::Pos;
use crate::tcp::{ConnId, Flags, SeqNumber, State};

/// An established passive connection on port 80; returns the connection, our next sequence
/// number and the peer's.
fn established(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

fn stats(h: &Harness, id: ConnId) -> crate::tcp::ConnStats {
    h.host.tcp_info(id).expect("connection").stats
}

// ----- sending -----

#[test]
fn the_pointer_marks_the_byte_after_the_last_urgent_one() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, b"hello").unwrap();
    let hello = h.expect();
    assert!(!hello.flags.urg(), "no urgent data yet: {hello:?}");
    // "hello" is unacknowledged and small: Nagle's rule would hold "!" back, urgent mode not.
    assert_eq!(h.send_urgent(id, b"!").unwrap(), 1);
    let bang = h.expect();
    assert_eq!(bang.seq, SeqNumber(ours) + 5);
    assert_eq!(bang.payload, b"!");
    assert!(bang.flags.urg(), "{bang:?}");
    assert_eq!(bang.urgent, 1, "seq + 1 is the byte after the '!'");
    assert_eq!(
        bang.comment.as_deref(),
        Some("urgent data: the pointer marks the end of urgent data, 1 byte ahead")
    );
    // "world" lies after the mark: no URG, but it goes at once, still in urgent mode.
    h.write(id, b"world").unwrap();
    let world = h.expect();
    assert_eq!((world.seq, world.flags.urg()), (SeqNumber(ours) + 6, false));
    // The peer acknowledges "hello" only; our ACK of its data begins after the mark.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(5)).with_payload(b"ok"));
    let ack = h.expect();
    assert_eq!(ack.seq, SeqNumber(ours) + 11);
    assert!(!ack.flags.urg(), "{ack:?}");
    assert_eq!(stats(&h, id).urgent_segments_out, 1);
}

#[test]
fn a_closed_window_holds_the_urgent_data_but_not_its_pointer() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
    h.send_urgent(id, b"!!").unwrap();
    h.expect_silence();
    // The peer sends data; our ACK cannot carry the urgent bytes, but it tells of them.
    h.send(
        &Seg::to(80, Flags::ACK, theirs, ours)
            .with_window(0)
            .with_payload(b"hi"),
    );
    let ack = h.expect();
    assert_eq!((ack.seq, ack.payload.len()), (SeqNumber(ours), 0));
    assert!(ack.flags.urg(), "{ack:?}");
    assert_eq!(ack.urgent, 2);
    assert!(ack.comment.unwrap_or_default().contains("2 bytes ahead"));
    // The window opens: the urgent bytes go, with their pointer.
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(2), ours));
    let seg = h.expect();
    assert_eq!((seg.payload.as_slice(), seg.urgent), (&b"!!"[..], 2));
}

#[test]
fn urg_goes_once_snd_una_passes_snd_up() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, b"abc").unwrap();
    h.send_urgent(id, b"XY").unwrap();
    // Both writes went before anything was sent: one segment, the mark after "Y".
    let seg = h.expect();
    assert_eq!((seg.payload.as_slice(), seg.urgent), (&b"abcXY"[..], 5));
    assert!(seg.flags.urg());
    // Lost: the retransmission carries the pointer again, from its own sequence number, and
    // the comment gives both reasons.
    let (again, _) = h.wait_for_segment(Duration::from_millis(10), Duration::from_secs(5));
    assert_eq!((again.seq, again.urgent), (SeqNumber(ours), 5));
    let comment = again.comment.unwrap_or_default();
    assert!(comment.starts_with("retransmission #1"), "{comment}");
    assert!(comment.ends_with("5 bytes ahead"), "{comment}");
    // Acknowledged: urgent mode is over, so nothing carries URG from now on.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(5)));
    h.write(id, b"more").unwrap();
    let more = h.expect();
    assert!(!more.flags.urg(), "{more:?}");
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(9)).with_payload(b"x"));
    let ack = h.expect();
    assert_eq!((ack.flags, ack.urgent), (Flags::ACK, 0));
    assert_eq!(stats(&h, id).urgent_segments_out, 2);
}

#[test]
fn a_mark_beyond_16_bits_is_sent_as_65535_until_it_comes_in_reach() {
    let mut h = Harness::with_config(|c| c.send_buffer = 1 << 20);
    let (id, ours, _) = established(&mut h);
    let data = vec![b'u'; 70_000];
    assert_eq!(h.send_urgent(id, &data).unwrap(), data.len());
    let segs = h.recv_all();
    // The first segments are more than 65535 bytes before the mark: pointer 65535, "urgent
    // data goes on past here"; from 70,000 - 65,535 = 4,465 bytes in, the real distance.
    let first = &segs[0];
    assert_eq!((first.seq, first.urgent), (SeqNumber(ours), u16::MAX));
    for seg in &segs {
        assert!(seg.flags.urg(), "{seg:?}");
        let offset = seg.seq.0.wrapping_sub(ours) as usize;
        let want = (data.len() - offset).min(usize::from(u16::MAX));
        assert_eq!(usize::from(seg.urgent), want, "{seg:?}");
    }
}

#[test]
fn no_far_pointer_when_the_peer_may_hold_the_byte_it_would_mark() {
    let mut h = Harness::new();
    let (id, _, _) = established(&mut h);
    let conn = h.host.tcp.conn_mut(id).unwrap_or_else(|| unreachable!());
    conn.snd.una = Pos(1);
    conn.snd.up = Pos(100_001);
    // Nothing sent past 65536 yet: pointer 65535 for a segment at 1.
    conn.snd.max = Pos(1000);
    assert_eq!(conn.urgent_pointer(Pos(1)), Some(u16::MAX));
    // Bytes up to 70,000 have gone: seq 1 + 65535 may already be at the peer, which would
    // take it for the mark; a segment resent from 1 carries no URG (as Linux sends it).
    conn.snd.max = Pos(70_000);
    assert_eq!(conn.urgent_pointer(Pos(1)), None);
    assert_eq!(conn.urgent_pointer(Pos(40_000)), Some(60_001));
    assert_eq!(conn.urgent_pointer(Pos(100_001)), None, "at the mark: none");
    // Once SND.UNA has passed SND.UP, urgent mode is over, even for a keep-alive below it.
    conn.snd.una = Pos(100_002);
    assert_eq!(conn.urgent_pointer(Pos(100_001)), None);
}

#[test]
fn the_pointer_is_right_across_our_wrap_of_2_to_the_32() {
    let mut h = Harness::new();
    h.host.tcp.next_iss = Some(SeqNumber(u32::MAX - 2));
    let (id, ours, _) = established(&mut h);
    h.write(id, b"abcdef").unwrap();
    h.send_urgent(id, b"!").unwrap();
    let seg = h.expect();
    assert_eq!(seg.seq, SeqNumber(ours));
    assert!(seg.seq.0 > u32::MAX - 3, "begins just below 2^32");
    assert_eq!(seg.urgent, 7);
    assert_eq!(seg.seq.0.wrapping_add(7), 5, "the mark lies past the wrap");
}

#[test]
fn urgent_data_needs_an_open_sending_side() {
    let mut h = Harness::new();
    let (id, _, _) = established(&mut h);
    h.host.tcp_shutdown(id).unwrap();
    let err = h.send_urgent(id, b"!").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
}

// ----- receiving -----

#[test]
fn a_urg_segment_sets_the_mark_and_reads_stop_there() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(b"hello"));
    assert_eq!(h.urgent_mark(id), None);
    h.send(
        &Seg::to(80, Flags::ACK | Flags::PSH, theirs.wrapping_add(5), ours)
            .with_payload(b"!world")
            .with_urgent(1),
    );
    h.recv_all();
    assert_eq!(h.urgent_mark(id), Some(6), "\"hello!\" to read to the mark");
    assert_eq!(
        h.read(id).unwrap().unwrap(),
        b"hello!",
        "the read stops at it"
    );
    assert_eq!(h.urgent_mark(id), None);
    assert_eq!(h.read(id).unwrap().unwrap(), b"world");
    assert_eq!(stats(&h, id).urgent_segments_in, 1);
}

#[test]
fn a_short_read_leaves_the_rest_of_the_urgent_data_marked() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(
        &Seg::to(80, Flags::ACK, theirs, ours)
            .with_payload(b"0123456789")
            .with_urgent(8),
    );
    assert_eq!(h.read_at_most(id, 3).unwrap().unwrap(), b"012");
    assert_eq!(h.urgent_mark(id), Some(5));
    assert_eq!(h.read(id).unwrap().unwrap(), b"34567");
    assert_eq!(h.urgent_mark(id), None);
    assert_eq!(h.read(id).unwrap().unwrap(), b"89");
}

#[test]
fn a_mark_may_arrive_before_its_data() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    // A bare ACK with URG: the peer's urgent data has not come yet (a closed window, say).
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_urgent(3));
    assert_eq!(h.urgent_mark(id), Some(3));
    assert_eq!(h.read(id).unwrap(), None, "nothing to read yet");
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(b"abcdef"));
    assert_eq!(h.read(id).unwrap().unwrap(), b"abc");
    assert_eq!(h.read(id).unwrap().unwrap(), b"def");
}

#[test]
fn later_marks_merge_and_old_ones_are_ignored() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(
        &Seg::to(80, Flags::ACK, theirs, ours)
            .with_payload(b"aaaa")
            .with_urgent(4),
    );
    h.send(
        &Seg::to(80, Flags::ACK, theirs.wrapping_add(4), ours)
            .with_payload(b"bbbb")
            .with_urgent(4),
    );
    // Urgent data of any length (MUST-31): both sends end at the second mark.
    assert_eq!(h.urgent_mark(id), Some(8));
    // A copy of the first segment, its old mark with it, moves nothing back.
    h.send(
        &Seg::to(80, Flags::ACK, theirs, ours)
            .with_payload(b"aaaa")
            .with_urgent(4),
    );
    assert_eq!(h.urgent_mark(id), Some(8));
    assert_eq!(h.read(id).unwrap().unwrap(), b"aaaabbbb");
    assert_eq!(h.urgent_mark(id), None);
}

#[test]
fn the_mark_is_right_across_the_peers_wrap_of_2_to_the_32() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    // The peer's data begins 255 below 2^32: 250 bytes, then 10 urgent ones across the wrap.
    let first = vec![b'n'; 250];
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&first));
    let seq = theirs.wrapping_add(250);
    h.send(
        &Seg::to(80, Flags::ACK, seq, ours)
            .with_payload(b"0123456789")
            .with_urgent(10),
    );
    assert_eq!(seq.wrapping_add(10), 5, "the mark lies past the wrap");
    assert_eq!(h.urgent_mark(id), Some(260));
    assert_eq!(h.read(id).unwrap().unwrap().len(), 260);
    assert_eq!(h.urgent_mark(id), None);
}

#[test]
fn urg_after_the_peers_fin_is_ignored() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK | Flags::FIN, theirs, ours).with_payload(b"bye"));
    h.recv_all();
    assert_eq!(h.state(id), Some(State::CloseWait));
    h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(4), ours).with_urgent(5));
    assert_eq!(h.urgent_mark(id), None);
    assert_eq!(stats(&h, id).urgent_segments_in, 0);
    assert_eq!(h.read(id).unwrap().unwrap(), b"bye");
}
