//! After a segment has gone: what it changes in the connection.
//!
//! `output.rs` decides what to send; once the segment is on its way, the send side moves
//! (SND.NXT, SND.MAX), loss recovery counts its resends, the timers start or stop and time it
//! for an RTT sample (Karn's rule for one sent twice), and the reason it went is settled for
//! the capture.

use tracing::debug;

use super::connection::Connection;
use super::flags::Flags;
use super::output::Plan;
use super::recovery::Resend;
use super::state::State;
use super::why::Why;
use crate::time::Instant;

impl Connection {
    /// Bookkeeping once a segment has gone (as `segments` on the wire: more than one for a
    /// burst): sequence numbers, timers, counters. Returns why it was sent, for the capture.
    pub(super) fn after_sending(
        &mut self,
        now: Instant,
        plan: &Plan,
        segments: usize,
    ) -> Option<Why> {
        self.stats.segments_out += segments as u64;
        if plan.flags.ack() {
            self.rcv.ack_sent();
        }
        let len = plan.len + usize::from(plan.flags.syn()) + usize::from(plan.flags.fin());
        let resent = plan.seq < self.snd.max && !plan.probe;
        if len > 0 {
            self.started_waiting(now);
            match plan.resend {
                Some(why) => self.after_resending(plan, len, why),
                None => self.after_sending_new(plan, len),
            }
            if resent {
                self.after_retransmission(plan, segments);
            } else {
                self.time_new_segment(now, plan, len);
            }
        }
        if plan.probe {
            // A probe is answered by an ACK, not timed out: the persist timer stays in charge.
            self.timers.window_probe_sent();
            self.stats.window_probes += 1;
            self.arm_persist(now);
            return Some(Why::WindowProbe {
                n: self.timers.persist_backoff,
            });
        }
        if len > 0 {
            self.timers.ensure_retransmit(now);
        }
        if plan.tail_probe {
            self.after_tail_loss_probe(now, plan.seq, plan.resend.is_some());
            if plan.resend.is_none() && self.why.is_none() {
                self.why = Some(Why::TailProbeNew);
            }
        } else if len > 0 && plan.resend.is_none() && !resent {
            // New data went out: a probe is due if no ACK comes (RFC 8985 7.2).
            self.arm_tail_loss_probe(now);
        }
        self.why.take().or_else(|| describe(plan.flags, self.state))
    }

    /// Loss recovery filled a hole: SND.NXT stays where new data goes on.
    fn after_resending(&mut self, plan: &Plan, len: usize, why: Resend) {
        self.rec
            .resent_segment(plan.seq, len, why, self.snd.una, self.snd.max);
        match why {
            Resend::Fast => self.stats.fast_retransmissions += 1,
            Resend::Sack => self.stats.sack_retransmissions += 1,
            Resend::Probe => {}
        }
    }

    /// New data (or data again after a timeout): SND.NXT and SND.MAX move on.
    fn after_sending_new(&mut self, plan: &Plan, len: usize) {
        let small = plan.len > 0 && plan.len < self.segment_size();
        self.snd.sent(plan.seq, len, small);
        // Below the unsent limit again, a writer waiting on it may go on.
        self.wake_writers_if_room();
    }

    /// Something went a second time: count it, name it, and take no RTT sample from it.
    fn after_retransmission(&mut self, plan: &Plan, segments: usize) {
        self.stats.retransmissions += segments as u64;
        if self.why.is_none() {
            self.why = Some(match plan.resend {
                Some(Resend::Sack) => Why::SackHole,
                Some(Resend::Fast) => Why::FastRetransmitMore,
                Some(Resend::Probe) => Why::TailProbeAgain,
                None => Why::GoBack,
            });
        }
        debug!(quad = %self.quad, seq = %plan.seq, len = plan.len, why = ?self.why, "tcp: retransmission");
        self.timers.segment_resent();
    }

    /// A segment sent for the first time: time it for an RTT sample.
    fn time_new_segment(&mut self, now: Instant, plan: &Plan, len: usize) {
        if plan.probe {
            return;
        }
        // A burst is timed as its segments would be, one by one: the RTT sample comes from
        // the ACK of its first segment, and each segment's end has its send time.
        let segment = self.segment_size();
        let (data_end, mut at) = (plan.seq + plan.len, plan.seq);
        while data_end - at > segment {
            at += segment;
            self.timers.segment_sent(now, at, at);
        }
        self.timers.segment_sent(now, self.snd.nxt, plan.seq + len);
    }
}

/// Why a segment without another reason was sent, when its flags say.
fn describe(flags: Flags, state: State) -> Option<Why> {
    if flags.syn() && flags.ack() {
        Some(Why::SynAck)
    } else if flags.syn() {
        Some(Why::Syn)
    } else if flags.fin() {
        Some(match state {
            State::LastAck => Why::FinPassive,
            _ => Why::Fin,
        })
    } else {
        None
    }
}
