//! What a lookup returns: the records, how long it took and how the answer came.

use std::net::IpAddr;
use std::time::Duration;

use crate::dns::{Name, RData, Record, RecordType};

#[cfg(doc)]
use super::Resolver;

/// How a lookup got its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Not asked at all: `localhost` is this machine (RFC 6761 6.3).
    Local,
    /// From the cache: no packet sent. The TTL left.
    Cache(Duration),
    /// Over UDP, after this many queries (more than one: the first went unanswered).
    Udp(u32),
    /// Over TCP, after this many UDP queries whose answer was truncated.
    Tcp(u32),
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Local => write!(f, "never leaves the machine: localhost is this host"),
            Via::Cache(left) => write!(f, "from the cache, TTL {} s left", left.as_secs()),
            Via::Udp(1) => write!(f, "over UDP, 1 query"),
            Via::Udp(n) => write!(f, "over UDP, {n} queries ({} unanswered)", n - 1),
            Via::Tcp(n) => write!(
                f,
                "over TCP, after {n} UDP {} came back truncated",
                if *n == 1 { "answer" } else { "answers" }
            ),
        }
    }
}

/// One lookup's result.
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The name asked about.
    pub name: Name,
    /// The type asked for.
    pub qtype: RecordType,
    /// The answer's records: any CNAMEs leading to the name that has the data, then the data.
    pub records: Vec<Record>,
    /// How long the lookup took, from the cache or over the network (both questions of
    /// [`Resolver::lookup_host`] together: they go out at once).
    pub took: Duration,
    /// How it got the answer (the first question's, for [`Resolver::lookup_host`]).
    pub via: Via,
    /// Each question asked and how its answer came: one, or A and AAAA for
    /// [`Resolver::lookup_host`].
    pub steps: Vec<(RecordType, Via)>,
}

impl Lookup {
    /// The addresses among the records (A and AAAA), in the order the server gave them.
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.records
            .iter()
            .filter_map(|record| match record.data {
                RData::A(addr) => Some(IpAddr::V4(addr)),
                RData::Aaaa(addr) => Some(IpAddr::V6(addr)),
                _ => None,
            })
            .collect()
    }

    /// How the answers came, in words: `over UDP, 1 query`, or for two questions answered
    /// alike `over UDP, 1 query each for A and AAAA`, or each its own way.
    pub fn how(&self) -> String {
        match self.steps.as_slice() {
            [(a, first), (b, second)] if first == second => match first {
                Via::Udp(1) => format!("over UDP, 1 query each for {a} and {b}"),
                _ => format!("{first} (for {a} and {b})"),
            },
            [_] | [] => self.via.to_string(),
            steps => steps
                .iter()
                .map(|(qtype, via)| format!("{qtype} {via}"))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// The name the data belongs to, after any CNAMEs: `www.course.test.` for
    /// `web.course.test`, whose CNAME points there.
    pub fn canonical_name(&self) -> &Name {
        self.records
            .iter()
            .rev()
            .find_map(|record| match &record.data {
                RData::Cname(target) => Some(target),
                _ => None,
            })
            .unwrap_or(&self.name)
    }
}
