//! Scripted drops: rules that pick exactly which packets are lost.
//!
//! Random loss shows that TCP recovers; a script shows *how*, because the same packet is lost on
//! every run and the test (or the lecture) can say which one: "the 3rd data segment", "every SYN
//! for the first 2 seconds", "the first FIN". Each direction counts the packets of every
//! [`Match`] kind it has seen, before any drop, so "the 3rd" means the third one the sender
//! sent (or the link delivered), whether or not an earlier one was lost, and a retransmission
//! counts as a new one.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::classify::Match;
use super::fmt::{Human, Percent};

/// A rule that drops some of the packets of one kind. See the module documentation.
///
/// ```
/// use std::time::Duration;
/// use tunstack::device::impair::{Match, Rule};
///
/// let script = vec![
///     Rule::nth(Match::TcpData, 3),                     // the 3rd data segment
///     Rule::until(Match::TcpSyn, Duration::from_secs(2)), // every SYN in the first 2 s
///     Rule::nth(Match::TcpFin, 1),                      // the first FIN
///     Rule::with_probability(Match::TcpPureAck, 0.1),   // a tenth of the pure ACKs
/// ];
/// assert_eq!(script[0].to_string(), "the 3rd TCP data segment");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    kind: Match,
    which: Which,
}

/// Which packets of the rule's kind are dropped.
#[derive(Debug, Clone, PartialEq)]
enum Which {
    /// The `first`-th to the `last`-th (counting from 1).
    Range { first: u64, last: u64 },
    /// Every one, until this long after the wrapper was made.
    Until(Duration),
    /// Each one with this probability.
    Probability(f64),
}

impl Rule {
    /// Drops the `n`-th packet of this kind (counting from 1) and no other.
    pub fn nth(kind: Match, n: u64) -> Rule {
        Rule::range(kind, n..=n)
    }

    /// Drops the packets of this kind numbered `first..=last` (counting from 1): a burst.
    pub fn range(kind: Match, numbers: RangeInclusive<u64>) -> Rule {
        Rule {
            kind,
            which: Which::Range {
                first: *numbers.start(),
                last: *numbers.end(),
            },
        }
    }

    /// Drops every packet of this kind.
    pub fn every(kind: Match) -> Rule {
        Rule::range(kind, 1..=u64::MAX)
    }

    /// Drops every packet of this kind until `time` after the [`Impair`](super::Impair) was made.
    pub fn until(kind: Match, time: Duration) -> Rule {
        Rule {
            kind,
            which: Which::Until(time),
        }
    }

    /// Drops each packet of this kind with probability `p` (0.0 to 1.0), from the direction's
    /// seeded random numbers.
    pub fn with_probability(kind: Match, p: f64) -> Rule {
        Rule {
            kind,
            which: Which::Probability(p),
        }
    }

    /// The kind of packet this rule looks at.
    pub fn kind(&self) -> Match {
        self.kind
    }

    /// Whether the rule drops a packet of its kind: the `count`-th of that kind in its direction,
    /// seen `elapsed` after the wrapper was made. `rng` is only drawn from by probability rules.
    pub(super) fn drops(&self, count: u64, elapsed: Duration, rng: &mut fastrand::Rng) -> bool {
        match self.which {
            Which::Range { first, last } => (first..=last).contains(&count),
            Which::Until(time) => elapsed < time,
            Which::Probability(p) => rng.f64() < p,
        }
    }

    /// Why the rule cannot be used, if it cannot.
    pub(super) fn check(&self) -> Result<(), String> {
        match self.which {
            Which::Range { first, last } if first == 0 || first > last => Err(format!(
                "rule on {}s: packets are counted from 1, and {first}..={last} is empty or starts at 0",
                self.kind.singular()
            )),
            Which::Probability(p) if !(0.0..=1.0).contains(&p) => Err(format!(
                "rule on {}s: the probability must be between 0 and 1, not {p}",
                self.kind.singular()
            )),
            _ => Ok(()),
        }
    }
}

/// Says what the rule drops, e.g. "the 3rd TCP data segment", "every TCP SYN until t=2 s".
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.singular();
        match self.which {
            Which::Range { first, last } if first == last => {
                write!(f, "the {} {kind}", Ordinal(first))
            }
            Which::Range { first: 1, last } if last == u64::MAX => write!(f, "every {kind}"),
            Which::Range { first, last } if last == u64::MAX => {
                write!(f, "every {kind} from the {} on", Ordinal(first))
            }
            Which::Range { first, last } => {
                write!(f, "the {} to {} {kind}", Ordinal(first), Ordinal(last))
            }
            Which::Until(time) => write!(f, "every {kind} until t={}", Human(time)),
            Which::Probability(p) => write!(f, "{kind}s with probability {}", Percent(p)),
        }
    }
}

/// An English ordinal number: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st...
struct Ordinal(u64);

impl fmt::Display for Ordinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        write!(f, "{n}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_say_what_they_drop() {
        let said = |rule: Rule| rule.to_string();
        assert_eq!(said(Rule::nth(Match::Any, 1)), "the 1st packet");
        assert_eq!(said(Rule::nth(Match::TcpFin, 2)), "the 2nd TCP FIN");
        assert_eq!(
            said(Rule::range(Match::TcpData, 11..=13)),
            "the 11th to 13th TCP data segment"
        );
        assert_eq!(said(Rule::every(Match::Udp)), "every UDP datagram");
        assert_eq!(
            said(Rule::until(Match::TcpSyn, Duration::from_secs(2))),
            "every TCP SYN until t=2 s"
        );
        assert_eq!(
            said(Rule::with_probability(Match::TcpPureAck, 0.25)),
            "TCP pure ACKs with probability 25%"
        );
        assert_eq!(Ordinal(21).to_string(), "21st");
        assert_eq!(Ordinal(112).to_string(), "112th");
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(Rule::nth(Match::Any, 0).check().is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let empty = Rule::range(Match::Any, 5..=4);
        assert!(empty.check().is_err());
        assert!(Rule::with_probability(Match::Any, 1.5).check().is_err());
        assert!(Rule::with_probability(Match::Any, f64::NAN)
            .check()
            .is_err());
        assert!(Rule::with_probability(Match::Any, 1.0).check().is_ok());
    }
}
