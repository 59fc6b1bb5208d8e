//! The retransmission timeout ([RFC 6298]): how long to wait for an ACK before sending again.
//!
//! Too short, and the network carries copies of segments that were only slow; too long, and a
//! lost segment stalls the connection. TCP measures the round-trip time (RTT) as it goes and
//! keeps a smoothed average (SRTT) and a mean deviation (RTTVAR):
//!
//! ```text
//! first sample R:   SRTT = R            RTTVAR = R/2
//! next samples R':  RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|
//!                   SRTT   = 7/8 SRTT   + 1/8 R'
//! always:           RTO    = SRTT + max(G, 4 RTTVAR), clamped to [min, max]
//! ```
//!
//! Two rules keep it honest: Karn's algorithm (no RTT sample from a segment that was sent more
//! than once: its ACK could be for either copy), and exponential backoff (each time the timer
//! expires, the RTO doubles, up to the maximum: the network may be congested, so wait longer).
//! The course's "retries with exponential backoff", built into TCP.
//!
//! [RFC 6298]: https://www.rfc-editor.org/rfc/rfc6298

use std::time::Duration;

/// Clock granularity G of RFC 6298: our clock counts microseconds; 1 ms keeps the RTO from
/// collapsing onto SRTT on a perfectly steady path.
const GRANULARITY: Duration = Duration::from_millis(1);

/// Bounds of the retransmission timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtoConfig {
    /// Before any RTT sample (RFC 6298 2.1: one second).
    pub initial: Duration,
    /// The floor. RFC 6298 2.4 says one second; Linux uses 200 ms, which we follow, since our
    /// peers are mostly near.
    pub min: Duration,
    /// The ceiling of the backed-off timeout (RFC 6298 2.5: at least 60 seconds).
    pub max: Duration,
}

impl Default for RtoConfig {
    fn default() -> Self {
        RtoConfig {
            initial: Duration::from_secs(1),
            min: Duration::from_millis(200),
            max: Duration::from_secs(60),
        }
    }
}

/// The RTT estimator and the current RTO of one connection.
#[derive(Debug, Clone)]
pub(crate) struct RttEstimator {
    config: RtoConfig,
    srtt: Option<Duration>,
    rttvar: Duration,
    /// The RTO from the estimate, before backoff.
    base: Duration,
    /// How many times in a row the timer expired: the RTO is `base × 2^backoff`.
    backoff: u32,
}

impl RttEstimator {
    pub(crate) fn new(config: RtoConfig) -> RttEstimator {
        RttEstimator {
            config,
            srtt: None,
            rttvar: Duration::ZERO,
            base: config.initial,
            backoff: 0,
        }
    }

    /// The smoothed RTT, once there is a sample.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The RTT variation.
    pub(crate) fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// The current timeout, backoff included.
    pub(crate) fn rto(&self) -> Duration {
        let backed_off = self
            .base
            .checked_mul(1u32.checked_shl(self.backoff).unwrap_or(u32::MAX))
            .unwrap_or(self.config.max);
        backed_off.min(self.config.max)
    }

    /// How many times the timer has expired in a row.
    #[cfg(test)]
    pub(crate) fn backoff_count(&self) -> u32 {
        self.backoff
    }

    /// Takes an RTT measurement (RFC 6298 2.2 and 2.3). A fresh sample also ends any backoff:
    /// the path answers again.
    pub(crate) fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt);
                self.rttvar = self.rttvar * 3 / 4 + delta / 4;
                self.srtt = Some(srtt * 7 / 8 + rtt / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(rtt);
        self.base =
            (srtt + GRANULARITY.max(self.rttvar * 4)).clamp(self.config.min, self.config.max);
        self.backoff = 0;
    }

    /// The timer expired: double the timeout (RFC 6298 5.5).
    pub(crate) fn back_off(&mut self) {
        if self.rto() < self.config.max {
            self.backoff += 1;
        }
    }

    /// Ends a backoff without a new sample (new data was acknowledged, RFC 6298 5.7 allows
    /// keeping the backed-off value; we follow Linux and return to the estimate).
    pub(crate) fn reset_backoff(&mut self) {
        self.backoff = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn starts_at_one_second() {
        let est = RttEstimator::new(RtoConfig::default());
        assert_eq!(est.rto(), ms(1000));
        assert_eq!(est.srtt(), None);
    }

    #[test]
    fn first_and_later_samples_follow_rfc6298() {
        let mut est = RttEstimator::new(RtoConfig {
            min: ms(1),
            ..RtoConfig::default()
        });
        est.sample(ms(100));
        // SRTT = 100, RTTVAR = 50, RTO = 100 + 4 × 50 = 300.
        assert_eq!(
            (est.srtt(), est.rttvar(), est.rto()),
            (Some(ms(100)), ms(50), ms(300))
        );
        est.sample(ms(200));
        // RTTVAR = 3/4 × 50 + 1/4 × 100 = 62.5; SRTT = 7/8 × 100 + 1/8 × 200 = 112.5.
        assert_eq!(est.rttvar(), Duration::from_micros(62_500));
        assert_eq!(est.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(est.rto(), Duration::from_micros(362_500));
    }

    #[test]
    fn the_floor_and_ceiling_hold() {
        let mut est = RttEstimator::new(RtoConfig::default());
        est.sample(Duration::from_micros(50));
        assert_eq!(est.rto(), ms(200), "a fast path still waits the minimum");
        est.sample(Duration::from_secs(100));
        assert_eq!(est.rto(), Duration::from_secs(60));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_a_sample_ends_it() {
        let mut est = RttEstimator::new(RtoConfig::default());
        let mut seen = Vec::new();
        for _ in 0..9 {
            seen.push(est.rto().as_secs());
            est.back_off();
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(est.backoff_count(), 6, "no further doubling once capped");
        est.sample(ms(10));
        assert_eq!(est.rto(), ms(200));
    }
}
