//! D-SACK (RFC 2883): the duplicates we report, and what the peer's reports undo (RFC 3708,
//! RFC 8985 7.4.2).

use std::time::Duration;

use super::harness::*;
use super::recovery::{plain, send_segments, with_sack, STEP};
use super::tail_loss::with_sack_and_srtt_10ms;
use crate::tcp::{ConnId, Flags, SeqNumber};

/// `len` bytes from the peer at `seq`, acknowledging `ours`.
fn data(seq: u32, ours: u32, len: usize) -> Seg {
    Seg::to(80, Flags::ACK, seq, ours).with_payload(&vec![1; len])
}

/// Opens a connection with `open`; the peer sends 100 bytes, then the same 100 bytes again.
/// Returns the connection, the sequence numbers and our ACK of the repeat.
fn ack_of_a_repeat(
    h: &mut Harness,
    open: fn(&mut Harness) -> (ConnId, u32, u32),
) -> (ConnId, u32, u32, Seg) {
    let (id, ours, theirs) = open(h);
    h.send(&data(theirs, ours, 100));
    h.recv_all();
    h.send(&data(theirs, ours, 100));
    let ack = h.expect();
    assert_eq!(ack.ack, SeqNumber(theirs) + 100);
    (id, ours, theirs, ack)
}

#[test]
fn data_that_arrives_twice_is_reported_once_in_a_dsack_block() {
    let mut h = Harness::new();
    // The peer's retransmission was not needed: the ACK says so at once, in its first SACK
    // block, below the cumulative ACK (RFC 2883 section 4).
    let (id, ours, theirs, ack) = ack_of_a_repeat(&mut h, with_sack);
    assert_eq!(ack.sack, [(theirs, theirs.wrapping_add(100))]);
    assert!(ack.comment.unwrap().starts_with("D-SACK: bytes 0..100"));
    // A segment half old, half new: the old half only.
    h.send(&data(theirs.wrapping_add(50), ours, 100));
    let ack = h.expect();
    assert_eq!(ack.ack, SeqNumber(theirs) + 150);
    assert_eq!(
        ack.sack,
        [(theirs.wrapping_add(50), theirs.wrapping_add(100))]
    );
    // Reported once: the next ACK carries no D-SACK.
    h.send(&data(theirs.wrapping_add(150), ours, 100));
    h.send(&data(theirs.wrapping_add(250), ours, 100));
    let acks = h.recv_all();
    assert!(acks.iter().all(|a| a.sack.is_empty()), "{acks:?}");
    assert_eq!(h.host.tcp_info(id).unwrap().stats.dsacks_sent, 2);
    assert_eq!(h.read(id).unwrap().unwrap().len(), 350);
}

#[test]
fn early_data_that_arrives_twice_is_reported_before_the_block_holding_it() {
    let mut h = Harness::new();
    let (_, ours, theirs) = with_sack(&mut h);
    let at = |off: u32| theirs.wrapping_add(off);
    h.send(&data(at(100), ours, 200));
    assert_eq!(h.expect().sack, [(at(100), at(300))]);
    // Bytes 200..300 again, while 0..100 is still missing: the D-SACK block first, then the
    // block that holds it (RFC 2883 section 4.2.1's example).
    h.send(&data(at(200), ours, 100));
    let ack = h.expect();
    assert_eq!(ack.ack, SeqNumber(theirs));
    assert_eq!(ack.sack, [(at(200), at(300)), (at(100), at(300))]);
}

#[test]
fn without_sack_agreed_no_dsack_is_sent() {
    let mut h = Harness::new();
    let (_, _, _, ack) = ack_of_a_repeat(&mut h, plain);
    assert!(ack.sack.is_empty());
}

/// Three segments sent, all ACKs lost: the tail loss probe resends the last. Then the peer's
/// ACK of everything arrives, with a D-SACK for the probe if `dsack` (the original had
/// arrived), without one if not (the probe repaired a loss). Returns the window before and
/// the connection after.
fn probe_then_ack_all(dsack: bool) -> (usize, crate::tcp::ConnInfo) {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack_and_srtt_10ms(&mut h);
    let seqs = send_segments(&mut h, id, 3);
    let cwnd = h.host.tcp_info(id).unwrap().cwnd;
    let (probe, _) = h.wait_for_segment(STEP, Duration::from_millis(150));
    assert_eq!(probe.seq.0, seqs[2]);
    let end = seqs[2].wrapping_add(1000);
    let ack = Seg::to(80, Flags::ACK, theirs, end);
    h.send(&if dsack {
        ack.with_sack(&[(seqs[2], end)])
    } else {
        ack
    });
    (cwnd, h.host.tcp_info(id).unwrap())
}

#[test]
fn a_tail_loss_probe_the_peer_already_had_leaves_the_window_alone() {
    let (cwnd, info) = probe_then_ack_all(true);
    assert_eq!(info.stats.dsacks_received, 1);
    assert_eq!(info.stats.unneeded_tail_probes, 1);
    assert_eq!(info.stats.tail_losses_repaired, 0);
    assert!(info.cwnd >= cwnd, "{} < {cwnd}", info.cwnd);
    // Without the D-SACK, the probe is taken to have repaired a loss (RFC 8985 7.4.2).
    let (cwnd, info) = probe_then_ack_all(false);
    assert_eq!(info.stats.tail_losses_repaired, 1);
    assert!(info.cwnd < cwnd, "{} >= {cwnd}", info.cwnd);
}

#[test]
fn a_recovery_whose_every_retransmission_was_a_duplicate_is_undone() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 10);
    let end = seqs[9].wrapping_add(1000);
    let cwnd = h.host.tcp_info(id).unwrap().cwnd;
    // Segment 1 is late, not lost: three SACKs, fast retransmit.
    for n in 2..=4 {
        let sack = [(seqs[1], seqs[n])];
        h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&sack));
    }
    let resent = h.recv_all();
    assert_eq!(resent.first().map(|s| s.seq.0), Some(seqs[0]), "{resent:?}");
    // The original arrives: everything acknowledged, recovery over, the window halved.
    h.send(&Seg::to(80, Flags::ACK, theirs, end));
    let after = h.host.tcp_info(id).unwrap();
    assert!(!after.in_recovery);
    assert!(after.cwnd < cwnd);
    assert_eq!(after.stats.undone_recoveries, 0);
    // Then the retransmission arrives, and the peer says it had that already.
    h.send(&Seg::to(80, Flags::ACK, theirs, end).with_sack(&[(seqs[0], seqs[1])]));
    let undone = h.host.tcp_info(id).unwrap();
    assert_eq!(undone.stats.undone_recoveries, 1);
    assert!(undone.cwnd >= cwnd, "{} < {cwnd}", undone.cwnd);
}

#[test]
fn a_recovery_with_a_real_loss_is_not_undone_by_another_dsack() {
    let mut h = Harness::new();
    let (id, _, theirs) = with_sack(&mut h);
    let seqs = send_segments(&mut h, id, 10);
    let end = seqs[9].wrapping_add(1000);
    // Segments 1 and 6 lost; both resent.
    for n in 2..=4 {
        let sack = [(seqs[1], seqs[n])];
        h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&sack));
    }
    let sack = [(seqs[6], end), (seqs[1], seqs[5])];
    h.send(&Seg::to(80, Flags::ACK, theirs, seqs[0]).with_sack(&sack));
    let resent: Vec<u32> = h.recv_all().iter().map(|s| s.seq.0).collect();
    assert!(
        resent.contains(&seqs[0]) && resent.contains(&seqs[5]),
        "{resent:?}"
    );
    h.send(&Seg::to(80, Flags::ACK, theirs, end));
    let cwnd = h.host.tcp_info(id).unwrap().cwnd;
    // Only the first retransmission was a duplicate: the other repaired a loss.
    h.send(&Seg::to(80, Flags::ACK, theirs, end).with_sack(&[(seqs[0], seqs[1])]));
    let info = h.host.tcp_info(id).unwrap();
    assert_eq!(info.stats.undone_recoveries, 0);
    assert_eq!(info.cwnd, cwnd);
}

/// A segment on the wire: its IP length, its SACK blocks and its data length.
type OnTheWire = (usize, Vec<(u32, u32)>, usize);

/// With trains on: the host's next packet as the wire carries it, cut as the driver cuts a
/// train.
fn next_on_the_wire(h: &mut Harness) -> Option<Vec<OnTheWire>> {
    let mut buf = Vec::new();
    let transmit = h.host.transmit(h.now, &mut buf)?;
    let mut segments = Vec::new();
    crate::device::offload::segment(&buf, &transmit.info, 0, &mut segments).expect("it cuts");
    let parsed = segments.iter().map(|packet| {
        let ip = crate::ip::header::Packet::new_checked(&packet[..]).expect("IPv4");
        let tcp = crate::tcp::header::Packet::new_checked(ip.payload()).expect("TCP");
        let repr = crate::tcp::header::Repr::parse(&tcp, US, THEM).expect("a right checksum");
        let sack = repr.sack_blocks.as_slice().iter();
        let sack = sack.map(|b| (b.left.0, b.right.0)).collect();
        (packet.len(), sack, repr.payload_len)
    });
    Some(parsed.collect())
}

#[test]
fn a_segment_that_brings_early_data_again_is_acknowledged_at_once_with_a_dsack() {
    let mut h = Harness::new();
    h.host.set_trains(true);
    let (id, ours, theirs) = with_sack(&mut h);
    let at = |off: u32| theirs.wrapping_add(off);
    h.send(&data(at(100), ours, 100));
    assert_eq!(
        h.expect().sack,
        [(at(100), at(200))],
        "early: SACKed at once"
    );
    // Sent again in one larger segment, which fills the gap and holds the early bytes: the
    // ACK goes at once (RFC 5681 4.2), with the early bytes as a D-SACK (RFC 2883 4, case 2),
    // not later on the data the application is about to write.
    h.send(&data(theirs, ours, 300));
    h.write(id, &vec![5; 30_000]).unwrap();
    let ack = next_on_the_wire(&mut h).expect("the ACK");
    assert_eq!(
        ack,
        [(40 + 12, vec![(at(100), at(200))], 0)],
        "a pure ACK, first"
    );
    let mut sent = 0;
    while let Some(segments) = next_on_the_wire(&mut h) {
        for (len, sack, data) in segments {
            assert!(sack.is_empty(), "reported once");
            assert!(len <= 40 + 1000, "{len} bytes to a peer whose MSS is 1000");
            sent += data;
        }
    }
    assert_eq!(sent, 10 * 1000, "the initial window, in trains");
    assert_eq!(h.host.tcp_info(id).unwrap().stats.dsacks_sent, 1);
}

#[test]
fn a_dsack_owed_when_data_goes_rides_one_segment_not_a_train() {
    // However it came to be owed, a D-SACK goes in one segment, with less room for data
    // than the ones after it; a train of segments would repeat it in every one, each too
    // long by its SACK option.
    let mut h = Harness::new();
    h.host.set_trains(true);
    let (id, ours, theirs) = with_sack(&mut h);
    h.send(&data(theirs, ours, 300));
    h.recv_all();
    let conn = h.host.tcp.conn_mut(id).expect("open");
    let nxt = conn.rcv.nxt;
    conn.rcv.dsack = Some((nxt - 300, nxt - 200));
    h.write(id, &vec![5; 30_000]).unwrap();
    let first = next_on_the_wire(&mut h).expect("data");
    let dsack = (theirs, theirs.wrapping_add(100));
    assert_eq!(first.len(), 1, "one segment: {first:?}");
    assert_eq!(first[0], (40 + 12 + 988, vec![dsack], 988));
    let mut sent = first[0].2;
    while let Some(segments) = next_on_the_wire(&mut h) {
        assert!(segments.len() > 1, "then trains");
        for (len, sack, data) in segments {
            assert_eq!((len, sack.len()), (40 + 1000, 0));
            sent += data;
        }
    }
    assert_eq!(sent, 988 + 9 * 1000);
}
