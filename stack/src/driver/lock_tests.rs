//! The driver's lock discipline: the core's lock is never held while the link is used, so a
//! socket call on another thread never waits for a device's syscall; and packets the link
//! pushes back are kept, in order, until it takes them.
//!
//! The checks are made from inside the link's calls, with `try_lock` on the core: on a
//! current-thread runtime nothing but the driver can hold the lock then, so a busy lock means
//! the driver is holding it across the call. Time is tokio's paused clock.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use super::Shared;
use crate::device::{memory, Device};
use crate::{Config, Stack, TcpListener, TcpStream};

/// Long enough for anything here; only reached if something hangs.
const SAFETY: Duration = Duration::from_secs(600);

fn config(addr: &str) -> Config {
    let mut config = Config::new(format!("{addr}/24").parse().unwrap());
    config.seed = Some(1);
    config
}

/// What a [`Watched`] link saw, and the stack it belongs to (set once the stack exists).
#[derive(Default)]
struct Watch {
    shared: OnceLock<Weak<Shared>>,
    /// Calls into the link made while the stack existed.
    calls: AtomicUsize,
    /// Of those, the calls made while the core's lock was held.
    locked: AtomicUsize,
    /// Push back every other send (waking the driver at once to try again).
    push_back: bool,
    sends: AtomicUsize,
    pushed_back: AtomicUsize,
    /// Queue a ping from inside the next send, as a socket on another thread would.
    ping_in_send: AtomicBool,
}

impl Watch {
    /// Counts one call into the link; returns the stack, if it exists yet.
    fn call(&self) -> Option<Arc<Shared>> {
        let shared = self.shared.get()?.upgrade()?;
        self.calls.fetch_add(1, Ordering::SeqCst);
        if shared.host.try_lock().is_err() {
            self.locked.fetch_add(1, Ordering::SeqCst);
        }
        Some(shared)
    }

    /// A socket's call while the link sends: queues ping 7 to 10.0.0.1 and kicks the driver.
    /// Returns whether the core's lock was free to take.
    fn ping(&self, shared: &Shared) -> bool {
        let Ok(mut host) = shared.host.try_lock() else {
            return false;
        };
        let dst = "10.0.0.1".parse::<std::net::Ipv4Addr>().unwrap();
        host.ping_send(shared.now(), dst.into(), 7, b"sent while the link sends")
            .unwrap();
        drop(host);
        shared.kick();
        true
    }
}

/// A memory link that watches the core's lock on every call.
struct Watched {
    inner: memory::MemoryDevice,
    watch: Arc<Watch>,
}

impl Device for Watched {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.watch.call();
        self.inner.poll_recv(cx, buf)
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        let shared = self.watch.call();
        if let Some(shared) = shared {
            if self.watch.ping_in_send.swap(false, Ordering::SeqCst) {
                assert!(self.watch.ping(&shared), "the core's lock is free to take");
            }
        }
        let sends = self.watch.sends.fetch_add(1, Ordering::SeqCst);
        if self.watch.push_back && sends.is_multiple_of(2) {
            self.watch.pushed_back.fetch_add(1, Ordering::SeqCst);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.inner.poll_send(cx, packet, comment)
    }
}

/// A stack at 10.0.0.2 on a [`Watched`] link, and a plain one at 10.0.0.1 on the other end.
fn watched_pair(watch: &Arc<Watch>) -> (Stack, Stack) {
    let (a, b) = memory::pair(Default::default());
    let watched = Watched {
        inner: a,
        watch: watch.clone(),
    };
    let server = Stack::new(watched, config("10.0.0.2"));
    let _ = watch.shared.set(Arc::downgrade(&server.handle.shared));
    let client = Stack::new(b, config("10.0.0.1"));
    (server, client)
}

/// Sends `len` bytes of a counting pattern from the client to the server and back, and checks
/// each byte arrives in order.
async fn echo_transfer(server: &Stack, client: &Stack, len: usize) {
    let listener = TcpListener::bind(server, "0.0.0.0:7").await.unwrap();
    let echo = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (mut read, mut write) = stream.split();
        tokio::io::copy(&mut read, &mut write).await.unwrap();
        write.shutdown().await.unwrap();
    });
    let stream = TcpStream::connect(client, "10.0.0.2:7").await.unwrap();
    let (mut read, mut write) = tokio::io::split(stream);
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        write.write_all(&data).await.unwrap();
        write.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
    read.read_to_end(&mut back).await.unwrap();
    writer.await.unwrap();
    echo.await.unwrap();
    assert!(back == expected, "every byte back, in order");
}

#[tokio::test(start_paused = true)]
async fn the_core_is_not_locked_while_the_link_receives_or_sends() {
    let watch = Arc::new(Watch::default());
    let (server, client) = watched_pair(&watch);
    let transfer = echo_transfer(&server, &client, 200_000);
    timeout(SAFETY, transfer).await.unwrap();
    let calls = watch.calls.load(Ordering::SeqCst);
    assert!(calls > 100, "the link was used: {calls} calls");
    assert_eq!(watch.locked.load(Ordering::SeqCst), 0, "of {calls} calls");
}

#[tokio::test(start_paused = true)]
async fn a_socket_call_made_while_the_link_sends_goes_out() {
    let watch = Arc::new(Watch::default());
    let (server, _client) = watched_pair(&watch);
    watch.ping_in_send.store(true, Ordering::SeqCst);
    let first = server.ping("10.0.0.1".parse::<std::net::Ipv4Addr>().unwrap(), 1, b"1");
    timeout(SAFETY, first).await.unwrap().unwrap();
    assert!(
        !watch.ping_in_send.load(Ordering::SeqCst),
        "ping 7 was sent"
    );
    let shared = server.shared();
    let reply = std::future::poll_fn(|cx| shared.lock().ping_poll_reply(cx, 7));
    timeout(SAFETY, reply).await.expect("ping 7 is answered");
}

#[tokio::test(start_paused = true)]
async fn packets_the_link_pushes_back_are_kept_in_order() {
    let watch = Arc::new(Watch {
        push_back: true,
        ..Watch::default()
    });
    let (server, client) = watched_pair(&watch);
    let transfer = echo_transfer(&server, &client, 200_000);
    timeout(SAFETY, transfer).await.unwrap();
    let pushed_back = watch.pushed_back.load(Ordering::SeqCst);
    assert!(pushed_back > 50, "the link pushed back {pushed_back} times");
    // Once the last ACKs are in, every packet one side sent has reached the other.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (sent, received) = (server.stats().ip, client.stats().ip);
    assert_eq!(sent.sent, received.received, "nothing lost on the way out");
    assert_eq!(received.sent, sent.received, "nothing lost on the way in");
}
