//! tokio's socket methods beyond read and write, on our `TcpStream` and `UdpSocket`: readiness,
//! `try_` calls, peeking, gathered writes, linger, TTL; ours on both ends of an in-memory wire,
//! on tokio's paused clock.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::time::timeout;
use tunstack::device::{memory, Capture};
use tunstack::{Config, Stack, TcpListener, TcpStream, UdpSocket};
use tunstack_tests::two_stacks::{pair, within, CLIENT, SERVER};
use tunstack_tests::{tshark_available, tshark_check_fields, TempFile};

/// A connected pair of streams: (client's, server's).
async fn connected(client: &Stack, server: &Stack) -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(server, "0.0.0.0:80").await.unwrap();
    let c = within("connect", TcpStream::connect(client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (s, _) = within("accept", listener.accept()).await.unwrap();
    (c, s)
}

/// Whether `fut` is still waiting after the stacks have had 1 s of virtual time.
async fn still_waiting<F: std::future::Future + Unpin>(fut: &mut F) -> bool {
    timeout(Duration::from_secs(1), fut).await.is_err()
}

#[tokio::test(start_paused = true)]
async fn try_read_would_block_then_readable_wakes_and_try_read_gets_the_data() {
    let (client, server) = pair();
    let (c, mut s) = connected(&client, &server).await;
    let mut buf = [0u8; 64];
    let err = c.try_read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    let mut readable = Box::pin(c.readable());
    assert!(still_waiting(&mut readable).await, "nothing to read yet");
    s.write_all(b"hello").await.unwrap();
    within("readable", readable).await.unwrap();
    assert_eq!(c.try_read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(
        c.try_read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    // The peer's FIN: readable, and try_read says end of stream.
    s.shutdown().await.unwrap();
    let ready = within("ready", c.ready(Interest::READABLE)).await.unwrap();
    assert!(ready.is_readable() && ready.is_read_closed());
    assert_eq!(c.try_read(&mut buf).unwrap(), 0);
}

/// Chunks written without a copy and read as shared bytes, mixed with plain writes: the
/// stream arrives whole and in order, the reader learns the end as `None`, and a write after
/// shutdown fails as a plain one does.
#[tokio::test(start_paused = true)]
async fn chunks_written_and_read_without_a_copy_keep_the_stream_in_order() {
    let (client, server) = pair();
    let (mut c, mut s) = connected(&client, &server).await;
    let big = bytes::Bytes::from(
        (0..300_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let writer = async {
        s.write_all(b"head ").await?;
        s.write_chunk(big.clone()).await?;
        s.write_chunk(bytes::Bytes::from_static(b" tail")).await?;
        s.shutdown().await?;
        let late = s.write_chunk(bytes::Bytes::from_static(b"late")).await;
        assert_eq!(late.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        io::Result::Ok(())
    };
    let reader = async {
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = c.read_chunk(64 * 1024).await? {
            assert!(!chunk.is_empty() && chunk.len() <= 64 * 1024);
            got.extend_from_slice(&chunk);
            chunks += 1;
        }
        io::Result::Ok((got, chunks))
    };
    let (written, read) = within("transfer", async { tokio::join!(writer, reader) }).await;
    written.unwrap();
    let (got, chunks) = read.unwrap();
    let want = [&b"head "[..], &big[..], b" tail"].concat();
    assert!(got == want, "{} bytes of {}", got.len(), want.len());
    assert!(chunks >= 5, "{chunks} chunks");
    assert_eq!(
        c.read_chunk(10).await.unwrap(),
        None,
        "the end stays the end"
    );
}

#[tokio::test(start_paused = true)]
async fn writable_waits_for_room_in_the_send_buffer() {
    let (client, server) = pair();
    let (c, mut s) = connected(&client, &server).await;
    within("writable", c.writable()).await.unwrap();
    // Fill our send buffer (and the peer's receive buffer) while the peer reads nothing.
    let chunk = vec![7u8; 64 * 1024];
    let mut written = 0usize;
    loop {
        match c.try_write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Let the stacks move what they can, then try again until nothing moves.
                tokio::time::sleep(Duration::from_secs(1)).await;
                match c.try_write(&chunk) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    let mut writable = Box::pin(c.writable());
    assert!(still_waiting(&mut writable).await, "the buffers are full");
    let reader = tokio::spawn(async move {
        let mut got = vec![0u8; written];
        s.read_exact(&mut got).await.unwrap();
        got.iter().all(|&b| b == 7)
    });
    within("writable", writable).await.unwrap();
    assert!(c.try_write(b"more").unwrap() > 0);
    assert!(within("reader", reader).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn peek_leaves_the_bytes_for_the_next_read() {
    let (client, server) = pair();
    let (mut c, mut s) = connected(&client, &server).await;
    let mut peeked = [0u8; 3];
    let mut peek = Box::pin(c.peek(&mut peeked));
    assert!(still_waiting(&mut peek).await, "peek waits for data");
    s.write_all(b"hello world").await.unwrap();
    assert_eq!(within("peek", peek).await.unwrap(), 3);
    assert_eq!(&peeked, b"hel");
    let mut again = [0u8; 32];
    let n = c.peek(&mut again).await.unwrap();
    assert_eq!(
        &again[..n],
        b"hello world",
        "a second peek sees the same bytes"
    );
    let mut read = [0u8; 32];
    let n = c.read(&mut read).await.unwrap();
    assert_eq!(&read[..n], b"hello world", "and so does the read");
    s.shutdown().await.unwrap();
    assert_eq!(within("peek at eof", c.peek(&mut again)).await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_vectored_write_arrives_in_order() {
    let (client, server) = pair();
    let (mut c, mut s) = connected(&client, &server).await;
    assert!(c.is_write_vectored());
    let parts: [&[u8]; 4] = [b"GET / HTTP/1.1\r\n", b"", b"Host: x\r\n", b"\r\n"];
    let bufs: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let n = c.write_vectored(&bufs).await.unwrap();
    let whole: Vec<u8> = parts.concat();
    assert_eq!(n, whole.len(), "one call takes every slice that fits");
    // Then a big one, through the halves: several calls, each taking what fits.
    let big: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 100_000]).collect();
    let (_, mut cw) = c.split();
    let mut offset = 0;
    let total: usize = big.iter().map(Vec::len).sum();
    let expect: Vec<u8> = whole.iter().copied().chain(big.concat()).collect();
    let reader = tokio::spawn(async move {
        let mut got = vec![0u8; expect.len()];
        s.read_exact(&mut got).await.unwrap();
        got == expect
    });
    while offset < total {
        // The slices from `offset` on.
        let mut skip = offset;
        let mut rest = Vec::new();
        for part in &big {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            rest.push(IoSlice::new(&part[skip..]));
            skip = 0;
        }
        offset += within("write", cw.write_vectored(&rest)).await.unwrap();
    }
    assert!(
        within("reader", reader).await.unwrap(),
        "every byte, in order"
    );
}

#[tokio::test(start_paused = true)]
async fn a_read_initializes_only_the_bytes_it_copies() {
    let (client, server) = pair();
    let (mut c, mut s) = connected(&client, &server).await;
    s.write_all(b"hello").await.unwrap();
    within("readable", c.readable()).await.unwrap();

    // Spare capacity with a pattern in it, handed over as uninitialized memory.
    let mut storage: Vec<u8> = Vec::with_capacity(4096);
    for byte in storage.spare_capacity_mut() {
        byte.write(0xA5);
    }
    let spare: &mut [MaybeUninit<u8>] = storage.spare_capacity_mut();
    let mut buf = ReadBuf::uninit(spare);
    poll_fn(|cx| Pin::new(&mut c).poll_read(cx, &mut buf))
        .await
        .unwrap();
    assert_eq!(buf.filled(), b"hello");
    assert_eq!(
        buf.initialized().len(),
        5,
        "the read did not zero the rest of the capacity"
    );
    // SAFETY: every byte of the capacity was written above (the pattern), and the read wrote
    // only through the ReadBuf, which holds initialized bytes.
    unsafe { storage.set_len(4096) };
    assert_eq!(&storage[..5], b"hello");
    assert!(
        storage[5..].iter().all(|&b| b == 0xA5),
        "nothing past the bytes read was written"
    );
}

#[tokio::test(start_paused = true)]
async fn linger_zero_makes_the_close_a_reset_that_discards_unsent_data() {
    let (client, server) = pair();
    let (c, mut s) = connected(&client, &server).await;
    assert_eq!(c.linger().unwrap(), None, "the default");
    c.set_linger(Some(Duration::ZERO)).unwrap();
    assert_eq!(c.linger().unwrap(), Some(Duration::ZERO));
    // More than the peer's window can take: some of it is still in our send buffer.
    let data = vec![1u8; 1 << 20];
    let mut written = 0;
    while let Ok(n) = c.try_write(&data[written..]) {
        written += n;
    }
    drop(c);
    let mut got = Vec::new();
    let err = within("read", s.read_to_end(&mut got)).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert!(
        got.len() < written,
        "unsent data was discarded: {} of {written} bytes arrived",
        got.len()
    );
    assert!(
        client.tcp_connections().is_empty(),
        "no TIME-WAIT after an abort"
    );
}

#[tokio::test(start_paused = true)]
async fn a_nonzero_linger_closes_gracefully_in_the_background() {
    let (client, server) = pair();
    let (c, mut s) = connected(&client, &server).await;
    c.set_linger(Some(Duration::from_secs(1))).unwrap();
    let data = vec![2u8; 1 << 20];
    let mut written = 0;
    while let Ok(n) = c.try_write(&data[written..]) {
        written += n;
    }
    drop(c);
    let mut got = Vec::new();
    within("read", s.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got.len(), written, "every byte, then the FIN");
}

#[tokio::test(start_paused = true)]
async fn ttl_is_per_socket_and_in_every_packet_it_sends() {
    let file = TempFile::new("socket-ttl");
    let (a, b) = memory::pair(Default::default());
    let a = Capture::create(a, file.path(), "mem0").unwrap();
    let config = |addr: &str, seed| {
        let mut config = Config::new(addr.parse().unwrap());
        config.seed = Some(seed);
        config
    };
    let (client, server) = (
        Stack::new(a, config(CLIENT, 1)),
        Stack::new(b, config(SERVER, 2)),
    );
    let (mut c, mut s) = connected(&client, &server).await;
    assert_eq!(c.ttl().unwrap(), 64, "the default");
    for bad in [0, 256] {
        let err = c.set_ttl(bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "TTL {bad}");
    }
    c.set_ttl(7).unwrap();
    assert_eq!(c.ttl().unwrap(), 7);
    c.write_all(b"ttl seven").await.unwrap();
    let mut buf = [0u8; 9];
    s.read_exact(&mut buf).await.unwrap();
    s.write_all(b"ack me").await.unwrap(); // our ACK of this goes with TTL 7 too
    let mut six = [0u8; 6];
    within("read", c.read_exact(&mut six)).await.unwrap();

    let udp = UdpSocket::bind(&client, "0.0.0.0:5000").await.unwrap();
    let peer = UdpSocket::bind(&server, "0.0.0.0:5001").await.unwrap();
    assert_eq!(
        udp.set_ttl(0).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    udp.set_ttl(200).unwrap();
    assert_eq!(udp.ttl().unwrap(), 200);
    udp.send_to(b"ttl 200", "10.0.0.2:5001").await.unwrap();
    let mut dgram = [0u8; 16];
    within("recv", peer.recv_from(&mut dgram)).await.unwrap();
    // The server's side keeps the default.
    s.write_all(b"x").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop((client, server));

    if !tshark_available() {
        return;
    }
    let frames = tshark_check_fields(file.path(), &["ip.src", "ip.ttl", "ip.proto"]);
    let (mut tcp_ours, mut udp_ours, mut theirs) = (0, 0, 0);
    for frame in &frames {
        let ttl = frame.num("ip.ttl").unwrap();
        match (frame.get("ip.src"), frame.num("ip.proto")) {
            (Some("10.0.0.1"), Some(6)) => {
                tcp_ours += 1;
                // The handshake went before set_ttl, with the default.
                assert!(
                    ttl == 7 || tcp_ours <= 2,
                    "a TCP packet of ours with TTL {ttl}"
                );
            }
            (Some("10.0.0.1"), Some(17)) => {
                udp_ours += 1;
                assert_eq!(ttl, 200);
            }
            _ => {
                theirs += 1;
                assert_eq!(ttl, 64, "the peer's packets keep the default");
            }
        }
    }
    assert!(
        tcp_ours >= 4 && udp_ours == 1 && theirs >= 3,
        "{tcp_ours} {udp_ours} {theirs}"
    );
}

#[tokio::test(start_paused = true)]
async fn udp_try_calls_readable_and_peek_from() {
    let (client, server) = pair();
    let a = UdpSocket::bind(&client, "0.0.0.0:5000").await.unwrap();
    let b = UdpSocket::bind(&server, "0.0.0.0:5001").await.unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(
        b.try_recv_from(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(
        a.try_send(b"x").unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    let mut readable = Box::pin(b.readable());
    assert!(still_waiting(&mut readable).await, "nothing queued yet");
    within("writable", a.writable()).await.unwrap();
    a.try_send_to(b"first", "10.0.0.2:5001".parse().unwrap())
        .unwrap();
    a.connect("10.0.0.2:5001").await.unwrap();
    a.try_send(b"second").unwrap();
    within("readable", readable).await.unwrap();

    let from = "10.0.0.1:5000".parse().unwrap();
    assert_eq!(
        within("peek", b.peek_from(&mut buf)).await.unwrap(),
        (5, from)
    );
    assert_eq!(
        b.peek_from(&mut buf[..2]).await.unwrap(),
        (2, from),
        "cut to fit"
    );
    assert_eq!(b.try_recv_from(&mut buf).unwrap(), (5, from), "still there");
    assert_eq!(&buf[..5], b"first");
    b.connect(from).await.unwrap();
    within("readable", b.readable()).await.unwrap();
    assert_eq!(b.try_recv(&mut buf).unwrap(), 6);
    assert_eq!(&buf[..6], b"second");
}
