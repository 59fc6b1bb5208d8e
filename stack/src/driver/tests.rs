//! The driver's faults: a device that goes away, a panic in the driver, a link that keeps
//! failing or pushing back. Each ends cleanly, or waits without spinning.
//!
//! Time is tokio's paused clock: it jumps to the next timer whenever every task waits, so a
//! task that hangs ends the test at the safety timeout at once, and one that spins never lets
//! the clock move (the checks on the pass counter catch it first).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

use crate::device::{memory, Device};
use crate::{Config, Stack, TcpListener, TcpStream, UdpSocket};

/// Long enough for anything here; only reached if something hangs.
const SAFETY: Duration = Duration::from_secs(600);

const SERVER: &str = "10.0.0.2";

fn config(addr: &str) -> Config {
    let mut config = Config::new(format!("{addr}/24").parse().unwrap());
    config.seed = Some(1);
    config
}

fn passes(stack: &Stack) -> u64 {
    stack.shared().passes.load(Ordering::Relaxed)
}

/// Lets every other task run `turns` times (a driver that spins makes a pass on each).
async fn turns(turns: usize) {
    for _ in 0..turns {
        tokio::task::yield_now().await;
    }
}

/// What a [`Faulty`] link does: pass packets (0, at first), say its device is gone, or panic.
#[derive(Debug, Default)]
struct Fault {
    now: AtomicU8,
    /// The driver's waker, to make it look at the link when the fault comes.
    waker: Mutex<Option<Waker>>,
}

const GONE: u8 = 1;
const PANICS: u8 = 2;

impl Fault {
    fn strike(&self, fault: u8) {
        self.now.store(fault, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }
}

/// A memory link with a fault the test strikes when it wants.
struct Faulty {
    inner: memory::MemoryDevice,
    fault: Arc<Fault>,
}

impl Device for Faulty {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        *self.fault.waker.lock().unwrap() = Some(cx.waker().clone());
        match self.fault.now.load(Ordering::SeqCst) {
            GONE => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NetworkDown,
                "test0 was deleted",
            ))),
            PANICS => panic!("the link broke down"),
            _ => self.inner.poll_recv(cx, buf),
        }
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.inner.poll_send(cx, packet, comment)
    }
}

/// Tasks waiting on every kind of socket call of the server when the fault strikes.
struct Waiting {
    stream: TcpStream,
    listener: Arc<TcpListener>,
    tasks: Vec<(&'static str, JoinHandle<io::Error>)>,
}

fn spawn_error<T: Send + 'static>(
    future: impl std::future::Future<Output = io::Result<T>> + Send + 'static,
) -> JoinHandle<io::Error> {
    tokio::spawn(async move {
        match future.await {
            Ok(_) => panic!("succeeded on a stack that stopped"),
            Err(err) => err,
        }
    })
}

/// A server stack on a [`Faulty`] link, a client on the other end; an established connection
/// and tasks waiting in read, accept, UDP receive, ping and [`Stack::stopped`].
async fn server_with_waiting_sockets(fault: &Arc<Fault>) -> (Stack, Stack, Waiting) {
    let (a, b) = memory::pair(Default::default());
    let fault = fault.clone();
    let server = Stack::new(Faulty { inner: a, fault }, config(SERVER));
    let client = Stack::new(b, config("10.0.0.1"));
    let listener = Arc::new(TcpListener::bind(&server, "0.0.0.0:80").await.unwrap());
    let connect = TcpStream::connect(&client, "10.0.0.2:80");
    let (_client_end, accepted) = tokio::join!(connect, listener.accept());
    let (stream, _) = accepted.unwrap();
    let mut tasks = Vec::new();
    let mut reader = TcpStream::connect(&client, "10.0.0.2:80").await.unwrap();
    reader.write_all(b"x").await.unwrap();
    let (mut read_half, _) = listener.accept().await.unwrap();
    assert_eq!(read_half.read_u8().await.unwrap(), b'x');
    tasks.push((
        "read",
        spawn_error(async move { read_half.read_u8().await }),
    ));
    let accepting = listener.clone();
    tasks.push((
        "accept",
        spawn_error(async move { accepting.accept().await }),
    ));
    let udp = UdpSocket::bind(&server, "0.0.0.0:7").await.unwrap();
    tasks.push(("recv_from", spawn_error(udp_recv(udp))));
    let pinging = server.clone();
    let ping = async move {
        pinging
            .ping("10.0.0.9".parse::<std::net::Ipv4Addr>().unwrap(), 1, b"?")
            .await
    };
    tasks.push(("ping", spawn_error(ping)));
    let stopping = server.clone();
    let stopped = async move { Err::<(), _>(stopping.stopped().await) };
    tasks.push(("stopped", spawn_error(stopped)));
    turns(10).await;
    for (call, task) in &tasks {
        assert!(!task.is_finished(), "{call} waits while the stack runs");
    }
    let waiting = Waiting {
        stream,
        listener,
        tasks,
    };
    (server, client, waiting)
}

async fn udp_recv(udp: UdpSocket) -> io::Result<(usize, SocketAddr)> {
    let mut buf = [0; 16];
    udp.recv_from(&mut buf).await
}

/// Strikes `fault` under sockets that wait, and checks that every waiting call and every
/// later one fails at once with the error of `kind` that says `why`.
async fn every_socket_fails(fault: u8, kind: io::ErrorKind, why: &str) {
    let link = Arc::new(Fault::default());
    let (server, _client, mut waiting) = server_with_waiting_sockets(&link).await;
    assert!(server.error().is_none());
    let struck = Instant::now();
    link.strike(fault);
    let check = |call: &str, err: io::Error| {
        assert_eq!(err.kind(), kind, "{call}: {err}");
        assert_eq!(err.to_string(), why, "{call}");
    };
    for (call, task) in waiting.tasks.drain(..) {
        let err = timeout(SAFETY, task).await.expect(call).unwrap();
        check(call, err);
    }
    assert_eq!(struck.elapsed(), Duration::ZERO, "no timer was needed");

    check(
        "write",
        waiting.stream.write_all(b"late").await.unwrap_err(),
    );
    check("shutdown", waiting.stream.shutdown().await.unwrap_err());
    check("accept", waiting.listener.accept().await.unwrap_err());
    let connect = TcpStream::connect(&server, "10.0.0.1:80").await;
    check("connect", connect.unwrap_err());
    check(
        "bind",
        UdpSocket::bind(&server, "0.0.0.0:9").await.unwrap_err(),
    );
    check("error", server.error().unwrap());
    check("stopped again", server.stopped().await);
}

#[tokio::test(start_paused = true)]
async fn a_device_that_goes_away_fails_every_socket_with_its_error() {
    let why = "the link went down: test0 was deleted";
    every_socket_fails(GONE, io::ErrorKind::NetworkDown, why).await;
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_driver_fails_every_socket_instead_of_hanging_it() {
    let why = "the stack's driver panicked: the link broke down";
    every_socket_fails(PANICS, io::ErrorKind::Other, why).await;
}

/// A link that fails every receive with an error that does not say the device is gone.
struct Flaky;

impl Device for Flaky {
    fn mtu(&self) -> usize {
        1500
    }

    fn poll_recv(&mut self, _cx: &mut Context<'_>, _buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::other("flaky")))
    }

    fn poll_send(
        &mut self,
        _: &mut Context<'_>,
        _: &[u8],
        _: Option<&str>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_link_that_keeps_failing_is_retried_after_pauses_then_given_up() {
    let stack = Stack::new(Flaky, config(SERVER));
    let started = Instant::now();
    turns(100).await;
    assert!(passes(&stack) <= 2, "a pause, no spin: {}", passes(&stack));

    let err = timeout(SAFETY, stack.stopped()).await.unwrap();
    assert_eq!(err.kind(), io::ErrorKind::NetworkDown);
    let why = "the link went down: 16 receives in a row failed, the last with: flaky";
    assert_eq!(err.to_string(), why);
    // Pauses of 1, 2, 4 ... 512 ms, then 1 s five times: the 16th failure ends it.
    assert_eq!(started.elapsed(), Duration::from_millis(1023 + 5000));
    assert!(
        passes(&stack) <= 2 * 16,
        "one pass per try: {}",
        passes(&stack)
    );
}

/// A link that never takes a packet and never has one.
struct Stuck;

impl Device for Stuck {
    fn mtu(&self) -> usize {
        1500
    }

    fn poll_recv(&mut self, _cx: &mut Context<'_>, _buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Poll::Pending
    }

    fn poll_send(
        &mut self,
        _: &mut Context<'_>,
        _: &[u8],
        _: Option<&str>,
    ) -> Poll<io::Result<()>> {
        Poll::Pending
    }
}

#[tokio::test(start_paused = true)]
async fn a_due_timer_while_the_link_pushes_back_fires_once() {
    let stack = Stack::new(Stuck, config("10.0.0.1"));
    let connecting = stack.clone();
    let connect = tokio::spawn(async move { TcpStream::connect(&connecting, "10.0.0.2:80").await });
    turns(10).await;
    let before = passes(&stack);
    assert!(
        stack.shared().lock().poll_at().is_some(),
        "the SYN's timer runs"
    );

    // Past the SYN's retransmission timeout, with the SYN still waiting for the link.
    tokio::time::advance(Duration::from_secs(2)).await;
    turns(100).await;
    let fired = passes(&stack);
    assert!(
        fired - before <= 3,
        "fired once, no spin: {before} -> {fired}"
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        passes(&stack),
        fired,
        "nothing to do until the link takes the SYN"
    );
    assert!(!connect.is_finished());
    connect.abort();
}

/// A link that always has a packet, and one the stack drops (not IPv4 or IPv6): a flood.
struct Flood;

impl Device for Flood {
    fn mtu(&self) -> usize {
        1500
    }

    fn poll_recv(&mut self, _cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let junk = [0; 40];
        let n = junk.len().min(buf.len());
        buf[..n].copy_from_slice(&junk[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_send(
        &mut self,
        _: &mut Context<'_>,
        _: &[u8],
        _: Option<&str>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The future a current-thread runtime's `block_on` runs (the test's body here, as in an
/// `async fn main`) gets its turn while packets keep coming. tokio polls that future only when
/// no task is waiting to run, or after 61 of them: a driver that woke itself after its passes
/// would keep the queue from emptying while the link has packets, and a reader there would
/// read once per 61 of the driver's turns (over TUN: once its receive window had filled and
/// the sender had stopped).
#[tokio::test(start_paused = true)]
async fn the_block_on_future_gets_a_turn_while_packets_keep_coming() {
    let stack = Stack::new(Flood, config(SERVER));
    turns(1).await;
    let mut most = 0;
    for _ in 0..20 {
        let before = passes(&stack);
        tokio::task::yield_now().await;
        most = most.max(passes(&stack) - before);
    }
    // One turn of the driver (two passes) between two of ours; 122 with a self-wake.
    assert!(
        most <= 2,
        "{most} passes between two turns of the block_on future"
    );
    assert!(passes(&stack) >= 20, "the driver ran: {}", passes(&stack));
}
