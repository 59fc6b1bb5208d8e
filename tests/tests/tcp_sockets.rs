//! The TCP socket API, ours on both ends of an in-memory wire, on tokio's paused clock: what an
//! application sees (tokio::net's shapes and errors).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::device::memory;
use tunstack::tcp::State;
use tunstack::{Config, Stack, TcpListener, TcpStream};
use tunstack_tests::two_stacks::{pair, within, CLIENT};

#[tokio::test(start_paused = true)]
async fn connect_accept_and_addresses() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    // As bound, like a kernel socket's (and tokio's): the unspecified address stays.
    assert_eq!(
        listener.local_addr().unwrap(),
        "0.0.0.0:80".parse::<SocketAddr>().unwrap()
    );
    let stream = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (accepted, peer) = within("accept", listener.accept()).await.unwrap();
    let local = stream.local_addr().unwrap();
    assert_eq!(peer, local, "the server sees the client's ephemeral port");
    assert!((49152..=65535).contains(&local.port()));
    assert_eq!(
        stream.peer_addr().unwrap(),
        "10.0.0.2:80".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(accepted.local_addr().unwrap(), stream.peer_addr().unwrap());
    assert_eq!(accepted.info().unwrap().state, State::Established);
}

#[tokio::test(start_paused = true)]
async fn the_accept_queue_is_first_in_first_out() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut ports = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..5 {
        let s = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
            .await
            .unwrap();
        ports.push(s.local_addr().unwrap());
        streams.push(s);
    }
    for port in ports {
        let (_, peer) = within("accept", listener.accept()).await.unwrap();
        assert_eq!(peer, port);
    }
}

#[tokio::test(start_paused = true)]
async fn bind_conflicts_and_refused_connects() {
    let (client, server) = pair();
    let _listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let err = TcpListener::bind(&server, "10.0.0.2:80").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    let err = TcpListener::bind(&server, "10.9.9.9:81").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
    let err = within("connect", TcpStream::connect(&client, "10.0.0.2:81"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test(start_paused = true)]
async fn connect_times_out_when_nobody_answers() {
    // The server's stack exists but its wire end is gone: SYNs vanish.
    let (a, b) = memory::pair(Default::default());
    drop(b);
    let mut config = Config::new(CLIENT.parse().unwrap());
    config.tcp.syn_retries = 2;
    let client = Stack::new(a, config);
    let started = tokio::time::Instant::now();
    let err = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    // 1 s + 2 s + 4 s: three SYNs, then the last RTO expires.
    assert_eq!(started.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn read_returns_zero_after_fin_and_write_after_shutdown_fails() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut c = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (mut s, _) = within("accept", listener.accept()).await.unwrap();
    c.write_all(b"request").await.unwrap();
    c.shutdown().await.unwrap();
    let err = c.write_all(b"more").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    let mut got = Vec::new();
    within("read", s.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got, b"request", "the data, then end of stream");
    // Half-closed: the server answers, the client still reads.
    s.write_all(b"response").await.unwrap();
    drop(s);
    let mut got = Vec::new();
    within("read", c.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got, b"response");
}

#[tokio::test(start_paused = true)]
async fn abort_resets_the_peer() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let c = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (mut s, _) = within("accept", listener.accept()).await.unwrap();
    c.abort();
    let mut buf = [0u8; 8];
    let err = within("read", s.read(&mut buf)).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    let err = s.write_all(b"x").await.unwrap_err();
    assert_eq!(
        err.kind(),
        io::ErrorKind::ConnectionReset,
        "writing after a reset"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_a_stream_closes_gracefully_in_the_background() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut c = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (mut s, _) = within("accept", listener.accept()).await.unwrap();
    let data = vec![42u8; 1 << 20];
    let len = data.len();
    tokio::spawn(async move {
        c.write_all(&data).await.unwrap();
        drop(c); // up to a send buffer's worth still in flight
    });
    let mut got = Vec::new();
    within("read", s.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got.len(), len, "every byte arrives before the FIN");
    drop(s);
    // Both sides finish: the client's TIME-WAIT lasts 2 × MSL = 2 s.
    within("close", async {
        while !(client.tcp_connections().is_empty() && server.tcp_connections().is_empty()) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn split_halves_work_from_two_tasks() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let c = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (s, _) = within("accept", listener.accept()).await.unwrap();
    // The server echoes with its halves in two tasks.
    let (mut sr, mut sw) = s.into_split();
    let echo = tokio::spawn(async move { tokio::io::copy(&mut sr, &mut sw).await });
    let (mut cr, mut cw) = c.into_split();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        cw.write_all(&sent).await.unwrap();
        // Dropping the owned write half shuts down writing.
    });
    let mut got = Vec::new();
    within("echo", cr.read_to_end(&mut got)).await.unwrap();
    writer.await.unwrap();
    assert_eq!(got, data);
    assert_eq!(echo.await.unwrap().unwrap(), data.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn ephemeral_ports_never_collide() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut streams = Vec::new();
    let mut ports = std::collections::HashSet::new();
    for _ in 0..200 {
        let s = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
            .await
            .unwrap();
        assert!(
            ports.insert(s.local_addr().unwrap().port()),
            "a 4-tuple reused"
        );
        streams.push(s);
        let _ = within("accept", listener.accept()).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn nodelay_is_a_socket_option() {
    let (client, server) = pair();
    let _listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let c = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    assert!(!c.nodelay().unwrap(), "Nagle is on by default");
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_stalled_reader_resumes() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut c = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (mut s, _) = within("accept", listener.accept()).await.unwrap();
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 249) as u8).collect();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        c.write_all(&sent).await.unwrap();
        c.shutdown().await.unwrap();
        c
    });
    // The reader takes a little, then stops for ten seconds: the windows fill and close.
    let mut got = vec![0u8; 1000];
    within("read", s.read_exact(&mut got)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let info = client.tcp_connections()[0];
    assert!(
        info.peer_window < 1460,
        "the reader's window is (all but) closed: {info:?}"
    );
    let mut rest = Vec::new();
    within("read", s.read_to_end(&mut rest)).await.unwrap();
    got.extend_from_slice(&rest);
    assert_eq!(got, data);
    let c = writer.await.unwrap();
    assert_eq!(c.info().unwrap().stats.timeouts, 0, "probes, not timeouts");
}

#[tokio::test(start_paused = true)]
async fn congestion_control_and_delayed_ack_switch_per_socket() {
    use tunstack::tcp::Algorithm;
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut c = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (mut s, _) = within("accept", listener.accept()).await.unwrap();
    assert_eq!(
        c.info().unwrap().congestion,
        Algorithm::Cubic,
        "CUBIC by default"
    );
    c.write_all(&[1; 100_000]).await.unwrap();
    c.set_congestion_control(Algorithm::NewReno).unwrap();
    s.set_delayed_ack(None).unwrap();
    assert_eq!(c.info().unwrap().congestion, Algorithm::NewReno);
    c.write_all(&[2; 100_000]).await.unwrap();
    c.shutdown().await.unwrap();
    let mut got = Vec::new();
    within("read", s.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got.len(), 200_000);
    assert!(got[..100_000].iter().all(|b| *b == 1) && got[100_000..].iter().all(|b| *b == 2));
}

/// Urgent data (RFC 9293 3.8.5) between two of our sockets: the receiver waits for it, learns
/// how far the mark is, and its reads stop there; the bytes all stay in the stream.
#[tokio::test(start_paused = true)]
async fn urgent_data_is_signalled_and_reads_stop_at_the_mark() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut stream = within("connect", TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (accepted, _) = within("accept", listener.accept()).await.unwrap();
    let (mut reader, _writer) = accepted.into_split();
    assert_eq!(reader.urgent_mark().unwrap(), None);
    stream.write_all(b"hello").await.unwrap();
    assert_eq!(
        stream.send_urgent(b"").await.unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    stream.send_urgent(b"!").await.unwrap();
    stream.write_all(b"world").await.unwrap();
    stream.shutdown().await.unwrap();
    let ahead = within("urgent data", reader.wait_urgent()).await.unwrap();
    assert_eq!(ahead, Some(6), "\"hello!\" before the mark");
    let mut reads = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = within("read", reader.read(&mut buf)).await.unwrap();
        if n == 0 {
            break;
        }
        reads.push(buf[..n].to_vec());
    }
    assert_eq!(
        reads.concat(),
        b"hello!world",
        "inline, nothing out of band"
    );
    // However the bytes arrived, one read ends exactly at the mark.
    let ends: Vec<usize> = reads
        .iter()
        .scan(0, |at, r| {
            *at += r.len();
            Some(*at)
        })
        .collect();
    assert!(ends.contains(&6), "{reads:?}");
    assert_eq!(reader.urgent_mark().unwrap(), None);
    assert_eq!(reader.wait_urgent().await.unwrap(), None, "after the FIN");
    let sent = stream.info().unwrap().stats.urgent_segments_out;
    assert!(sent >= 1, "{sent}");
}
