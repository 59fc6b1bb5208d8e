//! IPv6 fragments against the Linux kernel, over a TUN device (MTU 1500 on both sides): RFC
//! 8200 section 4.5.
//!
//! - `ping -6 -s 4000`: the kernel sends each 4048-byte echo request (4008 bytes of ICMPv6) in
//!   three fragments of at most 1448 bytes of data each, our stack reassembles it, and its
//!   reply goes back in three fragments that the kernel reassembles.
//! - A Linux UDP socket sends 8,000 bytes to an echo socket on our stack at `[::]:7` and gets
//!   them back whole: six fragments each way.
//!
//! Each capture must be clean for tshark, which must reassemble our fragments too
//! (`ipv6.reassembled.in` on every fragment but the last, `ipv6.fragment.count` on the last).
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tunstack_tests::{
    linux_ping, tshark_check_fields, tun_tests_can_run, Direction, Frame, TunNet, KERNEL6, STACK6,
};

/// The fields these tests read.
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.packet_flags_direction",
    "frame.comment",
    "ipv6.src",
    "ipv6.plen",
    "ipv6.nxt",
    "ipv6.fraghdr.nxt",
    "ipv6.fraghdr.offset",
    "ipv6.fraghdr.more",
    "ipv6.fraghdr.ident",
    "icmpv6.type",
];

/// The fragment header's length (RFC 8200 section 4.5).
const FRAGMENT_HEADER: u64 = 8;

/// Next Header for a fragment header (RFC 8200 section 4.5).
const NEXT_FRAGMENT: u64 = 44;

fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    Some(TunNet::start_dual(label).unwrap())
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + len) as u8).collect()
}

/// Checks that the frames going `direction` are fragments of packets whose fragmentable part
/// (what follows the IPv6 header) is `total` bytes, which tshark joined: offsets in order, M
/// on all but the last, one identification per packet, each fragment within the MTU of 1500.
/// Returns how many packets there were and how many fragments each had.
fn assert_fragmented(frames: &[Frame], direction: Direction, total: u64) -> (usize, usize) {
    let ours: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.direction() == Some(direction))
        .collect();
    let (mut packets, mut fragments) = (0, 0);
    let mut expected_offset = 0;
    let mut ident = None;
    for frame in ours {
        assert_eq!(frame.num("ipv6.nxt"), Some(NEXT_FRAGMENT), "{frame:?}");
        // tshark gives the offset field as sent: in 8-byte units.
        let offset = frame.num("ipv6.fraghdr.offset").expect("an offset") * 8;
        let more = frame.num("ipv6.fraghdr.more") == Some(1);
        let plen = frame.num("ipv6.plen").expect("a payload length");
        assert!(plen + 40 <= 1500, "{frame:?}");
        let data = plen - FRAGMENT_HEADER;
        assert_eq!(offset, expected_offset, "{frame:?}");
        if offset == 0 {
            ident = frame.get("ipv6.fraghdr.ident").map(str::to_owned);
        }
        assert_eq!(
            frame.get("ipv6.fraghdr.ident").map(str::to_owned),
            ident,
            "{frame:?}"
        );
        fragments += 1;
        if more {
            assert_eq!(data % 8, 0, "a multiple of 8 bytes: {frame:?}");
            expected_offset += data;
        } else {
            assert_eq!(offset + data, total, "{frame:?}");
            packets += 1;
            expected_offset = 0;
        }
    }
    assert_eq!(expected_offset, 0, "the last packet is whole");
    (packets, fragments / packets.max(1))
}

/// Checks, with tshark's two passes (the only way it can point back from a fragment to the frame
/// that completes it), that tshark reassembled every packet: each fragment with M set names the
/// frame it is `ipv6.reassembled.in`, and each last fragment counts `fragments` in
/// `ipv6.fragment.count`. Returns how many packets tshark joined.
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
        .args(["-e", "ipv6.fraghdr.more", "-e", "ipv6.fraghdr.offset"])
        .args(["-e", "ipv6.reassembled.in", "-e", "ipv6.fragment.count"])
        .output()
        .expect("tshark runs");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut joined = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [more, offset, reassembled_in, count] = fields[..] else {
            panic!("{line:?}");
        };
        if more == "1" || more == "True" {
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
fn linux_ping6_s_4000_gets_its_replies() {
    let Some(mut net) = start("frag6-ping") else {
        return;
    };
    let out = linux_ping(net.ns(), STACK6, 3, &["-6", "-s", "4000"]);
    assert!(out.contains("4008 bytes from fd77::2"), "{out}");
    let stats = net.stack().stats();
    assert_eq!(
        (stats.icmpv6.delivered, stats.icmpv6.sent),
        (3, 3),
        "{stats}"
    );
    assert_eq!(
        (stats.ipv6.received, stats.ipv6.delivered),
        (9, 3),
        "{stats}"
    );
    assert_eq!(stats.ipv6.sent, 9, "{stats}");
    assert_eq!(stats.ipv6.dropped.total(), 0, "{stats}");
    net.stop();

    let frames = tshark_check_fields(net.capture_path(), FIELDS);
    assert_eq!(frames.len(), 18, "{frames:#?}");
    // 4008 bytes of ICMPv6: 1448 + 1448 + 1112.
    assert_eq!(assert_fragmented(&frames, Direction::Inbound, 4008), (3, 3));
    assert_eq!(
        assert_fragmented(&frames, Direction::Outbound, 4008),
        (3, 3)
    );
    assert_eq!(assert_tshark_reassembles(net.capture_path(), 3), 6);
    let first_ours = frames
        .iter()
        .find(|f| f.direction() == Some(Direction::Outbound))
        .expect("our reply");
    assert_eq!(first_ours.num("ipv6.plen"), Some(1448 + FRAGMENT_HEADER));
    assert!(
        first_ours
            .get("frame.comment")
            .is_some_and(|c| c.starts_with("fragment 1 of 3")),
        "{first_ours:?}"
    );
    // tshark shows the echo reply on the frame that completes it.
    let replies = frames
        .iter()
        .filter(|f| f.num("icmpv6.type") == Some(129))
        .count();
    assert_eq!(replies, 3, "{frames:#?}");
}

#[test]
fn a_linux_udp_socket_gets_8000_bytes_back_whole_over_ipv6() {
    let Some(mut net) = start("frag6-udp") else {
        return;
    };
    net.start_udp_echo("[::]:7");
    let linux = net.linux_udp((KERNEL6, 0)).unwrap();
    linux
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let echo = SocketAddr::from((STACK6, 7));
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
    assert_eq!((stats.ipv6.received, stats.ipv6.sent), (12, 12), "{stats}");
    assert_eq!(stats.ipv6.dropped.total(), 0, "{stats}");
    net.stop();

    let frames = tshark_check_fields(net.capture_path(), FIELDS);
    assert_eq!(frames.len(), 24, "{frames:#?}");
    // 8008 bytes of UDP: five of 1448, then 768.
    assert_eq!(assert_fragmented(&frames, Direction::Inbound, 8008), (2, 6));
    assert_eq!(
        assert_fragmented(&frames, Direction::Outbound, 8008),
        (2, 6)
    );
    assert_eq!(assert_tshark_reassembles(net.capture_path(), 6), 4);
    // Every fragment carries the fragment header, whose next header is UDP's.
    assert!(frames.iter().all(|f| f.num("ipv6.fraghdr.nxt") == Some(17)));
}
