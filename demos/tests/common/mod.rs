//! What the demo suites share: a namespace per run, starting a demo and checking how its output
//! begins, the ephemeral port a client reports, complete TCP connections in a capture.
// Each suite is its own test binary and uses only part of this module.
#![allow(dead_code)]

use std::time::Duration;

use tunstack::device::netns::NetNs;
use tunstack_tests::{tshark_tcp_check, tun_tests_can_run, Exited, Running, TempFile};

/// How long a demo may take to create its device and say it is ready.
pub const READY: Duration = Duration::from_secs(10);

/// How long a demo may take to finish once it has nothing left to do (or was told to stop).
pub const EXIT: Duration = Duration::from_secs(10);

/// How long a test waits for an event in a running demo's capture (its connections' last
/// ACKs, a keep-alive probe). The test goes on as soon as the event is there; only an event
/// that never comes waits this long, and fails the test.
pub const EVENT: Duration = Duration::from_secs(30);

/// A namespace for one demo run, or `None` (after printing why) when TUN tests cannot run here.
///
/// The kernel's tail loss probe is off in it, as in `TunNet`'s namespaces: the probe fires a
/// few milliseconds after the kernel's last segment goes unacknowledged, and a demo process
/// that the machine's other tests keep from running that long (a debug build, two CPUs, wrk
/// at full load next door) would show a retransmission in its capture that no loss caused.
/// The checks that no segment is retransmitted are about our stack, not the scheduler.
pub fn namespace(label: &str) -> Option<NetNs> {
    if !tun_tests_can_run() {
        return None;
    }
    let ns = NetNs::create(&format!("tunstack-demo-{label}")).unwrap();
    ns.run(|| std::fs::write("/proc/sys/net/ipv4/tcp_early_retrans", "0"))
        .unwrap()
        .unwrap();
    Some(ns)
}

/// Starts `program args...` inside `ns` and waits for its ready line.
pub fn start_demo(ns: &NetNs, program: &str, args: &[&str]) -> Running {
    let mut demo = Running::spawn(&mut ns.exec(program, args)).unwrap();
    demo.wait_for_line("ready", READY).unwrap();
    demo
}

/// Checks how a demo's output begins: exactly one ready line, first, then the "try:" hint.
pub fn assert_ready_then_hint(exited: &Exited, program: &str) {
    let stdout = &exited.stdout;
    assert!(
        stdout.len() >= 2 && stdout[0].starts_with(&format!("{program} ready: ")),
        "{stdout:?}"
    );
    assert!(stdout[1].starts_with("try: "), "{stdout:?}");
    let readies = stdout.iter().filter(|line| line.contains("ready")).count();
    assert_eq!(readies, 1, "{stdout:?}");
}

/// The port in the client's "My ephemeral port was: N" line.
pub fn ephemeral_port(exited: &Exited) -> u16 {
    let line = exited
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix("My ephemeral port was: "))
        .unwrap_or_else(|| panic!("no ephemeral port line: {exited:?}"));
    line.parse().unwrap()
}

/// Checks a TCP demo's capture: clean (tshark_tcp_check) and every connection complete; returns
/// the connections.
pub fn complete_connections(capture: &TempFile) -> Vec<tunstack_tests::TcpConversation> {
    let conversations = tshark_tcp_check(capture.path());
    for conversation in &conversations {
        if let Err(why) = conversation.check_complete() {
            panic!("{why}");
        }
    }
    conversations
}
