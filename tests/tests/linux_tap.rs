//! Our stack and the Linux kernel on the two ends of a TAP device: Ethernet frames and ARP.
//!
//! Each test gets a network namespace of its own ([`TunNet::start_tap`]): the kernel's `tap0`
//! at 10.77.0.1 with its `ping`, `arping`, `ip neigh` and std sockets, our stack at 10.77.0.2
//! with its own MAC address, and a capture of every frame, which tshark must find clean.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::link::neighbour::NeighbourState;
use tunstack::{Config, TcpListener, TcpStream, UdpSocket};
use tunstack_tests::{
    linux_ping, output_within, tshark_check_fields, tun_tests_can_run, Direction, TunNet, KERNEL,
    STACK,
};

/// A TAP TunNet for this test, or `None` (after printing why) when TUN tests cannot run here.
fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    Some(TunNet::start_tap(label).unwrap())
}

/// Our MAC address, as text.
fn our_mac() -> String {
    Config::mac_for(STACK).to_string()
}

/// What `ip neigh show <ip> dev tap0` prints in the namespace.
fn ip_neigh(net: &TunNet, ip: Ipv4Addr) -> String {
    let ip = ip.to_string();
    let args = ["neigh", "show", &ip, "dev", "tap0"];
    let output = output_within(&mut net.exec("ip", &args), Duration::from_secs(5)).unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The kernel's MAC address on `tap0`.
fn kernel_mac(net: &TunNet) -> String {
    let output = output_within(
        &mut net.exec("cat", &["/sys/class/net/tap0/address"]),
        Duration::from_secs(5),
    )
    .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

const ETH_FIELDS: &[&str] = &[
    "frame.packet_flags_direction",
    "eth.src",
    "eth.dst",
    "eth.type",
    "arp.opcode",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "arp.src.hw_mac",
    "icmp.type",
    "frame.comment",
    "_ws.expert.message",
];

#[test]
fn the_kernel_arps_for_us_and_ping_works() {
    let Some(mut net) = start("tap-ping") else {
        return;
    };
    linux_ping(net.ns(), STACK, 3, &[]);
    let neigh = ip_neigh(&net, STACK);
    assert!(neigh.contains(&our_mac()), "ip neigh: {neigh}");
    // We learned the kernel from its request: it was for us (RFC 826).
    let kernel = kernel_mac(&net);
    let ours = net.stack().neighbours();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0].ip, KERNEL);
    assert_eq!(ours[0].mac.map(|m| m.to_string()), Some(kernel.clone()));
    net.stop();

    let frames = tshark_check_fields(net.capture_path(), ETH_FIELDS);
    // Our gratuitous ARP, the kernel's request and our reply, then the pings in frames.
    let first = &frames[0];
    assert_eq!(first.direction(), Some(Direction::Outbound));
    assert_eq!(first.get("eth.dst"), Some("ff:ff:ff:ff:ff:ff"));
    assert_eq!(first.get("arp.dst.proto_ipv4"), Some("10.77.0.2"));
    assert!(first
        .get("frame.comment")
        .is_some_and(|c| c.starts_with("gratuitous ARP")));
    let reply = frames
        .iter()
        .find(|f| f.num("arp.opcode") == Some(2))
        .expect("our ARP reply");
    assert_eq!(reply.get("eth.src"), Some(our_mac().as_str()));
    assert_eq!(reply.get("eth.dst"), Some(kernel.as_str()));
    assert_eq!(
        reply.get("frame.comment"),
        Some("the answer to 10.77.0.1: our MAC address")
    );
    let pings = frames
        .iter()
        .filter(|f| f.num("icmp.type").is_some())
        .count();
    assert_eq!(pings, 6);
    // Wireshark's expert notes: our frame comments, and nothing else (no "duplicate IP
    // address", no malformed frame).
    for frame in &frames {
        for note in frame.all("_ws.expert.message") {
            assert_eq!(Some(note.as_str()), frame.get("frame.comment"), "{frame:?}");
        }
    }
}

#[test]
fn arping_gets_replies() {
    let Some(net) = start("tap-arping") else {
        return;
    };
    let args = ["-c", "3", "-w", "5", "-I", "tap0", &STACK.to_string()];
    let output = output_within(&mut net.exec("arping", &args), Duration::from_secs(10))
        .expect("arping runs (Debian: iputils-arping)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "arping: {stdout}");
    assert!(
        stdout.contains(&format!("[{}]", our_mac().to_uppercase())),
        "arping: {stdout}"
    );
    assert!(
        stdout.contains("Received 3 response(s)"),
        "arping: {stdout}"
    );
}

/// We connect out: our stack asks "who has 10.77.0.1?" first, the SYN waits for the answer.
/// Then 10 MiB go through an echo both ways.
#[test]
fn we_arp_for_the_kernel_and_ten_mib_echo_back() {
    let Some(mut net) = start("tap-echo") else {
        return;
    };
    let listener = net.linux_tcp_listener((KERNEL, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = net
        .run(|| {
            std::thread::spawn(move || -> io::Result<u64> {
                let (mut conn, _) = listener.accept()?;
                conn.set_read_timeout(Some(Duration::from_secs(20)))?;
                let mut buf = vec![0; 65536];
                let mut total = 0;
                loop {
                    let n = tunstack_tests::read(&mut conn, &mut buf)?;
                    if n == 0 {
                        return Ok(total);
                    }
                    conn.write_all(&buf[..n])?;
                    total += n as u64;
                }
            })
        })
        .unwrap();
    const LEN: usize = 10 << 20;
    let data: Vec<u8> = (0..LEN).map(|i| (i * 31 + i / 4096) as u8).collect();
    let echoed = net
        .block_on_within(Duration::from_secs(60), async {
            let stream = TcpStream::connect(net.stack(), SocketAddrV4::new(KERNEL, port)).await?;
            let (mut rx, mut tx) = tokio::io::split(stream);
            let sent = data.clone();
            let writer = tokio::spawn(async move {
                tx.write_all(&sent).await?;
                tx.shutdown().await
            });
            let mut back = Vec::with_capacity(LEN);
            rx.read_to_end(&mut back).await?;
            writer.await.map_err(io::Error::other)??;
            Ok::<_, io::Error>(back)
        })
        .unwrap()
        .unwrap();
    assert_eq!(echoed.len(), LEN);
    assert!(echoed == data, "the echo differs");
    assert_eq!(server.join().unwrap().unwrap(), LEN as u64);
    let neigh = ip_neigh(&net, STACK);
    assert!(neigh.contains(&our_mac()), "ip neigh: {neigh}");
    let stats = net.stack().stats();
    assert!(stats.neighbours.requests >= 1, "{stats}");
    net.wait_for_tcp_closes(Duration::from_secs(5)).unwrap();
    net.stop();

    let fields = [
        "frame.packet_flags_direction",
        "arp.opcode",
        "arp.dst.proto_ipv4",
        "tcp.flags.syn",
        "frame.comment",
    ];
    let frames = tshark_check_fields(net.capture_path(), &fields);
    let request = frames
        .iter()
        .position(|f| {
            f.num("arp.opcode") == Some(1)
                && f.get("arp.dst.proto_ipv4") == Some("10.77.0.1")
                && f.direction() == Some(Direction::Outbound)
        })
        .expect("our request for the kernel's MAC");
    assert!(frames[request]
        .get("frame.comment")
        .is_some_and(|c| c.starts_with("who has 10.77.0.1? the next hop's MAC is unknown")));
    let syn = frames
        .iter()
        .position(|f| f.num("tcp.flags.syn") == Some(1))
        .expect("the SYN");
    assert!(request < syn, "the SYN waited for the answer");
}

#[test]
fn udp_datagrams_cross_both_ways() {
    let Some(net) = start("tap-udp") else {
        return;
    };
    let linux = net.linux_udp((KERNEL, 0)).unwrap();
    let to = linux.local_addr().unwrap();
    net.block_on(async {
        let ours = UdpSocket::bind(net.stack(), "0.0.0.0:7").await?;
        ours.send_to(b"over ethernet", to).await?;
        Ok::<_, io::Error>(())
    })
    .unwrap()
    .unwrap();
    let mut buf = [0; 64];
    let (n, from) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"over ethernet");
    assert_eq!(from, SocketAddrV4::new(STACK, 7).into());
    let got = net
        .block_on(async {
            let ours = UdpSocket::bind(net.stack(), "0.0.0.0:8").await?;
            linux.send_to(b"to eight", SocketAddrV4::new(STACK, 8))?;
            let mut buf = [0; 64];
            let (n, from) = ours.recv_from(&mut buf).await?;
            Ok::<_, io::Error>((buf[..n].to_vec(), from))
        })
        .unwrap()
        .unwrap();
    assert_eq!(got, (b"to eight".to_vec(), to));
}

/// A connect to an address on the link that nobody has: three ARP requests a second apart, then
/// "host unreachable", as Linux's own connect says; not two minutes of SYNs.
#[test]
fn a_connect_to_a_silent_neighbour_fails_in_seconds() {
    let Some(mut net) = start("tap-silent") else {
        return;
    };
    let silent = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 99), 80);
    let started = Instant::now();
    let err = net
        .block_on(async { TcpStream::connect(net.stack(), silent).await })
        .unwrap()
        .expect_err("nobody is at 10.77.0.99");
    let took = started.elapsed();
    assert_eq!(err.kind(), io::ErrorKind::HostUnreachable, "{err}");
    assert!(took >= Duration::from_millis(2900), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(net
        .stack()
        .neighbours()
        .iter()
        .all(|n| n.ip != *silent.ip()));
    let stats = net.stack().stats();
    assert_eq!(stats.neighbours.failed, 1, "{stats}");

    // And Linux says the same of an address nobody has.
    let linux =
        net.run(|| std::net::TcpStream::connect_timeout(&silent.into(), Duration::from_secs(10)));
    let linux_err = linux.unwrap().expect_err("nobody is at 10.77.0.99");
    assert_eq!(linux_err.kind(), io::ErrorKind::HostUnreachable);
    net.stop();

    let fields = [
        "frame.packet_flags_direction",
        "arp.opcode",
        "arp.dst.proto_ipv4",
        "frame.comment",
    ];
    let frames = tshark_check_fields(net.capture_path(), &fields);
    let ours: Vec<_> = frames
        .iter()
        .filter(|f| f.direction() == Some(Direction::Outbound))
        .filter(|f| f.get("arp.dst.proto_ipv4") == Some("10.77.0.99"))
        .collect();
    assert_eq!(ours.len(), 3, "{ours:#?}");
    assert_eq!(
        ours[0].get("frame.comment"),
        Some("who has 10.77.0.99? the next hop's MAC is unknown; 1 packet waits for the answer")
    );
    assert!(ours[1]
        .get("frame.comment")
        .is_some_and(|c| c.contains("asked again (#2)")));
}

/// The server side: the kernel's client finds us by ARP, and the stack's listener serves it.
#[test]
fn a_linux_client_reaches_our_listener() {
    let Some(net) = start("tap-server") else {
        return;
    };
    let listener = net
        .block_on(async { TcpListener::bind(net.stack(), "0.0.0.0:7").await })
        .unwrap()
        .unwrap();
    let accepted = std::thread::scope(|scope| {
        let accept = scope.spawn(|| {
            net.block_on(async {
                let (mut stream, peer) = listener.accept().await?;
                let mut buf = [0; 5];
                stream.read_exact(&mut buf).await?;
                stream.write_all(&buf).await?;
                Ok::<_, io::Error>(peer)
            })
        });
        let mut linux = net.linux_tcp_connect((STACK, 7)).unwrap();
        linux.write_all(b"hello").unwrap();
        let mut back = [0; 5];
        linux.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"hello");
        accept.join().unwrap()
    });
    let peer = accepted.unwrap().unwrap();
    assert_eq!(peer.ip(), std::net::IpAddr::V4(KERNEL));
    let neighbours = net.stack().neighbours();
    assert!(neighbours
        .iter()
        .any(|n| n.ip == KERNEL && n.state != NeighbourState::Incomplete));
}

/// A flood of ARP requests for our address from 20,000 made-up senders, injected into `tap0`
/// from the kernel's side (a packet socket, as a hostile host on the link would): each would
/// make an entry (RFC 826: the request was for us), but the cache keeps its bound, and the
/// kernel's ping still gets through afterwards.
#[test]
fn an_arp_flood_from_made_up_senders_leaves_the_cache_within_its_bound() {
    let Some(net) = start("tap-flood") else {
        return;
    };
    linux_ping(net.ns(), STACK, 1, &[]);
    const FLOOD: &str = r#"
import random, socket, struct
random.seed(7)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tap0", 0))
target = socket.inet_aton("10.77.0.2")
for _ in range(20000):
    mac = bytes([random.randrange(256) & 0xfe | 0x02] + [random.randrange(256) for _ in range(5)])
    ip = struct.pack("!I", random.randrange(1 << 32))
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\0" * 6 + target
    s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
print("sent")
"#;
    let output = output_within(
        &mut net.exec("python3", &["-c", FLOOD]),
        Duration::from_secs(60),
    )
    .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The flood waits in the device's queue (what did not fit was dropped by the kernel):
    // wait until the stack has read what is there.
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = net.stack().stats().arp.received;
        if now == seen || Instant::now() > deadline {
            break;
        }
        seen = now;
    }
    let stats = net.stack().stats();
    let received = stats.arp.received;
    assert!(
        received >= 5_000,
        "most of the flood reached the stack: {stats}"
    );
    let table = net.stack().neighbours();
    let capacity = Config::new(tunstack::Ipv4Cidr::new(STACK, 24).unwrap())
        .neighbours
        .capacity;
    assert!(table.len() <= capacity, "{} entries", table.len());
    // Each sender learned pushed an older one out once the cache was full. (Senders with a
    // multicast or broadcast address, a sixteenth of the random ones, are not learned.)
    let learned = stats.neighbours.resolved;
    assert!(learned >= received / 2, "{stats}");
    assert!(
        stats.neighbours.evicted + capacity as u64 >= learned,
        "{stats}"
    );
    // Still answering the kernel, which may have to ask for our MAC again.
    linux_ping(net.ns(), STACK, 2, &[]);
}
