//! Our stack's receive window against a peer that a test scripts segment by segment, on the
//! in-memory wire: the smallest reproduction of what the Linux suite (`linux_tcp.rs`) ran into
//! when its echo server stopped reading.
//!
//! The peer is this file's [`Peer`]: it builds segments with etherparse, puts them on one end of
//! a [`memory::pair`] and reads what our stack answers on the same end. No root needed.

use std::future::poll_fn;
use std::time::Duration;

use etherparse::{PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice};
use tokio::time::timeout;
use tunstack::device::{memory, Device, MemoryConfig, MemoryDevice};
use tunstack::{Config, Stack, TcpListener, TcpStream};

const PEER: [u8; 4] = [10, 0, 0, 1];
const US: [u8; 4] = [10, 0, 0, 2];
const PEER_PORT: u16 = 40000;
const PORT: u16 = 7;

/// How long the peer waits for our stack's answer.
const WAIT: Duration = Duration::from_secs(2);

/// The peer's initial sequence number.
const PEER_ISS: u32 = 1000;

/// One segment our stack sent, as the peer reads it.
#[derive(Debug, Clone)]
struct Segment {
    seq: u32,
    ack: u32,
    window: u16,
    syn: bool,
    window_scale: Option<u8>,
}

/// A TCP peer driven by hand on the other end of the wire: it sends what the test says, from
/// 10.0.0.1:40000 to our stack at 10.0.0.2:7.
struct Peer {
    link: MemoryDevice,
    /// The sequence number of the peer's next new byte.
    next: u32,
    /// Our stack's next sequence number, which the peer acknowledges.
    rcv_nxt: u32,
}

impl Peer {
    /// Sends a segment with ACK set (unless it is the opening SYN) and `payload` at `seq`.
    async fn send(&mut self, seq: u32, syn: bool, options: &[TcpOptionElement], payload: &[u8]) {
        let mut tcp = PacketBuilder::ipv4(PEER, US, 64).tcp(PEER_PORT, PORT, seq, 65535);
        if syn {
            tcp = tcp.syn();
        } else {
            tcp = tcp.ack(self.rcv_nxt);
        }
        let tcp = tcp.options(options).unwrap();
        let mut packet = Vec::new();
        tcp.write(&mut packet, payload).unwrap();
        poll_fn(|cx| self.link.poll_send(cx, &packet, None))
            .await
            .unwrap();
    }

    /// Sends `data` as the peer's next new bytes.
    async fn send_new(&mut self, data: &[u8]) {
        let seq = self.next;
        self.send(seq, false, &[], data).await;
        self.next = self.next.wrapping_add(data.len() as u32);
    }

    /// Waits for our stack's next segment.
    async fn recv(&mut self) -> Segment {
        let mut buf = vec![0; 2048];
        let n = timeout(WAIT, poll_fn(|cx| self.link.poll_recv(cx, &mut buf)))
            .await
            .expect("our stack answers")
            .unwrap();
        let packet = SlicedPacket::from_ip(&buf[..n]).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = packet.transport else {
            panic!("not TCP: {packet:?}");
        };
        let window_scale = tcp.options_iterator().find_map(|o| match o {
            Ok(TcpOptionElement::WindowScale(shift)) => Some(shift),
            _ => None,
        });
        Segment {
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            window: tcp.window_size(),
            syn: tcp.syn(),
            window_scale,
        }
    }
}

/// Our stack (default configuration, 10.0.0.2) listening on port 7, the peer connected to it
/// with `options` in its SYN, and the accepted connection. Also returns our SYN-ACK.
async fn connect(options: &[TcpOptionElement]) -> (Stack, Peer, TcpStream, Segment) {
    let (ours, theirs) = memory::pair(MemoryConfig::default());
    let mut config = Config::new("10.0.0.2/24".parse().unwrap());
    config.seed = Some(7);
    let stack = Stack::new(ours, config);
    let listener = TcpListener::bind(&stack, ([0, 0, 0, 0], PORT))
        .await
        .unwrap();
    let mut peer = Peer {
        link: theirs,
        next: PEER_ISS + 1,
        rcv_nxt: 0,
    };
    peer.send(PEER_ISS, true, options, &[]).await;
    let syn_ack = peer.recv().await;
    assert!(syn_ack.syn && syn_ack.ack == PEER_ISS + 1, "{syn_ack:?}");
    peer.rcv_nxt = syn_ack.seq.wrapping_add(1);
    peer.send(PEER_ISS + 1, false, &[], &[]).await;
    let (conn, _) = timeout(WAIT, listener.accept()).await.unwrap().unwrap();
    (stack, peer, conn, syn_ack)
}

/// Data the peer sends inside the window we announced is never dropped, and the right edge
/// never moves back, while the application does not read at all.
///
/// The scaled window field counts units of 2^shift bytes (8 with the default 256 KiB buffer), so
/// keeping the edge where it was may mean rounding up, by up to 7 bytes per ACK while nothing is
/// read (RFC 7323 appendix F). The receive buffer keeps slack for that
/// (`Connection::window_to_announce`, `RecvBuffer::new`). 1007-byte segments make every
/// announcement a rounding one. Against Linux, a buffer without enough slack showed as our ACK
/// stopping short of the edge we had announced, duplicate ACKs, and a retransmission.
#[tokio::test(start_paused = true)]
async fn data_inside_the_announced_window_is_never_dropped() {
    let options = [
        TcpOptionElement::MaximumSegmentSize(1460),
        TcpOptionElement::WindowScale(7),
    ];
    let (_stack, mut peer, _conn, syn_ack) = connect(&options).await;
    let shift = syn_ack.window_scale.expect("we scale our window");
    // The SYN-ACK's own window is not scaled.
    let mut edge = peer.next.wrapping_add(u32::from(syn_ack.window));
    // 1007 bytes: not a multiple of 8, so the window field cannot say the edge exactly after
    // any segment. The application never reads.
    let mut segments = 0;
    loop {
        let room = edge.wrapping_sub(peer.next) as usize;
        if room == 0 {
            break;
        }
        peer.send_new(&vec![b'x'; room.min(1007)]).await;
        segments += 1;
        let ack = peer.recv().await;
        assert_eq!(
            ack.ack,
            peer.next,
            "segment {segments}: the peer sent up to {}, inside the edge this stack had \
             announced ({edge}); it acknowledged only up to {} ({} bytes dropped)",
            peer.next,
            ack.ack,
            peer.next.wrapping_sub(ack.ack)
        );
        let new_edge = ack.ack.wrapping_add(u32::from(ack.window) << shift);
        assert!(
            new_edge.wrapping_sub(edge) as i32 >= 0,
            "the right edge moved back"
        );
        edge = new_edge;
    }
    let received = peer.next.wrapping_sub(PEER_ISS + 1);
    assert!(received >= 256 * 1024, "{received} bytes fill the buffer");
}
