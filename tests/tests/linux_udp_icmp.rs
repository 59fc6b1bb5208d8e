//! ICMP and UDP against the Linux kernel, over a TUN device.
//!
//! Each test gets a network namespace of its own ([`TunNet`]): the kernel at 10.77.0.1 with its
//! `ping` and std sockets, our stack at 10.77.0.2, and a capture of everything between them that
//! tshark must find clean (no malformed packet, no bad checksum) and that must hold exactly the
//! packets the exchange calls for.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::time::timeout;
use tunstack::UdpSocket;
use tunstack_tests::{
    linux_ping, tshark_check, tun_tests_can_run, Direction, Frame, TunNet, KERNEL, STACK,
};

/// How long any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(3);

/// A TunNet for this test, or `None` (after printing why) when TUN tests cannot run here.
fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    Some(TunNet::start(label).unwrap())
}

/// `len` bytes that differ from position to position and from one length to another, so that a
/// reordered, shifted or mixed-up echo shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + len) as u8).collect()
}

/// The (identifier, sequence number, data) of an echo request or reply frame.
fn echo_fields(frame: &Frame) -> (u64, u64, Vec<u8>) {
    (
        frame.num("icmp.ident").unwrap(),
        frame.num("icmp.seq").unwrap(),
        frame.bytes("data.data").unwrap_or_default(),
    )
}

/// Checks that `frames` are `count` pairs of echo request (type 8, from `requester`) and echo
/// reply (type 0, back to it) with the same identifier, sequence number and data, and IP length
/// `ip_len`.
fn assert_echo_pairs(frames: &[Frame], requester: Direction, ip_len: u64) {
    let answer = match requester {
        Direction::Inbound => Direction::Outbound,
        Direction::Outbound => Direction::Inbound,
    };
    for pair in frames.chunks(2) {
        let [request, reply] = pair else {
            panic!("an echo request without its reply: {pair:?}");
        };
        assert_eq!(request.direction(), Some(requester), "{request:?}");
        assert_eq!(request.num("icmp.type"), Some(8), "{request:?}");
        assert_eq!(reply.direction(), Some(answer), "{reply:?}");
        assert_eq!(reply.num("icmp.type"), Some(0), "{reply:?}");
        assert_eq!(echo_fields(request), echo_fields(reply));
        assert_eq!(request.get("ip.src"), reply.get("ip.dst"));
        assert_eq!(request.get("ip.dst"), reply.get("ip.src"));
        assert_eq!(request.num("ip.len"), Some(ip_len), "{request:?}");
        assert_eq!(reply.num("ip.len"), Some(ip_len), "{reply:?}");
    }
}

#[test]
fn linux_ping_gets_its_replies() {
    let Some(mut net) = start("ping") else {
        return;
    };
    linux_ping(net.ns(), STACK, 3, &[]);
    let big = linux_ping(net.ns(), STACK, 3, &["-s", "1400"]);
    assert!(big.contains("1408 bytes from 10.77.0.2"), "{big}");

    let stats = net.stack().stats();
    assert_eq!((stats.icmp.received, stats.icmp.sent), (6, 6), "{stats}");
    net.stop();
    let frames = tshark_check(net.capture_path());
    assert_eq!(frames.len(), 12, "{frames:#?}");
    // Linux's default: 56 bytes of data, 84-byte packets; then 1400 bytes of data.
    assert_echo_pairs(&frames[..6], Direction::Inbound, 84);
    assert_echo_pairs(&frames[6..], Direction::Inbound, 1428);
    let seqs: Vec<u64> = frames.iter().filter_map(|f| f.num("icmp.seq")).collect();
    assert_eq!(seqs, [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
}

#[test]
fn our_ping_gets_linux_replies() {
    let Some(mut net) = start("our-ping") else {
        return;
    };
    let stack = net.stack();
    let rtts = net
        .block_on(async {
            let mut rtts = Vec::new();
            for seq in 1..=3 {
                let rtt = timeout(WAIT, stack.ping(KERNEL, seq, b"tunstack ping"))
                    .await
                    .expect("an echo reply from Linux")?;
                rtts.push(rtt);
            }
            io::Result::Ok(rtts)
        })
        .unwrap()
        .unwrap();
    assert_eq!(rtts.len(), 3);
    assert!(rtts.iter().all(|rtt| *rtt < WAIT), "{rtts:?}");

    net.stop();
    let frames = tshark_check(net.capture_path());
    assert_eq!(frames.len(), 6, "{frames:#?}");
    assert_echo_pairs(&frames, Direction::Outbound, 20 + 8 + 13);
    assert_eq!(frames[0].bytes("data.data").unwrap(), b"tunstack ping");
}

#[test]
fn linux_datagrams_come_back_byte_exact() {
    let Some(mut net) = start("udp-echo") else {
        return;
    };
    net.start_udp_echo("0.0.0.0:7");
    let linux = net.linux_udp((KERNEL, 0)).unwrap();
    let linux_addr = linux.local_addr().unwrap();
    let echo = SocketAddr::from((STACK, 7));
    let sizes = [1, 1000, 1472];
    for len in sizes {
        let sent = pattern(len);
        linux.send_to(&sent, echo).unwrap();
        let mut buf = [0; 2048];
        let (n, from) = tunstack_tests::recv_from(&linux, &mut buf)
            .unwrap_or_else(|err| panic!("no echo of {len} bytes: {err}"));
        assert_eq!(from, echo);
        assert_eq!(n, len);
        assert!(buf[..n] == sent[..], "{len} bytes came back different");
    }

    let stats = net.stack().stats();
    assert_eq!((stats.udp.delivered, stats.udp.sent), (3, 3), "{stats}");
    net.stop();
    let frames = tshark_check(net.capture_path());
    assert_eq!(frames.len(), 6, "{frames:#?}");
    for (pair, len) in frames.chunks(2).zip(sizes) {
        let [request, reply] = pair else {
            unreachable!()
        };
        let payload = pattern(len);
        assert_eq!(request.direction(), Some(Direction::Inbound));
        assert_eq!(request.num("udp.srcport"), Some(linux_addr.port().into()));
        assert_eq!(request.num("udp.dstport"), Some(7));
        assert_eq!(request.num("udp.length"), Some(8 + len as u64));
        assert_eq!(request.bytes("udp.payload"), Some(payload.clone()));
        assert_eq!(reply.direction(), Some(Direction::Outbound));
        assert_eq!(reply.get("ip.src"), Some("10.77.0.2"));
        assert_eq!(reply.num("udp.srcport"), Some(7));
        assert_eq!(reply.num("udp.dstport"), Some(linux_addr.port().into()));
        assert_eq!(reply.num("ip.len"), Some(28 + len as u64));
        assert_eq!(reply.bytes("udp.payload"), Some(payload));
    }
}

#[test]
fn a_closed_port_on_our_stack_refuses_a_connected_linux_socket() {
    let Some(mut net) = start("udp-refused") else {
        return;
    };
    let linux = net.linux_udp((KERNEL, 0)).unwrap();
    let linux_port = linux.local_addr().unwrap().port();
    linux.connect((STACK, 9999)).unwrap();
    linux.send(b"anyone there?").unwrap();
    let err = tunstack_tests::recv(&linux, &mut [0; 64]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    net.stop();
    let frames = tshark_check(net.capture_path());
    let [datagram, error] = &frames[..] else {
        panic!("expected the datagram and the ICMP error: {frames:#?}");
    };
    assert_eq!(datagram.direction(), Some(Direction::Inbound));
    assert_eq!(datagram.num("udp.dstport"), Some(9999));

    assert_eq!(error.direction(), Some(Direction::Outbound));
    assert_eq!(
        (error.num("icmp.type"), error.num("icmp.code")),
        (Some(3), Some(3)),
        "destination unreachable: port unreachable"
    );
    // The outer header, then the quoted one: the datagram as Linux sent it.
    assert_eq!(error.all("ip.src"), ["10.77.0.2", "10.77.0.1"]);
    assert_eq!(error.all("ip.dst"), ["10.77.0.1", "10.77.0.2"]);
    assert_eq!(error.num("udp.srcport"), Some(linux_port.into()));
    assert_eq!(error.num("udp.dstport"), Some(9999));
    assert_eq!(
        error.bytes("udp.payload").as_deref(),
        Some(&b"anyone there?"[..])
    );
    assert_eq!(
        error.get("frame.comment"),
        Some("port unreachable: no socket is bound to UDP port 9999")
    );
}

#[test]
fn a_closed_linux_port_refuses_our_connected_socket() {
    let Some(mut net) = start("udp-refused-us") else {
        return;
    };
    // A port nobody listens on: bind one in the namespace to learn a free number, then close it.
    let closed = net.linux_udp((KERNEL, 0)).unwrap().local_addr().unwrap();
    let stack = net.stack();
    let err = net
        .block_on(async {
            let ours = UdpSocket::bind(stack, "0.0.0.0:0").await?;
            ours.connect(closed).await?;
            ours.send(b"hello?").await?;
            let mut buf = [0; 64];
            match timeout(WAIT, ours.recv(&mut buf)).await {
                Ok(Err(err)) => io::Result::Ok(err),
                Ok(Ok(n)) => panic!("a reply from a closed port: {:?}", &buf[..n]),
                Err(_) => panic!("no ICMP error within {WAIT:?}"),
            }
        })
        .unwrap()
        .unwrap();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    net.stop();
    let frames = tshark_check(net.capture_path());
    let [datagram, error] = &frames[..] else {
        panic!("expected the datagram and the ICMP error: {frames:#?}");
    };
    assert_eq!(datagram.direction(), Some(Direction::Outbound));
    assert_eq!(error.direction(), Some(Direction::Inbound));
    assert_eq!(
        (error.num("icmp.type"), error.num("icmp.code")),
        (Some(3), Some(3))
    );
    assert_eq!(error.num("udp.dstport"), Some(closed.port().into()));
}

/// The largest datagram that fits the MTU goes in one packet with DF; one byte more goes in two
/// fragments, which Linux joins; only more than UDP over IPv4 carries is refused.
#[test]
fn our_largest_datagram_fits_the_mtu_and_one_byte_more_goes_in_fragments() {
    let Some(mut net) = start("udp-mtu") else {
        return;
    };
    let linux = net.linux_udp((KERNEL, 0)).unwrap();
    let to = match linux.local_addr().unwrap() {
        SocketAddr::V4(addr) => addr,
        other => panic!("not IPv4: {other}"),
    };
    let stack = net.stack();
    let (from, err) = net
        .block_on(async {
            let ours = UdpSocket::bind(stack, "0.0.0.0:0").await?;
            let from = ours.local_addr()?;
            assert_eq!(ours.send_to(&pattern(1472), to).await?, 1472);
            assert_eq!(ours.send_to(&pattern(1473), to).await?, 1473);
            let err = ours.send_to(&pattern(65_508), to).await.unwrap_err();
            io::Result::Ok((from, err))
        })
        .unwrap()
        .unwrap();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("65508-byte") && text.contains("65507"),
        "the error says what and why: {text}"
    );

    for len in [1472, 1473] {
        let mut buf = [0; 2048];
        let (n, sender) = tunstack_tests::recv_from(&linux, &mut buf).unwrap();
        // Bound to 0.0.0.0, the socket names no address of its own (as on Linux); its
        // datagrams come from ours.
        assert_eq!(sender, SocketAddr::from((STACK, from.port())));
        assert!(buf[..n] == pattern(len)[..], "{len} bytes arrive whole");
    }
    assert_eq!(net.stack().stats().udp.sent, 2);

    net.stop();
    let frames = tshark_check(net.capture_path());
    let [datagram, first, last] = &frames[..] else {
        panic!("one packet, then two fragments: {frames:#?}");
    };
    assert_eq!(datagram.num("ip.len"), Some(1500));
    assert_eq!(datagram.num("ip.flags.df"), Some(1));
    let expected = SocketAddrV4::new(KERNEL, to.port());
    assert_eq!(datagram.num("udp.dstport"), Some(expected.port().into()));
    assert_eq!(first.num("ip.len"), Some(1500));
    assert_eq!(first.num("ip.flags.df"), Some(0));
    assert_eq!(last.num("ip.len"), Some(21));
    assert_eq!(
        last.num("udp.dstport"),
        Some(expected.port().into()),
        "reassembled"
    );
}
