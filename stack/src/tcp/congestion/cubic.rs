//! CUBIC ([RFC 9438]): the window as a cubic function of the time since the last loss.
//!
//! After a loss at window W_max, CUBIC cuts the window to β × W_max (β = 0.7) and then grows it
//! along
//!
//! ```text
//! W(t) = C × (t − K)³ + W_max,     K = ∛(W_max × (1 − β) / C),   C = 0.4
//! ```
//!
//! (in segments, t in seconds): fast at first, flat around the old W_max (where the last loss
//! happened), then probing beyond it faster and faster. Where Reno would be faster (short RTTs,
//! small windows) it follows Reno's estimate instead, so it is never less fair than Reno.
//!
//! ```text
//! W │                         ╭──
//!   │   W_max ─ ─ ─ ╭────────╯
//!   │             ╱
//!   │           ╱
//!   │ β×W_max  ╯
//!   └──────────┬─────────┬──────── t
//!            loss        K
//! ```
//!
//! [RFC 9438]: https://www.rfc-editor.org/rfc/rfc9438

use std::time::Duration;

use super::{reduced, CongestionControl};
use crate::time::Instant;

/// CUBIC's scaling constant C (RFC 9438 4.2), in segments per second³.
const C: f64 = 0.4;
/// The multiplicative decrease factor β (RFC 9438 4.6).
const BETA: f64 = 0.7;

/// The CUBIC algorithm's state.
#[derive(Debug, Clone)]
pub struct Cubic {
    cwnd: usize,
    ssthresh: usize,
    mss: usize,
    /// The window (in segments) when the last loss happened.
    w_max: f64,
    /// The window (in segments) before the previous reduction, for fast convergence.
    w_last_max: f64,
    /// When the current congestion avoidance epoch began (the first ACK after a reduction).
    epoch_start: Option<Instant>,
    /// K: the time (seconds) the cubic function takes to reach `w_max` again.
    k: f64,
    /// Reno's window estimate, in segments (RFC 9438 4.3).
    w_est: f64,
    /// Fractional growth carried between ACKs, in bytes.
    carry: f64,
}

impl Cubic {
    /// CUBIC with a window of `cwnd` bytes and the given threshold.
    pub fn new(mss: usize, cwnd: usize, ssthresh: usize) -> Cubic {
        Cubic {
            cwnd: cwnd.max(mss),
            ssthresh,
            mss,
            w_max: 0.0,
            w_last_max: 0.0,
            epoch_start: None,
            k: 0.0,
            w_est: 0.0,
            carry: 0.0,
        }
    }

    fn segments(&self) -> f64 {
        self.cwnd as f64 / self.mss as f64
    }

    /// The reduction shared by loss and timeout: remember W_max, set ssthresh (RFC 9438 4.6,
    /// with fast convergence, 4.7).
    fn reduce(&mut self, in_flight: usize) {
        let w = self.segments();
        self.w_max = if w < self.w_last_max {
            // The window keeps shrinking between losses: another flow is taking its share;
            // release some bandwidth by aiming lower.
            w * (1.0 + BETA) / 2.0
        } else {
            w
        };
        self.w_last_max = w;
        self.ssthresh = reduced(in_flight.max(self.cwnd), BETA, self.mss);
        self.epoch_start = None;
        self.carry = 0.0;
    }
}

impl CongestionControl for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn on_ack(&mut self, now: Instant, acked: usize, srtt: Option<Duration>) {
        if self.cwnd < self.ssthresh {
            // Slow start, as Reno (RFC 9438 4.10).
            self.cwnd += acked.min(2 * self.mss);
            return;
        }
        let w = self.segments();
        let epoch = *self.epoch_start.get_or_insert_with(|| {
            // A new epoch: if no loss set W_max, the curve starts at the current window.
            if self.w_max < w {
                self.w_max = w;
            }
            self.k = ((self.w_max - w).max(0.0) / C).cbrt();
            self.w_est = w;
            now
        });
        let rtt = srtt.unwrap_or(Duration::from_millis(100)).as_secs_f64();
        let t = (now - epoch).as_secs_f64();
        // The cubic target one RTT ahead (RFC 9438 4.2), bounded to 1.5 × cwnd (4.4).
        let target = (C * (t + rtt - self.k).powi(3) + self.w_max).clamp(w, 1.5 * w);
        // Reno's estimate grows by α = 3(1 − β)/(1 + β) segments per window (RFC 9438 4.3).
        let alpha = 3.0 * (1.0 - BETA) / (1.0 + BETA);
        let acked_segments = acked as f64 / self.mss as f64;
        self.w_est += alpha * acked_segments / w;
        let growth_segments = if self.w_est > target {
            // The Reno-friendly region: grow like Reno would.
            self.w_est - w
        } else {
            // Concave or convex region: close (target − W)/W of the gap per acked segment.
            (target - w) / w * acked_segments
        };
        self.carry += growth_segments.max(0.0) * self.mss as f64;
        let whole = self.carry.floor();
        self.carry -= whole;
        self.cwnd += whole as usize;
    }

    fn on_loss(&mut self, _now: Instant, in_flight: usize) {
        self.reduce(in_flight);
        self.cwnd = self.ssthresh;
    }

    fn end_slow_start(&mut self) {
        // The cubic curve starts at the current window (the next ACK begins an epoch).
        self.ssthresh = self.cwnd;
        self.epoch_start = None;
    }

    fn on_timeout(&mut self, _now: Instant, in_flight: Option<usize>) {
        match in_flight {
            Some(in_flight) => self.reduce(in_flight),
            None => {
                // The recovery's reduction stands; the cubic curve starts over after slow start.
                self.epoch_start = None;
                self.carry = 0.0;
            }
        }
        self.cwnd = self.mss;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    /// Feeds one window of ACKs (one per segment) per RTT for `rtts` round trips.
    fn run(cc: &mut Cubic, start: Instant, rtts: u32, rtt: Duration) -> Instant {
        let mut now = start;
        for _ in 0..rtts {
            let segments = cc.window() / MSS;
            for _ in 0..segments {
                cc.on_ack(now, MSS, Some(rtt));
            }
            now += rtt;
        }
        now
    }

    #[test]
    fn a_loss_cuts_to_seventy_percent() {
        let mut cc = Cubic::new(MSS, 100 * MSS, 50 * MSS);
        cc.on_loss(Instant::ZERO, 100 * MSS);
        assert_eq!((cc.window(), cc.ssthresh()), (70 * MSS, 70 * MSS));
        cc.on_timeout(Instant::ZERO, Some(70 * MSS));
        assert_eq!(cc.window(), MSS);
    }

    #[test]
    fn the_window_climbs_back_to_w_max_in_about_k_seconds_then_beyond() {
        let rtt = Duration::from_millis(100);
        let mut cc = Cubic::new(MSS, 100 * MSS, 50 * MSS);
        cc.on_loss(Instant::ZERO, 100 * MSS);
        // K = ∛(100 × 0.3 / 0.4) ≈ 4.2 s.
        let now = run(&mut cc, Instant::ZERO, 30, rtt);
        let at_3s = cc.window() / MSS;
        assert!(
            (85..100).contains(&at_3s),
            "concave: close to W_max, below it: {at_3s}"
        );
        run(&mut cc, now, 20, rtt);
        let at_5s = cc.window() / MSS;
        assert!(
            (99..110).contains(&at_5s),
            "a plateau around W_max: {at_5s}"
        );
        run(&mut cc, Instant::from_secs(5), 30, rtt);
        assert!(
            cc.window() / MSS > 115,
            "then convex, probing beyond: {}",
            cc.window() / MSS
        );
    }

    #[test]
    fn slow_start_below_ssthresh() {
        let mut cc = Cubic::new(MSS, 10 * MSS, usize::MAX);
        run(&mut cc, Instant::ZERO, 2, Duration::from_millis(10));
        assert_eq!(cc.window(), 40 * MSS, "doubling each round trip");
    }

    #[test]
    fn fast_convergence_aims_lower_when_losses_come_earlier() {
        let mut cc = Cubic::new(MSS, 100 * MSS, 50 * MSS);
        cc.on_loss(Instant::ZERO, 100 * MSS);
        cc.on_loss(Instant::ZERO, 70 * MSS); // before regaining W_max
        assert!((cc.w_max - 70.0 * 0.85).abs() < 1e-9, "{}", cc.w_max);
    }
}
