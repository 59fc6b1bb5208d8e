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
use std::net::SocketAddr;

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
    /// given, a key derived from it (for runs that must repeat exactly). Without a good random
    /// source there is no key an attacker cannot guess, so no generator: an error, not a
    /// weaker fallback.
    pub(crate) fn new(seed: Option<u64>) -> std::io::Result<IsnGenerator> {
        Self::from_source(seed, getrandom::fill)
    }

    /// Like [`IsnGenerator::new`], with the random source to ask for the key.
    fn from_source(
        seed: Option<u64>,
        source: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> std::io::Result<IsnGenerator> {
        let mut key = [0u8; 16];
        match seed {
            Some(seed) => {
                let mut rng = fastrand::Rng::with_seed(seed ^ 0x6528);
                rng.fill(&mut key);
            }
            None => source(&mut key).map_err(|err| {
                std::io::Error::other(format!(
                    "no secure random source for TCP's secrets (initial sequence numbers, \
                     timestamp offsets, SYN cookies): {err}"
                ))
            })?,
        }
        Ok(IsnGenerator { key })
    }

    /// The offset added to our timestamp clock on a connection from `local` to `remote`
    /// ([RFC 7323 5.4]: a keyed hash of the 4-tuple, so that timestamps tell an observer
    /// nothing about our uptime, and nothing about the ISN either).
    ///
    /// [RFC 7323 5.4]: https://www.rfc-editor.org/rfc/rfc7323#section-5.4
    pub(crate) fn ts_offset(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        (self.keyed(b"timestamps", local, remote) >> 32) as u32
    }

    /// A number for `label` derived from the key (seeds other randomness that must not be
    /// guessed, such as the challenge ACK budget's draws).
    pub(crate) fn derive(&self, label: &[u8]) -> u64 {
        let mut hash = SipHasher24::new_with_key(&self.key);
        hash.write(label);
        hash.finish()
    }

    fn keyed(&self, label: &[u8], local: SocketAddr, remote: SocketAddr) -> u64 {
        let mut hash = SipHasher24::new_with_key(&self.key);
        hash.write(label);
        write_ip(&mut hash, local.ip());
        hash.write(&local.port().to_be_bytes());
        write_ip(&mut hash, remote.ip());
        hash.write(&remote.port().to_be_bytes());
        hash.finish()
    }

    /// The ISN for a connection from `local` to `remote`, at time `now`.
    pub(crate) fn isn(&self, local: SocketAddr, remote: SocketAddr, now: Instant) -> SeqNumber {
        let mut hash = SipHasher24::new_with_key(&self.key);
        write_ip(&mut hash, local.ip());
        hash.write(&local.port().to_be_bytes());
        write_ip(&mut hash, remote.ip());
        hash.write(&remote.port().to_be_bytes());
        let f = hash.finish() as u32;
        // M: a 4-microsecond tick, so that ISNs of one 4-tuple wrap only every 4.77 hours.
        let m = (now.total_micros() / 4) as u32;
        SeqNumber(m.wrapping_add(f))
    }
}

/// Hashes an address of either version as its bytes (4 or 16).
pub(crate) fn write_ip(hash: &mut SipHasher24, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(ip) => hash.write(&ip.octets()),
        std::net::IpAddr::V6(ip) => hash.write(&ip.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 77, 0, 2], port))
    }

    #[test]
    fn differs_per_tuple_and_per_key_and_climbs_with_time() {
        let gen = IsnGenerator::new(Some(1)).expect("seeded");
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
        let other_key = IsnGenerator::new(Some(2)).expect("seeded");
        assert_ne!(other_key.isn(addr(80), addr(50000), t), a);
    }

    #[test]
    fn random_keys_differ_between_starts() {
        let t = Instant::ZERO;
        let isns: std::collections::HashSet<u32> = (0..8)
            .map(|_| IsnGenerator::new(None).map_or(0, |g| g.isn(addr(80), addr(50000), t).0))
            .collect();
        assert_eq!(isns.len(), 8);
    }

    #[test]
    fn timestamp_offsets_are_keyed_per_tuple_and_unrelated_to_the_isn() {
        let gen = IsnGenerator::new(Some(1)).expect("seeded");
        let a = gen.ts_offset(addr(80), addr(50000));
        assert_eq!(gen.ts_offset(addr(80), addr(50000)), a);
        assert_ne!(gen.ts_offset(addr(80), addr(50001)), a);
        let isn = gen.isn(addr(80), addr(50000), Instant::from_secs(0));
        assert_ne!(a, isn.0.rotate_left(13), "not the old ISS-derived offset");
        let other_key = IsnGenerator::new(Some(2)).expect("seeded");
        assert_ne!(other_key.ts_offset(addr(80), addr(50000)), a);
    }

    #[test]
    fn without_a_random_source_there_is_no_generator_and_the_error_says_why() {
        let failing = |_: &mut [u8]| Err(getrandom::Error::UNSUPPORTED);
        let err = IsnGenerator::from_source(None, failing).expect_err("no key, no generator");
        assert!(err.to_string().contains("no secure random source"), "{err}");
        // A seeded generator (tests, the tour) needs no random source.
        assert!(IsnGenerator::from_source(Some(1), failing).is_ok());
    }
}
