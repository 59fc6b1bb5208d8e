//! Path MTU discovery against the Linux kernel as a router, for either IP version
//! (`tests/tests/linux_pmtu.rs`).
//!
//! Our stack is on `tun0` (MTU 1500) in a namespace whose kernel forwards to a second
//! namespace over a veth pair. The near end's MTU is narrower (1000 bytes for IPv4, 1280 for
//! IPv6, its minimum); the far end takes 1500, so the Linux server there offers a full MSS and
//! the narrow hop is the router's way out, which only the router knows of. Our first
//! full-size segments do not fit: the kernel drops them and answers ICMP "fragmentation
//! needed" or ICMPv6 "packet too big" with the hop's MTU. Our stack must believe it (the
//! quoted segment is in flight), send again at once in packets that fit, and deliver 1 MiB
//! intact.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::device::netns::NetNs;
use tunstack::TcpStream;

use crate::{tshark_filter_fields, tshark_findings, TunNet};

/// One version's set-up and the fields its capture is read by.
#[derive(Debug, Clone, Copy)]
pub struct Path6Or4 {
    /// The narrow hop's MTU.
    pub mtu: usize,
    /// The far server's address.
    pub far: &'static str,
    /// `ip` commands for the near namespace (its end's address).
    pub near_setup: &'static [&'static str],
    /// The same, in the far namespace.
    pub far_setup: &'static [&'static str],
    /// The sysctl that makes the near namespace a router.
    pub forwarding: &'static str,
    /// The display filter of the version.
    pub filter: &'static str,
    /// Source and length fields.
    pub fields: (&'static str, &'static str),
    /// Bytes the length field does not count (IPv6's Payload Length leaves out its 40).
    pub length_offset: u64,
    /// The error's type field and value, and its MTU field.
    pub error: (&'static str, &'static str, &'static str),
    /// What tshark's Info column says of the error (its findings about it are tolerated).
    pub error_info: &'static str,
    /// Our address, as tshark writes it.
    pub us: &'static str,
}

/// Runs `program` with `args` inside `ns`, failing the test if it fails.
fn run(ns: &NetNs, program: &str, args: &str) {
    let status = ns
        .exec(program, &args.split(' ').collect::<Vec<_>>())
        .status()
        .expect("the command runs");
    assert!(status.success(), "{program} {args} in {}", ns.name());
}

/// The far namespace, joined to `near` by a veth pair and routed through it.
fn far_side(near: &NetNs, path: &Path6Or4) -> NetNs {
    let far = NetNs::create("tunstack-pmtufar").expect("a namespace");
    run(near, "sysctl", &format!("-qw {}", path.forwarding));
    run(near, "ip", "link add vnear type veth peer name vfar");
    run(near, "ip", &format!("link set vfar netns {}", far.name()));
    for command in path.near_setup {
        run(near, "ip", command);
    }
    run(near, "ip", &format!("link set vnear mtu {} up", path.mtu));
    run(&far, "ip", "link set vfar mtu 1500 up");
    run(&far, "ip", "link set lo up");
    // Addresses and routes once the link is up (a route needs its link up).
    for command in path.far_setup {
        run(&far, "ip", command);
    }
    far
}

/// A Linux server in `far`: reads everything, answers with the count and the byte sum.
fn count_and_sum_server(far: &NetNs, addr: SocketAddr) -> std::thread::JoinHandle<()> {
    let listener = far
        .run(|| std::net::TcpListener::bind(addr))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("a connection");
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (mut total, mut sum) = (0usize, 0u64);
        loop {
            let n = crate::read(&mut conn, &mut buf).expect("read");
            if n == 0 {
                break;
            }
            sum += buf[..n].iter().map(|b| u64::from(*b)).sum::<u64>();
            total += n;
        }
        conn.write_all(format!("{total} {sum}").as_bytes()).unwrap();
    })
}

/// Sends 1 MiB from our stack through the narrow hop and checks it all arrived; then reads
/// the capture as described in the module's documentation.
pub fn through_a_narrow_hop(net: &mut TunNet, path: Path6Or4) {
    const BYTES: usize = 1024 * 1024;
    let far = far_side(net.ns(), &path);
    let to = SocketAddr::new(path.far.parse::<IpAddr>().unwrap(), 9000);
    let server = count_and_sum_server(&far, to);
    let data: Vec<u8> = (0..BYTES).map(|i| (i * 31 % 251) as u8).collect();
    let want_sum: u64 = data.iter().map(|b| u64::from(*b)).sum();
    let answer = net
        .block_on(async {
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
    check_capture(net.capture_path(), &path);
}

/// The capture: the router's reports, our full-size packets before, and only packets that fit
/// after, one of them saying why.
fn check_capture(capture: &Path, path: &Path6Or4) {
    // tshark cannot verify the checksum of the segment an error quotes (the quote is cut
    // short), and flags the router's errors for it; nothing of ours may be flagged.
    let flagged = tshark_findings(capture).unwrap();
    let ours_flagged: Vec<_> = flagged
        .iter()
        .filter(|f| {
            !f.get("_ws.col.Info")
                .unwrap_or("")
                .contains(path.error_info)
        })
        .collect();
    assert!(ours_flagged.is_empty(), "{ours_flagged:#?}");
    let (src, len) = path.fields;
    let (kind, too_big, mtu) = path.error;
    let fields = [src, len, kind, mtu, "frame.comment"];
    let frames = tshark_filter_fields(capture, path.filter, &fields).unwrap();
    let reports: Vec<_> = frames
        .iter()
        .filter(|f| f.get(kind) == Some(too_big))
        .collect();
    assert!(!reports.is_empty(), "the kernel said the packet is too big");
    let mtu_text = path.mtu.to_string();
    assert!(
        reports.iter().all(|f| f.get(mtu) == Some(&mtu_text)),
        "{reports:#?}"
    );
    let ours = |f: &&crate::Frame| f.get(src) == Some(path.us);
    let length = |f: &crate::Frame| f.num(len).map(|n| n + path.length_offset);
    let before: Vec<u64> = frames
        .iter()
        .take_while(|f| f.get(kind) != Some(too_big))
        .filter(ours)
        .filter_map(length)
        .collect();
    assert!(
        before.contains(&1500),
        "full-size packets first: {before:?}"
    );
    let after: Vec<u64> = frames
        .iter()
        .skip_while(|f| f.get(kind) != Some(too_big))
        .filter(ours)
        .filter_map(length)
        .collect();
    assert!(after.len() > 500, "1 MiB went after the report");
    let larger: Vec<_> = after.iter().filter(|l| **l > path.mtu as u64).collect();
    assert!(larger.is_empty(), "every packet after fits: {larger:?}");
    let why = format!("path MTU is {}", path.mtu);
    assert!(
        frames
            .iter()
            .any(|f| f.get("frame.comment").is_some_and(|c| c.contains(&why))),
        "the resent segment says why"
    );
    // Bounded reports: we shrink after the first one.
    assert!(reports.len() < 20, "{} reports", reports.len());
    eprintln!(
        "{} reports, {} of our packets before, {} after",
        reports.len(),
        before.len(),
        after.len()
    );
}
