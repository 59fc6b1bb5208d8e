//! Path MTU discovery: how large a packet reaches each destination ([RFC 1191] for IPv4,
//! [RFC 8201] for IPv6).
//!
//! Our link's MTU says what fits the first hop; a link further on may carry less. We send
//! whole packets with Don't Fragment set (IPv6 routers never fragment), so a router that
//! cannot forward one drops it and tells us: ICMP "fragmentation needed" or ICMPv6 "packet
//! too big", with the MTU of its next hop. This cache remembers that value per destination;
//! TCP sizes its segments by it, and UDP datagrams and echo requests are fragmented to it.
//!
//! Anyone can send an ICMP message, so a report only counts when it is believable: TCP checks
//! that the quoted segment is one it has in flight ([RFC 5927 4.1]), and values are never taken
//! below a floor. A learned value ages out after 10 minutes ([RFC 1191 6.3] suggests it; RFC
//! 8201 asks for at least 5), so a path that has grown again is used again.
//!
//! [RFC 1191]: https://www.rfc-editor.org/rfc/rfc1191
//! [RFC 1191 6.3]: https://www.rfc-editor.org/rfc/rfc1191#section-6.3
//! [RFC 8201]: https://www.rfc-editor.org/rfc/rfc8201
//! [RFC 5927 4.1]: https://www.rfc-editor.org/rfc/rfc5927#section-4.1

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tracing::debug;

use crate::time::Instant;

/// How long a learned path MTU is kept.
pub const AGE: Duration = Duration::from_secs(600);

/// The smallest path MTU believed for IPv4: Linux's `min_pmtu` (552). RFC 791's 68 is
/// allowed, but a forged report could then make every segment 28 bytes of data
/// ([RFC 5927 section 7]).
///
/// [RFC 5927 section 7]: https://www.rfc-editor.org/rfc/rfc5927#section-7
pub const MIN_V4: usize = 552;

/// The smallest path MTU for IPv6: every IPv6 link carries 1280 bytes ([RFC 8201 section 4]).
///
/// [RFC 8201 section 4]: https://www.rfc-editor.org/rfc/rfc8201#section-4
pub const MIN_V6: usize = 1280;

/// How many destinations the cache remembers; past that, the one that ages out first goes.
pub const CAPACITY: usize = 1024;

/// RFC 1191 section 7's plateaus: for a router too old to report its next hop's MTU (the
/// field is 0), the largest plateau below the packet that did not fit.
const PLATEAUS: [usize; 11] = [
    65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68,
];

/// The path MTU of each destination that reported a smaller one than the link's.
#[derive(Debug)]
pub(crate) struct PathMtus {
    link_mtu: usize,
    entries: HashMap<IpAddr, (usize, Instant)>,
}

impl PathMtus {
    /// An empty cache for a link of `link_mtu` bytes.
    pub(crate) fn new(link_mtu: usize) -> PathMtus {
        PathMtus {
            link_mtu,
            entries: HashMap::new(),
        }
    }

    /// The largest packet to send to `dst`.
    pub(crate) fn get(&self, dst: IpAddr) -> usize {
        self.entries
            .get(&dst)
            .map_or(self.link_mtu, |(mtu, _)| *mtu)
    }

    /// A router reported that a packet of `sent_len` bytes to `dst` did not fit a link of
    /// `reported` bytes (0: it did not say). Returns the new path MTU when it went down.
    pub(crate) fn lower(
        &mut self,
        now: Instant,
        dst: IpAddr,
        reported: u32,
        sent_len: usize,
    ) -> Option<usize> {
        let floor = if dst.is_ipv6() { MIN_V6 } else { MIN_V4 };
        let reported = match usize::try_from(reported) {
            Ok(0) | Err(_) => PLATEAUS
                .into_iter()
                .find(|p| *p < sent_len)
                .unwrap_or(floor),
            Ok(mtu) => mtu,
        };
        let mtu = reported.max(floor);
        if mtu >= self.get(dst) {
            return None;
        }
        if self.entries.len() >= CAPACITY && !self.entries.contains_key(&dst) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(a, _)| *a);
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        debug!(%dst, mtu, reported, "ip: path MTU lowered");
        self.entries.insert(dst, (mtu, now + AGE));
        Some(mtu)
    }

    /// Forgets the values that have aged out by `now`; returns their destinations, whose path
    /// MTU is the link's again.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<IpAddr> {
        let aged: Vec<IpAddr> = self
            .entries
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(dst, _)| *dst)
            .collect();
        for dst in &aged {
            debug!(%dst, "ip: path MTU aged out, back to the link's");
            self.entries.remove(dst);
        }
        aged
    }

    /// When the next value ages out.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.entries.values().map(|(_, until)| *until).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lowers_never_raises_and_ages_out_after_ten_minutes() {
        let mut cache = PathMtus::new(1500);
        let t0 = Instant::from_secs(5);
        assert_eq!(cache.get(ip("10.0.0.1")), 1500);
        assert_eq!(cache.lower(t0, ip("10.0.0.1"), 1000, 1500), Some(1000));
        assert_eq!(
            cache.lower(t0, ip("10.0.0.1"), 1200, 1500),
            None,
            "no raise"
        );
        assert_eq!(cache.lower(t0, ip("10.0.0.1"), 1600, 1500), None);
        assert_eq!(cache.get(ip("10.0.0.1")), 1000);
        assert_eq!(cache.get(ip("10.0.0.2")), 1500, "per destination");
        assert_eq!(cache.poll_at(), Some(t0 + AGE));
        assert!(cache.expire(t0 + AGE - Duration::from_secs(1)).is_empty());
        assert_eq!(cache.expire(t0 + AGE), vec![ip("10.0.0.1")]);
        assert_eq!(cache.get(ip("10.0.0.1")), 1500);
    }

    #[test]
    fn floors_and_plateaus() {
        let mut cache = PathMtus::new(1500);
        let t0 = Instant::ZERO;
        assert_eq!(cache.lower(t0, ip("10.0.0.1"), 68, 1500), Some(MIN_V4));
        assert_eq!(cache.lower(t0, ip("fd77::1"), 600, 1500), Some(MIN_V6));
        // RFC 1191 7: a router that says 0 gets the plateau below the packet's length.
        assert_eq!(cache.lower(t0, ip("10.0.0.3"), 0, 1500), Some(1492));
        assert_eq!(cache.lower(t0, ip("10.0.0.3"), 0, 1492), Some(1006));
    }

    #[test]
    fn a_flood_of_reports_stays_within_the_bound() {
        let mut cache = PathMtus::new(1500);
        for i in 0..5000u32 {
            let dst = IpAddr::from(i.to_be_bytes());
            cache.lower(Instant::from_millis(u64::from(i)), dst, 1000, 1500);
        }
        assert_eq!(cache.entries.len(), CAPACITY);
        assert_eq!(cache.get(IpAddr::from(4999u32.to_be_bytes())), 1000);
        assert_eq!(
            cache.get(IpAddr::from(0u32.to_be_bytes())),
            1500,
            "the oldest went"
        );
    }
}
