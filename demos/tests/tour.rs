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

const CAPTURES: [&str; 2] = ["01-ping.pcapng", "02-udp.pcapng"];

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
    if Command::new("tshark").arg("--version").output().is_err() {
        println!("skipped: tshark is not installed (apt-get install tshark)");
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
