//! dns-lookup against the Linux side's name server, dnsmasq, over TUN: the course's
//! measure_dns_lookup on our stack, with the cache and its TTL, truncation and TCP, timeouts
//! with backoff, and NXDOMAIN. Each test runs in a namespace of its own (root; skipped with a
//! reason otherwise, failed under CI).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{assert_ready_then_hint, installed, namespace, start_demo, EXIT};
use tunstack::device::netns::NetNs;
use tunstack_tests::{tshark_check_fields, Direction, Exited, Running, TempFile};

const DNS_LOOKUP: &str = env!("CARGO_BIN_EXE_dns-lookup");

/// dnsmasq in `ns` for course.test: www has an A and an AAAA record with `ttl`, big has TXT
/// records that do not fit 512 bytes, every other name under course.test does not exist.
fn dnsmasq(ns: &NetNs, ttl: u32) -> Running {
    let big: Vec<String> = (0..6)
        .map(|i| {
            format!(
                "--txt-record=big.course.test,{}",
                format!("{i}").repeat(120)
            )
        })
        .collect();
    let mut args = vec![
        format!("--local-ttl={ttl}"),
        "--host-record=www.course.test,10.77.0.1,fd77::1".to_string(),
    ];
    args.extend(big);
    common::dnsmasq(ns, &args)
}

fn can_run(label: &str) -> Option<NetNs> {
    if !installed("dnsmasq", "dnsmasq-base") {
        return None;
    }
    namespace(label)
}

fn run(ns: &NetNs, args: &[&str]) -> Exited {
    let demo = start_demo(ns, DNS_LOOKUP, args);
    demo.wait_within(EXIT + Duration::from_secs(10)).unwrap()
}

/// The lines that report a lookup: `name → ...` or `DNS lookup failed: ...`.
fn lookups(exited: &Exited) -> Vec<&str> {
    exited
        .stdout
        .iter()
        .filter(|line| line.contains(" → ") || line.starts_with("DNS lookup failed"))
        .map(String::as_str)
        .collect()
}

/// The milliseconds in a lookup line's `(12.34ms)`.
fn millis(line: &str) -> f64 {
    let start = line.find(" (").unwrap() + 2;
    let end = line.find("ms)").unwrap();
    line[start..end].parse().unwrap()
}

/// DNS frames of a capture, checked clean by tshark, with their IDs and flags.
fn dns_frames(path: &Path) -> Vec<tunstack_tests::Frame> {
    let fields = [
        "frame.number",
        "frame.time_relative",
        "frame.packet_flags_direction",
        "dns.id",
        "dns.flags.response",
        "dns.flags.truncated",
        "dns.qry.name",
        "tcp.stream",
        "udp.srcport",
    ];
    tshark_check_fields(path, &fields)
        .into_iter()
        .filter(|frame| frame.get("dns.id").is_some())
        .collect()
}

#[test]
fn a_second_lookup_comes_from_the_cache_until_the_ttl_runs_out() {
    let Some(ns) = can_run("dns-cache") else {
        return;
    };
    let _server = dnsmasq(&ns, 2);
    let capture = TempFile::new("dns-lookup-cache");
    let exited = run(
        &ns,
        &[
            "www.course.test",
            "localhost",
            "--repeat",
            "3",
            "--interval",
            "1.2s",
            "--capture",
            capture.path().to_str().unwrap(),
        ],
    );
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "dns-lookup");
    let lines = lookups(&exited);
    assert_eq!(lines.len(), 6, "{exited:?}");
    let www = "www.course.test → 10.77.0.1, fd77::1 (";
    assert!(
        lines[0].starts_with(www) && lines[0].ends_with("over UDP, 1 query each for A and AAAA"),
        "{lines:?}"
    );
    // A then AAAA, one round trip each.
    assert!(millis(lines[0]) > 0.0);
    assert!(
        // No round trip: the time is how long the lookup took to run (0.00 or 0.01 ms, but a
        // busy machine may take longer), so only the shape is checked.
        lines[1].starts_with("localhost → 127.0.0.1, ::1 (") && lines[1].contains("ms)"),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with("never leaves the machine: localhost is this host (for A and AAAA)"),
        "{lines:?}"
    );
    // 1.2 s later: 0.8 s of the 2 s TTL left, shown in whole seconds.
    assert!(
        lines[2].starts_with(www) && lines[2].contains("from the cache, TTL 0 s left"),
        "{lines:?}"
    );
    assert!(millis(lines[2]) < 1.0, "{lines:?}");
    // 2.4 s after the first: the TTL ran out, asked again.
    assert!(
        lines[4].starts_with(www) && lines[4].ends_with("over UDP, 1 query each for A and AAAA"),
        "{lines:?}"
    );

    // Two rounds of two queries (A, AAAA) on the wire, each answered; localhost never.
    let frames = dns_frames(capture.path());
    let queries: Vec<_> = frames
        .iter()
        .filter(|f| f.num("dns.flags.response") == Some(0))
        .collect();
    let answers: Vec<_> = frames
        .iter()
        .filter(|f| f.num("dns.flags.response") == Some(1))
        .collect();
    assert_eq!((queries.len(), answers.len()), (4, 4), "{frames:#?}");
    for query in &queries {
        assert_eq!(query.direction(), Some(Direction::Outbound));
        assert_eq!(query.get("dns.qry.name"), Some("www.course.test"));
    }
    // A fresh ephemeral port per lookup (RFC 5452).
    let mut ports: Vec<_> = queries
        .iter()
        .filter_map(|q| q.num("udp.srcport"))
        .collect();
    ports.dedup();
    assert_eq!(ports.len(), 4, "{ports:?}");
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    let Some(ns) = can_run("dns-tc") else {
        return;
    };
    let _server = dnsmasq(&ns, 60);
    let capture = TempFile::new("dns-lookup-tc");
    let exited = run(
        &ns,
        &[
            "big.course.test",
            "--type",
            "TXT",
            "--repeat",
            "1",
            "--capture",
            capture.path().to_str().unwrap(),
        ],
    );
    assert!(exited.status.success(), "{exited:?}");
    let lines = lookups(&exited);
    assert_eq!(lines.len(), 1, "{exited:?}");
    assert!(
        lines[0].ends_with("over TCP, after 1 UDP answer came back truncated"),
        "{lines:?}"
    );
    for i in 0..6 {
        assert!(lines[0].contains(&format!("{i}").repeat(120)), "{lines:?}");
    }
    let frames = dns_frames(capture.path());
    let truncated = frames
        .iter()
        .filter(|f| f.num("dns.flags.truncated") == Some(1))
        .count();
    let over_tcp = frames
        .iter()
        .filter(|f| f.get("tcp.stream").is_some())
        .count();
    assert_eq!((truncated, over_tcp), (1, 2), "{frames:#?}");
}

#[test]
fn no_answer_means_retries_with_longer_waits_then_a_clear_failure() {
    let Some(ns) = namespace("dns-timeout") else {
        return;
    };
    // A server on the kernel's side that hears every query and never answers.
    let _silent = tunstack_tests::linux_udp(&ns, ([0, 0, 0, 0], 5353)).unwrap();
    let capture = TempFile::new("dns-lookup-timeout");
    let exited = run(
        &ns,
        &[
            "www.course.test",
            "--type",
            "A",
            "--server",
            "10.77.0.1:5353",
            "--repeat",
            "1",
            "--timeout",
            "200ms",
            "--capture",
            capture.path().to_str().unwrap(),
        ],
    );
    assert!(!exited.status.success(), "{exited:?}");
    let lines = lookups(&exited);
    assert_eq!(lines.len(), 1, "{exited:?}");
    assert!(
        lines[0].starts_with(
            "DNS lookup failed: www.course.test: no answer from 10.77.0.1:5353 to 3 queries"
        ),
        "{lines:?}"
    );
    let frames = dns_frames(capture.path());
    let sent: Vec<f64> = frames
        .iter()
        .filter(|f| f.direction() == Some(Direction::Outbound))
        .map(|f| f.get("frame.time_relative").unwrap().parse().unwrap())
        .collect();
    assert_eq!(sent.len(), 3, "{frames:#?}");
    // At least 0.2 s, then at least 0.4 s (each with up to half again of jitter, 0.3 s and
    // 0.6 s at most, and a busy machine adds to both): the wait doubles.
    let (first, second) = (sent[1] - sent[0], sent[2] - sent[1]);
    assert!(first >= 0.2 && second >= 0.4 && second > first, "{sent:?}");
}

#[test]
fn a_name_that_does_not_exist_fails_with_nxdomain() {
    let Some(ns) = can_run("dns-nx") else {
        return;
    };
    let _server = dnsmasq(&ns, 60);
    let exited = run(
        &ns,
        &["nope.course.test", "www.course.test", "--repeat", "1"],
    );
    assert!(!exited.status.success(), "one lookup failed: {exited:?}");
    let lines = lookups(&exited);
    assert_eq!(lines.len(), 2, "{exited:?}");
    assert!(
        lines[0].starts_with(
            "DNS lookup failed: nope.course.test: nope.course.test. does not exist (NXDOMAIN)"
        ),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("www.course.test → 10.77.0.1, fd77::1"),
        "{lines:?}"
    );
}

#[test]
fn a_port_nobody_serves_fails_at_once() {
    let Some(ns) = namespace("dns-refused") else {
        return;
    };
    let exited = run(&ns, &["www.course.test", "--repeat", "1"]);
    assert!(!exited.status.success(), "{exited:?}");
    let lines = lookups(&exited);
    assert_eq!(
        lines,
        [
            "DNS lookup failed: www.course.test: nothing serves DNS at 10.77.0.1:53: it answered \
          with ICMP port unreachable (start a name server there, or give another with \
          --server/--dns)"
        ],
        "{exited:?}"
    );
}
