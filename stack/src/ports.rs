//! Port numbers: well-known, registered, and ephemeral ([RFC 6335 section 6]).
//!
//! A port names a conversation end within a host. IANA splits the 16-bit space in three:
//!
//! ```text
//!      0 ..  1023   well-known (system) ports: 7 echo, 22 SSH, 53 DNS, 80 HTTP, 443 HTTPS
//!   1024 .. 49151   registered (user) ports: 5432 PostgreSQL, 8080 HTTP alternate
//!  49152 .. 65535   dynamic / private ports: the ephemeral ports a client gets
//! ```
//!
//! A client rarely picks its own port: `connect` (TCP) or a first `send_to` on a socket bound to
//! port 0 (UDP) gets one from the ephemeral range. Picking it at random, rather than counting up,
//! makes the 4-tuple harder for an off-path attacker to guess ([RFC 6056]).
//!
//! [RFC 6335 section 6]: https://www.rfc-editor.org/rfc/rfc6335#section-6
//! [RFC 6056]: https://www.rfc-editor.org/rfc/rfc6056

use std::ops::RangeInclusive;

/// The ephemeral (dynamic) port range IANA defines: 49152 to 65535.
pub const EPHEMERAL: RangeInclusive<u16> = 49152..=65535;

/// Picks a random free port from [`EPHEMERAL`]: a random start, then counting up (wrapping
/// within the range) past the ports `in_use` rejects — RFC 6056's algorithm 1, simple and
/// uniform. `None` when every port is taken.
pub(crate) fn pick_ephemeral(rng: &mut fastrand::Rng, in_use: impl Fn(u16) -> bool) -> Option<u16> {
    let first = *EPHEMERAL.start();
    let count = u32::from(*EPHEMERAL.end() - first) + 1;
    let start = rng.u32(0..count);
    (0..count)
        .map(|i| first + ((start + i) % count) as u16)
        .find(|port| !in_use(*port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_random_free_ports_in_range() {
        let mut rng = fastrand::Rng::with_seed(7);
        let picks: Vec<u16> = (0..100)
            .map(|_| pick_ephemeral(&mut rng, |_| false).unwrap())
            .collect();
        assert!(picks.iter().all(|p| EPHEMERAL.contains(p)));
        let distinct: std::collections::HashSet<_> = picks.iter().collect();
        assert!(distinct.len() > 90, "random, not sequential: {distinct:?}");
    }

    #[test]
    fn skips_ports_in_use_and_reports_exhaustion() {
        let mut rng = fastrand::Rng::with_seed(1);
        let only_free = 50000;
        assert_eq!(
            pick_ephemeral(&mut rng, |p| p != only_free),
            Some(only_free)
        );
        assert_eq!(pick_ephemeral(&mut rng, |_| true), None);
    }
}
