//! How many challenge ACKs we send ([RFC 5961 7]): answers to a RST or SYN that could be a
//! blind attacker's guess, and to ACKs for data too old.
//!
//! Two limits, as Linux has had since CVE-2016-5696:
//!
//! - **per connection**: at most one every 500 ms (Linux's `tcp_invalid_ratelimit`), so one
//!   peer cannot make us send a flood;
//! - **for the whole host**: a budget per second whose size is drawn anew each second, between
//!   half and one and a half times the configured limit. A fixed, global, observable budget is a
//!   side channel: an off-path attacker who spends it and watches whether a challenge ACK still
//!   comes back learns whether its guess hit a connection (the attack in the CVE). With a budget
//!   of random size, the count it sees says nothing.
//!
//! [RFC 5961 7]: https://www.rfc-editor.org/rfc/rfc5961#section-7

use std::time::Duration;

use crate::time::Instant;

/// The least time between two challenge ACKs on one connection.
pub(crate) const PER_CONNECTION: Duration = Duration::from_millis(500);

/// The host-wide budget of challenge ACKs, drawn anew each second.
#[derive(Debug)]
pub(crate) struct ChallengeAcks {
    /// The configured budget per second: each second's is drawn from `limit/2 ..= 3*limit/2`.
    limit: u32,
    /// The second (of the core's clock) the budget is for.
    second: Option<u64>,
    /// What is left of this second's budget.
    left: u32,
    rng: fastrand::Rng,
}

impl ChallengeAcks {
    /// A budget of about `limit` per second; `seed` makes the draws repeat (tests).
    pub(crate) fn new(limit: u32, seed: u64) -> ChallengeAcks {
        ChallengeAcks {
            limit,
            second: None,
            left: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Whether a challenge ACK may go at `now` on a connection that last sent one at `last`.
    /// Takes from the budgets when it may.
    pub(crate) fn allow(&mut self, now: Instant, last: &mut Option<Instant>) -> bool {
        if last.is_some_and(|at| now - at < PER_CONNECTION) {
            return false;
        }
        let second = now.total_millis() / 1000;
        if self.second != Some(second) {
            self.second = Some(second);
            self.left = self.limit / 2 + self.rng.u32(0..=self.limit);
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        *last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of `n` connections, each asking once, get a challenge ACK in one second.
    fn granted_in_second(acks: &mut ChallengeAcks, second: u64, n: usize) -> usize {
        let now = Instant::from_secs(second);
        (0..n).filter(|_| acks.allow(now, &mut None)).count()
    }

    #[test]
    fn one_per_connection_every_half_second() {
        let mut acks = ChallengeAcks::new(1000, 1);
        let mut last = None;
        let t0 = Instant::from_secs(10);
        assert!(acks.allow(t0, &mut last));
        assert!(!acks.allow(t0 + Duration::from_millis(499), &mut last));
        assert!(acks.allow(t0 + Duration::from_millis(500), &mut last));
    }

    #[test]
    fn the_host_budget_varies_from_second_to_second() {
        let mut acks = ChallengeAcks::new(100, 7);
        let budgets: Vec<usize> = (0..20)
            .map(|s| granted_in_second(&mut acks, s, 1000))
            .collect();
        assert!(
            budgets.iter().all(|&b| (50..=150).contains(&b)),
            "{budgets:?}"
        );
        let first = budgets[0];
        assert!(
            budgets.iter().any(|&b| b != first),
            "the budget is not one fixed number: {budgets:?}"
        );
    }
}
