//! The tour: runs without root, repeats exactly, and writes captures Wireshark reads cleanly.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tunstack-tour-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_tour(out: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tour"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(output.status.success(), "tour failed: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

const CAPTURES: [&str; 6] = [
    "01-ping.pcapng",
    "02-udp.pcapng",
    "03-handshake.pcapng",
    "04-http-get.pcapng",
    "05-lossy-transfer.pcapng",
    "06-close.pcapng",
];

#[test]
fn the_tour_repeats_byte_for_byte() {
    let (a, b) = (TempDir::new("a"), TempDir::new("b"));
    // The folders' names appear in the text; everything else must be the same.
    let text_a = run_tour(&a.0).replace(&a.0.display().to_string(), "DIR");
    let text_b = run_tour(&b.0).replace(&b.0.display().to_string(), "DIR");
    assert_eq!(text_a, text_b, "the printed story differs between runs");
    for name in CAPTURES {
        let first = std::fs::read(a.0.join(name)).unwrap();
        let second = std::fs::read(b.0.join(name)).unwrap();
        assert!(!first.is_empty());
        assert_eq!(first, second, "{name} differs between runs");
    }
    assert!(text_a.contains("Got your datagram!"));
    assert!(text_a.contains("connection refused"));
}

#[test]
fn the_tour_captures_pass_tshark() {
    if !tunstack_tests::tshark_available() {
        return;
    }
    let dir = TempDir::new("tshark");
    run_tour(&dir.0);
    let expected = [
        ("01-ping.pcapng", "icmp.type == 8", 3, "icmp.type == 0", 3),
        (
            "02-udp.pcapng",
            "udp.dstport == 9001",
            1,
            "icmp.type == 3 && icmp.code == 3",
            1,
        ),
        // Five handshakes: five SYNs, five SYN-ACKs.
        (
            "03-handshake.pcapng",
            "tcp.flags.syn == 1 && tcp.flags.ack == 0",
            5,
            "tcp.flags.syn == 1 && tcp.flags.ack == 1",
            5,
        ),
        (
            "04-http-get.pcapng",
            "http.request.method == \"GET\"",
            1,
            "http.response.code == 200",
            1,
        ),
        // Three segments lost, three retransmissions with a comment saying why.
        (
            "05-lossy-transfer.pcapng",
            "tcp.flags.syn == 1",
            2,
            "frame.comment contains \"retransmission\"",
            3,
        ),
        // A FIN each way, and no reset.
        (
            "06-close.pcapng",
            "tcp.flags.fin == 1",
            2,
            "tcp.flags.reset == 1",
            0,
        ),
    ];
    for (name, filter_a, count_a, filter_b, count_b) in expected {
        let path = dir.0.join(name);
        let count = |filter: &str| {
            let out = Command::new("tshark")
                .args([
                    "-o",
                    "ip.check_checksum:TRUE",
                    "-o",
                    "udp.check_checksum:TRUE",
                ])
                .arg("-r")
                .arg(&path)
                .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
                .output()
                .unwrap();
            assert!(out.status.success(), "tshark failed on {name}: {out:?}");
            String::from_utf8_lossy(&out.stdout).lines().count()
        };
        let bad = "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 \
                   || udp.checksum.status == 0 || icmp.checksum.status == 0";
        assert_eq!(count(bad), 0, "{name}: malformed packets or bad checksums");
        assert_eq!(count(filter_a), count_a, "{name}: {filter_a}");
        assert_eq!(count(filter_b), count_b, "{name}: {filter_b}");
    }
}

#[test]
fn the_checked_in_captures_are_what_the_tour_writes() {
    let dir = TempDir::new("checked-in");
    run_tour(&dir.0);
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures");
    for name in CAPTURES {
        let fresh = std::fs::read(dir.0.join(name)).unwrap();
        let kept = std::fs::read(checked_in.join(name)).unwrap_or_default();
        assert!(
            fresh == kept,
            "captures/{name} is not what the tour writes now: run \
             `cargo run -p tunstack-demos --bin tour` and commit captures/"
        );
    }
}

/// captures/README.md promises a comment on 02-udp.pcapng's port unreachable: the client's
/// stack sends it (the capture is on the client's side), about the server's datagram to the
/// port the client had closed, and says why.
#[test]
fn the_port_unreachable_in_the_udp_capture_says_why() {
    if !tunstack_tests::tshark_available() {
        return;
    }
    let dir = TempDir::new("udp");
    run_tour(&dir.0);
    let path = dir.0.join("02-udp.pcapng");
    let fields = |filter: &str, fields: &[&str]| {
        let mut command = Command::new("tshark");
        command
            .arg("-r")
            .arg(&path)
            .args(["-Y", filter, "-T", "fields"]);
        for field in fields {
            command.args(["-e", field]);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    };
    let client_port = fields("frame.number == 1", &["udp.srcport"]);
    let icmp = fields(
        "icmp.type == 3 && icmp.code == 3",
        &["frame.packet_flags_direction", "frame.comment"],
    );
    assert_eq!(
        icmp,
        format!("0x00000002\tport unreachable: no socket is bound to UDP port {client_port}"),
        "one port unreachable, outbound, with its reason"
    );
}

/// One row per TCP data segment of a capture, as tshark reads it: (relative seq, flagged as a
/// retransmission of any kind).
fn data_segments(path: &Path) -> Vec<(u64, bool)> {
    let out = Command::new("tshark")
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "tcp.relative_sequence_numbers:TRUE",
        ])
        .arg("-r")
        .arg(path)
        .args(["-Y", "tcp.len > 0 && tcp.srcport != 5001", "-T", "fields"])
        .args(["-e", "tcp.seq", "-e", "tcp.analysis.retransmission"])
        .args([
            "-e",
            "tcp.analysis.fast_retransmission",
            "-e",
            "tcp.analysis.out_of_order",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let seq = fields[0].parse().unwrap();
            (seq, fields[1..].iter().any(|f| !f.is_empty()))
        })
        .collect()
}

#[test]
fn retransmissions_are_exactly_where_the_wire_lost_segments() {
    if !tunstack_tests::tshark_available() {
        return;
    }
    let dir = TempDir::new("lossy");
    run_tour(&dir.0);
    let segments = data_segments(&dir.0.join("05-lossy-transfer.pcapng"));
    // The capture is on the client's side, before the wire: lost segments are in it. The wire
    // drops the 5th, 14th and 15th data segments it carries, retransmissions counted too.
    let lost: Vec<u64> = [5, 14, 15].iter().map(|n| segments[n - 1].0).collect();
    let resent: Vec<u64> = segments.iter().filter(|s| s.1).map(|s| s.0).collect();
    assert_eq!(
        resent, lost,
        "every retransmission fills a loss, and every loss is filled"
    );
    let firsts: Vec<u64> = segments.iter().filter(|s| !s.1).map(|s| s.0).collect();
    let mut unique = firsts.clone();
    unique.dedup();
    assert_eq!(firsts, unique, "no other segment was sent twice");
}
