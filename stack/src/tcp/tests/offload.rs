//! TCP on a device with offloads: bursts of new data go as super-packets for the device to cut
//! (TSO), their checksums left partial; retransmissions stay one segment; a super-packet from
//! the peer is one segment of any length the window takes; a checksum the device vouches for is
//! not verified again.

use std::time::Duration;

use super::harness::*;
use crate::device::offload::{Checksum, Offloads, PacketInfo, BIG_TCP_MAX};
use crate::stats::DropReason;
use crate::tcp::{Flags, SeqNumber};

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 251) as u8).collect()
}

/// A host with TSO and checksum offload, an established passive connection on port 80, and
/// the peer's window opened wide; returns the connection, our next sequence number and the
/// peer's.
fn established() -> (Harness, crate::tcp::ConnId, u32, u32) {
    let mut h = Harness::on_device(Offloads::ALL, |_| {});
    let (id, iss) = h.passive_open(80);
    let (ours, theirs) = (iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1));
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(65_535));
    (h, id, ours, theirs)
}

#[test]
fn a_burst_of_new_data_goes_as_one_super_packet_of_whole_segments() {
    let (mut h, id, ours, _) = established();
    h.write(id, &data(100_000)).unwrap();
    let (seg, info) = h.recv_info().expect("a segment");
    // The congestion window (10 segments at first) bounds the burst, not the MSS.
    assert_eq!(seg.payload.len(), 10 * 1460, "{seg:?}");
    assert_eq!(seg.seq, SeqNumber(ours));
    assert_eq!(seg.payload, data(100_000)[..10 * 1460]);
    let gso = info.gso.expect("a super-packet");
    assert_eq!((gso.size, gso.header_len, gso.v6), (1460, 40, false));
    assert_eq!(
        info.checksum,
        Checksum::Partial {
            start: 20,
            offset: 16
        },
        "left for the device (recv_info completed it before parsing)"
    );
    assert_eq!(info.segments(20 + 20 + seg.payload.len()), 10);
    assert!(h.recv().is_none(), "the window is full");
}

#[test]
fn the_peers_window_bounds_a_burst_and_a_single_segment_is_no_super_packet() {
    let (mut h, id, ours, theirs) = established();
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(1000));
    h.write(id, &data(800)).unwrap();
    let (seg, info) = h.recv_info().expect("a segment");
    assert_eq!(seg.payload.len(), 800);
    assert_eq!(info.gso, None, "one segment: nothing to cut");
    assert!(matches!(info.checksum, Checksum::Partial { .. }));
}

#[test]
fn a_retransmission_after_a_timeout_is_one_segment() {
    let (mut h, id, ours, _) = established();
    h.write(id, &data(20_000)).unwrap();
    let (first, _) = h.recv_info().expect("the burst");
    assert!(first.payload.len() > 1460);
    h.advance(Duration::from_secs(2));
    let (again, info) = h.recv_info().expect("a retransmission");
    assert_eq!(again.seq, SeqNumber(ours));
    assert_eq!(again.payload.len(), 1460, "one segment: {again:?}");
    assert_eq!(info.gso, None);
}

#[test]
fn a_super_packet_from_the_peer_is_one_segment_acknowledged_at_once() {
    let (mut h, id, ours, theirs) = established();
    let burst = data(30_000);
    let info = PacketInfo {
        checksum: Checksum::Verified,
        gso: None,
    };
    h.send_info(
        &Seg::to(80, Flags::ACK, theirs, ours).with_payload(&burst),
        info,
        false,
    );
    let ack = h.expect();
    assert_eq!(ack.ack, SeqNumber(theirs) + burst.len());
    assert_eq!(h.read(id).unwrap().unwrap(), burst);
}

#[test]
fn a_checksum_the_device_vouches_for_is_not_verified_again() {
    let (mut h, id, ours, theirs) = established();
    // A bad checksum with nobody vouching: dropped and counted.
    let seg = Seg::to(80, Flags::ACK | Flags::PSH, theirs, ours).with_payload(b"hello");
    h.send_info(&seg, PacketInfo::PLAIN, true);
    assert!(h.recv().is_none());
    assert_eq!(h.host.stats().tcp.dropped.get(DropReason::BadChecksum), 1);
    // The same bytes, with the device's word that it checked them (DATA_VALID), or that they
    // never crossed a wire (NEEDS_CSUM): taken.
    let verified = PacketInfo {
        checksum: Checksum::Verified,
        gso: None,
    };
    h.send_info(&seg, verified, true);
    assert_eq!(h.read(id).unwrap().unwrap(), b"hello");
    assert_eq!(h.host.stats().tcp.dropped.get(DropReason::BadChecksum), 1);
}

#[test]
fn with_big_tcp_an_ipv4_burst_is_longer_than_ip_can_say_and_two_fit_under_the_unsent_limit() {
    let big = Offloads {
        big_tcp: true,
        ..Offloads::ALL
    };
    let mut h = Harness::on_device(big, |c| {
        c.initial_window = 400;
        c.send_buffer = 1 << 20;
        c.unsent_limit = Some(128 * 1024);
    });
    h.listen(80);
    let syn = Seg::to(80, Flags::SYN, PEER_ISN, 0).with_mss(1460);
    h.send(&syn.clone().with_window_scale(7));
    let syn_ack = h.expect();
    let (ours, theirs) = (syn_ack.seq.0.wrapping_add(1), PEER_ISN.wrapping_add(1));
    // 4,096 << 7: the peer offers 512 KiB.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(4096));
    let id = h.accept(80).expect("the handshake completed");
    let stream = data(1 << 20);
    // Nothing sent yet sized a burst: the first write gets the limit as configured.
    assert_eq!(h.write(id, &stream).unwrap(), 128 * 1024);
    // As many whole segments as fit BIG_TCP_MAX with the IP and the largest TCP header.
    let burst = 1460 * ((BIG_TCP_MAX - 20 - 60) / 1460);
    assert!(burst > 65_535, "{burst}");
    let (seg, info) = h.recv_info().expect("a burst");
    assert_eq!(seg.payload, stream[..128 * 1024]);
    assert_eq!(info.gso.map(|gso| (gso.size, gso.v6)), Some((1460, false)));
    assert_eq!(
        h.write(id, &stream[128 * 1024..]).unwrap(),
        2 * burst,
        "from then on the unsent limit is never less than two bursts"
    );
    let (seg, _) = h.recv_info().expect("a burst");
    assert_eq!(
        seg.payload.len(),
        burst,
        "longer than an IPv4 packet can say"
    );
    assert_eq!(seg.payload, stream[128 * 1024..][..burst]);
    // Without BIG TCP the same connection's bursts stay within 64 KiB.
    let mut h = Harness::on_device(Offloads::ALL, |c| c.initial_window = 400);
    h.listen(80);
    h.send(&syn.with_window_scale(7));
    let syn_ack = h.expect();
    let ours = syn_ack.seq.0.wrapping_add(1);
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(4096));
    let id = h.accept(80).expect("the handshake completed");
    h.write(id, &data(200_000)).unwrap();
    let (seg, _) = h.recv_info().expect("a burst");
    assert_eq!(
        seg.payload.len(),
        1460 * 44,
        "45 segments would pass 65,535 bytes"
    );
}

#[test]
fn big_tcp_is_for_ipv4_and_for_a_device_with_tso() {
    let big = Offloads {
        big_tcp: true,
        ..Offloads::ALL
    };
    assert_eq!(big.longest_burst_packet(false), BIG_TCP_MAX);
    assert_eq!(
        big.longest_burst_packet(true),
        65_535,
        "IPv6 needs a jumbo option"
    );
    assert_eq!(Offloads::ALL.longest_burst_packet(false), 65_535);
    let no_tso = Offloads { tso: false, ..big };
    assert_eq!(no_tso.longest_burst_packet(false), 65_535);
    assert_eq!(big.largest_sent(1500, 0), BIG_TCP_MAX);
    assert_eq!(
        big.largest_packet(1500, 0),
        crate::device::offload::MAX_SUPER_PACKET,
        "what it hands us"
    );
}
