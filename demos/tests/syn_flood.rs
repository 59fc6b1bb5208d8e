//! tcp-echo under a SYN flood (RFC 4987): hping3 sends SYNs at full speed from a spoofed
//! address, while Linux clients connect, send a line and read its echo.
//!
//! ```text
//!   namespace: only lo and tun0
//!  ┌───────────────────────────────────────────────────────────────────────────────┐
//!  │  hping3 --flood -a 10.77.0.99 ──► SYN ──► tun0 ──► tcp-echo 10.77.0.2:7      │
//!  │  Linux clients 10.77.0.1      ◄─────────► tun0 ◄─► (SYN queue full: cookies) │
//!  │  SYN-ACKs to 10.77.0.99: the kernel does not forward, it drops them          │
//!  └───────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! The listener's SYN queue (256 half-open connections) is full within the first milliseconds;
//! from then on every SYN is answered with a SYN cookie and remembered nowhere, so the flood
//! costs no memory, and a real client's ACK brings its cookie back and opens its connection.
//!
//! Its own test binary: a flood at full speed takes a CPU, and would slow the timed tests of the
//! other suites. Needs root, `/dev/net/tun` and hping3; without them it prints `skipped: <why>`
//! and passes, except under CI, which must run it.

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{namespace, start_demo, EVENT, EXIT};
use tunstack::device::netns::NetNs;
use tunstack_tests::{
    linux_tcp_connect, output_within, skip_or_fail, wait_for, Exited, Nstat, Running, STACK,
};

mod common;

const TCP_ECHO: &str = env!("CARGO_BIN_EXE_tcp-echo");

/// The flood's source: on tun0's network, so the SYN-ACKs go back into the namespace, where no
/// host has it (the kernel, not forwarding, drops them).
const SPOOFED: &str = "10.77.0.99";

/// How many SYNs the flood sends at least.
const FLOOD: u64 = 100_000;

/// The flood is under way once this many packets went to tun0 (the SYN queue is long full).
const UNDER_WAY: u64 = 10_000;

/// How many clients connect during the flood, one after the other.
const CLIENTS: usize = 5;

/// The most packets one client sends to tun0 (handshake, line, ACKs, FIN: about six): the
/// count of packets to tun0 has the clients' in it as well as hping3's SYNs.
const CLIENT_PACKETS: u64 = 20;

/// How long each may take, from connect to its echo: less than a lost SYN's retry.
const WITHIN: Duration = Duration::from_secs(1);

/// How far the demo's resident memory may move from where it was before the flood, in KiB.
const MEMORY_SLACK_KIB: u64 = 10 * 1024;

#[test]
fn tcp_echo_serves_linux_clients_within_a_second_through_a_syn_flood() {
    let Some(ns) = namespace("syn-flood") else {
        return;
    };
    if !hping3_installed() {
        return;
    }
    let started = Instant::now();
    let demo = start_demo(&ns, TCP_ECHO, &[]);
    // Two connections first, so that the memory a first connection takes (its task, the
    // echo's buffer, the allocator's arenas) is in the starting figure: the flood's share is
    // what is measured.
    for n in 0..2 {
        echo(&ns, &format!("warm-up {n}\n")).unwrap();
    }
    let rss_before = memory_kib(&demo, "VmRSS");
    let nstat_before = Nstat::read(&ns).unwrap();
    let flood = flood_with_clients(&ns);
    // One more echo: the stack has read the whole flood (this SYN came after it).
    let caught_up = echo(&ns, "after the flood\n");
    let rss_after = memory_kib(&demo, "VmRSS");
    let peak = memory_kib(&demo, "VmHWM");
    let kernel = Nstat::read(&ns).unwrap().since(&nstat_before);
    let dropped_by_kernel = kernel.get("IpInAddrErrors");
    // Our SYN-ACKs to the spoofed address died in the namespace, which has no other way out.
    assert_only_lo_and_tun0(&ns);
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    let stats = StackStats::read(&exited);
    eprintln!(
        "{flood}; after the flood: {caught_up:?}; tcp-echo: {stats}; VmRSS {rss_before} KiB \
         before, {rss_after} KiB after, peak {peak} KiB; the kernel dropped \
         {dropped_by_kernel} packets for no one (IpInAddrErrors), and {} of ours as old \
         (TcpExtPAWSEstab); {:.1} s in all",
        kernel.get("TcpExtPAWSEstab"),
        started.elapsed().as_secs_f64()
    );

    flood.assert_clients_served();
    caught_up.unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_memory_held(rss_before, rss_after, peak);
    // Most of the flood reached the stack (tun0's queue may have overflowed while the stack
    // waited for a CPU), and was answered with cookies.
    assert!(
        stats.cookies_sent >= FLOOD / 2 && stats.cookies_accepted >= CLIENTS as u64,
        "the flood was answered with cookies, the clients came in with theirs: {exited:?}"
    );
    assert_eq!(stats.cookies_rejected, 0, "{exited:?}");
    // The kernel dropped every SYN-ACK but the clients' (which carried cookies too).
    let to_clients = CLIENTS as u64 + 1;
    assert!(
        dropped_by_kernel >= stats.cookies_sent.saturating_sub(to_clients),
        "{dropped_by_kernel} dropped, {stats}"
    );
}

/// What happened during the flood.
struct Flood {
    /// SYNs hping3 says it sent.
    sent: u64,
    /// Packets that had gone to tun0 when the first client connected.
    under_way: u64,
    /// Packets that had gone to tun0 when hping3 stopped.
    to_tun0: u64,
    /// How many of them the kernel dropped because tun0's queue was full.
    dropped: u64,
    /// Each client's time from connect to echo, or why it failed.
    clients: Vec<Result<Duration, String>>,
}

/// Floods tcp-echo with hping3, and once the flood is under way, runs the clients one after
/// the other; stops hping3 when it has sent its 100,000 SYNs and more after the last client
/// (so every client came while it ran).
fn flood_with_clients(ns: &NetNs) -> Flood {
    let start = device(ns);
    let before = start.to_stack();
    let hping3 = start_flood(ns);
    let under_way = wait_for(EVENT, || flooded(ns, before, UNDER_WAY)).unwrap();
    let clients = (0..CLIENTS)
        .map(|n| echo(ns, &format!("client {n} during the flood\n")))
        .collect();
    let after_clients = device(ns).to_stack() - before;
    // hping3's own count must reach FLOOD too: room for the clients' packets on top.
    let want = FLOOD.max(after_clients + UNDER_WAY) + CLIENT_PACKETS * CLIENTS as u64;
    wait_for(EVENT, || flooded(ns, before, want)).unwrap();
    let sent = stop_flood(hping3);
    let end = device(ns);
    Flood {
        sent,
        under_way,
        to_tun0: end.to_stack() - start.to_stack(),
        dropped: end.tx_dropped - start.tx_dropped,
        clients,
    }
}

impl Flood {
    /// Every client got its echo within a second, while hping3 sent its 100,000 SYNs.
    fn assert_clients_served(&self) {
        assert!(self.sent >= FLOOD, "{self}");
        for (n, client) in self.clients.iter().enumerate() {
            match client {
                Ok(took) => assert!(*took < WITHIN, "client {n} took {took:?}: {self}"),
                Err(why) => panic!("client {n}: {why}: {self}"),
            }
        }
    }
}

impl std::fmt::Display for Flood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "hping3 sent {} SYNs ({} packets to tun0 in all, {} before the first client, {} \
             dropped with tun0's queue full); clients, connect to echo: {:?}",
            self.sent, self.to_tun0, self.under_way, self.dropped, self.clients
        )
    }
}

/// Whether hping3 can run; if not, says so ([`skip_or_fail`]).
fn hping3_installed() -> bool {
    let installed = Command::new("hping3")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        skip_or_fail("hping3 is not installed (Debian: apt-get install hping3)");
    }
    installed
}

/// Starts hping3 in `ns`: SYNs (`-S`) to port 7 of our stack, as fast as it can send them
/// (`--flood`, which goes on until stopped: hping3 3.0.0-alpha-2 ignores `-c` in flood mode),
/// each from another port of the spoofed address (`-a`); `-q`: only the summary at the end.
fn start_flood(ns: &NetNs) -> Running {
    let stack = STACK.to_string();
    let args = ["-q", "-S", "-p", "7", "--flood", "-a", SPOOFED, &stack];
    Running::spawn(&mut ns.exec("hping3", &args)).unwrap()
}

/// Stops hping3 as Ctrl-C does, and returns how many SYNs it says it sent (its summary:
/// "N packets transmitted, 0 packets received, 100% packet loss").
fn stop_flood(flood: Running) -> u64 {
    flood.interrupt().unwrap();
    let exited = flood.wait_within(EXIT).unwrap();
    let summary = exited.stdout.iter().map(String::as_str);
    exited
        .stderr
        .lines()
        .chain(summary)
        .find_map(|line| line.split_once(" packets transmitted, "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary from hping3: {exited:?}"))
}

/// A Linux client in `ns`: connects to tcp-echo, sends `line`, reads its echo, closes; returns
/// how long it took from connect to echo.
fn echo(ns: &NetNs, line: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let failed =
        |what: &str, err: std::io::Error| format!("{what}: {err}, after {:?}", started.elapsed());
    let mut stream = linux_tcp_connect(ns, (STACK, 7)).map_err(|err| failed("connect", err))?;
    stream
        .write_all(line.as_bytes())
        .map_err(|err| failed("send", err))?;
    let mut echoed = vec![0; line.len()];
    stream
        .read_exact(&mut echoed)
        .map_err(|err| failed("no echo", err))?;
    let took = started.elapsed();
    match echoed == line.as_bytes() {
        true => Ok(took),
        false => Err(format!("echoed {:?}", String::from_utf8_lossy(&echoed))),
    }
}

/// tun0's counters, as the kernel in the namespace keeps them.
struct Device {
    /// Packets the kernel handed to tun0 for our stack.
    tx_packets: u64,
    /// Packets for our stack that the kernel dropped: tun0's queue was full.
    tx_dropped: u64,
}

impl Device {
    /// Every packet the kernel sent towards our stack, queued or dropped.
    fn to_stack(&self) -> u64 {
        self.tx_packets + self.tx_dropped
    }
}

/// tun0's line of `/proc/net/dev`, read from a thread inside `ns` (so its network's file): 8
/// receive counters (bytes, packets, errs, drop...), then 8 transmit counters.
fn device(ns: &NetNs) -> Device {
    let text = ns
        .run(|| std::fs::read_to_string("/proc/thread-self/net/dev"))
        .unwrap()
        .unwrap();
    let counters: Vec<u64> = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("tun0:"))
        .unwrap_or_else(|| panic!("no tun0 in /proc/net/dev: {text}"))
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    Device {
        tx_packets: counters[9],
        tx_dropped: counters[11],
    }
}

/// Whether `want` packets went to tun0 since `before` ([`Device::to_stack`]): how many.
fn flooded(ns: &NetNs, before: u64, want: u64) -> Result<u64, String> {
    let sent = device(ns).to_stack() - before;
    match sent >= want {
        true => Ok(sent),
        false => Err(format!("{sent} of {want} packets to tun0")),
    }
}

/// A figure of `/proc/<pid>/status` in KiB: `VmRSS` (resident memory now) or `VmHWM` (its
/// peak so far).
fn memory_kib(process: &Running, field: &str) -> u64 {
    let path = format!("/proc/{}/status", process.id());
    let status = std::fs::read_to_string(&path).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix(" kB")?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {path}: {status}"))
}

/// Resident memory after the flood, and at its peak, within 10 MiB of where it was before.
fn assert_memory_held(before: u64, after: u64, peak: u64) {
    let figures =
        format!("VmRSS {before} KiB before the flood, {after} KiB after, peak {peak} KiB");
    assert!(after.abs_diff(before) <= MEMORY_SLACK_KIB, "{figures}");
    assert!(peak <= before + MEMORY_SLACK_KIB, "{figures}");
}

/// The namespace has no way out: its only interfaces are lo and tun0.
fn assert_only_lo_and_tun0(ns: &NetNs) {
    let output = output_within(&mut ns.exec("ip", &["-o", "link"]), EXIT).unwrap();
    let links = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = links
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .collect();
    assert_eq!(names, ["lo", "tun0"], "{links}");
}

/// What tcp-echo's counters said when it stopped.
struct StackStats {
    tcp_received: u64,
    cookies_sent: u64,
    cookies_accepted: u64,
    cookies_rejected: u64,
}

impl StackStats {
    /// From the table on standard error: the `tcp` row (received, delivered, sent...) and the
    /// line "tcp handshakes: N queued, ...; SYN cookies: N sent, N accepted, N rejected; ...".
    fn read(exited: &Exited) -> StackStats {
        let stderr = &exited.stderr;
        let tcp_received = stderr.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("tcp")).then(|| words.next()?.parse().ok())?
        });
        let handshakes = stderr
            .lines()
            .find(|line| line.starts_with("tcp handshakes: "));
        let (Some(tcp_received), Some(handshakes)) = (tcp_received, handshakes) else {
            panic!("no tcp counters: {exited:?}");
        };
        let count = |what: &str| {
            handshakes
                .split([',', ';', ':'])
                .find_map(|part| part.trim().strip_suffix(what)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {what:?} in {handshakes}"))
        };
        StackStats {
            tcp_received,
            cookies_sent: count(" sent"),
            cookies_accepted: count(" accepted"),
            cookies_rejected: count(" rejected"),
        }
    }
}

impl std::fmt::Display for StackStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} TCP segments received; SYN cookies: {} sent, {} accepted, {} rejected",
            self.tcp_received, self.cookies_sent, self.cookies_accepted, self.cookies_rejected
        )
    }
}
