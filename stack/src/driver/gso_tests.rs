//! Software GSO ([`Config::gso`]): TCP sends trains of segments and the driver cuts them, and
//! the wire must not be able to tell. Each test runs one conversation twice on paused time,
//! trains on and off, and compares every packet each side put on the wire, byte for byte.

use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::device::impair::{ImpairConfig, Impairments};
use crate::device::{memory, Device, Impair, Medium, MemoryConfig, PacketInfo, Tail};
use crate::{Config, Stack, TcpListener, TcpStream};

/// The packets one end sent, each whole.
type Sent = Arc<Mutex<Vec<Vec<u8>>>>;

/// A link that keeps a copy of every packet sent through it. It takes packets in parts, as the
/// in-memory wire and TUN devices do, so that trains come with their data still in the send
/// buffer.
struct Recorder {
    inner: Box<dyn Device>,
    sent: Sent,
}

impl Device for Recorder {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn medium(&self) -> Medium {
        self.inner.medium()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_recv(cx, buf)
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        let sent = self.inner.poll_send(cx, packet, comment);
        if let Poll::Ready(Ok(())) = sent {
            self.sent.lock().unwrap().push(packet.to_vec());
        }
        sent
    }

    fn sends_parts(&self) -> bool {
        true
    }

    fn poll_send_parts(
        &mut self,
        cx: &mut Context<'_>,
        head: &mut Vec<u8>,
        tail: &Tail,
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        let mut whole = head.clone();
        tail.append_to(&mut whole);
        let sent = self.inner.poll_send_parts(cx, head, tail, info, comment);
        if let Poll::Ready(Ok(())) = sent {
            self.sent.lock().unwrap().push(whole);
        }
        sent
    }
}

/// What a conversation put on the wire: the client's packets, then the server's.
struct Wire {
    client: Vec<Vec<u8>>,
    server: Vec<Vec<u8>>,
    /// The packets the client's TCP handed down (a train counts once).
    client_tcp_sent: u64,
    /// The client's connection's counters.
    stats: crate::tcp::ConnStats,
}

/// Two stacks on a recorded wire of `medium`, with trains on or off; the client's end
/// impaired as `impair` says, if it says.
fn pair(medium: Medium, impair: Option<&ImpairConfig>, gso: bool) -> (Stack, Stack, Sent, Sent) {
    let (a, b) = memory::pair(MemoryConfig {
        medium,
        ..Default::default()
    });
    let a: Box<dyn Device> = match impair {
        Some(config) => Box::new(Impair::new(a, config.clone()).unwrap()),
        None => Box::new(a),
    };
    let config = |addr: &str, seed| {
        let mut config = Config::new(addr.parse().unwrap());
        config.seed = Some(seed);
        config.gso = gso;
        config.tcp.msl = Duration::from_secs(1);
        config.addr6 = Some(format!("fd00::{seed}/64").parse().unwrap());
        config
    };
    let (client_sent, server_sent) = (Sent::default(), Sent::default());
    let client = Recorder {
        inner: a,
        sent: client_sent.clone(),
    };
    let server = Recorder {
        inner: Box::new(b),
        sent: server_sent.clone(),
    };
    (
        Stack::new(client, config("10.0.0.1/24", 1)),
        Stack::new(server, config("10.0.0.2/24", 2)),
        client_sent,
        server_sent,
    )
}

/// The client (10.0.0.1 and fd00::1) connects to `to` on the server (10.0.0.2 and fd00::2),
/// writes `data` in writes of the sizes in `writes` (over and over) and closes; the server
/// reads `first` bytes, stops for `stall`, then reads the rest and closes.
async fn conversation(
    (medium, to, impair): (Medium, &str, Option<&ImpairConfig>),
    gso: bool,
    (data, writes): (&[u8], &[usize]),
    (first, stall): (usize, Duration),
) -> Wire {
    let (client, server, client_sent, server_sent) = pair(medium, impair, gso);
    for stack in [&client, &server] {
        stack.addresses_ready().await.unwrap();
    }
    let listener = TcpListener::bind(&server, "[::]:80").await.unwrap();
    let mut c = TcpStream::connect(&client, to).await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    let sending = data.to_vec();
    let writes = writes.to_vec();
    let writer = tokio::spawn(async move {
        let mut rest = &sending[..];
        for &n in writes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at(n.min(rest.len()));
            c.write_all(now).await.unwrap();
            rest = later;
        }
        c.shutdown().await.unwrap();
        c
    });
    let mut got = vec![0; first];
    s.read_exact(&mut got).await.unwrap();
    tokio::time::sleep(stall).await;
    s.read_to_end(&mut got).await.unwrap();
    assert!(got == data, "the bytes arrived as sent");
    s.shutdown().await.unwrap();
    let stats = writer.await.unwrap().info().unwrap().stats;
    drop(s);
    let wire = Wire::after_time_wait((&client_sent, &server_sent), &client, stats).await;
    assert!(!wire.client.is_empty() && !wire.server.is_empty());
    wire
}

impl Wire {
    /// What each end sent, once past TIME-WAIT (so that every last packet is in); `client`
    /// is the client's stack, `stats` its connection's counters.
    async fn after_time_wait(
        (client_sent, server_sent): (&Sent, &Sent),
        client: &Stack,
        stats: crate::tcp::ConnStats,
    ) -> Wire {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Wire {
            client: client_sent.lock().unwrap().clone(),
            server: server_sent.lock().unwrap().clone(),
            client_tcp_sent: client.stats().tcp.sent,
            stats,
        }
    }

    /// Checks that both ends sent the same packets on `self` as on `other`, and that every
    /// one fits an MTU of 1,500 bytes on `medium`; shows the packets around a difference.
    fn assert_same(&self, other: &Wire, medium: Medium) {
        for (side, with, without) in [
            ("client", &self.client, &other.client),
            ("server", &self.server, &other.server),
        ] {
            let first_difference = with.iter().zip(without).position(|(a, b)| a != b);
            if let Some(at) = first_difference {
                let show =
                    |p: &Vec<u8>| format!("{} bytes {:02x?}", p.len(), &p[..p.len().min(60)]);
                for i in at.saturating_sub(8)..(at + 6).min(with.len()).min(without.len()) {
                    eprintln!("{side} {i}:\n  {}\n  {}", show(&with[i]), show(&without[i]));
                }
            }
            assert_eq!(
                first_difference, None,
                "the {side}'s packets differ from this one on"
            );
            assert_eq!(with.len(), without.len(), "the {side} sent as many packets");
            let mtu = 1500 + medium.header_len();
            assert!(
                with.iter().all(|p| p.len() <= mtu),
                "every {side} packet fits the MTU"
            );
        }
    }
}

/// Runs a conversation with trains and without, and checks both ends sent the same packets;
/// returns how many packets the client's TCP handed down with trains, and without.
async fn same_on_the_wire(
    link: (Medium, &str, Option<&ImpairConfig>),
    (data, writes): (&[u8], &[usize]),
    reader: (usize, Duration),
) -> (u64, u64, crate::tcp::ConnStats) {
    let trains = conversation(link, true, (data, writes), reader).await;
    let single = conversation(link, false, (data, writes), reader).await;
    trains.assert_same(&single, link.0);
    (trains.client_tcp_sent, single.client_tcp_sent, trains.stats)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8).collect()
}

#[tokio::test(start_paused = true)]
async fn a_bulk_transfer_is_the_same_on_the_wire_with_trains() {
    let data = pattern(3_000_000);
    let reader = (0, Duration::ZERO);
    let (trains, single, _) = same_on_the_wire(
        (Medium::Ip, "10.0.0.2:80", None),
        (&data, &[65_536]),
        reader,
    )
    .await;
    assert!(single > 2_000, "{single} segments");
    // Most of them went down from TCP in trains of many.
    assert!(
        trains * 5 < single,
        "{trains} packets from TCP for {single}"
    );
}

#[tokio::test(start_paused = true)]
async fn odd_writes_and_a_stalled_reader_are_the_same_on_the_wire_with_trains() {
    // Writes that leave short segments behind (Nagle's rule decides them), a reader that
    // stops until the window closes (probes), then the rest.
    let data = pattern(700_000);
    let writes = [7_000, 100, 65_536, 3, 1_449, 20_000];
    let reader = (1_000, Duration::from_secs(10));
    let (trains, single, _) =
        same_on_the_wire((Medium::Ip, "10.0.0.2:80", None), (&data, &writes), reader).await;
    assert!(
        trains * 2 < single,
        "{trains} packets from TCP for {single}"
    );
}

#[tokio::test(start_paused = true)]
async fn ethernet_frames_are_the_same_on_the_wire_with_trains() {
    let data = pattern(500_000);
    let reader = (200_000, Duration::from_millis(300));
    let writes = [10_000, 33];
    let (trains, single, _) = same_on_the_wire(
        (Medium::Ethernet, "10.0.0.2:80", None),
        (&data, &writes),
        reader,
    )
    .await;
    assert!(
        trains * 2 < single,
        "{trains} packets from TCP for {single}"
    );
}

#[tokio::test(start_paused = true)]
async fn ipv6_is_the_same_on_the_wire_with_trains() {
    let data = pattern(1_000_000);
    let reader = (50_000, Duration::from_millis(500));
    let writes = [30_000, 1_000];
    for medium in [Medium::Ip, Medium::Ethernet] {
        let to = (medium, "[fd00::2]:80", None);
        let (trains, single, _) = same_on_the_wire(to, (&data, &writes), reader).await;
        assert!(
            trains * 2 < single,
            "{trains} packets from TCP for {single}"
        );
    }
}

/// Losses both ways (`loss` of the packets, chosen by `seed`) and 5 ms each way.
fn lossy(seed: u64, loss: f64) -> ImpairConfig {
    ImpairConfig {
        seed,
        ..ImpairConfig::both_ways(Impairments {
            loss,
            delay: Duration::from_millis(5),
            ..Default::default()
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_lossy_link_is_the_same_on_the_wire_with_trains() {
    // Losses both ways, so fast retransmits, SACK recovery, tail loss probes and timeouts
    // (after which the window goes again from the first hole, past what the peer SACKed)
    // all come into it.
    let (mut timeouts, mut sack_retransmissions) = (0, 0);
    for (seed, loss) in [(1, 0.03), (2, 0.03), (7, 0.10), (8, 0.10), (9, 0.15)] {
        let impair = lossy(seed, loss);
        let data = pattern(1_000_000);
        let link = (Medium::Ip, "10.0.0.2:80", Some(&impair));
        let reader = (0, Duration::ZERO);
        let (trains, single, stats) = same_on_the_wire(link, (&data, &[65_536]), reader).await;
        assert!(
            trains * 2 < single,
            "{trains} packets from TCP for {single}"
        );
        timeouts += stats.timeouts;
        sack_retransmissions += stats.sack_retransmissions;
    }
    assert!(timeouts > 0 && sack_retransmissions > 0);
}

/// What two clients sending at once put on the wire: every packet of the client's end.
async fn two_at_once(gso: bool) -> (Vec<Vec<u8>>, u64) {
    let (client, server, client_sent, _) = pair(Medium::Ip, None, gso);
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let data = pattern(600_000);
    let mut writers = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(&client, "10.0.0.2:80").await.unwrap();
        let sending = data.clone();
        writers.push(tokio::spawn(async move {
            c.write_all(&sending).await.unwrap();
            c.shutdown().await.unwrap();
            c
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (mut s, _) = listener.accept().await.unwrap();
        let expected = data.clone();
        readers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            assert!(got == expected, "the bytes arrived as sent");
            s.shutdown().await.unwrap();
        }));
    }
    for reader in readers {
        reader.await.unwrap();
    }
    for writer in writers {
        drop(writer.await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let sent = client_sent.lock().unwrap().clone();
    (sent, client.stats().tcp.sent)
}

#[tokio::test(start_paused = true)]
async fn two_connections_sending_at_once_take_turns_as_without_trains() {
    let (with, trains) = two_at_once(true).await;
    let (without, single) = two_at_once(false).await;
    let first_difference = with.iter().zip(&without).position(|(a, b)| a != b);
    assert_eq!(
        first_difference, None,
        "the packets differ from this one on"
    );
    assert_eq!(with.len(), without.len());
    // Trains still go whenever one of them sends alone (its peer's window is full, say).
    assert!(trains < single, "{trains} packets from TCP for {single}");
}

#[tokio::test(start_paused = true)]
async fn a_fin_at_the_end_of_a_train_is_the_same_on_the_wire() {
    // Whole segments only (1,448 bytes each, with timestamps), written at once and closed:
    // the FIN goes with the last of them, in a train, and must end up on its last segment.
    for segments in [2, 45, 500] {
        let data = pattern(1_448 * segments);
        let reader = (0, Duration::ZERO);
        let link = (Medium::Ip, "10.0.0.2:80", None);
        let (trains, single, _) = same_on_the_wire(link, (&data, &[data.len()]), reader).await;
        assert!(trains < single, "{trains} packets from TCP for {single}");
    }
}

/// What an echo over a lossy link puts on the wire: the client writes `data` and reads it back
/// as the server returns it, both ends sending at once. Every packet of each end, and the
/// D-SACKs both ends sent.
async fn echo_over_loss(gso: bool, impair: &ImpairConfig, data: &[u8]) -> (Wire, u64) {
    let (client, server, client_sent, server_sent) = pair(Medium::Ip, Some(impair), gso);
    let listener = TcpListener::bind(&server, "0.0.0.0:7").await.unwrap();
    let c = TcpStream::connect(&client, "10.0.0.2:7").await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    let echo = tokio::spawn(async move {
        let (mut from, mut to) = tokio::io::split(s);
        tokio::io::copy(&mut from, &mut to).await.unwrap();
        to.shutdown().await.unwrap();
        from.unsplit(to)
    });
    let (mut from, mut to) = tokio::io::split(c);
    let sending = data.to_vec();
    let writer = tokio::spawn(async move {
        to.write_all(&sending).await.unwrap();
        to.shutdown().await.unwrap();
        to
    });
    let mut got = Vec::new();
    from.read_to_end(&mut got).await.unwrap();
    assert!(got == data, "the bytes came back as sent");
    let c = from.unsplit(writer.await.unwrap());
    let s = echo.await.unwrap();
    let dsacks = [&c, &s]
        .iter()
        .map(|stream| stream.info().unwrap().stats.dsacks_sent)
        .sum();
    let stats = c.info().unwrap().stats;
    drop((c, s));
    let wire = Wire::after_time_wait((&client_sent, &server_sent), &client, stats).await;
    (wire, dsacks)
}

#[tokio::test(start_paused = true)]
async fn an_echo_over_a_lossy_link_is_the_same_on_the_wire_with_trains() {
    // Both ends send and receive at once, so each has data to send while it owes the other
    // a D-SACK for a segment that came twice (a tail loss probe, a retransmission of what
    // had arrived): the segment that carries the D-SACK has less room for data.
    let mut dsacks = 0;
    for (seed, loss) in [(3, 0.03), (4, 0.05), (5, 0.10), (6, 0.10)] {
        let impair = lossy(seed, loss);
        let data = pattern(600_000);
        let (with, dsacks_with) = echo_over_loss(true, &impair, &data).await;
        let (without, _) = echo_over_loss(false, &impair, &data).await;
        with.assert_same(&without, Medium::Ip);
        assert!(with.client_tcp_sent < without.client_tcp_sent);
        dsacks += dsacks_with;
    }
    assert!(dsacks > 0, "some D-SACKs went out");
}
