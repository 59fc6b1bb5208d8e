//! A token bucket for ICMP errors ([RFC 1812 4.3.2.8], [RFC 4443 2.4(f)] describes the same idea).
//!
//! A host that answers every bad datagram with an error can be made to flood; a bucket of
//! `burst` tokens, refilled at `per_second`, bounds that. Time comes in as an argument, like
//! everywhere in the core.
//!
//! [RFC 1812 4.3.2.8]: https://www.rfc-editor.org/rfc/rfc1812#section-4.3.2.8
//! [RFC 4443 2.4(f)]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4

use crate::time::Instant;

/// How many ICMP errors the stack may send: `burst` at once, then `per_second` on average.
///
/// The default, 1000 per second with a burst of 50, is Linux's (`net.ipv4.icmp_msgs_per_sec`,
/// `icmp_msgs_burst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: u32,
    /// The bucket's size: how many may go out back to back.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 1000,
            burst: 50,
        }
    }
}

/// A token bucket, refilled lazily from the time of each request.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    /// Tokens, in millionths, so that refills of less than one token are not lost.
    micro_tokens: u64,
    last: Option<Instant>,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            micro_tokens: u64::from(limit.burst) * 1_000_000,
            last: None,
        }
    }

    /// Takes a token if one is left at `now`.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed_us = (now - last).as_micros() as u64;
            let refill = elapsed_us.saturating_mul(u64::from(self.limit.per_second));
            let cap = u64::from(self.limit.burst) * 1_000_000;
            self.micro_tokens = self.micro_tokens.saturating_add(refill).min(cap);
        }
        self.last = Some(now);
        if self.micro_tokens >= 1_000_000 {
            self.micro_tokens -= 1_000_000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let mut bucket = TokenBucket::new(RateLimit {
            per_second: 100,
            burst: 5,
        });
        let t0 = Instant::from_secs(1);
        let granted = (0..20).filter(|_| bucket.try_take(t0)).count();
        assert_eq!(granted, 5, "only the burst at one instant");
        // 100 per second: one token every 10 ms.
        assert!(!bucket.try_take(t0 + std::time::Duration::from_millis(9)));
        assert!(bucket.try_take(t0 + std::time::Duration::from_millis(10)));
        // A long pause refills up to the burst, not beyond.
        let later = t0 + std::time::Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| bucket.try_take(later)).count(), 5);
    }
}
