//! NewReno's window ([RFC 5681] section 3, with [RFC 6582]'s recovery in `recovery.rs`).
//!
//! [RFC 5681]: https://www.rfc-editor.org/rfc/rfc5681
//! [RFC 6582]: https://www.rfc-editor.org/rfc/rfc6582

use std::time::Duration;

use super::{reduced, CongestionControl};
use crate::time::Instant;

/// Slow start, congestion avoidance, and halving on loss.
#[derive(Debug, Clone)]
pub struct NewReno {
    cwnd: usize,
    ssthresh: usize,
    mss: usize,
    /// Bytes acknowledged since cwnd last grew in congestion avoidance.
    acked_in_avoidance: usize,
}

impl NewReno {
    /// NewReno with a window of `cwnd` bytes and the given threshold.
    pub fn new(mss: usize, cwnd: usize, ssthresh: usize) -> NewReno {
        NewReno {
            cwnd: cwnd.max(mss),
            ssthresh,
            mss,
            acked_in_avoidance: 0,
        }
    }
}

impl CongestionControl for NewReno {
    fn name(&self) -> &'static str {
        "newreno"
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn on_ack(&mut self, _now: Instant, acked: usize, _srtt: Option<Duration>) {
        if self.cwnd < self.ssthresh {
            // Slow start: grow by what was acknowledged, at most two segments per ACK
            // (appropriate byte counting, RFC 3465, with L = 2).
            self.cwnd += acked.min(2 * self.mss);
        } else {
            // Congestion avoidance: one MSS per window's worth of acknowledged bytes
            // (RFC 5681 equation 3, counted in bytes).
            self.acked_in_avoidance += acked;
            if self.acked_in_avoidance >= self.cwnd {
                self.acked_in_avoidance -= self.cwnd;
                self.cwnd += self.mss;
            }
        }
    }

    fn on_loss(&mut self, _now: Instant, in_flight: usize) {
        // RFC 5681 3.2: ssthresh = max(FlightSize / 2, 2 × SMSS); the window follows it
        // (recovery adds what leaves the network while it lasts).
        self.ssthresh = reduced(in_flight, 0.5, self.mss);
        self.cwnd = self.ssthresh;
        self.acked_in_avoidance = 0;
    }

    fn end_slow_start(&mut self) {
        self.ssthresh = self.cwnd;
    }

    fn on_timeout(&mut self, _now: Instant, in_flight: Option<usize>) {
        if let Some(in_flight) = in_flight {
            self.ssthresh = reduced(in_flight, 0.5, self.mss);
        }
        self.cwnd = self.mss;
        self.acked_in_avoidance = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Instant = Instant::ZERO;

    #[test]
    fn slow_start_then_avoidance_then_timeout() {
        let mut cc = NewReno::new(1000, 2000, usize::MAX);
        cc.on_ack(T, 1000, None);
        cc.on_ack(T, 5000, None); // a stretch ACK counts two MSS at most
        assert_eq!(cc.window(), 5000);
        cc.on_timeout(T, Some(8000));
        assert_eq!((cc.window(), cc.ssthresh()), (1000, 4000));
        for _ in 0..3 {
            cc.on_ack(T, 1000, None);
        }
        assert_eq!(cc.window(), 4000, "slow start up to ssthresh");
        cc.on_ack(T, 2000, None);
        assert_eq!(cc.window(), 4000);
        cc.on_ack(T, 2000, None);
        assert_eq!(cc.window(), 5000, "one MSS per window acknowledged");
    }

    #[test]
    fn a_loss_halves_the_window_but_not_below_two_segments() {
        let mut cc = NewReno::new(1000, 20_000, usize::MAX);
        cc.on_loss(T, 20_000);
        assert_eq!((cc.window(), cc.ssthresh()), (10_000, 10_000));
        cc.on_loss(T, 500);
        assert_eq!(cc.ssthresh(), 2000);
    }
}
