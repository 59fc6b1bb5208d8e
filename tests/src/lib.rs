//! What tunstack's cross-layer test suites share.
//!
//! The suites in `tests/tests/` put an independent peer on the other side of our stack (the
//! Linux kernel over a TUN device, or smoltcp over the in-memory wire) and check what crossed
//! the link with Wireshark's dissectors. This crate holds the pieces they all need:
//!
//! - [`smol::SmolStack`]: smoltcp in this process, on one end of an in-memory wire that carries
//!   bare IP or Ethernet frames (then with a MAC address and ARP), with tokio-shaped TCP
//!   sockets, on tokio's clock (so on virtual time in tests).
//! - [`Pattern`]: a reproducible byte stream for byte-exact transfers.
//! - [`TunNet`]: a network namespace made for one test, with `tun0` in it, the kernel at
//!   10.77.0.1/24, our [`Stack`](tunstack::Stack) at 10.77.0.2/24 (and fd77::1/64, fd77::2/64
//!   with [`TunNet::start_dual`]), and every packet recorded to a pcapng file. Test code runs inside the namespace, so the Linux sockets it makes live there
//!   too, and nothing reaches the host's own network.
//! - [`tshark_check`]: reads a capture with tshark, fails on any malformed packet or bad checksum,
//!   and returns the frames for further assertions; [`tshark_filter`] finds the frames a display
//!   filter matches, e.g. [`TCP_TROUBLE`].
//! - [`tshark_tcp_check`]: the same for a capture of TCP connections, of any size, and also fails
//!   on any retransmission, out-of-order segment, gap or duplicate ACK that Wireshark's analysis
//!   finds; returns each connection's summary ([`TcpConversation`]) to check that it is complete.
//!   [`tshark_tcp_check_lossy`] is the same without the analysis check, for runs over a lossy
//!   link, and returns what the analysis flagged, each way, to count.
//! - [`KernelLoss`]: a firewall rule in the namespace that drops a share of what the kernel sends
//!   to `tun0`; [`TunNet::start_impaired`] puts our [`Impair`](tunstack::device::Impair) on our
//!   stack's side.
//! - [`Nstat`]: the kernel's TCP counters in the namespace (retransmissions, recoveries...).
//! - [`linux_udp`], [`linux_tcp_connect`], [`linux_tcp_listener`] and [`linux_ping`]: the
//!   kernel's side, inside a namespace.
//! - [`smol`]: smoltcp on the other end of an in-memory wire, the independent in-process peer.
//! - [`peer`]: either stack, ours or smoltcp, behind one interface ([`peer::Peer`]), for
//!   scenarios that run over every pairing.
//! - [`output_within`] and [`Running`]: run a command (ping, a demo binary) with a time limit, so
//!   that no test can hang.
//! - [`wait_for`]: wait for an event (a counter, a packet in a capture) rather than sleep for
//!   as long as it usually takes; [`wait_for_closes_in_capture`] waits for the last ACKs of a
//!   demo's connections.
//! - [`tun_tests_can_run`]: whether this machine can run the TUN tests; if not, the test prints
//!   `skipped: <why>` and returns (but in CI, where they must run, it fails instead).
//!   [`skip_or_fail`] is that rule for any other missing tool, [`in_ci`] the test for CI: a
//!   non-empty `CI` variable.
//!
//! ```text
//!   network namespace tunstack-<label>-<pid>-<n>, removed when the test ends
//!  ┌────────────────────────────────────────────────────────────────────────────┐
//!  │  Linux: ping, std::net sockets          TunNet's runtime                   │
//!  │  10.77.0.1/24  ◄──── tun0 ────►  Capture  ◄────►  Stack 10.77.0.2/24       │
//!  └─────────────────────────────────────┼──────────────────────────────────────┘
//!                                        ▼
//!                        /tmp/tunstack-<label>-<pid>-<n>.tmp.pcapng ──► tshark_check
//! ```
#![warn(missing_docs)]

use std::net::{Ipv4Addr, Ipv6Addr};

mod kernel_loss;
mod linux;
mod nstat;
mod pattern;
pub mod peer;
pub mod pmtu;
mod process;
pub mod smol;
mod tcp_capture;
mod temp;
#[cfg(test)]
mod test_captures;
mod tshark;
mod tunnet;
pub mod two_stacks;
mod wait;

pub use kernel_loss::{Firewall, KernelLoss, Verdict};
pub use linux::{
    accept_within, linux_ping, linux_tcp_connect, linux_tcp_listener, linux_udp, read, recv,
    recv_from, set_socket_option,
};
pub use nstat::Nstat;
pub use pattern::{both_ways, Pattern};
pub use process::{output_within, Exited, Running};
pub use tcp_capture::{
    tcp_conversations, tshark_tcp_check, tshark_tcp_check_lossy, tshark_tcp_findings, Flagged,
    TcpCapture, TcpConversation, TCP_ANALYSIS_PROBLEMS,
};
pub use temp::TempFile;
pub use tshark::{
    tshark_available, tshark_check, tshark_check_fields, tshark_filter, tshark_filter_fields,
    tshark_findings, Direction, Frame, DEFAULT_FIELDS, TCP_TROUBLE,
};
pub use tunnet::TunNet;
pub use wait::{unfinished_read, wait_for, wait_for_closes_in_capture};
// The stack's own tests skip by the same rule; it is written there, once.
pub use tunstack::device::netns::{in_ci, skip_or_fail};

/// The kernel's address on the test network (`tun0`'s address inside the namespace).
pub const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

/// Our stack's address on the test network.
pub const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// The test network's prefix length: 10.77.0.0/24.
pub const PREFIX_LEN: u8 = 24;

/// The kernel's IPv6 address on the test network, with [`TunNet::start_dual`].
pub const KERNEL6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);

/// Our stack's IPv6 address on the test network, with [`TunNet::start_dual`].
pub const STACK6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);

/// The IPv6 test network's prefix length: fd77::/64, a unique local prefix (RFC 4193).
pub const PREFIX_LEN6: u8 = 64;

/// The TUN device's name inside each test namespace.
pub const DEVICE: &str = "tun0";

/// The TAP device of [`TunNet::start_tap`], in its namespace.
pub const TAP_DEVICE: &str = "tap0";

/// Whether this machine can run tests that need a TUN device in a network namespace (root, or
/// CAP_NET_ADMIN and CAP_SYS_ADMIN, `/dev/net/tun`, iproute2).
///
/// When it cannot, prints `skipped: <why>` and returns `false`; the test then returns early.
/// Under CI (any non-empty `CI`), where these tests must run, it panics with the reason instead,
/// so that a CI machine that lost its TUN device fails rather than passing without testing
/// anything: see [`skip_or_fail`].
///
/// ```no_run
/// if !tunstack_tests::tun_tests_can_run() {
///     return;
/// }
/// // ... TunNet::start("my-test") ...
/// ```
pub fn tun_tests_can_run() -> bool {
    match tunstack::device::netns::can_use_tun() {
        Ok(()) => true,
        Err(why) => {
            skip_or_fail(&why);
            false
        }
    }
}

/// A byte count given on a benchmark's command line: a number, with an optional K, M or G
/// suffix (powers of 1024), e.g. `64M`.
///
/// ```
/// assert_eq!(tunstack_tests::parse_size("64M"), Ok(64 << 20));
/// assert_eq!(tunstack_tests::parse_size("1500"), Ok(1500));
/// assert!(tunstack_tests::parse_size("2T").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, ' '),
    };
    let shift = match unit {
        ' ' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("size {text}: use a number with K, M or G")),
    };
    let n: u64 = digits.parse().map_err(|e| format!("size {text}: {e}"))?;
    Ok(n << shift)
}

/// This machine's load averages (1, 5 and 15 minutes), as `uptime` shows them, for a
/// benchmark's report: other work on the machine shows in its figures.
pub fn load_averages() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}

/// `uptime`'s line, for a benchmark report's header; the load averages alone without it.
pub fn uptime() -> String {
    std::process::Command::new("uptime")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|_| format!("load {}", load_averages()))
}
