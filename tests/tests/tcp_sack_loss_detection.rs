//! How our TCP sender notices a loss from a SACK peer's ACKs, against a scripted peer on the
//! in-memory wire (tokio's paused clock): fast retransmit at once, not after the retransmission
//! timeout (200 ms at the least).
//!
//! The peer (10.0.0.2) is this test: it opens the connection with MSS 1000 and SACK permitted
//! (no window scaling, no timestamps), our stack (10.0.0.1) accepts and sends, and the peer
//! answers with the ACKs a receiver that lost a segment would send.
//!
//! The last two are what the Linux lossy suite (`linux_lossy.rs`, our client sending to a Linux
//! server) once showed, where one loss in four ended in a retransmission timeout.

use std::future::poll_fn;
use std::net::Ipv4Addr;
use std::time::Duration;

use etherparse::{PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;
use tunstack::device::{memory, Device, MemoryConfig, MemoryDevice};
use tunstack::{Config, Stack, TcpListener, TcpStream};

const OURS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const OUR_PORT: u16 = 80;
const PEER_PORT: u16 = 40000;
/// The peer's initial sequence number.
const PEER_ISN: u32 = 1000;
/// The MSS the peer announces: our segments carry 1000 bytes.
const MSS: u16 = 1000;
/// How long the peer waits for segments from us: far less than any retransmission timeout.
const QUIET: Duration = Duration::from_millis(10);
/// The window the peer announces at first.
const WINDOW: u16 = 60_000;

/// A data segment our stack sent, as offsets in our byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    start: u32,
    end: u32,
}

/// The scripted peer: the other end of the wire.
struct Peer {
    link: MemoryDevice,
    /// Our initial sequence number.
    our_iss: u32,
    /// The window the peer announces (no scaling).
    window: u16,
}

impl Peer {
    /// Sends a segment from the peer: a SYN with MSS and SACK permitted, or an ACK of our
    /// stream offset `ack` with SACK blocks `sack` (stream offsets, at most three).
    async fn send(&mut self, syn: bool, ack: u32, sack: &[(u32, u32)]) {
        let seq = if syn { PEER_ISN } else { PEER_ISN + 1 };
        let tcp = PacketBuilder::ipv4(PEER.octets(), OURS.octets(), 64).tcp(
            PEER_PORT,
            OUR_PORT,
            seq,
            self.window,
        );
        let tcp = if syn {
            tcp.syn()
                .options(&[
                    TcpOptionElement::MaximumSegmentSize(MSS),
                    TcpOptionElement::SelectiveAcknowledgementPermitted,
                ])
                .unwrap()
        } else {
            let to_seq = |offset: u32| self.our_iss.wrapping_add(1).wrapping_add(offset);
            let tcp = tcp.ack(to_seq(ack));
            match sack {
                [] => tcp,
                [first, rest @ ..] => {
                    let mut more = [None; 3];
                    for (slot, &(l, r)) in more.iter_mut().zip(rest) {
                        *slot = Some((to_seq(l), to_seq(r)));
                    }
                    let block = TcpOptionElement::SelectiveAcknowledgement(
                        (to_seq(first.0), to_seq(first.1)),
                        more,
                    );
                    tcp.options(&[block]).unwrap()
                }
            }
        };
        let mut packet = Vec::new();
        tcp.write(&mut packet, &[]).unwrap();
        poll_fn(|cx| self.link.poll_send(cx, &packet, None))
            .await
            .unwrap();
    }

    /// An ACK of our stream up to `ack`, with SACK blocks.
    async fn ack(&mut self, ack: u32, sack: &[(u32, u32)]) {
        self.send(false, ack, sack).await;
    }

    /// The data segments our stack sends until it has been quiet for [`QUIET`], in order.
    async fn received(&mut self) -> Vec<Seg> {
        let mut segs = Vec::new();
        let mut buf = vec![0; self.link.mtu()];
        while let Ok(n) = timeout(QUIET, poll_fn(|cx| self.link.poll_recv(cx, &mut buf))).await {
            let n = n.unwrap();
            let packet = SlicedPacket::from_ip(&buf[..n]).unwrap();
            let Some(TransportSlice::Tcp(tcp)) = packet.transport else {
                panic!("not TCP: {:?}", &buf[..n]);
            };
            let len = tcp.payload().len() as u32;
            if len > 0 {
                let start = tcp
                    .sequence_number()
                    .wrapping_sub(self.our_iss)
                    .wrapping_sub(1);
                segs.push(Seg {
                    start,
                    end: start + len,
                });
            }
        }
        segs
    }

    /// Our stack listening, the peer connected to it, and our end of the connection.
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
            window: WINDOW,
        };
        peer.send(true, 0, &[]).await;
        let mut buf = vec![0; peer.link.mtu()];
        let n = timeout(QUIET, poll_fn(|cx| peer.link.poll_recv(cx, &mut buf)))
            .await
            .expect("a SYN-ACK")
            .unwrap();
        let packet = SlicedPacket::from_ip(&buf[..n]).unwrap();
        let Some(TransportSlice::Tcp(syn_ack)) = packet.transport else {
            panic!("not TCP");
        };
        assert!(syn_ack.syn() && syn_ack.ack());
        peer.our_iss = syn_ack.sequence_number();
        peer.ack(0, &[]).await;
        let (stream, _) = listener.accept().await.unwrap();
        assert!(stream.info().unwrap().sack, "SACK agreed");
        (stack, peer, stream)
    }
}

/// Our stack has `segments` full segments to send; returns the first flight (the initial
/// window: ten segments).
async fn first_flight(peer: &mut Peer, stream: &mut TcpStream, segments: usize) -> Vec<Seg> {
    stream
        .write_all(&vec![b's'; segments * usize::from(MSS)])
        .await
        .unwrap();
    let flight = peer.received().await;
    assert_eq!(flight.len(), 10, "the initial window: {flight:?}");
    assert!(flight.iter().all(|s| s.end - s.start == u32::from(MSS)));
    flight
}

/// The first segment is lost, the next three arrive: three duplicate ACKs, each SACKing one
/// more segment, all with the same window. Fast retransmit (RFC 5681 3.2, RFC 6675 5).
#[tokio::test(start_paused = true)]
async fn three_sack_duplicate_acks_bring_a_fast_retransmit() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    let flight = first_flight(&mut peer, &mut stream, 12).await;
    for i in 1..=3 {
        peer.ack(0, &[(flight[1].start, flight[i].end)]).await;
    }
    let resent = peer.received().await;
    assert!(
        resent.contains(&flight[0]),
        "the first segment again, at once; got {resent:?}"
    );
}

/// The same, except that the window each duplicate ACK announces is a little larger than the
/// one before, as Linux's are while its receive window grows (it grows with every segment
/// received, for the first megabytes of a connection: `tcp_grow_window`).
///
/// RFC 5681 2 does not count an ACK that changes the window as a duplicate ACK. RFC 6675 2
/// does, with SACK: "a duplicate acknowledgment is a segment that arrives carrying a SACK block
/// that identifies previously unacknowledged and un-SACKed octets between HighACK and HighData
/// [...] even if it carries new data, changes the advertised window, or moves the cumulative
/// acknowledgment point". `is_duplicate_ack` in `stack/src/tcp/recovery.rs` takes both.
#[tokio::test(start_paused = true)]
async fn sack_duplicate_acks_that_grow_the_window_bring_a_fast_retransmit() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    let flight = first_flight(&mut peer, &mut stream, 12).await;
    for i in 1..=3 {
        peer.window += 100;
        peer.ack(0, &[(flight[1].start, flight[i].end)]).await;
    }
    let resent = peer.received().await;
    assert!(
        resent.contains(&flight[0]),
        "the first segment again, at once; got {resent:?}"
    );
}

/// A loss in the first segment sent after recovery began, found only after that recovery
/// ended: fast recovery for segment 0 starts with ten segments out (its recovery point is the
/// end of segment 9); SACKs of segments 4 to 9 let segments 10 and on go out; then the peer
/// acknowledges everything up to the recovery point (recovery over) and SACKs segments 11 to
/// 13 but not 10, which was lost. Three duplicate ACKs with SACK, the same window: fast
/// retransmit of segment 10.
///
/// RFC 6582's NewReno guard (a loss of data sent before the last recovery began starts no new
/// one) must not hold here: an ACK exactly at the recovery point covers every byte that was
/// sent before recovery began, and RFC 6582 3.2 step 2 ("covers more than recover", recover
/// being "the highest sequence number transmitted") lets it start a new recovery; RFC 6675
/// has no such guard at all.
#[tokio::test(start_paused = true)]
async fn a_loss_right_at_the_last_recovery_point_brings_a_fast_retransmit() {
    let (_stack, mut peer, mut stream) = Peer::connect().await;
    let flight = first_flight(&mut peer, &mut stream, 30).await;
    let point = flight[9].end;
    // Segment 0 lost: three duplicate ACKs, fast retransmit.
    for i in 1..=3 {
        peer.ack(0, &[(flight[1].start, flight[i].end)]).await;
    }
    let mut sent = peer.received().await;
    assert!(sent.contains(&flight[0]), "fast retransmit: {sent:?}");
    // Segments 4 to 9 arrive too: the pipe empties, new segments go out.
    for i in 4..=9 {
        peer.ack(0, &[(flight[1].start, flight[i].end)]).await;
        sent.extend(peer.received().await);
    }
    let new: Vec<Seg> = sent.iter().copied().filter(|s| s.start >= point).collect();
    assert!(new.len() >= 5, "new data in recovery: {sent:?}");
    assert_eq!(new[0].start, point, "{new:?}");
    // The retransmitted segment 0 arrives (recovery over), segment 10 (new[0]) was lost, 11
    // arrives: the cumulative ACK; then 12 to 14: three duplicates.
    for j in 1..=4 {
        peer.ack(point, &[(new[1].start, new[j].end)]).await;
    }
    let resent = peer.received().await;
    assert!(
        resent.contains(&new[0]),
        "segment 10 again, at once; got {resent:?}"
    );
}
