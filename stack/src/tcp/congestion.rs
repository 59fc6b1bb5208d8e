//! Congestion control ([RFC 5681]): how much a sender may have in flight, so as not to
//! overrun the network (flow control, the receiver's window, protects the receiver instead).
//!
//! The sender keeps a congestion window (cwnd). It starts small and grows by what each ACK
//! acknowledges (slow start: doubling every round trip) until it reaches the slow-start
//! threshold (ssthresh); beyond that it grows by about one segment per round trip (congestion
//! avoidance). A retransmission timeout is taken as a sign of congestion: ssthresh falls to half
//! of what was in flight and cwnd to one segment, and slow start begins again.
//!
//! ```text
//! cwnd
//!  │            timeout ╷
//!  │          ╱‾‾‾      │          ╱‾‾
//!  │        ╱  ssthresh │ ╌╌╌╌╌╌ ╱╌╌╌╌ ssthresh/2
//!  │      ╱             │      ╱
//!  │   ╱                │   ╱
//!  │_╱__________________│_╱____________ time
//!    slow start  avoid.   slow start
//! ```
//!
//! [RFC 5681]: https://www.rfc-editor.org/rfc/rfc5681

/// A connection's congestion window and slow-start threshold.
#[derive(Debug, Clone)]
pub(crate) struct Congestion {
    cwnd: usize,
    ssthresh: usize,
    mss: usize,
    /// Bytes acknowledged since cwnd last grew in congestion avoidance.
    acked_in_avoidance: usize,
}

impl Congestion {
    /// A window of `initial_segments` segments of `mss` bytes ([RFC 6928]) and an unbounded
    /// threshold ([RFC 5681 3.1]: "arbitrarily high").
    ///
    /// [RFC 6928]: https://www.rfc-editor.org/rfc/rfc6928
    /// [RFC 5681 3.1]: https://www.rfc-editor.org/rfc/rfc5681#section-3.1
    pub(crate) fn new(mss: usize, initial_segments: u32) -> Congestion {
        Congestion {
            cwnd: mss * initial_segments.max(1) as usize,
            ssthresh: usize::MAX,
            mss,
            acked_in_avoidance: 0,
        }
    }

    /// The congestion window in bytes.
    pub(crate) fn window(&self) -> usize {
        self.cwnd
    }

    /// The slow-start threshold in bytes.
    pub(crate) fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// New data was acknowledged: grow the window.
    pub(crate) fn on_ack(&mut self, acked: usize) {
        if self.cwnd < self.ssthresh {
            // Slow start: at most one MSS per ACK (RFC 5681 3.1, appropriate byte counting
            // with L = 1 from RFC 3465).
            self.cwnd += acked.min(self.mss);
        } else {
            // Congestion avoidance: one MSS per window's worth of acknowledged bytes.
            self.acked_in_avoidance += acked;
            if self.acked_in_avoidance >= self.cwnd {
                self.acked_in_avoidance -= self.cwnd;
                self.cwnd += self.mss;
            }
        }
    }

    /// The retransmission timer expired with `flight` bytes outstanding (RFC 5681 3.1,
    /// equations 4 and 5).
    pub(crate) fn on_timeout(&mut self, flight: usize) {
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.mss;
        self.acked_in_avoidance = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_avoidance_then_timeout() {
        let mut cc = Congestion::new(1000, 2);
        assert_eq!(cc.window(), 2000);
        cc.on_ack(1000);
        cc.on_ack(5000); // a stretch ACK still counts one MSS
        assert_eq!(cc.window(), 4000);
        cc.on_timeout(8000);
        assert_eq!((cc.window(), cc.ssthresh()), (1000, 4000));
        for _ in 0..3 {
            cc.on_ack(1000);
        }
        assert_eq!(cc.window(), 4000, "slow start up to ssthresh");
        cc.on_ack(2000);
        assert_eq!(cc.window(), 4000);
        cc.on_ack(2000);
        assert_eq!(cc.window(), 5000, "one MSS per window acknowledged");
    }

    #[test]
    fn the_threshold_never_falls_below_two_segments() {
        let mut cc = Congestion::new(1000, 10);
        cc.on_timeout(500);
        assert_eq!(cc.ssthresh(), 2000);
    }
}
