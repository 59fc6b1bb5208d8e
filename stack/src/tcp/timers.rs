//! TCP's timers: retransmission ([RFC 6298]), tail loss probe (`tail_loss.rs`), persist
//! (zero-window probes, [RFC 9293 3.8.6.1]), TIME-WAIT ([RFC 9293 3.4.2]), delayed ACK,
//! keep-alive and the user timeout (`keepalive.rs`), and the end of an orphaned FIN-WAIT-2.
//!
//! Each is a deadline in the connection, never a sleeping task: the layer asks every
//! connection for its earliest deadline ([`Connection::poll_at`]) and calls
//! [`Connection::on_timer`] once the time has come.
//!
//! [RFC 6298]: https://www.rfc-editor.org/rfc/rfc6298
//! [RFC 9293 3.8.6.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.1
//! [RFC 9293 3.4.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.4.2

use std::io;

use tracing::debug;

use super::connection::Connection;
use super::state::State;
use crate::time::Instant;

/// Zero-window probes an orphaned connection sends before it gives up (RFC 6429; Linux's
/// `tcp_orphan_retries` defaults to 8).
const ORPHAN_PROBES: u32 = 8;

impl Connection {
    /// The earliest of this connection's deadlines.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        [
            self.retransmit_at,
            self.probe_timeout_at,
            self.persist_at,
            self.time_wait_until,
            self.delack_at,
            self.keepalive_at(),
            self.user_timeout_at(),
            self.fin_wait2_until(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// When an orphaned connection in FIN-WAIT-2 gives up waiting for the peer's FIN.
    fn fin_wait2_until(&self) -> Option<Instant> {
        if self.state != State::FinWait2 || !self.orphaned {
            return None;
        }
        Some(self.last_heard? + self.fin_wait2_timeout)
    }

    /// Runs the timers that are due at `now`. `syn_retries` and `retries` are the limits after
    /// which the connection gives up.
    pub(crate) fn on_timer(&mut self, now: Instant, syn_retries: u32, retries: u32) {
        if self.time_wait_until.is_some_and(|t| now >= t) {
            // 2 MSL have passed: no segment of this connection can still be on its way.
            self.time_wait_until = None;
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
            self.on_keepalive_timeout();
            if self.state == State::Closed {
                return;
            }
        }
        if self.delack_at.is_some_and(|t| now >= t) {
            // No second segment and no data came to carry the ACK: send it alone.
            self.delack_at = None;
            self.ack_now = true;
        }
        if self.retransmit_at.is_some_and(|t| now >= t) {
            self.on_retransmission_timeout(now, syn_retries, retries);
        } else if self.probe_timeout_at.is_some_and(|t| now >= t) {
            self.on_probe_timeout();
        }
        if self.persist_at.is_some_and(|t| now >= t) {
            if self.orphaned && self.persist_backoff >= ORPHAN_PROBES {
                // Nobody holds this connection, and the peer keeps its window shut: a peer
                // can hold our memory this way for ever. RFC 6429 lets us give up; Linux does
                // after 8 probes (tcp_orphan_retries).
                debug!(quad = %self.quad, "tcp: orphaned, window still closed after every probe, given up");
                self.fail(io::ErrorKind::TimedOut);
                return;
            }
            // Probe the closed window with one byte; the answer tells us its size.
            self.persist_at = None;
            self.persist_backoff += 1;
            self.probe_now = true;
            self.snd_nxt = self.snd_una;
            debug!(quad = %self.quad, n = self.persist_backoff, "tcp: persist timer, window probe due");
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
        if self.retries >= limit {
            debug!(quad = %self.quad, tries = self.retries, "tcp: giving up after every retransmission");
            self.fail(io::ErrorKind::TimedOut);
            return;
        }
        let rto = self.rtt.rto();
        self.retries += 1;
        self.note = Some(format!(
            "retransmission #{} after RTO {} ms",
            self.retries,
            rto.as_millis()
        ));
        debug!(quad = %self.quad, rto_ms = rto.as_millis() as u64, n = self.retries, "tcp: retransmission timeout");
        // Outstanding and not SACKed; nothing if this cuts a recovery short (its cut stands).
        let in_flight = self
            .recovery_point
            .is_none()
            .then(|| self.in_flight() - self.scoreboard.sacked_bytes().min(self.in_flight()));
        self.on_timeout_recovery(self.ts_clock(now));
        self.hystart.stop();
        self.probe_timeout_at = None;
        self.tail_probe_now = false;
        self.tail_probe_end = None;
        self.congestion.on_timeout(now, in_flight);
        self.rtt.back_off();
        if self.timed.take().is_some() {
            // Karn: the timed segment goes again; only a timestamp can time it now.
            self.ts_sample_wanted = true;
        }
        // Go back to SND.UNA: the congestion window (now one segment) paces the resending.
        self.snd_nxt = self.snd_una;
        self.retransmit_at = Some(now + self.rtt.rto());
    }
}
