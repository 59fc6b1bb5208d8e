//! The resolver's cache: answers kept for as long as their TTL says, and no longer.
//!
//! Every record carries a time to live, in seconds: how long anyone may keep it (RFC 1035
//! 3.2.1). The cache keeps a whole answer under its question (name and type) until the smallest
//! TTL among its records runs out, and hands it back with each TTL lowered by the time it has
//! spent in the cache, as a caching resolver does, so that a TTL always says how long the
//! record may still be kept. Negative answers are kept too (RFC 2308 5): "no such name"
//! (NXDOMAIN) and "no record of that type" (NODATA), for the SOA's minimum or the SOA's own TTL,
//! whichever is smaller, so that a name that does not exist is not asked about again and again.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::dns::{Message, Name, RData, Rcode, Record, RecordType};

/// At most this many answers are kept; when full, expired ones go first, then the one that
/// expires soonest.
pub const CACHE_ENTRIES: usize = 1024;

/// An answer from the cache.
#[derive(Clone, Debug)]
pub struct Cached {
    /// The response code it came with: NOERROR, or NXDOMAIN for a name that does not exist.
    pub rcode: Rcode,
    /// The answer's records, with their TTLs lowered by the time spent in the cache.
    pub records: Vec<Record>,
    /// How long it may still be kept.
    pub ttl_left: Duration,
}

struct Entry {
    rcode: Rcode,
    records: Vec<Record>,
    stored: Instant,
    ttl: Duration,
}

impl Entry {
    fn expires(&self) -> Instant {
        self.stored + self.ttl
    }
}

/// Answers by question (name, type), until their TTL runs out.
#[derive(Default)]
pub struct Cache {
    entries: HashMap<(Name, RecordType), Entry>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// How many answers it holds (expired ones included until they are replaced).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The answer to `name`/`qtype` kept from earlier, if its TTL has not run out at `now`.
    pub fn get(&self, name: &Name, qtype: RecordType, now: Instant) -> Option<Cached> {
        let entry = self.entries.get(&(name.clone(), qtype))?;
        let age = now.saturating_duration_since(entry.stored);
        let ttl_left = entry.ttl.checked_sub(age).filter(|left| !left.is_zero())?;
        let spent = u32::try_from(age.as_secs()).unwrap_or(u32::MAX);
        let records = entry
            .records
            .iter()
            .map(|record| Record {
                ttl: record.ttl.saturating_sub(spent),
                ..record.clone()
            })
            .collect();
        Some(Cached {
            rcode: entry.rcode,
            records,
            ttl_left,
        })
    }

    /// Keeps `response`, the answer to `name`/`qtype` that came at `now`, for as long as it
    /// may be kept; an answer with nothing to keep (a TTL of 0, a server failure) is not kept.
    pub fn put(&mut self, name: &Name, qtype: RecordType, response: &Message, now: Instant) {
        let Some(ttl) = ttl_of(response) else {
            return;
        };
        if ttl == 0 {
            return;
        }
        if self.entries.len() >= CACHE_ENTRIES {
            self.make_room(now);
        }
        self.entries.insert(
            (name.clone(), qtype),
            Entry {
                rcode: response.header.rcode,
                records: response.answers.clone(),
                stored: now,
                ttl: Duration::from_secs(u64::from(ttl)),
            },
        );
    }

    /// Drops the expired answers, or if none has expired, the one that expires soonest.
    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, entry| entry.expires() > now);
        if self.entries.len() < CACHE_ENTRIES {
            return;
        }
        let soonest = self
            .entries
            .iter()
            .min_by_key(|(_, entry)| entry.expires())
            .map(|(key, _)| key.clone());
        if let Some(key) = soonest {
            self.entries.remove(&key);
        }
    }
}

/// How long a response may be kept, in seconds: the smallest TTL of its answers; for a
/// negative answer, the SOA's TTL or its minimum field, whichever is smaller (RFC 2308 5);
/// `None` for what is not kept at all (errors other than NXDOMAIN, negative answers without an
/// SOA).
fn ttl_of(response: &Message) -> Option<u32> {
    let negative = match response.header.rcode {
        Rcode::NxDomain => true,
        Rcode::NoError => response.answers.is_empty(),
        _ => return None,
    };
    if negative {
        return response
            .authorities
            .iter()
            .find_map(|record| match &record.data {
                RData::Soa(soa) => Some(record.ttl.min(soa.minimum)),
                _ => None,
            });
    }
    response.answers.iter().map(|record| record.ttl).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Soa, CLASS_IN};
    use std::net::Ipv4Addr;

    fn name(text: &str) -> Name {
        text.parse().unwrap()
    }

    fn a(owner: &str, ttl: u32) -> Record {
        Record {
            name: name(owner),
            class: CLASS_IN,
            ttl,
            data: RData::A(Ipv4Addr::new(10, 77, 0, 2)),
        }
    }

    fn response(rcode: Rcode, answers: Vec<Record>, authorities: Vec<Record>) -> Message {
        let mut message = Message::query(1, name("www.course.test"), RecordType::A);
        message.header.response = true;
        message.header.rcode = rcode;
        message.answers = answers;
        message.authorities = authorities;
        message
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        Record {
            name: name("course.test"),
            class: CLASS_IN,
            ttl,
            data: RData::Soa(Soa {
                mname: name("ns.course.test"),
                rname: name("admin.course.test"),
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum,
            }),
        }
    }

    #[test]
    fn an_answer_is_kept_for_its_smallest_ttl_and_ages_in_the_cache() {
        let start = Instant::now();
        let mut cache = Cache::new();
        let www = name("www.course.test");
        let answer = response(
            Rcode::NoError,
            vec![a("www.course.test", 60), a("x", 300)],
            vec![],
        );
        cache.put(&www, RecordType::A, &answer, start);
        let hit = cache
            .get(&www, RecordType::A, start + Duration::from_secs(20))
            .unwrap();
        assert_eq!(hit.ttl_left, Duration::from_secs(40));
        assert_eq!(
            hit.records[0].ttl, 40,
            "the TTL says how long it may still be kept"
        );
        assert_eq!(hit.records[1].ttl, 280);
        // Case does not matter in names (RFC 4343).
        assert!(cache
            .get(&name("WWW.Course.Test"), RecordType::A, start)
            .is_some());
        assert!(
            cache.get(&www, RecordType::Aaaa, start).is_none(),
            "another question"
        );
        assert!(cache
            .get(&www, RecordType::A, start + Duration::from_secs(60))
            .is_none());
    }

    #[test]
    fn negative_answers_are_kept_for_the_soa_minimum_or_its_ttl() {
        let start = Instant::now();
        let mut cache = Cache::new();
        let nope = name("nope.course.test");
        let nx = response(Rcode::NxDomain, vec![], vec![soa(3600, 30)]);
        cache.put(&nope, RecordType::A, &nx, start);
        let hit = cache.get(&nope, RecordType::A, start).unwrap();
        assert_eq!(
            (hit.rcode, hit.ttl_left),
            (Rcode::NxDomain, Duration::from_secs(30))
        );
        let nodata = response(Rcode::NoError, vec![], vec![soa(10, 300)]);
        cache.put(&nope, RecordType::Txt, &nodata, start);
        let hit = cache.get(&nope, RecordType::Txt, start).unwrap();
        assert_eq!(hit.ttl_left, Duration::from_secs(10));
        assert!(hit.records.is_empty());
    }

    #[test]
    fn failures_zero_ttls_and_soa_less_negatives_are_not_kept() {
        let start = Instant::now();
        let mut cache = Cache::new();
        let www = name("www.course.test");
        for answer in [
            response(Rcode::ServFail, vec![], vec![soa(60, 60)]),
            response(Rcode::Refused, vec![], vec![]),
            response(Rcode::NxDomain, vec![], vec![]),
            response(Rcode::NoError, vec![a("www.course.test", 0)], vec![]),
        ] {
            cache.put(&www, RecordType::A, &answer, start);
        }
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_makes_room_expired_first_then_soonest_to_expire() {
        let start = Instant::now();
        let mut cache = Cache::new();
        for i in 0..CACHE_ENTRIES {
            let ttl = if i == 7 { 5 } else { 100 + i as u32 };
            let answer = response(Rcode::NoError, vec![a("x", ttl)], vec![]);
            cache.put(&name(&format!("h{i}.test")), RecordType::A, &answer, start);
        }
        let answer = response(Rcode::NoError, vec![a("x", 100)], vec![]);
        cache.put(&name("new.test"), RecordType::A, &answer, start);
        assert_eq!(cache.len(), CACHE_ENTRIES);
        assert!(cache.get(&name("h7.test"), RecordType::A, start).is_none());
        assert!(cache.get(&name("new.test"), RecordType::A, start).is_some());
    }
}
