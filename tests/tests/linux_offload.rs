//! TCP against the Linux kernel over a TUN or TAP device opened with offloads
//! ([`TunDevice::open_offload`](tunstack::device::TunDevice::open_offload)): the kernel hands
//! our stack super-packets of up to 64 KiB with partial checksums, and takes ours the same way,
//! cutting them into MSS-sized segments for its own TCP.
//!
//! Each test sends data both ways at once on one connection (a Linux client, our server),
//! checks every byte, then reads the capture with tshark: no malformed packet, no bad checksum
//! (the capture completes the partial ones), and super-packets each way, which shows the
//! offloads were used. The figures print with `--nocapture`.
//!
//! The impaired test puts [`Impair`](tunstack::device::Impair) between our stack and the
//! device, with loss, duplication, reordering and corruption both ways. A lost super-packet is
//! a whole burst lost; a corrupted one must still be caught: on the way in, the flipped bit
//! makes the device's word on the checksum void, so our stack verifies it and drops the
//! segment; on the way out, the super-packet is cut into segments first and one segment
//! carries the flipped bit under a whole checksum, which the kernel then verifies. Both
//! stacks' checksum-error counters show it.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use tokio::time::timeout;
use tunstack::device::impair::{ImpairConfig, Impairments};
use tunstack::device::Medium;
use tunstack::stats::DropReason;
use tunstack::{Config, Ipv4Cidr, Ipv6Cidr, TcpListener};
use tunstack_tests::{
    tshark_filter_fields, tshark_tcp_check, tshark_tcp_check_lossy, tshark_tcp_findings,
    tun_tests_can_run, Nstat, Pattern, TunNet, KERNEL, PREFIX_LEN, PREFIX_LEN6, STACK, STACK6,
};

/// How long one read, write or handshake may wait.
const WAIT: Duration = Duration::from_secs(20);

/// How long a whole transfer may take.
const TRANSFER: Duration = Duration::from_secs(240);

/// The port of our server.
const PORT: u16 = 9000;

/// Our stack's configuration: IPv6 too when `v6`.
fn config(v6: bool, seed: u64) -> Config {
    let mut config = Config::new(Ipv4Cidr::new(STACK, PREFIX_LEN).unwrap());
    if v6 {
        config = config.with_ipv6(Ipv6Cidr::new(STACK6, PREFIX_LEN6).unwrap());
    }
    config.seed = Some(seed);
    config
}

/// What one exchange showed.
struct Exchange {
    elapsed: Duration,
    /// Super-packets in the capture: (from the kernel, from us).
    super_packets: (usize, usize),
}

/// How our server writes and reads its bytes.
#[derive(Clone, Copy, PartialEq)]
enum Calls {
    /// With `write_all` and `read`: copied into the send buffer, and out of the receive buffer.
    Copied,
    /// With `write_chunk`: the pattern's memory is shared with the send buffer and goes to the
    /// device from there, retransmissions too; and with `read_chunk`: the kernel's
    /// super-packets are read in their own buffers.
    Shared,
}

/// A Linux client and our server send each other `bulk` bytes at once on one connection over
/// `net` (to our IPv6 address when `v6`), every byte checked; then the capture is checked.
/// `lossy`: the capture may hold retransmissions and corrupted packets.
fn exchange(net: TunNet, v6: bool, bulk: u64, lossy: bool, calls: Calls) -> (Exchange, TunNet) {
    let stack = net.stack();
    let any: IpAddr = if v6 {
        "::".parse().unwrap()
    } else {
        "0.0.0.0".parse().unwrap()
    };
    let listener = net
        .block_on(TcpListener::bind(stack, (any, PORT)))
        .unwrap()
        .unwrap();
    let ours: IpAddr = if v6 { STACK6.into() } else { STACK.into() };
    let started = Instant::now();
    let mut linux = net.linux_tcp_connect(SocketAddr::new(ours, PORT)).unwrap();
    linux.set_read_timeout(Some(WAIT)).unwrap();
    linux.set_write_timeout(Some(WAIT)).unwrap();
    let mut linux_reader = linux.try_clone().unwrap();
    let linux_writer = thread::spawn(move || -> io::Result<()> {
        Pattern::new(1).write_blocking(&mut linux, bulk)?;
        linux.shutdown(Shutdown::Write)
    });
    let linux_reader =
        thread::spawn(move || Pattern::new(2).read_and_check_blocking(&mut linux_reader));
    let received = net
        .block_on_within(TRANSFER, async {
            let (mut conn, _) = timeout(WAIT, listener.accept()).await??;
            let (to_linux, from_linux) = (Pattern::new(2), Pattern::new(1));
            let (mut read, mut write) = conn.split();
            let send = async {
                match calls {
                    Calls::Copied => to_linux.write_to(&mut write, bulk).await?,
                    Calls::Shared => {
                        for chunk in to_linux.shared_chunks(bulk) {
                            write.write_chunk(chunk).await?;
                        }
                    }
                }
                tokio::io::AsyncWriteExt::shutdown(&mut write).await
            };
            let receive = async {
                match calls {
                    Calls::Copied => from_linux.read_and_check(&mut read).await,
                    Calls::Shared => {
                        let mut received = 0;
                        while let Some(chunk) = read.read_chunk(1 << 20).await? {
                            from_linux.check(received, &chunk)?;
                            received += chunk.len() as u64;
                        }
                        Ok(received)
                    }
                }
            };
            let (_, received) = tokio::try_join!(send, receive)?;
            io::Result::Ok(received)
        })
        .unwrap()
        .unwrap();
    linux_writer.join().unwrap().unwrap();
    let linux_received = linux_reader.join().unwrap().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        (received, linux_received),
        (bulk, bulk),
        "every byte, in order, once, each way"
    );
    let mut net = net;
    if let Err(busy) = net.wait_for_tcp_closes(WAIT) {
        panic!("connections still not closed: {busy:#?}");
    }
    net.stop();
    let path = net.capture_path();
    if lossy {
        tshark_tcp_check_lossy_but_corrupted(path);
    } else {
        let conversations = tshark_tcp_check(path);
        assert_eq!(conversations.len(), 1, "{conversations:#?}");
    }
    // A super-packet: more than the MTU's 1,500 bytes of IP (frame.len counts Ethernet too).
    // Wireshark's direction: 1 received (from the kernel), 0 sent (by us).
    // One pass, one small field per frame: the capture holds 200 MiB of payload, which
    // tshark's default fields would print as hex.
    let big = tshark_filter_fields(path, "frame.len > 1514", &["frame.p2p_dir"]).unwrap();
    let count = |direction: u64| {
        big.iter()
            .filter(|frame| frame.num("frame.p2p_dir") == Some(direction))
            .count()
    };
    let exchange = Exchange {
        elapsed,
        super_packets: (count(1), count(0)),
    };
    (exchange, net)
}

/// tshark's checks of a lossy capture, except that a segment the impairments corrupted on its
/// way out has, by design, a bad checksum in the capture (beneath them): every frame tshark
/// flags must be one of those, which say so in their comment.
fn tshark_tcp_check_lossy_but_corrupted(path: &std::path::Path) {
    let flipped = "frame.comment contains \"flipped\"";
    let corrupted: Vec<u64> = tshark_filter_fields(path, flipped, &["frame.number"])
        .unwrap()
        .iter()
        .map(|frame| frame.number())
        .collect();
    let flagged = tshark_tcp_findings(path).unwrap();
    let unexplained: Vec<_> = flagged
        .iter()
        .filter(|frame| !corrupted.contains(&frame.number()))
        .collect();
    assert!(unexplained.is_empty(), "{unexplained:#?}");
    if corrupted.is_empty() {
        tshark_tcp_check_lossy(path);
    }
}

/// Prints what an exchange showed.
fn report(what: &str, bulk: u64, exchange: &Exchange) {
    let rate = 2.0 * bulk as f64 * 8.0 / exchange.elapsed.as_secs_f64() / 1e9;
    let (from_kernel, from_us) = exchange.super_packets;
    eprintln!(
        "{what}: {} MiB each way in {:.2} s ({rate:.2} Gbit/s both ways together); \
         super-packets in the capture: {from_kernel} from the kernel, {from_us} from us",
        bulk >> 20,
        exchange.elapsed.as_secs_f64()
    );
}

/// Prints and checks what every clean exchange must show: super-packets each way.
fn check(what: &str, bulk: u64, exchange: &Exchange) {
    report(what, bulk, exchange);
    let (from_kernel, from_us) = exchange.super_packets;
    assert!(from_kernel > 0, "the kernel sent no super-packet: no GSO");
    assert!(from_us > 0, "we sent no super-packet: no TSO");
}

/// 100 MiB each way over a TUN device with offloads, IPv4.
#[test]
fn linux_and_our_stack_exchange_100_mib_each_way_with_offloads() {
    if !tun_tests_can_run() {
        return;
    }
    let bulk = 100 << 20;
    let net = TunNet::start_offload("offload-v4", config(false, 1), Medium::Ip, None).unwrap();
    let (exchange, _net) = exchange(net, false, bulk, false, Calls::Copied);
    check("TUN, IPv4, offloads", bulk, &exchange);
}

/// IPv6 over a TUN device with offloads: TSO6 and the kernel's IPv6 super-packets. Our side
/// writes with `write_chunk` (its super-packets carry the pattern's own memory) and reads with
/// `read_chunk`.
#[test]
fn linux_and_our_stack_exchange_data_over_ipv6_with_offloads() {
    if !tun_tests_can_run() {
        return;
    }
    let bulk = 32 << 20;
    let net = TunNet::start_offload("offload-v6", config(true, 2), Medium::Ip, None).unwrap();
    let (exchange, _net) = exchange(net, true, bulk, false, Calls::Shared);
    check(
        "TUN, IPv6, offloads, chunk writes and reads",
        bulk,
        &exchange,
    );
}

/// BIG TCP ([`TunDevice::with_big_tcp`](tunstack::device::TunDevice::with_big_tcp)): our IPv4
/// super-packets grow past 64 KiB with a Total Length of 0, and the kernel (6.3 on) takes
/// them: every byte arrives, its IP layer counts no bad or truncated header, and tshark reads
/// the frames (Total Length 0 "presumed to be because of TSO") without a complaint.
#[test]
fn linux_takes_our_big_tcp_super_packets_past_64_kib() {
    big_tcp_exchange("offload-big", Medium::Ip, 100 << 20);
}

/// The same over a TAP device: our Ethernet layer frames the long packets too.
#[test]
fn linux_takes_our_big_tcp_super_packets_past_64_kib_over_tap() {
    big_tcp_exchange("offload-big-tap", Medium::Ethernet, 32 << 20);
}

/// `bulk` bytes each way with BIG TCP over a TUN or TAP device (`medium`), as
/// [`linux_takes_our_big_tcp_super_packets_past_64_kib`] checks them.
fn big_tcp_exchange(label: &str, medium: Medium, bulk: u64) {
    if !tun_tests_can_run() {
        return;
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut version = release.split(|c: char| !c.is_ascii_digit());
    let major: u32 = version.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let minor: u32 = version.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    if (major, minor) < (6, 3) {
        eprintln!(
            "skipped: Linux {} reads no BIG TCP packet (6.3 on)",
            release.trim()
        );
        return;
    }
    let mut config = config(false, 5);
    if medium == Medium::Ethernet {
        config.gateway = Some(KERNEL);
    }
    let net = TunNet::start_big_tcp(label, config, medium, None).unwrap();
    let before = Nstat::read(net.ns()).unwrap();
    let (exchange, net) = exchange(net, false, bulk, false, Calls::Copied);
    check(
        &format!("{medium:?}, IPv4, offloads, BIG TCP"),
        bulk,
        &exchange,
    );
    let kernel = Nstat::read(net.ns()).unwrap().since(&before);
    for counter in ["IpInHdrErrors", "IpExtInTruncatedPkts", "IpInDiscards"] {
        assert_eq!(kernel.get(counter), 0, "{counter}");
    }
    let path = net.capture_path();
    let fields = ["frame.p2p_dir", "ip.len"];
    let big = tshark_filter_fields(path, "frame.len > 65535", &fields).unwrap();
    assert!(!big.is_empty(), "no BIG TCP super-packet");
    for frame in &big {
        assert_eq!(frame.num("frame.p2p_dir"), Some(0), "only ours: {frame:?}");
        // The packet says 0; tshark takes the frame's length, as it does for TSO captures.
        let len = frame.num("ip.len").unwrap_or(0);
        assert!(len > 65_535, "read as its whole length: {frame:?}");
    }
    eprintln!("{} BIG TCP super-packets, longer than 64 KiB", big.len());
}

/// A TAP device with offloads: the virtio-net header's offsets count the Ethernet header.
#[test]
fn linux_and_our_stack_exchange_data_over_tap_with_offloads() {
    if !tun_tests_can_run() {
        return;
    }
    let bulk = 32 << 20;
    let mut config = config(false, 3);
    config.gateway = Some(KERNEL);
    let net = TunNet::start_offload("offload-tap", config, Medium::Ethernet, None).unwrap();
    let (exchange, _net) = exchange(net, false, bulk, false, Calls::Copied);
    check("TAP, IPv4, offloads", bulk, &exchange);
}

/// Offloads under loss, duplication, reordering and corruption both ways: the data still
/// arrives whole, and every corrupted packet is caught by a checksum. Our side writes with
/// `write_chunk` (what it resends comes from the shared memory, which no corruption touches)
/// and reads with `read_chunk`.
#[test]
fn offloaded_super_packets_are_impaired_whole_and_corruption_is_still_caught() {
    if !tun_tests_can_run() {
        return;
    }
    impaired_exchange("offload-impaired", 16 << 20, false);
}

/// The same with BIG TCP on: our bursts, past 64 KiB when the windows let them grow, are cut
/// into segments by the impairment wrapper as the kernel would cut them.
#[test]
fn big_tcp_super_packets_are_impaired_whole_and_corruption_is_still_caught() {
    if !tun_tests_can_run() {
        return;
    }
    impaired_exchange("offload-big-impaired", 8 << 20, true);
}

/// Exchanges `bulk` bytes each way under loss, duplication, reordering and corruption, over a
/// device with offloads (and BIG TCP when `big_tcp`), and checks that every corrupted packet
/// was caught.
fn impaired_exchange(label: &str, bulk: u64, big_tcp: bool) {
    let impairments = Impairments {
        loss: 0.01,
        duplicate: 0.01,
        corrupt: 0.02,
        reorder: 0.01,
        ..Impairments::default()
    };
    let impair = ImpairConfig::both_ways(impairments).with_seed(7);
    let start = match big_tcp {
        true => TunNet::start_big_tcp,
        false => TunNet::start_offload,
    };
    let net = start(label, config(false, 4), Medium::Ip, Some(impair)).unwrap();
    let before = Nstat::read(net.ns()).unwrap();
    let kernel = |net: &TunNet| Nstat::read(net.ns()).unwrap().since(&before);
    let stack = net.stack().clone();
    let (exchange, net) = exchange(net, false, bulk, true, Calls::Shared);
    let impaired = net.impair_stats().unwrap();
    let ours = stack.stats();
    let kernel = kernel(&net);
    eprintln!(
        "{impaired}\nour TCP dropped for bad checksums: {}\nthe kernel's TcpInCsumErrors: {}",
        ours.tcp.dropped.get(DropReason::BadChecksum),
        kernel.get("TcpInCsumErrors")
    );
    report("TUN, IPv4, offloads, impaired both ways", bulk, &exchange);
    // The kernel's super-packets cross the device whole; ours are cut into segments above
    // the capture, since this link corrupts what we send.
    assert!(
        exchange.super_packets.0 > 0,
        "the kernel sent no super-packet"
    );
    assert_eq!(
        exchange.super_packets.1, 0,
        "ours are cut before they cross"
    );
    assert!(impaired.inbound.corrupted > 0 && impaired.outbound.corrupted > 0);
    assert!(impaired.inbound.dropped_loss > 0 && impaired.outbound.dropped_loss > 0);
    // A flipped bit in a kernel's super-packet: the device's word on its checksum is void,
    // and our TCP verifies it (the bit may also land in the IP header, and IP drops it).
    let caught_by_us = ours.tcp.dropped.get(DropReason::BadChecksum)
        + ours.ip.dropped.get(DropReason::BadChecksum);
    assert!(caught_by_us > 0, "{ours}");
    // A flipped bit in one of our segments, cut from a super-packet under a whole checksum:
    // the kernel verifies it.
    let caught_by_linux = kernel.get("TcpInCsumErrors") + kernel.get("IpInHdrErrors");
    assert!(caught_by_linux > 0, "{}", kernel.show(&["TcpInCsumErrors"]));
}
