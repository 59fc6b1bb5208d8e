//! TCP's timers: retransmission ([RFC 6298]), tail loss probe (`tail_loss.rs`), persist
//! (zero-window probes, [RFC 9293 3.8.6.1]), TIME-WAIT ([RFC 9293 3.4.2]), delayed ACK,
//! keep-alive and the user timeout (`keepalive.rs`), the end of an orphaned FIN-WAIT-2, and
//! giving back the buffers of a quiet connection.
//!
//! Each is a deadline in the connection, never a sleeping task: the layer asks every
//! connection for its earliest deadline ([`Connection::poll_at`]) and calls
//! [`Connection::on_timer`] once the time has come.
//!
//! [RFC 6298]: https://www.rfc-editor.org/rfc/rfc6298
//! [RFC 9293 3.8.6.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.1
//! [RFC 9293 3.4.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.4.2

use std::io;
use std::time::Duration;

use tracing::debug;

use super::config::TcpConfig;
use super::connection::Connection;
use super::output::MAX_SENT_TIMES;
use super::pos::Pos;
use super::rto::RttEstimator;
use super::state::State;
use super::why::Why;
use crate::time::Instant;

/// Zero-window probes an orphaned connection sends before it gives up (RFC 6429; Linux's
/// `tcp_orphan_retries` defaults to 8).
const ORPHAN_PROBES: u32 = 8;

/// How long a connection's buffers stay allocated once empty and quiet: long enough that a
/// connection trading small messages keeps them from one message to the next (allocating and
/// zeroing 256 KiB twice per round trip costs more than the round trip on a fast link), short
/// enough that an idle one holds none for long.
const BUFFER_IDLE: Duration = Duration::from_secs(1);

impl Connection {
    /// The earliest of this connection's deadlines.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        [
            self.timers.retransmit_at,
            self.rec.probe_timeout_at,
            self.timers.persist_at,
            self.timers.time_wait_until,
            self.rcv.delack_at,
            self.keepalive_at(),
            self.user_timeout_at(),
            self.fin_wait2_until(),
            self.buffers_idle_until(),
        ]
        // Borrowed, not moved: moving the array into an iterator copies it (a `memcpy` call
        // per packet, since every packet touches its connection).
        .iter()
        .flatten()
        .min()
        .copied()
    }

    /// When an orphaned connection in FIN-WAIT-2 gives up waiting for the peer's FIN.
    fn fin_wait2_until(&self) -> Option<Instant> {
        if self.state != State::FinWait2 || !self.orphaned {
            return None;
        }
        Some(self.timers.last_heard? + self.timers.fin_wait2_timeout)
    }

    /// When the connection's send and receive buffers, allocated but empty, go back: a second
    /// ([`BUFFER_IDLE`]) after the peer was last heard from. `None` when there is nothing to
    /// give back (not allocated) or something is held (data unsent, unacknowledged or unread).
    fn buffers_idle_until(&self) -> Option<Instant> {
        let allocated = self.snd.buf.is_allocated() || self.rcv.buf.is_allocated();
        if !allocated || !self.snd.buf.is_empty() || !self.rcv.buf.is_idle() {
            return None;
        }
        Some(self.timers.last_heard? + BUFFER_IDLE)
    }

    /// Runs the timers that are due at `now`. `syn_retries` and `retries` are the limits after
    /// which the connection gives up.
    pub(crate) fn on_timer(&mut self, now: Instant, syn_retries: u32, retries: u32) {
        if self.buffers_idle_until().is_some_and(|t| now >= t) {
            // Quiet and empty: an idle connection holds no buffer memory.
            self.snd.buf.release_if_empty();
            self.rcv.buf.release_if_idle();
        }
        if self.timers.time_wait_until.is_some_and(|t| now >= t) {
            // 2 MSL have passed: no segment of this connection can still be on its way.
            self.timers.time_wait_until = None;
            self.set_state(State::Closed);
            return;
        }
        if self.fin_wait2_until().is_some_and(|t| now >= t) {
            // Nobody holds this connection, and the peer has not closed its side: forget it
            // (quietly, as Linux does: the peer may be gone, or may answer a RST with one).
            debug!(quad = %self.quad, "tcp: no FIN from the peer in FIN-WAIT-2, forgotten");
            self.set_state(State::Closed);
            return;
        }
        if self.user_timeout_at().is_some_and(|t| now >= t) {
            self.on_user_timeout();
            return;
        }
        if self.keepalive_at().is_some_and(|t| now >= t) {
            self.on_keepalive_timeout(now);
            if self.state == State::Closed {
                return;
            }
        }
        self.rcv.on_delack_timer(now);
        if self.timers.retransmit_at.is_some_and(|t| now >= t) {
            self.on_retransmission_timeout(now, syn_retries, retries);
        } else if self.rec.probe_timeout_at.is_some_and(|t| now >= t) {
            self.on_probe_timeout();
        }
        if self.timers.persist_at.is_some_and(|t| now >= t) {
            if self.orphaned && self.timers.persist_backoff >= ORPHAN_PROBES {
                // Nobody holds this connection, and the peer keeps its window shut: a peer
                // can hold our memory this way for ever. RFC 6429 lets us give up; Linux does
                // after 8 probes (tcp_orphan_retries).
                debug!(quad = %self.quad, "tcp: orphaned, window still closed after every probe, given up");
                self.fail(io::ErrorKind::TimedOut);
                return;
            }
            // Probe the closed window with one byte; the answer tells us its size.
            self.timers.persist_at = None;
            self.timers.persist_backoff += 1;
            self.timers.probe_now = true;
            self.snd.go_back();
            debug!(quad = %self.quad, n = self.timers.persist_backoff, "tcp: persist timer, window probe due");
        }
    }

    /// The retransmission timer expired (RFC 6298 5.4 to 5.6): back off, and send again from
    /// the oldest unacknowledged byte — or give up after too many tries.
    fn on_retransmission_timeout(&mut self, now: Instant, syn_retries: u32, retries: u32) {
        self.stats.timeouts += 1;
        let limit = match self.state {
            State::SynSent | State::SynReceived => syn_retries,
            _ => retries,
        };
        if self.timers.retries >= limit {
            debug!(quad = %self.quad, tries = self.timers.retries, "tcp: giving up after every retransmission");
            self.fail(io::ErrorKind::TimedOut);
            return;
        }
        let rto = self.timers.rtt.rto();
        self.timers.retries += 1;
        self.why = Some(Why::Timeout {
            n: self.timers.retries,
            rto_ms: rto.as_millis() as u64,
        });
        debug!(quad = %self.quad, rto_ms = rto.as_millis() as u64, n = self.timers.retries, "tcp: retransmission timeout");
        // Outstanding and not SACKed; nothing if this cuts a recovery short (its cut stands).
        let in_flight = self.rec.point.is_none().then(|| {
            self.snd.in_flight() - self.rec.scoreboard.sacked_bytes().min(self.snd.in_flight())
        });
        self.on_timeout_recovery(self.ts_clock(now));
        self.cc.hystart.stop();
        self.rec.cancel_tail_probe();
        self.cc.ctl.on_timeout(now, in_flight);
        self.timers.rtt.back_off();
        if self.timers.timed.take().is_some() {
            // Karn: the timed segment goes again; only a timestamp can time it now.
            self.timers.ts_sample_wanted = true;
        }
        // Go back to SND.UNA: the congestion window (now one segment) paces the resending.
        self.snd.go_back();
        self.timers.retransmit_at = Some(now + self.timers.rtt.rto());
    }
}

/// A connection's timers and round-trip time estimate: every deadline is a value, never a
/// sleeping task.
#[derive(Debug)]
pub(crate) struct Timers {
    pub(crate) rtt: RttEstimator,
    /// When each new data segment in flight was sent: (its end, the time), oldest first. An
    /// ACK that covers some gives an RTT sample, with or without timestamps (Linux keeps the
    /// same per segment); cleared whenever anything is sent again (Karn's rule). HyStart++
    /// reads these samples.
    pub(crate) sent_times: std::collections::VecDeque<(Pos, Instant)>,
    /// The segment being timed for an RTT sample: its end and when it was sent (Karn's rule:
    /// cleared when anything is retransmitted).
    pub(crate) timed: Option<(Pos, Instant)>,
    pub(crate) retransmit_at: Option<Instant>,
    /// Expirations in a row of the retransmission timer.
    pub(crate) retries: u32,
    pub(crate) persist_at: Option<Instant>,
    /// Zero-window probes in a row without the window opening.
    pub(crate) persist_backoff: u32,
    /// A probe is due.
    pub(crate) probe_now: bool,
    pub(crate) time_wait_until: Option<Instant>,
    /// How long TIME-WAIT lasts: 2 × MSL.
    pub(crate) time_wait: Duration,
    /// Keep-alive settings; `None`: no probes.
    pub(crate) keepalive: Option<super::KeepAlive>,
    /// When the peer was last heard from (any segment).
    pub(crate) last_heard: Option<Instant>,
    /// Keep-alive probes sent since then.
    pub(crate) keepalives_unanswered: u32,
    /// When the last keep-alive probe became due: the next waits an interval from it.
    pub(crate) last_probe: Option<Instant>,
    /// A keep-alive probe is to be sent now.
    pub(crate) keepalive_now: bool,
    /// How long data may wait without progress before the connection fails.
    pub(crate) user_timeout: Option<Duration>,
    /// How long an orphaned connection waits in FIN-WAIT-2 for the peer's FIN.
    pub(crate) fin_wait2_timeout: Duration,
    /// Since when something we sent (or could not send, into a closed window) has waited
    /// without an ACK of anything new; `None` while nothing waits.
    pub(crate) stalled_since: Option<Instant>,
    /// A retransmission cancelled the timed RTT sample: take the next one from a timestamp.
    pub(crate) ts_sample_wanted: bool,
}

impl Timers {
    /// The state a connection starts with.
    pub(crate) fn new(config: &TcpConfig) -> Timers {
        Timers {
            rtt: RttEstimator::new(config.rto),
            sent_times: std::collections::VecDeque::new(),
            timed: None,
            retransmit_at: None,
            retries: 0,
            persist_at: None,
            persist_backoff: 0,
            probe_now: false,
            time_wait_until: None,
            time_wait: config.msl * 2,
            keepalive: config.keepalive,
            last_heard: None,
            keepalives_unanswered: 0,
            last_probe: None,
            keepalive_now: false,
            user_timeout: config.user_timeout,
            fin_wait2_timeout: config.fin_wait2_timeout,
            stalled_since: None,
            ts_sample_wanted: false,
        }
    }

    /// The retransmission timer runs from `now` with the current RTO.
    pub(crate) fn arm_retransmit(&mut self, now: Instant) {
        self.retransmit_at = Some(now + self.rtt.rto());
    }

    /// The retransmission timer runs, from `now` if it was not running.
    pub(crate) fn ensure_retransmit(&mut self, now: Instant) {
        if self.retransmit_at.is_none() {
            self.arm_retransmit(now);
        }
    }

    /// The retransmission timer stops.
    pub(crate) fn stop_retransmit(&mut self) {
        self.retransmit_at = None;
    }

    /// New data was acknowledged (RFC 6298 5.2, 5.3): the backoff ends, and the timer
    /// restarts if data is still `outstanding`, else stops.
    pub(crate) fn restart_retransmit(&mut self, now: Instant, outstanding: bool) {
        self.retries = 0;
        self.rtt.reset_backoff();
        self.retransmit_at = outstanding.then(|| now + self.rtt.rto());
    }

    /// Our SYN was acknowledged at `now` by `ack`: its timer stops; the RTT it took, if it
    /// went once (Karn).
    pub(crate) fn syn_acknowledged(&mut self, now: Instant, ack: Pos) -> Option<Duration> {
        self.retransmit_at = None;
        self.retries = 0;
        let (end, sent) = self.timed.take()?;
        (ack >= end).then(|| now - sent)
    }

    /// The persist timer fires at `at`.
    pub(crate) fn arm_persist(&mut self, at: Instant) {
        self.persist_at = Some(at);
    }

    /// A zero-window probe went: the persist timer, not the retransmission timer, waits for
    /// its answer.
    pub(crate) fn window_probe_sent(&mut self) {
        self.probe_now = false;
        self.retransmit_at = None;
    }

    /// The peer's window opened: no more probing.
    pub(crate) fn window_opened(&mut self) {
        self.persist_at = None;
        self.persist_backoff = 0;
        self.probe_now = false;
    }

    /// 2 MSL from `now` (again, if the peer repeated its FIN).
    pub(crate) fn start_time_wait(&mut self, now: Instant) {
        self.persist_at = None;
        self.time_wait_until = Some(now + self.time_wait);
    }

    /// The connection failed: nothing is due any more.
    pub(crate) fn cancel_all(&mut self) {
        self.retransmit_at = None;
        self.persist_at = None;
        self.time_wait_until = None;
        self.stalled_since = None;
    }

    /// A segment went for the first time at `now`: time it if nothing is timed (`next` is
    /// SND.NXT after it), and keep its send time by its `end`.
    pub(crate) fn segment_sent(&mut self, now: Instant, next: Pos, end: Pos) {
        if self.timed.is_none() {
            self.timed = Some((next, now));
        }
        if self.sent_times.len() < MAX_SENT_TIMES {
            self.sent_times.push_back((end, now));
        }
    }

    /// Something went a second time: Karn's rule, no RTT sample from it (a timestamp can
    /// still tell).
    pub(crate) fn segment_resent(&mut self) {
        if self.timed.take().is_some() {
            self.ts_sample_wanted = true;
        }
        self.sent_times.clear();
    }

    /// A timeout was undone: its echoed timestamp spans the timeout, no sample from it.
    pub(crate) fn no_timestamp_sample(&mut self) {
        self.ts_sample_wanted = false;
    }

    /// The RTT sample an ACK of `ack` gives at `now`: the timed segment's, or else the
    /// timestamp's (`echoed`: our clock less the echoed value, in ms) when one was wanted.
    pub(crate) fn rtt_sample_for(
        &mut self,
        now: Instant,
        ack: Pos,
        echoed: Option<u32>,
    ) -> Option<Duration> {
        match self.timed {
            Some((end, sent)) if ack >= end => {
                self.timed = None;
                Some(now - sent)
            }
            Some(_) => None,
            None if self.ts_sample_wanted => {
                let elapsed = echoed?;
                self.ts_sample_wanted = false;
                (elapsed < 60_000).then(|| Duration::from_millis(u64::from(elapsed)))
            }
            None => None,
        }
    }

    /// A keep-alive probe is due at `now`: the next waits an interval from it.
    pub(crate) fn keepalive_due(&mut self, now: Instant) {
        self.keepalives_unanswered += 1;
        self.keepalive_now = true;
        self.last_probe = Some(now);
    }

    /// A keep-alive probe went.
    pub(crate) fn keepalive_sent(&mut self) {
        self.keepalive_now = false;
    }

    /// New keep-alive settings; probing starts over.
    pub(crate) fn set_keepalive(&mut self, keepalive: Option<super::KeepAlive>) {
        self.keepalive = keepalive;
        self.keepalives_unanswered = 0;
    }

    /// A new user timeout.
    pub(crate) fn set_user_timeout(&mut self, timeout: Option<Duration>) {
        self.user_timeout = timeout;
    }
}
