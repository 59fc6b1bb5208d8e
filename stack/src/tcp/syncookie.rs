//! SYN cookies ([RFC 4987 3.6]): a handshake that keeps no state until it completes.
//!
//! When a listener's SYN queue is full (a SYN flood, most likely), we still answer each SYN,
//! but remember nothing: what we would have kept goes into our initial sequence number, the
//! *cookie*, and the client's ACK brings it back (its acknowledgment number is cookie + 1).
//! The 32 bits:
//!
//! ```text
//!   31      27 26 25 24                                              0
//!  +----------+-----+-------------------------------------------------+
//!  |  t mod 32 | MSS |  hash(secret, t, 4-tuple, client ISN, MSS) (25) |
//!  +----------+-----+-------------------------------------------------+
//! ```
//!
//! - `t` counts 64-second periods; a cookie is good for the period it was made in and the
//!   two after (about two to three minutes, as Linux allows);
//! - MSS is an index into a small table of common MSS values (the largest not above the
//!   client's);
//! - the hash is keyed with a secret made at start; `t` is part of it, so each period
//!   effectively has its own secret, and an attacker who learns one cookie learns nothing of
//!   the next period's.
//!
//! Options that do not fit: with timestamps, the client's window scale and SACK-permitted go
//! in the low 6 bits of our SYN-ACK's timestamp, which the ACK echoes (as Linux does). Without
//! timestamps, a cookie connection has neither.
//!
//! [RFC 4987 3.6]: https://www.rfc-editor.org/rfc/rfc4987#section-3.6

use std::hash::Hasher;

use siphasher::sip::SipHasher24;

use super::connection::Quad;
use super::seq::SeqNumber;
use crate::time::Instant;

/// The MSS values a cookie can say (Linux's table for IPv4).
pub(crate) const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// How long a period lasts.
const PERIOD_SECS: u64 = 64;
/// How many periods old a cookie may be.
const MAX_AGE: u64 = 2;

const HASH_BITS: u32 = 25;
const HASH_MASK: u32 = (1 << HASH_BITS) - 1;

/// The low bits of our timestamp that carry the client's options.
const TS_BITS: u32 = 0x3f;
/// Window scale 15 is out of range (RFC 7323 allows up to 14): it stands for "none".
const NO_SCALE: u32 = 15;
const SACK_BIT: u32 = 1 << 4;

/// What a valid cookie tells about the client's SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// The MSS to send with (from the table).
    pub(crate) mss: u16,
}

/// Makes and checks cookies with one secret.
#[derive(Debug, Clone)]
pub(crate) struct Cookies {
    key: [u8; 16],
}

impl Cookies {
    /// Cookies keyed with `key` (random, made at start).
    pub(crate) fn new(key: [u8; 16]) -> Cookies {
        Cookies { key }
    }

    /// The cookie (our ISS) for a SYN on `quad` with the client's ISN `irs` and MSS, at `now`.
    pub(crate) fn make(&self, now: Instant, quad: &Quad, irs: SeqNumber, mss: u16) -> SeqNumber {
        let index = MSS_TABLE.iter().rposition(|&m| m <= mss).unwrap_or(0);
        let t = period(now);
        let hash = self.hash(t, quad, irs, index as u32);
        SeqNumber(((t as u32 & 31) << 27) | ((index as u32) << HASH_BITS) | hash)
    }

    /// Checks `cookie` (the client's acknowledgment number less one) for `quad`, whose ISN was
    /// `irs` (the ACK's sequence number less one), at `now`.
    pub(crate) fn check(
        &self,
        now: Instant,
        quad: &Quad,
        irs: SeqNumber,
        cookie: SeqNumber,
    ) -> Option<Decoded> {
        let index = (cookie.0 >> HASH_BITS) & 0b11;
        let t5 = u64::from(cookie.0 >> 27);
        let now_t = period(now);
        // The period it was made in: the latest one, not after now, with those low 5 bits.
        let age = now_t.wrapping_sub(t5) & 31;
        if age > MAX_AGE || age > now_t {
            return None;
        }
        let t = now_t - age;
        (self.hash(t, quad, irs, index) == cookie.0 & HASH_MASK).then(|| Decoded {
            mss: MSS_TABLE[index as usize],
        })
    }

    fn hash(&self, t: u64, quad: &Quad, irs: SeqNumber, index: u32) -> u32 {
        let mut hash = SipHasher24::new_with_key(&self.key);
        hash.write_u64(t);
        super::isn::write_ip(&mut hash, quad.local.ip());
        hash.write_u16(quad.local.port());
        super::isn::write_ip(&mut hash, quad.remote.ip());
        hash.write_u16(quad.remote.port());
        hash.write_u32(irs.0);
        hash.write_u32(index);
        hash.finish() as u32 & HASH_MASK
    }
}

/// The 64-second period `now` falls in.
fn period(now: Instant) -> u64 {
    now.total_millis() / 1000 / PERIOD_SECS
}

/// Our SYN-ACK's timestamp `clock`, its low bits carrying the client's window scale and
/// SACK-permitted.
pub(crate) fn timestamp_with_options(clock: u32, window_scale: Option<u8>, sack: bool) -> u32 {
    let scale = window_scale.map_or(NO_SCALE, |s| u32::from(s.min(14)));
    let sack = if sack { SACK_BIT } else { 0 };
    let ts = (clock & !TS_BITS) | scale | sack;
    // Never ahead of the clock the connection goes on with: the client would keep the larger
    // value as TS.Recent and drop our first segments as old (PAWS). Linux steps back a
    // period of the low bits the same way (cookie_init_timestamp).
    if ts > clock {
        ts.wrapping_sub(TS_BITS + 1)
    } else {
        ts
    }
}

/// The client's window scale and SACK-permitted, from the timestamp its ACK echoes.
pub(crate) fn options_from_echo(echo: u32) -> (Option<u8>, bool) {
    let scale = echo & 0xf;
    let scale = (scale != NO_SCALE).then_some(scale as u8);
    (scale, echo & SACK_BIT != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quad(port: u16) -> Quad {
        Quad::for_test(port)
    }

    const IRS: SeqNumber = SeqNumber(0xdead_beef);

    #[test]
    fn a_cookie_is_valid_for_its_connection_only() {
        let cookies = Cookies::new([7; 16]);
        let t0 = Instant::from_secs(1000);
        let cookie = cookies.make(t0, &quad(40000), IRS, 1460);
        assert_eq!(
            cookies.check(t0, &quad(40000), IRS, cookie),
            Some(Decoded { mss: 1460 })
        );
        assert_eq!(
            cookies.check(t0, &quad(40001), IRS, cookie),
            None,
            "another port"
        );
        assert_eq!(
            cookies.check(t0, &quad(40000), IRS + 1, cookie),
            None,
            "another ISN"
        );
        let other_key = Cookies::new([8; 16]);
        assert_eq!(
            other_key.check(t0, &quad(40000), IRS, cookie),
            None,
            "another secret"
        );
    }

    #[test]
    fn the_mss_is_the_largest_in_the_table_not_above_the_clients() {
        let cookies = Cookies::new([1; 16]);
        let t0 = Instant::from_secs(5);
        for (mss, expect) in [(1460, 1460), (1400, 1300), (9000, 1460), (100, 536)] {
            let cookie = cookies.make(t0, &quad(1), IRS, mss);
            let decoded = cookies.check(t0, &quad(1), IRS, cookie);
            assert_eq!(decoded.map(|d| d.mss), Some(expect), "client MSS {mss}");
        }
    }

    #[test]
    fn a_tampered_mss_index_fails() {
        let cookies = Cookies::new([3; 16]);
        let t0 = Instant::from_secs(5);
        let cookie = cookies.make(t0, &quad(1), IRS, 536);
        for index in 1..4u32 {
            let tampered = SeqNumber((cookie.0 & !(0b11 << HASH_BITS)) | (index << HASH_BITS));
            assert_eq!(cookies.check(t0, &quad(1), IRS, tampered), None);
        }
    }

    #[test]
    fn a_cookie_expires_after_two_periods() {
        let cookies = Cookies::new([9; 16]);
        let t0 = Instant::from_secs(64 * 100 + 63); // the end of a period
        let cookie = cookies.make(t0, &quad(1), IRS, 1460);
        let later = |secs: u64| Instant::from_secs(64 * 100 + secs);
        assert!(cookies
            .check(later(64 * 2 + 63), &quad(1), IRS, cookie)
            .is_some());
        assert!(
            cookies
                .check(later(64 * 3), &quad(1), IRS, cookie)
                .is_none(),
            "expired"
        );
        assert!(
            cookies.check(later(0), &quad(1), IRS, cookie).is_some(),
            "same period"
        );
        // Nor is a cookie valid before the period it names.
        let before = Instant::from_secs(64 * 99);
        assert!(
            cookies.check(before, &quad(1), IRS, cookie).is_none(),
            "made later"
        );
    }

    #[test]
    fn the_timestamp_is_never_ahead_of_the_clock() {
        for low in 0..64u32 {
            let clock = 0x1234_5600 | low;
            for (scale, sack) in [(Some(14), true), (None, true), (Some(0), false)] {
                let ts = timestamp_with_options(clock, scale, sack);
                assert!(
                    clock.wrapping_sub(ts) < 64,
                    "clock {clock:#x}, timestamp {ts:#x}"
                );
                assert_eq!(options_from_echo(ts), (scale, sack));
            }
        }
    }

    #[test]
    fn options_ride_in_the_timestamp() {
        for (scale, sack) in [
            (Some(7), true),
            (None, false),
            (Some(0), false),
            (Some(14), true),
        ] {
            let ts = timestamp_with_options(0x1234_5678, scale, sack);
            assert_eq!(ts & !TS_BITS, 0x1234_5678 & !TS_BITS);
            assert_eq!(options_from_echo(ts), (scale, sack));
        }
    }
}
