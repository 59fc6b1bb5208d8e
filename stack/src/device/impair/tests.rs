//! The impairments one at a time, on tokio's paused clock over an in-memory wire: each does what
//! it says, as often as it says, and the same seed does the same thing again.

use std::future::poll_fn;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::device::testing::{recv, send, udp_packet, TempFile};
use crate::device::Capture;
use crate::device::{memory, MemoryConfig};
use crate::host::{Config, Host};
use crate::ip::header::{self as ip_header, IpProtocol};
use crate::tcp::header as tcp_header;
use crate::tcp::{Flags, SackBlocks, SeqNumber};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const MS: Duration = Duration::from_millis(1);

/// Which side of the wrapper a scenario's packets start on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// Sent through the `Impair`, received at the plain end of the wire.
    Out,
    /// Sent from the plain end, received through the `Impair`.
    In,
}

/// A UDP datagram whose payload is its number `n`, padded to `len` bytes of IP packet.
fn numbered(n: u32, len: usize) -> Vec<u8> {
    let mut payload = vec![0xa5; len.saturating_sub(28).max(4)];
    payload[..4].copy_from_slice(&n.to_be_bytes());
    udp_packet((US, 5000), (PEER, 9), &payload)
}

/// The number [`numbered`] put in a packet.
fn number_of(packet: &[u8]) -> u32 {
    u32::from_be_bytes(packet[28..32].try_into().unwrap())
}

/// A TCP segment from port 80 to 40000, `len` bytes of data, in an IPv4 packet.
fn segment(flags: Flags, seq: u32, len: usize) -> Vec<u8> {
    let tcp = tcp_header::Repr {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNumber(seq),
        ack: SeqNumber(1),
        flags,
        window: 65535,
        urgent: 0,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack_blocks: SackBlocks::new(),
        timestamps: None,
        payload_len: len,
    };
    let ip = ip_header::Repr {
        src_addr: US,
        dst_addr: PEER,
        protocol: IpProtocol::Tcp,
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
        payload_len: tcp.buffer_len(),
    };
    let mut packet = vec![0x5a; ip.total_len()];
    ip.emit(&mut packet);
    tcp.emit(&mut packet[ip_header::HEADER_LEN..], US, PEER);
    packet
}

/// A packet that came out of the wrapper, and when (since the scenario began).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Arrival {
    at: Duration,
    data: Vec<u8>,
}

/// Sends each packet of `schedule` at its time, the way `way` says, and collects what comes out
/// until nothing is left inside the wrapper. Returns the arrivals and the wrapper's counters.
async fn run(
    config: ImpairConfig,
    way: Way,
    schedule: &[(Duration, Vec<u8>)],
) -> (Vec<Arrival>, ImpairStats) {
    let (a, mut peer) = memory::pair(MemoryConfig {
        mtu: 1500,
        queue_len: 100_000,
        ..MemoryConfig::default()
    });
    let mut impair = Impair::new(a, config).unwrap();
    let start = Instant::now();
    let mut next = 0;
    let mut arrivals = Vec::new();
    let mut buf = vec![0u8; 1500];
    let mut timer = Box::pin(tokio::time::sleep_until(start));
    poll_fn(|cx| loop {
        while let Some((at, packet)) = schedule
            .get(next)
            .filter(|(at, _)| start + *at <= Instant::now())
        {
            let sent = match way {
                Way::Out => impair.poll_send(cx, packet, None),
                Way::In => peer.poll_send(cx, packet, None),
            };
            assert!(matches!(sent, Poll::Ready(Ok(()))), "send at {at:?}");
            next += 1;
        }
        let (receiver, flushed): (&mut dyn Device, _) = match way {
            Way::Out => {
                let flushed = impair.poll_flush(cx);
                (&mut peer, flushed.map(Result::unwrap).is_ready())
            }
            Way::In => (&mut impair, true),
        };
        while let Poll::Ready(result) = receiver.poll_recv(cx, &mut buf) {
            let len = result.unwrap();
            arrivals.push(Arrival {
                at: Instant::now() - start,
                data: buf[..len].to_vec(),
            });
        }
        if next == schedule.len() && flushed && impair.waiting() == (0, 0) {
            return Poll::Ready(());
        }
        if let Some((at, _)) = schedule.get(next) {
            timer.as_mut().reset(start + *at);
            if timer.as_mut().poll(cx).is_ready() {
                continue;
            }
        }
        return Poll::Pending;
    })
    .await;
    (arrivals, impair.stats())
}

/// `n` numbered packets of `len` bytes, one every `gap`.
fn spaced(n: u32, len: usize, gap: Duration) -> Vec<(Duration, Vec<u8>)> {
    (0..n).map(|i| (gap * i, numbered(i, len))).collect()
}

/// The config with `impairments` on the side `way` goes through.
fn one_way(way: Way, impairments: Impairments, seed: u64) -> ImpairConfig {
    match way {
        Way::Out => ImpairConfig::outbound_only(impairments),
        Way::In => ImpairConfig::inbound_only(impairments),
    }
    .with_seed(seed)
}

/// The counters of the direction `way` went through.
fn side(stats: ImpairStats, way: Way) -> DirectionStats {
    match way {
        Way::Out => stats.outbound,
        Way::In => stats.inbound,
    }
}

/// Every packet offered was passed or dropped; a duplicate adds one.
fn assert_accounted(stats: DirectionStats) {
    assert_eq!(
        stats.packets + stats.duplicated,
        stats.passed + stats.dropped(),
        "{stats:?}"
    );
}

/// Asserts that `count` is within `tolerance` of `expected`.
fn assert_near(what: &str, count: u64, expected: f64, tolerance: f64) {
    assert!(
        (count as f64 - expected).abs() <= tolerance,
        "{what}: {count}, expected {expected} ± {tolerance}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_perfect_link_changes_nothing() {
    for way in [Way::Out, Way::In] {
        let schedule = spaced(100, 200, Duration::ZERO);
        let (arrivals, stats) = run(ImpairConfig::default(), way, &schedule).await;
        let data: Vec<_> = arrivals.into_iter().map(|a| a.data).collect();
        let sent: Vec<_> = schedule.into_iter().map(|(_, p)| p).collect();
        assert_eq!(data, sent);
        let stats = side(stats, way);
        assert_eq!((stats.packets, stats.passed, stats.delayed), (100, 100, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn loss_drops_about_its_share_and_the_same_seed_drops_the_same_packets() {
    const N: u32 = 10_000;
    let schedule = spaced(N, 100, Duration::ZERO);
    let lossy = |seed| {
        let impairments = Impairments {
            loss: 0.1,
            ..Impairments::default()
        };
        one_way(Way::Out, impairments, seed)
    };
    let survivors = |arrivals: Vec<Arrival>| -> Vec<u32> {
        arrivals.iter().map(|a| number_of(&a.data)).collect()
    };
    let (first, stats) = run(lossy(1), Way::Out, &schedule).await;
    // 10% of 10,000: a standard deviation of 30, so ±150 is five of them.
    assert_near("lost", stats.outbound.dropped_loss, 1000.0, 150.0);
    assert_accounted(stats.outbound);
    let first = survivors(first);
    assert!(
        first.windows(2).all(|w| w[0] < w[1]),
        "loss does not reorder"
    );

    let (again, stats_again) = run(lossy(1), Way::Out, &schedule).await;
    assert_eq!(survivors(again), first, "same seed, same packets lost");
    assert_eq!(stats_again, stats);
    let (other, _) = run(lossy(2), Way::Out, &schedule).await;
    assert_ne!(survivors(other), first, "another seed, other packets");

    // Inbound too, from its own stream.
    let inbound = one_way(Way::In, lossy(1).outbound, 1);
    let (arrivals, stats) = run(inbound, Way::In, &schedule).await;
    assert_near("lost inbound", stats.inbound.dropped_loss, 1000.0, 150.0);
    assert_ne!(
        survivors(arrivals),
        first,
        "each direction has its own stream"
    );
}

#[tokio::test(start_paused = true)]
async fn duplicate_sends_a_copy_right_behind_the_original() {
    let schedule = spaced(2000, 100, Duration::ZERO);
    let config = one_way(
        Way::Out,
        Impairments {
            duplicate: 0.05,
            ..Impairments::default()
        },
        3,
    );
    let (arrivals, stats) = run(config.clone(), Way::Out, &schedule).await;
    assert_near("duplicated", stats.outbound.duplicated, 100.0, 50.0);
    assert_eq!(arrivals.len() as u64, 2000 + stats.outbound.duplicated);
    assert_accounted(stats.outbound);
    let numbers: Vec<u32> = arrivals.iter().map(|a| number_of(&a.data)).collect();
    let mut deduplicated = numbers.clone();
    deduplicated.dedup();
    assert_eq!(
        deduplicated,
        (0..2000).collect::<Vec<_>>(),
        "copies follow their original"
    );
    assert_eq!(run(config, Way::Out, &schedule).await.1, stats);

    let everything = one_way(
        Way::In,
        Impairments {
            duplicate: 1.0,
            ..Impairments::default()
        },
        3,
    );
    let (arrivals, stats) = run(everything, Way::In, &spaced(10, 100, MS)).await;
    assert_eq!(arrivals.len(), 20);
    for pair in arrivals.chunks(2) {
        assert_eq!(
            pair[0], pair[1],
            "the copy is identical and arrives at the same time"
        );
    }
    assert_eq!((stats.inbound.duplicated, stats.inbound.passed), (10, 20));
}

#[tokio::test(start_paused = true)]
async fn corrupt_flips_exactly_one_bit_of_each_corrupted_packet() {
    let schedule = spaced(2000, 300, Duration::ZERO);
    for way in [Way::Out, Way::In] {
        let config = one_way(
            way,
            Impairments {
                corrupt: 0.1,
                ..Impairments::default()
            },
            4,
        );
        let (arrivals, stats) = run(config.clone(), way, &schedule).await;
        let stats = side(stats, way);
        assert_near("corrupted", stats.corrupted, 200.0, 70.0);
        assert_eq!(
            arrivals.len(),
            2000,
            "a corrupted packet is still delivered"
        );
        let mut flipped = 0;
        for (arrival, (_, sent)) in arrivals.iter().zip(&schedule) {
            let bits: u32 = arrival
                .data
                .iter()
                .zip(sent)
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert!(bits <= 1, "{bits} bits flipped");
            flipped += u64::from(bits);
        }
        assert_eq!(flipped, stats.corrupted, "one bit per corrupted packet");
        assert_eq!(side(run(config, way, &schedule).await.1, way), stats);
    }
}

#[tokio::test(start_paused = true)]
async fn delay_shifts_every_arrival_by_exactly_the_delay() {
    for way in [Way::Out, Way::In] {
        let config = one_way(
            way,
            Impairments {
                delay: Duration::from_millis(50),
                ..Impairments::default()
            },
            5,
        );
        let schedule = spaced(20, 100, Duration::from_millis(7));
        let (arrivals, stats) = run(config, way, &schedule).await;
        assert_eq!(arrivals.len(), 20);
        for (arrival, (sent_at, packet)) in arrivals.iter().zip(&schedule) {
            assert_eq!(&arrival.data, packet);
            assert_eq!(arrival.at, *sent_at + Duration::from_millis(50));
        }
        assert_eq!(side(stats, way).delayed, 20);
    }
}

/// How late each numbered packet arrived, from `schedule`'s send times.
fn latencies(arrivals: &[Arrival], schedule: &[(Duration, Vec<u8>)]) -> Vec<Duration> {
    arrivals
        .iter()
        .map(|a| a.at - schedule[number_of(&a.data) as usize].0)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_its_bounds_and_may_reorder() {
    let schedule = spaced(1000, 100, MS);
    let jittery = |keep_order| {
        one_way(
            Way::Out,
            Impairments {
                delay: Duration::from_millis(20),
                jitter: Duration::from_millis(5),
                keep_order,
                ..Impairments::default()
            },
            6,
        )
    };
    let (arrivals, stats) = run(jittery(false), Way::Out, &schedule).await;
    assert_eq!(arrivals.len(), 1000);
    let late = latencies(&arrivals, &schedule);
    // tokio's timers tick in milliseconds, so a packet may leave up to 1 ms after it is due.
    let (min, max) = (late.iter().min().unwrap(), late.iter().max().unwrap());
    assert!(*min >= Duration::from_millis(15), "{min:?}");
    assert!(*max <= Duration::from_millis(26), "{max:?}");
    assert!(
        *min <= Duration::from_millis(16) && *max >= Duration::from_millis(24),
        "spread"
    );
    let numbers: Vec<u32> = arrivals.iter().map(|a| number_of(&a.data)).collect();
    assert!(numbers.windows(2).any(|w| w[0] > w[1]), "jitter reorders");
    assert_eq!(run(jittery(false), Way::Out, &schedule).await.0, arrivals);
    assert_eq!(stats.outbound.delayed, 1000);

    let (arrivals, _) = run(jittery(true), Way::Out, &schedule).await;
    let numbers: Vec<u32> = arrivals.iter().map(|a| number_of(&a.data)).collect();
    assert_eq!(
        numbers,
        (0..1000).collect::<Vec<_>>(),
        "keep_order keeps order"
    );
    let late = latencies(&arrivals, &schedule);
    assert!(late.iter().all(|d| *d >= Duration::from_millis(15)));
}

#[tokio::test(start_paused = true)]
async fn a_bottleneck_sends_one_packet_after_another() {
    // 1250 bytes are 10,000 bits: 10 ms each at 1 Mbit/s, so a burst of 10 takes 100 ms.
    let burst = spaced(10, 1250, Duration::ZERO);
    for way in [Way::Out, Way::In] {
        let config = one_way(
            way,
            Impairments {
                rate: Some(1_000_000),
                ..Impairments::default()
            },
            7,
        );
        let (arrivals, stats) = run(config, way, &burst).await;
        let times: Vec<Duration> = arrivals.iter().map(|a| a.at).collect();
        let expected: Vec<Duration> = (1..=10).map(|i| MS * 10 * i).collect();
        assert_eq!(times, expected);
        assert_eq!(side(stats, way).dropped_queue, 0);
    }

    // Spaced wider than 10 ms, packets never queue: each takes just its own 10 ms.
    let config = one_way(
        Way::Out,
        Impairments {
            rate: Some(1_000_000),
            delay: Duration::from_millis(5),
            ..Impairments::default()
        },
        7,
    );
    let schedule = spaced(5, 1250, Duration::from_millis(30));
    let (arrivals, _) = run(config, Way::Out, &schedule).await;
    assert!(latencies(&arrivals, &schedule)
        .iter()
        .all(|d| *d == Duration::from_millis(15)));
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_exactly_the_excess_from_the_tail() {
    let burst = spaced(100, 1250, Duration::ZERO);
    for (limit, fits) in [(QueueLimit::Packets(64), 64), (QueueLimit::Bytes(5000), 4)] {
        let config = one_way(
            Way::Out,
            Impairments {
                rate: Some(1_000_000),
                queue_limit: limit,
                ..Impairments::default()
            },
            8,
        );
        let (arrivals, stats) = run(config, Way::Out, &burst).await;
        let numbers: Vec<u32> = arrivals.iter().map(|a| number_of(&a.data)).collect();
        assert_eq!(numbers, (0..fits).collect::<Vec<_>>(), "{limit}");
        assert_eq!(stats.outbound.dropped_queue, 100 - u64::from(fits));
        assert_accounted(stats.outbound);
    }
}

#[tokio::test(start_paused = true)]
async fn reorder_changes_the_order_but_loses_nothing() {
    let schedule = spaced(2000, 100, MS);
    let config = one_way(
        Way::In,
        Impairments {
            reorder: 0.05,
            reorder_depth: 3,
            ..Impairments::default()
        },
        9,
    );
    let (arrivals, stats) = run(config.clone(), Way::In, &schedule).await;
    let numbers: Vec<u32> = arrivals.iter().map(|a| number_of(&a.data)).collect();
    assert_ne!(numbers, (0..2000).collect::<Vec<_>>());
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..2000).collect::<Vec<_>>(), "every packet, once");
    assert_near("reordered", stats.inbound.reordered, 100.0, 45.0);
    // One packet a millisecond: a held-back packet waits for at most 3 others, or 10 ms.
    assert!(latencies(&arrivals, &schedule)
        .iter()
        .all(|d| *d <= Duration::from_millis(4)));
    assert_eq!(run(config, Way::In, &schedule).await.0, arrivals);

    // With nothing behind it, a held-back packet goes when its timeout runs out.
    let config = one_way(
        Way::Out,
        Impairments {
            reorder: 1.0,
            ..Impairments::default()
        },
        9,
    );
    let (arrivals, _) = run(config, Way::Out, &spaced(1, 100, MS)).await;
    assert_eq!(arrivals[0].at, Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn everything_at_once_repeats_exactly_with_the_same_seed() {
    let schedule = spaced(3000, 600, Duration::from_micros(300));
    let everything = |seed| {
        ImpairConfig::both_ways(Impairments {
            loss: 0.05,
            duplicate: 0.02,
            corrupt: 0.02,
            rate: Some(15_000_000),
            queue_limit: QueueLimit::Packets(8),
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(3),
            reorder: 0.03,
            script: vec![Rule::nth(Match::Udp, 7)],
            ..Impairments::default()
        })
        .with_seed(seed)
    };
    for way in [Way::Out, Way::In] {
        let (arrivals, stats) = run(everything(11), way, &schedule).await;
        let stats = side(stats, way);
        assert_accounted(stats);
        assert_eq!(stats.dropped_script, 1);
        assert!(stats.dropped_queue > 0 && stats.reordered > 0 && stats.corrupted > 0);
        let (again, stats_again) = run(everything(11), way, &schedule).await;
        assert_eq!(again, arrivals);
        assert_eq!(side(stats_again, way), stats);
        assert_ne!(run(everything(12), way, &schedule).await.0, arrivals);
    }
}

/// A short TCP conversation, outbound: SYN, ACK, five data segments, a pure ACK, FIN.
fn conversation() -> Vec<(Duration, Vec<u8>)> {
    let ack = Flags::ACK;
    let mut packets = vec![segment(Flags::SYN, 999, 0), segment(ack, 1000, 0)];
    for i in 0..5 {
        packets.push(segment(ack | Flags::PSH, 1000 + 1460 * i, 1460));
    }
    packets.push(segment(ack, 8300, 0));
    packets.push(segment(ack | Flags::FIN, 8300, 0));
    packets.into_iter().map(|p| (Duration::ZERO, p)).collect()
}

/// Which packets of `schedule` the rules drop (their indices), outbound.
async fn dropped_by(script: Vec<Rule>, schedule: &[(Duration, Vec<u8>)]) -> Vec<usize> {
    let config = ImpairConfig::outbound_only(Impairments {
        script,
        ..Impairments::default()
    });
    let (arrivals, stats) = run(config, Way::Out, schedule).await;
    assert_accounted(stats.outbound);
    let mut next = arrivals.iter().peekable();
    let mut dropped = Vec::new();
    for (i, (_, packet)) in schedule.iter().enumerate() {
        if next.peek().is_some_and(|a| &a.data == packet) {
            next.next();
        } else {
            dropped.push(i);
        }
    }
    assert_eq!(stats.outbound.dropped_script as usize, dropped.len());
    dropped
}

#[tokio::test(start_paused = true)]
async fn rules_drop_exactly_the_packets_they_name() {
    let talk = conversation();
    // 0 SYN, 1 ACK, 2..=6 data, 7 pure ACK, 8 FIN.
    assert_eq!(
        dropped_by(vec![Rule::nth(Match::TcpData, 3)], &talk).await,
        [4]
    );
    assert_eq!(
        dropped_by(vec![Rule::nth(Match::TcpFin, 1)], &talk).await,
        [8]
    );
    assert_eq!(dropped_by(vec![Rule::nth(Match::Any, 2)], &talk).await, [1]);
    assert_eq!(
        dropped_by(vec![Rule::every(Match::TcpSyn)], &talk).await,
        [0]
    );
    assert_eq!(
        dropped_by(vec![Rule::range(Match::TcpData, 2..=4)], &talk).await,
        [3, 4, 5]
    );
    assert_eq!(
        dropped_by(vec![Rule::with_probability(Match::TcpPureAck, 1.0)], &talk).await,
        [1, 7]
    );
    assert_eq!(
        dropped_by(
            vec![Rule::nth(Match::TcpFin, 1), Rule::nth(Match::TcpSyn, 1)],
            &talk
        )
        .await,
        [0, 8]
    );
    assert!(dropped_by(vec![Rule::every(Match::Udp)], &talk)
        .await
        .is_empty());

    // A retransmission is counted again: resending the 3rd segment makes it the 6th.
    let mut resent = talk.clone();
    resent.insert(7, talk[4].clone());
    assert_eq!(
        dropped_by(vec![Rule::nth(Match::TcpData, 6)], &resent).await,
        [7]
    );
}

#[tokio::test(start_paused = true)]
async fn until_drops_every_match_before_its_time() {
    // A SYN every second, as a connecting client backs off (simplified): t = 0, 1, 2, 3 s.
    let syns: Vec<_> = (0..4u32)
        .map(|i| {
            (
                Duration::from_secs(i.into()),
                segment(Flags::SYN, 999 + i, 0),
            )
        })
        .collect();
    let rule = Rule::until(Match::TcpSyn, Duration::from_secs(2));
    assert_eq!(dropped_by(vec![rule], &syns).await, [0, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_probability_rule_drops_only_its_kind() {
    let mut schedule = Vec::new();
    for i in 0..1000 {
        schedule.push((Duration::ZERO, segment(Flags::ACK, 1000 + 1460 * i, 1460)));
        schedule.push((Duration::ZERO, segment(Flags::ACK, 1, 0)));
    }
    let dropped = dropped_by(
        vec![Rule::with_probability(Match::TcpPureAck, 0.5)],
        &schedule,
    )
    .await;
    assert!(dropped.iter().all(|i| i % 2 == 1), "only pure ACKs");
    assert_near("pure ACKs dropped", dropped.len() as u64, 500.0, 80.0);
}

#[tokio::test(start_paused = true)]
async fn a_held_packet_wakes_the_receiving_task_when_due() {
    let (a, mut peer) = memory::pair(MemoryConfig::default());
    let config = one_way(
        Way::In,
        Impairments {
            delay: Duration::from_millis(40),
            ..Impairments::default()
        },
        0,
    );
    let mut impair = Impair::new(a, config).unwrap();
    let start = Instant::now();
    let receiver = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        let n = recv(&mut impair, &mut buf).await.unwrap();
        (Instant::now() - start, buf[..n].to_vec())
    });
    tokio::task::yield_now().await;
    send(&mut peer, &numbered(1, 100)).await.unwrap();
    let (waited, packet) = receiver.await.unwrap();
    assert_eq!(waited, Duration::from_millis(40));
    assert_eq!(number_of(&packet), 1);
}

#[tokio::test(start_paused = true)]
async fn the_link_beneath_closing_is_reported_after_the_held_packets() {
    let (a, mut peer) = memory::pair(MemoryConfig::default());
    let config = one_way(
        Way::In,
        Impairments {
            delay: Duration::from_millis(10),
            ..Impairments::default()
        },
        0,
    );
    let mut impair = Impair::new(a, config).unwrap();
    send(&mut peer, &numbered(1, 100)).await.unwrap();
    drop(peer);
    let mut buf = [0u8; 1500];
    assert_eq!(recv(&mut impair, &mut buf).await.unwrap(), 100);
    let err = recv(&mut impair, &mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected);
    let err = send(&mut impair, &numbered(2, 100)).await;
    assert!(err.is_ok(), "the memory wire discards sends to a gone peer");
}

#[tokio::test(start_paused = true)]
async fn a_warm_lane_reuses_its_buffers() {
    let config = one_way(
        Way::Out,
        Impairments {
            delay: Duration::from_millis(10),
            ..Impairments::default()
        },
        0,
    );
    let (a, mut peer) = memory::pair(MemoryConfig::default());
    let mut impair = Impair::new(a, config).unwrap();
    let mut buf = [0u8; 1500];
    for i in 0..1000 {
        send(&mut impair, &numbered(i, 500)).await.unwrap();
        tokio::time::advance(MS).await;
        poll_fn(|cx| {
            let _ = impair.poll_flush(cx);
            Poll::Ready(())
        })
        .await;
        while let Poll::Ready(Ok(_)) =
            peer.poll_recv(&mut Context::from_waker(Waker::noop()), &mut buf)
        {}
    }
    // At one packet a millisecond, ten or eleven wait at any time: as many buffers were made.
    assert!(
        impair.outbound.buffers() <= 12,
        "{}",
        impair.outbound.buffers()
    );
}

/// On a device that carries Ethernet frames, a full-sized frame is the MTU and the 14-byte
/// header: it goes through the impairments like any other, and only a longer one is left to
/// the link beneath to refuse.
#[tokio::test(start_paused = true)]
async fn full_sized_ethernet_frames_are_impaired_too() {
    let (a, mut peer) = memory::pair(MemoryConfig {
        medium: crate::device::Medium::Ethernet,
        ..MemoryConfig::default()
    });
    let lose_all = Impairments {
        loss: 1.0,
        ..Impairments::default()
    };
    let mut impair = Impair::new(a, ImpairConfig::both_ways(lose_all)).unwrap();
    let mut frame = vec![0xff; 12];
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&numbered(0, 1500));
    assert_eq!(frame.len(), 1514);
    send(&mut impair, &frame).await.unwrap();
    send(&mut peer, &frame).await.unwrap();
    let mut buf = vec![0; 1514];
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        peer.poll_recv(&mut cx, &mut buf).is_pending(),
        "lost on the way out"
    );
    assert!(
        impair.poll_recv(&mut cx, &mut buf).is_pending(),
        "lost on the way in"
    );
    let stats = impair.stats();
    assert_eq!(
        (stats.outbound.packets, stats.outbound.dropped_loss),
        (1, 1)
    );
    assert_eq!((stats.inbound.packets, stats.inbound.dropped_loss), (1, 1));
    // One byte more is not a frame this wire carries.
    frame.push(0);
    let err = send(&mut impair, &frame).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(impair.stats().outbound.packets, 1);
}

#[test]
fn a_bad_setting_is_refused() {
    let (a, _b) = memory::pair(MemoryConfig::default());
    let config = ImpairConfig::both_ways(Impairments {
        duplicate: -0.5,
        ..Impairments::default()
    });
    let err = Impair::new(a, config).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("duplicate"), "{err}");
}

#[test]
fn tcp_segments_are_named_as_in_wireshark() {
    let summary = PacketSummary::parse(&segment(Flags::ACK | Flags::PSH, 1000, 1460));
    assert_eq!(
        summary.to_string(),
        "TCP 80 > 40000 [PSH, ACK] seq=1000 ack=1 len=1460"
    );
    assert!(Match::TcpData.matches(&summary) && !Match::TcpPureAck.matches(&summary));
    let ack = PacketSummary::parse(&segment(Flags::ACK, 1, 0));
    assert!(Match::TcpPureAck.matches(&ack) && !Match::TcpData.matches(&ack));
    let syn = PacketSummary::parse(&segment(Flags::SYN | Flags::ACK, 1, 0));
    assert!(Match::TcpSyn.matches(&syn) && !Match::TcpPureAck.matches(&syn));
}

/// The stack's own receive path, fed every packet that comes out of an inbound `corrupt` of 1.
async fn corrupted_into_a_host(schedule: &[(Duration, Vec<u8>)]) -> (Host, Vec<Arrival>, usize) {
    let mut config = Config::new(format!("{PEER}/24").parse().unwrap());
    config.seed = Some(1);
    config.udp_recv_queue = schedule.len();
    let mut host = Host::new(config);
    let socket = host.udp_bind(SocketAddrV4::new(PEER, 9)).unwrap();
    let impairments = Impairments {
        corrupt: 1.0,
        ..Impairments::default()
    };
    let (arrivals, stats) = run(one_way(Way::In, impairments, 13), Way::In, schedule).await;
    assert_eq!(stats.inbound.corrupted, schedule.len() as u64);
    for arrival in &arrivals {
        host.receive(crate::time::Instant::ZERO, &arrival.data);
    }
    (host, arrivals, socket)
}

#[tokio::test(start_paused = true)]
async fn the_stack_drops_every_corrupted_datagram() {
    let schedule = spaced(1000, 200, Duration::ZERO);
    let (mut host, arrivals, socket) = corrupted_into_a_host(&schedule).await;
    // Every datagram the socket got must be one that was sent, byte for byte: arrivals keep
    // the send order, so the k-th delivered one is some k-th sent one's payload.
    let mut buf = [0u8; 1500];
    let mut cx = Context::from_waker(Waker::noop());
    let mut delivered = 0;
    while let Poll::Ready(Ok((n, from))) = host.udp_poll_recv_from(&mut cx, socket, &mut buf) {
        assert_eq!(from, SocketAddrV4::new(US, 5000).into());
        let number = number_of_payload(&buf[..n]);
        assert_eq!(&buf[..n], &schedule[number as usize].1[28..], "intact data");
        delivered += 1;
    }
    let stats = host.stats();
    let dropped = stats.ip.dropped.total() + stats.udp.dropped.total();
    assert_eq!(stats.udp.delivered, delivered);
    assert_eq!(delivered + dropped, 1000, "{stats}");
    // Only a checksum field that loses its one set bit gets through (it then reads "none").
    assert!(delivered <= 5, "{delivered} delivered");
    assert_eq!(arrivals.len(), 1000);
}

#[tokio::test(start_paused = true)]
async fn the_stack_answers_no_corrupted_segment() {
    // SYNs to a port nobody listens on: an intact one would be answered with a reset.
    let schedule: Vec<_> = (0..1000)
        .map(|i| (Duration::ZERO, segment(Flags::SYN, i, 0)))
        .collect();
    let (mut host, _, _) = corrupted_into_a_host(&schedule).await;
    let stats = host.stats();
    assert_eq!(
        stats.ip.dropped.total() + stats.tcp.dropped.total(),
        1000,
        "{stats}"
    );
    let mut out = Vec::new();
    assert!(host
        .transmit(crate::time::Instant::ZERO, &mut out)
        .is_none());
}

/// The payload's number, as [`numbered`] wrote it.
fn number_of_payload(payload: &[u8]) -> u32 {
    u32::from_be_bytes(payload[..4].try_into().unwrap())
}

/// Each packet block's comment, in a pcapng file (`None` for a block without one).
fn capture_comments(path: &std::path::Path) -> Vec<Option<String>> {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let bytes = std::fs::read(path).unwrap();
    let mut reader = PcapNgReader::new(&bytes[..]).unwrap();
    let mut comments = Vec::new();
    while let Some(block) = reader.next_block() {
        if let Block::EnhancedPacket(packet) = block.unwrap() {
            comments.push(packet.options.iter().find_map(|option| match option {
                EnhancedPacketOption::Comment(text) => Some(text.to_string()),
                _ => None,
            }));
        }
    }
    comments
}

#[tokio::test(start_paused = true)]
async fn a_capture_records_the_side_of_the_impairments_it_is_on() {
    let config = ImpairConfig::outbound_only(Impairments {
        script: vec![Rule::nth(Match::Any, 2)],
        duplicate: 1.0,
        ..Impairments::default()
    });
    let packets: Vec<_> = (0..3).map(|i| numbered(i, 100)).collect();

    // The wire's view: what the impairments let out, copies marked.
    let wire_file = TempFile::new("impair-wire");
    let (a, _peer) = memory::pair(MemoryConfig::default());
    let capture = Capture::create(a, wire_file.path(), "mem0").unwrap();
    let mut wire = Impair::new(capture, config.clone()).unwrap();
    for packet in &packets {
        poll_fn(|cx| wire.poll_send(cx, packet, Some("from the stack")))
            .await
            .unwrap();
    }
    drop(wire);
    let copy = Some("from the stack; impair: duplicate".to_string());
    let original = Some("from the stack".to_string());
    assert_eq!(
        capture_comments(wire_file.path()),
        [original.clone(), copy.clone(), original.clone(), copy],
        "packets 1 and 3, twice each; packet 2 is a gap"
    );

    // The stack's view: everything it sent, lost or not.
    let stack_file = TempFile::new("impair-stack");
    let (a, _peer) = memory::pair(MemoryConfig::default());
    let mut stack_side =
        Capture::create(Impair::new(a, config).unwrap(), stack_file.path(), "mem0").unwrap();
    for packet in &packets {
        poll_fn(|cx| stack_side.poll_send(cx, packet, Some("from the stack")))
            .await
            .unwrap();
    }
    assert_eq!(stack_side.get_ref().stats().outbound.passed, 4);
    drop(stack_side);
    assert_eq!(
        capture_comments(stack_file.path()),
        [original.clone(), original.clone(), original]
    );
}

/// A writer into a shared buffer, for reading log lines back.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn every_decision_is_logged_with_the_packet_it_concerns() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let config = ImpairConfig::outbound_only(Impairments {
        script: vec![Rule::nth(Match::TcpData, 3)],
        delay: Duration::from_millis(5),
        ..Impairments::default()
    })
    .with_seed(1);
    run(config, Way::Out, &conversation()).await;
    let config = ImpairConfig::inbound_only(Impairments {
        loss: 1.0,
        ..Impairments::default()
    });
    run(config, Way::In, &conversation()[..1]).await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for line in [
        "impair: drop outbound TCP 80 > 40000 [PSH, ACK] seq=3920 ack=1 len=1460 \
         (script: the 3rd TCP data segment)",
        "impair: delay outbound TCP 80 > 40000 [FIN, ACK] seq=8300 ack=1 len=0 by 5 ms",
        "impair: drop inbound TCP 80 > 40000 [SYN] seq=999 ack=1 len=0 (loss 100%)",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    assert_eq!(text.matches("impair: delay").count(), 8);
}
