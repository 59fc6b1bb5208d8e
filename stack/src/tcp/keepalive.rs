//! Keep-alive ([RFC 9293 3.8.4]) and the user timeout ([RFC 9293 3.8.3]): two ways a
//! connection notices that the peer is gone.
//!
//! TCP sends nothing on an idle connection. If the peer's host crashes, or the path breaks,
//! while neither side has anything to say, nothing tells us: the connection stays open for
//! ever. A keep-alive probe asks, after a long silence:
//!
//! ```text
//!  us                                   peer
//!    │   (idle: nothing heard for 2 hours) │
//!    │── ACK, seq = SND.NXT - 1, no data ─►│  an old sequence number: not acceptable,
//!    │◄──────────────────────── ACK ───────│  so a live TCP answers with an ACK
//!    │   (idle again...)                   │  (RFC 9293 3.10.7.4, first check)
//! ```
//!
//! Unanswered, the probe goes again every `interval`; after `probes` of them the connection
//! fails with `TimedOut`. Probes are off unless asked for (RFC 1122 4.2.3.6): they cost
//! packets, and a path that is down for a minute would end connections that would have
//! survived it. Answering them needs nothing special: any segment outside the window earns an
//! ACK. (Linux answers at most one such segment without data per 500 ms, its
//! `tcp_invalid_ratelimit`, against ACK storms: probes closer together than that go partly
//! unanswered.)
//!
//! The user timeout bounds the other case: data sent and never acknowledged. The retry limit
//! counts retransmissions, whose spacing doubles each time, so it takes many minutes; a user
//! timeout says, in time, how long data may wait without progress. A window that stays closed
//! counts too (Linux's `TCP_USER_TIMEOUT` does the same).
//!
//! [RFC 9293 3.8.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.4
//! [RFC 9293 3.8.3]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.3

use std::io;

use tracing::debug;

use super::connection::Connection;
use super::state::State;
use crate::time::Instant;

/// The shortest idle time and interval keep-alive uses, whatever it is given.
const MIN_KEEPALIVE_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

impl Connection {
    /// A segment arrived: the peer is alive, and keep-alive counting starts over.
    pub(crate) fn heard_from_peer(&mut self, now: Instant) {
        self.timers.last_heard = Some(now);
        self.timers.keepalives_unanswered = 0;
    }

    /// When the next keep-alive probe is due: keep-alive on, the connection open, and nothing
    /// of ours waiting for an ACK or for the window (the retransmission and persist timers
    /// watch those).
    pub(crate) fn keepalive_at(&self) -> Option<Instant> {
        let keepalive = self.timers.keepalive?;
        let idle = matches!(self.state, State::Established | State::CloseWait)
            && self.snd.una == self.snd.max
            && self.snd.buf.is_empty();
        if !idle {
            return None;
        }
        // A zero interval would probe in a tight loop: at least a few milliseconds apart.
        // Each probe waits its interval from the one before, not from when the peer was last
        // heard: after a long silence (a suspended process), probes must not go back to back.
        match self.timers.last_probe {
            Some(probed) if self.timers.keepalives_unanswered > 0 => {
                Some(probed + keepalive.interval.max(MIN_KEEPALIVE_WAIT))
            }
            _ => Some(self.timers.last_heard? + keepalive.idle.max(MIN_KEEPALIVE_WAIT)),
        }
    }

    /// The keep-alive deadline passed: send a probe, or give up after `probes` unanswered
    /// ones.
    pub(crate) fn on_keepalive_timeout(&mut self, now: Instant) {
        let Some(keepalive) = self.timers.keepalive else {
            return;
        };
        if self.timers.keepalives_unanswered >= keepalive.probes {
            debug!(quad = %self.quad, probes = keepalive.probes, "tcp: no answer to keep-alive probes, giving up");
            self.fail(io::ErrorKind::TimedOut);
            return;
        }
        self.timers.keepalive_due(now);
        debug!(quad = %self.quad, n = self.timers.keepalives_unanswered, "tcp: idle too long, keep-alive probe due");
    }

    /// When the user timeout runs out, if data is waiting.
    pub(crate) fn user_timeout_at(&self) -> Option<Instant> {
        if matches!(self.state, State::Closed | State::Listen | State::TimeWait) {
            return None;
        }
        Some(self.timers.stalled_since? + self.timers.user_timeout?)
    }

    /// Something of ours waits for an ACK (or for the window) from `now` on, unless something
    /// already did.
    pub(crate) fn started_waiting(&mut self, now: Instant) {
        self.timers.stalled_since.get_or_insert(now);
    }

    /// The peer acknowledged something new: the wait starts over, if anything still waits.
    pub(crate) fn made_progress(&mut self, now: Instant) {
        let waiting = self.snd.una < self.snd.max || !self.snd.buf.is_empty();
        self.timers.stalled_since = waiting.then_some(now);
    }

    /// The user timeout ran out: the connection fails.
    pub(crate) fn on_user_timeout(&mut self) {
        debug!(quad = %self.quad, timeout = ?self.timers.user_timeout, "tcp: nothing acknowledged within the user timeout, giving up");
        self.fail(io::ErrorKind::TimedOut);
    }
}
