//! Tail loss probe ([RFC 8985 section 7]): when the ACKs stop, probe before the timeout.
//!
//! Duplicate ACKs can only report a loss if segments after it arrive. When the last segments
//! of a flight are lost (a "tail loss"), or when every ACK of a small flight is lost, nothing
//! comes back, and the sender waits for the retransmission timeout: at least 200 ms, followed
//! by a slow start from one segment. A probe goes out much sooner, after two round-trip times
//! without an ACK:
//!
//! ```text
//!  sender                          receiver
//!    │──── 1 ───────────────────────►│  ACK 2
//!    │──── 2 ───────── ✗             │
//!    │──── 3 ───────── ✗             │
//!    │        (2 × SRTT, no ACK)
//!    │──── 3 again (the probe) ─────►│  ACK 2, SACK 3
//!    │──── 2 again (SACK recovery)  ►│  ACK 4
//! ```
//!
//! The probe is new data if the peer's window lets some go, else the last segment sent. Its
//! ACK carries SACK blocks, and the usual loss recovery takes it from there; only if the probe
//! too goes unanswered does the retransmission timer fire. One probe per flight.
//!
//! A probe that was a retransmission and is acknowledged without a recovery having begun may
//! have repaired a loss on its own: then the congestion window shrinks as in fast recovery
//! (RFC 8985 section 7.4.2). Or the original arrived after all, and the peer got the probe's
//! data twice; its ACK then says so in a D-SACK block ([RFC 2883]), and the window stays.
//!
//! [RFC 8985 section 7]: https://www.rfc-editor.org/rfc/rfc8985#section-7
//! [RFC 2883]: https://www.rfc-editor.org/rfc/rfc2883

use std::time::Duration;

use tracing::debug;

use super::connection::Connection;
use super::pos::Pos;
use super::state::State;
use super::why::Why;
use crate::time::Instant;

/// The longest a receiver may delay the ACK of a lone segment (RFC 8985 "WCDelAckT"): a probe
/// timeout for a flight of one segment allows for it.
const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);

/// The shortest probe timeout: on a path of microseconds, two round trips are shorter than the
/// time it takes a busy receiver to answer.
const MIN_PROBE_TIMEOUT: Duration = Duration::from_millis(10);

impl Connection {
    /// Arms the probe timeout (PTO) after new data went out or an ACK moved SND.UNA (RFC 8985
    /// 7.2): 2 × SRTT, plus the worst-case delayed ACK if only one segment is out, and only if
    /// that is sooner than the retransmission timeout. Not in loss recovery, not after a
    /// timeout, not while a probe is out, and only with SACK (the probe's ACK must say what is
    /// missing).
    pub(crate) fn arm_tail_loss_probe(&mut self, now: Instant) {
        self.rec.probe_timeout_at = None;
        let open = matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        );
        let Some(srtt) = self.timers.rtt.srtt() else {
            return;
        };
        if !self.rec.tail_loss_probes
            || !self.sack_ok
            || !open
            || self.rec.point.is_some()
            || self.timers.retries > 0
            || self.rec.tail_probe_end.is_some()
            || self.snd.una == self.snd.max
            || self.snd.nxt < self.snd.max
            || self.timers.persist_at.is_some()
        {
            return;
        }
        let mut pto = srtt * 2;
        if self.snd.in_flight() <= self.snd.mss {
            pto += WORST_CASE_DELAYED_ACK;
        }
        let at = now + pto.max(MIN_PROBE_TIMEOUT);
        if self.timers.retransmit_at.is_some_and(|rto| at < rto) {
            self.rec.probe_timeout_at = Some(at);
        }
    }

    /// The probe timeout expired: a probe is due.
    pub(crate) fn on_probe_timeout(&mut self) {
        self.rec.probe_timeout_at = None;
        if self.rec.point.is_none() && self.snd.una < self.snd.max {
            self.rec.tail_probe_now = true;
            debug!(quad = %self.quad, "tcp: no ACK for 2 × SRTT, a tail loss probe is due");
        }
    }

    /// What the probe resends when no new data can go: the last segment sent, `(seq, len,
    /// fin)`, FIN included if it was.
    pub(crate) fn last_segment(&self) -> (Pos, usize, bool) {
        let data_end = match self.snd.fin {
            Some(fin) if fin < self.snd.max => fin,
            _ => self.snd.max,
        };
        let fin = data_end < self.snd.max;
        let len = (data_end - self.snd.una.max(self.snd.data_start())).min(self.segment_size());
        (data_end - len, len, fin)
    }

    /// The probe went out: the retransmission timer runs again from now (RFC 8985 7.3), and
    /// no other probe goes until this one is acknowledged.
    pub(crate) fn after_tail_loss_probe(&mut self, now: Instant, start: Pos, retransmission: bool) {
        self.rec.tail_probe_now = false;
        self.rec.tail_probe_start = start;
        self.rec.tail_probe_end = Some(self.snd.max);
        self.rec.tail_probe_resent = retransmission;
        self.rec.tail_probe_dsacked = false;
        self.stats.tail_loss_probes += 1;
        self.timers.arm_retransmit(now);
    }

    /// New SACK information while a probe is out: if the peer holds the probe but not data
    /// sent before it, that data is lost (the idea of RACK, RFC 8985 section 6: a segment sent
    /// later arrived first); recovery begins at once, and resends every hole below the probe.
    pub(crate) fn check_tail_probe_sacked(&mut self, now: Instant) {
        if self.rec.tail_probe_end.is_none()
            || self.rec.point.is_some()
            || self.snd.una >= self.rec.tail_probe_start
            || self.rec.scoreboard.sacked_beyond(self.rec.tail_probe_start) == 0
            || !self.after_recover()
        {
            return;
        }
        debug!(quad = %self.quad, "tcp: the tail loss probe arrived, data sent before it did not");
        self.enter_recovery(now);
        self.rec.lost_below_probe = Some(self.rec.tail_probe_start);
        self.why = Some(Why::LostBeforeProbe);
    }

    /// An ACK moved SND.UNA to `ack` (`in_flight` was in flight before it): the probe episode
    /// ends once the probe is acknowledged. A resent probe acknowledged with no recovery begun
    /// in between repaired a loss, and the congestion window answers as to a loss (RFC 8985
    /// 7.4.2), unless the peer's D-SACK said it already held the probe's data: then there was
    /// no loss. A recovery or a timeout ends the episode early, and answers for itself.
    pub(crate) fn tail_probe_acked(&mut self, now: Instant, ack: Pos, in_flight: usize) {
        let Some(end) = self.rec.tail_probe_end else {
            return;
        };
        if ack < end {
            return;
        }
        self.rec.tail_probe_end = None;
        if self.rec.tail_probe_resent && self.rec.tail_probe_dsacked {
            self.stats.unneeded_tail_probes += 1;
            debug!(quad = %self.quad, "tcp: the tail loss probe was not needed (D-SACK)");
        } else if self.rec.tail_probe_resent && self.rec.point.is_none() {
            self.cc.ctl.on_loss(now, in_flight);
            self.cc.hystart.stop();
            self.rec.recovery_undo = None;
            self.stats.tail_losses_repaired += 1;
            debug!(
                quad = %self.quad,
                cwnd = self.cc.ctl.window(),
                "tcp: the tail loss probe repaired a loss; the window shrinks as in fast recovery"
            );
        }
    }
}
