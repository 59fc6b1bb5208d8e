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

/// What a socket is bound to: an address (or the unspecified address of either version), and
/// whether it speaks IPv6 (its addresses are reported as IPv6, IPv4 peers as IPv4-mapped
/// `::ffff:a.b.c.d`, as on Linux).
///
/// A socket bound to `[::]` takes IPv4 as well as IPv6 unless it is *v6-only* ([RFC 3493
/// 5.3], `IPV6_V6ONLY`); one bound to `0.0.0.0` takes IPv4 only; one bound to an address
/// takes only what is sent to that address.
///
/// [RFC 3493 5.3]: https://www.rfc-editor.org/rfc/rfc3493#section-5.3
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Binding {
    /// The address, IPv4-mapped ones turned back into IPv4.
    pub(crate) ip: std::net::IpAddr,
    /// Bound with an IPv6 address: the socket's addresses are shown as IPv6.
    pub(crate) v6_family: bool,
    /// Only IPv6 (for `[::]`).
    pub(crate) v6_only: bool,
}

impl Binding {
    /// The binding for `ip` as given to `bind`.
    pub(crate) fn new(ip: std::net::IpAddr, v6_only: bool) -> Binding {
        Binding {
            ip: ip.to_canonical(),
            v6_family: ip.is_ipv6(),
            v6_only: v6_only && ip.is_ipv6(),
        }
    }

    /// Whether a packet to `dst` (an address of ours) is for this socket.
    pub(crate) fn takes(&self, dst: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        match self.ip {
            IpAddr::V4(any) if any.is_unspecified() => dst.is_ipv4() && !self.v6_family,
            IpAddr::V6(any) if any.is_unspecified() => dst.is_ipv6() || !self.v6_only,
            ip => ip == dst,
        }
    }

    /// Whether this socket may talk to `peer` (canonical): not an IPv4 peer on a v6-only
    /// socket, not an IPv6 peer on an IPv4 one.
    pub(crate) fn may_reach(&self, peer: std::net::IpAddr) -> bool {
        if peer.is_ipv4() {
            !self.v6_only && (self.ip.is_ipv4() || self.ip.is_unspecified())
        } else {
            self.v6_family && (self.ip.is_ipv6())
        }
    }

    /// `addr` as this socket shows it: IPv4 addresses IPv4-mapped on an IPv6 socket.
    pub(crate) fn show(&self, addr: std::net::SocketAddr) -> std::net::SocketAddr {
        match addr {
            std::net::SocketAddr::V4(v4) if self.v6_family => {
                std::net::SocketAddr::new(std::net::IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            other => other,
        }
    }
}

/// `addr` with an IPv4-mapped address turned back into IPv4: how the core names peers.
pub(crate) fn canonical(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    std::net::SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod binding_tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn which_destinations_a_binding_takes() {
        let any4 = Binding::new(ip("0.0.0.0"), false);
        let any6 = Binding::new(ip("::"), false);
        let only6 = Binding::new(ip("::"), true);
        let one = Binding::new(ip("::ffff:10.77.0.2"), false);
        for (binding, v4, v6) in [
            (any4, true, false),
            (any6, true, true),
            (only6, false, true),
            (one, true, false),
        ] {
            assert_eq!(binding.takes(ip("10.77.0.2")), v4, "{binding:?}");
            assert_eq!(binding.takes(ip("fd77::2")), v6, "{binding:?}");
        }
        assert!(one.v6_family && one.ip == ip("10.77.0.2"));
        let peer: std::net::SocketAddr = "10.77.0.1:5".parse().unwrap();
        assert_eq!(any6.show(peer).to_string(), "[::ffff:10.77.0.1]:5");
        assert_eq!(any4.show(peer), peer);
        assert!(!only6.may_reach(ip("10.77.0.1")) && only6.may_reach(ip("fd77::1")));
        assert!(!any4.may_reach(ip("fd77::1")) && any4.may_reach(ip("10.77.0.1")));
    }
}
