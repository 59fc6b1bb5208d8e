//! The resolver against a scripted name server on the in-memory wire, on virtual time: the
//! cache and its TTLs, retries with backoff, truncation and TCP, forged and negative answers.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tunstack::device::impair::{ImpairConfig, Impairments};
use tunstack::device::{memory, Impair, MemoryConfig};
use tunstack::{Config, Ipv4Cidr, TcpListener};

use super::*;
use crate::dns::answer::PLAIN_UDP;
use crate::dns::{Soa, CLASS_IN};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// One way across the wire: a 20 ms round trip.
const DELAY: Duration = Duration::from_millis(10);

/// How the scripted server behaves.
#[derive(Clone, Copy, Default)]
struct Script {
    /// Queries it ignores before it answers (as if they were lost).
    ignore: u32,
    /// Whether it first sends an answer with the wrong ID (a forgery that guessed wrong).
    forge: bool,
    /// Whether its UDP answers are truncated (TC), so the whole answer is only over TCP.
    truncate: bool,
}

/// Two stacks on a wire with a 20 ms round trip; the server's answers to www.course.test and
/// nope.course.test run as `script` says. Returns the client and the count of UDP queries.
fn network(script: Script) -> (Stack, Arc<AtomicU32>) {
    let (a, b) = memory::pair(MemoryConfig::default());
    let delayed = Impairments {
        delay: DELAY,
        ..Impairments::default()
    };
    let a = Impair::new(
        a,
        ImpairConfig {
            outbound: delayed.clone(),
            inbound: delayed,
            seed: 1,
        },
    )
    .unwrap();
    let mut config = Config::new(Ipv4Cidr::new(CLIENT, 24).unwrap());
    config.seed = Some(1);
    let client = Stack::new(a, config);
    let mut config = Config::new(Ipv4Cidr::new(SERVER, 24).unwrap());
    config.seed = Some(2);
    let server = Stack::new(b, config);
    let queries = Arc::new(AtomicU32::new(0));
    tokio::spawn(serve_udp(server.clone(), script, queries.clone()));
    tokio::spawn(serve_tcp(server));
    (client, queries)
}

/// The zone's answer to `query`: www has an A record with a TTL of 60 s, or (with `big`) 40
/// of them; every other name is NXDOMAIN.
fn answer(query: &Message, big: bool) -> Message {
    let mut response = query.clone();
    response.header.response = true;
    response.header.authoritative = true;
    let question = &query.questions[0];
    if question.name == "www.course.test".parse().unwrap() {
        let count = if big { 40 } else { 1 };
        response.answers = (0..count)
            .map(|i| Record {
                name: question.name.clone(),
                class: CLASS_IN,
                ttl: 60,
                data: match question.qtype {
                    RecordType::Aaaa => {
                        RData::Aaaa(Ipv6Addr::new(0xfd77, 1, 0, 0, 0, 0, 0, i.into()))
                    }
                    _ => RData::A(Ipv4Addr::new(10, 77, 1, i)),
                },
            })
            .collect();
    } else {
        response.header.rcode = Rcode::NxDomain;
        response.authorities = vec![Record {
            name: "course.test".parse().unwrap(),
            class: CLASS_IN,
            ttl: 300,
            data: RData::Soa(Soa {
                mname: "ns.course.test".parse().unwrap(),
                rname: "admin.course.test".parse().unwrap(),
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: 30,
            }),
        }];
    }
    response
}

async fn serve_udp(stack: Stack, script: Script, queries: Arc<AtomicU32>) -> io::Result<()> {
    let socket = UdpSocket::bind(&stack, "0.0.0.0:53").await?;
    let mut buf = vec![0u8; 2048];
    loop {
        let (len, from) = socket.recv_from(&mut buf).await?;
        let n = queries.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= script.ignore {
            continue;
        }
        let query = Message::parse(&buf[..len]).unwrap();
        if script.forge {
            let mut forged = answer(&query, false);
            forged.header.id = query.header.id.wrapping_add(1);
            forged.answers[0].data = RData::A(Ipv4Addr::new(6, 6, 6, 6));
            socket.send_to(&forged.encode(), from).await?;
        }
        let reply = answer(&query, script.truncate);
        socket
            .send_to(&reply.encode_within(PLAIN_UDP), from)
            .await?;
    }
}

async fn serve_tcp(stack: Stack) -> io::Result<()> {
    let listener = TcpListener::bind(&stack, "0.0.0.0:53").await?;
    loop {
        let (mut stream, _) = listener.accept().await?;
        while let Some(bytes) = read_framed(&mut stream).await? {
            let query = Message::parse(&bytes).unwrap();
            write_framed(&mut stream, &answer(&query, true).encode()).await?;
        }
        stream.shutdown().await?;
    }
}

fn resolver(client: &Stack) -> Resolver {
    Resolver::new(client, (SERVER, 53).into(), Patience::default(), Some(7))
}

fn www() -> Name {
    "www.course.test".parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_second_lookup_comes_from_the_cache_until_the_ttl_runs_out() {
    let (client, queries) = network(Script::default());
    let mut resolver = resolver(&client);
    let first = resolver.lookup(&www(), RecordType::A).await.unwrap();
    assert_eq!(first.addrs(), vec![IpAddr::V4(Ipv4Addr::new(10, 77, 1, 0))]);
    assert_eq!(first.via, Via::Udp(1));
    assert_eq!(first.took, 2 * DELAY, "one round trip");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let second = resolver.lookup(&www(), RecordType::A).await.unwrap();
    assert_eq!(second.took, Duration::ZERO, "no packet: the cache answers");
    assert!(
        second.via == Via::Cache(Duration::from_secs(50)),
        "{:?}",
        second.via
    );
    assert_eq!(
        second.records[0].ttl, 50,
        "the TTL counts down in the cache"
    );
    assert_eq!(queries.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_secs(50)).await;
    let third = resolver.lookup(&www(), RecordType::A).await.unwrap();
    assert_eq!(third.via, Via::Udp(1), "the TTL ran out: asked again");
    assert_eq!(queries.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn lost_queries_are_sent_again_after_longer_and_longer_waits() {
    let (client, queries) = network(Script {
        ignore: 2,
        ..Script::default()
    });
    let mut resolver = resolver(&client);
    let lookup = resolver.lookup(&www(), RecordType::A).await.unwrap();
    assert_eq!(lookup.via, Via::Udp(3));
    assert_eq!(queries.load(Ordering::SeqCst), 3);
    // 1 s, then 2 s (each with up to half again of jitter), then the round trip.
    let least = Duration::from_secs(3) + 2 * DELAY;
    assert!(lookup.took >= least, "{:?}", lookup.took);
    assert!(lookup.took <= least.mul_f64(1.5), "{:?}", lookup.took);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out_after_every_try() {
    let (client, queries) = network(Script {
        ignore: u32::MAX,
        ..Script::default()
    });
    let mut resolver = resolver(&client);
    let err = resolver.lookup(&www(), RecordType::A).await.unwrap_err();
    let LookupError::TimedOut { tries, waited, .. } = err else {
        panic!("{err}");
    };
    assert_eq!((tries, queries.load(Ordering::SeqCst)), (3, 3));
    assert!(
        waited >= Duration::from_secs(7),
        "1 + 2 + 4 s at least: {waited:?}"
    );
    assert!(err_text(LookupError::TimedOut {
        server: (SERVER, 53).into(),
        tries,
        waited
    })
    .contains("3 queries"));
}

fn err_text(err: LookupError) -> String {
    err.to_string()
}

#[tokio::test(start_paused = true)]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let (client, _) = network(Script {
        truncate: true,
        ..Script::default()
    });
    let mut resolver = resolver(&client);
    let lookup = resolver.lookup(&www(), RecordType::A).await.unwrap();
    assert_eq!(lookup.via, Via::Tcp(1));
    assert_eq!(lookup.addrs().len(), 40, "the whole answer, over TCP");
    // UDP's round trip, then TCP's handshake and the query's.
    assert_eq!(lookup.took, 6 * DELAY);
}

#[tokio::test(start_paused = true)]
async fn an_answer_with_the_wrong_id_is_passed_over() {
    let (client, _) = network(Script {
        forge: true,
        ..Script::default()
    });
    let mut resolver = resolver(&client);
    let lookup = resolver.lookup(&www(), RecordType::A).await.unwrap();
    assert_eq!(lookup.via, Via::Udp(1));
    assert_eq!(
        lookup.addrs(),
        vec![IpAddr::V4(Ipv4Addr::new(10, 77, 1, 0))]
    );
}

#[tokio::test(start_paused = true)]
async fn no_such_name_is_an_error_and_is_kept_for_the_soa_minimum() {
    let (client, queries) = network(Script::default());
    let mut resolver = resolver(&client);
    let nope: Name = "nope.course.test".parse().unwrap();
    for _ in 0..2 {
        let err = resolver.lookup(&nope, RecordType::A).await.unwrap_err();
        assert!(
            matches!(&err, LookupError::NoSuchName(name) if *name == nope),
            "{err}"
        );
        assert!(err.to_string().contains("NXDOMAIN"));
    }
    assert_eq!(
        queries.load(Ordering::SeqCst),
        1,
        "the second from the cache"
    );
    tokio::time::sleep(Duration::from_secs(31)).await;
    resolver.lookup(&nope, RecordType::A).await.unwrap_err();
    assert_eq!(queries.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn localhost_never_leaves_the_machine() {
    let (client, queries) = network(Script::default());
    let mut resolver = resolver(&client);
    let lookup = resolver
        .lookup_host(&"LocalHost".parse().unwrap(), true)
        .await
        .unwrap();
    assert_eq!(lookup.via, Via::Local);
    assert_eq!(
        lookup.how(),
        "never leaves the machine: localhost is this host (for A and AAAA)"
    );
    assert_eq!(
        lookup.addrs(),
        vec![
            IpAddr::from(Ipv4Addr::LOCALHOST),
            IpAddr::from(Ipv6Addr::LOCALHOST)
        ]
    );
    assert_eq!(lookup.took, Duration::ZERO);
    assert_eq!(queries.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_port_nobody_serves_ends_the_lookup_at_once() {
    let (client, _) = network(Script::default());
    let server = (SERVER, 5353).into();
    let mut resolver = Resolver::new(&client, server, Patience::default(), Some(7));
    let started = Instant::now();
    let err = resolver.lookup(&www(), RecordType::A).await.unwrap_err();
    assert!(
        matches!(err, LookupError::Unreachable(to) if to == server),
        "{err}"
    );
    assert_eq!(
        started.elapsed(),
        2 * DELAY,
        "the ICMP error's round trip, no timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn a_and_aaaa_go_out_together_one_round_trip_for_both() {
    let (client, queries) = network(Script::default());
    let mut resolver = resolver(&client);
    let lookup = resolver.lookup_host(&www(), true).await.unwrap();
    assert_eq!(lookup.took, 2 * DELAY, "one round trip for both questions");
    assert_eq!(
        lookup.addrs(),
        vec![
            IpAddr::V4(Ipv4Addr::new(10, 77, 1, 0)),
            IpAddr::V6(Ipv6Addr::new(0xfd77, 1, 0, 0, 0, 0, 0, 0))
        ]
    );
    assert_eq!(lookup.how(), "over UDP, 1 query each for A and AAAA");
    assert_eq!(queries.load(Ordering::SeqCst), 2);
    let again = resolver.lookup_host(&www(), true).await.unwrap();
    assert_eq!(
        again.how(),
        "from the cache, TTL 60 s left (for A and AAAA)"
    );
    assert_eq!(queries.load(Ordering::SeqCst), 2);
}
