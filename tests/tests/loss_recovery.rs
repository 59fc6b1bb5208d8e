//! One lost packet at a time: each kind of segment is dropped on purpose, and TCP recovers the
//! way the RFCs say, at the time they say. Two of our stacks on an in-memory wire with 10 ms of
//! delay each way (a 20 ms round trip), on tokio's paused clock, so every time below is exact
//! virtual time.
//!
//! The client's end of the wire is wrapped in [`Impair`]: its outbound side is the path
//! client → server, its inbound side the path back.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tunstack::device::impair::{ImpairConfig, Impairments, Match, Rule, StatsHandle};
use tunstack::device::{memory, Device, Impair};
use tunstack::tcp::ConnStats;
use tunstack::{Config, Stack, TcpListener, TcpStream};
use tunstack_tests::two_stacks::within;
use tunstack_tests::Pattern;

const SERVER: &str = "10.0.0.2:80";
const DELAY: Duration = Duration::from_millis(10);
/// One segment's data: the MSS of 1460 less 12 bytes of timestamps.
const SEGMENT: usize = 1448;

/// Drops on the way to the server (`outbound`) and back (`inbound`), 10 ms each way.
fn network(outbound: Vec<Rule>, inbound: Vec<Rule>) -> ImpairConfig {
    let way = |script| Impairments {
        script,
        delay: DELAY,
        ..Impairments::default()
    };
    ImpairConfig {
        outbound: way(outbound),
        inbound: way(inbound),
        seed: 1,
    }
}

/// (client, server, the impairments' counters).
fn pair(config: ImpairConfig) -> (Stack, Stack, StatsHandle) {
    let (a, b) = memory::pair(Default::default());
    let impaired = Impair::new(a, config).expect("valid impairments");
    let counters = impaired.stats_handle();
    let stack = |link: Box<dyn Device>, addr: &str, seed| {
        let mut config = Config::new(addr.parse().unwrap());
        config.seed = Some(seed);
        config.tcp.msl = Duration::from_secs(1);
        Stack::new(link, config)
    };
    (
        stack(Box::new(impaired), "10.0.0.1/24", 1),
        stack(Box::new(b), "10.0.0.2/24", 2),
        counters,
    )
}

/// Connects, sends `len` bytes of a pattern, shuts down, and checks every byte on arrival.
/// Returns the virtual time it all took and the client connection's counters.
async fn send(client: &Stack, server: &Stack, len: u64) -> (Duration, ConnStats) {
    let listener = TcpListener::bind(server, "0.0.0.0:80").await.unwrap();
    let pattern = Pattern::new(3);
    let started = Instant::now();
    let receive = async {
        let (mut conn, _) = listener.accept().await?;
        pattern.read_and_check(&mut conn).await
    };
    let sender = async {
        let mut conn = TcpStream::connect(client, SERVER).await?;
        pattern.write_to(&mut conn, len).await?;
        conn.shutdown().await?;
        Ok::<_, std::io::Error>(conn)
    };
    let (conn, received) = within("transfer", async { tokio::try_join!(sender, receive) })
        .await
        .expect("the transfer completes");
    assert_eq!(received, len, "every byte, in order, once");
    (started.elapsed(), conn.info().unwrap().stats)
}

#[tokio::test(start_paused = true)]
async fn a_lost_syn_is_sent_again_after_the_initial_rto() {
    let (client, server, counters) = pair(network(vec![Rule::nth(Match::TcpSyn, 1)], vec![]));
    let _listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let started = Instant::now();
    let conn = within("connect", TcpStream::connect(&client, SERVER))
        .await
        .unwrap();
    // RFC 6298 2.1: the initial RTO is one second; then one round trip.
    assert_eq!(started.elapsed(), Duration::from_millis(1020));
    assert_eq!(conn.info().unwrap().stats.timeouts, 1);
    assert_eq!(counters.get().outbound.dropped_script, 1);
}

#[tokio::test(start_paused = true)]
async fn a_lost_syn_ack_is_recovered_within_the_initial_rto() {
    let (client, server, _) = pair(network(vec![], vec![Rule::nth(Match::TcpSyn, 1)]));
    let _listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let started = Instant::now();
    within("connect", TcpStream::connect(&client, SERVER))
        .await
        .unwrap();
    // Both sides time out after one second: the client sends its SYN again, the server its
    // SYN-ACK; the first to arrive completes the handshake.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1010) && elapsed <= Duration::from_millis(1020),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_final_ack_is_made_good_by_the_first_data() {
    // The client's ACK of the SYN-ACK is lost; its first data segment carries the same ACK,
    // and the server completes the handshake on it without waiting for any timer.
    let (client, server, _) = pair(network(vec![Rule::nth(Match::TcpPureAck, 1)], vec![]));
    let (elapsed, stats) = send(&client, &server, 1000).await;
    assert!(elapsed < Duration::from_millis(100), "{elapsed:?}");
    assert_eq!(stats.retransmissions, 0);
    let server_side = server.tcp_connections();
    assert!(server_side.iter().all(|c| c.stats.retransmissions == 0));
}

#[tokio::test(start_paused = true)]
async fn a_lost_data_segment_is_fast_retransmitted_without_a_timeout() {
    let (client, server, _) = pair(network(vec![Rule::nth(Match::TcpData, 3)], vec![]));
    let (elapsed, stats) = send(&client, &server, 100 * SEGMENT as u64).await;
    assert_eq!(stats.timeouts, 0, "no timeout: {stats:?}");
    assert_eq!(stats.fast_retransmissions, 1, "{stats:?}");
    assert_eq!(
        stats.retransmissions, 1,
        "only the lost segment goes again: {stats:?}"
    );
    assert_eq!(stats.fast_recoveries, 1);
    assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lost_tail_waits_for_the_retransmission_timeout() {
    // The last segment of the transfer: nothing follows it, so no duplicate ACK can tell the
    // sender. Only the timer can (RFC 6298): at least 200 ms here.
    let (client, server, _) = pair(network(vec![Rule::nth(Match::TcpData, 10)], vec![]));
    let (elapsed, stats) = send(&client, &server, 10 * SEGMENT as u64).await;
    assert_eq!((stats.timeouts, stats.retransmissions), (1, 1), "{stats:?}");
    assert!(elapsed >= Duration::from_millis(220), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lost_fin_is_sent_again() {
    let (client, server, counters) = pair(network(vec![Rule::nth(Match::TcpFin, 1)], vec![]));
    let (elapsed, stats) = send(&client, &server, 1000).await;
    assert_eq!(counters.get().outbound.dropped_script, 1);
    assert_eq!((stats.timeouts, stats.retransmissions), (1, 1), "{stats:?}");
    assert!(
        elapsed >= Duration::from_millis(200),
        "the FIN waited for the RTO: {elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn lost_pure_acks_cost_nothing() {
    // A third of the server's ACKs vanish: later ACKs are cumulative and cover for them.
    let (client, server, counters) = pair(network(
        vec![],
        vec![Rule::with_probability(Match::TcpPureAck, 0.33)],
    ));
    let (_, stats) = send(&client, &server, 300 * SEGMENT as u64).await;
    assert!(counters.get().inbound.dropped_script > 20);
    assert_eq!((stats.retransmissions, stats.timeouts), (0, 0), "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn reordering_by_up_to_two_segments_brings_no_retransmission() {
    let mut config = network(vec![], vec![]);
    config.outbound.reorder = 0.05;
    config.outbound.reorder_depth = 2;
    let (client, server, counters) = pair(config);
    let (_, stats) = send(&client, &server, 500 * SEGMENT as u64).await;
    assert!(
        counters.get().outbound.reordered > 10,
        "{:?}",
        counters.get()
    );
    assert_eq!(
        stats.retransmissions, 0,
        "three duplicate ACKs never came: {stats:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn every_corrupted_packet_is_dropped_and_its_data_sent_again() {
    let mut config = network(vec![], vec![]);
    config.outbound.corrupt = 0.05;
    config.inbound.corrupt = 0.05;
    let (client, server, counters) = pair(config);
    let (_, stats) = send(&client, &server, 300 * SEGMENT as u64).await;
    let corrupted = counters.get().outbound.corrupted;
    assert!(corrupted > 5);
    // Every corrupted packet failed a checksum on the server (IPv4 header or TCP).
    let server_stats = server.stats();
    let caught = server_stats
        .ip
        .dropped
        .get(tunstack::stats::DropReason::BadChecksum)
        + server_stats
            .tcp
            .dropped
            .get(tunstack::stats::DropReason::BadChecksum);
    assert_eq!(caught, corrupted, "{server_stats}");
    assert!(stats.retransmissions > 0);
}

#[tokio::test(start_paused = true)]
async fn the_echo_server_story_survives_a_burst_of_loss() {
    // Segments 5 to 9 lost in a row: SACK shows the holes, recovery resends them.
    let (client, server, _) = pair(network(vec![Rule::range(Match::TcpData, 5..=9)], vec![]));
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let echo = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n]).await.unwrap();
        }
    });
    let mut conn = within("connect", TcpStream::connect(&client, SERVER))
        .await
        .unwrap();
    let data: Vec<u8> = (0..50 * SEGMENT).map(|i| (i % 241) as u8).collect();
    let (mut r, mut w) = conn.split();
    let mut back = Vec::new();
    within("echo", async {
        tokio::try_join!(
            async {
                w.write_all(&data).await?;
                w.shutdown().await
            },
            r.read_to_end(&mut back)
        )
    })
    .await
    .unwrap();
    assert_eq!(back, data);
    let stats = conn.info().unwrap().stats;
    assert_eq!(stats.timeouts, 0, "{stats:?}");
    assert_eq!(
        stats.retransmissions, 5,
        "exactly the five lost segments: {stats:?}"
    );
    echo.await.unwrap();
}
