//! The demos over IPv6, end to end: each runs as a learner would run it (dual stack, the
//! default), inside a network namespace made for the test, with Linux's `ping -6`, `nc -6`,
//! `curl -6`, a headless Chromium and IPv6 sockets on the other side; and with `--no-ipv6`,
//! IPv4 alone.
//!
//! Needs root and `/dev/net/tun` (else each test prints `skipped: <why>` and passes, except
//! under CI), and nc, curl, python3 and chromium, which `.ci/run` installs.

use std::io::Write;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::thread::JoinHandle;

use common::{
    assert_ready_then_hint, chromium, complete_connections, ephemeral_port, installed, namespace,
    start_demo, TempDir, EVENT, EXIT, READY,
};
use tunstack::device::netns::NetNs;
use tunstack_tests::{
    accept_within, linux_ping, linux_tcp_listener, linux_udp, output_within, tshark_check,
    wait_for_closes_in_capture, Direction, Running, TempFile, KERNEL6, STACK6,
};

mod common;

const UDP_ECHO: &str = env!("CARGO_BIN_EXE_udp-echo");
const UDP_CLIENT: &str = env!("CARGO_BIN_EXE_udp-client");
const TCP_ECHO: &str = env!("CARGO_BIN_EXE_tcp-echo");
const TCP_CLIENT: &str = env!("CARGO_BIN_EXE_tcp-client");
const TCP_RTT: &str = env!("CARGO_BIN_EXE_tcp-rtt");
const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");
const HTTP_GET: &str = env!("CARGO_BIN_EXE_http-get");

/// Where a server demo says it is, dual stack on tun0.
const ON_TUN0: &str = "on tun0 (kernel side 10.77.0.1/24 and fd77::1/64)";

/// Runs `sh -c script` inside `ns`; returns its standard output, after checking it succeeded.
fn shell(ns: &NetNs, script: &str) -> String {
    let output = output_within(&mut ns.exec("sh", &["-c", script]), EXIT).unwrap();
    assert!(output.status.success(), "{script}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn udp_echo_answers_ping6_and_nc6_and_the_kernel_side_has_its_ipv6_address() {
    let Some(ns) = namespace("v6-udp-echo") else {
        return;
    };
    let capture = TempFile::new("demo-v6-udp-echo");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, UDP_ECHO, &["--capture", path]);
    let addrs = shell(&ns, "ip -o -6 addr show dev tun0 scope global; ip -6 route");
    assert!(
        addrs.contains("inet6 fd77::1/64 scope global nodad"),
        "{addrs}"
    );
    assert!(addrs.contains("fd77::/64 dev tun0 proto kernel"), "{addrs}");

    linux_ping(&ns, STACK6, 3, &["-6"]);
    let echoed = shell(&ns, "echo hello over IPv6 | nc -6 -u -w1 fd77::2 7");
    assert_eq!(echoed, "hello over IPv6\n");

    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "udp-echo");
    assert_eq!(
        exited.stdout[0],
        format!("udp-echo ready: 10.77.0.2:7 and [fd77::2]:7 {ON_TUN0}")
    );
    assert!(
        exited.stdout[1].ends_with("   or   ping -6 fd77::2"),
        "{exited:?}"
    );

    // Three pings and the datagram, each answered; nothing else (no router solicitation).
    let frames = tshark_check(capture.path());
    let kinds: Vec<_> = frames
        .iter()
        .map(|f| (f.direction(), f.num("icmpv6.type"), f.num("udp.srcport")))
        .collect();
    let (i, o) = (Some(Direction::Inbound), Some(Direction::Outbound));
    let ping = [(i, Some(128), None), (o, Some(129), None)];
    let mut want = [ping, ping, ping].concat();
    want.push((i, None, kinds[6].2));
    want.push((o, None, Some(7)));
    assert_eq!(kinds, want, "{frames:#?}");
}

#[test]
fn tcp_echo_echoes_nc6() {
    let Some(ns) = namespace("v6-tcp-echo") else {
        return;
    };
    let capture = TempFile::new("demo-v6-tcp-echo");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, TCP_ECHO, &["--capture", path]);
    let nc = "printf 'hello through nc -6\\n' | nc -6 -N -w 3 fd77::2 7";
    assert_eq!(shell(&ns, nc), "hello through nc -6\n");
    wait_for_closes_in_capture(capture.path(), 1, EVENT).unwrap();
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_eq!(
        exited.stdout[1], "try: nc 10.77.0.2 7   or   nc -6 fd77::2 7",
        "{exited:?}"
    );
    // The log names the client by its IPv6 address.
    assert!(
        exited.stderr.contains("connection from [fd77::1]:"),
        "{exited:?}"
    );
    let conversations = complete_connections(&ns, &capture);
    let [nc] = &conversations[..] else {
        panic!("nc's connection: {conversations:#?}");
    };
    assert_eq!(nc.client_direction, Some(Direction::Inbound));
    assert_eq!(nc.server, SocketAddr::from((STACK6, 7)));
    assert_eq!((nc.bytes_from_client, nc.bytes_from_server), (20, 20));
}

/// `curl -6` and `curl -4` at the same server: each page shows the header its request came
/// with.
#[test]
fn http_server_shows_curl6_the_ipv6_header() {
    let Some(ns) = namespace("v6-http-server") else {
        return;
    };
    if !installed("curl", "curl") {
        return;
    }
    let demo = start_demo(&ns, HTTP_SERVER, &[]);
    let curl = |args: &str| {
        let out = shell(
            &ns,
            &format!("curl -sS --max-time 10 -w '\\n%{{local_port}}' {args}"),
        );
        let (page, port) = out.rsplit_once('\n').unwrap();
        (page.to_string(), port.parse::<u16>().unwrap())
    };
    let (page, port) = curl("-6 -H 'User-Agent: tunstack-test' 'http://[fd77::2]/'");
    for text in [
        format!("<code>[fd77::1]:{port}</code>"),
        "<code>[fd77::2]:80</code>".to_string(),
        "[Layer 3] IPv6 packet fd77::1 &rarr; fd77::2, next header 6 (TCP): IPv6 header 40 \
         bytes"
            .to_string(),
        "<tr><th>flow label</th>".to_string(),
        // The request: 16 + 17 + 27 + 13 + 2 bytes, after the TCP header's 32.
        "<tr><th>payload length</th><td>107</td>".to_string(),
        "<tr><th>hop limit</th>".to_string(),
        "<code>fd77:0000:0000:0000:0000:0000:0000:0001</code>".to_string(),
        "one IPv6 packet of 40 + 32 + 75 = 147 bytes".to_string(),
        "IPv6 by the next header (6 is TCP)".to_string(),
        "host: [fd77::2]".to_string(),
    ] {
        assert!(page.contains(&text), "{text:?} missing:\n{page}");
    }
    assert!(!page.contains("IPv4 header"), "{page}");
    let (page4, _) = curl("-4 http://10.77.0.2/");
    assert!(page4.contains("IPv4 header 20 bytes"), "{page4}");
    assert!(!page4.contains("IPv6 header"), "{page4}");

    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_eq!(
        exited.stdout[0],
        format!("http-server ready: 10.77.0.2:80 and [fd77::2]:80 {ON_TUN0}")
    );
    assert!(
        exited
            .stderr
            .contains(&format!("connection from [fd77::1]:{port}\n")),
        "{exited:?}"
    );
}

#[test]
fn headless_chromium_renders_the_journey_over_ipv6() {
    let Some(ns) = namespace("v6-chromium") else {
        return;
    };
    if !installed("chromium", "chromium") {
        return;
    }
    let demo = start_demo(&ns, HTTP_SERVER, &[]);
    let profile = TempDir::new("v6-chromium-profile");
    let limit = std::time::Duration::from_secs(90);
    let output = output_within(
        &mut chromium(&ns, profile.path(), "http://[fd77::2]/"),
        limit,
    );
    let output = output.unwrap();
    assert!(output.status.success(), "{output:?}");
    let dom = String::from_utf8_lossy(&output.stdout);
    for text in [
        "<code>[fd77::2]:80</code>",
        "[Layer 3] IPv6 packet fd77::1",
        "IPv6 header 40 bytes",
        "HeadlessChrome",
        "host: [fd77::2]",
    ] {
        assert!(dom.contains(text), "{text:?} missing:\n{dom}");
    }
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert!(
        exited.stderr.contains("connection from [fd77::1]:"),
        "{exited:?}"
    );
}

/// The course's server.py on `[::]:9000` inside `ns` (both versions, as Linux's default
/// dual-stack socket): echoes `clients` connections one after the other; returns what each
/// sent and from where.
fn dual_tcp_server(ns: &NetNs, clients: usize) -> JoinHandle<Vec<(Vec<u8>, SocketAddr)>> {
    let listener = linux_tcp_listener(ns, (Ipv6Addr::UNSPECIFIED, 9000)).unwrap();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..clients {
            let (mut conn, client) = accept_within(&listener, READY + EXIT).unwrap();
            let mut received = Vec::new();
            let mut buf = [0; 1024];
            while let Ok(n @ 1..) = tunstack_tests::read(&mut conn, &mut buf) {
                received.extend_from_slice(&buf[..n]);
                conn.write_all(&buf[..n]).unwrap();
            }
            got.push((received, client));
        }
        got
    })
}

/// tcp-client, tcp-rtt and udp-client to Linux servers at fd77::1.
#[test]
fn the_clients_reach_linux_servers_over_ipv6() {
    let Some(ns) = namespace("v6-clients") else {
        return;
    };
    let server = dual_tcp_server(&ns, 4);
    let capture = TempFile::new("demo-v6-tcp-client");
    let path = capture.path().to_str().unwrap();
    let args = ["--capture", path, "--to", "[fd77::1]:9000"];
    let exited = start_demo(&ns, TCP_CLIENT, &args)
        .wait_within(EXIT)
        .unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert!(
        exited.stdout[0].starts_with("tcp-client ready: 10.77.0.2 and fd77::2 on tun0"),
        "{exited:?}"
    );
    let port = ephemeral_port(&exited);
    let connected = format!("Connected to [fd77::1]:9000 from [fd77::2]:{port} (handshake ");
    assert!(
        exited.stdout.iter().any(|l| l.starts_with(&connected)),
        "{exited:?}"
    );
    assert!(exited
        .stdout
        .contains(&"Server said: Hello, network!".to_string()));
    let conversations = complete_connections(&ns, &capture);
    let [conversation] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    assert_eq!(conversation.server, SocketAddr::from((KERNEL6, 9000)));

    let args = ["--to", "[fd77::1]:9000", "--samples", "3"];
    let exited = start_demo(&ns, TCP_RTT, &args).wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert!(
        exited
            .stdout
            .iter()
            .any(|l| l.starts_with("RTT Stats: {'min_ms': ")),
        "{exited:?}"
    );
    let got = server.join().unwrap();
    assert_eq!(got[0], (b"Hello, network!".to_vec(), (STACK6, port).into()));
    assert!(got
        .iter()
        .all(|(_, from)| from.ip() == IpAddr::from(STACK6)));

    let linux = linux_udp(&ns, (Ipv6Addr::UNSPECIFIED, 9001)).unwrap();
    let answer = std::thread::spawn(move || {
        let mut buf = [0; 64];
        let (n, from) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
        linux.send_to(b"Got your datagram!", from).unwrap();
        (buf[..n].to_vec(), from)
    });
    let args = ["--to", "[fd77::1]:9001"];
    let exited = start_demo(&ns, UDP_CLIENT, &args)
        .wait_within(EXIT)
        .unwrap();
    assert!(exited.status.success(), "{exited:?}");
    let port = ephemeral_port(&exited);
    assert!(
        exited.stdout[0].starts_with(&format!("udp-client ready: [fd77::2]:{port} on tun0")),
        "{exited:?}"
    );
    let said = "Server said: \"Got your datagram!\" (18 bytes from [fd77::1]:9001, RTT ";
    assert!(
        exited.stdout.iter().any(|l| l.starts_with(said)),
        "{exited:?}"
    );
    assert_eq!(
        answer.join().unwrap(),
        (b"hello".to_vec(), (STACK6, port).into())
    );
}

/// http-get fetches from Python's http.server on `::` over IPv6: the URL's host in brackets,
/// and the Host header too.
#[test]
fn http_get_fetches_from_python_over_ipv6() {
    let Some(ns) = namespace("v6-http-get") else {
        return;
    };
    if !installed("python3", "python3") {
        return;
    }
    let site = TempDir::new("v6-http-get-site");
    std::fs::write(site.path().join("hello.txt"), "hello over IPv6\n").unwrap();
    let dir = site.path().to_str().unwrap();
    let args = [
        "-u",
        "-m",
        "http.server",
        "8000",
        "--bind",
        "::",
        "--directory",
        dir,
    ];
    let mut python = Running::spawn(&mut ns.exec("python3", &args)).unwrap();
    python.wait_for_line("Serving HTTP", READY).unwrap();

    let url = "http://[fd77::1]:8000/hello.txt";
    let exited = start_demo(&ns, HTTP_GET, &[url]).wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    for line in [
        "> GET /hello.txt HTTP/1.1",
        "> Host: [fd77::1]:8000",
        "< HTTP/1.0 200 OK",
        "hello over IPv6",
    ] {
        assert!(
            exited.stdout.iter().any(|l| l == line),
            "{line:?} missing: {exited:#?}"
        );
    }
    let port = ephemeral_port(&exited);
    let connected = format!("Connected to [fd77::1]:8000 from [fd77::2]:{port} (handshake ");
    assert!(
        exited.stdout.iter().any(|l| l.starts_with(&connected)),
        "{exited:?}"
    );
    python.interrupt().unwrap();
    let _ = python.wait_within(EXIT);
}

/// `--no-ipv6`: IPv4 alone, on both sides; a client asked for an IPv6 address says why it
/// cannot; addresses that do not make an IPv6 network are refused before any device is made.
#[test]
fn no_ipv6_means_ipv4_alone_and_bad_ipv6_addresses_are_refused() {
    let Some(ns) = namespace("v6-off") else {
        return;
    };
    let demo = start_demo(&ns, UDP_ECHO, &["--no-ipv6"]);
    let addrs = shell(&ns, "ip -o addr show dev tun0");
    assert!(addrs.contains("inet 10.77.0.1/24"), "{addrs}");
    assert!(
        !addrs.contains("inet6"),
        "IPv6 is off on the kernel's side: {addrs}"
    );
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert_eq!(
        exited.stdout[0],
        "udp-echo ready: 10.77.0.2:7 on tun0 (kernel side 10.77.0.1/24)"
    );

    let args = ["--no-ipv6", "--to", "[fd77::1]:9000"];
    let exited = start_demo_failing(&ns, TCP_CLIENT, &args);
    assert!(
        exited.contains(
            "--to fd77::1 is an IPv6 address, and IPv6 is off (--no-ipv6 turned \
                         it off)"
        ),
        "{exited}"
    );
    for (args, words) in [
        (
            &["--addr6", "fd78::2/64"][..],
            "tcp-echo: --addr6: fd78::2/64 is not on fd77::/64, --peer6's network",
        ),
        (
            &["--peer6", "fd77::2/64"][..],
            "tcp-echo: --addr6: fd77::2 is --peer6's address",
        ),
    ] {
        let exited = start_demo_failing(&ns, TCP_ECHO, args);
        assert!(exited.contains(words), "{args:?}: {exited}");
    }
    let links = shell(&ns, "ip -o link show");
    assert!(!links.contains("tun0"), "no device was left: {links}");
}

/// Runs a demo that must fail at once; returns its standard error.
fn start_demo_failing(ns: &NetNs, program: &str, args: &[&str]) -> String {
    let output = output_within(&mut ns.exec(program, args), EXIT).unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "not ready: {output:?}");
    String::from_utf8(output.stderr).unwrap()
}
