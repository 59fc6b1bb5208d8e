//! The demo programs on a TAP device (`--tap`), end to end: each runs as a learner would run it,
//! inside a network namespace made for the test (where it creates its own `tap0`), with Linux's
//! `ping`, `arping`, `ip neigh`, sockets, curl and Chromium on the other side. What crosses the
//! device is Ethernet frames, so the kernel and our stack first find each other with ARP, and
//! the captures (link type Ethernet) must be clean in tshark, ARP included.
//!
//! Needs root and `/dev/net/tun`, and arping (Debian: iputils-arping); without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    assert_ready_then_hint, chromium, complete_connections, course_server, course_tcp_server,
    ephemeral_port, expected_pattern, installed, namespace, start_demo, unprivileged, TempDir,
    EVENT, EXIT,
};
use tunstack::device::netns::NetNs;
use tunstack_tests::{
    linux_ping, linux_tcp_connect, linux_udp, output_within, skip_or_fail, tshark_check_fields,
    wait_for_closes_in_capture, Direction, Frame, TempFile, KERNEL, KERNEL6, STACK, STACK6,
};

mod common;

const UDP_ECHO: &str = env!("CARGO_BIN_EXE_udp-echo");
const UDP_CLIENT: &str = env!("CARGO_BIN_EXE_udp-client");
const TCP_ECHO: &str = env!("CARGO_BIN_EXE_tcp-echo");
const TCP_CLIENT: &str = env!("CARGO_BIN_EXE_tcp-client");
const TCP_RTT: &str = env!("CARGO_BIN_EXE_tcp-rtt");
const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");
const DNS_SERVER: &str = env!("CARGO_BIN_EXE_dns-server");
const HTTP_GET: &str = env!("CARGO_BIN_EXE_http-get");
const DNS_LOOKUP: &str = env!("CARGO_BIN_EXE_dns-lookup");

/// Every demo that makes a device, with its name.
const DEMOS: [(&str, &str); 9] = [
    (UDP_ECHO, "udp-echo"),
    (UDP_CLIENT, "udp-client"),
    (TCP_ECHO, "tcp-echo"),
    (TCP_CLIENT, "tcp-client"),
    (TCP_RTT, "tcp-rtt"),
    (HTTP_SERVER, "http-server"),
    (HTTP_GET, "http-get"),
    (DNS_SERVER, "dns-server"),
    (DNS_LOOKUP, "dns-lookup"),
];

/// Our MAC address by default: `02:00` and the four bytes of 10.77.0.2.
const OUR_MAC: &str = "02:00:0a:4d:00:02";

/// The fields these tests read from the frames of a capture.
const ETH_FIELDS: &[&str] = &[
    "frame.number",
    "frame.packet_flags_direction",
    "frame.encap_type",
    "frame.comment",
    "eth.src",
    "eth.dst",
    "eth.type",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "ip.src",
    "ip.dst",
    "icmp.type",
    "udp.payload",
    "tcp.flags",
];

/// Wiretap's number for Ethernet (`WTAP_ENCAP_ETHERNET`), tshark's `frame.encap_type`.
const ENCAP_ETHERNET: u64 = 1;

/// Whether arping is installed; if not, says what to install (or fails, under CI).
fn arping_installed() -> bool {
    let runs = Command::new("arping").arg("-V").output().is_ok();
    if !runs {
        skip_or_fail("arping is not installed (Debian: apt-get install iputils-arping)");
    }
    runs
}

/// Runs `program args...` inside `ns` and returns its output, failing the test if it does not
/// succeed.
fn run_ok(ns: &NetNs, program: &str, args: &[&str]) -> Output {
    let output = output_within(&mut ns.exec(program, args), Duration::from_secs(20)).unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?} ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// What `ip neigh show dev tap0` prints inside `ns`: the kernel's neighbour table.
fn ip_neigh(ns: &NetNs) -> String {
    let output = run_ok(ns, "ip", &["neigh", "show", "dev", "tap0"]);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The kernel's own MAC address on `tap0` inside `ns`.
fn kernel_mac(ns: &NetNs) -> String {
    let output = run_ok(ns, "cat", &["/sys/class/net/tap0/address"]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `arping -c COUNT -I tap0 10.77.0.2` inside `ns`; checks that every request got a reply from
/// `mac` (arping prints it in capitals).
fn arping(ns: &NetNs, count: u32, mac: &str) {
    let count = count.to_string();
    let target = STACK.to_string();
    let args = ["-c", &count, "-w", "10", "-I", "tap0", &target];
    let output = run_ok(ns, "arping", &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("reply from 10.77.0.2 [{}]", mac.to_uppercase())),
        "arping: {stdout}"
    );
    assert!(
        stdout.contains(&format!("Received {count} response(s)")),
        "arping: {stdout}"
    );
}

/// Checks the capture with tshark (clean: nothing malformed, no bad checksum) and that its link
/// type is Ethernet, every frame dissected as one; returns the frames with [`ETH_FIELDS`].
fn ethernet_frames(capture: &Path) -> Vec<Frame> {
    let frames = tshark_check_fields(capture, ETH_FIELDS);
    assert!(!frames.is_empty(), "an empty capture");
    for frame in &frames {
        assert_eq!(
            frame.num("frame.encap_type"),
            Some(ENCAP_ETHERNET),
            "{frame:?}"
        );
        assert!(frame.get("eth.type").is_some(), "{frame:?}");
    }
    frames
}

/// The index of the first frame that is our ARP request for `ip`, with its comment; checks the
/// request is ours, broadcast, and says why it was sent.
fn our_arp_request(frames: &[Frame], ip: Ipv4Addr) -> usize {
    let ip = ip.to_string();
    let at = frames
        .iter()
        .position(|f| {
            f.num("arp.opcode") == Some(1)
                && f.get("arp.dst.proto_ipv4") == Some(ip.as_str())
                && f.direction() == Some(Direction::Outbound)
        })
        .unwrap_or_else(|| panic!("our ARP request for {ip}: {frames:#?}"));
    let request = &frames[at];
    assert_eq!(
        request.get("eth.dst"),
        Some("ff:ff:ff:ff:ff:ff"),
        "{request:?}"
    );
    let comment = format!("who has {ip}? the next hop's MAC is unknown");
    assert!(
        request
            .get("frame.comment")
            .is_some_and(|c| c.starts_with(&comment)),
        "{request:?}"
    );
    at
}

/// The index of the first frame that carries IPv4.
fn first_ip_frame(frames: &[Frame]) -> usize {
    frames
        .iter()
        .position(|f| f.get("ip.src").is_some())
        .unwrap_or_else(|| panic!("no IP packet: {frames:#?}"))
}

/// The kernel's MAC address as its ARP reply to us gave it.
fn kernel_mac_in(frames: &[Frame]) -> String {
    frames
        .iter()
        .find(|f| f.num("arp.opcode") == Some(2) && f.direction() == Some(Direction::Inbound))
        .and_then(|f| f.get("arp.src.hw_mac"))
        .unwrap_or_else(|| panic!("the kernel's ARP reply: {frames:#?}"))
        .to_owned()
}

/// `len` bytes that repeat only every 251 bytes, so that a lost, doubled or moved segment shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

/// Sends `data` to the echo server at 10.77.0.2:7 from a Linux socket in `ns`, while reading
/// the echo on another thread, and returns what came back.
fn echo_through(ns: &NetNs, data: &[u8]) -> Vec<u8> {
    let mut linux = linux_tcp_connect(ns, (STACK, 7)).unwrap();
    // 10 MiB through a debug build on a shared machine: generous, so only a stall fails.
    linux.set_read_timeout(Some(EVENT)).unwrap();
    linux.set_write_timeout(Some(EVENT)).unwrap();
    let mut reader = linux.try_clone().unwrap();
    let echo = std::thread::spawn(move || {
        let mut back = Vec::new();
        reader.read_to_end(&mut back).map(|_| back)
    });
    linux.write_all(data).unwrap();
    linux.shutdown(Shutdown::Write).unwrap();
    echo.join().unwrap().unwrap()
}

#[test]
fn tcp_echo_on_tap_answers_ping_arping_and_echoes_ten_mib() {
    let Some(ns) = namespace("tap-echo") else {
        return;
    };
    if !arping_installed() {
        return;
    }
    let capture = TempFile::new("demo-tap-echo");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, TCP_ECHO, &["--tap", "--capture", path]);

    // The kernel asks for our MAC address before its first echo request, and keeps it.
    linux_ping(&ns, STACK, 2, &[]);
    let neigh = ip_neigh(&ns);
    assert!(
        neigh.contains(&format!("10.77.0.2 lladdr {OUR_MAC} ")),
        "ip neigh: {neigh}"
    );
    arping(&ns, 2, OUR_MAC);

    const LEN: usize = 10 << 20;
    let sent = pattern(LEN);
    let echoed = echo_through(&ns, &sent);
    assert_eq!(echoed.len(), LEN);
    assert!(echoed == sent, "10 MiB come back byte-exact");

    // nc, as the demo's "try:" line says; -N sends our FIN once its input ends.
    let nc = "printf 'hello over ethernet\\n' | nc -N -w 3 10.77.0.2 7";
    let output = run_ok(&ns, "sh", &["-c", nc]);
    assert_eq!(output.stdout, b"hello over ethernet\n");

    wait_for_closes_in_capture(capture.path(), 2, EVENT).unwrap();
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "tcp-echo");
    assert_eq!(
        exited.stdout[0],
        format!(
            "tcp-echo ready: 10.77.0.2:7 and [fd77::2]:7 on tap0 (kernel side 10.77.0.1/24 and \
             fd77::1/64), our MAC {OUR_MAC}"
        )
    );

    let frames = ethernet_frames(capture.path());
    // The kernel's request for us, and our answer to it, before the first ping.
    let reply = frames
        .iter()
        .position(|f| f.num("arp.opcode") == Some(2) && f.direction() == Some(Direction::Outbound))
        .expect("our ARP reply");
    assert_eq!(frames[reply].get("arp.src.hw_mac"), Some(OUR_MAC));
    assert_eq!(
        frames[reply].get("frame.comment"),
        Some("the answer to 10.77.0.1: our MAC address")
    );
    assert!(reply < first_ip_frame(&frames), "{frames:#?}");
    // Our replies: to the kernel's first request and to arping's two (and to any the kernel
    // sent later to check its entry).
    let arping_replies = frames
        .iter()
        .filter(|f| f.num("arp.opcode") == Some(2) && f.direction() == Some(Direction::Outbound))
        .count();
    assert!(arping_replies >= 3, "{arping_replies}: {frames:#?}");
    // Every frame we sent came from our MAC address.
    for frame in frames
        .iter()
        .filter(|f| f.direction() == Some(Direction::Outbound))
    {
        assert_eq!(frame.get("eth.src"), Some(OUR_MAC), "{frame:?}");
    }
    let conversations = complete_connections(&ns, &capture);
    let [socket, nc] = &conversations[..] else {
        panic!("the socket's connection and nc's: {conversations:#?}");
    };
    assert_eq!(
        (socket.bytes_from_client, socket.bytes_from_server),
        (LEN as u64, LEN as u64)
    );
    assert_eq!((nc.bytes_from_client, nc.bytes_from_server), (20, 20));
}

#[test]
fn tcp_echo_on_tap_takes_the_mac_address_given_with_mac() {
    let Some(ns) = namespace("tap-mac") else {
        return;
    };
    if !arping_installed() {
        return;
    }
    let mac = "02:aa:bb:cc:dd:ee";
    let demo = start_demo(&ns, TCP_ECHO, &["--tap", "--mac", mac]);
    linux_ping(&ns, STACK, 1, &[]);
    let neigh = ip_neigh(&ns);
    assert!(
        neigh.contains(&format!("10.77.0.2 lladdr {mac} ")),
        "ip neigh: {neigh}"
    );
    arping(&ns, 1, mac);
    let echoed = echo_through(&ns, b"from a chosen MAC");
    assert_eq!(echoed, b"from a chosen MAC");
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert!(
        exited.stdout[0].ends_with(&format!(
            "on tap0 (kernel side 10.77.0.1/24 and fd77::1/64), our MAC {mac}"
        )),
        "{exited:?}"
    );
}

#[test]
fn udp_echo_on_tap_sends_every_datagram_back() {
    let Some(ns) = namespace("tap-udp-echo") else {
        return;
    };
    let capture = TempFile::new("demo-tap-udp-echo");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, UDP_ECHO, &["--tap", "--capture", path]);
    let linux = linux_udp(&ns, (KERNEL, 0)).unwrap();
    // Sizes up to the largest that fits one frame: 1500 - 20 (IPv4) - 8 (UDP).
    for len in [1, 100, 1472] {
        let sent = pattern(len);
        linux.send_to(&sent, (STACK, 7)).unwrap();
        let mut buf = [0; 2048];
        let (n, from) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
        assert_eq!(from, (STACK, 7).into());
        assert!(buf[..n] == sent[..], "{len} bytes come back unchanged");
    }
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "udp-echo");

    let frames = ethernet_frames(capture.path());
    let datagrams: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.get("udp.payload").is_some())
        .collect();
    assert_eq!(datagrams.len(), 6, "{frames:#?}");
    for pair in datagrams.chunks(2) {
        assert_eq!(pair[0].direction(), Some(Direction::Inbound));
        assert_eq!(pair[0].get("eth.dst"), Some(OUR_MAC));
        assert_eq!(pair[1].direction(), Some(Direction::Outbound));
        assert_eq!(pair[1].get("eth.src"), Some(OUR_MAC));
        assert_eq!(
            pair[1].get("eth.dst"),
            pair[0].get("eth.src"),
            "back to the sender"
        );
        assert_eq!(pair[0].get("udp.payload"), pair[1].get("udp.payload"));
    }
}

/// Pings `fd77::2` once a second from `ns` until a reply comes, for up to `limit`: our
/// address is usable only once duplicate address detection has passed, a second after the
/// demo started (RFC 4862 section 5.4), and a request sent before goes unanswered. Returns
/// how many pings went unanswered.
fn ping6_until_answered(ns: &NetNs, limit: Duration) -> u32 {
    let deadline = Instant::now() + limit;
    let mut unanswered = 0;
    loop {
        let args = ["-6", "-n", "-c", "1", "-W", "1", "fd77::2"];
        let output = output_within(&mut ns.exec("ping", &args), Duration::from_secs(5)).unwrap();
        if output.status.success() {
            return unanswered;
        }
        unanswered += 1;
        assert!(
            Instant::now() < deadline,
            "no answer to ping -6 after {limit:?}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// IPv6 is on by default on TAP too: the kernel finds our MAC address for fd77::2 with
/// neighbour discovery, once our address is ours, and a datagram to [fd77::2]:7 comes back.
#[test]
fn udp_echo_on_tap_speaks_ipv6_by_default() {
    let Some(ns) = namespace("tap-udp-echo6") else {
        return;
    };
    let capture = TempFile::new("demo-tap-udp-echo6");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, UDP_ECHO, &["--tap", "--capture", path]);
    let unanswered = ping6_until_answered(&ns, Duration::from_secs(10));
    assert!(unanswered <= 5, "{unanswered}");
    linux_ping(&ns, STACK6, 2, &["-6"]);
    let neigh = run_ok(
        &ns,
        "ip",
        &["-6", "neigh", "show", "fd77::2", "dev", "tap0"],
    );
    let neigh = String::from_utf8_lossy(&neigh.stdout);
    assert!(
        neigh.starts_with(&format!("fd77::2 lladdr {OUR_MAC} ")),
        "ip -6 neigh: {neigh}"
    );
    let linux = linux_udp(&ns, (KERNEL6, 0)).unwrap();
    // The largest that fits one frame: 1500 - 40 (IPv6) - 8 (UDP).
    let sent = pattern(1452);
    linux.send_to(&sent, (STACK6, 7)).unwrap();
    let mut buf = [0; 2048];
    let (n, from) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
    assert_eq!(from, (STACK6, 7).into());
    assert!(buf[..n] == sent[..], "1452 bytes come back unchanged");
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_eq!(
        exited.stdout[0],
        format!(
            "udp-echo ready: 10.77.0.2:7 and [fd77::2]:7 on tap0 (kernel side 10.77.0.1/24 and \
             fd77::1/64), our MAC {OUR_MAC}"
        )
    );

    let frames = ethernet_frames(capture.path());
    // Our neighbour advertisement, with its comment, and every frame we sent from our MAC.
    assert!(
        frames
            .iter()
            .any(|f| f.direction() == Some(Direction::Outbound)
                && f.get("eth.type") == Some("0x86dd")
                && f.get("frame.comment").is_some_and(
                    |c| c.starts_with("the answer to ") && c.ends_with(": our MAC address")
                )),
        "{frames:#?}"
    );
    for frame in frames
        .iter()
        .filter(|f| f.direction() == Some(Direction::Outbound))
    {
        assert_eq!(frame.get("eth.src"), Some(OUR_MAC), "{frame:?}");
    }
    // One datagram each way over IPv6 (the kernel's own IPv6 frames, its MLDv2 reports and
    // its link-local address's detection, carry none).
    let datagrams = frames
        .iter()
        .filter(|f| f.get("eth.type") == Some("0x86dd") && f.get("udp.payload").is_some())
        .count();
    assert_eq!(datagrams, 2, "{frames:#?}");
}

#[test]
fn tcp_client_on_tap_arps_for_the_kernel_first_and_reaches_beyond_it_through_the_gateway() {
    let Some(ns) = namespace("tap-tcp-client") else {
        return;
    };
    // An address of the kernel's off 10.77.0.0/24 (on its loopback device): our stack reaches
    // it only through the gateway, the kernel's side of tap0.
    run_ok(&ns, "ip", &["addr", "add", "10.88.0.1/32", "dev", "lo"]);
    run_ok(&ns, "ip", &["link", "set", "lo", "up"]);
    let server = course_tcp_server(&ns, 2);

    let capture = TempFile::new("demo-tap-tcp-client");
    let path = capture.path().to_str().unwrap();
    let client = start_demo(&ns, TCP_CLIENT, &["--tap", "--capture", path]);
    let first = client.wait_within(EXIT).unwrap();
    assert!(first.status.success(), "{first:?}");
    assert_ready_then_hint(&first, "tcp-client");
    assert_eq!(
        first.stdout[0],
        format!(
            "tcp-client ready: 10.77.0.2 and fd77::2 on tap0 (kernel side 10.77.0.1/24 and \
             fd77::1/64), our MAC {OUR_MAC}, \
             connecting to 10.77.0.1:9000"
        )
    );
    assert!(
        first
            .stdout
            .contains(&"Server said: Hello, network!".to_string()),
        "{first:?}"
    );
    let port = ephemeral_port(&first);

    // Our ARP request, then the SYN, once the answer came.
    let frames = ethernet_frames(capture.path());
    let request = our_arp_request(&frames, KERNEL);
    assert!(request < first_ip_frame(&frames), "{frames:#?}");
    let conversations = complete_connections(&ns, &capture);
    let [conversation] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    assert_eq!(conversation.client, SocketAddr::from((STACK, port)));
    assert_eq!(
        (
            conversation.bytes_from_client,
            conversation.bytes_from_server
        ),
        (15, 15)
    );

    // Through the gateway: the packets are for 10.88.0.1, the frames for the kernel's MAC.
    let beyond = TempFile::new("demo-tap-tcp-client-gateway");
    let path = beyond.path().to_str().unwrap();
    let args = [
        "--tap",
        "--to",
        "10.88.0.1:9000",
        "--message",
        "beyond",
        "--capture",
        path,
    ];
    let second = start_demo(&ns, TCP_CLIENT, &args)
        .wait_within(EXIT)
        .unwrap();
    assert!(second.status.success(), "{second:?}");
    assert!(
        second.stdout.contains(&"Server said: beyond".to_string()),
        "{second:?}"
    );
    let frames = ethernet_frames(beyond.path());
    our_arp_request(&frames, KERNEL);
    assert!(
        frames
            .iter()
            .all(|f| f.get("arp.dst.proto_ipv4") != Some("10.88.0.1")),
        "no ARP for an address off our network: {frames:#?}"
    );
    let kernel = kernel_mac_in(&frames);
    let syn = frames
        .iter()
        .find(|f| f.num("tcp.flags") == Some(0x002))
        .unwrap_or_else(|| panic!("our SYN: {frames:#?}"));
    assert_eq!(syn.get("ip.dst"), Some("10.88.0.1"), "{syn:?}");
    assert_eq!(syn.get("eth.dst"), Some(kernel.as_str()), "{syn:?}");

    let heard = server.join().unwrap().unwrap();
    assert_eq!(heard.len(), 2);
    assert_eq!(heard[0].0, b"Hello, network!");
    assert_eq!(heard[1].0, b"beyond");
}

#[test]
fn udp_client_on_tap_arps_for_the_kernel_first() {
    let Some(ns) = namespace("tap-udp-client") else {
        return;
    };
    let server = course_server(&ns, 0, 2);
    let capture = TempFile::new("demo-tap-udp-client");
    let path = capture.path().to_str().unwrap();
    let client = start_demo(
        &ns,
        UDP_CLIENT,
        &["--tap", "--count", "2", "--capture", path],
    );
    let exited = client.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "udp-client");
    let replies = exited
        .stdout
        .iter()
        .filter(|line| line.starts_with("Server said: \"Got your datagram!\""))
        .count();
    assert_eq!(replies, 2, "{exited:?}");
    let port = ephemeral_port(&exited);
    let got = server.join().unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, from)| *from == (STACK, port).into()));

    let frames = ethernet_frames(capture.path());
    let request = our_arp_request(&frames, KERNEL);
    let first = first_ip_frame(&frames);
    assert!(request < first, "{frames:#?}");
    assert_eq!(frames[first].direction(), Some(Direction::Outbound));
    assert_eq!(
        frames[first].bytes("udp.payload").as_deref(),
        Some(&b"hello"[..])
    );
    assert_eq!(
        frames[first].get("eth.dst").map(str::to_owned),
        Some(kernel_mac_in(&frames))
    );
}

/// Nobody has 10.77.0.99: three ARP requests a second apart go unanswered, and the connect
/// fails with "host unreachable", as Linux's does, long before the client's own timeout.
#[test]
fn tcp_client_on_tap_says_host_unreachable_when_nobody_answers_arp() {
    let Some(ns) = namespace("tap-silent") else {
        return;
    };
    let capture = TempFile::new("demo-tap-silent");
    let path = capture.path().to_str().unwrap();
    // A timeout far beyond the ARP's three seconds: the error must come from ARP, not from it.
    let args = [
        "--tap",
        "--to",
        "10.77.0.99:9000",
        "--timeout",
        "120s",
        "--capture",
        path,
    ];
    let client = start_demo(&ns, TCP_CLIENT, &args);
    let started = Instant::now();
    let exited = client.wait_within(Duration::from_secs(60)).unwrap();
    eprintln!(
        "the connect failed {:?} after the ready line",
        started.elapsed()
    );
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains(
            "tcp-client: connect to 10.77.0.99:9000: host unreachable: no answer to ARP on the \
             link"
        ),
        "{exited:?}"
    );

    let frames = ethernet_frames(capture.path());
    let asked: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.get("arp.dst.proto_ipv4") == Some("10.77.0.99"))
        .collect();
    // Three requests, a second apart (Linux's ucast_solicit and retrans_time), then no more.
    assert_eq!(asked.len(), 3, "{frames:#?}");
    assert!(asked
        .iter()
        .all(|f| f.direction() == Some(Direction::Outbound)));
    assert!(
        frames.iter().all(|f| f.get("ip.src").is_none()),
        "the SYN waited for an answer that never came: {frames:#?}"
    );
}

/// `--tap --offload`: curl fetches 10 MB from http-server over a TAP device with offloads,
/// byte-exact (the virtio-net header's offsets count the Ethernet header).
#[test]
fn http_server_on_tap_with_offload_serves_ten_megabytes_to_curl() {
    let Some(ns) = namespace("tap-http-offload") else {
        return;
    };
    if !installed("curl", "curl") {
        return;
    }
    let _demo = start_demo(&ns, HTTP_SERVER, &["--tap", "--offload"]);
    let url = "http://10.77.0.2/bytes/10000000";
    let body = run_ok(&ns, "curl", &["-sS", "--max-time", "20", url]).stdout;
    assert_eq!(body.len(), 10_000_000);
    assert!(
        body == expected_pattern(10_000_000),
        "the pattern, byte-exact"
    );
}

#[test]
fn http_server_on_tap_shows_both_mac_addresses_to_curl_and_chromium() {
    let Some(ns) = namespace("tap-http") else {
        return;
    };
    if !installed("curl", "curl") || !installed("chromium", "chromium") {
        return;
    }
    let demo = start_demo(&ns, HTTP_SERVER, &["--tap"]);
    let kernel = kernel_mac(&ns);
    let page = run_ok(
        &ns,
        "curl",
        &["-sS", "--max-time", "10", "http://10.77.0.2/"],
    )
    .stdout;
    let page = String::from_utf8(page).unwrap();
    let bytes = |mac: &str| mac.replace(':', " ");
    for text in [
        "Ethernet frame on TAP device tap0: Ethernet header 14 bytes".to_string(),
        format!("<tr><th>destination MAC</th><td><code>{OUR_MAC}</code></td><td>ours"),
        format!("<tr><th>source MAC</th><td><code>{kernel}</code></td><td>yours"),
        format!("<code>10.77.0.1 lladdr {kernel} "),
        format!("<pre>{}  {}  08 00</pre>", bytes(OUR_MAC), bytes(&kernel)),
        "<code>0x0800</code>".to_string(),
        "who has 10.77.0.2? tell 10.77.0.1".to_string(),
        "frame check sequence (FCS".to_string(),
        "<tr><td>Ethernet</td><td class=\"num\">14 bytes</td>".to_string(),
    ] {
        assert!(page.contains(&text), "{text:?} missing:\n{page}");
    }
    assert!(
        !page.contains("would wrap the packet here"),
        "TUN's sentence: {page}"
    );

    let profile = TempDir::new("tap-chromium-profile");
    // And over IPv6, once our address is ours: the frame's type is IPv6's.
    ping6_until_answered(&ns, Duration::from_secs(10));
    let page6 = run_ok(
        &ns,
        "curl",
        &["-sS", "-6", "--max-time", "10", "http://[fd77::2]/"],
    )
    .stdout;
    let page6 = String::from_utf8(page6).unwrap();
    for text in [
        format!("<tr><th>destination MAC</th><td><code>{OUR_MAC}</code></td><td>ours"),
        format!("<tr><th>source MAC</th><td><code>{kernel}</code></td><td>yours"),
        "<code>0x86DD</code>".to_string(),
        "it sent a neighbour solicitation for fd77::2".to_string(),
    ] {
        assert!(page6.contains(&text), "{text:?} missing:\n{page6}");
    }
    let output = output_within(
        &mut chromium(&ns, profile.path(), "http://10.77.0.2/"),
        Duration::from_secs(90),
    )
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let dom = String::from_utf8_lossy(&output.stdout);
    for text in [
        format!("<code>{OUR_MAC}</code>"),
        format!("<code>{kernel}</code>"),
        "HeadlessChrome".to_string(),
    ] {
        assert!(dom.contains(&text), "{text:?} missing:\n{dom}");
    }
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_eq!(
        exited.stdout[1],
        "try: curl http://10.77.0.2/   or   curl -6 'http://[fd77::2]/'"
    );
}

/// A `--mac` that cannot be ours is refused before any device is made, in one line that says
/// why (clap's "error:" line; then only its pointer to --help). Inside a namespace all the
/// same: a demo that took the address would make its device there.
#[test]
fn a_mac_that_cannot_be_ours_is_refused_in_one_line() {
    let Some(ns) = namespace("tap-bad-mac") else {
        return;
    };
    let cases = [
        (
            "01:00:5e:00:00:01",
            "01:00:5e:00:00:01 is a multicast address",
        ),
        (
            "ff:ff:ff:ff:ff:ff",
            "ff:ff:ff:ff:ff:ff is the broadcast address",
        ),
        ("00:00:00:00:00:00", "00:00:00:00:00:00 means no address"),
        (
            "02:aa:bb:cc:dd",
            "`02:aa:bb:cc:dd` has 5 groups of hex digits",
        ),
        (
            "02:aa:bb:cc:dd:xx",
            "`xx` in `02:aa:bb:cc:dd:xx` is not a pair of hex digits",
        ),
    ];
    for (mac, why) in cases {
        let output = output_within(&mut ns.exec(TCP_ECHO, &["--tap", "--mac", mac]), EXIT).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{mac}: {stderr}");
        assert!(output.stdout.is_empty(), "not ready: {mac}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        let [line] = errors[..] else {
            panic!("one error line: {stderr}");
        };
        let starts = format!("error: invalid value '{mac}' for '--mac <MAC>': {why}");
        assert!(line.starts_with(&starts), "{line}");
        let rest: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("error:") && !l.trim().is_empty())
            .collect();
        assert_eq!(rest, ["For more information, try '--help'."], "{stderr}");
    }
    // Without --tap there is no MAC address to set.
    let output = output_within(
        &mut ns.exec(UDP_ECHO, &["--mac", "02:aa:bb:cc:dd:ee"]),
        EXIT,
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: the following required arguments were not provided:\n  --tap\n"),
        "{stderr}"
    );

    let links = run_ok(&ns, "ip", &["-o", "link"]);
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(
        !links.contains("tap0") && !links.contains("tun0"),
        "no device was made: {links}"
    );
}

/// A TAP device the demo cannot make: without CAP_NET_ADMIN it says to use sudo, and when
/// another program holds `tap0` it says so and how to choose another name; one line each, and
/// both say TAP where TUN's say TUN.
#[test]
fn a_tap_device_that_cannot_be_made_says_why_in_one_line() {
    let Some(ns) = namespace("tap-refused") else {
        return;
    };
    let Some(mut command) = unprivileged(&ns, TCP_ECHO) else {
        skip_or_fail(
            "neither setpriv nor capsh is installed to drop privileges \
             (Debian: apt-get install util-linux)",
        );
        return;
    };
    let output = output_within(command.arg("--tap"), EXIT).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "tcp-echo: creating a TAP device needs CAP_NET_ADMIN: run it with sudo"
    );

    let first = start_demo(&ns, UDP_ECHO, &["--tap"]);
    let output = output_within(&mut ns.exec(TCP_ECHO, &["--tap"]), EXIT).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "not ready");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("tcp-echo: tap0 is in use by another program"),
        "{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("choose another name with --tun NAME, e.g. --tun tapstack0"),
        "{stderr}"
    );
    first.interrupt().unwrap();
    first.wait_within(EXIT).unwrap();
}

#[test]
fn every_device_demo_offers_tap_and_mac_in_its_help() {
    for (program, name) in DEMOS {
        let output = output_within(Command::new(program).arg("--help"), EXIT).unwrap();
        assert!(output.status.success(), "{name}");
        let help = String::from_utf8_lossy(&output.stdout);
        for text in [
            "--tun <NAME>",
            "tap0 with --tap",
            "--tap",
            "--mac <MAC>",
            "Only with --tap",
        ] {
            assert!(help.contains(text), "{name} --help lacks {text:?}:\n{help}");
        }
    }
}

/// What the other demos print on TAP: every ready line names the device and our MAC address.
#[test]
fn the_client_demos_ready_lines_name_tap0_and_our_mac() {
    let Some(ns) = namespace("tap-ready") else {
        return;
    };
    // Nobody listens: each client is refused at once, after its ready line.
    for (program, name, args) in [
        (TCP_RTT, "tcp-rtt", &["--tap", "--samples", "1"][..]),
        (
            HTTP_GET,
            "http-get",
            &["--tap", "http://10.77.0.1:8000/"][..],
        ),
    ] {
        let exited = start_demo(&ns, program, args).wait_within(EXIT).unwrap();
        let ready = &exited.stdout[0];
        let want = format!(
            "{name} ready: 10.77.0.2 and fd77::2 on tap0 (kernel side 10.77.0.1/24 and fd77::1/64), \
             our MAC {OUR_MAC}, "
        );
        assert!(ready.starts_with(&want), "{exited:?}");
        assert!(exited.stderr.contains("refused"), "{exited:?}");
    }
}
