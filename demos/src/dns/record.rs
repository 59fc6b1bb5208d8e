//! Resource records (RFC 1035 4.1.3) and the data of the types this codec reads: A (3.4.1),
//! NS (3.3.11), CNAME (3.3.1), SOA (3.3.13), TXT (3.3.14) and AAAA (RFC 3596 2.2). Any other
//! type keeps its data as bytes and round-trips unchanged (RFC 3597).
//!
//! ```text
//!                                 1  1  1  1  1  1
//!   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                                               |
//! /                      NAME                     /
//! |                                               |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                      TYPE                     |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                     CLASS                     |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                      TTL                      |
//! |                                               |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                   RDLENGTH                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--|
//! /                     RDATA                     /
//! /                                               /
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::wire::{u16_at, u32_at, Encoder};
use super::{DnsError, Name};

/// Class IN, the Internet (RFC 1035 3.2.4): the only class this codec's users ask about.
pub const CLASS_IN: u16 = 1;

/// A record's type (RFC 1035 3.2.2, RFC 3596, RFC 6891); the types this codec knows by name
/// and any other by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// 1: an IPv4 address.
    A,
    /// 2: a name server for the zone.
    Ns,
    /// 5: the canonical name this name is an alias of.
    Cname,
    /// 6: the start of a zone of authority.
    Soa,
    /// 16: text strings.
    Txt,
    /// 28: an IPv6 address (RFC 3596).
    Aaaa,
    /// 41: the EDNS(0) pseudo-record (RFC 6891).
    Opt,
    /// Any other type, by number.
    Other(u16),
}

impl From<u16> for RecordType {
    fn from(value: u16) -> RecordType {
        match value {
            1 => RecordType::A,
            2 => RecordType::Ns,
            5 => RecordType::Cname,
            6 => RecordType::Soa,
            16 => RecordType::Txt,
            28 => RecordType::Aaaa,
            41 => RecordType::Opt,
            other => RecordType::Other(other),
        }
    }
}

impl From<RecordType> for u16 {
    fn from(rtype: RecordType) -> u16 {
        match rtype {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Soa => 6,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
            RecordType::Opt => 41,
            RecordType::Other(value) => value,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordType::A => f.write_str("A"),
            RecordType::Ns => f.write_str("NS"),
            RecordType::Cname => f.write_str("CNAME"),
            RecordType::Soa => f.write_str("SOA"),
            RecordType::Txt => f.write_str("TXT"),
            RecordType::Aaaa => f.write_str("AAAA"),
            RecordType::Opt => f.write_str("OPT"),
            // RFC 3597 5: the text form of a type without a name.
            RecordType::Other(value) => write!(f, "TYPE{value}"),
        }
    }
}

/// Reads `A`, `aaaa`, `TYPE65`... (the [`Display`](fmt::Display) forms, any case).
impl FromStr for RecordType {
    type Err = DnsError;

    fn from_str(text: &str) -> Result<RecordType, DnsError> {
        let upper = text.to_ascii_uppercase();
        let known = [
            RecordType::A,
            RecordType::Ns,
            RecordType::Cname,
            RecordType::Soa,
            RecordType::Txt,
            RecordType::Aaaa,
            RecordType::Opt,
        ];
        if let Some(rtype) = known.into_iter().find(|rtype| rtype.to_string() == upper) {
            return Ok(rtype);
        }
        upper
            .strip_prefix("TYPE")
            .and_then(|number| number.parse::<u16>().ok())
            .map(RecordType::from)
            .ok_or_else(|| DnsError::BadText(format!("unknown record type {text:?}")))
    }
}

/// An SOA record's data (RFC 1035 3.3.13): who runs the zone, and its timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soa {
    /// The zone's primary name server.
    pub mname: Name,
    /// The mailbox of the person responsible, its `@` written as a dot.
    pub rname: Name,
    /// The zone's version.
    pub serial: u32,
    /// How often a secondary checks the serial, in seconds.
    pub refresh: u32,
    /// How soon a secondary tries again after a failed refresh.
    pub retry: u32,
    /// How long a secondary keeps serving without a refresh.
    pub expire: u32,
    /// How long a resolver caches a "no such name" or "no such data" (RFC 2308 4).
    pub minimum: u32,
}

/// A record's data, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// The canonical name.
    Cname(Name),
    /// A name server.
    Ns(Name),
    /// One or more character-strings, each at most 255 bytes (a longer one is cut to 255
    /// when written).
    Txt(Vec<Vec<u8>>),
    /// A zone's start of authority.
    Soa(Soa),
    /// Any other type: its number and its data as bytes.
    Other {
        /// The type's number.
        rtype: u16,
        /// The data, unread.
        data: Vec<u8>,
    },
}

impl fmt::Display for RData {
    /// The data as a zone file (and dig) writes it (RFC 1035 5.1): `10.77.0.2`,
    /// `www.course.test.`, TXT strings in quotes, an SOA's seven fields; another type as
    /// `TYPE65, 12 bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(addr) => write!(f, "{addr}"),
            RData::Aaaa(addr) => write!(f, "{addr}"),
            RData::Cname(name) | RData::Ns(name) => write!(f, "{name}"),
            RData::Txt(strings) => {
                let quoted: Vec<String> = strings
                    .iter()
                    .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
                    .collect();
                f.write_str(&quoted.join(" "))
            }
            RData::Soa(soa) => write!(
                f,
                "{} {} {} {} {} {} {}",
                soa.mname, soa.rname, soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum
            ),
            RData::Other { rtype, data } => write!(f, "TYPE{rtype}, {} bytes", data.len()),
        }
    }
}

/// A resource record: an owner name, a class, a time to live and typed data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The name the record belongs to.
    pub name: Name,
    /// The class, [`CLASS_IN`] in practice.
    pub class: u16,
    /// How long a resolver may cache the record, in seconds.
    pub ttl: u32,
    /// The data; its variant says the type.
    pub data: RData,
}

impl fmt::Display for Record {
    /// One line as dig prints it: `www.course.test. 60 IN A 10.77.0.2` (class IN by name,
    /// another by number).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, ttl, rtype, data) = (&self.name, self.ttl, self.rtype(), &self.data);
        match self.class {
            CLASS_IN => write!(f, "{name} {ttl} IN {rtype} {data}"),
            class => write!(f, "{name} {ttl} CLASS{class} {rtype} {data}"),
        }
    }
}

impl Record {
    /// The record's type, from its data.
    pub fn rtype(&self) -> RecordType {
        match &self.data {
            RData::A(_) => RecordType::A,
            RData::Aaaa(_) => RecordType::Aaaa,
            RData::Cname(_) => RecordType::Cname,
            RData::Ns(_) => RecordType::Ns,
            RData::Txt(_) => RecordType::Txt,
            RData::Soa(_) => RecordType::Soa,
            RData::Other { rtype, .. } => RecordType::from(*rtype),
        }
    }

    /// Reads the record at `at` in `message`; returns it with the offset just past it. The
    /// type and class come back raw too, for the OPT record, which uses them differently.
    pub fn read(message: &[u8], at: usize) -> Result<(Record, usize), DnsError> {
        let (name, at) = Name::read(message, at)?;
        let what = "a record's fixed fields";
        let rtype = u16_at(message, at, what)?;
        let class = u16_at(message, at + 2, what)?;
        let ttl = u32_at(message, at + 4, what)?;
        let rdlength = usize::from(u16_at(message, at + 8, what)?);
        let start = at + 10;
        let end = start + rdlength;
        if end > message.len() {
            return Err(DnsError::Truncated {
                what: "a record's data",
            });
        }
        let data = RData::read(message, rtype, start, end)?;
        let record = Record {
            name,
            class,
            ttl,
            data,
        };
        Ok((record, end))
    }

    /// Writes the record, compressing its owner name and the names in its data where RFC 3597
    /// 4 allows (the types of RFC 1035).
    pub fn write(&self, encoder: &mut Encoder) {
        self.name.write(encoder, true);
        encoder.u16(self.rtype().into());
        encoder.u16(self.class);
        encoder.u32(self.ttl);
        let length_at = encoder.buf.len();
        encoder.u16(0);
        self.data.write(encoder);
        // RDLENGTH, now that the data is written; data over 65535 bytes cannot be represented
        // and keeps only the low 16 bits of its length.
        let length = (encoder.buf.len() - length_at - 2) as u16;
        encoder.buf[length_at..length_at + 2].copy_from_slice(&length.to_be_bytes());
    }
}

impl RData {
    /// Reads the data of a record of type `rtype` at `message[start..end]`; names in it may
    /// point anywhere before them in the message.
    fn read(message: &[u8], rtype: u16, start: usize, end: usize) -> Result<RData, DnsError> {
        let bytes = &message[start..end];
        let bad = |why| DnsError::BadRdata { rtype, why };
        let data = match RecordType::from(rtype) {
            RecordType::A => RData::A(
                <[u8; 4]>::try_from(bytes)
                    .map_err(|_| bad("not 4 bytes"))?
                    .into(),
            ),
            RecordType::Aaaa => RData::Aaaa(
                <[u8; 16]>::try_from(bytes)
                    .map_err(|_| bad("not 16 bytes"))?
                    .into(),
            ),
            RecordType::Cname | RecordType::Ns => {
                // The name must fill the data exactly, and may not run past it.
                let (name, next) = Name::read(&message[..end], start)?;
                if next != end {
                    return Err(bad("bytes after the name"));
                }
                if rtype == u16::from(RecordType::Cname) {
                    RData::Cname(name)
                } else {
                    RData::Ns(name)
                }
            }
            RecordType::Soa => RData::Soa(read_soa(message, start, end, rtype)?),
            RecordType::Txt => {
                RData::Txt(read_strings(bytes).ok_or_else(|| bad("a string runs past the data"))?)
            }
            _ => RData::Other {
                rtype,
                data: bytes.to_vec(),
            },
        };
        Ok(data)
    }

    /// Writes the data (without RDLENGTH).
    fn write(&self, encoder: &mut Encoder) {
        match self {
            RData::A(addr) => encoder.buf.extend_from_slice(&addr.octets()),
            RData::Aaaa(addr) => encoder.buf.extend_from_slice(&addr.octets()),
            RData::Cname(name) | RData::Ns(name) => name.write(encoder, true),
            RData::Soa(soa) => {
                soa.mname.write(encoder, true);
                soa.rname.write(encoder, true);
                for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                    encoder.u32(value);
                }
            }
            RData::Txt(strings) => {
                for string in strings {
                    let string = &string[..string.len().min(255)];
                    encoder.buf.push(string.len() as u8);
                    encoder.buf.extend_from_slice(string);
                }
            }
            RData::Other { data, .. } => encoder.buf.extend_from_slice(data),
        }
    }
}

/// Reads an SOA's two names and five numbers, which must fill `message[start..end]` exactly.
fn read_soa(message: &[u8], start: usize, end: usize, rtype: u16) -> Result<Soa, DnsError> {
    let within = &message[..end];
    let (mname, at) = Name::read(within, start)?;
    let (rname, at) = Name::read(within, at)?;
    if end - at != 20 {
        return Err(DnsError::BadRdata {
            rtype,
            why: "not five 32-bit numbers after the names",
        });
    }
    let number = |i: usize| u32_at(within, at + 4 * i, "an SOA's numbers");
    Ok(Soa {
        mname,
        rname,
        serial: number(0)?,
        refresh: number(1)?,
        retry: number(2)?,
        expire: number(3)?,
        minimum: number(4)?,
    })
}

/// Splits TXT data into its character-strings: each a length byte and that many bytes (RFC
/// 1035 3.3); `None` if the last one runs past the end.
fn read_strings(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut strings = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let string = rest.get(..usize::from(len))?;
        strings.push(string.to_vec());
        bytes = &rest[usize::from(len)..];
    }
    Some(strings)
}
