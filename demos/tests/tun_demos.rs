//! The demo programs, end to end: each runs as a learner would run it, inside a network namespace
//! made for the test (where it creates its own `tun0`), with Linux's `ping` and sockets on the
//! other side, and leaves a capture that tshark must find clean.
//!
//! Needs root and `/dev/net/tun`; without them each test prints `skipped: <why>` and passes,
//! except under CI, which must run them.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{
    assert_ready_then_hint, complete_connections, course_server, course_tcp_server, ephemeral_port,
    namespace, start_demo, unprivileged, EVENT, EXIT,
};
use tunstack::device::netns::NetNs;
use tunstack_tests::{
    linux_ping, linux_tcp_connect, linux_udp, output_within, skip_or_fail, tshark_check,
    tshark_check_fields, tshark_filter, unfinished_read, wait_for, wait_for_closes_in_capture,
    Direction, Exited, Frame, TempFile, DEFAULT_FIELDS, KERNEL, STACK,
};

mod common;

const UDP_ECHO: &str = env!("CARGO_BIN_EXE_udp-echo");
const UDP_CLIENT: &str = env!("CARGO_BIN_EXE_udp-client");
const TCP_ECHO: &str = env!("CARGO_BIN_EXE_tcp-echo");
const TCP_CLIENT: &str = env!("CARGO_BIN_EXE_tcp-client");
const TCP_RTT: &str = env!("CARGO_BIN_EXE_tcp-rtt");
const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");
const DNS_SERVER: &str = env!("CARGO_BIN_EXE_dns-server");
const DNS_LOOKUP: &str = env!("CARGO_BIN_EXE_dns-lookup");
const HTTP_GET: &str = env!("CARGO_BIN_EXE_http-get");

#[test]
fn udp_echo_answers_ping_and_udp_and_stops_cleanly_on_ctrl_c() {
    let Some(ns) = namespace("echo") else {
        return;
    };
    let capture = TempFile::new("demo-udp-echo");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, UDP_ECHO, &["--capture", path]);

    linux_ping(&ns, STACK, 2, &[]);

    let linux = linux_udp(&ns, (KERNEL, 0)).unwrap();
    linux.send_to(b"hello over tun", (STACK, 7)).unwrap();
    let mut buf = [0; 64];
    let (n, from) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"hello over tun"[..], (STACK, 7).into())
    );

    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "udp-echo");
    assert!(exited.stderr.contains("udp-echo: stopped"), "{exited:?}");

    // The file is complete after Ctrl-C: two pings and the datagram, each with its answer.
    let frames = tshark_check(capture.path());
    assert_eq!(frames.len(), 6, "{frames:#?}");
    for (i, frame) in frames.iter().enumerate() {
        let want = [Direction::Inbound, Direction::Outbound][i % 2];
        assert_eq!(frame.direction(), Some(want), "{frame:?}");
    }
    let types: Vec<_> = frames[..4].iter().map(|f| f.num("icmp.type")).collect();
    assert_eq!(types, [Some(8), Some(0), Some(8), Some(0)]);
    assert_eq!(frames[5].num("udp.srcport"), Some(7));
    assert_eq!(
        frames[5].bytes("udp.payload").as_deref(),
        Some(&b"hello over tun"[..])
    );
}

#[test]
fn udp_echo_through_impairments_shows_the_delay_and_the_losses() {
    let Some(ns) = namespace("echo-impaired") else {
        return;
    };
    let capture = TempFile::new("demo-udp-echo-impaired");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, UDP_ECHO, &["--delay", "50ms", "--capture", path]);
    let linux = linux_udp(&ns, (KERNEL, 0)).unwrap();
    let sent = std::time::Instant::now();
    linux.send_to(b"slow", (STACK, 7)).unwrap();
    let mut buf = [0; 64];
    let (n, _) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
    let rtt = sent.elapsed();
    assert_eq!(&buf[..n], b"slow");
    assert!(rtt >= Duration::from_millis(100), "50 ms each way: {rtt:?}");
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_eq!(
        exited.stdout.get(1).map(String::as_str),
        Some("impairments: delay 50 ms both ways (seed 0)"),
        "{exited:?}"
    );
    assert!(
        exited.stderr.contains("\noutbound ") && exited.stderr.contains("\ninbound "),
        "the counters at the end: {exited:?}"
    );
    // The capture is the device's view: the datagram as it arrived, the reply as it left, both
    // delays in between.
    let mut fields = DEFAULT_FIELDS.to_vec();
    fields.push("frame.time_relative");
    let frames = tshark_check_fields(capture.path(), &fields);
    let [request, reply] = &frames[..] else {
        panic!("one datagram and its echo: {frames:#?}");
    };
    assert_eq!(request.direction(), Some(Direction::Inbound));
    assert_eq!(reply.direction(), Some(Direction::Outbound));
    assert!(
        time_relative(reply) - time_relative(request) >= 0.1,
        "{frames:#?}"
    );

    udp_echo_loses_all_that_comes_in(&ns);
}

/// udp-echo with everything coming in lost: the echo never answers, and its counters say why.
fn udp_echo_loses_all_that_comes_in(ns: &NetNs) {
    // The capture lies beneath the impairments: the datagram is in it once the demo has read
    // it, and lost it.
    let lost = TempFile::new("demo-udp-echo-lost");
    let path = lost.path().to_str().unwrap();
    let args = [
        "--loss",
        "100%",
        "--impair-direction",
        "in",
        "--capture",
        path,
    ];
    let demo = start_demo(ns, UDP_ECHO, &args);
    let linux = linux_udp(ns, (KERNEL, 0)).unwrap();
    linux.send_to(b"lost", (STACK, 7)).unwrap();
    wait_for(EVENT, || {
        let frames = tshark_filter(lost.path(), "udp").map_err(unfinished_read)?;
        match frames.is_empty() {
            true => Err("the datagram is not in the capture".to_string()),
            false => Ok(()),
        }
    })
    .unwrap();
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert_eq!(
        exited.stdout.get(1).map(String::as_str),
        Some("impairments: outbound: no impairment; inbound: loss 100% (seed 0)"),
        "{exited:?}"
    );
    let inbound = exited
        .stderr
        .lines()
        .find(|line| line.starts_with("inbound "))
        .unwrap_or_else(|| panic!("{exited:?}"));
    let counts: Vec<u64> = inbound
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        counts[0] >= 1 && counts[1] == 0 && counts[2] == counts[0],
        "{inbound}"
    );
    // No echo: nothing left the demo, nothing reached Linux.
    let frames = tshark_check(lost.path());
    assert!(
        frames
            .iter()
            .all(|f| f.direction() == Some(Direction::Inbound)),
        "{frames:#?}"
    );
    linux.set_nonblocking(true).unwrap();
    let nothing = tunstack_tests::recv_from(&linux, &mut [0; 64]).unwrap_err();
    assert_eq!(nothing.kind(), io::ErrorKind::WouldBlock, "no echo");
}

#[test]
fn udp_client_gets_the_course_servers_reply() {
    let Some(ns) = namespace("client") else {
        return;
    };
    // Bound before the client creates tun0 and the kernel's 10.77.0.1, as a learner would.
    let server = course_server(&ns, 0, 3);
    let capture = TempFile::new("demo-udp-client");
    let path = capture.path().to_str().unwrap();
    let client = start_demo(&ns, UDP_CLIENT, &["--count", "3", "--capture", path]);
    let exited = client.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "udp-client");

    let replies: Vec<_> = exited
        .stdout
        .iter()
        .filter(|line| line.starts_with("Server said: "))
        .collect();
    assert_eq!(replies.len(), 3, "{exited:?}");
    for reply in replies {
        assert!(
            reply.starts_with(
                "Server said: \"Got your datagram!\" (18 bytes from 10.77.0.1:9001, RTT "
            ) && reply.ends_with(" ms)"),
            "{reply}"
        );
    }
    let (stats, [min, avg, max]) = rtt_stats(&exited);
    assert!(
        0.0 < min && min <= avg && avg <= max && max < 1000.0,
        "{stats}"
    );

    let port = ephemeral_port(&exited);
    assert!((49152..=65535).contains(&port), "{port}");
    let got = server.join().unwrap();
    assert_eq!(got.len(), 3);
    for (data, sender) in got {
        assert_eq!((&data[..], sender), (&b"hello"[..], (STACK, port).into()));
    }

    let frames = tshark_check(capture.path());
    assert_eq!(frames.len(), 6, "{frames:#?}");
    for pair in frames.chunks(2) {
        assert_eq!(pair[0].direction(), Some(Direction::Outbound));
        assert_eq!(pair[0].num("udp.srcport"), Some(port.into()));
        assert_eq!(pair[0].bytes("udp.payload").as_deref(), Some(&b"hello"[..]));
        assert_eq!(pair[1].direction(), Some(Direction::Inbound));
        assert_eq!(
            pair[1].bytes("udp.payload").as_deref(),
            Some(&b"Got your datagram!"[..])
        );
    }
}

/// Seconds since the capture's first frame.
fn time_relative(frame: &Frame) -> f64 {
    frame.get("frame.time_relative").unwrap().parse().unwrap()
}

/// The delay in the client's "Retry N after X s" line.
/// The demo's last line, the course's `RTT Stats: {'min_ms': ..., 'avg_ms': ..., 'max_ms':
/// ...}`: the text after its prefix, and the three numbers.
fn rtt_stats(exited: &Exited) -> (&str, [f64; 3]) {
    let stats = exited
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix("RTT Stats: {'min_ms': "))
        .unwrap_or_else(|| panic!("no RTT stats: {exited:?}"));
    let numbers: Vec<f64> = stats
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|s| s.parse().ok())
        .collect();
    let [min, avg, max] = numbers[..] else {
        panic!("min, avg, max: {stats}");
    };
    (stats, [min, avg, max])
}

fn retry_delay(exited: &Exited, n: u32) -> f64 {
    let prefix = format!("Retry {n} after ");
    let line = exited
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line: {exited:?}"));
    line.strip_suffix(" s").unwrap().parse().unwrap()
}

#[test]
fn udp_client_retries_after_a_lost_reply() {
    let Some(ns) = namespace("client-retry") else {
        return;
    };
    let server = course_server(&ns, 1, 1);
    let capture = TempFile::new("demo-udp-client-retry");
    let path = capture.path().to_str().unwrap();
    let client = start_demo(
        &ns,
        UDP_CLIENT,
        &[
            "--timeout",
            "200ms",
            "--message",
            "again",
            "--capture",
            path,
        ],
    );
    let exited = client.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert!(
        exited
            .stdout
            .contains(&"No reply within 0.20 s".to_string()),
        "{exited:?}"
    );
    let delay = retry_delay(&exited, 1);
    assert!(
        (0.5..=0.75).contains(&delay),
        "0.5 s plus up to 50%: {delay}"
    );
    assert_eq!(
        server.join().unwrap().len(),
        2,
        "the first try and the retry"
    );

    let mut fields = DEFAULT_FIELDS.to_vec();
    fields.push("frame.time_relative");
    let frames = tshark_check_fields(capture.path(), &fields);
    let [first, retry, reply] = &frames[..] else {
        panic!("two tries and one reply: {frames:#?}");
    };
    assert_eq!(first.direction(), Some(Direction::Outbound));
    assert_eq!(retry.direction(), Some(Direction::Outbound));
    assert_eq!(reply.direction(), Some(Direction::Inbound));
    // On the wire: the timeout, then the backoff the client printed (give or take scheduling).
    let gap = time_relative(retry) - time_relative(first);
    assert!(
        gap >= 0.2 + delay - 0.01 && gap < 0.2 + delay + 0.5,
        "gap {gap} s, delay {delay} s"
    );
}

#[test]
fn udp_client_gives_up_after_its_retries_when_nobody_listens() {
    let Some(ns) = namespace("client-refused") else {
        return;
    };
    let capture = TempFile::new("demo-udp-client-refused");
    let path = capture.path().to_str().unwrap();
    let client = start_demo(
        &ns,
        UDP_CLIENT,
        &["--timeout", "200ms", "--retries", "2", "--capture", path],
    );
    let exited = client.wait_within(EXIT).unwrap();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    let refused = exited
        .stdout
        .iter()
        .filter(|line| line.starts_with("No server at 10.77.0.1:9001: connection refused"))
        .count();
    assert_eq!(refused, 3, "{exited:?}");
    let (first, second) = (retry_delay(&exited, 1), retry_delay(&exited, 2));
    assert!((0.5..=0.75).contains(&first), "{first}");
    assert!((1.0..=1.5).contains(&second), "the wait doubles: {second}");
    assert!(
        exited
            .stderr
            .contains("no reply from 10.77.0.1:9001 after 3 tries"),
        "{exited:?}"
    );

    // Three datagrams out, three ICMP port unreachable back from Linux.
    let frames = tshark_check(capture.path());
    assert_eq!(frames.len(), 6, "{frames:#?}");
    for pair in frames.chunks(2) {
        assert_eq!(pair[0].num("udp.dstport"), Some(9001));
        assert_eq!(
            (pair[1].num("icmp.type"), pair[1].num("icmp.code")),
            (Some(3), Some(3))
        );
    }
}

#[test]
fn without_cap_net_admin_a_demo_says_to_use_sudo() {
    let Some(ns) = namespace("unprivileged") else {
        return;
    };
    let demos = [
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
    for (program, name) in demos {
        let Some(mut command) = unprivileged(&ns, program) else {
            skip_or_fail(
                "neither setpriv nor capsh is installed to drop privileges \
                 (Debian: apt-get install util-linux)",
            );
            return;
        };
        let output = output_within(&mut command, EXIT).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name} is not ready");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with(&format!("{name}: ")) && stderr.contains("sudo"),
            "{stderr}"
        );
        assert!(stderr.contains("CAP_NET_ADMIN"), "{stderr}");
    }
    let links = output_within(&mut ns.exec("ip", &["-o", "link"]), EXIT).unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains("tun0"), "no device was made: {links}");
}

/// `--addr` or `--peer` on the network or broadcast address: refused in one line that says
/// which addresses would do, before any device is made. (In a namespace all the same: a demo
/// that took the address would make its device there, not in the host's network.)
#[test]
fn a_network_or_broadcast_address_is_refused_before_any_device_is_made() {
    let Some(ns) = namespace("bad-addr") else {
        return;
    };
    let usable = "usable host addresses are 10.77.0.1 to 10.77.0.254";
    let cases = [
        (
            UDP_ECHO,
            "udp-echo",
            ["--addr", "10.77.0.255", "--peer", "10.77.0.1/24"],
            "--addr: 10.77.0.255 is the broadcast address of 10.77.0.0/24",
        ),
        (
            TCP_ECHO,
            "tcp-echo",
            ["--addr", "10.77.0.0", "--peer", "10.77.0.1/24"],
            "--addr: 10.77.0.0 is the network address of 10.77.0.0/24",
        ),
        (
            TCP_ECHO,
            "tcp-echo",
            ["--addr", "10.77.0.2", "--peer", "10.77.0.255/24"],
            "--peer: 10.77.0.255 is the broadcast address of 10.77.0.0/24",
        ),
    ];
    for (program, name, args, why) in cases {
        let output = output_within(&mut ns.exec(program, &args), EXIT).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name} is not ready");
        assert_eq!(stderr.trim_end(), format!("{name}: {why}; {usable}"));
    }
    let links = output_within(&mut ns.exec("ip", &["-o", "link"]), EXIT).unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains("tun0"), "no device was made: {links}");
}

/// A device name that is taken, as `tun0` is while OpenVPN (or another demo) runs: the demo
/// says which device and how to choose another, in one line.
#[test]
fn a_taken_device_name_says_which_and_how_to_choose_another() {
    let Some(ns) = namespace("taken") else {
        return;
    };
    // The error a demo prints when `args` name a device it cannot have: one line, starting
    // with `starts` and ending with how to choose another name (or a shorter one).
    let refused = |program: &str, name: &str, args: &[&str], starts: &str| {
        let output = output_within(&mut ns.exec(program, args), EXIT).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name} is not ready");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with(&format!("{name}: {starts}")), "{stderr}");
        let how = " name with --tun NAME, e.g. --tun tunstack0";
        assert!(stderr.trim_end().ends_with(how), "{stderr}");
    };
    // Another program holds tun0 (here another demo, as OpenVPN would).
    let first = start_demo(&ns, UDP_ECHO, &[]);
    let busy = "tun0 is in use by another program, perhaps OpenVPN";
    refused(TCP_ECHO, "tcp-echo", &[], busy);
    first.interrupt().unwrap();
    first.wait_within(EXIT).unwrap();

    // An interface of another kind has the name: a TAP device.
    let tap = ["tuntap", "add", "dev", "tun0", "mode", "tap"];
    let added = output_within(&mut ns.exec("ip", &tap), EXIT).unwrap();
    assert!(added.status.success(), "{added:?}");
    let other = "tun0 exists and is another kind of device";
    refused(UDP_ECHO, "udp-echo", &[], other);

    // Names no interface may have.
    let invalid = "`tun/0` is not a name Linux gives an interface";
    refused(UDP_ECHO, "udp-echo", &["--tun", "tun/0"], invalid);
    let long = "interface name `a-name-too-long-0` is longer than 15 bytes";
    refused(UDP_ECHO, "udp-echo", &["--tun", "a-name-too-long-0"], long);
}

#[test]
fn udp_client_help_explains_every_option() {
    let output = output_within(Command::new(UDP_CLIENT).arg("--help"), EXIT).unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--to <ADDR:PORT>",
        "--message <TEXT>",
        "--timeout <DURATION>",
        "--retries <N>",
        "--count <N>",
        "--tun <NAME>",
        "--addr <IP>",
        "--peer <IP/PREFIX>",
        "--capture <FILE>",
        "[default: 10.77.0.1:9001]",
        "[default: hello]",
        "[default: 1s]",
        "[default: 5]",
        "call_with_retry",
        "Got your datagram!",
    ] {
        assert!(help.contains(option), "--help lacks {option:?}:\n{help}");
    }
}

#[test]
fn tcp_echo_echoes_a_linux_socket_and_nc_and_stops_cleanly_on_ctrl_c() {
    let Some(ns) = namespace("tcp-echo") else {
        return;
    };
    let capture = TempFile::new("demo-tcp-echo");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, TCP_ECHO, &["--capture", path]);

    // A Linux socket: 4 KiB out, our FIN after the echo, Linux's close.
    let sent: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut linux = linux_tcp_connect(&ns, (STACK, 7)).unwrap();
    linux.write_all(&sent).unwrap();
    linux.shutdown(Shutdown::Write).unwrap();
    let mut echoed = Vec::new();
    linux.read_to_end(&mut echoed).unwrap();
    assert!(echoed == sent, "4 KiB come back byte-exact");
    drop(linux);

    // nc, as the demo's "try:" line says; -N sends our FIN once its input ends.
    let nc = "printf 'hello through nc\\n' | nc -N -w 3 10.77.0.2 7";
    let output = output_within(&mut ns.exec("sh", &["-c", nc]), EXIT).unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"hello through nc\n");

    // The last ACK of each close is on its way through the device: Ctrl-C once the demo has
    // read both (its capture shows them).
    wait_for_closes_in_capture(capture.path(), 2, EVENT).unwrap();
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "tcp-echo");
    assert!(exited.stderr.contains("tcp-echo: stopped"), "{exited:?}");

    let conversations = complete_connections(&ns, &capture);
    let [socket, nc] = &conversations[..] else {
        panic!("the socket's connection and nc's: {conversations:#?}");
    };
    for conversation in [socket, nc] {
        assert_eq!(conversation.client_direction, Some(Direction::Inbound));
        assert_eq!(conversation.server, SocketAddr::from((STACK, 7)));
    }
    assert_eq!(
        (socket.bytes_from_client, socket.bytes_from_server),
        (4096, 4096)
    );
    assert_eq!((nc.bytes_from_client, nc.bytes_from_server), (17, 17));
}

/// `--offload`: 16 MiB through tcp-echo from a Linux socket, both ways at once, every byte
/// checked; the capture holds super-packets each way, each saying how many segments it stands
/// for, and tshark finds it clean (checksums completed in the capture).
#[test]
fn tcp_echo_with_offload_echoes_through_super_packets() {
    let Some(ns) = namespace("tcp-echo-offload") else {
        return;
    };
    let capture = TempFile::new("demo-tcp-echo-offload");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, TCP_ECHO, &["--offload", "--capture", path]);
    const BULK: usize = 16 << 20;
    let sent: Vec<u8> = (0..BULK).map(|i| (i * 7 % 251) as u8).collect();
    let mut linux = linux_tcp_connect(&ns, (STACK, 7)).unwrap();
    let mut reader = linux.try_clone().unwrap();
    let echo = std::thread::spawn(move || {
        let mut echoed = Vec::new();
        reader.read_to_end(&mut echoed).map(|_| echoed)
    });
    linux.write_all(&sent).unwrap();
    linux.shutdown(Shutdown::Write).unwrap();
    let echoed = echo.join().unwrap().unwrap();
    assert!(echoed == sent, "16 MiB come back byte-exact");
    drop(linux);
    wait_for_closes_in_capture(capture.path(), 1, EVENT).unwrap();
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");

    let [conversation] = &complete_connections(&ns, &capture)[..] else {
        panic!("one connection");
    };
    assert_eq!(
        (
            conversation.bytes_from_client,
            conversation.bytes_from_server
        ),
        (BULK as u64, BULK as u64)
    );
    // Wireshark's direction: 1 received (from the kernel), 0 sent (by the demo).
    for (direction, kind) in [(1, "GSO"), (0, "TSO")] {
        let filter = format!(
            "frame.len > 1500 && frame.p2p_dir == {direction} && \
             frame.comment contains \"{kind} super-packet\""
        );
        let supers = tshark_filter(capture.path(), &filter).unwrap();
        assert!(!supers.is_empty(), "no {kind} super-packets in the capture");
    }
}

#[test]
fn tcp_echo_probes_a_silent_client_with_keepalives() {
    let Some(ns) = namespace("tcp-echo-keepalive") else {
        return;
    };
    let capture = TempFile::new("demo-tcp-echo-keepalive");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, TCP_ECHO, &["--keepalive", "300ms", "--capture", path]);
    // A client that connects and says nothing until the demo has probed it twice, then talks:
    // the kernel answers the probes, so the connection is still there.
    let mut linux = linux_tcp_connect(&ns, (STACK, 7)).unwrap();
    wait_for(EVENT, || probed(capture.path(), 2)).unwrap();
    linux.write_all(b"still here").unwrap();
    linux.shutdown(Shutdown::Write).unwrap();
    let mut echoed = Vec::new();
    linux.read_to_end(&mut echoed).unwrap();
    assert_eq!(echoed, b"still here");
    drop(linux);
    wait_for_closes_in_capture(capture.path(), 1, EVENT).unwrap();
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");

    // Wireshark names the probes and the kernel's answers, and shows our comment on each probe.
    let frames = tshark_check_fields(capture.path(), DEFAULT_FIELDS);
    let probes: Vec<&Frame> = frames
        .iter()
        .filter(|f| {
            f.direction() == Some(Direction::Outbound)
                && f.get("frame.comment")
                    .is_some_and(|c| c.starts_with("keep-alive probe"))
        })
        .collect();
    let summary: Vec<String> = frames
        .iter()
        .map(|f| {
            let info = f.get("_ws.col.Info").unwrap_or("");
            format!("{info} ({})", f.get("frame.comment").unwrap_or(""))
        })
        .collect();
    assert!(probes.len() >= 2, "{summary:#?}");
    let keepalives = tunstack_tests::tshark_filter(capture.path(), "tcp.analysis.keep_alive")
        .unwrap()
        .len();
    assert_eq!(keepalives, probes.len(), "{summary:#?}");
    // The kernel answers, but at most one probe without data per 500 ms (its
    // tcp_invalid_ratelimit), so not every one of these 300 ms probes; enough of them that the
    // connection lived on. (Its first answer may also open its window further, and Wireshark
    // then names it a window update instead.)
    let answers = "tcp.analysis.keep_alive_ack || tcp.analysis.window_update";
    let answers = tunstack_tests::tshark_filter(capture.path(), answers)
        .unwrap()
        .iter()
        .filter(|f| f.direction() == Some(Direction::Inbound))
        .count();
    assert!(answers >= 1, "{summary:#?}");
}

/// Whether the capture so far shows at least `probes` keep-alive probes from the demo and an
/// answer from the kernel (Wireshark names the first answer a window update when it also opens
/// the kernel's window further); if not, what it shows.
fn probed(capture: &Path, probes: usize) -> Result<(), String> {
    let filter = "(tcp.analysis.keep_alive && frame.packet_flags_direction == 2) \
        || ((tcp.analysis.keep_alive_ack || tcp.analysis.window_update) \
            && frame.packet_flags_direction == 1)";
    let frames = tshark_filter(capture, filter).map_err(unfinished_read)?;
    let sent = frames
        .iter()
        .filter(|f| f.direction() == Some(Direction::Outbound))
        .count();
    let answers = frames.len() - sent;
    match sent >= probes && answers >= 1 {
        true => Ok(()),
        false => Err(format!("{sent} probes, {answers} answers")),
    }
}

/// Deletes `ns`'s tun0 under a running demo, and returns how it ended and how long after the
/// deletion that was.
fn delete_tun0_under(ns: &NetNs, demo: tunstack_tests::Running) -> (Exited, Duration) {
    let deleted = output_within(&mut ns.exec("ip", &["link", "del", "tun0"]), EXIT).unwrap();
    assert!(deleted.status.success(), "{deleted:?}");
    let started = std::time::Instant::now();
    let exited = demo.wait_within(EXIT).unwrap();
    (exited, started.elapsed())
}

/// Checks that a demo whose device was deleted said so and failed, promptly: it notices
/// within milliseconds, and five seconds leave room for a busy machine (a demo that did not
/// notice would wait for its clients for ever).
fn assert_ended_by_the_deletion(program: &str, exited: &Exited, took: Duration) {
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    let said = format!("\n{program}: the link went down: tun0 was deleted (");
    assert!(exited.stderr.contains(&said), "{exited:?}");
    assert!(took < Duration::from_secs(5), "{took:?}: {exited:?}");
}

#[test]
fn tcp_echo_says_so_and_exits_when_its_device_is_deleted_under_a_client() {
    let Some(ns) = namespace("tcp-echo-deleted") else {
        return;
    };
    let demo = start_demo(&ns, TCP_ECHO, &[]);
    let mut linux = linux_tcp_connect(&ns, (STACK, 7)).unwrap();
    linux.write_all(b"before").unwrap();
    let mut echoed = [0; 6];
    linux.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"before");

    let (exited, took) = delete_tun0_under(&ns, demo);
    assert_ended_by_the_deletion("tcp-echo", &exited, took);
    assert!(exited.stderr.contains("tcp-echo: stopped"), "{exited:?}");
}

#[test]
fn udp_echo_and_http_server_exit_when_their_device_is_deleted() {
    let Some(ns) = namespace("servers-deleted") else {
        return;
    };
    for (program, name) in [(UDP_ECHO, "udp-echo"), (HTTP_SERVER, "http-server")] {
        let demo = start_demo(&ns, program, &[]);
        let (exited, took) = delete_tun0_under(&ns, demo);
        assert_ended_by_the_deletion(name, &exited, took);
    }
}

#[test]
fn tcp_client_gets_the_course_servers_reply() {
    let Some(ns) = namespace("tcp-client") else {
        return;
    };
    let server = course_tcp_server(&ns, 1);
    let capture = TempFile::new("demo-tcp-client");
    let path = capture.path().to_str().unwrap();
    let client = start_demo(&ns, TCP_CLIENT, &["--capture", path]);
    let exited = client.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "tcp-client");
    assert!(
        exited
            .stdout
            .contains(&"Server said: Hello, network!".to_string()),
        "{exited:?}"
    );
    let port = ephemeral_port(&exited);
    assert!((49152..=65535).contains(&port), "{port}");
    let connected = format!("Connected to 10.77.0.1:9000 from 10.77.0.2:{port} (handshake ");
    assert!(
        exited
            .stdout
            .iter()
            .any(|line| line.starts_with(&connected)),
        "{exited:?}"
    );
    let got = server.join().unwrap().unwrap();
    assert_eq!(got, [(b"Hello, network!".to_vec(), (STACK, port).into())]);

    let conversations = complete_connections(&ns, &capture);
    let [conversation] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    assert_eq!(conversation.client_direction, Some(Direction::Outbound));
    assert_eq!(conversation.client, SocketAddr::from((STACK, port)));
    assert_eq!(conversation.server, SocketAddr::from((KERNEL, 9000)));
    assert_eq!(
        (
            conversation.bytes_from_client,
            conversation.bytes_from_server
        ),
        (15, 15)
    );
}

#[test]
fn tcp_client_says_when_nobody_listens() {
    let Some(ns) = namespace("tcp-client-refused") else {
        return;
    };
    let capture = TempFile::new("demo-tcp-client-refused");
    let path = capture.path().to_str().unwrap();
    let client = start_demo(&ns, TCP_CLIENT, &["--capture", path]);
    let exited = client.wait_within(EXIT).unwrap();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains(
            "tcp-client: 10.77.0.1:9000 refused the connection (it answered our SYN with a \
             reset): nothing listens on port 9000 there; start the server first (see --help)"
        ),
        "{exited:?}"
    );
    assert!(!exited.stdout.iter().any(|l| l.starts_with("Server said")));

    let frames = tshark_check(capture.path());
    let [syn, rst] = &frames[..] else {
        panic!("our SYN and Linux's reset: {frames:#?}");
    };
    assert_eq!(syn.direction(), Some(Direction::Outbound));
    assert_eq!(syn.num("tcp.flags"), Some(0x002));
    assert_eq!(rst.direction(), Some(Direction::Inbound));
    assert_eq!(rst.num("tcp.flags"), Some(0x014), "RST|ACK");
}

/// Makes the kernel in `ns` drop every TCP segment to port 9000, as a firewall would, so that
/// a SYN gets no answer at all. `false` (after saying why) when nft cannot run here.
fn drop_port_9000(ns: &NetNs) -> bool {
    let rules = "add table inet tunstack; \
                 add chain inet tunstack input { type filter hook input priority 0; policy accept; }; \
                 add rule inet tunstack input tcp dport 9000 drop";
    match output_within(&mut ns.exec("nft", &[rules]), EXIT) {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            skip_or_fail(&format!(
                "nft failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            false
        }
        Err(err) => {
            skip_or_fail(&format!(
                "cannot run nft ({err}); Debian: apt-get install nftables"
            ));
            false
        }
    }
}

#[test]
fn tcp_client_says_when_no_answer_comes() {
    let Some(ns) = namespace("tcp-client-silent") else {
        return;
    };
    if !drop_port_9000(&ns) {
        return;
    }
    let client = start_demo(&ns, TCP_CLIENT, &["--timeout", "300ms"]);
    let exited = client.wait_within(EXIT).unwrap();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains(
            "tcp-client: no answer from 10.77.0.1:9000 within 0.30 s: no SYN-ACK came back"
        ),
        "{exited:?}"
    );
}

#[test]
fn tcp_rtt_times_handshakes_with_a_linux_listener() {
    let Some(ns) = namespace("tcp-rtt") else {
        return;
    };
    let server = course_tcp_server(&ns, 3);
    let capture = TempFile::new("demo-tcp-rtt");
    let path = capture.path().to_str().unwrap();
    let rtt = start_demo(&ns, TCP_RTT, &["--samples", "3", "--capture", path]);
    let exited = rtt.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "tcp-rtt");

    let mut ports = Vec::new();
    for sample in 1..=3 {
        let prefix = format!("Sample {sample}: ");
        let line = exited
            .stdout
            .iter()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no sample {sample}: {exited:?}"));
        let (ms, port) = line
            .strip_suffix(')')
            .and_then(|l| l.split_once(" ms (connect + close, from port "))
            .unwrap_or_else(|| panic!("{line}"));
        let ms: f64 = ms.parse().unwrap();
        assert!(0.0 < ms && ms < 1000.0, "{line}");
        ports.push(port.parse::<u16>().unwrap());
    }
    let (stats, [min, avg, max]) = rtt_stats(&exited);
    assert!(0.0 < min && min <= avg && avg <= max, "{stats}");

    let got = server.join().unwrap().unwrap();
    let clients: Vec<SocketAddr> = got.iter().map(|(_, client)| *client).collect();
    let want: Vec<SocketAddr> = ports.iter().map(|&p| (STACK, p).into()).collect();
    assert_eq!(clients, want, "one connection per sample, nothing sent");
    assert!(got.iter().all(|(data, _)| data.is_empty()));

    let conversations = complete_connections(&ns, &capture);
    assert_eq!(conversations.len(), 3, "{conversations:#?}");
}

#[test]
fn tcp_client_and_tcp_rtt_help_explain_every_option() {
    let common = [
        "--to <ADDR:PORT>",
        "--timeout <DURATION>",
        "--tun <NAME>",
        "--addr <IP>",
        "--peer <IP/PREFIX>",
        "--capture <FILE>",
        "[default: 10.77.0.1:9000]",
        "[default: 5s]",
    ];
    let client_only = [
        "--message <TEXT>",
        "[default: \"Hello, network!\"]",
        "server.py",
        "Server said",
    ];
    let rtt_only = ["--samples <N>", "[default: 10]", "RTT Stats", "measure_rtt"];
    for (program, own) in [(TCP_CLIENT, &client_only[..]), (TCP_RTT, &rtt_only[..])] {
        let output = output_within(Command::new(program).arg("--help"), EXIT).unwrap();
        assert!(output.status.success());
        let help = String::from_utf8_lossy(&output.stdout);
        for option in common.iter().chain(own) {
            assert!(
                help.contains(option),
                "{program} --help lacks {option:?}:\n{help}"
            );
        }
    }
}
