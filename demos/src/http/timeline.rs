//! [`Timeline`]: the course's "request's full journey" as a client lived it, one row per step,
//! with how long each took and about how many round trips that was.
//!
//! ```text
//!   step                                     took     round trips  detail
//!   TCP handshake (SYN, SYN-ACK, ACK)        0.52 ms  ≈ 1.0 RTT    10.77.0.2:49731 → 10.77.0.1:8443
//!   TLS handshake (ClientHello … Finished)   2.31 ms  ≈ 4.4 RTT    TLS 1.3, TLS13_AES_128_GCM_SHA256, ALPN h2
//!   request → first byte                     0.98 ms  ≈ 1.9 RTT    200
//!   rest of the body                         0.01 ms  ≈ 0.0 RTT    1234 bytes
//!   total                                    3.82 ms  ≈ 7.3 RTT
//! ```
//!
//! A round trip is the connection's smoothed RTT (SRTT, [RFC 6298]) as TCP measured it; a step's
//! round trips are its time divided by that. The handshakes cost round trips by design (one for
//! TCP's, one more for TLS 1.3's); what is above that count is the two ends' work (a TLS
//! handshake's signatures and key exchange take longer than a round trip on a link this short).
//! Each client pushes its steps in the order they happened: a name lookup (DNS) comes first,
//! when there is one.
//!
//! [RFC 6298]: https://www.rfc-editor.org/rfc/rfc6298

use std::time::Duration;

use crate::millis;

/// One step of the journey.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step in the course's words, e.g. "TCP handshake (SYN, SYN-ACK, ACK)".
    pub name: String,
    /// How long it took.
    pub took: Duration,
    /// `took` in round trips ([`round_trips`]), when the RTT was known.
    pub round_trips: Option<f64>,
    /// What the step settled, e.g. the TLS version and cipher suite; may be empty.
    pub detail: String,
}

impl Step {
    /// A step that took `took`, counted in round trips of `srtt` (when known).
    pub fn new(
        name: impl Into<String>,
        took: Duration,
        srtt: Option<Duration>,
        detail: impl Into<String>,
    ) -> Step {
        Step {
            name: name.into(),
            took,
            round_trips: round_trips(took, srtt),
            detail: detail.into(),
        }
    }
}

/// `took` divided by the smoothed RTT; `None` when there is no (non-zero) RTT to divide by.
pub fn round_trips(took: Duration, srtt: Option<Duration>) -> Option<f64> {
    let srtt = srtt.filter(|srtt| !srtt.is_zero())?;
    Some(took.as_secs_f64() / srtt.as_secs_f64())
}

/// The steps of one request, in order, and the RTT they are counted in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    steps: Vec<Step>,
    srtt: Option<Duration>,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// Adds the step that came next.
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// The steps so far, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Notes the connection's smoothed RTT, for the heading (the latest is the best estimate).
    pub fn set_srtt(&mut self, srtt: Option<Duration>) {
        self.srtt = srtt;
    }

    /// The timeline as lines to print: a heading with the SRTT, then one row per step, the
    /// columns aligned.
    pub fn render(&self) -> Vec<String> {
        let heading = match self.srtt {
            Some(srtt) => format!(
                "The journey, step by step (SRTT {:.2} ms; round trips ≈ time ÷ SRTT):",
                millis(srtt)
            ),
            None => {
                "The journey, step by step (no RTT measured: no round trips counted):".to_string()
            }
        };
        let width = self
            .steps
            .iter()
            .map(|step| step.name.chars().count())
            .max()
            .unwrap_or(0);
        let mut lines = vec![heading];
        for step in &self.steps {
            let pad = width - step.name.chars().count();
            let rtts = match step.round_trips {
                Some(n) => format!("≈ {n:.1} RTT"),
                None => "? RTT".to_string(),
            };
            let line = format!(
                "  {}{} {:>9.2} ms  {rtts:>11}  {}",
                step.name,
                " ".repeat(pad),
                millis(step.took),
                step.detail
            );
            lines.push(line.trim_end().to_string());
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn round_trips_are_time_over_srtt() {
        assert_eq!(round_trips(ms(10), Some(ms(10))), Some(1.0));
        assert_eq!(round_trips(ms(25), Some(ms(10))), Some(2.5));
        assert_eq!(round_trips(ms(25), None), None);
        assert_eq!(round_trips(ms(25), Some(Duration::ZERO)), None);
    }

    #[test]
    fn one_aligned_row_per_step_in_the_order_pushed() {
        let srtt = Some(ms(2));
        let mut timeline = Timeline::new();
        timeline.push(Step::new(
            "TCP handshake (SYN, SYN-ACK, ACK)",
            ms(2),
            srtt,
            "a → b",
        ));
        timeline.push(Step::new(
            "TLS handshake (ClientHello … Finished)",
            ms(5),
            srtt,
            "TLS 1.3",
        ));
        timeline.push(Step::new("total", ms(7), None, ""));
        timeline.set_srtt(srtt);
        assert_eq!(timeline.steps().len(), 3);
        assert_eq!(
            timeline.render(),
            [
                "The journey, step by step (SRTT 2.00 ms; round trips ≈ time ÷ SRTT):",
                "  TCP handshake (SYN, SYN-ACK, ACK)           2.00 ms    ≈ 1.0 RTT  a → b",
                "  TLS handshake (ClientHello … Finished)      5.00 ms    ≈ 2.5 RTT  TLS 1.3",
                "  total                                       7.00 ms        ? RTT",
            ]
        );
    }

    #[test]
    fn a_step_pushed_first_comes_first() {
        let mut timeline = Timeline::new();
        timeline.push(Step::new(
            "DNS lookup",
            ms(1),
            None,
            "www.course.test → 10.77.0.1",
        ));
        timeline.push(Step::new(
            "TCP handshake (SYN, SYN-ACK, ACK)",
            ms(1),
            None,
            "",
        ));
        let lines = timeline.render();
        assert_eq!(
            lines[0],
            "The journey, step by step (no RTT measured: no round trips counted):"
        );
        assert!(lines[1].starts_with("  DNS lookup "), "{lines:?}");
        assert!(lines[2].starts_with("  TCP handshake "), "{lines:?}");
    }
}
