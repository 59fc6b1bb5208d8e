//! Selective acknowledgment ([RFC 2018]): the sender's record of what the peer holds.
//!
//! A cumulative ACK only says "everything before N arrived". SACK blocks add "and also these
//! ranges after it", so after a loss the sender can resend just the holes instead of everything
//! from the first loss on. The sender keeps the blocks it has been told about in a scoreboard
//! ([RFC 6675]):
//!
//! ```text
//!   SND.UNA                                                       SND.MAX
//!      |  hole   |##SACKed##|  hole  |#####SACKed#####|   hole   |
//!      ^ lost: enough SACKed data above it (3 segments' worth)    ^ not (yet) lost
//! ```
//!
//! A hole with at least three segments' worth of SACKed data above it is deemed lost (RFC 6675's
//! IsLost, with DupThresh = 3); the rest may simply still be on its way.
//!
//! [RFC 2018]: https://www.rfc-editor.org/rfc/rfc2018
//! [RFC 6675]: https://www.rfc-editor.org/rfc/rfc6675

use super::pos::Pos;

/// How many separate ranges the scoreboard keeps; beyond that, new blocks are ignored (they only
/// make recovery less precise, never wrong).
const MAX_BLOCKS: usize = 64;

/// The duplicate-ACK threshold (RFC 5681, RFC 6675): three.
pub(crate) const DUP_THRESH: usize = 3;

/// The ranges of our sent data the peer has reported holding, above SND.UNA.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scoreboard {
    /// Sorted, disjoint, non-touching ranges `[left, right)`.
    blocks: Vec<(Pos, Pos)>,
}

impl Scoreboard {
    /// Whether the peer has reported anything beyond SND.UNA.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Records a SACK block, clipped to `(snd_una, snd_max]`. Returns whether it told us
    /// something new.
    pub(crate) fn add(&mut self, left: Pos, right: Pos, snd_una: Pos, snd_max: Pos) -> bool {
        // Blocks outside what is outstanding are old news or nonsense (RFC 2018 allows neither).
        let left = left.max(snd_una);
        let right = right.min(snd_max);
        if right <= left {
            return false;
        }
        let first = self.blocks.partition_point(|&(_, r)| r < left);
        let last = self.blocks.partition_point(|&(l, _)| l <= right);
        if first == last && self.blocks.len() >= MAX_BLOCKS {
            return false;
        }
        let (mut l, mut r) = (left, right);
        for &(bl, br) in &self.blocks[first..last] {
            l = l.min(bl);
            r = r.max(br);
        }
        let before = self.sacked_bytes();
        self.blocks.splice(first..last, [(l, r)]);
        self.sacked_bytes() > before
    }

    /// Drops what the cumulative ACK now covers.
    pub(crate) fn prune(&mut self, snd_una: Pos) {
        self.blocks.retain_mut(|(l, r)| {
            if *r <= snd_una {
                return false;
            }
            *l = (*l).max(snd_una);
            true
        });
        if self.blocks.is_empty() {
            // Loss recovery is over: an idle connection keeps no list capacity.
            self.blocks.shrink_to_fit();
        }
    }

    /// Bytes reported held beyond SND.UNA.
    pub(crate) fn sacked_bytes(&self) -> usize {
        self.blocks.iter().map(|&(l, r)| r - l).sum()
    }

    /// The end of the SACKed range containing `seq`, if `seq` is SACKed.
    pub(crate) fn sacked_until(&self, seq: Pos) -> Option<Pos> {
        self.blocks
            .iter()
            .find(|&&(l, r)| l <= seq && seq < r)
            .map(|&(_, r)| r)
    }

    /// The first byte at or after `from` not reported held, and how far the hole reaches
    /// (the next SACKed range, or `limit`).
    pub(crate) fn next_hole(&self, from: Pos, limit: Pos) -> Option<(Pos, Pos)> {
        let mut start = from;
        for &(l, r) in &self.blocks {
            if r <= start {
                continue;
            }
            if l > start {
                return (start < limit).then_some((start, l.min(limit)));
            }
            start = r; // inside a SACKed range: skip it
        }
        (start < limit).then_some((start, limit))
    }

    /// Bytes reported held at or beyond `seq`.
    pub(crate) fn sacked_beyond(&self, seq: Pos) -> usize {
        self.blocks
            .iter()
            .filter(|&&(_, r)| r > seq)
            .map(|&(l, r)| r - l.max(seq))
            .sum()
    }

    /// The point below which unSACKed bytes are deemed lost: where more than
    /// (DupThresh − 1) × MSS bytes have been SACKed above (RFC 6675 IsLost). `None`: nothing
    /// is lost yet.
    pub(crate) fn lost_below(&self, mss: usize) -> Option<Pos> {
        let needed = (DUP_THRESH - 1) * mss;
        let mut above = 0;
        for &(l, r) in self.blocks.iter().rev() {
            let len = r - l;
            if above + len > needed {
                // Inside this block: `needed` bytes lie above `point`, and one more byte makes
                // it more than needed.
                return Some(r - (needed - above + 1));
            }
            above += len;
        }
        None
    }

    /// RFC 6675's pipe: the bytes in `[snd_una, snd_max)` still believed to be in the network:
    /// those neither SACKed nor lost, plus those retransmitted (below `high_rxt`).
    pub(crate) fn pipe(&self, snd_una: Pos, snd_max: Pos, high_rxt: Pos, mss: usize) -> usize {
        let lost = self.lost_below(mss).unwrap_or(snd_una);
        let mut pipe = 0;
        let mut from = snd_una;
        while let Some((a, b)) = self.next_hole(from, snd_max) {
            if b > lost {
                pipe += b - a.max(lost);
            }
            if high_rxt > a {
                pipe += high_rxt.min(b) - a;
            }
            from = b;
        }
        pipe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> Pos {
        Pos(u64::from(n) + (1 << 32) - 1000) // every test crosses 2^32: positions do not wrap
    }

    #[test]
    fn blocks_merge_clip_and_prune() {
        let mut sb = Scoreboard::default();
        assert!(sb.add(s(3000), s(4000), s(1000), s(9000)));
        assert!(sb.add(s(5000), s(6000), s(1000), s(9000)));
        assert!(!sb.add(s(3200), s(3800), s(1000), s(9000)), "nothing new");
        assert!(
            sb.add(s(4000), s(5000), s(1000), s(9000)),
            "fills the gap: one range"
        );
        assert_eq!(sb.blocks, [(s(3000), s(6000))]);
        assert!(
            sb.add(s(8000), s(20000), s(1000), s(9000)),
            "clipped to SND.MAX"
        );
        assert_eq!(sb.sacked_bytes(), 4000);
        assert!(
            !sb.add(s(0), s(1000), s(1000), s(9000)),
            "below SND.UNA: old news"
        );
        sb.prune(s(3500));
        assert_eq!(sb.blocks, [(s(3500), s(6000)), (s(8000), s(9000))]);
        sb.prune(s(9000));
        assert!(sb.is_empty());
        assert_eq!(
            sb.blocks.capacity(),
            0,
            "an empty scoreboard holds no memory"
        );
    }

    #[test]
    fn holes_are_found_between_the_blocks() {
        let mut sb = Scoreboard::default();
        sb.add(s(2000), s(3000), s(1000), s(6000));
        sb.add(s(4000), s(5000), s(1000), s(6000));
        assert_eq!(sb.next_hole(s(1000), s(6000)), Some((s(1000), s(2000))));
        assert_eq!(sb.next_hole(s(2500), s(6000)), Some((s(3000), s(4000))));
        assert_eq!(sb.next_hole(s(5000), s(6000)), Some((s(5000), s(6000))));
        assert_eq!(sb.next_hole(s(6000), s(6000)), None);
        assert_eq!(sb.sacked_until(s(4100)), Some(s(5000)));
        assert_eq!(sb.sacked_until(s(3100)), None);
    }

    #[test]
    fn a_hole_is_lost_with_three_segments_sacked_above() {
        let mss = 1000;
        let mut sb = Scoreboard::default();
        sb.add(s(2000), s(4000), s(1000), s(9000));
        assert_eq!(
            sb.lost_below(mss),
            None,
            "two segments above: maybe just reordered"
        );
        sb.add(s(5000), s(6000), s(1000), s(9000));
        // 3000 bytes SACKed; more than 2000 lie above 2999.
        assert_eq!(sb.lost_below(mss), Some(s(2999)));
        // Pipe: the hole 1000..2000 is lost (not counted); 4000..5000 and 6000..9000 are not.
        assert_eq!(sb.pipe(s(1000), s(9000), s(1000), mss), 4000);
        // Retransmitting the lost hole puts it back in the pipe.
        assert_eq!(sb.pipe(s(1000), s(9000), s(2000), mss), 5000);
    }
}
