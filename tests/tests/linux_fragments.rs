//! IPv4 fragments against the Linux kernel, over a TUN device (MTU 1500 on both sides).
//!
//! - `ping -s 4000`: the kernel sends each 4028-byte echo request in three fragments, our stack
//!   reassembles it, and its 4028-byte reply goes back in three fragments that the kernel
//!   reassembles.
//! - A Linux UDP socket sends 8,000 bytes to an echo socket on our stack and gets them back
//!   whole: six fragments each way.
//!
//! Each capture must be clean for tshark, which must reassemble our fragments too
//! (`ip.reassembled_in` on every fragment but the last, `ip.fragments` on the last).
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tunstack::stats::DropReason;
use tunstack_tests::{
    linux_ping, tshark_check, tshark_check_fields, tun_tests_can_run, Direction, Frame, TunNet,
    KERNEL, STACK,
};

/// The fields these tests read.
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.packet_flags_direction",
    "frame.comment",
    "ip.src",
    "ip.len",
    "ip.id",
    "ip.flags.df",
    "ip.flags.mf",
    "ip.frag_offset",
    "icmp.type",
    "udp.length",
];

fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    Some(TunNet::start(label).unwrap())
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + len) as u8).collect()
}

/// Checks that the frames going `direction` are datagrams of `total` bytes (IP header
/// included) in fragments that tshark joined: offsets in order, MF on all but the last, DF on
/// none, one identification per datagram, each fragment within the MTU. Returns how many
/// datagrams there were.
fn assert_fragmented(frames: &[Frame], direction: Direction, total: u64) -> usize {
    let ours: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.direction() == Some(direction))
        .collect();
    let mut datagrams = 0;
    let mut expected_offset = 0;
    let mut ident = None;
    for frame in ours {
        // tshark gives the field as sent: in 8-byte units.
        let offset = frame.num("ip.frag_offset").unwrap_or(0) * 8;
        let mf = frame.num("ip.flags.mf") == Some(1);
        let len = frame.num("ip.len").expect("an IP length");
        assert!(len <= 1500, "{frame:?}");
        assert_eq!(
            frame.num("ip.flags.df"),
            Some(0),
            "no DF on a fragment: {frame:?}"
        );
        assert_eq!(offset, expected_offset, "{frame:?}");
        if offset == 0 {
            ident = frame.get("ip.id").map(str::to_owned);
        }
        assert_eq!(frame.get("ip.id").map(str::to_owned), ident, "{frame:?}");
        if mf {
            assert_eq!((len - 20) % 8, 0, "a multiple of 8 bytes: {frame:?}");
            expected_offset += len - 20;
        } else {
            assert_eq!(offset + len, total, "{frame:?}");
            datagrams += 1;
            expected_offset = 0;
        }
    }
    assert_eq!(expected_offset, 0, "the last datagram is whole");
    datagrams
}

/// Checks, with tshark's two passes (the only way it can point back from a fragment to the frame
/// that completes it), that tshark reassembled every datagram: each fragment with MF names the
/// frame it is `ip.reassembled_in`, and each last fragment lists `ip.fragments`, as many as
/// `fragments`. Returns how many datagrams tshark joined.
fn assert_tshark_reassembles(path: &Path, fragments: usize) -> usize {
    let output = Command::new("tshark")
        .args(["-r"])
        .arg(path)
        .args([
            "-2",
            "-T",
            "fields",
            "-E",
            "separator=/t",
            "-E",
            "occurrence=f",
        ])
        .args(["-e", "ip.flags.mf", "-e", "ip.frag_offset"])
        .args(["-e", "ip.reassembled_in", "-e", "ip.fragment.count"])
        .output()
        .expect("tshark runs");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut joined = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [mf, offset, reassembled_in, count] = fields[..] else {
            panic!("{line:?}");
        };
        if mf == "1" {
            assert!(
                !reassembled_in.is_empty(),
                "a fragment tshark did not join: {line:?}"
            );
        } else if offset != "0" && !offset.is_empty() {
            assert_eq!(count, fragments.to_string(), "{line:?}");
            joined += 1;
        }
    }
    joined
}

#[test]
fn linux_ping_s_4000_gets_its_replies() {
    let Some(mut net) = start("frag-ping") else {
        return;
    };
    let out = linux_ping(net.ns(), STACK, 3, &["-s", "4000"]);
    assert!(out.contains("4008 bytes from 10.77.0.2"), "{out}");

    let stats = net.stack().stats();
    assert_eq!((stats.ip.received, stats.ip.delivered), (9, 3), "{stats}");
    assert_eq!((stats.icmp.delivered, stats.icmp.sent), (3, 3), "{stats}");
    assert_eq!(stats.ip.sent, 9, "{stats}");
    assert_eq!(stats.ip.dropped.total(), 0, "{stats}");
    net.stop();
    tshark_check(net.capture_path());
    let frames = tshark_check_fields(net.capture_path(), FIELDS);
    assert_eq!(frames.len(), 18, "{frames:#?}");
    assert_eq!(assert_fragmented(&frames, Direction::Inbound, 4028), 3);
    assert_eq!(assert_fragmented(&frames, Direction::Outbound, 4028), 3);
    assert_eq!(assert_tshark_reassembles(net.capture_path(), 3), 6);
    let comment = frames
        .iter()
        .find(|f| f.direction() == Some(Direction::Outbound))
        .and_then(|f| f.get("frame.comment"));
    assert_eq!(
        comment,
        Some("fragment 1 of 3 of a 4028-byte datagram (larger than the MTU)")
    );
}

#[test]
fn a_linux_udp_socket_gets_8000_bytes_back_whole() {
    let Some(mut net) = start("frag-udp") else {
        return;
    };
    net.start_udp_echo("0.0.0.0:7");
    let linux = net.linux_udp((KERNEL, 0)).unwrap();
    linux
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let echo = SocketAddr::from((STACK, 7));
    let sent = pattern(8000);
    for _ in 0..2 {
        linux.send_to(&sent, echo).unwrap();
        let mut buf = vec![0; 65_536];
        let (n, from) = tunstack_tests::recv_from(&linux, &mut buf).expect("the echo");
        assert_eq!((n, from), (8000, echo));
        assert!(buf[..n] == sent[..], "8000 bytes came back different");
    }

    let stats = net.stack().stats();
    assert_eq!((stats.udp.delivered, stats.udp.sent), (2, 2), "{stats}");
    assert_eq!((stats.ip.received, stats.ip.sent), (12, 12), "{stats}");
    assert_eq!(stats.ip.dropped.get(DropReason::ReassemblyTimeout), 0);
    net.stop();
    tshark_check(net.capture_path());
    let frames = tshark_check_fields(net.capture_path(), FIELDS);
    assert_eq!(frames.len(), 24, "{frames:#?}");
    assert_eq!(assert_fragmented(&frames, Direction::Inbound, 8028), 2);
    assert_eq!(assert_fragmented(&frames, Direction::Outbound, 8028), 2);
    assert_eq!(assert_tshark_reassembles(net.capture_path(), 6), 4);
}
