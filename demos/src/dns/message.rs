//! A whole message (RFC 1035 4.1): the header, then four sections.
//!
//! ```text
//! +---------------------+
//! |        Header       |
//! +---------------------+
//! |       Question      | the question for the name server
//! +---------------------+
//! |        Answer       | RRs answering the question
//! +---------------------+
//! |      Authority      | RRs pointing toward an authority
//! +---------------------+
//! |      Additional     | RRs holding additional information
//! +---------------------+
//! ```
//!
//! A question (RFC 1035 4.1.2) is a name, a type and a class:
//!
//! ```text
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! /                     QNAME                     /
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                     QTYPE                     |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                     QCLASS                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! ```
//!
//! EDNS(0) (RFC 6891 6.1.2) rides in the additional section as a pseudo-record of type OPT
//! owned by the root, whose CLASS is the largest UDP payload the sender can take and whose TTL
//! holds more flags:
//!
//! ```text
//!              +0 (MSB)                            +1 (LSB)
//!   +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//!   |         EXTENDED-RCODE        |            VERSION            |
//!   +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//!   | DO|                           Z                               |
//!   +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//! ```
//!
//! [`Message`] holds it apart, as [`Edns`]: taken out of the additional section when a message
//! is read, put back as its last record when one is written.

use super::header::{Counts, Header, HEADER_LEN};
use super::record::CLASS_IN;
use super::wire::{u16_at, Encoder};
use super::{DnsError, Name, RData, Record, RecordType};

/// A question: which name, which type, which class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The type asked for.
    pub qtype: RecordType,
    /// The class, [`CLASS_IN`] in practice.
    pub qclass: u16,
}

/// The EDNS(0) options of a message: the fields of its OPT pseudo-record (RFC 6891 6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edns {
    /// The largest UDP payload the sender can take (the OPT record's CLASS).
    pub udp_payload_size: u16,
    /// The upper 8 bits of a 12-bit response code (the header holds the lower 4).
    pub extended_rcode: u8,
    /// The EDNS version; 0 is the only one.
    pub version: u8,
    /// DO: the sender wants DNSSEC records (RFC 3225).
    pub dnssec_ok: bool,
    /// The options (cookies, padding...), as bytes: code, length, data, one after the other.
    pub options: Vec<u8>,
}

impl Edns {
    /// The OPT record's length on the wire: the root (1), type, class, TTL, RDLENGTH (10), the
    /// options.
    pub fn wire_len(&self) -> usize {
        11 + self.options.len()
    }

    /// Writes the OPT pseudo-record.
    fn write(&self, encoder: &mut Encoder) {
        encoder.buf.push(0);
        encoder.u16(RecordType::Opt.into());
        encoder.u16(self.udp_payload_size);
        let flags = if self.dnssec_ok { 0x8000 } else { 0 };
        encoder.u32(u32::from(self.extended_rcode) << 24 | u32::from(self.version) << 16 | flags);
        encoder.u16(self.options.len() as u16);
        encoder.buf.extend_from_slice(&self.options);
    }
}

/// A DNS message: a header, the four sections, and the EDNS(0) options if there are any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header (the section counts are the sections' lengths).
    pub header: Header,
    /// The questions (one, in practice).
    pub questions: Vec<Question>,
    /// The records that answer the question.
    pub answers: Vec<Record>,
    /// Records about the zone's authority: the SOA of a negative answer (RFC 2308), NS records.
    pub authorities: Vec<Record>,
    /// Other records that may help (the OPT record is not among them: see `edns`).
    pub additionals: Vec<Record>,
    /// The OPT pseudo-record's fields, when the message has one.
    pub edns: Option<Edns>,
}

impl Message {
    /// A query: one question of class IN, recursion desired, no EDNS.
    pub fn query(id: u16, name: Name, qtype: RecordType) -> Message {
        Message {
            header: Header::query(id),
            questions: vec![Question {
                name,
                qtype,
                qclass: CLASS_IN,
            }],
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
            edns: None,
        }
    }

    /// Reads a whole message: every byte must belong to it.
    pub fn parse(bytes: &[u8]) -> Result<Message, DnsError> {
        let (header, counts) = Header::parse(bytes)?;
        let mut at = HEADER_LEN;
        let mut questions = Vec::new();
        for _ in 0..counts.questions {
            let (question, next) = read_question(bytes, at)?;
            questions.push(question);
            at = next;
        }
        let mut message = Message {
            header,
            questions,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
            edns: None,
        };
        for (count, section) in [
            (counts.answers, 0),
            (counts.authorities, 1),
            (counts.additionals, 2),
        ] {
            for _ in 0..count {
                at = message.read_record(bytes, at, section)?;
            }
        }
        if at != bytes.len() {
            return Err(DnsError::TrailingBytes(bytes.len() - at));
        }
        Ok(message)
    }

    /// Reads one record into section 0 (answer), 1 (authority) or 2 (additional); an OPT
    /// record in the additional section becomes `edns` instead. Returns the offset after it.
    fn read_record(&mut self, bytes: &[u8], at: usize, section: usize) -> Result<usize, DnsError> {
        let (record, next) = Record::read(bytes, at)?;
        if section == 2 && record.rtype() == RecordType::Opt {
            if self.edns.is_some() {
                return Err(DnsError::DuplicateOpt);
            }
            if !record.name.is_root() {
                return Err(DnsError::OptNotAtRoot);
            }
            self.edns = Some(read_opt(record)?);
            return Ok(next);
        }
        match section {
            0 => self.answers.push(record),
            1 => self.authorities.push(record),
            _ => self.additionals.push(record),
        }
        Ok(next)
    }

    /// The message on the wire, names compressed (RFC 1035 4.1.4).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_within(usize::MAX)
    }

    /// The message on the wire in at most `limit` bytes, if it can be done by leaving records
    /// out: whole records from the end (additional, then authority, then answer), never part
    /// of an RRset (the records of one name, type and class; RFC 2181 9), and then TC is set
    /// (RFC 1035 4.2.1). The OPT record stays, as RFC 6891 7 asks. The header and the questions
    /// are always written, even if they alone are over the limit.
    pub fn encode_within(&self, limit: usize) -> Vec<u8> {
        let mut encoder = Encoder::new();
        // The counts are written once it is known what fits.
        self.header.emit(Counts::default(), &mut encoder.buf);
        for question in &self.questions {
            question.name.write(&mut encoder, true);
            encoder.u16(question.qtype.into());
            encoder.u16(question.qclass);
        }
        let records: Vec<&Record> = self
            .answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
            .collect();
        // ends[k]: the length with the first k records. A name only points backward, so the
        // first k records encode the same whatever follows them.
        let mut ends = vec![encoder.buf.len()];
        for record in &records {
            record.write(&mut encoder);
            ends.push(encoder.buf.len());
        }
        let opt_len = self.edns.as_ref().map_or(0, Edns::wire_len);
        let mut kept = records.len();
        while kept > 0 && ends[kept].saturating_add(opt_len) > limit {
            kept -= 1;
        }
        if kept < records.len() {
            // Never half an RRset: back up to the first record of the one that was cut.
            while kept > 0 && same_rrset(records[kept - 1], records[kept]) {
                kept -= 1;
            }
        }
        encoder.buf.truncate(ends[kept]);
        let mut header = self.header;
        header.truncated |= kept < records.len();
        let (answers, authorities) = (self.answers.len(), self.authorities.len());
        let count = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        let counts = Counts {
            questions: count(self.questions.len()),
            answers: count(kept.min(answers)),
            authorities: count(kept.saturating_sub(answers).min(authorities)),
            additionals: count(
                kept.saturating_sub(answers + authorities) + usize::from(self.edns.is_some()),
            ),
        };
        let mut head = Vec::with_capacity(HEADER_LEN);
        header.emit(counts, &mut head);
        encoder.buf[..HEADER_LEN].copy_from_slice(&head);
        if let Some(edns) = &self.edns {
            edns.write(&mut encoder);
        }
        encoder.buf
    }
}

/// Whether two records, one after the other, belong to the same RRset.
fn same_rrset(a: &Record, b: &Record) -> bool {
    a.name == b.name && a.rtype() == b.rtype() && a.class == b.class
}

/// Reads the question at `at`; returns it with the offset after it.
fn read_question(bytes: &[u8], at: usize) -> Result<(Question, usize), DnsError> {
    let (name, at) = Name::read(bytes, at)?;
    let qtype = u16_at(bytes, at, "a question")?;
    let qclass = u16_at(bytes, at + 2, "a question")?;
    let question = Question {
        name,
        qtype: RecordType::from(qtype),
        qclass,
    };
    Ok((question, at + 4))
}

/// The EDNS fields of an OPT record: its CLASS is the UDP payload size and its TTL holds the
/// extended rcode, the version and the DO flag (see the module's diagram; the other 15 flag
/// bits are left out, as RFC 6891 6.1.4 says to ignore them).
fn read_opt(record: Record) -> Result<Edns, DnsError> {
    let RData::Other { data, .. } = record.data else {
        return Err(DnsError::BadRdata {
            rtype: RecordType::Opt.into(),
            why: "not raw options",
        });
    };
    Ok(Edns {
        udp_payload_size: record.class,
        extended_rcode: (record.ttl >> 24) as u8,
        version: (record.ttl >> 16) as u8,
        dnssec_ok: record.ttl & 0x8000 != 0,
        options: data,
    })
}
