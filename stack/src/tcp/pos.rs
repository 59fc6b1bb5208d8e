//! Positions in a stream: 64-bit offsets from the initial sequence number, which never wrap.
//!
//! A sequence number on the wire is 32 bits and wraps every 4 GiB ([`super::seq`]); comparing
//! two of them is only meaningful when they are less than 2^31 apart. Inside a connection that
//! is a trap: a mark set when the connection began ("recover", "the end of the last small
//! segment") is more than 2^31 behind after 2 GiB, and from then on compares as *ahead*. So the
//! connection never keeps a 32-bit number. Each direction counts its own stream from 0:
//!
//! ```text
//!   position:    0      1      2    ...   n      n+1
//!              [SYN] [byte 0] [byte 1] ... [FIN]
//!   on the wire: ISN   ISN+1  ISN+2  ...  (ISN + n) mod 2^32
//! ```
//!
//! Position 0 is the SYN, data starts at 1, and the FIN, if any, follows the last byte. A
//! sequence number that arrives is *unwrapped* to the position nearest a checkpoint the
//! connection already knows (SND.UNA for acknowledgments, RCV.NXT for the peer's data: any
//! acceptable number lies within a window of them); a position that goes out is *wrapped*
//! back to 32 bits. That is CS144's `Wrap32`. With 64 bits a stream would need 16 exabytes
//! to wrap, so `<` on positions is plain integer order.
//!
//! A number from the wire that falls before the ISN unwraps one lap (2^32) up: far beyond
//! anything sent or any window, so it fails every acceptability check as an old or wild
//! number should.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use super::seq::SeqNumber;

/// A position in one direction of a connection's stream, counted from its ISN (the SYN is at
/// 0). See the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos(pub u64);

impl Pos {
    /// The SYN's position: the start of every stream.
    pub const SYN: Pos = Pos(0);
    /// The first byte of data, right after the SYN.
    pub const DATA: Pos = Pos(1);

    /// The sequence number on the wire for this position of a stream that began at `isn`.
    pub fn wrap(self, isn: SeqNumber) -> SeqNumber {
        SeqNumber::wrap(self.0, isn)
    }

    /// The position that `seq` (of a stream that began at `isn`) stands for: of all the
    /// positions 2^32 apart that wrap to it, the one nearest `checkpoint`.
    pub fn unwrap(seq: SeqNumber, isn: SeqNumber, checkpoint: Pos) -> Pos {
        Pos(seq.unwrap(isn, checkpoint.0))
    }
}

/// Moves `rhs` bytes forward.
impl Add<usize> for Pos {
    type Output = Pos;

    fn add(self, rhs: usize) -> Pos {
        // Wrapping, like the numbers it stands for: never reached before 16 EiB.
        Pos(self.0.wrapping_add(rhs as u64))
    }
}

/// Moves `rhs` bytes forward in place.
impl AddAssign<usize> for Pos {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

/// Moves `rhs` bytes back.
impl Sub<usize> for Pos {
    type Output = Pos;

    fn sub(self, rhs: usize) -> Pos {
        // Below 0 only for a keep-alive's "one before SND.UNA" on a stream whose SYN is
        // unacknowledged, which never happens; wrapping keeps the wire number right even then.
        Pos(self.0.wrapping_sub(rhs as u64))
    }
}

/// `a - b` is the length of the range `b..a`. Compare first when `a` may be before `b`: the
/// difference then wraps to a huge number, which every window check rejects.
impl Sub<Pos> for Pos {
    type Output = usize;

    fn sub(self, rhs: Pos) -> usize {
        self.0.wrapping_sub(rhs.0) as usize
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_unwraps_around_any_isn() {
        for isn in [0, 1, 1 << 31, u32::MAX - 1, u32::MAX] {
            let isn = SeqNumber(isn);
            for at in [
                0u64,
                1,
                (1 << 31) - 1,
                1 << 31,
                (1 << 32) - 1,
                1 << 32,
                5 << 32,
            ] {
                let pos = Pos(at);
                let seq = pos.wrap(isn);
                assert_eq!(Pos::unwrap(seq, isn, pos), pos, "isn {isn} at {at}");
                // Anything within 2^31 before or after the checkpoint comes back exactly.
                let checkpoint = Pos(at.saturating_sub(1 << 30));
                assert_eq!(Pos::unwrap(seq, isn, checkpoint), pos, "isn {isn} at {at}");
                assert_eq!(
                    Pos::unwrap(seq, isn, pos + (1 << 30)),
                    pos,
                    "isn {isn} at {at}"
                );
            }
        }
    }

    #[test]
    fn order_is_plain_integer_order_past_two_to_the_31() {
        // As 32-bit numbers, these compare the wrong way round: 2^31 + 1 apart.
        let early = Pos(10);
        let late = Pos(10 + (1 << 31) + 1);
        assert!(early.wrap(SeqNumber(0)) > late.wrap(SeqNumber(0)));
        assert!(early < late);
        assert_eq!(late - early, (1 << 31) + 1);
    }

    #[test]
    fn a_number_before_the_isn_lands_far_ahead() {
        let isn = SeqNumber(5000);
        let before = SeqNumber(4000);
        assert_eq!(Pos::unwrap(before, isn, Pos(10)), Pos((1 << 32) - 1000));
    }
}
