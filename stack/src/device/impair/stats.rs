//! What an [`Impair`](super::Impair) did, counted per direction.
//!
//! The counters live behind an `Arc`, so that a [`StatsHandle`] can read them after the wrapper
//! has been handed to a [`Stack`](crate::Stack) (a demo prints them when it stops).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One direction's counters.
///
/// Every packet offered is, in the end, passed or dropped; a duplicate adds one more to pass or
/// drop. Once nothing is held inside the wrapper:
/// `packets + duplicated == passed + dropped_loss + dropped_script + dropped_queue`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Packets offered to this direction (sent by the stack, or received from the link).
    pub packets: u64,
    /// Packets that came out the other side (to the link, or up to the stack), copies included.
    pub passed: u64,
    /// Packets dropped at random (`loss`).
    pub dropped_loss: u64,
    /// Packets dropped by a scripted rule.
    pub dropped_script: u64,
    /// Packets dropped because the bottleneck's queue was full (tail drop).
    pub dropped_queue: u64,
    /// Packets that were sent twice.
    pub duplicated: u64,
    /// Packets held back so that later ones overtook them.
    pub reordered: u64,
    /// Packets with one bit flipped.
    pub corrupted: u64,
    /// Packets that left later than they came: by the bottleneck, the delay or the jitter.
    pub delayed: u64,
}

impl DirectionStats {
    /// Every packet dropped, for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_script + self.dropped_queue
    }
}

/// Both directions' counters, as [`Impair::stats`](super::Impair::stats) returns them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImpairStats {
    /// What the wrapped stack sent.
    pub outbound: DirectionStats,
    /// What the wrapped stack received.
    pub inbound: DirectionStats,
}

impl fmt::Display for ImpairStats {
    /// A table, one row per direction.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<9} {:>8} {:>8} {:>6} {:>7} {:>6} {:>6} {:>7} {:>7} {:>8}",
            "impair",
            "packets",
            "passed",
            "lost",
            "script",
            "queue",
            "dup",
            "reorder",
            "corrupt",
            "delayed"
        )?;
        for (name, s) in [("outbound", self.outbound), ("inbound", self.inbound)] {
            writeln!(
                f,
                "{:<9} {:>8} {:>8} {:>6} {:>7} {:>6} {:>6} {:>7} {:>7} {:>8}",
                name,
                s.packets,
                s.passed,
                s.dropped_loss,
                s.dropped_script,
                s.dropped_queue,
                s.duplicated,
                s.reordered,
                s.corrupted,
                s.delayed
            )?;
        }
        Ok(())
    }
}

/// One counter of [`DirectionStats`], as an index into [`Counters`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Counter {
    Packets,
    Passed,
    DroppedLoss,
    DroppedScript,
    DroppedQueue,
    Duplicated,
    Reordered,
    Corrupted,
    Delayed,
}

/// One direction's counters, shared with [`StatsHandle`]s. Relaxed atomics: each counter is
/// exact, and a snapshot taken while packets move may be a packet behind in some of them.
#[derive(Debug, Default)]
pub(super) struct Counters([AtomicU64; 9]);

impl Counters {
    pub(super) fn add(&self, counter: Counter) {
        self.0[counter as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> DirectionStats {
        let get = |counter: Counter| self.0[counter as usize].load(Ordering::Relaxed);
        DirectionStats {
            packets: get(Counter::Packets),
            passed: get(Counter::Passed),
            dropped_loss: get(Counter::DroppedLoss),
            dropped_script: get(Counter::DroppedScript),
            dropped_queue: get(Counter::DroppedQueue),
            duplicated: get(Counter::Duplicated),
            reordered: get(Counter::Reordered),
            corrupted: get(Counter::Corrupted),
            delayed: get(Counter::Delayed),
        }
    }
}

/// A handle that reads an [`Impair`](super::Impair)'s counters from anywhere, for as long as it
/// lives; made by [`Impair::stats_handle`](super::Impair::stats_handle).
#[derive(Debug, Clone)]
pub struct StatsHandle {
    pub(super) outbound: Arc<Counters>,
    pub(super) inbound: Arc<Counters>,
}

impl StatsHandle {
    /// A snapshot of both directions' counters.
    pub fn get(&self) -> ImpairStats {
        ImpairStats {
            outbound: self.outbound.snapshot(),
            inbound: self.inbound.snapshot(),
        }
    }
}
