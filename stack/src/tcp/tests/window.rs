//! Flow control: zero windows and probes, window updates, silly window avoidance, the right
//! edge that never moves back.

use std::time::Duration;

use super::harness::*;
use crate::tcp::{ConnId, Flags, SeqNumber, TcpConfig};

fn established(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

#[test]
fn a_zero_window_is_probed_with_backoff_until_it_opens() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
    h.write(id, b"waiting data").unwrap();
    h.expect_silence();
    let mut times = Vec::new();
    let mut waited = Duration::ZERO;
    while times.len() < 4 {
        h.advance(Duration::from_millis(50));
        waited += Duration::from_millis(50);
        if let Some(probe) = h.recv() {
            assert_eq!(
                probe.payload, b"w",
                "one byte of new data (RFC 9293 3.8.6.1)"
            );
            assert_eq!(probe.seq, SeqNumber(ours));
            assert!(probe.comment.unwrap().contains("zero-window probe"));
            times.push(waited.as_millis());
            waited = Duration::ZERO;
            // The peer still has no room: it answers with the same ACK and a zero window.
            h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
            h.expect_silence();
        }
        assert!(waited < Duration::from_secs(30));
    }
    assert_eq!(times, [200, 400, 800, 1600], "the probe interval backs off");
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(
        info.stats.timeouts, 0,
        "probes never count as retransmission timeouts"
    );
    // The window opens: everything goes at once.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(1000));
    let seg = h.expect();
    assert_eq!(
        (seg.seq, seg.payload.as_slice()),
        (SeqNumber(ours), &b"waiting data"[..])
    );
}

#[test]
fn a_reader_that_stops_does_not_deadlock_the_connection() {
    // Here we are the receiver: a small buffer fills, our window closes, the peer's probes
    // are answered, and the window reopens when the application reads again.
    let mut h = Harness::with_config(|c: &mut TcpConfig| c.recv_buffer = 4000);
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&[1; 4000]));
    let ack = h.expect();
    assert_eq!((ack.ack, ack.window), (SeqNumber(theirs) + 4000, 0));
    // Ten seconds of probes: each is answered with the window still zero.
    for _ in 0..10 {
        h.advance(Duration::from_secs(1));
        h.send(&Seg::to(80, Flags::ACK, theirs.wrapping_add(4000), ours).with_payload(&[2]));
        let answer = h.expect();
        assert_eq!((answer.ack, answer.window), (SeqNumber(theirs) + 4000, 0));
    }
    // The application reads: a window update goes out without waiting for data.
    assert_eq!(h.read(id).unwrap().unwrap().len(), 4000);
    let update = h.expect();
    assert_eq!(
        (update.ack, update.window),
        (SeqNumber(theirs) + 4000, 4000)
    );
}

#[test]
fn a_zero_window_with_a_fin_pending() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
    h.write(id, b"data").unwrap();
    h.host.tcp_shutdown(id).unwrap();
    h.expect_silence();
    h.advance(Duration::from_millis(200));
    assert_eq!(h.expect().payload, b"d", "the probe");
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(1)).with_window(100));
    let seg = h.expect();
    assert_eq!(seg.payload, b"ata");
    assert!(seg.flags.fin(), "data and FIN once the window opens");
}

#[test]
fn small_window_updates_are_not_announced() {
    // Receiver-side silly window avoidance: reading a little does not announce a little more
    // room; reading enough (min(buffer/2, MSS)) does.
    let mut h = Harness::with_config(|c: &mut TcpConfig| c.recv_buffer = 10_000);
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&[0; 10_000]));
    assert_eq!(h.expect().window, 0);
    let mut buf = vec![0u8; 100];
    let mut cx = cx();
    assert!(h.host.tcp_poll_read(&mut cx, id, &mut buf).is_ready());
    h.expect_silence();
    let mut big = vec![0u8; 2000];
    assert!(h.host.tcp_poll_read(&mut cx, id, &mut big).is_ready());
    assert_eq!(
        h.expect().window,
        2100,
        "1460 bytes of room or more: worth announcing"
    );
}

#[test]
fn the_announced_right_edge_never_moves_back() {
    let mut h = Harness::with_config(|c: &mut TcpConfig| c.recv_buffer = 100_000);
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0).with_window_scale(0));
    let syn_ack = h.expect();
    assert_eq!(
        syn_ack.window_scale,
        Some(1),
        "100 000 bytes need a shift of 1"
    );
    let ours = syn_ack.seq.0.wrapping_add(1);
    let mut theirs = PEER_ISN.wrapping_add(1);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours));
    let id = h.accept(80).unwrap();
    let mut edge = 0u64;
    let mut rng = fastrand::Rng::with_seed(5);
    for _ in 0..200 {
        let n = rng.usize(1..3000);
        h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_payload(&vec![0; n]));
        theirs = theirs.wrapping_add(n as u32);
        if rng.bool() {
            let mut buf = vec![0u8; rng.usize(1..5000)];
            let _ = h.host.tcp_poll_read(&mut cx(), id, &mut buf);
        }
        for seg in h.recv_all() {
            let right = u64::from(seg.ack.0.wrapping_sub(PEER_ISN)) + (u64::from(seg.window) << 1);
            assert!(
                right >= edge,
                "the right edge moved back from {edge} to {right}"
            );
            edge = right;
        }
    }
}

#[test]
fn sender_silly_window_avoidance_waits_for_a_useful_window() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, &[0; 4380]).unwrap();
    let first: usize = h.recv_all().iter().map(|s| s.payload.len()).sum();
    assert_eq!(first, 4380);
    // The peer acknowledges all but offers a sliver of 10 bytes, then more data is written.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(4380)).with_window(10));
    h.write(id, &[0; 3000]).unwrap();
    h.expect_silence();
    // With nothing in flight, the persist timer breaks the stall after an RTO.
    h.advance(Duration::from_millis(200));
    let probe = h.expect();
    assert!(!probe.payload.is_empty() && probe.payload.len() <= 10);
}

/// The window stays shut; every probe is answered with a zero window. `release`: the
/// application lets go of the connection. Returns the probes sent and whether the connection
/// is still there after 20 minutes.
fn a_window_shut_for_ever(release: bool) -> (usize, bool) {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
    h.write(id, b"data").unwrap();
    if release {
        h.host.tcp_release(id);
    }
    let mut probes = 0;
    for _ in 0..(20 * 60 * 10) {
        for seg in h.recv_all() {
            if seg.payload.len() == 1 {
                probes += 1;
            }
            h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
        }
        h.advance(Duration::from_millis(100));
    }
    (probes, h.state(id).is_some())
}

#[test]
fn an_orphaned_connection_gives_up_a_window_that_never_opens() {
    // The application still holds it: probing goes on (once a minute at most).
    let (probes, alive) = a_window_shut_for_ever(false);
    assert!(alive && probes > 20, "{probes} probes");
    // Nobody holds it: eight probes, then it is forgotten (RFC 6429, as Linux does).
    assert_eq!(a_window_shut_for_ever(true), (8, false));
}

#[test]
fn acks_stay_inside_a_window_the_peer_shrank() {
    let mut h = Harness::new();
    let (id, ours, theirs) = established(&mut h);
    h.write(id, &[1; 1000]).unwrap();
    assert_eq!(h.expect().payload.len(), 1000);
    // The peer takes its window back (RFC 9293 3.8.6 discourages it, but it happens): zero,
    // with our 1000 bytes not acknowledged. Then it sends data.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(0));
    h.send(
        &Seg::to(80, Flags::ACK, theirs, ours)
            .with_payload(b"x")
            .with_window(0),
    );
    let ack = h.expect();
    assert_eq!(ack.ack, SeqNumber(theirs) + 1);
    // With a zero window only SEG.SEQ = RCV.NXT is acceptable: ours, not past the 1000 bytes.
    assert_eq!(ack.seq, SeqNumber(ours));
}
