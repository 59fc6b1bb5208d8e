//! Congestion control ([RFC 5681]): how much a sender may have in flight, so as not to
//! overrun the network. (Flow control, the receiver's window, protects the receiver instead.)
//!
//! The sender keeps a congestion window (cwnd). It starts small and grows with every ACK of new
//! data: by the bytes acknowledged in slow start (doubling every round trip), by about one
//! segment per round trip in congestion avoidance, once past the slow-start threshold
//! (ssthresh). A lost segment is taken as a sign of congestion: detected by duplicate ACKs or
//! SACK, the window is cut (to half with NewReno, to 70% with CUBIC) and loss recovery resends
//! what is missing; detected by the retransmission timer, cwnd falls to one segment and slow
//! start begins again.
//!
//! ```text
//! cwnd                       3 dup ACKs              timeout
//!  │                 ╱‾‾‾‾‾‾╲ ╷                      ╷
//!  │               ╱         ╲│  ╱‾‾‾‾‾‾‾‾‾‾‾‾╲      │
//!  │             ╱            ╲╱               ╲     │      ╱
//!  │          ╱   ssthresh                           │    ╱
//!  │       ╱                                         │  ╱
//!  │____╱____________________________________________│╱____ time
//!    slow start   congestion avoidance  (halved)       slow start again
//! ```
//!
//! The algorithm sits behind [`CongestionControl`], so it can be chosen per socket, even in the
//! middle of a connection: [`Algorithm::NewReno`] (RFC 5681, [RFC 6582]) or
//! [`Algorithm::Cubic`] ([RFC 9438], Linux's default). For both, `hystart.rs` ends the first
//! slow start early when the round trips start to grow (HyStart++). Loss recovery itself (what to resend,
//! duplicate ACK counting, SACK) lives in `recovery.rs`; the algorithm only sizes the window.
//!
//! [RFC 5681]: https://www.rfc-editor.org/rfc/rfc5681
//! [RFC 6582]: https://www.rfc-editor.org/rfc/rfc6582
//! [RFC 9438]: https://www.rfc-editor.org/rfc/rfc9438

use std::fmt;
use std::time::Duration;

use super::config::TcpConfig;
use crate::time::Instant;

mod cubic;
pub(crate) mod hystart;
mod reno;

pub use cubic::Cubic;
pub use reno::NewReno;

/// A congestion control algorithm: the rules that size the congestion window.
pub trait CongestionControl: fmt::Debug + Send {
    /// The algorithm's name, e.g. `"cubic"`.
    fn name(&self) -> &'static str;

    /// The congestion window, in bytes.
    fn window(&self) -> usize;

    /// The slow-start threshold, in bytes (`usize::MAX` until the first loss).
    fn ssthresh(&self) -> usize;

    /// `acked` bytes of new data were acknowledged outside loss recovery, at `now`, with the
    /// connection's smoothed RTT (if measured).
    fn on_ack(&mut self, now: Instant, acked: usize, srtt: Option<Duration>);

    /// A loss was detected by duplicate ACKs or SACK, with `in_flight` bytes outstanding: the
    /// window shrinks (RFC 5681 3.2 step 2; RFC 9438 4.6).
    fn on_loss(&mut self, now: Instant, in_flight: usize);

    /// The retransmission timer expired: the window falls to one segment (RFC 5681 3.1,
    /// "loss window"), and the threshold follows `in_flight`, the bytes outstanding and not
    /// known to have arrived. `None` when the timeout cut short a fast recovery: that
    /// recovery's threshold stands, as Linux keeps it (one loss episode, one reduction). With
    /// SACK, what is outstanding then is mostly data the peer holds; halving it would set the
    /// threshold far above what the path took, and slow start would overshoot again.
    fn on_timeout(&mut self, now: Instant, in_flight: Option<usize>);

    /// Slow start ends here without a loss (HyStart++ saw the delay grow, `hystart.rs`):
    /// ssthresh becomes the current window, and congestion avoidance begins.
    fn end_slow_start(&mut self);
}

/// The algorithms to choose from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// Slow start, congestion avoidance, halving on loss ([RFC 5681], [RFC 6582]).
    ///
    /// [RFC 5681]: https://www.rfc-editor.org/rfc/rfc5681
    /// [RFC 6582]: https://www.rfc-editor.org/rfc/rfc6582
    NewReno,
    /// A cubic function of the time since the last loss ([RFC 9438]); Linux's default.
    ///
    /// [RFC 9438]: https://www.rfc-editor.org/rfc/rfc9438
    #[default]
    Cubic,
}

impl Algorithm {
    /// A fresh instance for segments of `mss` bytes, starting with `initial_window` segments.
    pub fn build(self, mss: usize, initial_window: u32) -> Box<dyn CongestionControl> {
        let cwnd = mss * initial_window.max(1) as usize;
        self.resume(mss, cwnd, usize::MAX)
    }

    /// An instance that continues from an existing window and threshold (when the application
    /// switches algorithms mid-connection).
    pub fn resume(self, mss: usize, cwnd: usize, ssthresh: usize) -> Box<dyn CongestionControl> {
        match self {
            Algorithm::NewReno => Box::new(NewReno::new(mss, cwnd, ssthresh)),
            Algorithm::Cubic => Box::new(Cubic::new(mss, cwnd, ssthresh)),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::NewReno => "newreno",
            Algorithm::Cubic => "cubic",
        })
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "newreno" | "reno" => Ok(Algorithm::NewReno),
            "cubic" => Ok(Algorithm::Cubic),
            other => Err(format!(
                "unknown congestion control `{other}` (newreno or cubic)"
            )),
        }
    }
}

/// The slow-start threshold after a loss with `in_flight` bytes outstanding, when the window
/// is to be cut to `fraction` of it, never below two segments (RFC 5681 equation 4).
pub(crate) fn reduced(in_flight: usize, fraction: f64, mss: usize) -> usize {
    ((in_flight as f64 * fraction) as usize).max(2 * mss)
}

/// Congestion control's state: the algorithm's window and HyStart++ in the first slow start.
#[derive(Debug)]
pub(crate) struct Congestion {
    /// The congestion control algorithm and its window.
    pub(crate) ctl: Box<dyn CongestionControl>,
    /// HyStart++: where the first slow start is (`congestion/hystart.rs`).
    pub(crate) hystart: super::congestion::hystart::HyStart,
    pub(crate) algorithm: Algorithm,
    /// The initial congestion window in segments.
    pub(crate) initial_window: u32,
}

impl Congestion {
    /// The state a connection starts with.
    pub(crate) fn new(our_mss: usize, config: &TcpConfig) -> Congestion {
        Congestion {
            ctl: config.congestion.build(our_mss, config.initial_window),
            hystart: super::congestion::hystart::HyStart::new(config.hystart),
            algorithm: config.congestion,
            initial_window: config.initial_window,
        }
    }

    /// The handshake settled the MSS: the initial window counts segments of `mss` bytes.
    pub(crate) fn start(&mut self, mss: usize) {
        self.ctl = self.algorithm.build(mss, self.initial_window);
    }

    /// Puts back a window and threshold a loss had cut, when the loss turned out not to be
    /// one (an undone recovery, a spurious timeout).
    pub(crate) fn restore(&mut self, mss: usize, cwnd: usize, ssthresh: usize) {
        self.ctl = self.algorithm.resume(mss, cwnd, ssthresh);
    }

    /// Switches to `algorithm`, keeping the window and threshold.
    pub(crate) fn switch(&mut self, algorithm: Algorithm, mss: usize) {
        let (cwnd, ssthresh) = (self.ctl.window(), self.ctl.ssthresh());
        self.ctl = algorithm.resume(mss, cwnd, ssthresh);
        self.algorithm = algorithm;
    }
}
