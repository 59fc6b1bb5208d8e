//! The ladder program on real captures: the tour's (written by our capture wrapper) and
//! tcpdump's of a TCP exchange between Linux and our stack over `tun0`, in a network namespace
//! made for the test.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::TcpListener;
use tunstack_demos::ladder::{self, Options};
use tunstack_tests::{skip_or_fail, tun_tests_can_run, Running, TempFile, TunNet, STACK};

const LADDER: &str = env!("CARGO_BIN_EXE_ladder");
const TOUR: &str = env!("CARGO_BIN_EXE_tour");

/// A fresh temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("tunstack-ladder-{tag}-{}", std::process::id()));
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

/// Runs the tour, writing its captures to `dir`.
fn run_tour(dir: &Path) {
    let output = Command::new(TOUR).arg("--out").arg(dir).output().unwrap();
    assert!(output.status.success(), "tour failed: {output:?}");
}

/// Runs `ladder args...` in `cwd`.
fn ladder_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(LADDER)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Runs `ladder file args...` and returns its lines; it must succeed.
fn ladder(file: &Path, args: &[&str]) -> Vec<String> {
    let output = Command::new(LADDER).arg(file).args(args).output().unwrap();
    assert!(output.status.success(), "ladder failed: {output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The packet rows of a drawing, from the left rail on: times differ between captures, the
/// rows must not.
fn rows(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line.contains(['►', '◄', '✗']))
        .filter_map(|line| line.find('│').map(|at| line[at..].to_string()))
        .collect()
}

/// Whether `lines` has a line that contains each of `parts`, in order.
fn has_row(lines: &[String], parts: &[&str]) -> bool {
    lines.iter().any(|line| {
        let mut rest = line.as_str();
        parts.iter().all(|part| match rest.find(part) {
            Some(at) => {
                rest = &rest[at + part.len()..];
                true
            }
            None => false,
        })
    })
}

#[test]
fn the_tours_ping_and_udp_steps_drawn() {
    let dir = TempDir::new("tour");
    run_tour(&dir.0);

    let ping = ladder(&dir.0.join("01-ping.pcapng"), &[]);
    assert!(
        ping[0].ends_with("01-ping.pcapng: pcapng, raw IP (101), 6 packets, 1 stream"),
        "{ping:#?}"
    );
    assert!(ping.contains(&"stream 0: ICMP 10.77.0.1 → 10.77.0.2, 6 packets".to_string()));
    assert!(has_row(&ping, &["10.77.0.1", "10.77.0.2"]));
    for seq in 1..=3 {
        let request = format!("│──── ICMP echo request seq={seq} len=56 ─");
        let reply = format!("│◄─── ICMP echo reply seq={seq} len=56 ─");
        assert!(has_row(&ping, &[&request, "►│  id="]), "{ping:#?}");
        assert!(has_row(&ping, &[&reply, "─│  id="]), "{ping:#?}");
    }
    assert_eq!(rows(&ping).len(), 6);

    // One datagram each way; then the client closes its socket, and its stack answers the
    // server's next datagram with a port unreachable, which joins the datagram's stream.
    let udp = ladder(&dir.0.join("02-udp.pcapng"), &["--all"]);
    assert!(udp[0].ends_with("02-udp.pcapng: pcapng, raw IP (101), 4 packets, 1 stream"));
    let titles: Vec<&String> = udp.iter().filter(|l| l.starts_with("stream ")).collect();
    assert_eq!(titles.len(), 1, "{udp:#?}");
    assert!(
        titles[0].ends_with(" → 10.77.0.2:9001, 4 packets"),
        "{titles:?}"
    );
    assert!(has_row(
        &udp,
        &["│──── UDP len=15 ─", "►│  \"Hello over UDP!\""]
    ));
    assert!(has_row(
        &udp,
        &["│◄─── UDP len=18 ─", "─│  \"Got your datagram!\""]
    ));
    assert!(has_row(
        &udp,
        &["│◄─── UDP len=12 ─", "─│  \"still there?\""]
    ));
    assert!(has_row(
        &udp,
        &[
            "│──── ICMP port unreachable ─",
            "►│  about the UDP packet to 10.77.0.1:",
            "# port unreachable: no socket is bound to UDP port "
        ]
    ));

    // The same drawing in ASCII, for terminals without box drawing.
    let ascii = ladder(&dir.0.join("02-udp.pcapng"), &["--all", "--ascii"]);
    assert!(ascii.iter().all(|line| line.is_ascii()), "{ascii:#?}");
    assert!(has_row(
        &ascii,
        &["|---- UDP len=15 -", ">|  \"Hello over UDP!\""]
    ));
    assert!(has_row(&ascii, &["|---- ICMP port unreachable -", ">|"]));
}

#[test]
fn the_tours_arp_step_drawn() {
    let dir = TempDir::new("tour-arp");
    run_tour(&dir.0);
    let file = dir.0.join("00-arp.pcapng");
    let arp = ladder(&file, &[]);
    assert!(
        arp[0].ends_with("00-arp.pcapng: pcapng, Ethernet (1), 8 packets, 1 stream"),
        "{arp:#?}"
    );
    assert!(arp.contains(&"stream 0: ICMP 10.77.0.1 → 10.77.0.2, 8 packets, 4 of them ARP".into()));
    // ARP where it happened, before the ping that needed it: the announcements and the
    // question to everyone (a double line), the answer to the client alone.
    let drawn = rows(&arp);
    assert_eq!(drawn.len(), 8, "{arp:#?}");
    let broadcast = "═►│  broadcast: to every host on the link";
    assert!(drawn[0].starts_with("│════ ARP announcement 10.77.0.1 is at 02:00:0a:4d:00:01 ═"));
    assert!(drawn[0].contains(broadcast), "{arp:#?}");
    assert!(drawn[0].ends_with(
        "# gratuitous ARP: the interface is up, announcing our address at 02:00:0a:4d:00:01"
    ));
    assert!(drawn[1].starts_with("│◄═══ ARP announcement 10.77.0.2 is at 02:00:0a:4d:00:02 ═"));
    assert!(drawn[2].starts_with("│════ ARP who has 10.77.0.2? tell 10.77.0.1 ═"));
    assert!(drawn[2].contains(broadcast));
    assert!(drawn[2].ends_with(
        "# who has 10.77.0.2? the next hop's MAC is unknown; 1 packet waits for the answer"
    ));
    assert!(drawn[3].starts_with("│◄─── ARP 10.77.0.2 is at 02:00:0a:4d:00:02 ─"));
    assert!(
        drawn[3].ends_with("─│"),
        "no note on a unicast answer: {arp:#?}"
    );
    assert!(drawn[4].starts_with("│──── ICMP echo request seq=1 len=56 ─"));
    assert!(drawn[5].starts_with("│◄─── ICMP echo reply seq=1 len=56 ─"));
    // The times: the question at 0.1 s, the answer and the first ping a round trip later.
    assert!(has_row(&arp, &["0.100000  │════ ARP who has"]));
    assert!(has_row(&arp, &["0.120000  │◄─── ARP 10.77.0.2 is at"]));
    assert!(has_row(&arp, &["0.120000  │──── ICMP echo request seq=1"]));

    // --mac: each side's MAC address under its IP address; the rows do not change.
    let mac = ladder(&file, &["--mac"]);
    let at = mac
        .iter()
        .position(|line| line.trim_start().starts_with("time  10.77.0.1"))
        .expect("the column heading");
    let macs: Vec<&str> = mac[at + 1].split_whitespace().collect();
    assert_eq!(macs, ["02:00:0a:4d:00:01", "02:00:0a:4d:00:02"], "{mac:#?}");
    assert_eq!(mac[at].chars().count(), mac[at + 1].chars().count());
    assert_eq!(rows(&mac), drawn);

    // ASCII: a broadcast is a line of equals signs.
    let ascii = ladder(&file, &["--ascii"]);
    assert!(ascii.iter().all(|line| line.is_ascii()), "{ascii:#?}");
    assert!(has_row(
        &ascii,
        &[
            "|==== ARP who has 10.77.0.2? tell 10.77.0.1 =",
            "=>|  broadcast"
        ]
    ));
}

#[test]
fn a_capture_of_bare_ip_draws_the_same_with_mac() {
    let dir = TempDir::new("tour-mac");
    run_tour(&dir.0);
    let file = dir.0.join("01-ping.pcapng");
    let plain = ladder(&file, &[]);
    let mac = ladder(&file, &["--mac"]);
    assert_eq!(
        mac[1],
        "--mac: no MAC addresses to show: the packets in this capture have no Ethernet header \
         (bare IP, as a TUN device carries them)"
    );
    assert_eq!(mac[0], plain[0]);
    assert_eq!(mac[2..], plain[1..]);
}

#[test]
fn without_a_file_it_names_a_capture_to_try() {
    // In a folder where the tour wrote its captures, the hint names one of them.
    let dir = TempDir::new("hint");
    run_tour(&dir.0.join("captures"));
    let output = ladder_in(&dir.0, &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let hint = stderr
        .lines()
        .find(|line| line.starts_with("try: "))
        .expect("a try: line");
    assert_eq!(hint, "try: ladder captures/03-handshake.pcapng --all");
    assert!(dir.0.join("captures/03-handshake.pcapng").exists());
    assert_eq!(stderr.lines().filter(|l| l.starts_with("try: ")).count(), 1);

    // The hint's own command works there.
    let output = ladder_in(&dir.0, &["captures/03-handshake.pcapng", "--all"]);
    assert!(output.status.success(), "{output:?}");

    // Elsewhere, it says how to make the captures first.
    let empty = TempDir::new("hint-empty");
    let output = ladder_in(&empty.0, &[]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("try: cargo run -p tunstack-demos --bin tour"),
        "{stderr}"
    );
}

#[test]
fn errors_are_one_line_and_not_a_panic() {
    let dir = TempDir::new("errors");
    let not_a_capture = dir.0.join("notes.txt");
    std::fs::write(&not_a_capture, "GET / HTTP/1.1\r\n\r\n").unwrap();
    let output = Command::new(LADDER).arg(&not_a_capture).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("ladder: ") && stderr.contains("not a pcap or pcapng file"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);

    run_tour(&dir.0);
    let output = Command::new(LADDER)
        .arg(dir.0.join("01-ping.pcapng"))
        .args(["--stream", "4"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "ladder: there is no stream 4: this capture has streams 0 to 0\n"
    );
}

/// Starts `tcpdump -i DEVICE -w FILE tcp` inside the namespace and waits until it captures.
///
/// The kernel hands captured packets to tcpdump in blocks, a block when it is full or after a
/// timeout (a second): [`wait_for_rows`] waits for the last ones before tcpdump is stopped.
fn start_tcpdump(net: &TunNet, device: &str, file: &Path) -> Running {
    let path = file.to_str().expect("a UTF-8 temporary path");
    let tcpdump =
        Running::spawn(&mut net.exec("tcpdump", &["-i", device, "-n", "-U", "-w", path, "tcp"]))
            .unwrap();
    // tcpdump writes the file header once the interface is open and capturing.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(file).map_or(0, |m| m.len()) < 24 {
        assert!(Instant::now() < deadline, "tcpdump did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    tcpdump
}

/// Waits up to `limit` until the ladder of the capture in `file` has a row starting with each of
/// `starts`; panics with the rows it has after that.
fn wait_for_rows(file: &Path, starts: &[&str], limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let drawn = ladder::read_file(file)
            .ok()
            .and_then(|capture| ladder::render("", &capture, &Options::default()).ok())
            .map(|lines| rows(&lines))
            .unwrap_or_default();
        if starts
            .iter()
            .all(|start| drawn.iter().any(|row| row.starts_with(start)))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: no rows {starts:?} after {limit:?}: {drawn:#?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops a tcpdump (Ctrl-C: it writes what it holds and exits).
fn stop_tcpdump(tcpdump: Running) {
    tcpdump.interrupt().unwrap();
    let exited = tcpdump.wait_within(Duration::from_secs(10)).unwrap();
    assert!(exited.status.success(), "{exited:?}");
}

#[test]
fn a_tcpdump_capture_of_tun0_draws_the_same_ladder_as_our_own_capture() {
    if !tun_tests_can_run() {
        return;
    }
    if Command::new("tcpdump").arg("--version").output().is_err() {
        skip_or_fail("tcpdump is not installed (apt-get install tcpdump)");
        return;
    }
    let mut net = TunNet::start("ladder").unwrap();
    // tcpdump writes pcap whatever the file is called: the ladder goes by the file's contents.
    let (raw, cooked) = (TempFile::new("ladder-tun0"), TempFile::new("ladder-any"));
    let on_tun0 = start_tcpdump(&net, "tun0", raw.path());
    let on_any = start_tcpdump(&net, "any", cooked.path());

    // The course's echo server on our stack, Linux's client on the other side of tun0.
    net.block_on(async {
        let listener = TcpListener::bind(net.stack(), "0.0.0.0:7").await?;
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await?;
            let mut buf = [0u8; 1024];
            loop {
                let n = conn.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                conn.write_all(&buf[..n]).await?;
            }
            conn.shutdown().await
        });
        std::io::Result::Ok(())
    })
    .unwrap()
    .unwrap();
    let mut client = net.linux_tcp_connect((STACK, 7)).unwrap();
    client.write_all(b"hello ladder\n").unwrap();
    let mut echoed = [0u8; 13];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"hello ladder\n");
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        tunstack_tests::read(&mut client, &mut echoed).unwrap(),
        0,
        "the server closes too"
    );
    drop(client);
    net.wait_for_tcp_closes(Duration::from_secs(5)).unwrap();
    // The last packets may still be on their way into a file: wait until each has the close,
    // the server's FIN and the last ACK.
    let closed = [
        "│◄─── [FIN, ACK] seq=14 ack=15 ",
        "│──── [ACK] seq=15 ack=15 ",
    ];
    for file in [net.capture_path(), raw.path(), cooked.path()] {
        wait_for_rows(file, &closed, Duration::from_secs(10));
    }
    stop_tcpdump(on_tun0);
    stop_tcpdump(on_any);
    net.stop();

    let ours = ladder(net.capture_path(), &[]);
    let theirs = ladder(raw.path(), &[]);
    let cooked_lines = ladder(cooked.path(), &[]);
    assert!(theirs[0].contains(": pcap, raw IP (101), "), "{theirs:#?}");
    assert!(
        cooked_lines[0].contains(": pcap, Linux cooked (113), ")
            || cooked_lines[0].contains(": pcap, Linux cooked v2 (276), "),
        "{cooked_lines:#?}"
    );

    // Linux connected: it is the client, on the left.
    let title = theirs
        .iter()
        .find(|l| l.starts_with("stream 0: TCP 10.77.0.1:"))
        .unwrap_or_else(|| panic!("no connection drawn: {theirs:#?}"));
    assert!(title.contains(" → 10.77.0.2:7, "), "{title}");
    let drawn = rows(&theirs);
    assert!(drawn.len() >= 7, "{theirs:#?}");
    assert!(drawn[0].starts_with("│──── [SYN] seq=0 win="), "{drawn:#?}");
    assert!(drawn[1].starts_with("│◄─── [SYN, ACK] seq=0 ack=1 win="));
    assert!(drawn[2].starts_with("│──── [ACK] seq=1 ack=1 win="));
    assert!(
        has_row(
            &theirs,
            &["[PSH, ACK] seq=1 ack=1 len=13 ", "\"hello ladder\\n\""]
        ),
        "{theirs:#?}"
    );
    assert!(has_row(&theirs, &["│◄─── [PSH, ACK] seq=1 ack=14 len=13 "]));
    assert!(has_row(&theirs, &["│──── [FIN, ACK] seq=14 "]));
    assert!(has_row(&theirs, &["│◄─── [FIN, ACK] seq=14 "]));
    // A clean exchange on a clean link: nothing lost, resent or wrong.
    let all = theirs.join("\n");
    for word in ["lost", "missing", "retransmission", "dup ack", "checksum"] {
        assert!(!all.contains(word), "{word}: {all}");
    }

    // Three captures of the same packets, three files, one ladder; ours also carries the
    // stack's frame comments, which tcpdump cannot know.
    let ours_rows = rows(&ours);
    assert!(
        ours_rows[1].contains("  # handshake 2/3"),
        "{}",
        ours.join("\n")
    );
    let uncommented: Vec<String> = ours_rows
        .iter()
        .map(|row| row.split("  # ").next().unwrap_or(row).to_string())
        .collect();
    assert_eq!(uncommented, drawn, "ours:\n{}", ours.join("\n"));
    assert_eq!(rows(&cooked_lines), drawn);
}

/// Two of our stacks on an in-memory wire that loses the client's second data segment, with the
/// client's side captured to `file` either before the loss (`capture_sees_the_loss`: the segment
/// is in the file, on its way out) or after it (the segment never reaches the capture).
async fn lossy_transfer(capture_sees_the_loss: bool, file: &Path) {
    use tunstack::device::impair::{ImpairConfig, Impairments, Match, Rule};
    use tunstack::device::{memory, Capture, Device, Impair};
    use tunstack::{Config, Stack, TcpStream};

    let (a, b) = memory::pair(Default::default());
    let lose = ImpairConfig::outbound_only(Impairments {
        script: vec![Rule::nth(Match::TcpData, 2)],
        delay: Duration::from_millis(10),
        ..Impairments::default()
    });
    let epoch = Duration::from_secs(1_767_225_600);
    let client_link: Box<dyn Device> = if capture_sees_the_loss {
        let impaired = Impair::new(a, lose).unwrap();
        Box::new(
            Capture::create(impaired, file, "client")
                .unwrap()
                .with_epoch(epoch),
        )
    } else {
        let captured = Capture::create(a, file, "client")
            .unwrap()
            .with_epoch(epoch);
        Box::new(Impair::new(captured, lose).unwrap())
    };
    let config = |addr: &str, seed| {
        let mut config = Config::new(addr.parse().unwrap());
        config.seed = Some(seed);
        config
    };
    let client = Stack::new(client_link, config("10.77.0.1/24", 1));
    let server = Stack::new(b, config("10.77.0.2/24", 2));
    let listener = TcpListener::bind(&server, "0.0.0.0:7").await.unwrap();
    let receive = async {
        let (mut conn, _) = listener.accept().await?;
        let mut all = Vec::new();
        conn.read_to_end(&mut all).await?;
        std::io::Result::Ok(all.len())
    };
    let send = async {
        let mut conn = TcpStream::connect(&client, "10.77.0.2:7").await?;
        conn.write_all(&[b'x'; 6 * 1000]).await?;
        conn.shutdown().await
    };
    let (received, sent) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(receive, send)
    })
    .await
    .unwrap();
    sent.unwrap();
    assert_eq!(received.unwrap(), 6000);
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_segment_lost_after_the_capture_point_ends_in_a_cross() {
    let file = TempFile::new("ladder-lost");
    lossy_transfer(true, file.path()).await;
    let lines = ladder(file.path(), &["--max-rows", "0"]);
    let lost = lines
        .iter()
        .find(|line| line.contains('✗'))
        .unwrap_or_else(|| panic!("no lost row: {lines:#?}"));
    assert!(
        lost.contains("─✗ │  lost: never acknowledged, sent again in frame "),
        "{lost}"
    );
    assert!(has_row(&lines, &["dup ack #1"]), "{lines:#?}");
    assert!(
        has_row(&lines, &["►│  retransmission of frame ", "  # "]),
        "the retransmission, with the stack's comment: {lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains('╌')), "{lines:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_segment_lost_before_the_capture_point_is_a_dashed_gap() {
    let file = TempFile::new("ladder-gap");
    lossy_transfer(false, file.path()).await;
    let lines = ladder(file.path(), &["--max-rows", "0"]);
    assert!(
        has_row(
            &lines,
            &[
                "│╌╌╌╌ seq=1449 len=1448 ╌",
                "╌✗ │  not captured: lost before the capture point"
            ]
        ),
        "{lines:#?}"
    );
    assert!(has_row(
        &lines,
        &[
            "│──── [ACK] seq=1449 ack=1 len=1448 ",
            "►│  retransmission  "
        ]
    ));
    assert!(
        !lines.iter().any(|l| l.contains("lost: never")),
        "{lines:#?}"
    );
}
