//! Streams longer than 2^31 and 2^32 bytes, both ways at once, between two of our hosts on
//! virtual time: nothing inside a connection may depend on having sent less than half the
//! sequence space (`pos.rs`).
//!
//! The wire delays every packet by 1 ms and drops chosen data segments: the first copy of the
//! segment that carries a given byte of a stream. With the MTU at 64 KiB a 4.5 GiB stream is
//! about 70,000 segments, a few seconds of real time.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddrV4;
use std::task::Poll;
use std::time::Duration;

use super::harness::cx;
use crate::host::{Config, Host};
use crate::ip::header::Packet as IpPacket;
use crate::tcp::header::Packet;
use crate::tcp::{ConnId, ConnStats, SeqNumber, TcpConfig};
use crate::time::Instant;

const GIB: u64 = 1 << 30;
const DELAY: Duration = Duration::from_millis(1);
const PORT: u16 = 5001;

/// The byte at offset `i` of a test stream: not periodic in any power of two, so that data
/// delivered at the wrong place (off by a lap, or by one) shows.
fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

/// One direction of the wire, and what it drops.
struct Lane {
    queue: VecDeque<(Instant, Vec<u8>)>,
    /// The sender's ISS, from its SYN.
    iss: Option<SeqNumber>,
    /// Where the last segment began, as a position (`pos.rs`): the checkpoint for the next.
    last: u64,
    /// Stream offsets (bytes of data) whose first segment is to be dropped.
    drop_at: BTreeSet<u64>,
    dropped: u64,
}

impl Lane {
    fn new(drop_at: &[u64]) -> Lane {
        Lane {
            queue: VecDeque::new(),
            iss: None,
            last: 0,
            drop_at: drop_at.iter().copied().collect(),
            dropped: 0,
        }
    }

    /// Puts a packet on the wire, unless it carries a byte to drop.
    fn carry(&mut self, now: Instant, packet: Vec<u8>) {
        if self.drops(&packet) {
            self.dropped += 1;
            return;
        }
        self.queue.push_back((now + DELAY, packet));
    }

    fn drops(&mut self, packet: &[u8]) -> bool {
        let Ok(ip) = IpPacket::new_checked(packet) else {
            return false;
        };
        let Ok(tcp) = Packet::new_checked(ip.payload()) else {
            return false;
        };
        if tcp.flags().syn() {
            self.iss = Some(tcp.seq_number());
            return false;
        }
        let len = tcp.payload().len();
        let (Some(iss), true) = (self.iss, len > 0) else {
            return false;
        };
        let start = tcp.seq_number().unwrap(iss, self.last);
        self.last = start;
        // Data offsets count from the first byte after the SYN.
        let first = start - 1;
        let hit = self
            .drop_at
            .range(first..first + len as u64)
            .next()
            .copied();
        hit.is_some_and(|at| self.drop_at.remove(&at))
    }
}

/// One end: a host, its connection, and how far its application has written and read.
struct End {
    host: Host,
    conn: Option<ConnId>,
    written: u64,
    read: u64,
    /// The application writes in multiples of this many bytes.
    unit: usize,
}

impl End {
    fn new(addr: &str, iss: u32, mtu: usize, tweak: impl Fn(&mut TcpConfig)) -> End {
        let mut config = Config::new(addr.parse().unwrap_or_else(|_| unreachable!()));
        config.seed = Some(u64::from(iss));
        config.mtu = mtu;
        config.tcp.send_buffer = 1 << 20;
        config.tcp.recv_buffer = 1 << 20;
        config.tcp.tail_loss_probes = true;
        tweak(&mut config.tcp);
        let mut host = Host::new(config);
        host.tcp.next_iss = Some(SeqNumber(iss));
        End {
            host,
            conn: None,
            written: 0,
            read: 0,
            unit: 1,
        }
    }

    /// The application: writes its stream up to `total` bytes, reads and checks the peer's.
    fn run_app(&mut self, total: u64, chunk: &mut [u8]) {
        let Some(id) = self.conn else { return };
        while self.written < total {
            let n = chunk.len().min((total - self.written) as usize);
            let n = n - n % self.unit;
            if n == 0 {
                break;
            }
            for (i, b) in chunk[..n].iter_mut().enumerate() {
                *b = pattern(self.written + i as u64);
            }
            match self.host.tcp_poll_write(&mut cx(), id, &chunk[..n]) {
                Poll::Ready(Ok(k)) if k > 0 => self.written += k as u64,
                _ => break,
            }
        }
        while let Poll::Ready(Ok(n)) = self.host.tcp_poll_read(&mut cx(), id, chunk) {
            if n == 0 {
                break;
            }
            for (i, &b) in chunk[..n].iter().enumerate() {
                let at = self.read + i as u64;
                assert_eq!(b, pattern(at), "byte {at} of the stream is wrong");
            }
            self.read += n as u64;
        }
    }

    fn stats(&self) -> ConnStats {
        let id = self.conn.unwrap_or_else(|| unreachable!());
        self.host
            .tcp_info(id)
            .unwrap_or_else(|e| panic!("{e}"))
            .stats
    }
}

/// Two hosts and the wire between them.
struct Pair {
    a: End,
    b: End,
    a_to_b: Lane,
    b_to_a: Lane,
    now: Instant,
    buf: Vec<u8>,
}

impl Pair {
    /// A connects to B; each direction drops the first segment carrying each offset given.
    fn connect(a: End, b: End, a_drops: &[u64], b_drops: &[u64]) -> Pair {
        let mut pair = Pair {
            a,
            b,
            a_to_b: Lane::new(a_drops),
            b_to_a: Lane::new(b_drops),
            now: Instant::from_secs(1),
            buf: Vec::new(),
        };
        let any: std::net::SocketAddr = "0.0.0.0:5001".parse().unwrap_or_else(|_| unreachable!());
        pair.b
            .host
            .tcp_listen(any, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let server = SocketAddrV4::new(pair.b.host.addr(), PORT);
        let id = pair.a.host.tcp_connect(pair.now, server);
        pair.a.conn = Some(id.unwrap_or_else(|e| panic!("{e}")));
        pair
    }

    /// Runs until A's stream of `from_a` bytes and B's of `from_b` have arrived whole.
    fn transfer(&mut self, from_a: u64, from_b: u64) {
        let mut chunk = vec![0; 256 << 10];
        while self.b.read < from_a || self.a.read < from_b {
            if self.b.conn.is_none() {
                if let Poll::Ready(Ok((id, _))) = self.b.host.tcp_poll_accept(&mut cx(), PORT) {
                    self.b.conn = Some(id);
                }
            }
            self.a.run_app(from_a, &mut chunk);
            self.b.run_app(from_b, &mut chunk);
            while let Some(_t) = self.a.host.transmit(self.now, &mut self.buf) {
                self.a_to_b.carry(self.now, self.buf.clone());
            }
            while let Some(_t) = self.b.host.transmit(self.now, &mut self.buf) {
                self.b_to_a.carry(self.now, self.buf.clone());
            }
            self.step();
        }
    }

    /// Runs until the wire is empty and nothing is in flight.
    fn settle(&mut self) {
        loop {
            while let Some(_t) = self.a.host.transmit(self.now, &mut self.buf) {
                self.a_to_b.carry(self.now, self.buf.clone());
            }
            while let Some(_t) = self.b.host.transmit(self.now, &mut self.buf) {
                self.b_to_a.carry(self.now, self.buf.clone());
            }
            if self.a_to_b.queue.is_empty() && self.b_to_a.queue.is_empty() {
                return;
            }
            self.step();
        }
    }

    /// Moves time to the next arrival or timer, and delivers what has arrived.
    fn step(&mut self) {
        let next = [
            self.a_to_b.queue.front().map(|p| p.0),
            self.b_to_a.queue.front().map(|p| p.0),
            self.a.host.poll_at(),
            self.b.host.poll_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            panic!("both ends are idle with data still to move");
        };
        self.now = self.now.max(next);
        while self.a_to_b.queue.front().is_some_and(|p| p.0 <= self.now) {
            if let Some((_, packet)) = self.a_to_b.queue.pop_front() {
                self.b.host.receive(self.now, &packet);
            }
        }
        while self.b_to_a.queue.front().is_some_and(|p| p.0 <= self.now) {
            if let Some((_, packet)) = self.b_to_a.queue.pop_front() {
                self.a.host.receive(self.now, &packet);
            }
        }
    }
}

/// Transfers `total` bytes from A to B, and from B to A too if `both`, with the given ISSs
/// and drop points; checks that every loss was repaired by fast recovery (or a tail loss
/// probe), never by a timeout.
fn transfer(
    total: u64,
    both: bool,
    iss: (u32, u32),
    drops: &[u64],
    tweak: impl Fn(&mut TcpConfig),
) {
    let a = End::new("10.77.0.1/24", iss.0, 65535, &tweak);
    let b = End::new("10.77.0.2/24", iss.1, 65535, &tweak);
    let b_drops = if both { drops } else { &[] };
    let mut pair = Pair::connect(a, b, drops, b_drops);
    pair.transfer(total, if both { total } else { 0 });
    assert_eq!(
        pair.a_to_b.dropped,
        drops.len() as u64,
        "every drop point was reached"
    );
    assert_eq!(pair.b_to_a.dropped, b_drops.len() as u64);
    for (name, end, losses) in [("a", &pair.a, drops), ("b", &pair.b, b_drops)] {
        let stats = end.stats();
        assert_eq!(
            stats.timeouts, 0,
            "{name}: a loss after {:?} bytes waited for a timeout: {stats:?}",
            losses
        );
        assert!(
            stats.fast_recoveries + stats.tail_losses_repaired >= losses.len() as u64,
            "{name}: each loss was recovered fast: {stats:?}"
        );
    }
}

#[test]
fn losses_after_two_to_the_31_and_32_bytes_are_recovered_fast_both_ways() {
    // The first loss comes after 2^31 bytes without one (the "recover" mark set at the start
    // is then more than half the space behind), the second after 2^32 (SND.UNA is back at the
    // ISS modulo 2^32). ISSs near 0 and 2^31.
    let drops = [(1 << 31) + 100_000, (1 << 32) + 100_000];
    transfer(4 * GIB + GIB / 2, true, (7, 1 << 31), &drops, |_| {});
}

#[test]
fn a_stream_past_two_to_the_32_with_an_iss_just_below_the_wrap_without_sack() {
    // The wire numbers wrap within the first kilobyte, and again every 4 GiB. Without SACK or
    // timestamps: NewReno's duplicate ACKs and the `recover` mark alone. One way only: an ACK
    // that carries data is no duplicate (RFC 5681 2), so without SACK a loss in a stream that
    // flows both ways can only time out. (And the first loss comes once the window is open:
    // the loss of the only segment in flight can only time out too.)
    let drops = [10 << 20, GIB, (1 << 31) + 1, (1 << 32) - 100];
    transfer(
        (1 << 32) + GIB / 4,
        false,
        (u32::MAX - 1000, u32::MAX),
        &drops,
        |c| {
            c.sack = false;
            c.timestamps = false;
        },
    );
}

#[test]
fn snd_una_exactly_two_to_the_32_past_the_iss_is_not_the_syn() {
    // 2^32 - 1 bytes, all acknowledged: SND.UNA is at position 2^32, whose sequence number is
    // the ISS again. The next byte sent must be byte 2^32 - 1 of the stream, not its neighbour.
    let a = End::new("10.77.0.1/24", 3, 65535, |_| {});
    let b = End::new("10.77.0.2/24", 4, 65535, |_| {});
    let mut pair = Pair::connect(a, b, &[], &[]);
    pair.transfer((1 << 32) - 1, 0);
    pair.settle();
    pair.transfer((1 << 32) + 100_000, 0);
    pair.settle();
    assert_eq!(pair.b.read, (1 << 32) + 100_000);
    assert_eq!(pair.a.stats().timeouts, 0);
}

#[test]
fn nagle_lets_a_small_segment_go_after_two_gib_of_full_ones() {
    // A small segment early on, then 2 GiB of full ones: Minshall's check "is a small segment
    // unacknowledged?" must not find the old one ahead of SND.UNA.
    // Full segments only: the application writes whole segments into a buffer of whole
    // segments (the MSS is 65,495 bytes, less 12 of timestamps).
    let segment = 65_495 - 12;
    // No unsent limit either: it would cut a write short of a whole segment.
    let a = End::new("10.77.0.1/24", 1000, 65535, |c| {
        c.send_buffer = 16 * segment;
        c.unsent_limit = None;
    });
    let b = End::new("10.77.0.2/24", 2000, 65535, |_| {});
    let mut pair = Pair::connect(a, b, &[], &[]);
    pair.transfer(100, 0);
    pair.settle();
    let id = pair.a.conn.unwrap_or_else(|| unreachable!());
    assert_eq!(
        pair.a.host.tcp.conn_mut(id).map(|c| c.segment_size()),
        Some(segment)
    );
    pair.a.unit = segment;
    let full = (1u64 << 31) / segment as u64 + 64;
    pair.transfer(100 + full * segment as u64, 0);
    pair.settle();
    let sent = pair.a.host.tcp_info(id).map(|i| i.bytes_in_flight);
    assert_eq!(sent.ok(), Some(0), "everything is acknowledged");
    let small = [pattern(pair.a.written); 1];
    assert!(pair.a.host.tcp_poll_write(&mut cx(), id, &small).is_ready());
    // Nothing is in flight: the small segment goes now, not when a persist timer fires.
    assert!(pair.a.host.transmit(pair.now, &mut pair.buf).is_some());
    let sent = crate::ip::header::Packet::new_checked(&pair.buf[..])
        .ok()
        .and_then(|ip| {
            Packet::new_checked(ip.payload())
                .ok()
                .map(|t| t.payload().len())
        });
    assert_eq!(sent, Some(1), "the byte went at once");
}
