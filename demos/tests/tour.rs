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

const CAPTURES: [&str; 11] = [
    "00-arp.pcapng",
    "01-ping.pcapng",
    "02-udp.pcapng",
    "03-handshake.pcapng",
    "04-http-get.pcapng",
    "05-lossy-transfer.pcapng",
    "06-close.pcapng",
    "07-ipv6.pcapng",
    "08-dns.pcapng",
    "09-tls.pcapng",
    "09-tls.keylog",
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
    // The link layer's step: the neighbour table before, while asking, and after.
    assert!(
        text_a.contains("  client$ ip neigh    (empty)\n"),
        "{text_a}"
    );
    assert!(text_a.contains("\n    10.77.0.2 INCOMPLETE (1 waiting)\n"));
    assert!(text_a.contains("\n    10.77.0.2 lladdr 02:00:0a:4d:00:02 REACHABLE\n"));
    assert!(text_a.contains("\n    10.77.0.1 lladdr 02:00:0a:4d:00:01 "));
    // The IPv6 step: ping6, then the two headers side by side.
    assert!(text_a.contains("\n  64 bytes from fd77::2: icmp_seq=2 time=20.0 ms\n"));
    assert!(text_a.contains("(an IPv4 client, its address mapped into IPv6's)"));
    // The DNS step: a lookup over the wire, the same from the cache, an alias, NXDOMAIN.
    assert!(text_a.contains("\n  www.course.test → 10.77.0.2 (20.0 ms)    over UDP, 1 query\n"));
    assert!(text_a
        .contains("\n  www.course.test → 10.77.0.2 (0.0 ms)    from the cache, TTL 55 s left\n"));
    assert!(text_a.contains("\n      web.course.test. 60 IN CNAME www.course.test.\n"));
    assert!(text_a.contains("nope.course.test. does not exist (NXDOMAIN)"));
    assert!(text_a
        .contains("\n    header length     20 bytes (IHL 5)                40 bytes, always\n"));
    assert!(text_a.contains(
        "\n    on the wire       20 + 8 + 15 = 43 bytes          40 + 8 + 15 = 63 bytes\n"
    ));
}

#[test]
fn the_tour_captures_pass_tshark() {
    if !tunstack_tests::tshark_available() {
        return;
    }
    let dir = TempDir::new("tshark");
    run_tour(&dir.0);
    let expected = [
        // Three requests to everyone (two announcements and the question), one answer.
        (
            "00-arp.pcapng",
            "arp.opcode == 1 && eth.dst == ff:ff:ff:ff:ff:ff",
            3,
            "arp.opcode == 2 && eth.dst == 02:00:0a:4d:00:01",
            1,
        ),
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
        // Two echo requests over IPv6; the same datagram over each version.
        (
            "07-ipv6.pcapng",
            "icmpv6.type == 128",
            2,
            "udp.dstport == 9001",
            2,
        ),
        // Three queries (www, web, nope; the second www came from the cache), one NXDOMAIN.
        (
            "08-dns.pcapng",
            "dns.flags.response == 0",
            3,
            "dns.flags.rcode == 3 && dns.soa.mname == \"ns.course.test\"",
            1,
        ),
        // The TLS handshake's two hellos; the request is encrypted (without the key log).
        (
            "09-tls.pcapng",
            "tls.handshake.type == 1 || tls.handshake.type == 2",
            2,
            "http",
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
                   || udp.checksum.status == 0 || icmp.checksum.status == 0 \
                   || icmpv6.checksum.status == 0";
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

/// `tshark -r path -Y filter -T fields -e field...`: one line per frame, fields split by tabs.
fn tshark_fields(path: &Path, filter: &str, fields: &[&str]) -> String {
    let mut command = Command::new("tshark");
    command
        .arg("-r")
        .arg(path)
        .args(["-Y", filter, "-T", "fields"]);
    for field in fields {
        command.args(["-e", field]);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// captures/README.md's walk through 00-arp.pcapng: Wireshark's Ethernet II and ARP
/// dissectors read each frame as it says, and the first IP packet goes to the MAC address the
/// answer gave.
#[test]
fn the_arp_capture_is_what_the_readme_says() {
    if !tunstack_tests::tshark_available() {
        return;
    }
    let dir = TempDir::new("arp");
    run_tour(&dir.0);
    let path = dir.0.join("00-arp.pcapng");
    let protocols = tshark_fields(&path, "", &["frame.number", "frame.protocols"]);
    assert_eq!(
        protocols,
        "1\teth:ethertype:arp\n2\teth:ethertype:arp\n3\teth:ethertype:arp\n\
         4\teth:ethertype:arp\n5\teth:ethertype:ip:icmp:data\n6\teth:ethertype:ip:icmp:data\n\
         7\teth:ethertype:ip:icmp:data\n8\teth:ethertype:ip:icmp:data"
    );
    let arp = tshark_fields(
        &path,
        "arp",
        &[
            "frame.number",
            "eth.dst",
            "eth.src",
            "arp.opcode",
            "arp.src.hw_mac",
            "arp.src.proto_ipv4",
            "arp.dst.hw_mac",
            "arp.dst.proto_ipv4",
            "arp.isgratuitous",
            "frame.len",
        ],
    );
    let broadcast = "ff:ff:ff:ff:ff:ff";
    let (client, server) = ("02:00:0a:4d:00:01", "02:00:0a:4d:00:02");
    let unknown = "00:00:00:00:00:00";
    let rows = [
        // The announcements: sender and target address the same, to everyone.
        format!("1\t{broadcast}\t{client}\t1\t{client}\t10.77.0.1\t{unknown}\t10.77.0.1\t1\t42"),
        format!("2\t{broadcast}\t{server}\t1\t{server}\t10.77.0.2\t{unknown}\t10.77.0.2\t1\t42"),
        // Who has 10.77.0.2? tell 10.77.0.1: to everyone, the target MAC unknown.
        format!("3\t{broadcast}\t{client}\t1\t{client}\t10.77.0.1\t{unknown}\t10.77.0.2\t\t42"),
        // 10.77.0.2 is at 02:00:0a:4d:00:02: to the asker alone, who is its target.
        format!("4\t{client}\t{server}\t2\t{server}\t10.77.0.2\t{client}\t10.77.0.1\t\t42"),
    ];
    assert_eq!(arp, rows.join("\n"));
    let comments = tshark_fields(&path, "frame.comment", &["frame.number", "frame.comment"]);
    assert_eq!(
        comments,
        format!(
            "1\tgratuitous ARP: the interface is up, announcing our address at {client}\n\
             3\twho has 10.77.0.2? the next hop's MAC is unknown; 1 packet waits for the answer"
        )
    );
    // The first IPv4 frame leaves as the answer arrives, to the MAC address it gave.
    let first_ip = tshark_fields(
        &path,
        "ip",
        &[
            "frame.number",
            "frame.time_relative",
            "eth.dst",
            "eth.src",
            "ip.dst",
            "frame.len",
        ],
    );
    let first_ip = first_ip.lines().next().unwrap_or_default();
    assert_eq!(
        first_ip,
        format!("5\t0.120000000\t{server}\t{client}\t10.77.0.2\t98")
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

/// The TLS step's capture is encrypted, and its key log, written beside it, is what Wireshark
/// needs to read the request and the response inside.
#[test]
fn the_tls_capture_decrypts_with_its_key_log() {
    if !tunstack_tests::tshark_available() {
        return;
    }
    let dir = TempDir::new("tls");
    let text = run_tour(&dir.0);
    assert!(
        text.contains("handshake done: TLSv1_3, cipher suite TLS13_"),
        "{text}"
    );
    let capture = dir.0.join("09-tls.pcapng");
    let keylog = dir.0.join("09-tls.keylog");
    let keys = std::fs::read_to_string(&keylog).unwrap();
    assert!(keys
        .lines()
        .any(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 ")));
    let fields = |extra: &[&str], filter: &str, field: &str| {
        let out = Command::new("tshark")
            .args(extra)
            .arg("-r")
            .arg(&capture)
            .args(["-Y", filter, "-T", "fields", "-e", field])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let option = format!("tls.keylog_file:{}", keylog.display());
    assert_eq!(fields(&[], "http", "frame.number"), "");
    assert_eq!(
        fields(&["-o", &option], "http.request", "http.request.uri").trim(),
        "/"
    );
    assert_eq!(
        fields(&["-o", &option], "http.response", "http.response.code").trim(),
        "200"
    );
}
