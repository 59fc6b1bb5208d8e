//! Loss recovery: fast retransmit and fast recovery, with SACK ([RFC 6675]) or without
//! (NewReno, [RFC 6582]), and undoing a timeout that was spurious ([RFC 3522], [RFC 4015]).
//!
//! The retransmission timer is the last resort: it waits at least 200 ms, and then starts over
//! from one segment. Most losses are noticed much sooner by the ACKs that keep coming: each
//! segment that arrives after a hole makes the receiver repeat its cumulative ACK (a duplicate
//! ACK). Three duplicates in a row are taken as a loss (three, not one, because the network may
//! just have reordered a segment or two):
//!
//! ```text
//!  sender                      receiver
//!    │──── 1 ───────────────────►│  ACK 2
//!    │──── 2 ─────── ✗           │
//!    │──── 3 ───────────────────►│  ACK 2 (dup 1), SACK 3
//!    │──── 4 ───────────────────►│  ACK 2 (dup 2), SACK 3-4
//!    │──── 5 ───────────────────►│  ACK 2 (dup 3), SACK 3-5
//!    │──── 2 again (fast retransmit, no timeout)
//!    │                           │  ACK 6
//! ```
//!
//! With SACK the sender need not count ACKs: their blocks say which segments arrived. The
//! segment at SND.UNA is deemed lost once more than (DupThresh − 1) × MSS bytes above it are
//! SACKed (RFC 6675 IsLost, byte-based): the third full segment past the hole. That is
//! checked on every ACK with new SACK information, duplicate or not, so it can come before the
//! third duplicate: when the first segment past the hole was SACKed by the ACK that moved
//! SND.UNA up to the hole (which is no duplicate), or when one ACK SACKs several segments.
//!
//! Then fast recovery keeps data flowing with a reduced window instead of collapsing it:
//!
//! - With SACK, the sender knows exactly which ranges the receiver holds. It estimates how much
//!   is still in the network (the "pipe") and, while the pipe is below the congestion window,
//!   sends the next hole deemed lost, or new data (RFC 6675 NextSeg).
//! - Without SACK (NewReno), each duplicate ACK means one segment left the network, so the
//!   window is inflated by one segment per duplicate; an ACK that covers only part of what was
//!   outstanding ("partial ACK") shows the next hole, which is resent at once.
//!
//! Recovery ends when the cumulative ACK covers everything that was outstanding when it began.
//!
//! Sometimes there was no loss: the segment was only late, or a timer fired too soon. The
//! receiver then gets the same data twice, and says so with a D-SACK block ([RFC 2883]); when
//! every segment a recovery resent comes back that way, the recovery is undone ([RFC 3708]),
//! and the window it cut is given back. Timestamps tell the same about a timeout.
//!
//! [RFC 6675]: https://www.rfc-editor.org/rfc/rfc6675
//! [RFC 6582]: https://www.rfc-editor.org/rfc/rfc6582
//! [RFC 2883]: https://www.rfc-editor.org/rfc/rfc2883
//! [RFC 3708]: https://www.rfc-editor.org/rfc/rfc3708
//! [RFC 3522]: https://www.rfc-editor.org/rfc/rfc3522
//! [RFC 4015]: https://www.rfc-editor.org/rfc/rfc4015

use tracing::debug;

use super::config::TcpConfig;
use super::connection::Connection;
use super::header::Repr;
use super::options::SackBlock;
use super::pos::Pos;
use super::sack::DUP_THRESH;
use super::why::Why;
use crate::time::Instant;

/// Why a segment is sent again: for counters and capture comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Three duplicate ACKs, or a partial ACK in NewReno recovery.
    Fast,
    /// A tail loss probe: the last segment again, after two round trips without an ACK.
    Probe,
    /// A hole the SACK blocks show to be lost.
    Sack,
}

impl Connection {
    /// Records the SACK blocks of an incoming ACK. Returns whether they told us anything new.
    pub(crate) fn take_sack_blocks(&mut self, h: &Repr, ack: Pos) -> bool {
        if !self.sack_ok {
            return false;
        }
        let before = self.rec.scoreboard.sacked_bytes();
        let mut news = false;
        // Each block's edges, as positions in our stream (unwrapped near SND.UNA).
        let (iss, una) = (self.snd.iss, self.snd.una);
        let edges = |b: &SackBlock| {
            (
                Pos::unwrap(b.left, iss, una),
                Pos::unwrap(b.right, iss, una),
            )
        };
        let mut blocks = h.sack_blocks.as_slice();
        // RFC 2883 section 4: a first block below the cumulative ACK, or inside the second
        // block, reports data that arrived twice (a D-SACK), not data held.
        if let [first, rest @ ..] = blocks {
            let (left, right) = edges(first);
            let inside_second = rest
                .first()
                .map(edges)
                .is_some_and(|(l, r)| l <= left && right <= r);
            if left < right && (left < ack || inside_second) {
                self.on_dsack(left, right);
                blocks = rest;
            }
        }
        for block in blocks {
            let (left, right) = edges(block);
            news |= self
                .rec
                .scoreboard
                .add(left, right, self.snd.una.max(ack), self.snd.max);
        }
        let after = self.rec.scoreboard.sacked_bytes();
        self.stats.sacked_bytes += after.saturating_sub(before) as u64;
        news
    }

    /// The peer got `[left, right)` twice (a D-SACK): one of our retransmissions was not
    /// needed. If it was the tail loss probe's, the probe repaired nothing.
    fn on_dsack(&mut self, left: Pos, right: Pos) {
        self.stats.dsacks_received += 1;
        debug!(quad = %self.quad, %left, %right, "tcp: D-SACK: the peer got this twice");
        if self
            .rec
            .tail_probe_end
            .is_some_and(|end| left < end && self.rec.tail_probe_start < right)
        {
            self.rec.tail_probe_dsacked = true;
        }
        // RFC 3708: when every segment the last recovery resent comes back as a duplicate,
        // nothing was lost; the recovery is undone.
        if self.rec.recovery_undo.is_some() && left >= self.rec.undo_from && self.rec.resent > 0 {
            let segments = (right - left).div_ceil(self.snd.mss.max(1)).max(1);
            let segments = u32::try_from(segments).unwrap_or(u32::MAX);
            self.rec.resent = self.rec.resent.saturating_sub(segments);
            if self.rec.resent == 0 && self.rec.point.is_none() {
                self.undo_recovery("every resent segment was a duplicate (D-SACK)");
            }
        }
    }

    /// Whether `h` is a duplicate ACK. Data must be outstanding and the segment must acknowledge
    /// nothing new. Then, by RFC 5681 section 2, it carries no data, no SYN or FIN, and the same
    /// window; or, by RFC 6675 section 2, it reports (`sack_news`) data held that was not known
    /// to be held before, whatever else it carries: a receiver whose window grows with every
    /// segment (Linux's does, early in a connection) sends no RFC 5681 duplicates at all.
    /// Answers to zero-window probes look the same but say nothing about loss: not counted.
    pub(crate) fn is_duplicate_ack(&self, h: &Repr, ack: Pos, sack_news: bool) -> bool {
        let outstanding = self.snd.wnd > 0
            && self.timers.persist_at.is_none()
            && h.flags.ack()
            && ack == self.snd.una
            && self.snd.una != self.snd.max;
        outstanding
            && (sack_news
                || (h.payload_len == 0
                    && !h.flags.syn()
                    && !h.flags.fin()
                    && usize::from(h.window) << self.snd.shift == self.snd.wnd))
    }

    /// A duplicate ACK arrived (with `sack_news` if its SACK blocks reported new data held).
    pub(crate) fn on_duplicate_ack(&mut self, now: Instant, sack_news: bool) {
        self.rec.dupacks += 1;
        self.stats.duplicate_acks += 1;
        if self.rec.point.is_some() {
            if !self.sack_ok {
                // NewReno: a segment left the network; one more may enter (RFC 6582 3.2 step 4).
                self.rec.inflation += self.snd.mss;
            }
            return;
        }
        if (self.rec.dupacks as usize >= self.dup_thresh() || (sack_news && self.sack_shows_loss()))
            && self.after_recover()
        {
            self.enter_recovery(now);
        }
    }

    /// In recovery, new SACK information arrived: if the peer now holds DupThresh segments'
    /// worth of data sent after SND.UNA's segment was resent, and still not that segment, the
    /// retransmission was lost as well; send it again as soon as the pipe has room, rather than
    /// wait for the timeout.
    /// (The idea of RACK, RFC 8985 section 6, for this one segment: data sent later arrived.)
    pub(crate) fn check_lost_retransmission(&mut self) {
        let Some(mark) = self.rec.una_resent_at else {
            return;
        };
        if self.rec.point.is_none()
            || self.rec.scoreboard.sacked_beyond(mark) < DUP_THRESH * self.snd.mss
        {
            return;
        }
        self.rec.una_resent_at = None;
        self.rec.una_lost_again = true;
        self.stats.lost_retransmissions += 1;
        self.why = Some(Why::FastRetransmitAgain);
        debug!(quad = %self.quad, seq = %self.snd.una, "tcp: a retransmission was lost");
    }

    /// How many duplicate ACKs mean a loss: three (RFC 5681 3.2), fewer when fewer than four
    /// segments are in flight and no new one can go to bring more ACKs — the receiver's window
    /// is full or the application has nothing more to send (Early Retransmit, RFC 5827 3.1):
    /// with two segments out and the first lost, one duplicate is all that can ever come.
    pub(crate) fn dup_thresh(&self) -> usize {
        let segments = self.snd.in_flight().div_ceil(self.snd.mss);
        let unsent = self
            .snd
            .buf
            .len()
            .saturating_sub(self.snd.max - self.snd.data_start());
        let window_full = self.snd.una + self.snd.wnd <= self.snd.max;
        if segments < DUP_THRESH + 1 && (unsent == 0 || window_full) {
            segments.saturating_sub(1).max(1)
        } else {
            DUP_THRESH
        }
    }

    /// An ACK moved SND.UNA and its SACK blocks reported more data held above it: by RFC 6675
    /// such an ACK counts too, and the scoreboard may show the new SND.UNA lost (a hole found
    /// just after a recovery ended, say) without waiting for three more ACKs.
    pub(crate) fn on_sack_with_progress(&mut self, now: Instant) {
        if self.rec.point.is_none() && self.sack_shows_loss() && self.after_recover() {
            self.enter_recovery(now);
        }
    }

    /// Whether the SACK scoreboard deems the data at SND.UNA lost: more than
    /// (DupThresh − 1) × MSS bytes SACKed above it (RFC 6675 IsLost's byte rule; its other
    /// rule, DupThresh discontiguous SACKed ranges, is not used).
    fn sack_shows_loss(&self) -> bool {
        self.snd.una != self.snd.max
            && self
                .rec
                .scoreboard
                .lost_below(self.snd.mss)
                .is_some_and(|point| point > self.snd.una)
    }

    /// RFC 6582 3.2 step 2: losses of data sent before the last recovery or timeout began start
    /// no new recovery (that one dealt with them). `recover` is SND.MAX as it was then, one past
    /// the highest sequence number sent, so an ACK of `recover` itself covers all of that data.
    pub(crate) fn after_recover(&self) -> bool {
        self.snd.una >= self.rec.recover
    }

    /// Three duplicate ACKs (or SACK) say a segment is lost: fast retransmit, then fast recovery.
    pub(crate) fn enter_recovery(&mut self, now: Instant) {
        let flight = self.snd.in_flight();
        let old = (self.cc.ctl.window(), self.cc.ctl.ssthresh());
        self.rec.recovery_undo = Some(old);
        self.rec.resent = 0;
        self.rec.undo_from = self.snd.una;
        self.cc.ctl.on_loss(now, flight);
        self.rec.point = Some(self.snd.max);
        self.rec.recover = self.snd.max;
        self.cc.hystart.stop();
        // Recovery answers for the loss a tail loss probe found; no probes while it lasts.
        self.rec.tail_probe_end = None;
        self.rec.tail_probe_now = false;
        self.rec.probe_timeout_at = None;
        self.rec.high_rxt = self.snd.una;
        self.rec.rtx_now = true;
        // NewReno: the segments that left the network, one per duplicate (RFC 6582 3.2 step 3).
        self.rec.inflation = if self.sack_ok {
            0
        } else {
            self.rec.dupacks as usize * self.snd.mss
        };
        self.rec.undo = None;
        self.stats.fast_recoveries += 1;
        self.why = Some(Why::FastRetransmit {
            dupacks: self.rec.dupacks,
            sack: self.sack_ok,
        });
        debug!(
            quad = %self.quad,
            cwnd = self.cc.ctl.window(),
            ssthresh = self.cc.ctl.ssthresh(),
            old_cwnd = old.0,
            "tcp: loss detected by duplicate ACKs, fast recovery begins"
        );
    }

    /// A recovery found no loss after all: give back the window it took, keeping any growth
    /// since (RFC 4015 does the same for a timeout; Linux for both).
    fn undo_recovery(&mut self, why: &str) {
        let Some((cwnd, ssthresh)) = self.rec.recovery_undo.take() else {
            return;
        };
        let cwnd = cwnd.max(self.cc.ctl.window());
        let ssthresh = ssthresh.max(self.cc.ctl.ssthresh());
        self.cc.restore(self.snd.mss, cwnd, ssthresh);
        self.stats.undone_recoveries += 1;
        debug!(quad = %self.quad, cwnd, why, "tcp: recovery undone");
    }

    /// New data was acknowledged while in recovery: a full ACK ends it; a partial ACK shows the
    /// next hole (RFC 6582 3.2 step 5, RFC 6675 section 5).
    pub(crate) fn on_ack_in_recovery(&mut self, acked: usize) {
        let Some(point) = self.rec.point else {
            return;
        };
        if self.snd.una >= point {
            self.rec.point = None;
            self.rec.una_resent_at = None;
            self.rec.una_lost_again = false;
            self.rec.lost_below_probe = None;
            self.rec.inflation = 0;
            self.rec.rtx_now = false;
            if self.rec.resent == 0 {
                // Everything arrived before anything was resent, or the peer reported every
                // resent segment as a duplicate: the "loss" was reordering.
                self.undo_recovery("the segment was only late");
            }
            // Else the undo stays possible until the next loss: D-SACKs for the resent segments
            // come back after the ACK that ended recovery.
            debug!(quad = %self.quad, cwnd = self.cc.ctl.window(), "tcp: recovery over");
            return;
        }
        self.rec.high_rxt = self.rec.high_rxt.max(self.snd.una);
        // The new SND.UNA may begin a hole already resent: data sent from now on, SACKed
        // before it, would show that resending lost as well.
        self.rec.una_resent_at = (self.snd.una < self.rec.high_rxt).then_some(self.snd.max);
        self.rec.una_lost_again = false;
        if !self.sack_ok {
            // Partial ACK: resend the first unacknowledged segment now; deflate the window by
            // what was acknowledged, and add back one segment.
            self.rec.rtx_now = true;
            self.rec.inflation = self.rec.inflation.saturating_sub(acked) + self.snd.mss;
            self.why = Some(Why::PartialAck);
        }
    }

    /// The retransmission loss recovery wants now, if any: `(first sequence number, bytes,
    /// why)`. `None` also when the pipe is full.
    pub(crate) fn recovery_resend(&mut self) -> Option<(Pos, usize, Resend)> {
        if self.rec.rtx_now {
            let len = self.resendable_at(self.snd.una, self.snd.max);
            return Some((self.snd.una, len, Resend::Fast));
        }
        if self.rec.point.is_none() || !self.sack_ok {
            return None;
        }
        if self.rec.una_lost_again {
            let end = self
                .rec
                .scoreboard
                .next_hole(self.snd.una, self.snd.max)
                .map_or(self.snd.max, |(_, end)| end);
            let len = self.resendable_at(self.snd.una, end);
            if len > 0 {
                return Some((self.snd.una, len, Resend::Sack));
            }
            self.rec.una_lost_again = false;
        }
        // RFC 6675 NextSeg (1): the first hole above HighRxt that is deemed lost.
        let lost = match (
            self.rec.scoreboard.lost_below(self.snd.mss),
            self.rec.lost_below_probe,
        ) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b)?,
        };
        let from = self.rec.high_rxt.max(self.snd.una);
        let (start, end) = self.rec.scoreboard.next_hole(from, self.snd.max)?;
        if start >= lost {
            return None;
        }
        let len = self.resendable_at(start, end);
        if len == 0 {
            return None;
        }
        if self.why.is_none() {
            self.why = Some(Why::SackHole);
        }
        Some((start, len, Resend::Sack))
    }

    /// How many bytes of data to resend from `seq`: one segment, within `[seq, end)` and what
    /// the send buffer holds.
    fn resendable_at(&self, seq: Pos, end: Pos) -> usize {
        let offset = seq - self.snd.data_start();
        let buffered = self.snd.buf.len().saturating_sub(offset);
        (end - seq).min(self.segment_size()).min(buffered)
    }

    /// How much more may be sent now under the congestion window: pipe-based in SACK recovery,
    /// window-inflated in NewReno recovery, up to two segments more after duplicate ACKs, and
    /// otherwise what is in flight from SND.UNA to
    /// SND.NXT (after a timeout, SND.NXT went back: what lay beyond is deemed lost).
    pub(crate) fn congestion_room(&self) -> usize {
        let cwnd = self.cc.ctl.window();
        match self.rec.point {
            Some(_) if self.sack_ok => cwnd.saturating_sub(self.rec.scoreboard.pipe(
                self.snd.una,
                self.snd.max,
                self.rec.high_rxt,
                self.snd.mss,
            )),
            Some(_) => (cwnd + self.rec.inflation).saturating_sub(self.snd.in_flight()),
            // Limited Transmit (RFC 3042): each of the first two duplicate ACKs says a segment
            // left the network; one new segment may take its place, beyond cwnd, so that more
            // ACKs come back — enough for fast retransmit even when the window is small.
            None if self.snd.nxt == self.snd.max => {
                let limited = (self.rec.dupacks as usize).min(DUP_THRESH - 1) * self.snd.mss;
                (cwnd + limited).saturating_sub(self.snd.nxt - self.snd.una)
            }
            None => cwnd.saturating_sub(self.snd.nxt - self.snd.una),
        }
    }

    /// After a timeout: leave fast recovery (go-back-N from SND.UNA takes over, skipping what
    /// the SACK blocks say was received), and remember how to undo it.
    pub(crate) fn on_timeout_recovery(&mut self, ts_now: u32) {
        self.rec.undo = Some((self.cc.ctl.window(), self.cc.ctl.ssthresh(), ts_now));
        self.rec.point = None;
        self.rec.recovery_undo = None;
        self.rec.inflation = 0;
        self.rec.rtx_now = false;
        self.rec.una_resent_at = None;
        self.rec.una_lost_again = false;
        self.rec.lost_below_probe = None;
        self.rec.dupacks = 0;
        self.rec.recover = self.snd.max;
    }

    /// An ACK of new data echoing timestamp `tsecr`: if it echoes a time before the last
    /// timeout's retransmission, the original segment had arrived and the timeout was
    /// spurious (the Eifel algorithm, RFC 3522): restore the window (RFC 4015).
    pub(crate) fn detect_spurious_timeout(&mut self, tsecr: u32) -> bool {
        let Some((cwnd, ssthresh, rtx_ts)) = self.rec.undo.take() else {
            return false;
        };
        if tsecr != 0 && (tsecr.wrapping_sub(rtx_ts) as i32) < 0 {
            self.cc.restore(self.snd.mss, cwnd, ssthresh);
            self.stats.spurious_timeouts += 1;
            // No going back N after all, so no duplicates of it to guard against (RFC 6582
            // 4.1, the reason for `recover`): data sent before the timeout and lost is found
            // by duplicate ACKs again, as Linux does once it undoes. Else it would wait for a
            // second timeout.
            self.rec.recover = self.snd.una;
            debug!(quad = %self.quad, cwnd, "tcp: the timeout was spurious, window restored");
            return true;
        }
        false
    }
}

/// Loss recovery's state: what the peer's duplicate ACKs and SACK blocks showed, what was
/// resent, and what to undo if it was not lost after all.
#[derive(Debug)]
pub(crate) struct Recovery {
    /// What the peer's SACK blocks say it holds.
    pub(crate) scoreboard: super::sack::Scoreboard,
    /// Duplicate ACKs in a row.
    pub(crate) dupacks: u32,
    /// In fast recovery until the cumulative ACK reaches this (RFC 6675 RecoveryPoint).
    pub(crate) point: Option<Pos>,
    /// The highest sequence number sent when the last recovery or timeout began (RFC 6582
    /// "recover"): duplicate ACKs for data before it start no new recovery.
    pub(crate) recover: Pos,
    /// The highest sequence number retransmitted in this recovery (RFC 6675 HighRxt).
    pub(crate) high_rxt: Pos,
    /// A fast retransmission of SND.UNA's segment is due.
    pub(crate) rtx_now: bool,
    /// Tail loss probes are on (configuration).
    pub(crate) tail_loss_probes: bool,
    /// When a tail loss probe is due if no ACK comes first (RFC 8985 PTO).
    pub(crate) probe_timeout_at: Option<Instant>,
    /// A tail loss probe is to be sent now.
    pub(crate) tail_probe_now: bool,
    /// A probe is out: SND.MAX after it was sent (RFC 8985 TLP.end_seq).
    pub(crate) tail_probe_end: Option<Pos>,
    /// The probe out resent data (rather than sending new data).
    pub(crate) tail_probe_resent: bool,
    /// The peer reported the probe's data as a duplicate (D-SACK): the probe repaired nothing.
    pub(crate) tail_probe_dsacked: bool,
    /// Where the probe out begins: data below it not held by the peer when the probe is, was
    /// sent before the probe and is lost.
    pub(crate) tail_probe_start: Pos,
    /// In recovery, unSACKed data below this is deemed lost, besides what the scoreboard's
    /// DupThresh rule says (set when a tail loss probe arrived before it).
    pub(crate) lost_below_probe: Option<Pos>,
    /// SND.MAX when SND.UNA's segment was last resent in this recovery: once data sent after
    /// that reaches the peer while SND.UNA stays, the retransmission was lost too.
    pub(crate) una_resent_at: Option<Pos>,
    /// That retransmission was lost too: SND.UNA's segment goes again when the pipe has room.
    pub(crate) una_lost_again: bool,
    /// NewReno without SACK: the window inflation by duplicate ACKs during recovery.
    pub(crate) inflation: usize,
    /// What to restore if the last timeout turns out spurious: (cwnd, ssthresh, timestamp of
    /// the retransmission).
    pub(crate) undo: Option<(usize, usize, u32)>,
    /// The window and threshold before this recovery cut them, and how many segments it has
    /// resent: a recovery that ends having resent nothing found no loss, and is undone.
    /// Kept after the recovery ends, until the next loss: D-SACKs for every resent segment,
    /// arriving after the ACK that ended it, also undo it.
    pub(crate) recovery_undo: Option<(usize, usize)>,
    pub(crate) resent: u32,
    /// SND.UNA when the last recovery began: D-SACKs below it are about older episodes.
    pub(crate) undo_from: Pos,
}

impl Recovery {
    /// The state a connection starts with.
    pub(crate) fn new(config: &TcpConfig) -> Recovery {
        Recovery {
            scoreboard: Default::default(),
            dupacks: 0,
            point: None,
            recover: Pos::SYN,
            high_rxt: Pos::SYN,
            rtx_now: false,
            tail_loss_probes: config.tail_loss_probes,
            probe_timeout_at: None,
            tail_probe_now: false,
            tail_probe_end: None,
            tail_probe_resent: false,
            tail_probe_dsacked: false,
            tail_probe_start: Pos::SYN,
            lost_below_probe: None,
            una_resent_at: None,
            una_lost_again: false,
            inflation: 0,
            undo: None,
            recovery_undo: None,
            resent: 0,
            undo_from: Pos::SYN,
        }
    }

    /// A cumulative ACK moved SND.UNA to `ack`: the scoreboard forgets what lies before it,
    /// and the count of duplicates starts over.
    pub(crate) fn cumulative_ack(&mut self, ack: Pos) {
        self.scoreboard.prune(ack);
        self.dupacks = 0;
    }

    /// A segment of `len` positions at `seq` went again for loss recovery (`why`); `una` and
    /// `max` are SND.UNA and SND.MAX then.
    pub(crate) fn resent_segment(&mut self, seq: Pos, len: usize, why: Resend, una: Pos, max: Pos) {
        self.high_rxt = self.high_rxt.max(seq + len);
        if seq == una {
            // If data sent after now reaches the peer while SND.UNA stays, this was lost too.
            self.una_resent_at = Some(max);
            self.una_lost_again = false;
        }
        self.resent += 1;
        if why == Resend::Fast {
            self.rtx_now = false;
        }
    }

    /// The fast retransmission asked for has nothing to send.
    pub(crate) fn nothing_to_resend(&mut self) {
        self.rtx_now = false;
    }

    /// The tail loss probe asked for has nothing to send.
    pub(crate) fn no_tail_probe(&mut self) {
        self.tail_probe_now = false;
    }

    /// No tail loss probe is due any more (a timeout, or the connection ended).
    pub(crate) fn cancel_tail_probe(&mut self) {
        self.probe_timeout_at = None;
        self.tail_probe_now = false;
        self.tail_probe_end = None;
    }
}
