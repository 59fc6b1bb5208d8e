//! TCP against the Linux kernel, over a TUN device.
//!
//! Each test gets a network namespace of its own ([`TunNet`]): the kernel at 10.77.0.1 with its
//! std sockets and `curl`, our stack at 10.77.0.2, and a capture of everything between them.
//! Every byte that crosses is checked (a pattern that never repeats, so a lost, doubled or
//! shifted piece shows), and the capture of each clean run must pass [`tshark_tcp_check`]: no
//! malformed packet, no bad checksum, no retransmission, out-of-order segment, gap or duplicate
//! ACK in Wireshark's analysis, and every connection complete (SYN, SYN-ACK, ACK, data, one FIN
//! each way, no reset).
//!
//! The bulk tests move 100 MiB and print their throughput (run with `--nocapture` to see it);
//! their captures are some 220 MB in the temporary directory while the test runs.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, SocketAddrV4};
use std::process::Command;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tunstack::{TcpListener, TcpStream};
use tunstack_tests::{
    accept_within, output_within, skip_or_fail, tshark_check, tshark_filter_fields,
    tshark_tcp_check, tun_tests_can_run, unfinished_read, wait_for, Direction, Frame,
    TcpConversation, TunNet, KERNEL, STACK,
};

/// How long a single wait (a handshake, a reply) may take.
const WAIT: Duration = Duration::from_secs(3);

/// How long the stack may take to finish its closing handshakes at the end of a test.
const CLOSES: Duration = Duration::from_secs(3);

/// The size of a bulk transfer.
const BULK: u64 = 100 << 20;

/// How much a writer hands over at once, and a reader asks for.
const CHUNK: usize = 64 << 10;

/// The echo service's port (RFC 862).
const ECHO_PORT: u16 = 7;

/// How long the keep-alive test waits for two probes each way (they come within some 3 s);
/// only probes that never come wait this long, and fail the test.
const PROBES: Duration = Duration::from_secs(30);

/// A TunNet for this test, or `None` (after printing why) when TUN tests cannot run here.
fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    Some(TunNet::start(label).unwrap())
}

/// An endless stream of bytes that does not repeat within any transfer here: a block of 64 KiB
/// at a time, each from its own seed and position, so that a byte lost, doubled, reordered or
/// taken from another connection shows.
struct Pattern {
    seed: u64,
    /// Bytes handed out so far.
    pos: u64,
    block: Vec<u8>,
}

impl Pattern {
    const BLOCK: usize = 64 << 10;

    fn new(seed: u64) -> Pattern {
        let mut pattern = Pattern {
            seed,
            pos: 0,
            block: vec![0; Pattern::BLOCK],
        };
        pattern.make_block(0);
        pattern
    }

    /// Fills `block` with block number `index` (splitmix64 of the seed and word position).
    fn make_block(&mut self, index: u64) {
        let words = (Pattern::BLOCK / 8) as u64;
        let mut state = self
            .seed
            .wrapping_mul(0xd1b5_4a32_d192_ed03)
            .wrapping_add(index * words);
        for word in self.block.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            word.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
    }

    /// The next `out.len()` bytes of the stream.
    fn fill(&mut self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let at = (self.pos % Pattern::BLOCK as u64) as usize;
            let n = (Pattern::BLOCK - at).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.block[at..at + n]);
            done += n;
            self.pos += n as u64;
            if self.pos.is_multiple_of(Pattern::BLOCK as u64) {
                self.make_block(self.pos / Pattern::BLOCK as u64);
            }
        }
    }

    /// The first `len` bytes of the stream for `seed`.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        Pattern::new(seed).fill(&mut out);
        out
    }
}

/// Checks a received stream against its pattern, piece by piece as it arrives.
struct Expect {
    pattern: Pattern,
    want: Vec<u8>,
    seen: u64,
}

impl Expect {
    fn new(seed: u64) -> Expect {
        Expect {
            pattern: Pattern::new(seed),
            want: vec![0; CHUNK],
            seen: 0,
        }
    }

    /// Checks the next piece; panics at the first byte that differs, naming its offset.
    fn check(&mut self, got: &[u8]) {
        for piece in got.chunks(CHUNK) {
            let want = &mut self.want[..piece.len()];
            self.pattern.fill(want);
            if piece != want {
                let i = piece.iter().zip(want.iter()).take_while(|(a, b)| a == b);
                let offset = self.seen + i.count() as u64;
                panic!("the stream differs from what was sent at byte {offset}");
            }
            self.seen += piece.len() as u64;
        }
    }
}

/// FNV-1a, 64 bits: a small hash for checking a transfer whole.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Writes `len` bytes of the pattern for `seed` to a Linux socket, then shuts down writing.
fn linux_send_pattern(mut stream: std::net::TcpStream, seed: u64, len: u64) -> io::Result<()> {
    let mut pattern = Pattern::new(seed);
    let mut buf = vec![0; CHUNK];
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        pattern.fill(&mut buf[..n]);
        stream.write_all(&buf[..n])?;
        left -= n as u64;
    }
    stream.shutdown(Shutdown::Write)
}

/// Reads a Linux socket to its end, checking every byte against the pattern for `seed`;
/// returns how many came.
fn linux_receive_pattern(mut stream: std::net::TcpStream, seed: u64) -> io::Result<u64> {
    let mut expect = Expect::new(seed);
    let mut buf = vec![0; CHUNK];
    loop {
        let n = tunstack_tests::read(&mut stream, &mut buf)?;
        if n == 0 {
            return Ok(expect.seen);
        }
        expect.check(&buf[..n]);
    }
}

/// Prints a transfer's rate, for the notes: `--nocapture` shows it.
fn report(what: &str, bytes: u64, elapsed: Duration) -> f64 {
    let rate = bytes as f64 / elapsed.as_secs_f64() / 1e6;
    eprintln!(
        "throughput: {what}: {} MiB in {:.2} s = {rate:.1} MB/s",
        bytes >> 20,
        elapsed.as_secs_f64()
    );
    rate
}

/// Starts the course's echo server on our stack, on port 7: each connection is served by a
/// task of its own, every byte goes back until the client closes, then we close too.
fn start_echo_server(net: &TunNet) {
    let stack = net.stack();
    net.block_on(async {
        let listener = TcpListener::bind(stack, "0.0.0.0:7").await.unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _client)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0; CHUNK];
                    loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if conn.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = conn.shutdown().await;
                });
            }
        });
    })
    .unwrap();
}

/// Waits for our side's closing handshakes, stops the stack, and checks the capture: clean,
/// and every connection complete. Returns the connections (and deletes the capture).
fn finish(mut net: TunNet) -> Vec<TcpConversation> {
    if let Err(busy) = net.wait_for_tcp_closes(CLOSES) {
        panic!("connections still not closed after {CLOSES:?}: {busy:#?}");
    }
    net.stop();
    let conversations = tshark_tcp_check(net.capture_path());
    for conversation in &conversations {
        if let Err(why) = conversation.check_complete() {
            panic!("{why}");
        }
    }
    conversations
}

/// The course's echo server on our stack, and a Linux client sending 100 MiB through it while
/// reading the echo on another thread: the echo server's writes wait on Linux's window while
/// Linux's writes wait on ours, so both windows close and open again and again.
#[test]
fn a_linux_client_gets_100_mib_echoed_byte_exact() {
    let Some(net) = start("tcp-echo-bulk") else {
        return;
    };
    start_echo_server(&net);
    let linux = net.linux_tcp_connect((STACK, ECHO_PORT)).unwrap();
    let started = Instant::now();
    let writer = linux.try_clone().unwrap();
    let write = thread::spawn(move || linux_send_pattern(writer, 1, BULK));
    let read = thread::spawn(move || linux_receive_pattern(linux, 1));
    write.join().unwrap().unwrap();
    let echoed = read.join().unwrap().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(echoed, BULK);
    report("Linux -> our echo -> Linux", BULK, elapsed);

    let conversations = finish(net);
    let [echo] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    assert_eq!(echo.client_direction, Some(Direction::Inbound));
    assert_eq!(echo.server, SocketAddr::from((STACK, ECHO_PORT)));
    assert_eq!(
        (echo.bytes_from_client, echo.bytes_from_server),
        (BULK, BULK)
    );
}

/// The port of a Linux listener on the kernel's address, and the listener.
fn linux_listener(net: &TunNet) -> (std::net::TcpListener, SocketAddrV4) {
    let listener = net.linux_tcp_listener((KERNEL, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, SocketAddrV4::new(KERNEL, port))
}

#[test]
fn our_client_downloads_100_mib_from_a_linux_server() {
    let Some(net) = start("tcp-download") else {
        return;
    };
    let (listener, server) = linux_listener(&net);
    // Sends the bulk, then waits for our FIN: Linux closes first.
    let linux = thread::spawn(move || -> io::Result<SocketAddr> {
        let (mut conn, client) = accept_within(&listener, WAIT)?;
        linux_send_pattern(conn.try_clone()?, 2, BULK)?;
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest)?;
        assert!(rest.is_empty(), "we sent nothing: {} bytes", rest.len());
        Ok(client)
    });
    let stack = net.stack();
    let (received, elapsed, local) = net
        .block_on(async {
            let started = Instant::now();
            let mut ours = timeout(WAIT, TcpStream::connect(stack, server)).await??;
            let local = ours.local_addr()?;
            let mut expect = Expect::new(2);
            let mut buf = vec![0; CHUNK];
            loop {
                let n = timeout(WAIT, ours.read(&mut buf)).await??;
                if n == 0 {
                    break;
                }
                expect.check(&buf[..n]);
            }
            io::Result::Ok((expect.seen, started.elapsed(), local))
        })
        .unwrap()
        .unwrap();
    assert_eq!(received, BULK);
    assert_eq!(linux.join().unwrap().unwrap(), local);
    report("Linux server -> our client", BULK, elapsed);

    let conversations = finish(net);
    let [download] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    assert_eq!(download.client_direction, Some(Direction::Outbound));
    assert_eq!(download.server, SocketAddr::V4(server));
    assert_eq!(
        (download.bytes_from_client, download.bytes_from_server),
        (0, BULK)
    );
}

#[test]
fn our_client_uploads_100_mib_to_a_linux_server() {
    let Some(net) = start("tcp-upload") else {
        return;
    };
    let (listener, server) = linux_listener(&net);
    // Counts and hashes everything until our FIN, then closes.
    let linux = thread::spawn(move || -> io::Result<(u64, u64)> {
        let (mut conn, _client) = accept_within(&listener, WAIT)?;
        let (mut count, mut hash) = (0, Fnv::new());
        let mut buf = vec![0; CHUNK];
        loop {
            let n = tunstack_tests::read(&mut conn, &mut buf)?;
            if n == 0 {
                return Ok((count, hash.0));
            }
            count += n as u64;
            hash.write(&buf[..n]);
        }
    });
    let stack = net.stack();
    let (sent_hash, elapsed) = net
        .block_on(async {
            let started = Instant::now();
            let mut ours = timeout(WAIT, TcpStream::connect(stack, server)).await??;
            let (mut pattern, mut hash) = (Pattern::new(3), Fnv::new());
            let mut buf = vec![0; CHUNK];
            for _ in 0..BULK / CHUNK as u64 {
                pattern.fill(&mut buf);
                hash.write(&buf);
                timeout(WAIT, ours.write_all(&buf)).await??;
            }
            ours.shutdown().await?;
            // The server's FIN, after it has read everything.
            let n = timeout(WAIT, ours.read(&mut buf)).await??;
            assert_eq!(n, 0, "the server sends nothing");
            io::Result::Ok((hash.0, started.elapsed()))
        })
        .unwrap()
        .unwrap();
    let (count, hash) = linux.join().unwrap().unwrap();
    assert_eq!((count, hash), (BULK, sent_hash));
    report("our client -> Linux server", BULK, elapsed);

    let conversations = finish(net);
    let [upload] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    assert_eq!(upload.client_direction, Some(Direction::Outbound));
    assert_eq!(
        (upload.bytes_from_client, upload.bytes_from_server),
        (BULK, 0)
    );
}

#[test]
fn a_hundred_linux_connections_at_once_are_each_echoed_byte_exact() {
    const CLIENTS: usize = 100;
    let Some(net) = start("tcp-echo-many") else {
        return;
    };
    start_echo_server(&net);
    // From 2 KiB to about 8 KiB, a different length and pattern for each client.
    let len = |i: usize| 2048 + 61 * i;
    let barrier = Barrier::new(CLIENTS);
    let echo = SocketAddr::from((STACK, ECHO_PORT));
    let results: Vec<io::Result<u16>> = net
        .run(|| {
            // Threads started from inside the namespace are inside it too.
            thread::scope(|scope| {
                let clients: Vec<_> = (0..CLIENTS)
                    .map(|i| {
                        let barrier = &barrier;
                        scope.spawn(move || -> io::Result<u16> {
                            let connected = std::net::TcpStream::connect_timeout(&echo, WAIT);
                            // Every client connects before any sends: 100 connections open at
                            // once. Each reaches the barrier, connected or not, so none waits
                            // forever.
                            barrier.wait();
                            let mut stream = connected?;
                            stream.set_read_timeout(Some(WAIT))?;
                            stream.set_write_timeout(Some(WAIT))?;
                            let sent = Pattern::bytes(100 + i as u64, len(i));
                            stream.write_all(&sent)?;
                            stream.shutdown(Shutdown::Write)?;
                            let mut echoed = Vec::new();
                            stream.read_to_end(&mut echoed)?;
                            assert!(echoed == sent, "client {i}: the echo differs");
                            Ok(stream.local_addr()?.port())
                        })
                    })
                    .collect();
                clients.into_iter().map(|c| c.join().unwrap()).collect()
            })
        })
        .unwrap();
    let ports: Vec<u16> = results.into_iter().map(Result::unwrap).collect();

    let conversations = finish(net);
    assert_eq!(conversations.len(), CLIENTS);
    for conversation in &conversations {
        let port = conversation.client.port();
        let i = ports.iter().position(|&p| p == port).unwrap();
        let want = len(i) as u64;
        assert_eq!(
            (
                conversation.bytes_from_client,
                conversation.bytes_from_server
            ),
            (want, want),
            "{conversation}"
        );
    }
}

#[test]
fn connecting_to_a_closed_port_is_refused_both_ways() {
    let Some(mut net) = start("tcp-refused") else {
        return;
    };
    // Linux to our stack: nothing listens on 9999, our RST answers the SYN.
    let err = net.linux_tcp_connect((STACK, 9999)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");

    // Our stack to Linux: a port that was free a moment ago, Linux's RST answers our SYN.
    let (listener, closed) = linux_listener(&net);
    drop(listener);
    let stack = net.stack();
    let err = net
        .block_on(async { timeout(WAIT, TcpStream::connect(stack, closed)).await })
        .unwrap()
        .expect("an answer within the wait")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    net.stop();
    let frames = tshark_check(net.capture_path());
    let [syn, rst, our_syn, linux_rst] = &frames[..] else {
        panic!("two SYNs, each with its RST: {frames:#?}");
    };
    let seq = |f: &tunstack_tests::Frame| f.num("tcp.seq_raw").unwrap();
    let ack = |f: &tunstack_tests::Frame| f.num("tcp.ack_raw").unwrap();
    // RST|ACK, seq 0, acknowledging the SYN (RFC 9293 3.10.7.1), in both directions.
    for (syn, rst, direction) in [
        (syn, rst, Direction::Inbound),
        (our_syn, linux_rst, Direction::Outbound),
    ] {
        assert_eq!(syn.direction(), Some(direction), "{syn:?}");
        assert_eq!(syn.num("tcp.flags"), Some(0x002), "{syn:?}");
        assert_ne!(rst.direction(), Some(direction), "{rst:?}");
        assert_eq!(rst.num("tcp.flags"), Some(0x014), "{rst:?}");
        assert_eq!((seq(rst), ack(rst)), (0, (seq(syn) + 1) % (1 << 32)));
    }
    assert_eq!(syn.num("tcp.dstport"), Some(9999));
    assert_eq!(
        rst.get("frame.comment"),
        Some("reset: no connection on port 9999")
    );
    assert_eq!(our_syn.num("tcp.dstport"), Some(closed.port().into()));
}

/// The little web site of the hyper test: what a learner would put on the stack first.
async fn course_site(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let text = |status, body: &'static str| {
        let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        response
    };
    let path = request.uri().path().to_owned();
    Ok(match (request.method(), path.as_str()) {
        (&Method::GET, "/hello") => text(StatusCode::OK, "Hello from tunstack!\n"),
        (&Method::POST, "/echo") => {
            let body = request.into_body().collect().await?.to_bytes();
            Response::new(Full::new(body))
        }
        (&Method::GET, path) => match path.strip_prefix("/bytes/").map(str::parse::<usize>) {
            Some(Ok(len)) if len <= 4 << 20 => {
                Response::new(Full::new(Bytes::from(Pattern::bytes(9, len))))
            }
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        },
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "GET or POST /echo\n"),
    })
}

/// Runs `curl -sS --max-time 10 ARGS... URL` inside the namespace; returns what it printed.
fn curl(net: &TunNet, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["-sS", "--max-time", "10"];
    all.extend_from_slice(args);
    let output = output_within(&mut net.exec("curl", &all), Duration::from_secs(15)).unwrap();
    assert!(
        output.status.success(),
        "curl {all:?} ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn a_hyper_server_on_our_stack_answers_curl() {
    let Some(net) = start("tcp-hyper") else {
        return;
    };
    let curl_runs = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !curl_runs {
        skip_or_fail("curl is not installed (Debian: apt-get install curl)");
        return;
    }
    let stack = net.stack();
    net.block_on(async {
        let listener = TcpListener::bind(stack, "0.0.0.0:8080").await.unwrap();
        tokio::spawn(async move {
            while let Ok((conn, _client)) = listener.accept().await {
                // Our TcpStream is tokio's AsyncRead + AsyncWrite; TokioIo makes it hyper's.
                let io = hyper_util::rt::TokioIo::new(conn);
                let service = hyper::service::service_fn(course_site);
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(io, service),
                );
            }
        });
    })
    .unwrap();

    let site = "http://10.77.0.2:8080";
    let hello = curl(&net, &[&format!("{site}/hello")]);
    assert_eq!(hello, b"Hello from tunstack!\n");
    let message = "Hello, network! (sent by curl, echoed by hyper on tunstack)";
    let echoed = curl(&net, &["--data-binary", message, &format!("{site}/echo")]);
    assert_eq!(echoed, message.as_bytes());
    let mebibyte = curl(&net, &[&format!("{site}/bytes/1048576")]);
    assert!(mebibyte == Pattern::bytes(9, 1 << 20), "1 MiB, byte-exact");
    // Two requests on one connection: HTTP/1.1 keeps it open in between.
    let twice = curl(&net, &[&format!("{site}/hello"), &format!("{site}/hello")]);
    assert_eq!(twice, b"Hello from tunstack!\nHello from tunstack!\n");
    let status = curl(
        &net,
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{site}/nope"),
        ],
    );
    assert_eq!(status, b"404");

    let conversations = finish(net);
    assert_eq!(
        conversations.len(),
        5,
        "one connection per curl: {conversations:#?}"
    );
    for conversation in &conversations {
        assert_eq!(conversation.client_direction, Some(Direction::Inbound));
        assert_eq!(conversation.server, SocketAddr::from((STACK, 8080)));
    }
    assert!(conversations[2].bytes_from_server > 1 << 20);
}

/// Keep-alive probes and their answers in a capture, each way, as Wireshark's TCP analysis
/// names them.
#[derive(Debug)]
struct KeepAlives {
    linux_probes: u64,
    our_answers: u64,
    our_probes: u64,
    linux_answers: u64,
}

impl KeepAlives {
    /// Counts them in the capture at `path`, in one tshark run.
    fn read(path: &std::path::Path) -> io::Result<KeepAlives> {
        let (probe, ack, update) = (
            "tcp.analysis.keep_alive",
            "tcp.analysis.keep_alive_ack",
            "tcp.analysis.window_update",
        );
        let fields = ["frame.packet_flags_direction", probe, ack, update];
        let filter = format!("{probe} || {ack} || {update}");
        let frames = tshark_filter_fields(path, &filter, &fields)?;
        let count = |direction, flags: &[&str]| {
            let flagged = |f: &&Frame| flags.iter().any(|flag| f.get(flag).is_some());
            let frames = frames.iter().filter(|f| f.direction() == Some(direction));
            frames.filter(flagged).count() as u64
        };
        Ok(KeepAlives {
            linux_probes: count(Direction::Inbound, &[probe]),
            // Our first answer also announces our full window (the SYN-ACK's is unscaled), and
            // Wireshark names it a window update instead.
            our_answers: count(Direction::Outbound, &[ack, update]),
            our_probes: count(Direction::Outbound, &[probe]),
            linux_answers: count(Direction::Inbound, &[ack]),
        })
    }

    /// Waits until the capture at `path`, which the test's stack writes as it goes, shows at
    /// least `probes` probes each way, every one answered.
    fn wait_until_answered(path: &std::path::Path, probes: u64) {
        let answered = || {
            let seen = KeepAlives::read(path).map_err(unfinished_read)?;
            match seen.all_answered(probes) {
                true => Ok(()),
                false => Err(format!("{seen:?}")),
            }
        };
        wait_for(PROBES, answered).unwrap();
    }

    /// Whether each side has sent at least `probes` probes, and every probe was answered.
    fn all_answered(&self, probes: u64) -> bool {
        self.linux_probes >= probes
            && self.our_probes >= probes
            && self.our_answers == self.linux_probes
            && self.linux_answers == self.our_probes
    }
}

/// Accepts a connection on `listener` and turns its keep-alive on: a probe after 1.5 s of
/// silence, again every second, and the connection ends after 2 unanswered.
fn accept_with_keepalive(net: &TunNet, listener: TcpListener) -> TcpStream {
    let keepalive = tunstack::tcp::KeepAlive {
        idle: Duration::from_millis(1500),
        interval: Duration::from_secs(1),
        probes: 2,
    };
    let accepted = async {
        let (ours, _) = timeout(WAIT, listener.accept()).await??;
        ours.set_keepalive(Some(keepalive))?;
        io::Result::Ok(ours)
    };
    net.block_on(accepted).unwrap().unwrap()
}

/// Keep-alive both ways on an idle connection: Linux probes us after 1 s of silence and we
/// probe it after 1.5 s; each answers the other's probes, so both stay open until each has
/// probed twice (unanswered, either would give up after 2 probes), and Wireshark names the
/// probes and their answers as keep-alives.
#[test]
fn keepalive_probes_are_answered_both_ways() {
    let Some(mut net) = start("tcp-keepalive") else {
        return;
    };
    let stack = net.stack();
    let listener = net
        .block_on(TcpListener::bind(stack, ([0, 0, 0, 0], ECHO_PORT)))
        .unwrap()
        .unwrap();
    let before = tunstack_tests::Nstat::read(net.ns()).unwrap();
    let mut linux = net.linux_tcp_connect((STACK, ECHO_PORT)).unwrap();
    tunstack_tests::set_socket_option(&linux, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1).unwrap();
    tunstack_tests::set_socket_option(&linux, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 1).unwrap();
    tunstack_tests::set_socket_option(&linux, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 1).unwrap();
    tunstack_tests::set_socket_option(&linux, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 2).unwrap();
    let silent = Instant::now();
    let mut ours = accept_with_keepalive(&net, listener);
    // Silence until the capture shows two probes each way, each answered.
    KeepAlives::wait_until_answered(net.capture_path(), 2);
    let silence = silent.elapsed();
    linux.write_all(b"still here").unwrap();
    linux.shutdown(Shutdown::Write).unwrap();
    let info = net
        .block_on(async {
            let mut got = Vec::new();
            timeout(WAIT, ours.read_to_end(&mut got)).await??;
            assert_eq!(got, b"still here");
            ours.shutdown().await?;
            ours.info()
        })
        .unwrap()
        .unwrap();
    let mut rest = Vec::new();
    linux.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    let kernel = tunstack_tests::Nstat::read(net.ns())
        .unwrap()
        .since(&before);
    assert!(info.stats.keepalive_probes >= 2, "{:?}", info.stats);
    assert!(kernel.get("TcpExtTCPKeepAlive") >= 2, "{kernel}");
    if let Err(busy) = net.wait_for_tcp_closes(CLOSES) {
        panic!("connections still not closed after {CLOSES:?}: {busy:#?}");
    }
    net.stop();
    // Linux's probes and our answers; our probes and Linux's answers.
    let seen = KeepAlives::read(net.capture_path()).unwrap();
    assert_eq!(seen.our_probes, info.stats.keepalive_probes, "{seen:?}");
    assert_eq!(
        seen.linux_probes,
        kernel.get("TcpExtTCPKeepAlive"),
        "{seen:?}"
    );
    assert!(seen.all_answered(2), "{seen:?}");
    eprintln!(
        "keep-alive over {silence:?} of silence: Linux sent {} probes, we sent {}; every one \
         answered",
        seen.linux_probes, seen.our_probes
    );
}

/// A firewall in the kernel's namespace rejects our SYNs with ICMP errors, as iptables'
/// REJECT target does: each connect fails at once with the error's meaning, instead of
/// resending its SYN for two minutes (RFC 1122 4.2.3.9; Linux's connect does the same).
#[test]
fn a_connect_rejected_with_icmp_fails_at_once_with_its_meaning() {
    let Some(mut net) = start("tcp-icmp-reject") else {
        return;
    };
    let rules = [
        (
            9101,
            "icmp-port-unreachable",
            io::ErrorKind::ConnectionRefused,
        ),
        (
            9102,
            "icmp-host-unreachable",
            io::ErrorKind::HostUnreachable,
        ),
        (
            9103,
            "icmp-net-unreachable",
            io::ErrorKind::NetworkUnreachable,
        ),
        (
            9104,
            "icmp-admin-prohibited",
            io::ErrorKind::HostUnreachable,
        ),
    ];
    for (port, reject_with, _) in rules {
        let port = port.to_string();
        let args = [
            "-w",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            &port,
            "-j",
            "REJECT",
            "--reject-with",
            reject_with,
        ];
        match output_within(&mut net.exec("iptables", &args), WAIT) {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return skip_or_fail(&format!(
                    "iptables cannot add a REJECT rule: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
            Err(err) => return skip_or_fail(&format!("iptables: {err}")),
        }
    }
    let stack = net.stack();
    for (port, reject_with, kind) in rules {
        let started = Instant::now();
        let result = net
            .block_on(async { timeout(WAIT, TcpStream::connect(stack, (KERNEL, port))).await })
            .unwrap()
            .expect("an answer within the wait, not a SYN resent for minutes");
        let err = result.expect_err("rejected");
        assert_eq!(err.kind(), kind, "{reject_with}: {err}");
        eprintln!("{reject_with}: {err} after {:?}", started.elapsed());
    }
    net.stop();
    // The capture: each SYN, each ICMP error quoting it, and nothing after.
    let frames = tshark_check(net.capture_path());
    let count = |direction: Direction, protocol: u64| {
        frames
            .iter()
            .filter(|f| f.direction() == Some(direction) && f.num("ip.proto") == Some(protocol))
            .count()
    };
    let (syns, icmp) = (count(Direction::Outbound, 6), count(Direction::Inbound, 1));
    assert_eq!((syns, icmp), (rules.len(), rules.len()), "{frames:#?}");
    assert_eq!(frames.len(), syns + icmp, "nothing else: {frames:#?}");
}
