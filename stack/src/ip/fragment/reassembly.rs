//! Reassembly: fragments in, whole datagrams out ([RFC 791 section 3.2], [RFC 815]).
//!
//! A [`Reassembler`] keeps the datagrams whose fragments are arriving, each under a key that
//! names it (for IPv4: source, destination, protocol, identification). A datagram's fragments
//! are a sorted list of byte ranges that never overlap; the holes are what lies between them
//! (RFC 815's hole descriptors, read from the list instead of stored). When the last fragment
//! has arrived and no hole is left, the datagram is joined and handed back.
//!
//! ```text
//!   offset 0          1480         2960        4008 (end, known from the fragment without MF)
//!   [ fragment 1 ]    [   hole   ] [ fragment 3 ]
//! ```
//!
//! Nothing here knows IPv4: the key is generic, the first fragment's header is kept as bytes,
//! and the limits come in a [`ReassemblyConfig`], so that IPv6 ([RFC 8200 section 4.5]) can use
//! the same type with its own key.
//!
//! ## Policies (Linux's, `net/ipv4/inet_fragment.c` and `ip_fragment.c`)
//!
//! - **Overlap**: a fragment that overlaps bytes we hold, without lying wholly inside a run of
//!   them, drops the whole datagram ([RFC 5722 section 4] with erratum 3089 for IPv6; Linux
//!   applies it to IPv4 too since 4.19, `inet_frag_queue_insert` returning `IPFRAG_OVERLAP`).
//! - **Duplicates**: a fragment that lies wholly inside bytes we already hold is dropped, and
//!   the datagram kept (Linux's `IPFRAG_DUP`, drop reason `SKB_DROP_REASON_DUP_FRAG`; commit
//!   ade446403bfb, "do not handle duplicate fragments as overlapping").
//! - **Inconsistent ends**: a second last fragment with another end, or data beyond the end a
//!   last fragment gave, drops the datagram (Linux's `ip_frag_queue`, "the segment is
//!   corrupted"), counted as an overlap as Linux counts it (`ReasmOverlaps`).
//! - **Timeout**: 30 s from the first fragment ([RFC 791] suggests 15 s; Linux's `ipfrag_time`
//!   is 30 s and does not restart on later fragments).
//! - **Memory**: all datagrams in reassembly together may hold [`ReassemblyConfig::memory_limit`]
//!   bytes (4 MiB, Linux's `ipfrag_high_thresh`). A fragment that would go over is dropped; no
//!   datagram is evicted (Linux has not evicted since 4.17: `ipfrag_low_thresh` is obsolete, and
//!   `inet_frag_find` refuses new fragments over the high threshold). Accounting is exact and
//!   checked before the fragment is stored, so the bound is never exceeded, not even briefly.
//! - **Fragments per datagram**: at most [`ReassemblyConfig::max_fragments`] (64; a 64 KiB
//!   datagram at MTU 1500 takes 45; FreeBSD's `maxfragsperpacket` is 16). One more drops the
//!   datagram, which could otherwise pin memory with tiny fragments until its timeout.
//! - **Too big**: data beyond [`ReassemblyConfig::max_payload`] drops the datagram.
//!
//! [RFC 791 section 3.2]: https://www.rfc-editor.org/rfc/rfc791#section-3.2
//! [RFC 791]: https://www.rfc-editor.org/rfc/rfc791
//! [RFC 815]: https://www.rfc-editor.org/rfc/rfc815
//! [RFC 5722 section 4]: https://www.rfc-editor.org/rfc/rfc5722#section-4
//! [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5

use std::collections::BTreeMap;
use std::time::Duration;

use crate::stats::DropReason;
use crate::time::Instant;

/// What each stored fragment costs in the memory account besides its data: its place in the
/// list. Counting it keeps a flood of one-byte fragments from being nearly free.
pub const FRAGMENT_OVERHEAD: usize = 64;
/// What each datagram in reassembly costs besides its fragments and the first header: its key,
/// timer and bookkeeping.
pub const DATAGRAM_OVERHEAD: usize = 128;

/// The limits of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// How long a datagram may take to arrive whole, from its first fragment (30 s).
    pub timeout: Duration,
    /// The bytes all datagrams in reassembly may hold together (4 MiB).
    pub memory_limit: usize,
    /// The fragments one datagram may have (64).
    pub max_fragments: usize,
    /// The largest reassembled payload (65,515 for IPv4: 65,535 less a 20-byte header).
    pub max_payload: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            timeout: Duration::from_secs(30),
            memory_limit: 4 << 20,
            max_fragments: 64,
            max_payload: 65_535 - 20,
        }
    }
}

/// One fragment as the reassembler sees it: where its data goes, and whether more follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// The data's offset in the datagram, in bytes.
    pub offset: usize,
    /// More Fragments: this is not the last one.
    pub more: bool,
    /// The data.
    pub data: &'a [u8],
}

/// A datagram joined from its fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    /// The header of the fragment at offset 0, as it came.
    pub header: Vec<u8>,
    /// The whole payload.
    pub payload: Vec<u8>,
    /// How many fragments it was made of.
    pub fragments: usize,
}

/// What became of a fragment given to [`Reassembler::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored; the datagram still has holes.
    Held,
    /// It completed its datagram.
    Complete(Reassembled),
    /// Dropped for `reason`, with `fragments` packets in all (this one and, when the reason
    /// drops the whole datagram, the ones held for it).
    Dropped {
        /// Why.
        reason: DropReason,
        /// How many packets went.
        fragments: usize,
    },
}

/// A datagram whose time ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired<K> {
    /// Its key.
    pub key: K,
    /// How many fragments it had.
    pub fragments: usize,
    /// The first fragment (offset 0), header and data, if it had arrived: an ICMP time
    /// exceeded quotes it ([RFC 1122 3.3.2]: sent only then).
    ///
    /// [RFC 1122 3.3.2]: https://www.rfc-editor.org/rfc/rfc1122#section-3.3.2
    pub first: Option<(Vec<u8>, Vec<u8>)>,
}

/// A datagram in reassembly.
#[derive(Debug)]
struct Datagram {
    /// Fragments by offset, never overlapping.
    fragments: BTreeMap<usize, Vec<u8>>,
    /// The end of the datagram, once the last fragment (MF clear) has come.
    end: Option<usize>,
    /// The first fragment's header, once it has come.
    header: Option<Vec<u8>>,
    /// When it times out, and a sequence number making the timer key unique.
    deadline: (Instant, u64),
    /// Bytes charged to the memory account.
    charge: usize,
}

impl Datagram {
    /// Whether no hole is left.
    fn is_complete(&self) -> bool {
        let Some(end) = self.end else {
            return false;
        };
        let mut next = 0;
        for (&offset, data) in &self.fragments {
            if offset != next {
                return false;
            }
            next = offset + data.len();
        }
        next == end
    }

    /// Whether `[start, end)` lies wholly inside bytes we hold: a duplicate.
    fn covers(&self, start: usize, end: usize) -> bool {
        let mut next = start;
        for (&offset, data) in self.fragments.range(..end) {
            let frag_end = offset + data.len();
            if frag_end <= next {
                continue;
            }
            if offset > next {
                return false;
            }
            next = frag_end;
            if next >= end {
                return true;
            }
        }
        false
    }

    /// Whether `[start, end)` shares a byte with a fragment we hold.
    fn overlaps(&self, start: usize, end: usize) -> bool {
        // Fragments never overlap one another, so only the last one starting before `end`
        // can reach past `start`.
        self.fragments
            .range(..end)
            .next_back()
            .is_some_and(|(&offset, data)| offset + data.len() > start)
    }
}

/// Datagrams in reassembly, keyed by `K`.
#[derive(Debug)]
pub struct Reassembler<K> {
    config: ReassemblyConfig,
    datagrams: BTreeMap<K, Datagram>,
    /// Deadlines, earliest first, for [`Reassembler::poll_at`] and expiry.
    timers: BTreeMap<(Instant, u64), K>,
    next_timer: u64,
    memory: usize,
}

impl<K: Ord + Clone> Reassembler<K> {
    /// An empty reassembler with these limits.
    pub fn new(config: ReassemblyConfig) -> Reassembler<K> {
        Reassembler {
            config,
            datagrams: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_timer: 0,
            memory: 0,
        }
    }

    /// Its limits.
    pub fn config(&self) -> &ReassemblyConfig {
        &self.config
    }

    /// The bytes held now, by the same account as the limit.
    pub fn memory(&self) -> usize {
        self.memory
    }

    /// How many datagrams are in reassembly.
    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    /// Whether no datagram is in reassembly.
    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    /// When the earliest datagram times out.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }

    /// Takes one fragment of datagram `key` at `now`. `header` is its header, kept when the
    /// fragment is the first (offset 0). Expired datagrams are not looked at here: call
    /// [`Reassembler::expire`] first.
    pub fn insert(&mut self, now: Instant, key: K, header: &[u8], fragment: Fragment) -> Outcome {
        let start = fragment.offset;
        let end = start + fragment.data.len();
        let dropped = |reason| Outcome::Dropped {
            reason,
            fragments: 1,
        };
        // A fragment with no data, or (MF set) whose length is not a multiple of 8, can be no
        // part of a datagram RFC 791 describes.
        if fragment.data.is_empty() || fragment.more && !fragment.data.len().is_multiple_of(8) {
            return dropped(DropReason::Fragment);
        }
        if end > self.config.max_payload {
            return self.drop_datagram(&key, DropReason::ReassemblyTooBig);
        }

        let Some(datagram) = self.datagrams.get(&key) else {
            return self.start(now, key, header, fragment);
        };
        // The end: set once by the last fragment, and never passed.
        let known_end = datagram.end;
        let held_end = datagram
            .fragments
            .last_key_value()
            .map_or(0, |(offset, data)| offset + data.len());
        let end_conflict = match known_end {
            Some(known) => end > known || !fragment.more && end != known,
            None => !fragment.more && end < held_end,
        };
        if datagram.covers(start, end) && !end_conflict {
            return dropped(DropReason::ReassemblyDuplicate);
        }
        if end_conflict || datagram.overlaps(start, end) {
            return self.drop_datagram(&key, DropReason::ReassemblyOverlap);
        }
        if datagram.fragments.len() >= self.config.max_fragments {
            return self.drop_datagram(&key, DropReason::ReassemblyTooManyFragments);
        }
        let charge = self.charge(start, header, fragment.data);
        if self.memory + charge > self.config.memory_limit {
            return dropped(DropReason::ReassemblyMemory);
        }
        self.memory += charge;
        let Some(datagram) = self.datagrams.get_mut(&key) else {
            return dropped(DropReason::Fragment); // unreachable: looked up above
        };
        datagram.charge += charge;
        datagram.fragments.insert(start, fragment.data.to_vec());
        if start == 0 {
            datagram.header = Some(header.to_vec());
        }
        if !fragment.more {
            datagram.end = Some(end);
        }
        if datagram.is_complete() {
            return self.finish(&key);
        }
        Outcome::Held
    }

    /// What storing this fragment costs.
    fn charge(&self, start: usize, header: &[u8], data: &[u8]) -> usize {
        let header = if start == 0 { header.len() } else { 0 };
        FRAGMENT_OVERHEAD + data.len() + header
    }

    /// A new datagram, with its first fragment to arrive (not necessarily the one at offset 0).
    fn start(&mut self, now: Instant, key: K, header: &[u8], fragment: Fragment) -> Outcome {
        let charge = DATAGRAM_OVERHEAD + self.charge(fragment.offset, header, fragment.data);
        if self.memory + charge > self.config.memory_limit {
            return Outcome::Dropped {
                reason: DropReason::ReassemblyMemory,
                fragments: 1,
            };
        }
        let end = fragment.offset + fragment.data.len();
        let whole = fragment.offset == 0 && !fragment.more;
        let mut fragments = BTreeMap::new();
        fragments.insert(fragment.offset, fragment.data.to_vec());
        let deadline = (now + self.config.timeout, self.next_timer);
        self.next_timer += 1;
        self.memory += charge;
        self.timers.insert(deadline, key.clone());
        self.datagrams.insert(
            key.clone(),
            Datagram {
                fragments,
                end: (!fragment.more).then_some(end),
                header: (fragment.offset == 0).then(|| header.to_vec()),
                deadline,
                charge,
            },
        );
        if whole {
            // Not a fragment at all: callers do not send these here, but it is whole.
            return self.finish(&key);
        }
        Outcome::Held
    }

    /// Removes `key`'s datagram and accounts for it.
    fn remove(&mut self, key: &K) -> Option<Datagram> {
        let datagram = self.datagrams.remove(key)?;
        self.timers.remove(&datagram.deadline);
        self.memory -= datagram.charge;
        Some(datagram)
    }

    /// Drops `key`'s datagram (if any) along with the fragment that condemned it.
    fn drop_datagram(&mut self, key: &K, reason: DropReason) -> Outcome {
        let held = self.remove(key).map_or(0, |d| d.fragments.len());
        Outcome::Dropped {
            reason,
            fragments: held + 1,
        }
    }

    /// Joins `key`'s complete datagram.
    fn finish(&mut self, key: &K) -> Outcome {
        let Some(datagram) = self.remove(key) else {
            return Outcome::Held;
        };
        let count = datagram.fragments.len();
        let mut payload = Vec::with_capacity(datagram.end.unwrap_or(0));
        for data in datagram.fragments.into_values() {
            payload.extend_from_slice(&data);
        }
        Outcome::Complete(Reassembled {
            header: datagram.header.unwrap_or_default(),
            payload,
            fragments: count,
        })
    }

    /// Removes every datagram whose time has run out at `now` and returns them, earliest first.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired<K>> {
        let mut expired = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.get().clone();
            let Some(mut datagram) = self.remove(&key) else {
                continue;
            };
            let fragments = datagram.fragments.len();
            let first = match (datagram.header.take(), datagram.fragments.remove(&0)) {
                (Some(header), Some(data)) => Some((header, data)),
                _ => None,
            };
            expired.push(Expired {
                key,
                fragments,
                first,
            });
        }
        expired
    }
}

#[cfg(test)]
#[path = "reassembly_tests.rs"]
mod tests;
