//! Path MTU discovery for IPv6 against the Linux kernel as a router (RFC 8201).
//!
//! Our stack is fd77::2 on `tun0` (MTU 1500); the kernel's namespace forwards IPv6 to a second
//! namespace over a veth pair whose near end's MTU is 1280 (IPv6's minimum, RFC 8200 section
//! 5), where a Linux TCP server listens on fd88::2. Our first full-size segments (1500-byte
//! packets: routers never fragment IPv6) do not fit the veth link: the kernel drops them and
//! answers ICMPv6 Packet Too Big, MTU 1280 (RFC 4443 section 3.2). Our stack must believe it
//! (the quoted segment is in flight), send again at once in packets of at most 1280 bytes, and
//! deliver 1 MiB intact.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them the test
//! prints `skipped: <why>` and passes, except under CI, which must run it.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::device::netns::NetNs;
use tunstack::TcpStream;
use tunstack_tests::{tshark_filter_fields, tshark_findings, tun_tests_can_run, TunNet};

const FAR: &str = "fd88::2";
const BYTES: usize = 1024 * 1024;

/// Packet Too Big's ICMPv6 type (RFC 4443 section 3.2).
const PACKET_TOO_BIG: &str = "2";

/// Runs `program` with `args` inside `ns`, failing the test if it fails.
fn run(ns: &NetNs, program: &str, args: &str) {
    let status = ns
        .exec(program, &args.split(' ').collect::<Vec<_>>())
        .status()
        .expect("the command runs");
    assert!(status.success(), "{program} {args} in {}", ns.name());
}

/// The far namespace, joined to `near` by a veth pair whose near end's MTU is 1280, routed
/// through it. The addresses are added with `nodad`: usable at once, without the second of
/// duplicate address detection.
fn far_side(near: &NetNs) -> NetNs {
    let far = NetNs::create("tunstack-pmtu6far").expect("a namespace");
    // A router: it forwards between tun0 and the veth link (this namespace only).
    run(near, "sysctl", "-qw net.ipv6.conf.all.forwarding=1");
    run(near, "ip", "link add vnear type veth peer name vfar");
    run(near, "ip", &format!("link set vfar netns {}", far.name()));
    run(near, "ip", "-6 addr add fd88::1/64 dev vnear nodad");
    run(near, "ip", "link set vnear mtu 1280 up");
    run(&far, "ip", "-6 addr add fd88::2/64 dev vfar nodad");
    // The far end takes 1500 bytes, so the server offers MSS 1440 and the narrow hop is the
    // router's way out, which only the router knows of.
    run(&far, "ip", "link set vfar mtu 1500 up");
    run(&far, "ip", "link set lo up");
    run(&far, "ip", "-6 route add default via fd88::1");
    far
}

#[test]
fn packet_too_big_from_a_linux_router_shrinks_our_segments() {
    if !tun_tests_can_run() {
        return;
    }
    let mut net = TunNet::start_dual("pmtu6").unwrap();
    let far = far_side(net.ns());
    // A Linux server in the far namespace: reads everything, answers with the count.
    let listener = far
        .run(|| std::net::TcpListener::bind((FAR, 9000)))
        .unwrap()
        .unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("a connection");
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (mut total, mut sum) = (0usize, 0u64);
        loop {
            let n = conn.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            sum += buf[..n].iter().map(|b| u64::from(*b)).sum::<u64>();
            total += n;
        }
        conn.write_all(format!("{total} {sum}").as_bytes()).unwrap();
    });
    let data: Vec<u8> = (0..BYTES).map(|i| (i * 31 % 251) as u8).collect();
    let want_sum: u64 = data.iter().map(|b| u64::from(*b)).sum();
    let answer = net
        .block_on(async {
            let to: SocketAddr = format!("[{FAR}]:9000").parse().unwrap();
            let mut stream = TcpStream::connect(net.stack(), to).await?;
            stream.write_all(&data).await?;
            stream.shutdown().await?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await?;
            Ok::<_, std::io::Error>(answer)
        })
        .unwrap()
        .unwrap();
    server.join().unwrap();
    assert_eq!(answer, format!("{BYTES} {want_sum}"));
    net.stop();
    // tshark cannot verify the checksum of the segment a Packet Too Big quotes (the quote is
    // cut short at 1280 bytes), and may flag the kernel's errors for it; nothing of ours may
    // be flagged.
    let flagged = tshark_findings(net.capture_path()).unwrap();
    let ours_flagged: Vec<_> = flagged
        .iter()
        .filter(|f| {
            !f.get("_ws.col.Info")
                .unwrap_or("")
                .contains("Packet Too Big")
        })
        .collect();
    assert!(ours_flagged.is_empty(), "{ours_flagged:#?}");
    let fields = [
        "ipv6.src",
        "ipv6.plen",
        "icmpv6.type",
        "icmpv6.code",
        "icmpv6.mtu",
        "frame.comment",
    ];
    let frames = tshark_filter_fields(net.capture_path(), "ipv6", &fields).unwrap();
    let too_big: Vec<_> = frames
        .iter()
        .filter(|f| f.get("icmpv6.type") == Some(PACKET_TOO_BIG))
        .collect();
    assert!(!too_big.is_empty(), "the kernel said packet too big");
    assert!(
        too_big.iter().all(|f| f.get("icmpv6.mtu") == Some("1280")),
        "{too_big:#?}"
    );
    let ours_before: Vec<u64> = frames
        .iter()
        .take_while(|f| f.get("icmpv6.type") != Some(PACKET_TOO_BIG))
        .filter(|f| f.get("ipv6.src") == Some("fd77::2"))
        .filter_map(|f| f.num("ipv6.plen"))
        .map(|plen| plen + 40)
        .collect();
    assert!(
        ours_before.contains(&1500),
        "full-size packets first: {ours_before:?}"
    );
    let ours_after: Vec<u64> = frames
        .iter()
        .skip_while(|f| f.get("icmpv6.type") != Some(PACKET_TOO_BIG))
        .filter(|f| f.get("ipv6.src") == Some("fd77::2"))
        .filter_map(|f| f.num("ipv6.plen"))
        .map(|plen| plen + 40)
        .collect();
    assert!(ours_after.len() > 500, "1 MiB went after the report");
    let larger: Vec<_> = ours_after.iter().filter(|len| **len > 1280).collect();
    assert!(larger.is_empty(), "every packet after fits: {larger:?}");
    assert!(
        frames.iter().any(|f| f
            .get("frame.comment")
            .is_some_and(|c| c.contains("path MTU is 1280"))),
        "the resent segment says why"
    );
    // Bounded reports: we shrink after the first one.
    assert!(too_big.len() < 20, "{} reports", too_big.len());
    eprintln!(
        "{} Packet Too Big, {} of our packets before, {} after",
        too_big.len(),
        ours_before.len(),
        ours_after.len()
    );
}
