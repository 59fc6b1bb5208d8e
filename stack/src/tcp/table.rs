//! The connection table: every connection in a numbered slot, and when each one's next timer
//! is due, kept so that a host with 100,000 connections does no work per connection on each
//! pass.
//!
//! Three things would otherwise cost a scan of every connection:
//!
//! - finding a free slot for a new connection: freed slots are kept on a list (`free`);
//! - asking "when is the next timer due?" ([`ConnTable::poll_at`]), which the driver asks after
//!   every pass: the deadlines are kept in a min-heap, so the answer is its top;
//! - finding the connections whose timers are due ([`ConnTable::due`]): they are popped off
//!   the heap's top, and the others are not looked at.
//!
//! A connection's deadline changes all the time (every ACK restarts the retransmission timer),
//! and a heap cannot move an entry. So a change pushes a new entry and leaves the old one
//! where it is, stale: an entry counts only if it still matches its slot's deadline and
//! generation, and stale entries are dropped as they come to the top. Every change goes
//! through [`ConnTable::get_mut`], which marks the slot "touched"; [`ConnTable::refresh`] then
//! pushes the touched slots' new deadlines. This is the lazy-deletion heap of many timer
//! implementations; a timer wheel (Linux's, Varghese and Lauck 1987) does the same in O(1)
//! per change, at the price of a fixed resolution.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::connection::Connection;
use crate::time::Instant;

/// What the table needs of what it holds: when its next timer is due.
pub(crate) trait Timed {
    /// The next deadline, if any timer runs.
    fn poll_at(&self) -> Option<Instant>;
}

impl Timed for Connection {
    fn poll_at(&self) -> Option<Instant> {
        Connection::poll_at(self)
    }
}

/// One heap entry: when, which slot, and the slot's generation then.
type Deadline = Reverse<(Instant, usize, u64)>;

/// One place in the table.
#[derive(Debug)]
struct Slot<C> {
    /// Bumped each time the slot takes a new connection, so old handles and old heap entries
    /// never reach the next one.
    generation: u64,
    conn: Option<C>,
    /// Whether the slot is in the layer's queue of connections to ask for output.
    queued: bool,
    /// The deadline the heap holds for it (the connection's `poll_at` when last refreshed).
    deadline: Option<Instant>,
    /// Whether it changed since the last refresh.
    touched: bool,
}

impl<C> Default for Slot<C> {
    fn default() -> Self {
        Slot {
            generation: 0,
            conn: None,
            queued: false,
            deadline: None,
            touched: false,
        }
    }
}

/// Every connection of the layer, by slot index.
#[derive(Debug)]
pub(crate) struct ConnTable<C = Connection> {
    slots: Vec<Slot<C>>,
    /// Slots without a connection, to fill first.
    free: Vec<usize>,
    /// How many slots hold a connection.
    live: usize,
    /// Each connection's next deadline, earliest on top, with stale entries among them.
    deadlines: BinaryHeap<Deadline>,
    /// Slots changed since the last refresh.
    touched: Vec<usize>,
}

impl<C> Default for ConnTable<C> {
    fn default() -> Self {
        ConnTable {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            deadlines: BinaryHeap::new(),
            touched: Vec::new(),
        }
    }
}

impl<C: Timed> ConnTable<C> {
    /// Puts `conn` in a free slot; returns the slot and its generation.
    pub(crate) fn insert(&mut self, conn: C) -> (usize, u64) {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.generation += 1;
        slot.conn = Some(conn);
        slot.deadline = None;
        self.live += 1;
        self.touch(index);
        (index, self.slots[index].generation)
    }

    /// Takes the connection out of slot `index`, which becomes free.
    pub(crate) fn take(&mut self, index: usize) -> Option<C> {
        let slot = self.slots.get_mut(index)?;
        let conn = slot.conn.take()?;
        slot.deadline = None;
        self.live -= 1;
        self.free.push(index);
        Some(conn)
    }

    /// The connection in slot `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&C> {
        self.slots.get(index)?.conn.as_ref()
    }

    /// The connection in slot `index`, to change: its deadline is looked at again at the next
    /// refresh.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut C> {
        self.slots.get(index)?.conn.as_ref()?;
        self.touch(index);
        self.slots[index].conn.as_mut()
    }

    /// The generation of slot `index` (0 for a slot that never existed).
    pub(crate) fn generation(&self, index: usize) -> u64 {
        self.slots.get(index).map_or(0, |slot| slot.generation)
    }

    /// Sets whether slot `index` is queued for output; returns what it was.
    pub(crate) fn set_queued(&mut self, index: usize, queued: bool) -> bool {
        match self.slots.get_mut(index) {
            Some(slot) => std::mem::replace(&mut slot.queued, queued),
            None => queued,
        }
    }

    /// Every connection, by slot.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &C)> {
        let slots = self.slots.iter().enumerate();
        slots.filter_map(|(index, slot)| Some((index, slot.conn.as_ref()?)))
    }

    /// The indices of the slots that hold a connection (a scan: for rare events only).
    pub(crate) fn indices(&self) -> Vec<usize> {
        self.iter().map(|(index, _)| index).collect()
    }

    /// Whether no slot holds a connection.
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn touch(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if !slot.touched {
            slot.touched = true;
            self.touched.push(index);
        }
    }

    /// Pushes the deadlines of the connections changed since the last refresh, and drops
    /// stale entries from the heap's top (and rebuilds it when stale ones are most of it).
    pub(crate) fn refresh(&mut self) {
        // The list is taken out and put back emptied, so that its allocation is kept: a
        // refresh runs for every packet, and a fresh list would allocate on the next touch.
        let mut touched = std::mem::take(&mut self.touched);
        for &index in &touched {
            let slot = &mut self.slots[index];
            slot.touched = false;
            let deadline = slot.conn.as_ref().and_then(C::poll_at);
            if deadline != slot.deadline {
                slot.deadline = deadline;
                if let Some(at) = deadline {
                    self.deadlines.push(Reverse((at, index, slot.generation)));
                }
            }
        }
        touched.clear();
        self.touched = touched;
        while let Some(&top) = self.deadlines.peek() {
            if self.is_current(top) {
                break;
            }
            self.deadlines.pop();
        }
        if self.deadlines.len() > 2 * self.live + 64 {
            self.rebuild();
        }
    }

    /// Whether a heap entry still stands for its slot's deadline.
    fn is_current(&self, Reverse((at, index, generation)): Deadline) -> bool {
        self.slots.get(index).is_some_and(|slot| {
            slot.generation == generation && slot.conn.is_some() && slot.deadline == Some(at)
        })
    }

    /// The heap again from the slots' deadlines alone.
    fn rebuild(&mut self) {
        let current = self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let at = slot.deadline?;
            slot.conn.as_ref()?;
            Some(Reverse((at, index, slot.generation)))
        });
        self.deadlines = current.collect();
    }

    /// The earliest deadline of any connection. Exact after a refresh; for connections
    /// changed since, their own deadlines are asked for too (a stale, earlier heap top can
    /// only wake the driver early, never late).
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        let heap = self.deadlines.peek().map(|Reverse((at, _, _))| *at);
        let changed = self
            .touched
            .iter()
            .filter_map(|&index| self.get(index)?.poll_at());
        heap.into_iter().chain(changed).min()
    }

    /// The slots whose deadline has come by `now`, each once, taken off the heap.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<usize> {
        self.refresh();
        let mut due = Vec::new();
        while let Some(&Reverse((at, index, generation))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if self.is_current(Reverse((at, index, generation))) {
                self.slots[index].deadline = None;
                due.push(index);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests;
