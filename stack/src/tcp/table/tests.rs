//! The table's slots and deadlines, with a stand-in for a connection whose deadline a test
//! sets.

use std::time::Duration;

use super::*;

/// A connection reduced to its next deadline.
struct Timer(Option<Instant>);

impl Timed for Timer {
    fn poll_at(&self) -> Option<Instant> {
        self.0
    }
}

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

#[test]
fn freed_slots_are_used_again_with_a_new_generation() {
    let mut table = ConnTable::default();
    let (a, gen_a) = table.insert(Timer(None));
    let (b, _) = table.insert(Timer(None));
    assert_ne!(a, b);
    assert!(table.take(a).is_some());
    assert!(table.take(a).is_none(), "taken once");
    let (c, gen_c) = table.insert(Timer(None));
    assert_eq!(c, a, "the freed slot first");
    assert!(gen_c > gen_a, "old handles miss the new connection");
    assert_eq!(table.iter().count(), 2);
    table.take(b);
    table.take(c);
    assert!(table.is_empty());
}

#[test]
fn the_earliest_deadline_is_the_heaps_top_and_fires_once() {
    let mut table = ConnTable::default();
    let (a, _) = table.insert(Timer(Some(at(300))));
    let (b, _) = table.insert(Timer(Some(at(100))));
    let (_c, _) = table.insert(Timer(None));
    assert_eq!(table.poll_at(), Some(at(100)), "asked before a refresh too");
    table.refresh();
    assert_eq!(table.poll_at(), Some(at(100)));
    assert_eq!(table.due(at(99)), Vec::<usize>::new());
    assert_eq!(table.due(at(100)), vec![b]);
    assert_eq!(
        table.due(at(100)),
        Vec::<usize>::new(),
        "popped: not due twice"
    );
    assert_eq!(table.poll_at(), Some(at(300)));
    assert_eq!(table.due(at(1000)), vec![a]);
    assert_eq!(table.poll_at(), None);
}

#[test]
fn a_moved_deadline_leaves_a_stale_entry_that_never_fires() {
    let mut table = ConnTable::default();
    let (a, _) = table.insert(Timer(Some(at(100))));
    table.refresh();
    // The retransmission timer restarted: later now.
    if let Some(timer) = table.get_mut(a) {
        timer.0 = Some(at(500));
    }
    assert_eq!(
        table.poll_at(),
        Some(at(100)),
        "early at worst, before the refresh"
    );
    table.refresh();
    assert_eq!(table.poll_at(), Some(at(500)), "the stale top is dropped");
    assert_eq!(table.due(at(200)), Vec::<usize>::new());
    // Earlier now: seen before the refresh, through the touched list.
    if let Some(timer) = table.get_mut(a) {
        timer.0 = Some(at(50));
    }
    assert_eq!(table.poll_at(), Some(at(50)));
    assert_eq!(table.due(at(60)), vec![a]);
}

#[test]
fn a_removed_connection_and_its_slots_next_tenant_are_not_confused() {
    let mut table = ConnTable::default();
    let (a, _) = table.insert(Timer(Some(at(100))));
    table.refresh();
    table.take(a);
    let (b, _) = table.insert(Timer(Some(at(900))));
    assert_eq!(b, a);
    assert_eq!(
        table.due(at(100)),
        Vec::<usize>::new(),
        "the old entry is stale"
    );
    assert_eq!(table.due(at(900)), vec![b]);
}

#[test]
fn stale_entries_do_not_pile_up() {
    let mut table = ConnTable::default();
    let (a, _) = table.insert(Timer(Some(at(1))));
    let (b, _) = table.insert(Timer(Some(at(1_000_000))));
    for ms in 2..10_000 {
        // b's deadline moves later each time (an ACK restarting its timer), a's stays first.
        if let Some(timer) = table.get_mut(b) {
            timer.0 = Some(at(1_000_000 + ms));
        }
        table.refresh();
    }
    assert!(
        table.deadlines.len() <= 2 * 2 + 64,
        "{}",
        table.deadlines.len()
    );
    assert_eq!(table.due(at(1)), vec![a]);
}
