//! Initial sequence numbers ([RFC 6528], [RFC 9293 3.4.1]).
//!
//! A connection's first sequence number must not be guessable: an attacker who can predict it
//! can inject data into a connection, or reset it, without seeing its packets. It must also move
//! forward with time, so that segments of an old connection with the same four addresses and
//! ports ("4-tuple") are not taken for the new one's. RFC 6528 combines both:
//!
//! ```text
//! ISN = M + F(local address, local port, remote address, remote port, secret key)
//! ```
//!
//! where M is a clock ticking every 4 microseconds and F a keyed hash (SipHash-2-4 here) whose
//! key is drawn at random when the stack starts. So each 4-tuple gets its own unpredictable
//! offset, which changes with every restart, and within a 4-tuple the ISNs still climb with the
//! clock.
//!
//! [RFC 6528]: https://www.rfc-editor.org/rfc/rfc6528
//! [RFC 9293 3.4.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.4.1

use std::hash::Hasher;
use std::net::SocketAddrV4;

use siphasher::sip::SipHasher24;

use super::seq::SeqNumber;
use crate::time::Instant;

/// Makes ISNs from a secret key and the clock.
#[derive(Debug, Clone)]
pub(crate) struct IsnGenerator {
    key: [u8; 16],
}

impl IsnGenerator {
    /// A generator with a key from the operating system's random source, or, when `seed` is
    /// given, a key derived from it (for runs that must repeat exactly).
    pub(crate) fn new(seed: Option<u64>) -> IsnGenerator {
        let mut key = [0u8; 16];
        match seed {
            Some(seed) => {
                let mut rng = fastrand::Rng::with_seed(seed ^ 0x6528);
                rng.fill(&mut key);
            }
            None => {
                if getrandom::fill(&mut key).is_err() {
                    // No OS randomness (should not happen on Linux): fall back to a
                    // time-and-address-seeded generator, still different at every start.
                    fastrand::Rng::new().fill(&mut key);
                }
            }
        }
        IsnGenerator { key }
    }

    /// The ISN for a connection from `local` to `remote`, at time `now`.
    pub(crate) fn isn(&self, local: SocketAddrV4, remote: SocketAddrV4, now: Instant) -> SeqNumber {
        let mut hash = SipHasher24::new_with_key(&self.key);
        hash.write(&local.ip().octets());
        hash.write(&local.port().to_be_bytes());
        hash.write(&remote.ip().octets());
        hash.write(&remote.port().to_be_bytes());
        let f = hash.finish() as u32;
        // M: a 4-microsecond tick, so that ISNs of one 4-tuple wrap only every 4.77 hours.
        let m = (now.total_micros() / 4) as u32;
        SeqNumber(m.wrapping_add(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), port)
    }

    #[test]
    fn differs_per_tuple_and_per_key_and_climbs_with_time() {
        let gen = IsnGenerator::new(Some(1));
        let t = Instant::from_secs(5);
        let a = gen.isn(addr(80), addr(50000), t);
        let b = gen.isn(addr(80), addr(50001), t);
        assert_ne!(a, b, "another port, another ISN");
        assert_eq!(
            gen.isn(addr(80), addr(50000), t),
            a,
            "a pure function of its inputs"
        );
        let later = gen.isn(
            addr(80),
            addr(50000),
            t + std::time::Duration::from_millis(1),
        );
        assert_eq!(later - a, 250, "1 ms = 250 ticks of 4 µs");
        let other_key = IsnGenerator::new(Some(2));
        assert_ne!(other_key.isn(addr(80), addr(50000), t), a);
    }

    #[test]
    fn random_keys_differ_between_starts() {
        let t = Instant::ZERO;
        let isns: std::collections::HashSet<u32> = (0..8)
            .map(|_| IsnGenerator::new(None).isn(addr(80), addr(50000), t).0)
            .collect();
        assert_eq!(isns.len(), 8);
    }
}
