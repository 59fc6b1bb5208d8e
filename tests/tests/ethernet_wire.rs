//! Our stack on an in-memory wire that carries Ethernet frames, on virtual time.
//!
//! Two of our hosts, A (10.0.0.1) and B (10.0.0.2), on the two ends of a [`memory::pair`] whose
//! medium is [`Medium::Ethernet`]: each announces itself with a gratuitous ARP, finds the other's
//! MAC address by ARP before its first packet, and frames everything it sends. Through the
//! socket API they move a few MiB each way over TCP, byte-exact, and UDP datagrams, and a
//! capture on A's end must show Wireshark Ethernet frames, the ARP request and reply, our ARP
//! packets with their frame comments, and nothing its experts warn about but TCP's flow control
//! (a sender that filled the window). A connect to an address nobody has fails after three
//! unanswered requests, in three seconds.
//!
//! Then the wire loses packets ([`Impair`]): ARP requests and replies too, which the
//! neighbour cache must recover from by asking again each second, between two of our hosts and
//! between ours and smoltcp.
//!
//! tokio's clock is paused: timers run in virtual time, runs repeat exactly, and every test is
//! bounded by [`LIMIT`] of virtual time, whatever the machine's speed.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::{sleep, timeout, Instant};
use tunstack::device::impair::{ImpairConfig, Impairments, Match, Rule};
use tunstack::device::{memory, Capture, Device, Impair, Medium, MemoryConfig};
use tunstack::link::neighbour::NeighbourState;
use tunstack::{Config, Stack, TcpListener, TcpStream, UdpSocket};
use tunstack_tests::smol::{SmolConfig, SmolStack};
use tunstack_tests::{
    tshark_available, tshark_check_fields, tshark_tcp_check, Direction, Frame, Pattern, TempFile,
};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// An address on the network that nobody has.
const NOBODY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 99);
const PORT: u16 = 7;
/// How much each direction of the TCP transfers moves.
const BULK: u64 = 4 << 20;
/// Our maximum segment lifetime: TIME-WAIT lasts twice this.
const MSL: Duration = Duration::from_secs(1);
/// How long any test may take, in virtual time.
const LIMIT: Duration = Duration::from_secs(120);

/// The two ends of a wire that carries Ethernet frames.
fn ethernet_wire() -> (memory::MemoryDevice, memory::MemoryDevice) {
    memory::pair(MemoryConfig {
        medium: Medium::Ethernet,
        ..MemoryConfig::default()
    })
}

/// One of our hosts at `addr`/24, with a fixed seed and a short MSL.
fn host(device: impl Device, addr: Ipv4Addr, seed: u64) -> Stack {
    let mut config = Config::new(format!("{addr}/24").parse().unwrap());
    config.seed = Some(seed);
    config.tcp.msl = MSL;
    Stack::new(device, config)
}

/// A connection from `client` to `server`'s listener on [`PORT`]: the client's end and the
/// server's.
async fn connect(client: &Stack, server: &Stack) -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(server, (Ipv4Addr::UNSPECIFIED, PORT))
        .await
        .unwrap();
    let (ours, accepted) = tokio::join!(
        TcpStream::connect(client, (server.addr(), PORT)),
        listener.accept()
    );
    (ours.unwrap(), accepted.unwrap().0)
}

/// `len` bytes each way at once between the two ends of a connection, each direction checked
/// byte for byte ([`tunstack_tests::both_ways`]); then both ends close.
async fn both_ways(one: TcpStream, other: TcpStream, len: u64) {
    let received = tunstack_tests::both_ways(one, other, len).await.unwrap();
    assert_eq!(received, (len, len));
}

/// One datagram from `from` to `to` and one back, through UDP sockets on ports 5001 and 5002.
async fn udp_round_trip(from: &Stack, to: &Stack) {
    let client = UdpSocket::bind(from, "0.0.0.0:5001").await.unwrap();
    let server = UdpSocket::bind(to, "0.0.0.0:5002").await.unwrap();
    client
        .send_to(b"a datagram in a frame", (to.addr(), 5002))
        .await
        .unwrap();
    let mut buf = [0; 64];
    let (n, sender) = server.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"a datagram in a frame");
    assert_eq!(sender, SocketAddr::from((from.addr(), 5001)));
    server.send_to(b"and back", sender).await.unwrap();
    let (n, sender) = client.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"and back");
    assert_eq!(sender, SocketAddr::from((to.addr(), 5002)));
}

/// What the capture test reads of each frame.
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.encap_type",
    "frame.packet_flags_direction",
    "frame.comment",
    "eth.src",
    "eth.dst",
    "eth.type",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "udp.payload",
    "tcp.analysis.window_full",
    "tcp.analysis.zero_window",
    "_ws.expert.message",
    "_ws.expert.severity",
    "_ws.col.Info",
];

/// Wireshark's expert severities: a comment (`PI_COMMENT`), which a frame comment is; chat and
/// notes are a protocol's ordinary events (a SYN, the FIN that begins a close; the segments
/// its TCP analysis flags as retransmitted or duplicate are notes too, which
/// [`tshark_tcp_check`] fails on); a warning (`PI_WARN`, 0x600000) or an error is what
/// Wireshark paints yellow or red.
const EXPERT_COMMENT: u64 = 0x0010_0000;
const EXPERT_WARN: u64 = 0x0060_0000;

/// The flags of Wireshark's TCP analysis that are warnings about flow control doing its job, as
/// [`tunstack_tests::TCP_ANALYSIS_PROBLEMS`] leaves them out too: a sender that filled the
/// receiver's window exactly (the reader was slower, for a moment), or a receiver whose buffer
/// was full.
const FLOW_CONTROL: &[&str] = &["tcp.analysis.window_full", "tcp.analysis.zero_window"];

/// A and B on an Ethernet wire, A's end captured: ARP, 4 MiB each way over TCP, a datagram each
/// way over UDP, both connections closed. Both hosts hold each other's MAC address; tshark
/// finds the capture clean, of link type Ethernet, with A's announcement, its request for B and
/// B's reply dissected, a comment on each ARP packet of ours, and no expert note beyond those
/// comments and the chat of TCP's handshakes and closes.
#[tokio::test(start_paused = true)]
async fn arp_then_tcp_and_udp_in_frames_with_a_clean_capture() {
    let file = TempFile::new("ethernet-wire");
    let (a_end, b_end) = ethernet_wire();
    let capture = Capture::create(a_end, file.path(), "mem0")
        .unwrap()
        .with_epoch(Duration::from_secs(1_700_000_000));
    let a = host(capture, A, 1);
    let b = host(b_end, B, 2);
    timeout(LIMIT, async {
        let (at_a, at_b) = connect(&a, &b).await;
        // A asked for B; B learned A from the question and answered it.
        let (a_mac, b_mac) = (Config::mac_for(A), Config::mac_for(B));
        assert_eq!((a.mac(), b.mac()), (Some(a_mac), Some(b_mac)));
        let a_table = a.neighbours();
        assert_eq!(a_table.len(), 1, "{a_table:?}");
        assert_eq!((a_table[0].ip, a_table[0].mac), (B.into(), Some(b_mac)));
        assert_eq!(a_table[0].state, NeighbourState::Reachable);
        let b_table = b.neighbours();
        assert_eq!(b_table.len(), 1, "{b_table:?}");
        assert_eq!((b_table[0].ip, b_table[0].mac), (A.into(), Some(a_mac)));

        both_ways(at_a, at_b, BULK).await;
        udp_round_trip(&a, &b).await;
        udp_round_trip(&b, &a).await;
        // Let the last ACKs and TIME-WAIT pass.
        sleep(3 * MSL).await;
        assert!(a.tcp_connections().is_empty() && b.tcp_connections().is_empty());

        let (sa, sb) = (a.stats(), b.stats());
        // A: its announcement and its request; B's announcement and reply.
        assert_eq!((sa.arp.sent, sa.neighbours.requests), (2, 1), "{sa}");
        assert_eq!(sa.neighbours.released, 1, "the SYN waited: {sa}");
        assert_eq!(sa.neighbours.failed + sb.neighbours.failed, 0);
        assert!(sa.arp.received >= 2, "{sa}");
        // B asked nobody by broadcast: it knew A from A's question.
        assert_eq!(sb.neighbours.requests, 0, "{sb}");
        for stats in [&sa, &sb] {
            assert_eq!(stats.ethernet.dropped.total(), 0, "{stats}");
            assert_eq!(stats.arp.dropped.total(), 0, "{stats}");
        }
    })
    .await
    .expect("done within the limit");

    if !tshark_available() {
        return;
    }
    let frames = tshark_check_fields(file.path(), FIELDS);
    check_capture(&frames);
    let conversations = tshark_tcp_check(file.path());
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    conversations[0].check_complete().unwrap();
    assert_eq!(conversations[0].bytes_from_client, BULK);
    assert_eq!(conversations[0].bytes_from_server, BULK);
}

/// See [`arp_then_tcp_and_udp_in_frames_with_a_clean_capture`].
fn check_capture(frames: &[Frame]) {
    use Direction::{Inbound, Outbound};
    let (a_mac, b_mac) = (
        Config::mac_for(A).to_string(),
        Config::mac_for(B).to_string(),
    );
    assert!(frames.len() > 1000, "{} frames", frames.len());
    // Link type Ethernet: Wireshark's encapsulation 1 (WTAP_ENCAP_ETHERNET), every frame
    // between the two MAC addresses or to broadcast.
    for frame in frames {
        assert_eq!(frame.get("frame.encap_type"), Some("1"), "{frame:?}");
        let (src, dst) = (frame.get("eth.src").unwrap(), frame.get("eth.dst").unwrap());
        assert!(src == a_mac || src == b_mac, "{frame:?}");
        assert!(dst == a_mac || dst == b_mac || dst == "ff:ff:ff:ff:ff:ff");
    }
    let arp: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.get("arp.opcode").is_some())
        .collect();
    let seen: Vec<_> = arp.iter().map(|f| arp_of(f)).collect();
    // A's announcement (a request for its own address), its request for B and B's reply, in
    // this order; B's announcement arrives whenever B's stack started.
    let b_announces = (Inbound, 1, "10.0.0.2", "10.0.0.2");
    let ours = [
        (Outbound, 1, "10.0.0.1", "10.0.0.1"),
        (Outbound, 1, "10.0.0.1", "10.0.0.2"),
        (Inbound, 2, "10.0.0.2", "10.0.0.1"),
    ];
    assert_eq!(seen.len(), 4, "{seen:?}");
    let without_b: Vec<_> = seen.iter().filter(|s| **s != b_announces).collect();
    assert_eq!(without_b, ours.iter().collect::<Vec<_>>(), "{seen:?}");
    let find = |wanted| *arp.iter().find(|f| arp_of(f) == wanted).unwrap();
    let [announce, request, reply] = ours.map(find);
    let b_announce = find(b_announces);

    assert_eq!(request.get("eth.dst"), Some("ff:ff:ff:ff:ff:ff"));
    assert_eq!(reply.get("arp.src.hw_mac"), Some(b_mac.as_str()));
    assert_eq!(
        (reply.get("eth.src"), reply.get("eth.dst")),
        (Some(b_mac.as_str()), Some(a_mac.as_str()))
    );
    // Our ARP packets say why they were sent; B's, not captured where B sent them, do not.
    assert_eq!(
        announce.get("frame.comment"),
        Some("gratuitous ARP: the interface is up, announcing our address at 02:00:0a:00:00:01")
    );
    assert_eq!(
        request.get("frame.comment"),
        Some("who has 10.0.0.2? the next hop's MAC is unknown; 1 packet waits for the answer")
    );
    assert_eq!(reply.get("frame.comment"), None);
    assert_eq!(b_announce.get("frame.comment"), None);
    // The SYN, the first IPv4 frame, waited for the request.
    let first_ip = frames
        .iter()
        .find(|f| f.get("eth.type") == Some("0x0800"))
        .unwrap();
    assert!(first_ip.number() > request.number(), "{first_ip:?}");
    // Both datagrams each way crossed.
    let datagrams = frames
        .iter()
        .filter(|f| f.get("udp.payload").is_some())
        .count();
    assert_eq!(datagrams, 4);
    // Wireshark's experts: our comments, and no warning but TCP's flow control: no malformed
    // frame, no duplicate address (an ARP conflict), no segment after a gap.
    for frame in frames {
        let notes = frame.all("_ws.expert.message");
        let severities = frame.all("_ws.expert.severity");
        assert_eq!(notes.len(), severities.len(), "{frame:?}");
        for (note, severity) in notes.iter().zip(severities) {
            let severity = parse_number(severity);
            let flow_control = FLOW_CONTROL.iter().any(|flag| frame.get(flag).is_some());
            if severity == EXPERT_COMMENT {
                assert_eq!(Some(note.as_str()), frame.get("frame.comment"), "{frame:?}");
            } else if severity >= EXPERT_WARN {
                assert!(flow_control, "expert note: {note} in {frame:?}");
            }
        }
    }
}

/// An ARP frame as [`check_capture`] compares them: direction, operation, sender and target.
fn arp_of(frame: &Frame) -> (Direction, u64, &str, &str) {
    (
        frame.direction().unwrap(),
        frame.num("arp.opcode").unwrap(),
        frame.get("arp.src.proto_ipv4").unwrap(),
        frame.get("arp.dst.proto_ipv4").unwrap(),
    )
}

/// A number as tshark prints it: decimal, or hexadecimal with `0x`.
fn parse_number(text: &str) -> u64 {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => text.parse().unwrap(),
    }
}

/// A connect to an address on the wire that nobody has: three ARP requests a second apart, no
/// answer, and the connect fails with HostUnreachable three seconds after it began, as Linux's
/// does; the SYN never left. The host on the other end saw the three requests.
#[tokio::test(start_paused = true)]
async fn a_connect_to_a_silent_neighbour_fails_in_three_seconds() {
    let (a_end, b_end) = ethernet_wire();
    let a = host(a_end, A, 1);
    let b = host(b_end, B, 2);
    timeout(LIMIT, async {
        let started = Instant::now();
        let err = TcpStream::connect(&a, (NOBODY, 80)).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.kind(), io::ErrorKind::HostUnreachable, "{err}");
        assert!(
            took >= Duration::from_secs(3) && took < Duration::from_millis(3010),
            "{took:?}"
        );
        let stats = a.stats();
        assert_eq!(stats.neighbours.requests, 3, "{stats}");
        assert_eq!(stats.neighbours.failed, 1, "{stats}");
        // Our announcement and the three requests: no frame carried the SYN.
        assert_eq!((stats.ethernet.sent, stats.arp.sent), (4, 4), "{stats}");
        assert_eq!(
            stats.neighbours.held_dropped, stats.neighbours.held,
            "{stats}"
        );
        assert!(a.neighbours().iter().all(|n| n.ip != NOBODY));
        // B heard A's announcement and the three questions, and answered none.
        let heard = b.stats();
        assert_eq!(heard.arp.received, 4, "{heard}");
        assert_eq!(heard.arp.sent, 1, "only its own announcement: {heard}");
        assert!(b.neighbours().is_empty());
    })
    .await
    .expect("done within the limit");
}

/// Impairments on A's end of the wire: B's announcement and A's first ARP request for B are
/// lost, and so is B's reply to the second, and a share of the TCP segments both ways. A's
/// third request, two seconds in, gets through and is answered; then 4 MiB each way arrive
/// byte-exact.
#[tokio::test(start_paused = true)]
async fn lost_arp_packets_are_asked_again_and_tcp_repairs_a_lossy_wire() {
    let (a_end, b_end) = ethernet_wire();
    // A's ARP packets, out: 1 its announcement, 2 its first request. In: 1 B's announcement
    // (which would tell A where B is, had A asked already: an entry waiting for an answer
    // takes the address from any ARP packet of B's), 2 B's reply to the second request.
    let lossy = |lost_arp| Impairments {
        script: vec![
            Rule::range(Match::Arp, lost_arp),
            Rule::with_probability(Match::Tcp, 0.03),
        ],
        ..Impairments::default()
    };
    let config = ImpairConfig {
        outbound: lossy(2..=2),
        inbound: lossy(1..=2),
        seed: 5,
    };
    let impaired = Impair::new(a_end, config).unwrap();
    let impair_stats = impaired.stats_handle();
    let a = host(impaired, A, 1);
    let b = host(b_end, B, 2);
    timeout(LIMIT, async {
        let started = Instant::now();
        let (at_a, at_b) = connect(&a, &b).await;
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(2), "{took:?}");
        let stats = a.stats();
        assert_eq!(stats.neighbours.requests, 3, "{stats}");
        assert_eq!(stats.neighbours.failed, 0, "{stats}");
        let table = a.neighbours();
        assert_eq!(table.len(), 1, "{table:?}");
        assert_eq!(
            (table[0].ip, table[0].mac),
            (B.into(), Some(Config::mac_for(B)))
        );
        assert_eq!(table[0].state, NeighbourState::Reachable);
        // B answered the second request (lost) and the third.
        assert_eq!(b.stats().arp.sent, 3, "{}", b.stats());

        both_ways(at_a, at_b, BULK).await;
        let lost = impair_stats.get();
        assert!(
            lost.outbound.dropped_script > 10 && lost.inbound.dropped_script > 10,
            "{lost}"
        );
    })
    .await
    .expect("done within the limit");
}

/// smoltcp opens a connection to us over a lossy Ethernet wire: its first ARP request is lost,
/// and so is our answer to its second; it asks again each second, and its third request is
/// answered. Then 2 MiB go each way through 3% loss of TCP segments, byte-exact.
#[tokio::test(start_paused = true)]
async fn smoltcp_asks_again_for_our_address_on_a_lossy_wire() {
    let (ours_end, smol_end) = ethernet_wire();
    // Our ARP packets, in: 1 smoltcp's first request. Out: 1 our announcement, 2 our answer
    // to its second request.
    let lossy = |lost_arp: u64| Impairments {
        script: vec![
            Rule::nth(Match::Arp, lost_arp),
            Rule::with_probability(Match::Tcp, 0.03),
        ],
        ..Impairments::default()
    };
    let config = ImpairConfig {
        outbound: lossy(2),
        inbound: lossy(1),
        seed: 9,
    };
    let impaired = Impair::new(ours_end, config).unwrap();
    let impair_stats = impaired.stats_handle();
    let ours = host(impaired, A, 1);
    let smol = SmolStack::new(
        smol_end,
        SmolConfig::new(format!("{B}/24").parse().unwrap()),
    );
    timeout(LIMIT, async {
        let started = Instant::now();
        let (mut at_ours, mut at_smol) =
            tunstack_tests::smol::smol_connects(&ours, &smol, PORT).await;
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(2), "{took:?}");
        let arp = smol.arp_stats();
        assert_eq!(arp.requests_sent, 3, "{arp:?}");
        assert_eq!(arp.replies_received, 1, "{arp:?}");
        assert_eq!(smol.neighbours(), [(A, Config::mac_for(A))]);
        let stats = ours.stats();
        // Two requests reached us, and we answered both.
        assert_eq!(stats.arp.sent, 3, "{stats}");

        let (to_smol, to_ours) = (Pattern::new(3), Pattern::new(4));
        let len = 2 << 20;
        let send = async {
            to_smol.write_to(&mut at_ours, len).await.unwrap();
            at_ours.shutdown().await.unwrap();
        };
        let (_, received) = tokio::join!(send, to_smol.read_and_check(&mut at_smol));
        assert_eq!(received.unwrap(), len);
        let send = async {
            to_ours.write_to(&mut at_smol, len).await.unwrap();
            at_smol.shutdown().await.unwrap();
        };
        let (_, received) = tokio::join!(send, to_ours.read_and_check(&mut at_ours));
        assert_eq!(received.unwrap(), len);
        let lost = impair_stats.get();
        assert!(
            lost.outbound.dropped_script > 10 && lost.inbound.dropped_script > 10,
            "{lost}"
        );
        assert!(at_ours.info().unwrap().stats.retransmissions > 0);
    })
    .await
    .expect("done within the limit");
}
