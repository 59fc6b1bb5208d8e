//! Our echo requests waiting for their replies: what `ping` keeps, the same for ICMP and ICMPv6
//! (their echo messages differ only in type numbers and checksum).

use std::collections::HashMap;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::time::Instant;

/// An echo request we sent and are waiting on.
#[derive(Debug)]
struct PendingEcho {
    sent_at: Instant,
    rtt: Option<Duration>,
    waker: Option<Waker>,
}

/// Echo requests in flight, by sequence number.
#[derive(Debug, Default)]
pub(crate) struct EchoWaits {
    pending: HashMap<u16, PendingEcho>,
}

impl EchoWaits {
    /// Request `seq_no` went out at `now`.
    pub(crate) fn sent(&mut self, seq_no: u16, now: Instant) {
        let pending = PendingEcho {
            sent_at: now,
            rtt: None,
            waker: None,
        };
        self.pending.insert(seq_no, pending);
    }

    /// The reply to `seq_no` came at `now`: records the round-trip time (the first reply's,
    /// if it came twice) and wakes whoever waits. `None` when it matches no request of ours.
    pub(crate) fn replied(&mut self, seq_no: u16, now: Instant) -> Option<Duration> {
        let pending = self.pending.get_mut(&seq_no)?;
        if pending.rtt.is_none() {
            pending.rtt = Some(now - pending.sent_at);
            if let Some(waker) = pending.waker.take() {
                waker.wake();
            }
        }
        pending.rtt
    }

    /// The round-trip time of request `seq_no` once its reply is in.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, seq_no: u16) -> Poll<Duration> {
        match self.pending.get_mut(&seq_no) {
            Some(PendingEcho { rtt: Some(rtt), .. }) => {
                let rtt = *rtt;
                self.pending.remove(&seq_no);
                Poll::Ready(rtt)
            }
            Some(pending) => {
                pending.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            // Forgotten (e.g. a timed-out wait was dropped): nothing will come.
            None => Poll::Pending,
        }
    }

    /// Wakes every task waiting for a reply, e.g. to find that the stack has stopped.
    pub(crate) fn wake_all(&mut self) {
        for pending in self.pending.values_mut() {
            if let Some(waker) = pending.waker.take() {
                waker.wake();
            }
        }
    }

    /// Stops waiting for the reply to `seq_no` (the caller gave up).
    pub(crate) fn forget(&mut self, seq_no: u16) {
        self.pending.remove(&seq_no);
    }
}
