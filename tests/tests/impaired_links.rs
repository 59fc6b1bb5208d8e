//! TCP over an impaired in-memory wire, on virtual time, between two of our stacks and between
//! ours and smoltcp: the network is not reliable, and TCP makes the byte stream reliable anyway.
//!
//! Our client's end of the wire is wrapped in [`Impair`], so its outbound side is the path
//! client → server and its inbound side the path back. Every transfer is checked byte for byte
//! against a [`Pattern`], and bounded in virtual time so that a stall fails instead of hanging.

use std::future::Future;
use std::time::Duration;

use std::net::{Ipv4Addr, SocketAddrV4};

use tokio::io::AsyncWriteExt;
use tokio::time::{timeout, Instant};
use tunstack::device::impair::{ImpairConfig, Impairments, Match, Rule, StatsHandle};
use tunstack::device::{memory, Impair};
use tunstack::{Config, Stack, TcpListener, TcpStream};
use tunstack_tests::smol::{SmolConfig, SmolStack};
use tunstack_tests::Pattern;

const SERVER: &str = "10.0.0.2:80";

/// Two stacks, the client's end of the wire impaired as `config` says: (client, server, the
/// impairments' counters).
fn impaired_pair(config: ImpairConfig) -> (Stack, Stack, StatsHandle) {
    let (a, b) = memory::pair(Default::default());
    let impaired = Impair::new(a, config).expect("valid impairments");
    let counters = impaired.stats_handle();
    let stack = |link, addr: &str, seed| {
        let mut config = Config::new(addr.parse().unwrap());
        config.seed = Some(seed);
        config.tcp.msl = Duration::from_secs(1);
        Stack::new(link, config)
    };
    let client = stack(
        Box::new(impaired) as Box<dyn tunstack::device::Device>,
        "10.0.0.1/24",
        1,
    );
    let server = stack(Box::new(b), "10.0.0.2/24", 2);
    (client, server, counters)
}

/// Bounds a step in virtual time.
async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    match timeout(limit, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: did not finish within {limit:?} of virtual time"),
    }
}

/// Sends `len` bytes of a pattern from client to server and checks them on arrival; returns
/// how long it took (virtual time) and the client connection's retransmission count.
async fn transfer(client: &Stack, server: &Stack, len: u64, limit: Duration) -> (Duration, u64) {
    let listener = TcpListener::bind(server, "0.0.0.0:80").await.unwrap();
    let pattern = Pattern::new(5);
    let started = Instant::now();
    let receive = async {
        let (mut conn, _) = listener.accept().await?;
        pattern.read_and_check(&mut conn).await
    };
    let send = async {
        let mut conn = TcpStream::connect(client, SERVER).await?;
        pattern.write_to(&mut conn, len).await?;
        conn.shutdown().await?;
        Ok::<_, std::io::Error>(conn)
    };
    let (conn, received) = within(limit, "transfer", async { tokio::try_join!(send, receive) })
        .await
        .expect("the transfer completes");
    assert_eq!(received, len, "every byte, in order, once");
    let retransmissions = conn.info().unwrap().stats.retransmissions;
    (started.elapsed(), retransmissions)
}

#[tokio::test(start_paused = true)]
async fn tcp_delivers_every_byte_through_5_percent_loss_each_way() {
    // Several seeds, so that no lucky draw carries the test.
    for seed in 1..=4 {
        let config = ImpairConfig::both_ways(Impairments {
            loss: 0.05,
            delay: Duration::from_millis(10),
            ..Impairments::default()
        })
        .with_seed(seed);
        let (client, server, counters) = impaired_pair(config);
        let (took, retransmissions) =
            transfer(&client, &server, 300 * 1024, Duration::from_secs(120)).await;
        let stats = counters.get();
        assert!(stats.outbound.dropped_loss > 0, "{stats}");
        assert!(stats.inbound.dropped_loss > 0, "{stats}");
        assert!(retransmissions > 0, "lost segments are sent again");
        eprintln!(
            "seed {seed}: 300 KiB through 5% loss each way in {took:?} of virtual time, \
             {retransmissions} retransmissions\n{stats}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_lost_segment_is_retransmitted_and_the_stream_is_whole() {
    // Lose the 3rd data segment the client sends, once; nothing else.
    let config = ImpairConfig::outbound_only(Impairments {
        script: vec![Rule::nth(Match::TcpData, 3)],
        ..Impairments::default()
    });
    let (client, server, counters) = impaired_pair(config);
    let (_, retransmissions) = transfer(&client, &server, 64 * 1024, Duration::from_secs(30)).await;
    assert_eq!(counters.get().outbound.dropped_script, 1);
    assert!(retransmissions >= 1);
}

#[tokio::test(start_paused = true)]
async fn throughput_stays_below_the_bottleneck_bandwidth() {
    // 2 Mbit/s with 20 ms each way: 256 KiB (2,097,152 bits of data) cannot take less than
    // about a second, and the headers make it longer.
    let config = ImpairConfig::both_ways(Impairments {
        rate: Some(2_000_000),
        delay: Duration::from_millis(20),
        ..Impairments::default()
    });
    let (client, server, counters) = impaired_pair(config);
    let (took, _) = transfer(&client, &server, 256 * 1024, Duration::from_secs(60)).await;
    let bits = 256.0 * 1024.0 * 8.0;
    let throughput = bits / took.as_secs_f64();
    assert!(throughput < 2_000_000.0, "{throughput} bit/s in {took:?}");
    assert!(
        throughput > 500_000.0,
        "{throughput} bit/s in {took:?}: far below the bottleneck"
    );
    assert!(counters.get().outbound.delayed > 100);
    eprintln!("256 KiB through 2 Mbit/s: {took:?}, {throughput:.0} bit/s of data");
}

#[tokio::test(start_paused = true)]
async fn tcp_with_smoltcp_both_ways_at_once_through_loss_and_jitter() {
    let config = ImpairConfig::both_ways(Impairments {
        loss: 0.03,
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        ..Impairments::default()
    })
    .with_seed(9);
    let (a, b) = memory::pair(Default::default());
    let impaired = Impair::new(a, config).unwrap();
    let counters = impaired.stats_handle();
    let mut our_config = Config::new("10.0.0.1/24".parse().unwrap());
    our_config.seed = Some(1);
    let ours = Stack::new(impaired, our_config);
    let smol = SmolStack::new(b, SmolConfig::new("10.0.0.2/24".parse().unwrap()));

    let listener = smol.listen(80).unwrap();
    let accepted = tokio::spawn(listener.accept());
    let conn = TcpStream::connect(&ours, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80))
        .await
        .unwrap();
    let smol_conn = accepted.await.unwrap().unwrap();
    const LEN: u64 = 256 * 1024;
    let (to_smol, to_ours) = (Pattern::new(3), Pattern::new(4));
    let (mut our_read, mut our_write) = conn.into_split();
    let (mut smol_read, mut smol_write) = tokio::io::split(smol_conn);
    let all = async {
        tokio::try_join!(
            async {
                to_smol.write_to(&mut our_write, LEN).await?;
                our_write.shutdown().await
            },
            async {
                to_ours.write_to(&mut smol_write, LEN).await?;
                smol_write.shutdown().await
            },
            to_smol.read_and_check(&mut smol_read),
            to_ours.read_and_check(&mut our_read),
        )
    };
    let (_, _, at_smol, at_ours) = within(Duration::from_secs(120), "both ways", all)
        .await
        .expect("byte-exact both ways");
    assert_eq!((at_smol, at_ours), (LEN, LEN));
    let stats = counters.get();
    assert!(
        stats.outbound.dropped_loss > 0 && stats.inbound.dropped_loss > 0,
        "{stats}"
    );
}

/// One ACK is lost; the segment it acknowledged had arrived. The client's retransmission
/// timer fires, it sends the segment again, and the server answers the duplicate with an ACK
/// that echoes the timestamp of the original (RFC 7323 4.3: a segment outside the window does
/// not update TS.Recent). The client sees that the timeout was spurious (RFC 3522) and
/// restores its window. An RTT sample from that echo, `now − TSval of the original`, would be
/// the retransmission timeout plus one round trip (210 ms here), while the path's round trip is
/// 10 ms throughout.
///
/// That sample would measure our own timer, not the path, and feed back: a larger RTO makes the
/// next such sample larger; where ACKs are lost often it runs away (2 MiB through 20% loss each
/// way once ended with SRTT up to 2.2 s and RTO up to 18 s). So the ACK that shows a timeout
/// spurious gives no sample.
#[tokio::test(start_paused = true)]
async fn a_lost_ack_does_not_inflate_the_rtt_estimate() {
    let path = Impairments {
        delay: Duration::from_millis(5),
        ..Impairments::default()
    };
    let config = ImpairConfig {
        outbound: path.clone(),
        // The 10th pure ACK the client would receive is lost.
        inbound: Impairments {
            script: vec![Rule::nth(Match::TcpPureAck, 10)],
            ..path
        },
        seed: 0,
    };
    let (a, b) = memory::pair(Default::default());
    let stack = |link, addr: &str| {
        let mut config = Config::new(addr.parse().unwrap());
        config.seed = Some(1);
        config.tcp.delayed_ack = None; // every segment acknowledged at once: clean samples
        Stack::new(link, config)
    };
    let client = stack(
        Box::new(Impair::new(a, config).unwrap()) as Box<dyn tunstack::device::Device>,
        "10.0.0.1/24",
    );
    let server = stack(Box::new(b), "10.0.0.2/24");
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut conn = TcpStream::connect(&client, SERVER).await.unwrap();
    let (mut peer, _) = listener.accept().await.unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0; 4096];
        while tokio::io::AsyncReadExt::read(&mut peer, &mut buf)
            .await
            .unwrap()
            > 0
        {}
    });
    // One 1000-byte write every 500 ms: a segment, its ACK, and (when the server reads) a
    // window update.
    for i in 0..8u8 {
        conn.write_all(&[i; 1000]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let info = conn.info().unwrap();
    assert!(info.timestamps);
    assert_eq!(
        (info.stats.timeouts, info.stats.spurious_timeouts),
        (1, 1),
        "one timeout, found spurious: {info:?}"
    );
    let srtt = info.srtt.unwrap();
    assert!(
        srtt <= Duration::from_millis(20),
        "SRTT {srtt:?} after one lost ACK on a 10 ms path (RTO {:?})",
        info.rto
    );
}
