//! A listening socket: its handshakes under way, and the connections waiting for `accept`.
//!
//! As the course puts it, the listening socket and the connected sockets are different objects.
//! A SYN to the listener's port starts a handshake in the listener's SYN queue
//! (`syn_queue.rs`): a small record, no connection yet. When the client's ACK completes it,
//! the connection is made and waits in the accept queue until the application takes it. The
//! two queues have their own bounds (Linux's `tcp_max_syn_backlog` and the `listen` backlog):
//! a flood of SYNs fills the first, then meets SYN cookies, and never touches the second.

use std::collections::VecDeque;
use std::task::{Context, Waker};
use std::time::Duration;

use super::syn_queue::SynQueue;
use crate::time::Instant;

/// How long after the last cookie we sent an ACK may still bring one back (cookies are
/// checked only then, so that a blind ACK has no cookie to guess at other times).
const COOKIES_ACCEPTED_FOR: Duration = Duration::from_secs(3 * 64);

/// One listening port.
#[derive(Debug)]
pub(crate) struct Listener {
    /// The address it listens on: which destinations it takes, and how it shows addresses.
    pub(crate) binding: crate::ports::Binding,
    /// The accept queue's bound (the `listen` backlog).
    backlog: usize,
    /// Handshakes under way.
    pub(crate) syn_queue: SynQueue,
    /// Established connections not yet accepted, oldest first, by table slot.
    accept_queue: VecDeque<usize>,
    /// When we last answered a SYN with a cookie.
    cookies_sent_at: Option<Instant>,
    wakers: Vec<Waker>,
}

impl Listener {
    /// A listener on `binding` whose accept queue holds `backlog` connections and SYN queue
    /// `syn_queue` handshakes.
    pub(crate) fn new(
        binding: crate::ports::Binding,
        backlog: usize,
        syn_queue: usize,
    ) -> Listener {
        Listener {
            binding,
            backlog: backlog.max(1),
            syn_queue: SynQueue::new(syn_queue),
            accept_queue: VecDeque::new(),
            cookies_sent_at: None,
            wakers: Vec::new(),
        }
    }

    /// Whether another completed handshake would exceed the backlog.
    pub(crate) fn accept_queue_is_full(&self) -> bool {
        self.accept_queue.len() >= self.backlog
    }

    /// A cookie went out at `now`.
    pub(crate) fn sent_cookie(&mut self, now: Instant) {
        self.cookies_sent_at = Some(now);
    }

    /// Whether an ACK at `now` may carry one of our cookies.
    pub(crate) fn expects_cookies(&self, now: Instant) -> bool {
        self.cookies_sent_at
            .is_some_and(|at| now - at <= COOKIES_ACCEPTED_FOR)
    }

    /// The handshake of connection `index` completed: it joins the accept queue.
    pub(crate) fn established(&mut self, index: usize) {
        self.accept_queue.push_back(index);
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
    }

    /// Connection `index` is gone (reset, or forgotten).
    pub(crate) fn forget(&mut self, index: usize) {
        self.accept_queue.retain(|i| *i != index);
    }

    /// The oldest connection waiting for `accept`, if any; else remembers `cx` to wake.
    pub(crate) fn poll_accept(&mut self, cx: &mut Context<'_>) -> Option<usize> {
        let next = self.accept_queue.pop_front();
        if next.is_none() && !self.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            self.wakers.push(cx.waker().clone());
        }
        next
    }

    /// The connections waiting for `accept` (when the listener closes).
    pub(crate) fn into_connections(self) -> Vec<usize> {
        self.accept_queue.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn the_backlog_bounds_the_accept_queue_which_is_fifo() {
        let mut l = Listener::new(
            crate::ports::Binding::new([0, 0, 0, 0].into(), false),
            2,
            16,
        );
        l.established(2);
        l.established(1);
        assert!(l.accept_queue_is_full());
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(l.poll_accept(&mut cx), Some(2));
        assert!(!l.accept_queue_is_full());
        l.forget(1);
        assert_eq!(l.poll_accept(&mut cx), None);
        assert!(l.into_connections().is_empty());
    }

    #[test]
    fn cookies_are_expected_only_for_a_while_after_one_was_sent() {
        let mut l = Listener::new(
            crate::ports::Binding::new([0, 0, 0, 0].into(), false),
            2,
            16,
        );
        let t0 = Instant::from_secs(100);
        assert!(!l.expects_cookies(t0));
        l.sent_cookie(t0);
        assert!(l.expects_cookies(t0 + COOKIES_ACCEPTED_FOR));
        assert!(!l.expects_cookies(t0 + COOKIES_ACCEPTED_FOR + Duration::from_secs(1)));
    }
}
