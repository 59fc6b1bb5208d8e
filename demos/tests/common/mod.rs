//! What the demo suites share: a namespace per run, starting a demo and checking how its output
//! begins, the ephemeral port a client reports, complete TCP connections in a capture, and the
//! course's UDP and TCP servers on the kernel's side for the client demos, and the Linux
//! programs the tests run there (Chromium; a demo without privileges).
// Each suite is its own test binary and uses only part of this module.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;
use std::time::Duration;

use tunstack::device::netns::NetNs;
use tunstack_tests::{
    accept_within, linux_tcp_listener, linux_udp, skip_or_fail, tun_tests_can_run, Exited, Running,
    TempFile,
};

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

/// Checks a TCP demo's capture: clean (as `tshark_tcp_check` checks) and every connection
/// complete; returns the connections. A failure lists the capture's first frames and the
/// kernel's counters in `ns` that are not zero (its drops among them).
pub fn complete_connections(
    ns: &NetNs,
    capture: &TempFile,
) -> Vec<tunstack_tests::TcpConversation> {
    let checked = tunstack_tests::tshark_tcp_check_lossy(capture.path());
    let flagged: Vec<_> = checked
        .flagged
        .iter()
        .filter(|f| !f.is_timer_artefact())
        .collect();
    assert!(
        flagged.is_empty(),
        "tshark's TCP analysis flags {flagged:#?}\n{}\n{}",
        first_frames(capture.path()),
        kernel_counters(ns)
    );
    let conversations = checked.conversations;
    for conversation in &conversations {
        if let Err(why) = conversation.check_complete() {
            panic!(
                "{why}\n{}\n{}",
                first_frames(capture.path()),
                kernel_counters(ns)
            );
        }
    }
    conversations
}

/// The kernel's counters in `ns` that are not zero, for a failure's message.
fn kernel_counters(ns: &NetNs) -> String {
    match tunstack_tests::Nstat::read(ns) {
        Ok(counters) => format!("the kernel's counters in the namespace:\n{counters}"),
        Err(err) => format!("(nstat could not read the kernel's counters: {err})"),
    }
}

/// The capture's first frames, one line each with its time and direction, for a failure's
/// message: what came in and went out around a handshake that went wrong.
pub fn first_frames(path: &Path) -> String {
    let fields = [
        "frame.number",
        "frame.time_relative",
        "frame.p2p_dir",
        "_ws.col.Info",
    ];
    match tunstack_tests::tshark_filter_fields(path, "frame.number <= 16", &fields) {
        Ok(frames) => frames
            .iter()
            .map(|f| {
                let dir = match f.get("frame.p2p_dir") {
                    Some("0") => "out",
                    Some("1") => "in ",
                    _ => "?  ",
                };
                let time = f.get("frame.time_relative").unwrap_or("?");
                let info = f.get("_ws.col.Info").unwrap_or("");
                format!("  #{} {time} s {dir} {info}\n", f.number())
            })
            .collect(),
        Err(err) => format!("(tshark could not list the frames: {err})"),
    }
}

/// The course's UDP server, inside `ns` on 0.0.0.0:9001: answers "Got your datagram!" to each
/// datagram but the first `ignore` ones, until it has answered `answer` (or heard nothing for
/// three seconds). Returns every datagram it got, with its sender.
pub fn course_server(
    ns: &NetNs,
    ignore: usize,
    answer: usize,
) -> JoinHandle<Vec<(Vec<u8>, SocketAddr)>> {
    let server = linux_udp(ns, ([0, 0, 0, 0], 9001)).unwrap();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0; 4096];
        while got.len() < ignore + answer {
            let Ok((n, sender)) = tunstack_tests::recv_from(&server, &mut buf) else {
                break;
            };
            got.push((buf[..n].to_vec(), sender));
            if got.len() > ignore {
                server.send_to(b"Got your datagram!", sender).unwrap();
            }
        }
        got
    })
}

/// What a client sent to [`course_tcp_server`], and from where.
pub type Heard = (Vec<u8>, SocketAddr);

/// The course's server.py inside `ns`, on 0.0.0.0:9000: accepts `clients` connections one
/// after the other and echoes each until the client closes. Returns what each client sent, and
/// from where. Bound before the demo creates its device, as a learner would start it.
pub fn course_tcp_server(ns: &NetNs, clients: usize) -> JoinHandle<io::Result<Vec<Heard>>> {
    let listener = linux_tcp_listener(ns, ([0, 0, 0, 0], 9000)).unwrap();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..clients {
            let (mut conn, client) = accept_within(&listener, READY + EXIT)?;
            let mut received = Vec::new();
            let mut buf = [0; 1024];
            loop {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                received.extend_from_slice(&buf[..n]);
                conn.write_all(&buf[..n])?;
            }
            got.push((received, client));
        }
        Ok(got)
    })
}

/// A fresh temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let name = format!("tunstack-{label}-{}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `program` can be started (`--version`, whatever its exit status: wrk's is 1); if
/// not, says what to install (or fails, under CI).
pub fn installed(program: &str, package: &str) -> bool {
    let runs = Command::new(program).arg("--version").output().is_ok();
    if !runs {
        skip_or_fail(&format!(
            "{program} is not installed (Debian: apt-get install {package})"
        ));
    }
    runs
}

/// The Chromium command: headless, no sandbox (we are root), no GPU, no QUIC, no first-run or
/// background traffic, a fresh profile; inside `ns`, where the only other host is our stack.
pub fn chromium(ns: &NetNs, profile: &Path, url: &str) -> Command {
    chromium_with(ns, profile, url, &[])
}

/// [`chromium`] with `extra` options before the URL, e.g. `--ignore-certificate-errors` for a
/// server with a self-signed certificate.
pub fn chromium_with(ns: &NetNs, profile: &Path, url: &str, extra: &[&str]) -> Command {
    let profile = format!("--user-data-dir={}", profile.display());
    let mut args = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &profile,
        "--dump-dom",
    ];
    args.extend_from_slice(extra);
    args.push(url);
    ns.exec("chromium", &args)
}

/// A command that runs `program` inside `ns` as user nobody, without any capability; `None`
/// when neither setpriv nor capsh is installed.
pub fn unprivileged(ns: &NetNs, program: &str) -> Option<Command> {
    let installed = |tool: &str| {
        Command::new(tool)
            .arg("--help")
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if installed("setpriv") {
        let args = ["--reuid=65534", "--regid=65534", "--clear-groups", program];
        Some(ns.exec("setpriv", &args))
    } else if installed("capsh") {
        let args = ["--user=nobody", "--", "-c", "exec \"$0\"", program];
        Some(ns.exec("capsh", &args))
    } else {
        None
    }
}

/// dnsmasq in `ns`, answering from its own records only (no upstream, no /etc/hosts, nothing
/// outside course.test, whose other names do not exist), with `records` (dnsmasq options such
/// as `--host-record=www.course.test,10.77.0.1`). It binds the wildcard address, so it takes
/// queries on the TUN device's addresses once the demo has made them. Returns once it listens.
pub fn dnsmasq(ns: &NetNs, records: &[String]) -> Running {
    let mut args: Vec<&str> = vec![
        "--no-daemon",
        "--conf-file=/dev/null",
        "--user=root",
        "--pid-file=",
        "--no-resolv",
        "--no-hosts",
        "--local=/course.test/",
    ];
    args.extend(records.iter().map(String::as_str));
    let server = Running::spawn(&mut ns.exec("dnsmasq", &args)).unwrap();
    wait_for_udp_port(ns, 53);
    server
}

/// Waits until something in `ns` listens on UDP port `port` (a server that starts in
/// milliseconds; the limit is only for one that failed to start).
pub fn wait_for_udp_port(ns: &NetNs, port: u16) {
    let deadline = std::time::Instant::now() + READY;
    let suffix = format!(":{port:04X}");
    loop {
        // The thread's own view: /proc/net is the process's, which is not in the namespace.
        let table = ns
            .run(|| std::fs::read_to_string("/proc/thread-self/net/udp"))
            .unwrap()
            .unwrap();
        // local_address is "ADDR:PORT" in hex.
        let listening = table.lines().any(|line| {
            line.split_whitespace()
                .nth(1)
                .is_some_and(|addr| addr.ends_with(&suffix))
        });
        if listening {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on UDP port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `curl -sS --max-time 20 ARGS...` inside `ns`; fails the test if curl fails.
pub fn curl(ns: &NetNs, args: &[&str]) -> std::process::Output {
    let mut all = vec!["-sS", "--max-time", "20"];
    all.extend_from_slice(args);
    let mut command = ns.exec("curl", &all);
    let output = tunstack_tests::output_within(&mut command, Duration::from_secs(25)).unwrap();
    assert!(
        output.status.success(),
        "curl {all:?} ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The first `len` bytes of http-server's `/bytes/N`, made here independently of the demo:
/// 64-byte lines, each its first byte's offset in ten digits, a space, the 52 letters, a
/// newline.
pub fn expected_pattern(len: usize) -> Vec<u8> {
    let letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(len + 64);
    let mut offset = 0;
    while out.len() < len {
        out.extend_from_slice(format!("{offset:010} {letters}\n").as_bytes());
        offset += 64;
    }
    out.truncate(len);
    out
}
