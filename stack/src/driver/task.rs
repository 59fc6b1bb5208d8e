//! The driver task: a future that moves packets between the link and the core, runs the core's
//! timers, and ends the stack cleanly when the link is gone or the task itself panics.

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;
use tracing::{debug, error, warn};

use super::batch::{Inbox, Outbox};
use super::{Failure, Shared};
use crate::device::{is_fatal, is_gone, Device};
use crate::host::Host;
use crate::link::Reason;
use crate::time::Instant;

/// How many packets one pass receives before it sends, so that a flood in one direction does
/// not starve the other.
pub(super) const BATCH: usize = 64;

/// How many bytes of packets one pass takes from the core, or from the link, at most. On a
/// link with a large MTU, [`BATCH`] packets are 4 MiB, more than a core's cache holds; a
/// smaller batch reaches the link, and whoever takes it from there (on an in-memory wire, the
/// other stack in the same process), while its bytes are still in cache. A batch of 64
/// full-sized packets at MTU 1500 is under it.
pub(super) const BATCH_BYTES: usize = 256 * 1024;

/// How many passes one wake-up may make before the task yields to the other tasks: few, so
/// that the tasks that use what a pass moved (the application reading, the other end of an
/// in-memory wire) run while its bytes are still in cache.
const PASSES: usize = 2;

/// After a receive fails (and the link did not say it is gone), receiving pauses this long,
/// twice as long after each further failure in a row, up to [`RX_PAUSE_MAX`].
const RX_PAUSE_FIRST: Duration = Duration::from_millis(1);
const RX_PAUSE_MAX: Duration = Duration::from_secs(1);

/// This many failed receives in a row (about 7 s of pauses) and the device is taken for gone.
const RX_ERRORS_MAX: u32 = 16;

/// The driver task's state.
pub(super) struct Driver<L> {
    shared: Arc<Shared>,
    link: L,
    /// Packets from the link, on their way to the core.
    inbox: Inbox,
    /// Packets from the core, on their way to the link; those the link could not take yet
    /// stay here until it can.
    outbox: Outbox,
    /// The words of a packet's reason, for a capture (the buffer is reused).
    words: String,
    /// For a link without TSO: the length of its link header, in front of the IP header of
    /// each train of segments the driver cuts for it (software GSO, see
    /// [`Config::gso`](crate::host::Config::gso)).
    cuts: Option<usize>,
    /// The link reported it can no longer receive (e.g. the other end of the wire is gone):
    /// the stack goes on without it, so that timers still run and sockets still get answers
    /// (a connect times out rather than hangs).
    rx_closed: bool,
    /// Likewise for sending: what the core sends is dropped.
    tx_closed: bool,
    /// Receives that failed in a row.
    rx_errors: u32,
    /// After a failed receive: the end of the pause before the next try.
    rx_pause: Option<Pin<Box<Sleep>>>,
    /// Wakes the task at the core's next deadline.
    sleep: Pin<Box<Sleep>>,
    /// The core's deadline that last fired, until the core has run its timers (see
    /// [`Driver::deadline`]).
    fired: Option<Instant>,
    /// The task has ended, and said why.
    ended: bool,
}

impl<L: Device> Driver<L> {
    pub(super) fn new(shared: Arc<Shared>, link: L) -> Driver<L> {
        let cuts = (!link.offloads().tso).then(|| link.medium().header_len());
        Driver {
            shared,
            link,
            inbox: Inbox::default(),
            outbox: Outbox::default(),
            words: String::new(),
            cuts,
            rx_closed: false,
            tx_closed: false,
            rx_errors: 0,
            rx_pause: None,
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            fired: None,
            ended: false,
        }
    }

    /// Passes until nothing more happens, a bounded number per wake-up. `Ready(Ok)`: the last
    /// handle is gone and the core has finished its work; `Ready(Err)`: the stack cannot go on.
    fn run(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        *self
            .shared
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        for _ in 0..PASSES {
            #[cfg(test)]
            self.shared.passes.fetch_add(1, Ordering::Relaxed);
            self.shared.kicked.store(false, Ordering::Release);
            if self.pass(cx)? {
                continue;
            }
            if self.shared.kicked.load(Ordering::Acquire) {
                continue;
            }
            let closed = self.shared.closed.load(Ordering::Acquire);
            if closed && self.outbox.is_empty() && !self.shared.lock().is_busy() {
                debug!("driver: last handle dropped, the stack stops");
                return Poll::Ready(Ok(()));
            }
            return Poll::Pending;
        }
        // Let the other tasks on this thread have a turn, the way `yield_now` does: the
        // runtime wakes us again after it has run the tasks already waiting and polled its
        // I/O. A plain self-wake would do for spawned tasks, but the future a current-thread
        // runtime's `block_on` runs (`async fn main`'s body) is polled only when the run queue
        // is empty, or after 61 tasks: while packets kept coming, a reader there read once
        // per 4 MiB receive window (measured), when the sender had stopped for want of window.
        let _ = pin!(tokio::task::yield_now()).poll(cx);
        Poll::Pending
    }

    /// One pass: read from the link, then, under the core's lock, hand the packets up, take
    /// what the core sends and arm its timer; then write to the link. Returns whether anything
    /// happened.
    fn pass(&mut self, cx: &mut Context<'_>) -> Result<bool, Failure> {
        let received = self.receive(cx)?;
        let shared = self.shared.clone();
        let now = shared.now();
        let (taken, due) = {
            let mut host = shared.lock();
            self.inbox.deliver(now, &mut host);
            let taken = self.take(now, &mut host);
            (taken, self.deadline(cx, &host))
        };
        let sent = self.transmit(cx)?;
        Ok(received || taken || sent || due)
    }

    /// 1. Up: what the link has, a batch at a time, into the inbox (without the lock).
    ///
    /// At most [`BATCH_BYTES`] of them too: the core acknowledges a batch once it has taken it
    /// in, and a sender whose ACKs come sooner keeps fewer bytes in flight, and so fewer
    /// buffers, which stay in its caches. (64 super-packets would be 4 MiB.)
    fn receive(&mut self, cx: &mut Context<'_>) -> Result<bool, Failure> {
        let mut bytes = 0;
        for _ in 0..BATCH {
            if self.rx_closed || self.rx_paused(cx) || bytes >= BATCH_BYTES {
                break;
            }
            let (buf, tail) = self.inbox.next_buf();
            match self.link.poll_recv_parts(cx, buf, tail) {
                Poll::Ready(Ok((n, info))) => {
                    self.rx_errors = 0;
                    bytes += n + tail.len();
                    self.inbox.keep(n, info);
                }
                Poll::Ready(Err(err)) if is_gone(&err) => return Err(Failure::link_down(&err)),
                Poll::Ready(Err(err)) if is_fatal(&err) => {
                    warn!(%err, "link: cannot receive any more");
                    self.rx_closed = true;
                }
                // The loop goes round to the pause, which then wakes the task when it ends.
                Poll::Ready(Err(err)) => self.receive_failed(err)?,
                Poll::Pending => break,
            }
        }
        Ok(!self.inbox.is_empty())
    }

    /// A receive failed, but the link did not say it is gone: pause receiving, longer after
    /// each failure in a row. Failing at once again would spin; too many in a row and the
    /// device is taken for gone.
    fn receive_failed(&mut self, err: io::Error) -> Result<(), Failure> {
        self.rx_errors += 1;
        if self.rx_errors >= RX_ERRORS_MAX {
            let kind = err.kind();
            let why = format!(
                "{} receives in a row failed, the last with: {err}",
                self.rx_errors
            );
            return Err(Failure::link_down(&io::Error::new(kind, why)));
        }
        let pause = RX_PAUSE_FIRST
            .saturating_mul(1 << (self.rx_errors - 1).min(16))
            .min(RX_PAUSE_MAX);
        warn!(%err, ?pause, failures = self.rx_errors, "link: receive failed; trying again after a pause");
        self.rx_pause = Some(Box::pin(tokio::time::sleep(pause)));
        Ok(())
    }

    /// Whether receiving pauses after a failure; the pause's end then wakes the task.
    fn rx_paused(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(pause) = &mut self.rx_pause else {
            return false;
        };
        if pause.as_mut().poll(cx).is_pending() {
            return true;
        }
        self.rx_pause = None;
        false
    }

    /// 2. Out of the core: a batch of packets into the outbox (under the lock).
    ///
    /// Only once the link has taken the last batch: while it pushes back, the core is not
    /// asked, so it does not build packets that would only wait (and its timers wait too, see
    /// [`Driver::deadline`]).
    fn take(&mut self, now: Instant, host: &mut Host) -> bool {
        if !self.outbox.is_empty() {
            return false;
        }
        let parts = self.link.sends_parts();
        let (taken, dry) = self.outbox.fill(now, host, (BATCH, BATCH_BYTES), parts);
        if dry {
            // Nothing more to send: the core has run its timers at `now`.
            self.fired = None;
        }
        if self.tx_closed {
            self.outbox.clear();
        }
        taken > 0
    }

    /// 3. Down: the outbox, oldest first, as long as the link takes it (without the lock).
    ///
    /// What the link cannot take yet stays in the outbox for the next pass.
    fn transmit(&mut self, cx: &mut Context<'_>) -> Result<bool, Failure> {
        let mut progress = false;
        loop {
            if let Some(link_len) = self.cuts {
                if let Err(err) = self.outbox.cut_front(link_len) {
                    warn!(%err, "driver: a train of segments could not be cut: dropped");
                    self.outbox.pop();
                }
            }
            let Some(packet) = self.outbox.front() else {
                break;
            };
            if self.tx_closed {
                self.outbox.clear();
                return Ok(true);
            }
            let comment = word(&mut self.words, packet.why, self.link.records_comments());
            let len = packet.buf.len() + packet.tail.len();
            let sent = match packet.tail.is_empty() {
                true => self
                    .link
                    .poll_send_owned(cx, packet.buf, packet.info, comment),
                false => {
                    self.link
                        .poll_send_parts(cx, packet.buf, packet.tail, packet.info, comment)
                }
            };
            match sent {
                Poll::Ready(Err(err)) if is_gone(&err) => return Err(Failure::link_down(&err)),
                Poll::Ready(Err(err)) if is_fatal(&err) => {
                    warn!(%err, "link: cannot send any more; packets are dropped");
                    self.tx_closed = true;
                }
                Poll::Ready(Err(err)) => {
                    warn!(%err, len, "link: send failed, packet lost");
                }
                Poll::Ready(Ok(())) => {}
                Poll::Pending => break,
            }
            self.outbox.pop();
            progress = true;
        }
        Ok(progress)
    }

    /// 4. The core's next deadline (under the lock).
    ///
    /// Returns whether it is due: the next pass asks the core for packets, which runs its
    /// timers and moves the deadline on.
    ///
    /// A deadline that fired is not due again until the core has run its timers. If the link
    /// pushes back, the core is not asked for packets and its timers do not run: the deadline
    /// stays where it was, and firing it on every pass would only spin. The link's wake-up
    /// brings the pass that runs them.
    fn deadline(&mut self, cx: &mut Context<'_>, host: &Host) -> bool {
        let Some(at) = host.poll_at() else {
            return false;
        };
        if self.fired == Some(at) {
            return false;
        }
        let deadline = self.shared.to_tokio(at);
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.fired = Some(at);
        true
    }

    /// Ends the task: records why the stack stopped, if it did not stop because its handles
    /// were dropped.
    fn end(&mut self, failure: Option<Failure>) {
        self.ended = true;
        if let Some(failure) = failure {
            error!("driver: the stack stops: {}", failure.message);
            self.shared.fail(failure);
        }
    }
}

/// The words of a packet's reason, written into `words`, for a link that records them (a
/// capture); `None` for the others, which are spared the formatting.
fn word<'a>(words: &'a mut String, why: Option<&Reason>, records: bool) -> Option<&'a str> {
    let why = why.filter(|_| records)?;
    words.clear();
    let _ = write!(words, "{why}");
    Some(words.as_str())
}

// The link is only ever used through `&mut` (its methods take no `Pin`), and the timers are
// boxed, so nothing in the driver relies on staying at one address.
impl<L> Unpin for Driver<L> {}

impl<L: Device> Future for Driver<L> {
    type Output = ();

    /// Runs the passes, and turns a panic in them into the stack's failure: sockets then
    /// return an error instead of waiting for ever on a task that is gone.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let failure = match panic::catch_unwind(AssertUnwindSafe(|| this.run(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(()))) => None,
            Ok(Poll::Ready(Err(failure))) => Some(failure),
            Err(payload) => Some(Failure::panicked(payload.as_ref())),
        };
        this.end(failure);
        Poll::Ready(())
    }
}

impl<L> Drop for Driver<L> {
    /// A task dropped before it ended: its runtime shut down. The stack has stopped all the
    /// same, and a socket used from elsewhere says so rather than waiting.
    fn drop(&mut self) {
        if !self.ended {
            debug!("driver: dropped by its runtime, the stack stops");
            self.shared.fail(Failure {
                kind: io::ErrorKind::Other,
                message: "the stack's driver task was dropped: its tokio runtime shut down".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::Config;

    /// A link with a 64 KiB packet always waiting; it counts the packets taken.
    struct Flood {
        taken: usize,
    }

    impl Device for Flood {
        fn mtu(&self) -> usize {
            65535
        }

        fn poll_recv(&mut self, _cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            self.taken += 1;
            Poll::Ready(Ok(buf.len().min(65535)))
        }

        fn poll_send(
            &mut self,
            _cx: &mut Context<'_>,
            _packet: &[u8],
            _comment: Option<&str>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_pass_receives_at_most_its_byte_budget() {
        let config = Config::new("10.0.0.2/24".parse().unwrap());
        let shared = Arc::new(Shared::new(Host::new(config)));
        let mut driver = Driver::new(shared, Flood { taken: 0 });
        let mut cx = Context::from_waker(Waker::noop());
        assert!(driver.receive(&mut cx).unwrap());
        assert_eq!(
            driver.link.taken,
            BATCH_BYTES / 65535 + 1,
            "64 KiB packets: the budget ends the batch long before {BATCH} of them"
        );
    }
}
