//! A listening socket: the connections its handshakes have started, and those waiting for
//! `accept`.
//!
//! As the course puts it, the listening socket and the connected sockets are different objects:
//! a SYN to the listener's port creates a new connection (in SYN-RECEIVED); when the handshake
//! completes, the connection waits in the accept queue until the application takes it. The
//! backlog bounds both together; SYNs beyond it are dropped, and the client sends them again.

use std::collections::VecDeque;
use std::task::{Context, Waker};

/// One listening port.
#[derive(Debug)]
pub(crate) struct Listener {
    backlog: usize,
    /// Connections in SYN-RECEIVED, by table slot.
    half_open: Vec<usize>,
    /// Established connections not yet accepted, oldest first.
    accept_queue: VecDeque<usize>,
    wakers: Vec<Waker>,
}

impl Listener {
    pub(crate) fn new(backlog: usize) -> Listener {
        Listener {
            backlog: backlog.max(1),
            half_open: Vec::new(),
            accept_queue: VecDeque::new(),
            wakers: Vec::new(),
        }
    }

    /// Whether another SYN would exceed the backlog.
    pub(crate) fn is_full(&self) -> bool {
        self.half_open.len() + self.accept_queue.len() >= self.backlog
    }

    /// A SYN has started a handshake on connection `index`.
    pub(crate) fn add_half_open(&mut self, index: usize) {
        self.half_open.push(index);
    }

    /// Whether connection `index` is still in its handshake.
    pub(crate) fn is_half_open(&self, index: usize) -> bool {
        self.half_open.contains(&index)
    }

    /// The handshake of `index` completed: it joins the accept queue.
    pub(crate) fn established(&mut self, index: usize) {
        self.half_open.retain(|i| *i != index);
        self.accept_queue.push_back(index);
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
    }

    /// Connection `index` is gone (reset, or forgotten).
    pub(crate) fn forget(&mut self, index: usize) {
        self.half_open.retain(|i| *i != index);
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

    /// Every connection the listener still holds (when it closes).
    pub(crate) fn into_connections(self) -> Vec<usize> {
        self.half_open
            .into_iter()
            .chain(self.accept_queue)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn backlog_counts_both_queues_and_accept_is_fifo() {
        let mut l = Listener::new(3);
        l.add_half_open(1);
        l.add_half_open(2);
        l.add_half_open(3);
        assert!(l.is_full());
        l.established(2);
        l.established(1);
        assert!(l.is_full(), "accepted-but-not-taken still counts");
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(l.poll_accept(&mut cx), Some(2));
        assert!(!l.is_full());
        l.forget(3);
        assert_eq!(l.poll_accept(&mut cx), Some(1));
        assert_eq!(l.poll_accept(&mut cx), None);
        assert!(l.into_connections().is_empty());
    }
}
