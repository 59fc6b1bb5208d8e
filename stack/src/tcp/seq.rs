//! TCP sequence numbers: 32-bit counters that wrap around ([RFC 9293 section 3.4]).
//!
//! Every byte of a TCP stream (and the SYN and FIN) has a sequence number. The field is 32 bits
//! wide and a connection may carry more than 4 GiB, so the numbers wrap: "all arithmetic dealing
//! with sequence numbers must be performed modulo 2^32". The connection state is a handful of
//! such numbers, marking out the send sequence space ([RFC 9293 section 3.3.1], Figure 3):
//!
//! ```text
//!                  1         2          3          4
//!             ----------|----------|----------|----------
//!                    SND.UNA    SND.NXT    SND.UNA
//!                                         +SND.WND
//!
//!       1 - old sequence numbers that have been acknowledged
//!       2 - sequence numbers of unacknowledged data
//!       3 - sequence numbers allowed for new data transmission
//!       4 - future sequence numbers that are not yet allowed
//! ```
//!
//! "Before" and "after" on a circle only make sense for numbers less than half the circle apart:
//! `a < b` means that going forward from `a` reaches `b` in fewer than 2^31 steps (serial number
//! arithmetic, [RFC 1982 section 3.2]). That is enough for TCP, whose windows are far smaller
//! than 2^31 bytes.
//!
//! Code that wants plain integers instead (a receiver's reassembly buffer, a byte counter) can
//! [`unwrap`](SeqNumber::unwrap) a sequence number into a 64-bit *absolute* offset from the
//! initial sequence number (ISN), and [`wrap`](SeqNumber::wrap) it back, as CS144's `Wrap32` does.
//!
//! [RFC 9293 section 3.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.4
//! [RFC 9293 section 3.3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.3.1
//! [RFC 1982 section 3.2]: https://www.rfc-editor.org/rfc/rfc1982#section-3.2

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// The size of the sequence number space, 2^32.
const SPACE: u64 = 1 << 32;

/// A TCP sequence number: a position in the stream, modulo 2^32.
///
/// Comparisons go the short way round the circle: see its `PartialOrd` implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The sequence number of byte `absolute` of a stream that starts at `isn`.
    ///
    /// `absolute` counts from 0 at the ISN (the SYN), so `wrap(0, isn) == isn`.
    pub fn wrap(absolute: u64, isn: SeqNumber) -> SeqNumber {
        // Truncating to 32 bits is the reduction modulo 2^32.
        SeqNumber(isn.0.wrapping_add(absolute as u32))
    }

    /// The absolute position (counted from `isn`) that this sequence number stands for.
    ///
    /// Many absolute positions wrap to the same sequence number, 2^32 apart; this picks the one
    /// closest to `checkpoint`, typically the last absolute position the caller saw. At exactly
    /// 2^31 either side, it picks the lower one, unless that would be negative.
    pub fn unwrap(self, isn: SeqNumber, checkpoint: u64) -> u64 {
        // Step from the checkpoint's own sequence number to ours, the short way round.
        let step = i64::from(self.0.wrapping_sub(Self::wrap(checkpoint, isn).0) as i32);
        match checkpoint.checked_add_signed(step) {
            Some(absolute) => absolute,
            // Below zero: the other candidate, one lap up, is the only valid one.
            None if step < 0 => checkpoint.wrapping_add_signed(step).wrapping_add(SPACE),
            // Beyond u64::MAX (a 16-exabyte stream): take the candidate one lap down.
            None => checkpoint.wrapping_add_signed(step).wrapping_sub(SPACE),
        }
    }

    /// The later of two sequence numbers (`other` if they are not comparable).
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self > other {
            self
        } else {
            other
        }
    }

    /// The earlier of two sequence numbers (`other` if they are not comparable).
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self < other {
            self
        } else {
            other
        }
    }
}

/// Moves `rhs` bytes forward, modulo 2^32.
impl Add<usize> for SeqNumber {
    type Output = SeqNumber;

    fn add(self, rhs: usize) -> SeqNumber {
        // Truncation is the reduction modulo 2^32.
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

/// Moves `rhs` bytes forward in place, modulo 2^32.
impl AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

/// Moves `rhs` bytes back, modulo 2^32.
impl Sub<usize> for SeqNumber {
    type Output = SeqNumber;

    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

/// `a - b` is the distance going forward from `b` to `a`: the length of the range `b..a`.
///
/// It is always in `0..2^32`. If `a` is actually before `b`, the result is 2^32 minus the
/// backward distance, a huge number; compare first (`a >= b`) when that can happen.
impl Sub<SeqNumber> for SeqNumber {
    type Output = usize;

    fn sub(self, rhs: SeqNumber) -> usize {
        self.0.wrapping_sub(rhs.0) as usize
    }
}

/// `a < b` when going forward from `a` reaches `b` in fewer than 2^31 steps.
///
/// Two numbers exactly 2^31 apart are neither before nor after each other: `partial_cmp`
/// returns `None`, so `<`, `>`, `<=` and `>=` are all false (RFC 1982 leaves that case
/// undefined). This is why the type is `PartialOrd` but not `Ord`.
///
/// The order is not transitive over more than half the circle: with `a = 0`, `b = 2^30 × 1.5`
/// and `c = 2^30 × 3`, we have `a < b` and `b < c` but `c < a`. Only compare numbers that lie
/// in one window (TCP windows are at most 2^30 bytes, RFC 7323), and never sort by this order.
impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        match self.0.wrapping_sub(other.0) {
            0 => Some(Ordering::Equal),
            d if d < 1 << 31 => Some(Ordering::Greater),
            d if d > 1 << 31 => Some(Ordering::Less),
            _ => None,
        }
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOP: u32 = u32::MAX;

    #[test]
    fn adds_and_subtracts_across_the_wrap() {
        let near_top = SeqNumber(TOP - 1);
        assert_eq!(near_top + 1, SeqNumber(TOP));
        assert_eq!(near_top + 2, SeqNumber(0));
        assert_eq!(near_top + 10, SeqNumber(8));
        assert_eq!(SeqNumber(3) - 5, SeqNumber(TOP - 1));
        let mut s = SeqNumber(TOP);
        s += 1;
        assert_eq!(s, SeqNumber(0));
        // Adding a whole lap is adding nothing.
        assert_eq!(SeqNumber(7) + (1usize << 32), SeqNumber(7));
    }

    #[test]
    fn distance_is_forward_and_wraps() {
        assert_eq!(SeqNumber(8) - SeqNumber(TOP - 1), 10);
        assert_eq!(SeqNumber(100) - SeqNumber(100), 0);
        // Backwards gives the long way round.
        assert_eq!(SeqNumber(0) - SeqNumber(1), TOP as usize);
    }

    #[test]
    fn compares_the_short_way_round() {
        assert!(SeqNumber(1) < SeqNumber(2));
        assert!(
            SeqNumber(TOP) < SeqNumber(0),
            "0 comes right after 2^32 - 1"
        );
        assert!(SeqNumber(TOP - 10) < SeqNumber(5));
        assert!(SeqNumber(5) > SeqNumber(TOP - 10));
        assert!(SeqNumber(5) >= SeqNumber(5) && SeqNumber(5) <= SeqNumber(5));
        // Just under half the circle apart: still ordered.
        assert!(SeqNumber(0) < SeqNumber((1 << 31) - 1));
        // Just over: the other way round.
        assert!(SeqNumber(0) > SeqNumber((1 << 31) + 1));
    }

    #[test]
    fn exactly_half_the_circle_apart_is_unordered() {
        let (a, b) = (SeqNumber(10), SeqNumber(10 + (1 << 31)));
        assert_eq!(a.partial_cmp(&b), None);
        assert_eq!(b.partial_cmp(&a), None);
        // Every operator answers false, so `!(a < b)` does not mean `a >= b` here.
        assert_eq!([a < b, a > b, a <= b, a >= b], [false; 4]);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), b);
    }

    #[test]
    fn order_is_not_transitive_around_the_circle() {
        let (a, b, c) = (SeqNumber(0), SeqNumber(3 << 29), SeqNumber(3 << 30));
        assert!(a < b && b < c && c < a);
    }

    #[test]
    fn max_and_min_across_the_wrap() {
        let (early, late) = (SeqNumber(TOP - 3), SeqNumber(2));
        assert_eq!(early.max(late), late);
        assert_eq!(late.max(early), late);
        assert_eq!(early.min(late), early);
        assert_eq!(late.min(early), early);
    }

    #[test]
    fn wraps_absolute_positions() {
        let isn = SeqNumber(TOP - 1);
        assert_eq!(SeqNumber::wrap(0, isn), isn);
        assert_eq!(SeqNumber::wrap(1, isn), SeqNumber(TOP));
        assert_eq!(SeqNumber::wrap(2, isn), SeqNumber(0));
        assert_eq!(SeqNumber::wrap(3 * SPACE + 17, SeqNumber(0)), SeqNumber(17));
        assert_eq!(SeqNumber::wrap(SPACE, SeqNumber(5)), SeqNumber(5));
    }

    #[test]
    fn unwraps_near_the_checkpoint() {
        let isn = SeqNumber(0);
        // The first lap.
        assert_eq!(SeqNumber(0).unwrap(isn, 0), 0);
        assert_eq!(SeqNumber(TOP).unwrap(isn, 0), u64::from(TOP));
        // One byte past the wrap, seen from just before it: the second lap.
        assert_eq!(SeqNumber(0).unwrap(isn, u64::from(TOP)), SPACE);
        assert_eq!(SeqNumber(3).unwrap(isn, SPACE - 5), SPACE + 3);
        // A late segment from the end of the first lap, seen from the second lap.
        assert_eq!(SeqNumber(TOP - 2).unwrap(isn, SPACE + 5), SPACE - 3);
        // Far into the stream.
        assert_eq!(SeqNumber(7).unwrap(isn, 3 * SPACE), 3 * SPACE + 7);
        assert_eq!(SeqNumber(TOP).unwrap(isn, 3 * SPACE), 3 * SPACE - 1);
    }

    #[test]
    fn unwrap_counts_from_the_isn() {
        let isn = SeqNumber(TOP - 9);
        assert_eq!(isn.unwrap(isn, 0), 0);
        assert_eq!(SeqNumber(0).unwrap(isn, 0), 10);
        assert_eq!(SeqNumber(TOP - 10).unwrap(isn, 0), SPACE - 1);
        assert_eq!(SeqNumber(TOP - 10).unwrap(isn, SPACE), SPACE - 1);
    }

    #[test]
    fn unwrap_at_the_half_way_boundaries() {
        let isn = SeqNumber(0);
        let half = 1u64 << 31;
        // Checkpoint 0: the candidate below zero does not exist, so go up.
        assert_eq!(SeqNumber(1 << 31).unwrap(isn, 0), half);
        // Checkpoint 2^32: 2^31 and 3 × 2^31 are equally close; the lower one wins.
        assert_eq!(SeqNumber(1 << 31).unwrap(isn, SPACE), half);
        // One step off the tie decides it.
        let (just_over, just_under) = (SeqNumber((1 << 31) + 1), SeqNumber((1 << 31) - 1));
        assert_eq!(just_over.unwrap(isn, SPACE), half + 1);
        assert_eq!(just_under.unwrap(isn, SPACE), SPACE + half - 1);
    }

    #[test]
    fn unwrap_at_the_ends_of_u64() {
        let isn = SeqNumber(0);
        assert_eq!(SeqNumber(TOP).unwrap(isn, 0), u64::from(TOP));
        assert_eq!(SeqNumber(TOP).unwrap(isn, u64::MAX), u64::MAX);
        // Going up from u64::MAX would overflow: the nearest representable one is a lap down.
        assert_eq!(
            SeqNumber(0).unwrap(isn, u64::MAX),
            u64::MAX - u64::from(TOP)
        );
    }

    #[test]
    fn displays_the_number() {
        assert_eq!(SeqNumber(TOP).to_string(), "4294967295");
    }

    proptest! {
        /// Wrapping and unwrapping near the checkpoint gives the position back.
        #[test]
        fn unwrap_inverts_wrap(
            isn in any::<u32>(),
            absolute in any::<u64>(),
            offset in -(1i64 << 31) + 1..(1i64 << 31),
        ) {
            let isn = SeqNumber(isn);
            let checkpoint = absolute.saturating_add_signed(offset);
            // Saturation may push the checkpoint further than 2^31 away; skip those.
            prop_assume!(checkpoint.abs_diff(absolute) < 1 << 31);
            prop_assert_eq!(SeqNumber::wrap(absolute, isn).unwrap(isn, checkpoint), absolute);
        }

        /// Unwrapping always lands on a position that wraps back to the same number.
        #[test]
        fn unwrap_is_consistent(seq in any::<u32>(), isn in any::<u32>(), checkpoint in any::<u64>()) {
            let (seq, isn) = (SeqNumber(seq), SeqNumber(isn));
            let absolute = seq.unwrap(isn, checkpoint);
            prop_assert_eq!(SeqNumber::wrap(absolute, isn), seq);
            prop_assert!(absolute.abs_diff(checkpoint) <= SPACE);
        }

        /// Adding n and measuring the distance back gives n, and the sum compares as later.
        #[test]
        fn addition_and_distance_agree(start in any::<u32>(), n in 1usize..(1 << 31)) {
            let start = SeqNumber(start);
            let end = start + n;
            prop_assert_eq!(end - start, n);
            prop_assert!(start < end);
            prop_assert_eq!(end - n, start);
        }
    }
}
