//! Path MTU discovery against the Linux kernel as a router (RFC 1191).
//!
//! Our stack is 10.77.0.2 on `tun0` (MTU 1500); the kernel's namespace forwards to a second
//! namespace over a veth pair whose MTU is 1000, where a Linux TCP server listens on
//! 10.88.0.2. Our first full-size segments (1500 bytes, Don't Fragment set) do not fit the
//! veth link: the kernel drops them and answers ICMP "fragmentation needed, next hop MTU
//! 1000". Our stack must believe it (the quoted segment is in flight), send again at once in
//! 1000-byte packets, and deliver 1 MiB intact.
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

const FAR: &str = "10.88.0.2";
const BYTES: usize = 1024 * 1024;

/// Runs `ip` with `args` inside `ns`, failing the test if it fails.
fn ip(ns: &NetNs, args: &str) {
    let status = ns
        .exec("ip", &args.split(' ').collect::<Vec<_>>())
        .status()
        .expect("ip runs");
    assert!(status.success(), "ip {args} in {}", ns.name());
}

/// The far namespace, joined to `near` by a veth pair whose near end's MTU is 1000, routed
/// through it.
fn far_side(near: &NetNs) -> NetNs {
    let far = NetNs::create("tunstack-pmtufar").expect("a namespace");
    ip(near, "link add vnear type veth peer name vfar");
    ip(near, &format!("link set vfar netns {}", far.name()));
    ip(near, "addr add 10.88.0.1/24 dev vnear");
    ip(near, "link set vnear mtu 1000 up");
    ip(&far, "addr add 10.88.0.2/24 dev vfar");
    // The far end takes 1500 bytes, so the server offers MSS 1460 and the narrow hop is the
    // router's way out, which only the router knows of.
    ip(&far, "link set vfar mtu 1500 up");
    ip(&far, "link set lo up");
    ip(&far, "route add default via 10.88.0.1");
    let forward = near
        .exec("sysctl", &["-qw", "net.ipv4.ip_forward=1"])
        .status()
        .expect("sysctl runs");
    assert!(forward.success());
    far
}

#[test]
fn fragmentation_needed_from_a_linux_router_shrinks_our_segments() {
    if !tun_tests_can_run() {
        return;
    }
    let mut net = TunNet::start("pmtu").unwrap();
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
            let to: SocketAddr = format!("{FAR}:9000").parse().unwrap();
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
    // tshark cannot verify the checksum of the segment an ICMP error quotes (the quote is
    // cut short), and flags the kernel's errors for it; nothing of ours may be flagged.
    let flagged = tshark_findings(net.capture_path()).unwrap();
    let ours_flagged: Vec<_> = flagged
        .iter()
        .filter(|f| {
            !f.get("_ws.col.Info")
                .unwrap_or("")
                .contains("Fragmentation needed")
        })
        .collect();
    assert!(ours_flagged.is_empty(), "{ours_flagged:#?}");
    let fields = [
        "ip.src",
        "ip.len",
        "icmp.type",
        "icmp.code",
        "icmp.mtu",
        "frame.comment",
    ];
    let frames = tshark_filter_fields(net.capture_path(), "ip", &fields).unwrap();
    let too_big: Vec<_> = frames
        .iter()
        .filter(|f| f.get("icmp.type") == Some("3") && f.get("icmp.code") == Some("4"))
        .collect();
    assert!(!too_big.is_empty(), "the kernel said fragmentation needed");
    assert!(too_big.iter().all(|f| f.get("icmp.mtu") == Some("1000")));
    let ours_after: Vec<usize> = frames
        .iter()
        .skip_while(|f| f.get("icmp.type") != Some("3"))
        .filter(|f| f.get("ip.src") == Some("10.77.0.2"))
        .filter_map(|f| f.num("ip.len"))
        .map(|len| len as usize)
        .collect();
    assert!(ours_after.len() > 500, "1 MiB went after the report");
    assert!(
        ours_after.iter().all(|len| *len <= 1000),
        "every segment after fits"
    );
    assert!(
        frames.iter().any(|f| f
            .get("frame.comment")
            .is_some_and(|c| c.contains("path MTU is 1000"))),
        "the resent segment says why"
    );
    // Bounded reports: the kernel rate-limits, and we shrink after the first one.
    assert!(too_big.len() < 20, "{} reports", too_big.len());
}
