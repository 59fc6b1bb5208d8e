//! The async shell: one task that owns the link and drives the core.
//!
//! This is the only place that touches tokio's clock and the link. In a loop it
//!
//! 1. reads every packet the link has (a batch at a time) and passes each to [`Host::receive`];
//! 2. takes every packet [`Host::transmit`] has (a batch at a time) and hands it to the link;
//! 3. sleeps until the link has a packet, a socket has queued something, or the core's next
//!    deadline ([`Host::poll_at`]) comes.
//!
//! # The lock
//!
//! Sockets share the core with this task behind one mutex, and "kick" the task when they have
//! queued something to send. The lock is held only while the core computes, never while the
//! link is used: a read or write on a TUN device is a syscall, and a capture writes to a file,
//! and a socket call on another worker thread would wait for all of them. So each pass
//!
//! - reads a batch from the link into the task's own buffers, without the lock;
//! - takes the lock, hands those packets to the core, takes a batch of what the core sends into
//!   the task's own buffers (with why each was sent, for a capture), looks at the core's next
//!   deadline, and lets go of the lock;
//! - writes that batch to the link, without the lock. What the link cannot take yet stays in
//!   the task's buffers, in order, and the core is not asked for more until it has gone.
//!
//! A socket that queues a packet while the task is busy with the link sets the `kicked` flag
//! and wakes the task. The task clears the flag before each pass and looks at it again after:
//! a kick at any point in the pass brings another pass, so nothing waits for a wake-up that
//! came too early.
//!
//! The task ends when the last handle on the stack is gone, or when the stack cannot go on: its
//! device went away, or the task panicked. Then it records why ([`Stack::stopped`]), and every
//! socket call returns that error from then on, instead of waiting for a task that is gone.

use std::any::Any;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::warn;

use crate::device::Device;
use crate::host::{Config, Host};
use crate::stats::Stats;
use crate::time::Instant;

mod batch;
#[cfg(test)]
mod gso_tests;
#[cfg(test)]
mod lock_tests;
mod pool;
mod task;
#[cfg(test)]
mod tests;

use task::Driver;

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
    /// Why the stack stopped, once it has: set once, by the driver task.
    failure: OnceLock<Failure>,
    /// Wakes [`Stack::stopped`] when `failure` is set.
    stopped: Notify,
    /// How many passes the driver has made (tests check that it does not spin).
    #[cfg(test)]
    passes: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// The state a driver and its handles share, around `host`, with tokio's clock now as the
    /// core's origin of time.
    fn new(host: Host) -> Shared {
        Shared {
            host: Mutex::new(host),
            start: tokio::time::Instant::now(),
            kicked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            driver: Mutex::new(None),
            failure: OnceLock::new(),
            stopped: Notify::new(),
            #[cfg(test)]
            passes: Default::default(),
        }
    }

    /// Locks the core. A panic elsewhere while holding the lock leaves the core as it was; we
    /// carry on with it rather than spreading the panic to every socket.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Host> {
        self.host.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the core for a socket call that needs a running stack: the stack's error instead,
    /// once it has stopped.
    ///
    /// The check is made under the lock: [`Shared::fail`] records the failure before it takes
    /// the lock to wake every waiting socket, so a socket call either sees the failure here or
    /// has left its waker in the core in time to be woken.
    pub(crate) fn lock_running(&self) -> io::Result<MutexGuard<'_, Host>> {
        let host = self.lock();
        match self.failure.get() {
            Some(failure) => Err(failure.error()),
            None => Ok(host),
        }
    }

    /// The stack has stopped for good: records why (the first reason stays), wakes
    /// [`Stack::stopped`], and fails every socket in the core, waking whoever waits on one.
    fn fail(&self, failure: Failure) {
        let kind = failure.kind;
        if self.failure.set(failure).is_err() {
            return;
        }
        self.stopped.notify_waiters();
        // The core may be what panicked: if failing its sockets panics too, the failure is
        // recorded all the same, and every later socket call returns it.
        let failed = panic::catch_unwind(AssertUnwindSafe(|| self.lock().fail_all(kind)));
        if failed.is_err() {
            warn!("driver: the core panicked while failing its sockets; some may not wake");
        }
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
/// [`crate::UdpSocket::bind`] and friends. A stack also stops on its own when it cannot go on
/// (its device was deleted): [`Stack::stopped`] says when and why.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use tunstack::device::memory;
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
    /// `config.mtu`, `config.medium` and `config.offloads` are replaced by the device's: on a device that carries
    /// Ethernet frames (a TAP device), the host frames its packets and answers ARP with
    /// `config.mac`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like `tokio::spawn`.
    pub fn new<L: Device>(link: L, mut config: Config) -> Stack {
        config.mtu = link.mtu();
        config.medium = link.medium();
        config.offloads = link.offloads();
        let trains = config.gso && !config.offloads.tso;
        let mut host = Host::new(config);
        host.set_trains(trains);
        let shared = Arc::new(Shared::new(host));
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

    /// Waits until our IPv6 addresses may be used: on an Ethernet device, duplicate address
    /// detection takes a second after the interface comes up ([RFC 4862 5.4]), and until then
    /// nothing is sent from them or taken for them. Returns at once on TUN or with IPv6 off.
    ///
    /// Errors: `AddrInUse` when another host on the link has one of our addresses.
    ///
    /// [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
    pub async fn addresses_ready(&self) -> io::Result<()> {
        loop {
            let dad = self.stats().dad;
            if dad.duplicates > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another host on the link has our IPv6 address (duplicate address detection)",
                ));
            }
            let pending = self.shared().lock().ipv6_tentative();
            if !pending {
                return Ok(());
            }
            // Detection's deadline is the driver's: a short nap, checked again.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Our global IPv6 address, when IPv6 is on.
    pub fn addr6(&self) -> Option<Ipv6Addr> {
        self.shared().lock().addr6()
    }

    /// The link's MTU.
    pub fn mtu(&self) -> usize {
        self.shared().lock().config().mtu
    }

    /// Our MAC address, on a device that carries Ethernet frames (a TAP device); `None` on one
    /// that carries bare IP (TUN).
    pub fn mac(&self) -> Option<crate::link::ethernet::MacAddr> {
        self.shared().lock().mac()
    }

    /// The neighbour table, as `ip neigh` lists it: who is at which MAC address, and how sure
    /// we are. Empty without Ethernet.
    pub fn neighbours(&self) -> Vec<crate::link::neighbour::NeighbourInfo> {
        let shared = self.shared();
        shared.lock().neighbours(shared.now())
    }

    /// A snapshot of every layer's counters.
    pub fn stats(&self) -> Stats {
        self.shared().lock().stats()
    }

    /// Snapshots of every TCP connection: state, RTT estimate, windows, counters.
    pub fn tcp_connections(&self) -> Vec<crate::tcp::ConnInfo> {
        self.shared().lock().tcp_connections()
    }

    /// Why the stack has stopped, or `None` while it runs; see [`Stack::stopped`].
    pub fn error(&self) -> Option<io::Error> {
        self.shared().failure.get().map(Failure::error)
    }

    /// Waits until the stack stops for good, and returns why.
    ///
    /// A stack stops when it cannot go on: its device went away (a deleted TUN device; the
    /// error's kind is [`io::ErrorKind::NetworkDown`], and it says which device, e.g. "the link
    /// went down: tun0 was deleted (...)"), or its driver task panicked
    /// ([`io::ErrorKind::Other`], "the stack's driver panicked: ..."). From then on every
    /// socket call (accept, connect, read, write, send, receive, ping) returns the same error,
    /// and calls that were waiting return it at once. A stack whose handles are all dropped
    /// stops quietly; this never returns while it runs.
    ///
    /// A program waits on it next to its own work, to end with a message rather than hang:
    ///
    /// ```no_run
    /// # async fn demo(stack: tunstack::Stack, listener: tunstack::TcpListener) {
    /// loop {
    ///     tokio::select! {
    ///         accepted = listener.accept() => { /* serve it */ }
    ///         err = stack.stopped() => {
    ///             eprintln!("server: {err}");
    ///             std::process::exit(1);
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    ///
    /// Cancel safety: cancel safe. The reason is kept, so a call made after the stop returns
    /// at once; dropping the future loses nothing.
    pub async fn stopped(&self) -> io::Error {
        let shared = self.shared();
        loop {
            // Listening before looking: a stop between the two still wakes us.
            let mut notified = pin!(shared.stopped.notified());
            notified.as_mut().enable();
            if let Some(failure) = shared.failure.get() {
                return failure.error();
            }
            notified.await;
        }
    }

    /// Sends one ICMP echo request (what `ping` does) and waits for its reply; returns the
    /// round-trip time. Wrap it in `tokio::time::timeout`: a lost request or reply is never
    /// answered.
    ///
    /// Cancel safety: dropping the future stops the wait; a late reply is then ignored.
    pub async fn ping(
        &self,
        dst: impl Into<IpAddr>,
        seq_no: u16,
        data: &[u8],
    ) -> io::Result<Duration> {
        let dst = dst.into().to_canonical();
        let shared = self.shared();
        shared
            .lock_running()?
            .ping_send(shared.now(), dst, seq_no, data)?;
        shared.kick();
        struct Forget<'a>(&'a Shared, u16);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.lock().ping_forget(self.1);
            }
        }
        let _forget = Forget(shared, seq_no);
        std::future::poll_fn(|cx| shared.lock_running()?.ping_poll_reply(cx, seq_no).map(Ok)).await
    }
}

/// Why a stack stopped: what every socket call returns from then on.
#[derive(Debug, Clone)]
struct Failure {
    kind: io::ErrorKind,
    message: String,
}

impl Failure {
    /// The link's device is gone (`err` says which and how).
    fn link_down(err: &io::Error) -> Failure {
        Failure {
            kind: io::ErrorKind::NetworkDown,
            message: format!("the link went down: {err}"),
        }
    }

    /// The driver task panicked with `payload`.
    fn panicked(payload: &(dyn Any + Send)) -> Failure {
        let what = match (
            payload.downcast_ref::<&str>(),
            payload.downcast_ref::<String>(),
        ) {
            (Some(text), _) => text,
            (_, Some(text)) => text.as_str(),
            _ => "(a panic that carries no message)",
        };
        Failure {
            kind: io::ErrorKind::Other,
            message: format!("the stack's driver panicked: {what}"),
        }
    }

    /// The error a socket call returns.
    fn error(&self) -> io::Error {
        io::Error::new(self.kind, self.message.clone())
    }
}
