//! IPv6 against the Linux kernel over a TAP device: neighbour discovery (RFC 4861), then ping
//! and TCP over Ethernet.
//!
//! Each test gets a network namespace of its own ([`TunNet::start_tap_dual`]): the kernel's
//! `tap0` at 10.77.0.1 and fd77::1, our stack at 10.77.0.2 and fd77::2 with its own MAC
//! address, and a capture of every frame, which tshark must find clean. Our IPv6 addresses are
//! usable once duplicate address detection has passed, a second after start: each test waits
//! for it ([`TunNet::wait_for_dad`]) before the first IPv6 packet.
//!
//! The kernel also speaks on the link by itself, whatever the test does: detection for its own
//! link-local address and MLDv2 reports for the groups it joins. The tests count the frames
//! of the traffic they check, by ICMPv6 type, and leave those be.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::thread;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::link::neighbour::NeighbourState;
use tunstack::{TcpListener, TcpStream};
use tunstack_tests::{
    linux_ping, output_within, tshark_check_fields, tshark_tcp_check, tun_tests_can_run, Direction,
    Pattern, TunNet, KERNEL6, STACK6,
};

/// How long duplicate address detection may take: a second, on a loaded machine more.
const DAD_LIMIT: Duration = Duration::from_secs(5);

/// ICMPv6 types (RFC 4443 section 2.1, RFC 4861 section 4, RFC 3810 section 5.2).
const ECHO_REQUEST: u64 = 128;
const ECHO_REPLY: u64 = 129;
const NEIGHBOR_SOLICITATION: u64 = 135;
const NEIGHBOR_ADVERTISEMENT: u64 = 136;
const MLDV2_REPORT: u64 = 143;

/// The fields these tests read.
const FIELDS: &[&str] = &[
    "frame.packet_flags_direction",
    "frame.comment",
    "eth.src",
    "eth.dst",
    "eth.type",
    "ipv6.src",
    "ipv6.dst",
    "icmpv6.type",
    "icmpv6.nd.ns.target_address",
    "icmpv6.nd.na.target_address",
    "icmpv6.nd.na.flag.s",
    "icmpv6.opt.linkaddr",
    "_ws.expert.message",
];

/// A dual-stack TAP TunNet for this test whose IPv6 addresses are usable, or `None` (after
/// printing why) when TUN tests cannot run here.
fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    let net = TunNet::start_tap_dual(label).unwrap();
    // Our link-local address and fd77::2.
    assert_eq!(net.wait_for_dad(DAD_LIMIT).unwrap(), 2);
    Some(net)
}

/// The kernel's MAC address on `tap0`.
fn kernel_mac(net: &TunNet) -> String {
    let output = output_within(
        &mut net.exec("cat", &["/sys/class/net/tap0/address"]),
        Duration::from_secs(5),
    )
    .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// What `ip -6 neigh show <ip> dev tap0` prints in the namespace.
fn ip6_neigh(net: &TunNet, ip: &str) -> String {
    let args = ["-6", "neigh", "show", ip, "dev", "tap0"];
    let output = output_within(&mut net.exec("ip", &args), Duration::from_secs(5)).unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_kernel_finds_us_by_neighbour_discovery_and_ping6_works() {
    let Some(mut net) = start("tap6-ping") else {
        return;
    };
    let out = linux_ping(net.ns(), STACK6, 3, &["-6"]);
    assert!(out.contains("64 bytes from fd77::2: icmp_seq=1"), "{out}");
    let our_mac = net.stack().mac().expect("a MAC address on TAP").to_string();
    let kernel = kernel_mac(&net);

    // The kernel's table: fd77::2 at our MAC, confirmed by our advertisement (REACHABLE), or
    // aged since (STALE, DELAY).
    let neigh = ip6_neigh(&net, "fd77::2");
    assert!(
        neigh.starts_with(&format!("fd77::2 lladdr {our_mac} ")),
        "ip -6 neigh: {neigh}"
    );
    assert!(
        ["REACHABLE", "STALE", "DELAY"]
            .iter()
            .any(|state| neigh.trim_end().ends_with(state)),
        "ip -6 neigh: {neigh}"
    );
    // The kernel's check of its own link-local address got no answer from us: it is not
    // marked a duplicate (we answer only for addresses that are ours).
    let addrs = output_within(
        &mut net.exec("ip", &["-6", "addr", "show", "dev", "tap0"]),
        Duration::from_secs(5),
    )
    .unwrap();
    let addrs = String::from_utf8_lossy(&addrs.stdout);
    assert!(addrs.contains("inet6 fe80::"), "{addrs}");
    assert!(!addrs.contains("dadfailed"), "{addrs}");
    // Ours: fd77::1 at the kernel's MAC, learned from its solicitation (RFC 4861 section
    // 7.2.3), which carried it.
    let ours = net.stack().neighbours();
    let entry = ours
        .iter()
        .find(|n| n.ip == IpAddr::V6(KERNEL6))
        .unwrap_or_else(|| panic!("fd77::1 in our table: {ours:?}"));
    assert_eq!(entry.mac.map(|m| m.to_string()), Some(kernel.clone()));
    assert_ne!(entry.state, NeighbourState::Incomplete);
    net.stop();

    // tshark finds nothing malformed and no bad checksum, ours or the kernel's.
    let frames = tshark_check_fields(net.capture_path(), FIELDS);
    // Wireshark's expert notes: our frame comments, and nothing else.
    for frame in &frames {
        for note in frame.all("_ws.expert.message") {
            assert_eq!(Some(note.as_str()), frame.get("frame.comment"), "{frame:?}");
        }
    }
    let icmpv6 = |t: u64| {
        frames
            .iter()
            .filter(move |f| f.num("icmpv6.type") == Some(t))
            .collect::<Vec<_>>()
    };
    // The pings, three each way, and nothing else from us but neighbour discovery.
    assert_eq!(icmpv6(ECHO_REQUEST).len(), 3);
    let replies = icmpv6(ECHO_REPLY);
    assert_eq!(replies.len(), 3);
    assert!(replies
        .iter()
        .all(|f| f.direction() == Some(Direction::Outbound)
            && f.get("eth.src") == Some(our_mac.as_str())
            && f.get("eth.dst") == Some(kernel.as_str())));
    // The kernel's solicitation for fd77::2, and our advertisement in answer: solicited,
    // from our MAC, with our MAC as its target link-layer address, and a comment saying why.
    let solicitation = frames
        .iter()
        .position(|f| {
            f.num("icmpv6.type") == Some(NEIGHBOR_SOLICITATION)
                && f.direction() == Some(Direction::Inbound)
                && f.get("icmpv6.nd.ns.target_address") == Some("fd77::2")
                && f.get("ipv6.src") != Some("::")
        })
        .unwrap_or_else(|| panic!("the kernel's solicitation for fd77::2: {frames:#?}"));
    let advert = frames
        .iter()
        .position(|f| {
            f.num("icmpv6.type") == Some(NEIGHBOR_ADVERTISEMENT)
                && f.direction() == Some(Direction::Outbound)
                && f.get("icmpv6.nd.na.target_address") == Some("fd77::2")
                && f.num("icmpv6.nd.na.flag.s") == Some(1)
        })
        .unwrap_or_else(|| panic!("our solicited advertisement: {frames:#?}"));
    assert!(solicitation < advert);
    let advert = &frames[advert];
    assert_eq!(advert.get("eth.src"), Some(our_mac.as_str()), "{advert:?}");
    assert_eq!(
        advert.get("icmpv6.opt.linkaddr"),
        Some(our_mac.as_str()),
        "{advert:?}"
    );
    let comment = advert.get("frame.comment").unwrap_or("");
    assert!(
        comment.starts_with("the answer to ") && comment.ends_with(": our MAC address"),
        "{advert:?}"
    );
    // Every frame we sent came from our MAC address; all were IPv6 or ARP.
    for frame in frames
        .iter()
        .filter(|f| f.direction() == Some(Direction::Outbound))
    {
        assert_eq!(frame.get("eth.src"), Some(our_mac.as_str()), "{frame:?}");
        assert!(
            matches!(frame.get("eth.type"), Some("0x86dd" | "0x0806")),
            "{frame:?}"
        );
    }
    // The kernel's own chatter, if any, is its multicast listener reports and its
    // solicitations: none of it is an echo.
    let chatter = frames
        .iter()
        .filter(|f| f.direction() == Some(Direction::Inbound))
        .filter(|f| f.num("icmpv6.type") == Some(MLDV2_REPORT))
        .count();
    eprintln!("the kernel's MLDv2 reports: {chatter}");
}

/// Our TCP echo server on `[::]:7`: each connection in a task of its own, every byte back
/// until the client closes, then we close too.
fn start_tcp_echo(net: &TunNet) {
    let stack = net.stack();
    net.block_on(async {
        let listener = TcpListener::bind(stack, "[::]:7").await.unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _client)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 << 10];
                    while let Ok(n @ 1..) = conn.read(&mut buf).await {
                        if conn.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = conn.shutdown().await;
                });
            }
        });
    })
    .unwrap();
}

/// 4 MiB through our echo at [fd77::2]:7 from a Linux client over Ethernet, byte-exact, and
/// clean for tshark's TCP analysis.
#[test]
fn a_linux_client_gets_4_mib_echoed_over_ipv6_over_tap() {
    const BULK: u64 = 4 << 20;
    let Some(mut net) = start("tap6-echo") else {
        return;
    };
    start_tcp_echo(&net);
    let linux = net
        .linux_tcp_connect(SocketAddr::from((STACK6, 7)))
        .unwrap();
    linux
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let pattern = Pattern::new(6);
    let mut writer = linux.try_clone().unwrap();
    let sent = pattern.clone();
    let write = thread::spawn(move || -> io::Result<()> {
        let mut offset = 0;
        while offset < BULK {
            let chunk = sent.chunk(offset, (BULK - offset).min(64 << 10) as usize);
            writer.write_all(chunk)?;
            offset += chunk.len() as u64;
        }
        writer.shutdown(Shutdown::Write)
    });
    let mut reader = linux;
    let mut buf = vec![0; 64 << 10];
    let mut received = 0;
    loop {
        let n = tunstack_tests::read(&mut reader, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        pattern.check(received, &buf[..n]).unwrap();
        received += n as u64;
    }
    write.join().unwrap().unwrap();
    assert_eq!(received, BULK, "echoed byte-exact");
    net.wait_for_tcp_closes(Duration::from_secs(5)).unwrap();
    net.stop();
    let conversations = tshark_tcp_check(net.capture_path());
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    let conversation = &conversations[0];
    assert_eq!(
        (
            conversation.bytes_from_client,
            conversation.bytes_from_server
        ),
        (BULK, BULK)
    );
}

/// We connect out to a Linux server at [fd77::1]: our stack solicits the kernel's MAC address
/// first (to fd77::1's solicited-node group), and the SYN waits for the answer.
#[test]
fn we_solicit_the_kernel_and_reach_its_server() {
    let Some(mut net) = start("tap6-client") else {
        return;
    };
    let listener = net
        .linux_tcp_listener(SocketAddr::from((KERNEL6, 0)))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || -> io::Result<Vec<u8>> {
        let (mut conn, _) = listener.accept()?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut got = Vec::new();
        conn.read_to_end(&mut got)?;
        conn.write_all(b"thanks")?;
        Ok(got)
    });
    let answer = net
        .block_on(async {
            let mut stream =
                TcpStream::connect(net.stack(), SocketAddr::from((KERNEL6, port))).await?;
            stream.write_all(b"hello over ethernet and ipv6").await?;
            stream.shutdown().await?;
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await?;
            Ok::<_, io::Error>(answer)
        })
        .unwrap()
        .unwrap();
    assert_eq!(answer, b"thanks");
    assert_eq!(
        server.join().unwrap().unwrap(),
        b"hello over ethernet and ipv6"
    );
    net.wait_for_tcp_closes(Duration::from_secs(5)).unwrap();
    net.stop();

    let mut fields = FIELDS.to_vec();
    fields.push("tcp.flags.syn");
    let frames = tshark_check_fields(net.capture_path(), &fields);
    let solicitation = frames
        .iter()
        .position(|f| {
            f.num("icmpv6.type") == Some(NEIGHBOR_SOLICITATION)
                && f.direction() == Some(Direction::Outbound)
                && f.get("icmpv6.nd.ns.target_address") == Some("fd77::1")
        })
        .unwrap_or_else(|| panic!("our solicitation for fd77::1: {frames:#?}"));
    let ns = &frames[solicitation];
    assert_eq!(ns.get("ipv6.dst"), Some("ff02::1:ff00:1"), "{ns:?}");
    assert!(
        ns.get("frame.comment")
            .is_some_and(|c| c.starts_with("who has fd77::1? neighbour solicitation")),
        "{ns:?}"
    );
    let syn = frames
        .iter()
        .position(|f| f.num("tcp.flags.syn") == Some(1))
        .expect("the SYN");
    assert!(solicitation < syn, "the SYN waited for the answer");
}
