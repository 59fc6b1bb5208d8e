//! TCP input: what a connection does when a segment arrives ([RFC 9293 3.10.7]).
//!
//! The RFC describes segment arrival as numbered checks, one state group at a time. The code
//! below keeps that order and those numbers, so it can be read side by side with the RFC:
//!
//! - SYN-SENT (3.10.7.3): first the ACK, second the RST, fourth the SYN;
//! - every other state (3.10.7.4): first the sequence number, second the RST, fourth the SYN,
//!   fifth the ACK, sixth the URG bit (in `urgent.rs`), seventh the text, eighth the FIN. (The
//!   third, security, has nothing to do here: this stack sets no security labels.)
//!
//! The RST and SYN checks are hardened as [RFC 5961] asks, so that a blind attacker who guesses
//! a sequence number somewhere in the window gets a challenge ACK instead of a reset.
//!
//! CLOSED and LISTEN (3.10.7.1 and 3.10.7.2) need no connection and live in [`super::TcpLayer`].
//!
//! [RFC 9293 3.10.7]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7
//! [RFC 5961]: https://www.rfc-editor.org/rfc/rfc5961

use std::io;

use bytes::Bytes;
use tracing::{debug, trace};

use super::config::{DEFAULT_MSS, MAX_WINDOW_SHIFT, MIN_MSS};
use super::connection::Connection;
use super::header::Repr;
use super::pos::Pos;
use super::seq::SeqNumber;
use super::state::State;
use super::syn_queue::PeerSyn;
use super::why::{ResetWhy, Why};
use crate::time::Instant;

/// A segment for a connection: its header and its data.
#[derive(Debug)]
pub(crate) struct Segment<'a> {
    pub(crate) header: Repr,
    pub(crate) payload: &'a [u8],
    /// The buffer the payload came in, when the receive buffer may keep a slice of it
    /// instead of a copy (see `recv_buffer.rs`).
    pub(crate) packet: Option<&'a Bytes>,
}

/// How long TS.Recent stays valid on an idle connection (RFC 7323 5.5: 24 days, as the
/// peer's timestamp clock may have wrapped past half its range since).
const PAWS_IDLE: std::time::Duration = std::time::Duration::from_secs(24 * 24 * 3600);

/// A segment as the connection sees it: its numbers unwrapped to positions in the two
/// streams (`pos.rs`), against RCV.NXT and SND.UNA.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrived<'a> {
    /// The header as it came: flags, window, options.
    pub(crate) h: &'a Repr,
    /// Where the segment begins in the peer's stream (its SYN, or its first byte).
    pub(crate) seq: Pos,
    /// What it acknowledges of ours (meaningful with the ACK flag only).
    pub(crate) ack: Pos,
    pub(crate) payload: &'a [u8],
}

/// What the connection asks the layer to send besides its own next segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Nothing more.
    None,
    /// A reset with this sequence number (and this ACK, when given).
    Rst {
        seq: SeqNumber,
        ack: Option<SeqNumber>,
        /// Why, for the capture's comment.
        why: ResetWhy,
    },
    /// A challenge ACK (RFC 5961), if the rate limit allows.
    ChallengeAck,
}

impl Connection {
    /// Handles one segment for this connection.
    pub(crate) fn on_segment(&mut self, now: Instant, seg: &Segment<'_>) -> Reply {
        self.stats.segments_in += 1;
        match self.state {
            State::SynSent => {
                self.heard_from_peer(now);
                self.on_segment_syn_sent(now, seg)
            }
            // A closed connection only waits for its handle to go; its segments are the
            // layer's to answer.
            State::Closed | State::Listen => Reply::None,
            _ => self.on_segment_synchronized(now, seg),
        }
    }

    /// RFC 9293 3.10.7.3: SYN-SENT.
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &Segment<'_>) -> Reply {
        let h = &seg.header;
        let ack = Pos::unwrap(h.ack, self.snd.iss, self.snd.una);

        // First, check the ACK bit: it must acknowledge our SYN and nothing we never sent.
        if h.flags.ack() && (ack <= Pos::SYN || ack > self.snd.max) {
            if h.flags.rst() {
                return Reply::None;
            }
            debug!(quad = %self.quad, ack = %h.ack, "tcp: SYN-SENT: unacceptable ACK, reset");
            return Reply::Rst {
                seq: h.ack,
                ack: None,
                why: ResetWhy::NotOurSyn,
            };
        }

        // Second, check the RST bit: with an acceptable ACK, the peer refused us.
        if h.flags.rst() {
            if h.flags.ack() {
                self.fail(io::ErrorKind::ConnectionRefused);
            }
            return Reply::None;
        }

        // Fourth, check the SYN bit.
        if !h.flags.syn() {
            return Reply::None;
        }
        self.learn_peer(&PeerSyn::of(h));
        if h.flags.ack() {
            // Our SYN is acknowledged: the connection is open; ACK the peer's SYN.
            self.snd.acknowledged(ack);
            if let Some(rtt) = self.timers.syn_acknowledged(now, ack) {
                self.rtt_sample(rtt);
            }
            self.update_window(h, Pos::SYN, ack, true);
            self.set_state(State::Established);
            self.rcv.owe_ack(false);
            self.why = Some(Why::HandshakeAck);
        } else {
            // Simultaneous open: both sent SYN. Answer with SYN-ACK, same ISS (3.10.7.3).
            self.update_window(h, Pos::SYN, self.snd.una, true);
            self.snd.send_syn_again();
            self.set_state(State::SynReceived);
        }
        Reply::None
    }

    /// What the peer's SYN tells us: its ISN, MSS and window scale (RFC 9293 3.7.1, RFC 7323).
    pub(crate) fn learn_peer(&mut self, h: &PeerSyn) {
        self.rcv.start(h.irs, h.window_scale);
        let peer_mss = h.mss.map_or(DEFAULT_MSS, usize::from);
        // Scaling is on only if both SYNs carry the option; then each side scales its own.
        let shift = h.window_scale.map(|shift| shift.min(MAX_WINDOW_SHIFT));
        self.snd
            .start(peer_mss.max(MIN_MSS).min(self.our_mss), shift);
        self.cc.start(self.snd.mss);
        // SACK and timestamps, like scaling, are on only if both SYNs carry them.
        self.sack_ok = self.sack_wanted && h.sack_permitted;
        self.ts_ok = self.ts_wanted && h.ts_value.is_some();
        if let Some(value) = h.ts_value {
            self.ts_recent = value;
        }
    }

    /// RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states, step by step in the RFC's
    /// order. (The third step, security, has nothing to do: this stack sets no labels.)
    fn on_segment_synchronized(&mut self, now: Instant, seg: &Segment<'_>) -> Reply {
        let h = &seg.header;
        let a = Arrived {
            h,
            seq: Pos::unwrap(h.seq, self.rcv.irs, self.rcv.nxt),
            ack: Pos::unwrap(h.ack, self.snd.iss, self.snd.una),
            payload: seg.payload,
        };
        let wnd = self.rcv.wnd();
        if let Some(reply) = self.first_check_sequence(now, &a, wnd) {
            return reply;
        }
        if h.flags.rst() {
            return self.second_check_rst(a.seq, wnd);
        }
        // An acceptable segment: the peer is there. (Its keep-alive probes are not acceptable,
        // so that they do not stop ours: Linux counts them the same way.)
        self.heard_from_peer(now);
        self.update_ts_recent(now, &a);
        if h.flags.syn() {
            return self.fourth_check_syn();
        }
        // Trim what lies before RCV.NXT or beyond the window.
        let (seq, data, fin) = self.rcv.trim(a.seq, a.payload, h.flags.fin(), wnd);
        if !h.flags.ack() {
            return Reply::None;
        }
        if let Some(reply) = self.fifth_check_ack(now, &a) {
            return reply;
        }
        if self.state == State::Closed {
            return Reply::None;
        }
        self.sixth_check_urg(&a);
        let sent = a.payload.len();
        if let Some(reply) = self.seventh_process_text(now, (seq, data, seg.packet), sent) {
            return reply;
        }
        self.eighth_check_fin(now, seq + data.len(), fin);
        Reply::None
    }

    /// First, check the sequence number: PAWS ([RFC 7323 5.3]) and the acceptability test.
    /// `Some` drops the segment (with an ACK owed, or a reply). RSTs go on to the second step,
    /// which judges their number more strictly (RFC 5961 3.2); SYNs of any number earn a
    /// rate-limited challenge ACK (RFC 5961 4.2), in the window or not.
    ///
    /// [RFC 7323 5.3]: https://www.rfc-editor.org/rfc/rfc7323#section-5.3
    fn first_check_sequence(&mut self, now: Instant, a: &Arrived<'_>, wnd: usize) -> Option<Reply> {
        let h = a.h;
        if h.flags.rst() {
            return None;
        }
        if self.state == State::SynReceived && h.flags.syn() && !h.flags.ack() && a.seq == Pos::SYN
        {
            // The peer sent its SYN again: our SYN-ACK was lost. Send it again now rather
            // than a bare ACK the peer in SYN-SENT would drop (Linux does the same).
            self.snd.send_syn_again();
            return Some(Reply::None);
        }
        if h.flags.syn() {
            debug!(quad = %self.quad, "tcp: SYN in a synchronized state");
            return Some(Reply::ChallengeAck);
        }
        if self.paws_rejects(now, h) {
            self.stats.paws_rejected += 1;
            debug!(quad = %self.quad, seq = %a.seq, "tcp: PAWS: an old timestamp, dropped");
            self.rcv.owe_ack(false);
            return Some(Reply::None);
        }
        self.rcv.note_old_data(self.sack_ok, a.seq, a.payload.len());
        if self.rcv.acceptable(a.seq, h.segment_len(), wnd) {
            return None;
        }
        // Not for this window: an old duplicate or a probe. Answer with an ACK that says
        // where we are, then drop it.
        debug!(quad = %self.quad, seq = %a.seq, rcv_nxt = %self.rcv.nxt, wnd, "tcp: segment outside the window");
        if self.state == State::TimeWait && h.flags.fin() {
            // The peer did not get our last ACK: it resent its FIN. Restart 2 MSL.
            self.timers.start_time_wait(now);
        }
        self.rcv.owe_ack(false);
        Some(Reply::None)
    }

    /// PAWS ([RFC 7323 5.3] R1): a segment whose timestamp is older than TS.Recent is an old
    /// duplicate from an earlier lap of the sequence numbers, not to be accepted. TS.Recent
    /// stops being valid when the connection has been idle for 24 days (5.5: the peer's
    /// clock may since have wrapped past half its range), and RSTs are judged without it.
    ///
    /// [RFC 7323 5.3]: https://www.rfc-editor.org/rfc/rfc7323#section-5.3
    fn paws_rejects(&mut self, now: Instant, h: &Repr) -> bool {
        let Some(ts) = h.timestamps.filter(|_| self.ts_ok) else {
            return false;
        };
        let Some(set_at) = self.ts_recent_at else {
            return false;
        };
        if now - set_at > PAWS_IDLE {
            // RFC 7323 5.5: invalidate TS.Recent, accept this segment, and take its timestamp.
            self.ts_recent_at = None;
            return false;
        }
        (ts.value.wrapping_sub(self.ts_recent) as i32) < 0
    }

    /// RFC 7323 4.3: TS.Recent follows the timestamps of segments at the left edge of the
    /// window (not beyond what we last acknowledged), and never moves back.
    fn update_ts_recent(&mut self, now: Instant, a: &Arrived<'_>) {
        let Some(ts) = a.h.timestamps.filter(|_| self.ts_ok) else {
            return;
        };
        let newer =
            self.ts_recent_at.is_none() || (ts.value.wrapping_sub(self.ts_recent) as i32) >= 0;
        if a.seq <= self.rcv.nxt && newer {
            self.ts_recent = ts.value;
            self.ts_recent_at = Some(now);
        }
    }

    /// Second, check the RST bit (RFC 5961 3.2): only an exact match resets; anywhere else in
    /// the window earns a challenge ACK; outside it, nothing.
    fn second_check_rst(&mut self, seq: Pos, wnd: usize) -> Reply {
        if seq != self.rcv.nxt {
            if seq > self.rcv.nxt && seq - self.rcv.nxt < wnd {
                debug!(quad = %self.quad, %seq, "tcp: RST inside the window but not exact");
                return Reply::ChallengeAck;
            }
            return Reply::None;
        }
        debug!(quad = %self.quad, state = %self.state, "tcp: reset by the peer");
        match self.state {
            // RFC 9293 note 1: a passively opened connection goes back to LISTEN, i.e. this
            // half-open one is forgotten; an actively opened one was refused.
            State::SynReceived if self.passive => {
                self.orphaned = true;
                self.set_state(State::Closed);
            }
            State::SynReceived => self.fail(io::ErrorKind::ConnectionRefused),
            // The peer could not wait for our last ACK: the close is over all the same.
            State::Closing | State::LastAck | State::TimeWait => self.set_state(State::Closed),
            _ => self.fail(io::ErrorKind::ConnectionReset),
        }
        Reply::None
    }

    /// Fourth, check the SYN bit: in a synchronized state, a challenge ACK whatever its
    /// sequence number (RFC 5961 4.2); the first step already answered it.
    fn fourth_check_syn(&self) -> Reply {
        Reply::ChallengeAck
    }

    /// Fifth, check the ACK field. `Some` ends processing of this segment.
    fn fifth_check_ack(&mut self, now: Instant, a: &Arrived<'_>) -> Option<Reply> {
        if self.state == State::SynReceived {
            // Our SYN-ACK must be what it acknowledges; then the handshake is complete.
            if a.ack > self.snd.una && a.ack <= self.snd.max {
                self.update_window(a.h, a.seq, a.ack, false);
                self.set_state(State::Established);
            } else {
                return Some(Reply::Rst {
                    seq: a.h.ack,
                    ack: None,
                    why: ResetWhy::NotOurSynAck,
                });
            }
        }
        // RFC 5961 5.2: acceptable only within (SND.UNA - MAX.SND.WND) ..= SND.NXT.
        if a.ack > self.snd.max {
            debug!(quad = %self.quad, ack = %a.ack, "tcp: ACK for data never sent");
            self.rcv.owe_ack(false);
            return Some(Reply::None);
        }
        if a.ack < self.snd.una && self.snd.una - a.ack > self.snd.max_wnd {
            debug!(quad = %self.quad, ack = %a.ack, "tcp: ACK too old");
            return Some(Reply::ChallengeAck);
        }
        self.take_ack(now, a);
        if self.snd.wl1 < a.seq || (self.snd.wl1 == a.seq && self.snd.wl2 <= a.ack) {
            self.update_window(a.h, a.seq, a.ack, false);
        }
        self.rearm_after_ack(now);
        None
    }

    /// An acceptable ACK: new data acknowledged, or a duplicate; what its SACK blocks say.
    fn take_ack(&mut self, now: Instant, a: &Arrived<'_>) {
        let sack_news = self.take_sack_blocks(a.h, a.ack);
        if a.ack > self.snd.una {
            self.ack_advance(now, a.h, a.ack);
            if sack_news {
                self.on_sack_with_progress(now);
            }
        } else if self.is_duplicate_ack(a.h, a.ack, sack_news) {
            self.on_duplicate_ack(now, sack_news);
        }
        if sack_news {
            self.check_lost_retransmission();
            self.check_tail_probe_sacked(now);
        }
    }

    /// After an ACK: the persist or retransmission timer, and the closing states once our FIN
    /// is acknowledged.
    fn rearm_after_ack(&mut self, now: Instant) {
        if self.snd.wnd == 0 && !self.snd.buf.is_empty() {
            // A closed window: probe it instead of timing out (RFC 9293 3.8.6.1).
            self.timers.stop_retransmit();
            self.arm_persist(now);
        } else if self.snd.una < self.snd.max {
            // Data is in flight again (after probing a closed window): time it.
            self.timers.ensure_retransmit(now);
        }
        if self.snd.fin_acked() {
            match self.state {
                State::FinWait1 => self.set_state(State::FinWait2),
                State::Closing => self.enter_time_wait(now),
                State::LastAck => self.set_state(State::Closed),
                _ => {}
            }
        }
    }

    /// SND.UNA moves to `ack`: drop what is acknowledged, take an RTT sample, grow the
    /// window (or go on with recovery), restart the timer.
    fn ack_advance(&mut self, now: Instant, h: &Repr, ack: Pos) {
        // Whether the window was in use: an application that sends little, or a receiver's
        // small window, does not show that the network can take a larger one (RFC 7661).
        let in_flight = self.snd.in_flight();
        let cwnd_limited = in_flight * 2 >= self.cc.ctl.window();
        let data = self.snd.acknowledged(ack);
        self.rec.cumulative_ack(ack);
        self.made_progress(now);
        let segment_rtt = self.segment_rtt(now, ack);
        let echo = h.timestamps.map_or(0, |ts| ts.echo);
        if self.ts_ok && self.detect_spurious_timeout(echo) {
            // The original segments arrived after all: go on from where we were. The echoed
            // timestamp is the original's, so `now - echo` spans the timeout too: no sample.
            self.snd.resume();
            self.timers.no_timestamp_sample();
        }
        self.take_rtt_sample(now, ack, echo);
        // Congestion control counts data only: SYN and FIN take sequence space but are not
        // data, and RFC 5681 3.1 grows cwnd for ACKs "that cumulatively acknowledge new data".
        if self.rec.point.is_some() {
            self.on_ack_in_recovery(data);
        } else if data > 0 {
            let grow = self.slow_start_growth(now, ack, echo, segment_rtt, data);
            if cwnd_limited {
                self.cc.ctl.on_ack(now, grow, self.timers.rtt.srtt());
            }
            trace!(
                quad = %self.quad,
                cwnd = self.cc.ctl.window(),
                ssthresh = self.cc.ctl.ssthresh(),
                "tcp: congestion window grows"
            );
        }
        // RFC 6298 5.2 and 5.3: all acknowledged, stop the timer; else restart it.
        self.timers
            .restart_retransmit(now, self.snd.una < self.snd.max);
        self.tail_probe_acked(now, ack, in_flight);
        self.arm_tail_loss_probe(now);
        if data > 0 {
            self.wake_writers();
        }
    }

    /// An RTT sample from the ACK of `ack`: from the timed segment, or, with timestamps,
    /// from the echo. Karn's rule holds because `timed` is cleared whenever anything is sent
    /// again; with timestamps, the echo names the copy that was acknowledged, so a sample is
    /// possible even then (RFC 7323 4.1).
    fn take_rtt_sample(&mut self, now: Instant, ack: Pos, echo: u32) {
        let echoed = (self.ts_ok && echo != 0).then(|| self.ts_clock(now).wrapping_sub(echo));
        if let Some(rtt) = self.timers.rtt_sample_for(now, ack, echoed) {
            self.rtt_sample(rtt);
        }
    }

    /// In the first slow start, HyStart++ (`congestion/hystart.rs`) may slow the growth down
    /// or end slow start: returns how many of the `data` bytes acknowledged count for growth.
    /// The RTT sample is this ACK's: `segment_rtt` (the newest segment it covers, sent once),
    /// else its echoed timestamp.
    fn slow_start_growth(
        &mut self,
        now: Instant,
        ack: Pos,
        echo: u32,
        segment_rtt: Option<std::time::Duration>,
        data: usize,
    ) -> usize {
        use super::congestion::hystart::{Growth, Phase, CSS_GROWTH_DIVISOR};
        if self.cc.ctl.window() >= self.cc.ctl.ssthresh() {
            return data;
        }
        // The RTT of the newest segment this ACK covers, sent once; else from the echoed
        // timestamp (in milliseconds only).
        let rtt = segment_rtt.or_else(|| {
            (self.ts_ok && echo != 0)
                .then(|| self.ts_clock(now).wrapping_sub(echo))
                .filter(|&ms| ms < 60_000)
                .map(|ms| std::time::Duration::from_millis(u64::from(ms)))
        });
        let before = self.cc.hystart.phase;
        match self.cc.hystart.on_ack(ack, self.snd.max, rtt) {
            Growth::Conservative => {
                if before == Phase::SlowStart {
                    self.stats.conservative_slow_starts += 1;
                    debug!(
                        quad = %self.quad,
                        cwnd = self.cc.ctl.window(),
                        "tcp: HyStart++: the RTT grew, conservative slow start"
                    );
                }
                data / CSS_GROWTH_DIVISOR
            }
            Growth::EndSlowStart => {
                self.cc.ctl.end_slow_start();
                self.stats.hystart_exits += 1;
                debug!(
                    quad = %self.quad,
                    cwnd = self.cc.ctl.window(),
                    "tcp: HyStart++: slow start ends before a loss, congestion avoidance"
                );
                data
            }
            Growth::SlowStart | Growth::Unchanged => data,
        }
    }

    /// Forgets the send times of the segments `ack` covers; the RTT of the newest of them.
    fn segment_rtt(&mut self, now: Instant, ack: Pos) -> Option<std::time::Duration> {
        let mut newest = None;
        while let Some(&(end, sent)) = self.timers.sent_times.front() {
            if end > ack {
                break;
            }
            newest = Some(sent);
            self.timers.sent_times.pop_front();
        }
        newest.map(|sent| now - sent)
    }

    /// SND.WND from the segment (RFC 9293 3.10.7.4, fifth step), which begins at `seq` and
    /// acknowledges `ack`; the window of a SYN is never scaled (RFC 7323 2.2).
    fn update_window(&mut self, h: &Repr, seq: Pos, ack: Pos, syn: bool) {
        let old = self.snd.update_window(h.window, syn, seq, ack);
        let probing = self.timers.persist_at.is_some() || self.timers.probe_now;
        if probing && self.snd.wnd > old {
            // The window opened (from zero, or from a sliver too small to use): the persist
            // timer's work is done; the normal path sends now.
            self.timers.window_opened();
            if old == 0 {
                // A probe's byte may not have been taken: send from SND.UNA again.
                self.snd.go_back();
            }
        }
    }

    /// Seventh, process the segment text: `data` is what is left at `seq` after trimming the
    /// `sent` bytes the segment carried (in `packet`, when it may be kept there). `Some` ends
    /// processing of this segment.
    fn seventh_process_text(
        &mut self,
        now: Instant,
        (seq, data, packet): (Pos, &[u8], Option<&Bytes>),
        sent: usize,
    ) -> Option<Reply> {
        if data.is_empty() {
            if sent > 0 {
                // All of it was old, or beyond the window or the peer's FIN: say where we are.
                self.rcv.owe_ack(false);
            }
            return None;
        }
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            return None; // after the peer's FIN: ignore (RFC 9293 3.10.7.4)
        }
        if self.orphaned {
            // Nobody will read this: tell the peer its data is lost (RFC 2525 2.17).
            debug!(quad = %self.quad, "tcp: data for a closed socket, reset");
            let reply = Reply::Rst {
                seq: self.wire_seq(self.ack_seq()),
                ack: Some(self.wire_ack()),
                why: ResetWhy::DataAfterClose,
            };
            self.fail(io::ErrorKind::ConnectionAborted);
            return Some(reply);
        }
        let advanced = self
            .rcv
            .take_data(now, (seq, data, packet), self.sack_ok, self.our_mss);
        if advanced > 0 {
            self.wake_readers();
        } else {
            debug!(quad = %self.quad, %seq, len = data.len(), "tcp: out-of-order segment held");
        }
        None
    }

    /// Eighth, check the FIN bit: note where the peer's stream ends (`end`, when the segment
    /// carried a FIN we kept); it is consumed once every byte before it has arrived.
    fn eighth_check_fin(&mut self, now: Instant, end: Pos, fin: bool) {
        if fin {
            self.rcv.note_fin(end);
        }
        self.consume_fin(now);
    }

    /// Consumes the peer's FIN once every byte before it has arrived.
    fn consume_fin(&mut self, now: Instant) {
        if !self.rcv.consume_fin() {
            return;
        }
        self.wake_readers();
        match self.state {
            State::SynReceived | State::Established => self.set_state(State::CloseWait),
            State::FinWait1 if self.snd.fin_acked() => self.enter_time_wait(now),
            State::FinWait1 => self.set_state(State::Closing),
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    /// Both FINs are acknowledged: wait 2 MSL before forgetting the connection.
    pub(crate) fn enter_time_wait(&mut self, now: Instant) {
        self.set_state(State::TimeWait);
        self.timers.stop_retransmit();
        self.timers.start_time_wait(now);
    }
}
