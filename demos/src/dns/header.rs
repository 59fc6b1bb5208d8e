//! The header: the first 12 bytes of every DNS message (RFC 1035 4.1.1).
//!
//! ```text
//!                                 1  1  1  1  1  1
//!   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                      ID                       |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    QDCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    ANCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    NSCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    ARCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! ```
//!
//! The three Z bits were later given meanings by DNSSEC (AD and CD, RFC 4035 3.2); this codec
//! keeps them as they came. The four counts are not part of [`Header`]: they are the lengths of
//! a [`Message`](super::Message)'s sections, written when it is encoded.

use std::fmt;

use super::DnsError;

/// The header's length in bytes.
pub const HEADER_LEN: usize = 12;

/// Opcode 0, a standard query (RFC 1035 4.1.1); the only one most servers implement.
pub const OPCODE_QUERY: u8 = 0;

/// Byte ranges of the header's fields, as smoltcp's `field` modules name them.
mod field {
    use std::ops::Range;
    pub const ID: Range<usize> = 0..2;
    pub const FLAGS: Range<usize> = 2..4;
    pub const QDCOUNT: Range<usize> = 4..6;
    pub const ANCOUNT: Range<usize> = 6..8;
    pub const NSCOUNT: Range<usize> = 8..10;
    pub const ARCOUNT: Range<usize> = 10..12;
}

/// The response code, the header's last four bits (RFC 1035 4.1.1; names from RFC 6895 2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// 0: no error.
    NoError,
    /// 1: the server could not read the query.
    FormErr,
    /// 2: the server failed.
    ServFail,
    /// 3: the name does not exist (only from an authoritative server).
    NxDomain,
    /// 4: the server does not do this kind of query.
    NotImp,
    /// 5: the server will not answer this (here: a name outside its zone).
    Refused,
    /// Any other value (6..=15 fit the header).
    Other(u8),
}

impl From<u8> for Rcode {
    fn from(value: u8) -> Rcode {
        match value {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            other => Rcode::Other(other),
        }
    }
}

impl From<Rcode> for u8 {
    fn from(rcode: Rcode) -> u8 {
        match rcode {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(value) => value,
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => f.write_str("NOERROR"),
            Rcode::FormErr => f.write_str("FORMERR"),
            Rcode::ServFail => f.write_str("SERVFAIL"),
            Rcode::NxDomain => f.write_str("NXDOMAIN"),
            Rcode::NotImp => f.write_str("NOTIMP"),
            Rcode::Refused => f.write_str("REFUSED"),
            Rcode::Other(value) => write!(f, "RCODE{value}"),
        }
    }
}

/// The header's fields, without the four counts (see the module's diagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Chosen by the asker, copied into the answer: how a client matches them up.
    pub id: u16,
    /// QR: a response (true) or a query.
    pub response: bool,
    /// The kind of query, 4 bits: 0 is a standard query ([`OPCODE_QUERY`]).
    pub opcode: u8,
    /// AA: the answer comes from a server authoritative for the name.
    pub authoritative: bool,
    /// TC: the message was cut to fit its transport (RFC 1035 4.2.1); ask again over TCP.
    pub truncated: bool,
    /// RD: the asker would like the server to recurse.
    pub recursion_desired: bool,
    /// RA: the server recurses (ours does not).
    pub recursion_available: bool,
    /// The three bits between RA and RCODE (Z, AD, CD), kept as they came.
    pub z: u8,
    /// The response code.
    pub rcode: Rcode,
}

/// The four section counts that follow the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    /// QDCOUNT: questions.
    pub questions: u16,
    /// ANCOUNT: answer records.
    pub answers: u16,
    /// NSCOUNT: authority records.
    pub authorities: u16,
    /// ARCOUNT: additional records (the OPT record counts here).
    pub additionals: u16,
}

impl Header {
    /// A query's header: a question, recursion desired, everything else clear.
    pub fn query(id: u16) -> Header {
        Header {
            id,
            response: false,
            opcode: OPCODE_QUERY,
            authoritative: false,
            truncated: false,
            recursion_desired: true,
            recursion_available: false,
            z: 0,
            rcode: Rcode::NoError,
        }
    }

    /// Reads the header and the counts from the first 12 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<(Header, Counts), DnsError> {
        let head = bytes
            .get(..HEADER_LEN)
            .ok_or(DnsError::Truncated { what: "the header" })?;
        let word = |range: std::ops::Range<usize>| {
            u16::from_be_bytes([head[range.start], head[range.start + 1]])
        };
        let flags = word(field::FLAGS);
        let header = Header {
            id: word(field::ID),
            response: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0x0f) as u8,
            authoritative: flags & 0x0400 != 0,
            truncated: flags & 0x0200 != 0,
            recursion_desired: flags & 0x0100 != 0,
            recursion_available: flags & 0x0080 != 0,
            z: ((flags >> 4) & 0x07) as u8,
            rcode: Rcode::from((flags & 0x0f) as u8),
        };
        let counts = Counts {
            questions: word(field::QDCOUNT),
            answers: word(field::ANCOUNT),
            authorities: word(field::NSCOUNT),
            additionals: word(field::ARCOUNT),
        };
        Ok((header, counts))
    }

    /// The flags word: QR, Opcode, AA, TC, RD, RA, Z, RCODE. Fields wider than their bits
    /// (an opcode over 15) keep only their low bits.
    pub fn flags(&self) -> u16 {
        let bit = |set: bool, mask: u16| if set { mask } else { 0 };
        bit(self.response, 0x8000)
            | (u16::from(self.opcode & 0x0f) << 11)
            | bit(self.authoritative, 0x0400)
            | bit(self.truncated, 0x0200)
            | bit(self.recursion_desired, 0x0100)
            | bit(self.recursion_available, 0x0080)
            | (u16::from(self.z & 0x07) << 4)
            | u16::from(u8::from(self.rcode) & 0x0f)
    }

    /// Writes the header and `counts` (12 bytes) at the end of `out`.
    pub fn emit(&self, counts: Counts, out: &mut Vec<u8>) {
        for word in [
            self.id,
            self.flags(),
            counts.questions,
            counts.answers,
            counts.authorities,
            counts.additionals,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
    }
}
