//! HyStart++ ([RFC 9406]): leaving slow start before it overflows the path.
//!
//! Slow start doubles the window every round trip until a loss says it went too far. By then it
//! has gone much too far: the loss is noticed a round trip after it happened, when the window
//! has doubled once more, so up to half a window is lost at once, and recovering from that may
//! take a timeout. A queue that fills shows earlier, as delay: the round trips grow before any
//! packet is dropped. HyStart++ watches the shortest RTT of each round:
//!
//! ```text
//!  RTT │                          ╭── queue filling: the round's minimum RTT grows
//!      │  ─────────────────────── ╯   by more than max(4 ms, min(RTT/8, 16 ms))
//!      └──────────────────────────┬──────── rounds of slow start
//!                                 └ slow start ends; Conservative Slow Start (CSS):
//!                                   a quarter of the growth, for 5 rounds, then
//!                                   congestion avoidance (or back to slow start if
//!                                   the delay was a false alarm)
//! ```
//!
//! Only the first slow start of a connection uses it (RFC 9406 4.1); after a loss the
//! threshold says where to stop. Every ACK brings an RTT sample: the connection keeps the send
//! time of each segment in flight (as Linux does), and timestamps fill in where a segment was
//! sent twice.
//!
//! [RFC 9406]: https://www.rfc-editor.org/rfc/rfc9406

use std::time::Duration;

use super::super::pos::Pos;

/// The smallest and largest delay increase that ends slow start (RFC 9406 4.3).
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// The delay increase is the last round's minimum RTT divided by this, within the bounds above.
const MIN_RTT_DIVISOR: u32 = 8;
/// RTT samples a round needs before its minimum counts.
const N_RTT_SAMPLE: u32 = 8;
/// In CSS the window grows by a quarter of what slow start would add.
pub(crate) const CSS_GROWTH_DIVISOR: usize = 4;
/// CSS lasts this many rounds, then congestion avoidance begins.
const CSS_ROUNDS: u32 = 5;

/// Where a connection's first slow start is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Standard slow start, watching the delay.
    SlowStart,
    /// Conservative Slow Start: the delay grew; `rounds` begun so far, against `baseline`, the
    /// round's minimum RTT when CSS began.
    Conservative { rounds: u32, baseline: Duration },
    /// Slow start is over (a loss, a timeout, or CSS ran its course): HyStart++ is done.
    Done,
}

/// What the ACK just seen means for the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Growth {
    /// Slow start: grow as usual.
    SlowStart,
    /// CSS: grow by a quarter.
    Conservative,
    /// CSS is over: set ssthresh to cwnd, congestion avoidance from now on.
    EndSlowStart,
    /// HyStart++ has nothing to say (done, or not in slow start).
    Unchanged,
}

/// HyStart++'s state for one connection.
#[derive(Debug, Clone)]
pub(crate) struct HyStart {
    pub(crate) phase: Phase,
    /// The round ends when this is acknowledged (SND.NXT when the round began).
    window_end: Option<Pos>,
    last_round_min: Option<Duration>,
    current_round_min: Option<Duration>,
    samples: u32,
}

impl HyStart {
    /// A connection's first slow start; `enabled` false makes it plain slow start.
    pub(crate) fn new(enabled: bool) -> HyStart {
        HyStart {
            phase: if enabled {
                Phase::SlowStart
            } else {
                Phase::Done
            },
            window_end: None,
            last_round_min: None,
            current_round_min: None,
            samples: 0,
        }
    }

    /// A loss or timeout: slow start is over for good.
    pub(crate) fn stop(&mut self) {
        self.phase = Phase::Done;
    }

    /// An ACK of new data moved SND.UNA to `snd_una` while in slow start, with `rtt` the RTT
    /// this ACK measured (if any) and `snd_nxt` where the next round would end.
    pub(crate) fn on_ack(&mut self, snd_una: Pos, snd_nxt: Pos, rtt: Option<Duration>) -> Growth {
        if self.phase == Phase::Done {
            return Growth::Unchanged;
        }
        // A new round (RFC 9406 4.2): the last one's minimum is what this one is compared to.
        if self.window_end.is_none_or(|end| snd_una >= end) {
            self.window_end = Some(snd_nxt);
            self.last_round_min = self.current_round_min.take();
            self.samples = 0;
            if let Phase::Conservative { rounds, baseline } = self.phase {
                if rounds + 1 > CSS_ROUNDS {
                    self.phase = Phase::Done;
                    return Growth::EndSlowStart;
                }
                self.phase = Phase::Conservative {
                    rounds: rounds + 1,
                    baseline,
                };
            }
        }
        if let Some(rtt) = rtt {
            self.current_round_min = Some(self.current_round_min.map_or(rtt, |m| m.min(rtt)));
            self.samples += 1;
        }
        let enough = self.samples >= N_RTT_SAMPLE;
        match (self.phase, self.current_round_min, self.last_round_min) {
            (Phase::SlowStart, Some(current), Some(last)) if enough => {
                let thresh = (last / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
                if current >= last + thresh {
                    // The partial round counts as CSS's first.
                    self.phase = Phase::Conservative {
                        rounds: 1,
                        baseline: current,
                    };
                    return Growth::Conservative;
                }
                Growth::SlowStart
            }
            (Phase::Conservative { baseline, .. }, Some(current), _)
                if enough && current < baseline =>
            {
                // The delay went away again: a false alarm, back to slow start.
                self.phase = Phase::SlowStart;
                Growth::SlowStart
            }
            (Phase::Conservative { .. }, _, _) => Growth::Conservative,
            _ => Growth::SlowStart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Feeds one round of `acks` ACKs, all measuring `rtt`, the round being `len` bytes (each
    /// ACK lets as much new data go as it acknowledges); returns what the last ACK said. `at`
    /// is the next round's start.
    fn round(hs: &mut HyStart, at: &mut u32, len: u32, acks: u32, rtt: Duration) -> Growth {
        let start = *at;
        let end = start + len;
        let mut last = Growth::Unchanged;
        for i in 1..=acks {
            let una = Pos(u64::from(start + len * i / acks));
            last = hs.on_ack(una, Pos(u64::from(end + len * i / acks)), Some(rtt));
        }
        *at = end;
        last
    }

    #[test]
    fn a_steady_rtt_keeps_slow_start() {
        let mut hs = HyStart::new(true);
        let mut at = 0;
        for _ in 0..10 {
            assert_eq!(
                round(&mut hs, &mut at, 16_000, 16, 20 * MS),
                Growth::SlowStart
            );
        }
    }

    #[test]
    fn a_growing_rtt_brings_css_then_congestion_avoidance_after_five_rounds() {
        let mut hs = HyStart::new(true);
        let mut at = 0;
        round(&mut hs, &mut at, 16_000, 16, 20 * MS);
        // 20 ms → 23 ms: less than the threshold (max(4 ms, 20/8 ms)): still slow start.
        assert_eq!(
            round(&mut hs, &mut at, 16_000, 16, 23 * MS),
            Growth::SlowStart
        );
        // 23 ms → 28 ms: more than 4 ms: CSS.
        assert_eq!(
            round(&mut hs, &mut at, 16_000, 16, 28 * MS),
            Growth::Conservative
        );
        for _ in 0..4 {
            assert_eq!(
                round(&mut hs, &mut at, 16_000, 16, 28 * MS),
                Growth::Conservative
            );
        }
        // The sixth round's first ACK: CSS is over.
        let growth = hs.on_ack(
            Pos(u64::from(at + 1000)),
            Pos(u64::from(at + 32_000)),
            Some(28 * MS),
        );
        assert_eq!(growth, Growth::EndSlowStart);
        assert_eq!(hs.phase, Phase::Done);
        assert_eq!(
            hs.on_ack(Pos(u64::from(at + 2000)), Pos(u64::from(at + 32_000)), None),
            Growth::Unchanged
        );
    }

    #[test]
    fn css_returns_to_slow_start_when_the_delay_goes_away() {
        let mut hs = HyStart::new(true);
        let mut at = 0;
        round(&mut hs, &mut at, 16_000, 16, 20 * MS);
        assert_eq!(
            round(&mut hs, &mut at, 16_000, 16, 30 * MS),
            Growth::Conservative
        );
        assert_eq!(
            round(&mut hs, &mut at, 16_000, 16, 21 * MS),
            Growth::SlowStart
        );
        assert_eq!(hs.phase, Phase::SlowStart);
    }

    #[test]
    fn too_few_samples_decide_nothing() {
        let mut hs = HyStart::new(true);
        let mut at = 0;
        round(&mut hs, &mut at, 16_000, 4, 20 * MS);
        assert_eq!(
            round(&mut hs, &mut at, 16_000, 7, 60 * MS),
            Growth::SlowStart
        );
    }

    #[test]
    fn disabled_or_stopped_says_nothing() {
        let mut hs = HyStart::new(false);
        assert_eq!(hs.on_ack(Pos(1), Pos(2), Some(MS)), Growth::Unchanged);
        let mut hs = HyStart::new(true);
        hs.stop();
        assert_eq!(hs.on_ack(Pos(1), Pos(2), Some(MS)), Growth::Unchanged);
    }
}
