//! Our TCP against a scripted peer on the in-memory wire: reassembly of out-of-order segments
//! and the ACKs they call for, and what we do with the peer's duplicate ACKs.
//!
//! The peer (10.0.0.2) is this test: it builds segments with etherparse and puts them on the
//! wire itself, so it controls what arrives, in which order and in which batch. Our stack
//! (10.0.0.1) listens on port 80. Both run on tokio's paused clock.
//!
//! The behaviours here were first seen going wrong with smoltcp as the peer: as the sender over
//! a congested wire (see `smoltcp_tcp.rs`, `smol_to_ours_over_a_congested_wire`), and as the
//! receiver in the throughput benchmark (`tests/benches/throughput.rs`, `--runtime multi`).

use std::future::poll_fn;
use std::net::Ipv4Addr;
use std::time::Duration;

use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tunstack::device::{memory, Device, MemoryConfig, MemoryDevice};
use tunstack::{Config, Stack, TcpListener, TcpStream};

const OURS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const OUR_PORT: u16 = 80;
const PEER_PORT: u16 = 40000;
/// The peer's initial sequence number.
const PEER_ISN: u32 = 1000;
/// How long the peer waits for segments from us.
const QUIET: Duration = Duration::from_millis(10);

/// A segment our stack sent, as the peer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seg {
    seq: u32,
    ack: u32,
    syn: bool,
    ack_flag: bool,
    len: usize,
}

/// The scripted peer: the other end of the wire.
struct Peer {
    link: MemoryDevice,
    /// Our initial sequence number, once the handshake is done.
    our_iss: u32,
    /// What the peer acknowledges.
    our_next: u32,
    /// The window the peer announces (no scaling).
    window: u16,
}

impl Peer {
    /// Puts one segment from the peer on the wire, at once (our stack reads it when its task
    /// next runs, so several sends in a row arrive as one batch).
    async fn send(&mut self, seq: u32, syn: bool, payload: &[u8]) {
        let tcp = PacketBuilder::ipv4(PEER.octets(), OURS.octets(), 64).tcp(
            PEER_PORT,
            OUR_PORT,
            seq,
            self.window,
        );
        let tcp = if syn {
            tcp.syn()
        } else {
            tcp.ack(self.our_next)
        };
        let mut packet = Vec::new();
        tcp.write(&mut packet, payload).unwrap();
        poll_fn(|cx| self.link.poll_send(cx, &packet, None))
            .await
            .unwrap();
    }

    /// Sends `len` bytes of `byte` at stream offset `offset` (sequence number ISN + 1 + offset).
    async fn send_data(&mut self, offset: u32, byte: u8, len: usize) {
        self.send(PEER_ISN + 1 + offset, false, &vec![byte; len])
            .await;
    }

    /// Acknowledges our bytes up to stream offset `offset` (and nothing else: no data).
    async fn ack_to(&mut self, offset: u32) {
        self.our_next = self.our_iss.wrapping_add(1).wrapping_add(offset);
        self.send(PEER_ISN + 1, false, &[]).await;
    }

    /// Every segment our stack sends until it has been quiet for [`QUIET`].
    async fn received(&mut self) -> Vec<Seg> {
        let mut segs = Vec::new();
        let mut buf = vec![0; self.link.mtu()];
        while let Ok(n) = timeout(QUIET, poll_fn(|cx| self.link.poll_recv(cx, &mut buf))).await {
            let n = n.unwrap();
            let packet = SlicedPacket::from_ip(&buf[..n]).unwrap();
            let Some(TransportSlice::Tcp(tcp)) = packet.transport else {
                panic!("not TCP: {:?}", &buf[..n]);
            };
            segs.push(Seg {
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                syn: tcp.syn(),
                ack_flag: tcp.ack(),
                len: tcp.payload().len(),
            });
        }
        segs
    }

    /// Our stack listening, the peer connected to it (no TCP options: no window scaling, MSS
    /// 536), and our end of the connection.
    async fn connect() -> (Stack, Peer, TcpStream) {
        let (a, b) = memory::pair(MemoryConfig::default());
        let mut config = Config::new(format!("{OURS}/24").parse().unwrap());
        config.seed = Some(1);
        let stack = Stack::new(a, config);
        let listener = TcpListener::bind(&stack, (Ipv4Addr::UNSPECIFIED, OUR_PORT))
            .await
            .unwrap();
        let mut peer = Peer {
            link: b,
            our_iss: 0,
            our_next: 0,
            window: 65535,
        };
        peer.send(PEER_ISN, true, &[]).await;
        let syn_ack = peer.received().await;
        assert!(
            matches!(&syn_ack[..], [s] if s.syn && s.ack_flag),
            "{syn_ack:?}"
        );
        peer.our_iss = syn_ack[0].seq;
        peer.our_next = syn_ack[0].seq.wrapping_add(1);
        peer.send(PEER_ISN + 1, false, &[]).await;
        let (stream, _) = listener.accept().await.unwrap();
        (stack, peer, stream)
    }
}

/// Reads exactly `n` bytes, within [`QUIET`].
async fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    timeout(QUIET, stream.read_exact(&mut buf))
        .await
        .expect("the bytes are there")
        .unwrap();
    buf
}

/// Segment 3 arrives before segment 2 and is held; the application reads everything before
/// the hole (segment 1); then segment 2 fills the hole, and segments 2 and 3 must be read in
/// order.
///
/// Early segments are stored in the receive ring at their place in the stream, counted from
/// the ring's start; the ring must not move its start when the reader empties it, or the held
/// bytes would be looked for in the wrong place once the hole fills.
#[tokio::test(start_paused = true)]
async fn held_segments_survive_the_reader_catching_up() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    peer.send_data(0, b'A', 100).await; // segment 1, in order
    peer.send_data(200, b'C', 100).await; // segment 3: early, held
    let acks = peer.received().await;
    assert_eq!(acks.last().map(|s| s.ack), Some(PEER_ISN + 101), "{acks:?}");

    assert_eq!(read_exactly(&mut stream, 100).await, [b'A'; 100]);
    peer.send_data(100, b'B', 100).await; // segment 2 fills the hole
    let got = read_exactly(&mut stream, 200).await;
    let mut expected = vec![b'B'; 100];
    expected.extend_from_slice(&[b'C'; 100]);
    assert!(
        got == expected,
        "segments 2 and 3 in order; got {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// Three segments arrive out of order (the first one is missing), one right after the other.
/// RFC 5681 4.2 (and RFC 9293 3.10.7.4): "a TCP receiver SHOULD send an immediate duplicate
/// ACK when an out-of-order segment arrives", so that the sender sees three duplicate ACKs and
/// retransmits the missing segment at once (fast retransmit, RFC 5681 3.2) instead of waiting
/// for its retransmission timeout.
///
/// The driver takes packets from the link in batches, so these ACKs cannot wait for the batch
/// to end: an out-of-order segment queues its duplicate ACK at once (`send_ack_now`).
#[tokio::test(start_paused = true)]
async fn each_out_of_order_segment_gets_a_duplicate_ack() {
    let (_stack, mut peer, _stream) = Peer::connect().await;
    for i in 1..=3 {
        peer.send_data(100 * i, b'x', 100).await; // 0..100 is missing
    }
    let acks = peer.received().await;
    assert!(
        acks.iter().all(|s| s.ack == PEER_ISN + 1 && s.len == 0),
        "{acks:?}"
    );
    assert_eq!(acks.len(), 3, "one duplicate ACK per segment: {acks:?}");
}

/// The same out-of-order segments, each given time to be processed on its own: then each does
/// get its duplicate ACK (the behaviour above depends on batching alone).
#[tokio::test(start_paused = true)]
async fn out_of_order_segments_one_at_a_time_get_a_duplicate_ack_each() {
    let (_stack, mut peer, _stream) = Peer::connect().await;
    let mut acks = Vec::new();
    for i in 1..=3 {
        peer.send_data(100 * i, b'x', 100).await;
        acks.extend(peer.received().await);
    }
    assert_eq!(acks.len(), 3, "{acks:?}");
    assert!(acks.iter().all(|s| s.ack == PEER_ISN + 1), "{acks:?}");
}

/// A hole filled while the reader is not reading: everything comes out in order (the
/// realignment above needs the reader to have caught up).
#[tokio::test(start_paused = true)]
async fn a_hole_filled_before_reading_gives_the_bytes_in_order() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    peer.send_data(0, b'A', 100).await;
    peer.send_data(200, b'C', 100).await;
    peer.send_data(100, b'B', 100).await;
    let acks = peer.received().await;
    assert_eq!(acks.last().map(|s| s.ack), Some(PEER_ISN + 301), "{acks:?}");
    let got = read_exactly(&mut stream, 300).await;
    assert_eq!(&got[..100], [b'A'; 100]);
    assert_eq!(&got[100..200], [b'B'; 100]);
    assert_eq!(&got[200..], [b'C'; 100]);
}

/// We send five segments; the peer acknowledges the first, then sends three duplicate ACKs
/// (the second segment was lost, the later ones arrived). RFC 5681 3.2: "the TCP MUST use
/// the fast retransmit algorithm ... after receiving 3 duplicate ACKs", i.e. send the missing
/// segment at once instead of waiting for the retransmission timeout (200 ms at the least).
///
/// Without it, every loss costs a retransmission timeout: in the throughput benchmark
/// (ours→smoltcp, MTU 65535) smoltcp shrinks its window by 87 bytes, trims our segment to it
/// and sends 63 duplicate ACKs for the missing bytes, and we would wait 200 ms, then resend
/// everything in flight.
#[tokio::test(start_paused = true)]
async fn three_duplicate_acks_bring_a_fast_retransmit() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    // The peer sent no MSS option: we send 536-byte segments (RFC 9293 3.7.1).
    stream.write_all(&[b'd'; 5 * 536]).await.unwrap();
    let sent = peer.received().await;
    assert_eq!(sent.iter().map(|s| s.len).collect::<Vec<_>>(), [536; 5]);
    let second = sent[1].seq;

    peer.ack_to(536).await;
    for _ in 0..3 {
        peer.ack_to(536).await; // duplicates: same ACK, same window, no data
    }
    let resent = peer.received().await;
    assert!(
        resent.iter().any(|s| s.seq == second && s.len == 536),
        "the second segment again, at once; got {resent:?}"
    );
}

/// The peer's window shrinks below one segment while we have more to send, so sender-side
/// silly-window avoidance (RFC 9293 3.8.6.2.1) holds the data and starts the persist timer;
/// then the window opens wide and the transfer goes on, the peer acknowledging every 50 ms.
/// Once the window is open, nothing should be probed or sent twice.
///
/// A persist timer left running would fire mid-transfer, probe the open window and move
/// SND.NXT back, sending everything in flight again; `update_window` stops it whenever the
/// window grows.
#[tokio::test(start_paused = true)]
async fn the_persist_timer_stops_when_a_small_window_opens() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    let writer = tokio::spawn(async move {
        stream.write_all(&vec![b'p'; 200_000]).await.unwrap();
        stream
    });
    let offset = |peer: &Peer, seg: &Seg| seg.seq.wrapping_sub(peer.our_iss).wrapping_sub(1);
    let first = peer.received().await; // the initial window: ten 536-byte segments
    let mut sent_to = first
        .iter()
        .map(|s| offset(&peer, s) + s.len as u32)
        .max()
        .unwrap();
    peer.window = 100; // less than a segment: silly-window avoidance holds the rest
    peer.ack_to(sent_to).await;
    assert_eq!(peer.received().await, [], "nothing fits a 100-byte window");

    peer.window = 65535;
    let mut resent = Vec::new();
    for _ in 0..8 {
        peer.ack_to(sent_to).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        for seg in peer.received().await {
            let start = offset(&peer, &seg);
            if start < sent_to || seg.len < 536 {
                resent.push((start, seg.len));
            }
            sent_to = sent_to.max(start + seg.len as u32);
        }
    }
    assert!(sent_to > 50_000, "the transfer went on: {sent_to} bytes");
    assert!(
        resent.is_empty(),
        "{} segments probed or sent again into an open window (offset, length): {:?}...",
        resent.len(),
        &resent[..resent.len().min(5)]
    );
    writer.abort();
}

/// Four full-sized segments arrive in order, one right after the other. RFC 9293 3.8.6.3: "an
/// ACK SHOULD be generated for at least every second full-sized segment", so two ACKs at the
/// least (TCP-SCENARIOS.md lists it under delayed ACK).
///
/// These are a connection's first segments, which our receiver acknowledges the quick way:
/// the ACK does not wait for the driver's batch to end, but is queued at once after every
/// second full-sized segment (later, one ACK covers a batch of up to 16; `tcp/receiver.rs`).
/// A sender that grows its congestion window per ACK (ours by at most two MSS per ACK in slow
/// start) would otherwise grow it far more slowly while the window is small.
#[tokio::test(start_paused = true)]
async fn every_second_full_sized_segment_is_acknowledged() {
    let (_stack, mut peer, _stream) = Peer::connect().await;
    for i in 0..4 {
        peer.send_data(1460 * i, b'f', 1460).await; // 1460: the MSS we announced
    }
    let acks = peer.received().await;
    assert_eq!(
        acks.last().map(|s| s.ack),
        Some(PEER_ISN + 1 + 4 * 1460),
        "{acks:?}"
    );
    assert!(
        acks.len() >= 2,
        "an ACK per two full-sized segments: {acks:?}"
    );
}

/// 32 segments arrive early, each after a hole of its own, so the receive buffer holds 32
/// separate early ranges, its limit (`MAX_RANGES` in `tcp/recv_buffer.rs`). Then the sender
/// resends the first missing segment, at RCV.NXT but shorter than the hole (the hole is two
/// segments wide). It is in order and in the window: RFC 9293 3.10.7.4 says to take it and
/// advance RCV.NXT.
///
/// A receive buffer that refused it (because it holds as many early ranges as it may) would
/// ACK the old RCV.NXT again and again: a sender that resends one segment at a time after a
/// timeout (smoltcp does; so does ours in slow start after an RTO) would never get past the
/// hole. Data at RCV.NXT is always taken: it can only lower the range count. Found with
/// smoltcp sending to us through a bottleneck in `tests/benches/goodput.rs`.
#[tokio::test(start_paused = true)]
async fn a_segment_at_rcv_nxt_is_taken_even_with_every_early_range_in_use() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    // Early ranges at 200..300, 400..500, ..., 6400..6500: 32 of them, holes between.
    for i in 1..=32 {
        peer.send_data(200 * i, b'e', 100).await;
    }
    let acks = peer.received().await;
    assert!(acks.iter().all(|s| s.ack == PEER_ISN + 1), "{acks:?}");

    peer.send_data(0, b'A', 100).await; // in order; the hole is 0..200
    tokio::time::sleep(Duration::from_millis(250)).await; // past any delayed ACK
    let acks = peer.received().await;
    assert_eq!(
        acks.last().map(|s| s.ack),
        Some(PEER_ISN + 101),
        "the in-order segment is taken and acknowledged: {acks:?}"
    );
    assert_eq!(read_exactly(&mut stream, 100).await, [b'A'; 100]);
}

/// A segment at RCV.NXT fills part of a hole (0..200 is missing, 200..300 held; 0..100
/// arrives). RFC 5681 4.2: "an immediate ACK SHOULD be generated when a segment arrives that
/// fills in all or part of a gap in the sequence space", so that a sender in loss recovery
/// learns at once where the next hole is (a partial ACK, RFC 6582).
///
/// Every partial ACK of a recovery would otherwise come one delayed-ACK timeout (40 ms) later.
#[tokio::test(start_paused = true)]
async fn a_segment_filling_part_of_a_hole_is_acknowledged_at_once() {
    let (_stack, mut peer, _stream) = Peer::connect().await;
    peer.send_data(200, b'e', 100).await; // early: 0..200 is missing
    let acks = peer.received().await;
    assert_eq!(acks.last().map(|s| s.ack), Some(PEER_ISN + 1), "{acks:?}");
    peer.send_data(0, b'A', 100).await; // fills 0..100 of the hole
    let acks = peer.received().await; // within QUIET (10 ms): before any delayed ACK
    assert_eq!(
        acks.last().map(|s| s.ack),
        Some(PEER_ISN + 101),
        "an immediate ACK for part of the gap: {acks:?}"
    );
}
