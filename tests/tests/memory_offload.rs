//! Two of our hosts on an in-memory wire with offloads ([`MemoryConfig::offloads`]), on virtual
//! time: what a Linux veth pair with TSO and checksum offload does, without a kernel.
//!
//! The sender's TCP bursts go on the wire as super-packets of up to 64 KiB with their checksums
//! left partial, the wire hands them over whole, and the receiver takes each as one segment
//! without verifying a checksum nobody computed. The data must still arrive byte-exact both
//! ways, in far fewer packets than MSS-sized segments would take; a capture of it must be
//! clean in tshark (the capture completes each partial checksum in its copy) and show the
//! super-packets. With [`Impair`] losing whole super-packets between them, TCP repairs the
//! stream, IPv4 and IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tokio::time::timeout;
use tunstack::device::impair::{ImpairConfig, Impairments};
use tunstack::device::offload::Offloads;
use tunstack::device::{memory, Capture, Device, Impair, MemoryConfig, MemoryDevice};
use tunstack::{Config, Stack, TcpListener, TcpStream};
use tunstack_tests::{tshark_available, tshark_filter, tshark_tcp_check, TempFile};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const PORT: u16 = 5001;
/// Each direction's transfer.
const BULK: u64 = 8 << 20;
/// The MSS at the wire's MTU of 1,500 bytes: what one segment would carry without TSO.
const MSS: u64 = 1460;
/// How long any test may take, in virtual time.
const LIMIT: Duration = Duration::from_secs(120);

/// The two ends of a wire with TSO and checksum offload, MTU 1,500.
fn offload_wire() -> (MemoryDevice, MemoryDevice) {
    memory::pair(MemoryConfig {
        offloads: Offloads::ALL,
        queue_len: 4096,
        ..MemoryConfig::default()
    })
}

/// One of our hosts at `v4`/24 and `v6`/64, with a fixed seed.
fn host(device: impl Device, (v4, v6): (Ipv4Addr, Ipv6Addr), seed: u64) -> Stack {
    let mut config = Config::new(format!("{v4}/24").parse().unwrap())
        .with_ipv6(format!("{v6}/64").parse().unwrap());
    config.seed = Some(seed);
    config.tcp.msl = Duration::from_millis(500);
    Stack::new(device, config)
}

/// `len` bytes each way between `a` and `b` at `b_addr`, each direction checked byte for byte
/// ([`tunstack_tests::both_ways`]); then both ends close.
async fn both_ways(a: &Stack, b: &Stack, b_addr: IpAddr, len: u64) {
    let listener = TcpListener::bind(b, (b_addr, PORT)).await.unwrap();
    let (one, accepted) = tokio::join!(TcpStream::connect(a, (b_addr, PORT)), listener.accept());
    let (one, other) = (one.unwrap(), accepted.unwrap().0);
    let received = tunstack_tests::both_ways(one, other, len).await.unwrap();
    assert_eq!(received, (len, len));
}

/// 8 MiB each way over IPv4, A's end captured: byte-exact, in super-packets (A puts fewer
/// than a quarter of the packets on the wire that MSS-sized segments and an ACK for every
/// second one would take), no checksum verified or failed, a clean capture with super-packets
/// both ways and the comment that says what each stands for.
#[tokio::test(start_paused = true)]
async fn bulk_both_ways_travels_in_super_packets_with_a_clean_capture() {
    let file = TempFile::new("memory-offload");
    let (a_end, b_end) = offload_wire();
    let wire = a_end.stats_handle();
    let capture = Capture::create(a_end, file.path(), "mem0")
        .unwrap()
        .with_epoch(Duration::from_secs(1_700_000_000));
    let a = host(capture, (A, A6), 1);
    let b = host(b_end, (B, B6), 2);
    timeout(LIMIT, both_ways(&a, &b, B.into(), BULK))
        .await
        .expect("done within the limit");

    let segments = BULK.div_ceil(MSS);
    let sent = wire.get().sent;
    assert!(
        sent * 4 < segments + segments / 2,
        "{sent} packets from A for {segments} segments' worth each way"
    );
    for stats in [a.stats(), b.stats()] {
        assert_eq!(stats.tcp.dropped.total(), 0, "{stats}");
    }
    drop((a, b));

    if !tshark_available() {
        return;
    }
    let conversations = tshark_tcp_check(file.path());
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    for direction in [0, 1] {
        let filter = format!("ip.len > 1500 && frame.p2p_dir == {direction}");
        let big = tshark_filter(file.path(), &filter).unwrap();
        assert!(!big.is_empty(), "no super-packet in direction {direction}");
    }
    let commented =
        tshark_filter(file.path(), "frame.comment contains \"TSO super-packet\"").unwrap();
    assert!(!commented.is_empty(), "no super-packet comment");
}

/// 2 MiB each way over IPv6 and then IPv4, with 2% of the packets lost each way: whole
/// super-packets among them, which TCP sends again (as MSS-sized segments, a retransmission
/// being one segment); every byte arrives.
#[tokio::test(start_paused = true)]
async fn lost_super_packets_are_repaired_over_ipv6_and_ipv4() {
    let (a_end, b_end) = offload_wire();
    let impairments = Impairments {
        loss: 0.02,
        ..Impairments::default()
    };
    let impaired = Impair::new(a_end, ImpairConfig::both_ways(impairments).with_seed(11)).unwrap();
    let impair_stats = impaired.stats_handle();
    let a = host(impaired, (A, A6), 1);
    let b = host(b_end, (B, B6), 2);
    timeout(LIMIT, async {
        both_ways(&a, &b, B6.into(), 2 << 20).await;
        both_ways(&a, &b, B.into(), 2 << 20).await;
    })
    .await
    .expect("done within the limit");
    let lost = impair_stats.get();
    assert!(
        lost.outbound.dropped_loss > 0 && lost.inbound.dropped_loss > 0,
        "{lost:?}"
    );
}
