//! The zone a server is authoritative for: its records, read from a small text format, and the
//! course's default zone, `course.test`.
//!
//! # The zone file format
//!
//! One record per line, four fields: `NAME TTL TYPE VALUE`. Names are written in full (the
//! final dot is optional); TTLs in seconds; types A, AAAA, CNAME, NS, TXT or SOA. `;` starts a
//! comment (outside quotes), blank lines are skipped. The values:
//!
//! ```text
//! ; the zone's apex: exactly one SOA, and every other name is under it
//! course.test      3600 SOA   ns.course.test hostmaster.course.test 1 3600 600 86400 60
//! course.test      3600 NS    ns.course.test
//! ns.course.test   3600 A     10.77.0.2
//! www.course.test  60   A     10.77.0.2
//! www.course.test  60   AAAA  fd77::2
//! web.course.test  60   CNAME www.course.test
//! course.test      300  TXT   "served by tunstack" "on a TUN device"
//! ```
//!
//! SOA's value is the primary server, the responsible person's mailbox (its `@` as a dot), the
//! serial, refresh, retry, expire and the negative-caching TTL (RFC 1035 3.3.13, RFC 2308 4).
//! TXT's value is one or more strings, in double quotes when they hold spaces (`\"` and `\\`
//! inside). A name with a CNAME has no other record (RFC 1034 3.6.2).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Name, RData, Record, RecordType, Soa, CLASS_IN};

/// A zone: its apex (the SOA's owner) and its records, in the order they were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    apex: Name,
    soa_ttl: u32,
    soa: Soa,
    records: Vec<Record>,
}

impl Zone {
    /// A zone from its records: exactly one SOA, every owner under the SOA's, no CNAME beside
    /// other data.
    pub fn new(records: Vec<Record>) -> Result<Zone, String> {
        let mut soas = records.iter().filter_map(|r| match &r.data {
            RData::Soa(soa) => Some((r, soa)),
            _ => None,
        });
        let (soa_record, soa) = soas.next().ok_or("the zone has no SOA record")?;
        if soas.next().is_some() {
            return Err("the zone has more than one SOA record".into());
        }
        let (apex, soa_ttl, soa) = (soa_record.name.clone(), soa_record.ttl, soa.clone());
        let zone = Zone {
            apex,
            soa_ttl,
            soa,
            records,
        };
        for record in &zone.records {
            if !record.name.is_subdomain_of(&zone.apex) {
                return Err(format!(
                    "{} is not under the zone's apex {}",
                    record.name, zone.apex
                ));
            }
            let others = zone
                .at(&record.name)
                .filter(|r| r.rtype() != record.rtype())
                .count();
            if record.rtype() == RecordType::Cname && others > 0 {
                return Err(format!(
                    "{} has a CNAME and other records (RFC 1034 3.6.2)",
                    record.name
                ));
            }
        }
        Ok(zone)
    }

    /// Reads a zone in the format of the [module's documentation](self); an error names the
    /// line and what is wrong with it.
    pub fn parse(text: &str) -> Result<Zone, String> {
        let mut records = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = without_comment(line);
            if line.trim().is_empty() {
                continue;
            }
            let record = parse_line(line).map_err(|why| format!("line {}: {why}", number + 1))?;
            records.push(record);
        }
        Zone::new(records)
    }

    /// The course's zone, `course.test`, served from `addr` (and `addr6` when IPv6 is on):
    /// the apex's SOA, NS and TXT, `ns` and `www` (TTL 60 s) with our addresses, `web` a CNAME
    /// of `www`, and `big`, whose ten TXT records are over 512 bytes together, to show
    /// truncation.
    pub fn course(addr: Ipv4Addr, addr6: Option<Ipv6Addr>) -> Zone {
        let mut text = String::from(COURSE_ZONE);
        for host in ["ns", "www"] {
            text.push_str(&format!("{host}.course.test 60 A {addr}\n"));
            if let Some(addr6) = addr6 {
                text.push_str(&format!("{host}.course.test 60 AAAA {addr6}\n"));
            }
        }
        for i in 0..10 {
            let filler = "x".repeat(80);
            text.push_str(&format!("big.course.test 60 TXT \"{i}: {filler}\"\n"));
        }
        // The text is ours and well formed; a failure would be a bug in this function.
        Zone::parse(&text).unwrap_or_else(|err| panic!("the course zone: {err}"))
    }

    /// The zone's apex, the owner of its SOA.
    pub fn apex(&self) -> &Name {
        &self.apex
    }

    /// The SOA record to put in the authority section of a negative answer: its TTL is the
    /// smaller of the SOA's own TTL and its MINIMUM field (RFC 2308 3).
    pub fn negative_soa(&self) -> Record {
        Record {
            name: self.apex.clone(),
            class: CLASS_IN,
            ttl: self.soa_ttl.min(self.soa.minimum),
            data: RData::Soa(self.soa.clone()),
        }
    }

    /// The records owned by `name`.
    pub fn at<'a>(&'a self, name: &'a Name) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| &r.name == name)
    }

    /// Whether `name` exists in the zone: it owns records, or a name under it does (an "empty
    /// non-terminal", which exists without records, RFC 8020).
    pub fn exists(&self, name: &Name) -> bool {
        self.records.iter().any(|r| r.name.is_subdomain_of(name))
    }

    /// How many records the zone holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the zone holds no records (never: it has an SOA).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// The fixed part of the course's zone; the addresses are added by [`Zone::course`].
const COURSE_ZONE: &str = "\
course.test 3600 SOA ns.course.test hostmaster.course.test 2026120601 3600 600 86400 60
course.test 3600 NS ns.course.test
course.test 300 TXT \"the course's zone, served by tunstack\"
web.course.test 60 CNAME www.course.test
";

/// The line up to its comment: the first `;` outside double quotes.
fn without_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => return &line[..at],
            _ => {}
        }
    }
    line
}

/// One record from `NAME TTL TYPE VALUE`.
fn parse_line(line: &str) -> Result<Record, String> {
    let mut fields = line.split_whitespace();
    let mut field = |what: &str| {
        fields
            .next()
            .ok_or(format!("no {what} (NAME TTL TYPE VALUE)"))
    };
    let name: Name = field("NAME")?.parse().map_err(|e| format!("name: {e}"))?;
    let ttl_text = field("TTL")?;
    let ttl: u32 = ttl_text
        .parse()
        .map_err(|_| format!("TTL {ttl_text:?} is not a number of seconds"))?;
    let rtype: RecordType = field("TYPE")?.parse().map_err(|e| format!("{e}"))?;
    // The value is the rest of the line after the third field.
    let value = rest_after_fields(line, 3).trim();
    if value.is_empty() {
        return Err(format!("no value for the {rtype} record"));
    }
    let data = parse_value(rtype, value)?;
    Ok(Record {
        name,
        class: CLASS_IN,
        ttl,
        data,
    })
}

/// What follows the first `n` whitespace-separated fields of `line`.
fn rest_after_fields(line: &str, n: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest
}

/// A record's data from its text.
fn parse_value(rtype: RecordType, value: &str) -> Result<RData, String> {
    let name = |text: &str| text.parse::<Name>().map_err(|e| format!("{rtype}: {e}"));
    Ok(match rtype {
        RecordType::A => RData::A(
            value
                .parse()
                .map_err(|_| format!("A: {value:?} is not an IPv4 address"))?,
        ),
        RecordType::Aaaa => RData::Aaaa(
            value
                .parse()
                .map_err(|_| format!("AAAA: {value:?} is not an IPv6 address"))?,
        ),
        RecordType::Cname => RData::Cname(name(value)?),
        RecordType::Ns => RData::Ns(name(value)?),
        RecordType::Txt => RData::Txt(parse_strings(value)?),
        RecordType::Soa => {
            let fields: Vec<&str> = value.split_whitespace().collect();
            let [mname, rname, numbers @ ..] = fields.as_slice() else {
                return Err("SOA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM".into());
            };
            let numbers: Vec<u32> = numbers
                .iter()
                .map(|n| n.parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| "SOA: the five numbers must be whole numbers")?;
            let [serial, refresh, retry, expire, minimum] = numbers[..] else {
                return Err("SOA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM".into());
            };
            RData::Soa(Soa {
                mname: name(mname)?,
                rname: name(rname)?,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            })
        }
        other => return Err(format!("type {other} is not one a zone file here may hold")),
    })
}

/// TXT strings: quoted (`"a b"`, with `\"` and `\\`) or bare words, each at most 255 bytes.
fn parse_strings(value: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut strings = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut string = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => string.push(chars.next().ok_or("TXT: a backslash at the end")?),
                    Some(c) => string.push(c),
                    None => return Err("TXT: a string without its closing quote".into()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                string.push(c);
                chars.next();
            }
        }
        if string.len() > 255 {
            return Err(format!(
                "TXT: a string of {} bytes (at most 255)",
                string.len()
            ));
        }
        strings.push(string.into_bytes());
    }
    Ok(strings)
}
