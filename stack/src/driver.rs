//! The async shell: one task that owns the link and drives the core.
//!
//! This is the only place that touches tokio's clock and the link. In a loop it
//!
//! 1. reads every packet the link has and passes each to [`Host::receive`];
//! 2. takes every packet [`Host::transmit`] has and hands it to the link;
//! 3. sleeps until the link has a packet, a socket has queued something, or the core's next
//!    deadline ([`Host::poll_at`]) comes.
//!
//! Sockets share the core with this task behind one mutex, and "kick" the task when they have
//! queued something to send.

use std::future::Future;
use std::io;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tracing::{debug, warn};

use crate::host::{Config, Host, Transmit};
use crate::link::{is_fatal, Link};
use crate::stats::Stats;
use crate::time::Instant;

/// How many packets one pass receives before it sends, so that a flood in one direction does
/// not starve the other.
const BATCH: usize = 64;

/// What the driver task and the socket handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    host: Mutex<Host>,
    /// tokio's clock at the origin of the core's time.
    start: tokio::time::Instant,
    /// Set by sockets when they queued something; cleared by the driver.
    kicked: AtomicBool,
    /// Set when the last [`Stack`] handle is gone.
    closed: AtomicBool,
    driver: Mutex<Option<Waker>>,
}

impl Shared {
    /// Locks the core. A panic elsewhere while holding the lock leaves the core as it was; we
    /// carry on with it rather than spreading the panic to every socket.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Host> {
        self.host.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The core's time now.
    pub(crate) fn now(&self) -> Instant {
        let elapsed = tokio::time::Instant::now() - self.start;
        Instant::from_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
    }

    /// Wakes the driver: a socket has queued packets (or closed).
    pub(crate) fn kick(&self) {
        self.kicked.store(true, Ordering::Release);
        let waker = self
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn to_tokio(&self, at: Instant) -> tokio::time::Instant {
        self.start + at.since_origin()
    }
}

/// The handle that keeps a stack alive; the driver stops when the last one is dropped.
#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.kick();
    }
}

/// A running network stack: the core plus the task that drives it over a link.
///
/// Cheap to clone; every clone (and every socket) keeps the stack running. Create sockets with
/// [`crate::UdpSocket::bind`] and friends.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use tunstack::link::memory;
/// use tunstack::{Config, Stack};
///
/// let (a, _b) = memory::pair(Default::default());
/// let stack = Stack::new(a, Config::new("10.0.0.1/24".parse().unwrap()));
/// println!("{}", stack.stats());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Stack {
    handle: Arc<Handle>,
}

impl Stack {
    /// Starts a stack on `link`: spawns its driver task on the current tokio runtime.
    ///
    /// `config.mtu` is replaced by the link's MTU.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like `tokio::spawn`.
    pub fn new<L: Link>(link: L, mut config: Config) -> Stack {
        config.mtu = link.mtu();
        let shared = Arc::new(Shared {
            host: Mutex::new(Host::new(config)),
            start: tokio::time::Instant::now(),
            kicked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            driver: Mutex::new(None),
        });
        tokio::spawn(Driver::new(shared.clone(), link));
        Stack {
            handle: Arc::new(Handle { shared }),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Our IPv4 address.
    pub fn addr(&self) -> Ipv4Addr {
        self.shared().lock().addr()
    }

    /// The link's MTU.
    pub fn mtu(&self) -> usize {
        self.shared().lock().config().mtu
    }

    /// A snapshot of every layer's counters.
    pub fn stats(&self) -> Stats {
        self.shared().lock().stats()
    }

    /// Snapshots of every TCP connection: state, RTT estimate, windows, counters.
    pub fn tcp_connections(&self) -> Vec<crate::tcp::ConnInfo> {
        self.shared().lock().tcp_connections()
    }

    /// Sends one ICMP echo request (what `ping` does) and waits for its reply; returns the
    /// round-trip time. Wrap it in `tokio::time::timeout`: a lost request or reply is never
    /// answered.
    ///
    /// Cancel safety: dropping the future stops the wait; a late reply is then ignored.
    pub async fn ping(&self, dst: Ipv4Addr, seq_no: u16, data: &[u8]) -> io::Result<Duration> {
        let shared = self.shared();
        shared.lock().ping_send(shared.now(), dst, seq_no, data)?;
        shared.kick();
        struct Forget<'a>(&'a Shared, u16);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.lock().ping_forget(self.1);
            }
        }
        let _forget = Forget(shared, seq_no);
        Ok(std::future::poll_fn(|cx| shared.lock().ping_poll_reply(cx, seq_no)).await)
    }
}

/// The driver task's state.
struct Driver<L> {
    shared: Arc<Shared>,
    link: L,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// A packet the link could not take yet, kept in `tx` until it can.
    unsent: Option<Transmit>,
    /// The link reported it can no longer receive (e.g. the other end of the wire is gone):
    /// the stack goes on without it, so that timers still run and sockets still get answers
    /// (a connect times out rather than hangs).
    rx_closed: bool,
    /// Likewise for sending: what the core sends is dropped.
    tx_closed: bool,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<L: Link> Driver<L> {
    fn new(shared: Arc<Shared>, link: L) -> Driver<L> {
        let mtu = link.mtu();
        Driver {
            shared,
            link,
            rx: vec![0; mtu],
            tx: Vec::with_capacity(mtu),
            unsent: None,
            rx_closed: false,
            tx_closed: false,
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
        }
    }

    /// One pass: receive, transmit, arm the timer. Returns whether anything happened.
    fn pass(&mut self, cx: &mut Context<'_>) -> bool {
        let shared = self.shared.clone();
        let now = shared.now();
        let mut host = shared.lock();
        let mut progress = false;

        // 1. Up: everything the link has, a batch at a time.
        for _ in 0..BATCH {
            if self.rx_closed {
                break;
            }
            match self.link.poll_recv(cx, &mut self.rx) {
                Poll::Ready(Ok(n)) => {
                    host.receive(now, &self.rx[..n]);
                    progress = true;
                }
                Poll::Ready(Err(err)) if is_fatal(&err) => {
                    warn!(%err, "link: cannot receive any more");
                    self.rx_closed = true;
                }
                Poll::Ready(Err(err)) => {
                    warn!(%err, "link: receive failed");
                    progress = true;
                }
                Poll::Pending => break,
            }
        }

        // 2. Down: what the core has, as long as the link takes it, a batch at a time.
        for _ in 0..BATCH {
            if self.unsent.is_none() {
                match host.transmit(now, &mut self.tx) {
                    Some(transmit) => self.unsent = Some(transmit),
                    None => break,
                }
            }
            if self.tx_closed {
                self.unsent = None;
                continue;
            }
            let comment = self.unsent.as_ref().and_then(|t| t.comment.as_deref());
            match self.link.poll_send(cx, &self.tx, comment) {
                Poll::Ready(result) => {
                    if let Err(err) = result {
                        if is_fatal(&err) {
                            warn!(%err, "link: cannot send any more; packets are dropped");
                            self.tx_closed = true;
                        } else {
                            warn!(%err, len = self.tx.len(), "link: send failed, packet lost");
                        }
                    }
                    self.unsent = None;
                    progress = true;
                }
                Poll::Pending => break,
            }
        }

        // 3. The core's next deadline.
        if let Some(at) = host.poll_at() {
            let deadline = shared.to_tokio(at);
            if self.sleep.deadline() != deadline {
                self.sleep.as_mut().reset(deadline);
            }
            if self.sleep.as_mut().poll(cx).is_ready() {
                // Due: the next pass runs the core's timers.
                self.sleep
                    .as_mut()
                    .reset(deadline + Duration::from_secs(3600));
                progress = true;
            }
        }
        progress
    }
}

// The link is only ever used through `&mut` (its methods take no `Pin`), and the timer is boxed,
// so nothing in the driver relies on staying at one address.
impl<L> Unpin for Driver<L> {}

impl<L: Link> Future for Driver<L> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        *this
            .shared
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        // A bounded number of passes, then yield so other tasks on this thread get a turn.
        for _ in 0..16 {
            this.shared.kicked.store(false, Ordering::Release);
            if this.pass(cx) {
                continue;
            }
            if this.shared.kicked.load(Ordering::Acquire) {
                continue;
            }
            if this.shared.closed.load(Ordering::Acquire) && !this.shared.lock().is_busy() {
                debug!("driver: last handle dropped, the stack stops");
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
