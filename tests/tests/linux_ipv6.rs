//! IPv6 against the Linux kernel, over a TUN device, beside IPv4.
//!
//! Each test gets a network namespace of its own with [`TunNet::start_dual`]: the kernel at
//! 10.77.0.1 and fd77::1, our stack at 10.77.0.2 and fd77::2, on one `tun0`, and a capture of
//! everything between them that tshark must find clean (no malformed packet, no bad IPv4, UDP,
//! TCP, ICMP or ICMPv6 checksum; for TCP, nothing Wireshark's analysis flags). Linux's `ping`
//! and std sockets are the peer; our servers listen on `[::]`, so one socket takes both
//! versions, as on Linux.
//!
//! Datagrams here stay under the MTU; `linux_fragments_v6.rs` sends larger ones, in fragments,
//! and `linux_tap_ipv6.rs` speaks IPv6 over Ethernet.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tunstack::{TcpListener, TcpStream, UdpSocket};
use tunstack_tests::{
    accept_within, linux_ping, tshark_check, tshark_filter_fields, tshark_tcp_check,
    tun_tests_can_run, Direction, Frame, Pattern, TunNet, KERNEL, KERNEL6, STACK, STACK6,
};

/// How long a single wait (a handshake, a reply) may take.
const WAIT: Duration = Duration::from_secs(3);

/// The size of the echo transfers.
const BULK: u64 = 10 << 20;

/// The echo service's port (RFC 862).
const ECHO_PORT: u16 = 7;

/// The largest UDP payload in one IPv6 packet on a 1500-byte link: 1500 - 40 - 8.
const LARGEST_V6_DATAGRAM: usize = 1452;

/// A dual-stack TunNet for this test, or `None` (after printing why) when TUN tests cannot
/// run here.
fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    Some(TunNet::start_dual(label).unwrap())
}

#[test]
fn linux_pings_us_over_ipv6_and_ipv4() {
    let Some(mut net) = start("v6-ping") else {
        return;
    };
    let out = linux_ping(net.ns(), STACK6, 3, &["-6"]);
    assert!(
        out.contains("64 bytes from fd77::2: icmp_seq=1 ttl=64"),
        "{out}"
    );
    // Near the MTU: 1400 bytes of data, 8 of ICMPv6 header, 40 of IPv6 header.
    linux_ping(net.ns(), STACK6, 1, &["-6", "-s", "1400"]);
    linux_ping(net.ns(), STACK, 1, &[]);
    net.stop();

    let frames = tshark_check(net.capture_path());
    let types: Vec<_> = frames
        .iter()
        .map(|f| (f.num("icmpv6.type"), f.num("icmp.type")))
        .collect();
    let v6 = |t| (Some(t), None);
    assert_eq!(
        types,
        [
            v6(128),
            v6(129),
            v6(128),
            v6(129),
            v6(128),
            v6(129),
            v6(128),
            v6(129),
            (None, Some(8)),
            (None, Some(0))
        ],
        "nothing but the pings: {frames:#?}"
    );
    for pair in frames[..8].chunks(2) {
        let [request, reply] = pair else {
            unreachable!()
        };
        assert_eq!(request.direction(), Some(Direction::Inbound));
        assert_eq!(reply.direction(), Some(Direction::Outbound));
        assert_eq!(reply.get("ipv6.src"), Some("fd77::2"));
        assert_eq!(reply.get("ipv6.dst"), Some("fd77::1"));
        assert_eq!(reply.num("ipv6.hlim"), Some(64));
        assert_eq!(reply.num("ipv6.plen"), request.num("ipv6.plen"));
        let echo = |f: &Frame| {
            let id = f.num("icmpv6.echo.identifier");
            (
                id,
                f.num("icmpv6.echo.sequence_number"),
                f.bytes("data.data"),
            )
        };
        assert_eq!(
            echo(reply),
            echo(request),
            "same identifier, sequence, data"
        );
    }
    assert_eq!(frames[7].num("ipv6.plen"), Some(1408));
}

#[test]
fn linux_datagrams_over_ipv6_come_back_byte_exact() {
    let Some(mut net) = start("v6-udp") else {
        return;
    };
    net.start_udp_echo("[::]:7");
    let linux = net.linux_udp((KERNEL6, 0)).unwrap();
    let sizes = [0, 1, 100, 1000, LARGEST_V6_DATAGRAM];
    let mut buf = [0; 2048];
    for (i, &len) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
        linux.send_to(&data, (STACK6, ECHO_PORT)).unwrap();
        let (n, from) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
        assert_eq!(from, SocketAddr::from((STACK6, ECHO_PORT)));
        assert!(buf[..n] == data[..], "{len} bytes came back changed");
    }
    // The same socket of ours takes IPv4 too.
    let linux4 = net.linux_udp((KERNEL, 0)).unwrap();
    linux4.send_to(b"over IPv4", (STACK, ECHO_PORT)).unwrap();
    let (n, from) = tunstack_tests::recv_from(&linux4, &mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"over IPv4"[..], (STACK, ECHO_PORT).into())
    );
    net.stop();

    let frames = tshark_check(net.capture_path());
    assert_eq!(frames.len(), 2 * sizes.len() + 2, "{frames:#?}");
    for (pair, len) in frames.chunks(2).zip(sizes) {
        for frame in pair {
            assert_eq!(frame.num("ipv6.nxt"), Some(17), "{frame:?}");
            assert_eq!(frame.num("udp.length"), Some(8 + len as u64), "{frame:?}");
        }
        assert_eq!(pair[1].get("ipv6.src"), Some("fd77::2"));
    }
    assert_eq!(frames[frames.len() - 1].get("ip.src"), Some("10.77.0.2"));
}

/// Our TCP echo server on `[::]:7`: each connection in a task of its own, every byte back
/// until the client closes, then we close too.
fn start_tcp_echo(net: &TunNet) {
    let stack = net.stack();
    net.block_on(async {
        let listener = TcpListener::bind(stack, "[::]:7").await.unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _client)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 << 10];
                    while let Ok(n @ 1..) = conn.read(&mut buf).await {
                        if conn.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = conn.shutdown().await;
                });
            }
        });
    })
    .unwrap();
}

/// A Linux client sends `BULK` bytes of the pattern through our echo at `to` while it reads
/// the echo on another thread, and checks every byte; returns how long it took.
fn linux_echo_exchange(net: &TunNet, to: SocketAddr, seed: u64) -> Duration {
    let linux = net.linux_tcp_connect(to).unwrap();
    let pattern = Pattern::new(seed);
    let started = Instant::now();
    let mut writer = linux.try_clone().unwrap();
    let sent = pattern.clone();
    let write = thread::spawn(move || -> io::Result<()> {
        let mut offset = 0;
        while offset < BULK {
            let chunk = sent.chunk(offset, (BULK - offset).min(64 << 10) as usize);
            writer.write_all(chunk)?;
            offset += chunk.len() as u64;
        }
        writer.shutdown(Shutdown::Write)
    });
    let read = thread::spawn(move || -> io::Result<u64> {
        let mut reader = linux;
        let mut buf = vec![0; 64 << 10];
        let mut received = 0;
        loop {
            let n = tunstack_tests::read(&mut reader, &mut buf)?;
            if n == 0 {
                return Ok(received);
            }
            pattern.check(received, &buf[..n])?;
            received += n as u64;
        }
    });
    write.join().unwrap().unwrap();
    assert_eq!(read.join().unwrap().unwrap(), BULK, "echoed byte-exact");
    started.elapsed()
}

/// 10 MiB through our echo over IPv6, then over IPv4, in one namespace: both byte-exact, both
/// clean in the capture, and the IPv6 connection's MSS 20 bytes smaller (its header is).
#[test]
fn a_linux_client_gets_10_mib_echoed_over_ipv6_as_over_ipv4() {
    let Some(mut net) = start("v6-tcp-echo") else {
        return;
    };
    start_tcp_echo(&net);
    let v6 = linux_echo_exchange(&net, (STACK6, ECHO_PORT).into(), 6);
    let v4 = linux_echo_exchange(&net, (STACK, ECHO_PORT).into(), 4);
    let rate = |time: Duration| (2 * BULK) as f64 / time.as_secs_f64() / 1e6;
    eprintln!(
        "10 MiB echoed: over IPv6 in {:.3} s ({:.1} MB/s both ways), over IPv4 in {:.3} s \
         ({:.1} MB/s)",
        v6.as_secs_f64(),
        rate(v6),
        v4.as_secs_f64(),
        rate(v4)
    );
    if let Err(busy) = net.wait_for_tcp_closes(WAIT) {
        panic!("connections still not closed: {busy:#?}");
    }
    net.stop();

    let conversations = tshark_tcp_check(net.capture_path());
    let servers: Vec<_> = conversations.iter().map(|c| c.server).collect();
    assert_eq!(
        servers,
        [
            SocketAddr::from((STACK6, ECHO_PORT)),
            SocketAddr::from((STACK, ECHO_PORT))
        ]
    );
    for conversation in &conversations {
        conversation.check_complete().unwrap();
        assert_eq!(
            (
                conversation.bytes_from_client,
                conversation.bytes_from_server
            ),
            (BULK, BULK)
        );
    }
    // Each SYN's MSS: the link's MTU less the IP and TCP headers (RFC 9293 3.7.1, RFC 8200 5).
    let syns = tshark_filter_fields(
        net.capture_path(),
        "tcp.flags.syn == 1",
        &["ipv6.src", "ip.src", "tcp.options.mss_val"],
    )
    .unwrap();
    let mss: Vec<_> = syns
        .iter()
        .map(|f| {
            (
                f.get("ipv6.src").or(f.get("ip.src")),
                f.num("tcp.options.mss_val"),
            )
        })
        .collect();
    assert_eq!(
        mss,
        [
            (Some("fd77::1"), Some(1440)),
            (Some("fd77::2"), Some(1440)),
            (Some("10.77.0.1"), Some(1460)),
            (Some("10.77.0.2"), Some(1460)),
        ]
    );
}

/// Our client against Linux servers over IPv6: a TCP echo on the kernel's side and a UDP
/// socket that answers; each sees our IPv6 address, and we see theirs.
#[test]
fn our_clients_talk_to_linux_servers_over_ipv6() {
    let Some(mut net) = start("v6-our-client") else {
        return;
    };
    let listener = net
        .linux_tcp_listener(("::".parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    let server = SocketAddr::from((KERNEL6, listener.local_addr().unwrap().port()));
    let linux = thread::spawn(move || -> io::Result<SocketAddr> {
        let (mut conn, client) = accept_within(&listener, WAIT)?;
        let mut got = Vec::new();
        conn.read_to_end(&mut got)?;
        conn.write_all(&got)?;
        Ok(client)
    });
    let udp = net.linux_udp((KERNEL6, 0)).unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let udp_linux = thread::spawn(move || -> io::Result<SocketAddr> {
        let mut buf = [0; 64];
        let (n, from) = tunstack_tests::recv_from(&udp, &mut buf)?;
        udp.send_to(&buf[..n], from)?;
        Ok(from)
    });
    let stack = net.stack();
    let (tcp_local, reply, udp_local, udp_reply) = net
        .block_on(async {
            let mut ours = timeout(WAIT, TcpStream::connect(stack, server)).await??;
            ours.write_all(b"Hello over IPv6!").await?;
            ours.shutdown().await?;
            let mut reply = Vec::new();
            timeout(WAIT, ours.read_to_end(&mut reply)).await??;
            let socket = UdpSocket::bind(stack, "[::]:0").await?;
            socket.send_to(b"a datagram", udp_addr).await?;
            let mut buf = [0; 64];
            let (n, from) = timeout(WAIT, socket.recv_from(&mut buf)).await??;
            assert_eq!(from, udp_addr);
            let udp_local = socket.local_addr()?.port();
            io::Result::Ok((ours.local_addr()?, reply, udp_local, buf[..n].to_vec()))
        })
        .unwrap()
        .unwrap();
    assert_eq!(reply, b"Hello over IPv6!");
    assert_eq!(tcp_local.ip(), IpAddr::from(STACK6));
    assert_eq!(linux.join().unwrap().unwrap(), tcp_local);
    assert_eq!(udp_reply, b"a datagram");
    assert_eq!(
        udp_linux.join().unwrap().unwrap(),
        SocketAddr::from((STACK6, udp_local))
    );
    net.wait_for_tcp_closes(WAIT).unwrap();
    net.stop();
    let conversations = tshark_tcp_check(net.capture_path());
    let [conversation] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    conversation.check_complete().unwrap();
    assert_eq!(conversation.client_direction, Some(Direction::Outbound));
    assert_eq!(
        (conversation.client, conversation.server),
        (tcp_local, server)
    );
}

/// A port nobody listens on, both ways, over IPv6: TCP answers with a reset, UDP with ICMPv6
/// "port unreachable" (RFC 4443 3.1, code 4), and each side's socket reports "connection
/// refused".
#[test]
fn closed_ports_over_ipv6_are_refused_both_ways() {
    let Some(mut net) = start("v6-refused") else {
        return;
    };
    let err = net.linux_tcp_connect((STACK6, 9999)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    let linux = net.linux_udp((KERNEL6, 0)).unwrap();
    linux.connect((STACK6, 9999)).unwrap();
    linux.send(b"anyone?").unwrap();
    let err = tunstack_tests::recv(&linux, &mut [0; 16]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    // Our side: ports that were free a moment ago on the kernel's side.
    let closed_tcp = net
        .linux_tcp_listener((KERNEL6, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    let closed_udp = net.linux_udp((KERNEL6, 0)).unwrap().local_addr().unwrap();
    let stack = net.stack();
    let (tcp, udp) = net
        .block_on(async {
            let tcp = timeout(WAIT, TcpStream::connect(stack, closed_tcp)).await;
            let socket = UdpSocket::bind(stack, "[::]:0").await.unwrap();
            socket.connect(closed_udp).await.unwrap();
            socket.send(b"anyone?").await.unwrap();
            let udp = timeout(WAIT, socket.recv(&mut [0; 16])).await;
            (tcp.map(|r| r.map(drop)), udp.map(|r| r.map(drop)))
        })
        .unwrap();
    let refused = |r: &Result<io::Result<()>, _>| matches!(r, Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused);
    assert!(refused(&tcp), "TCP: a reset, refused: {tcp:?}");
    assert!(
        refused(&udp),
        "UDP: ICMPv6 port unreachable, refused: {udp:?}"
    );
    net.stop();

    let frames = tshark_check(net.capture_path());
    let unreachable: Vec<_> = frames
        .iter()
        .filter(|f| f.num("icmpv6.type") == Some(1))
        .map(|f| (f.direction(), f.num("icmpv6.code")))
        .collect();
    assert_eq!(
        unreachable,
        [
            (Some(Direction::Outbound), Some(4)),
            (Some(Direction::Inbound), Some(4))
        ],
        "{frames:#?}"
    );
    let resets = frames
        .iter()
        .filter(|f| f.num("tcp.flags") == Some(0x014))
        .count();
    assert_eq!(resets, 2, "{frames:#?}");
}
