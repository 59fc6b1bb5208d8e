//! What an authoritative server answers to a query: a pure function of the zone, the query's
//! bytes and the transport it came by, so that every rule below is tested without a network.
//!
//! - a query that has no whole header is dropped (there is no ID to answer to), and so is a
//!   message that is itself a response;
//! - a header followed by garbage: FORMERR (RFC 1035 4.1.1), and so is a query without exactly
//!   one question (RFC 9619);
//! - an opcode other than QUERY: NOTIMP;
//! - an EDNS version other than 0: BADVERS (RFC 6891 6.1.3);
//! - a name outside the zone, or a class other than IN: REFUSED;
//! - a name in the zone: the records of the type asked for, after the CNAMEs that lead to them
//!   inside the zone (RFC 1034 4.3.2), with AA set; if the name has none of that type, NODATA
//!   (NOERROR and no answer); if it does not exist, NXDOMAIN; both negative answers carry the
//!   zone's SOA in the authority section, for resolvers to cache them (RFC 2308 2 and 3);
//! - over UDP the answer fits 512 bytes (RFC 1035 4.2.1) or what the query's EDNS(0) record
//!   offers (RFC 6891 6.2.5), at most [`MAX_UDP`]; what does not fit is left out and TC is set,
//!   so the client asks again over TCP (RFC 7766 5); over TCP it may be 65535 bytes.

use std::fmt;

use super::{Edns, Header, Message, Name, Rcode, Record, RecordType, Zone, CLASS_IN, OPCODE_QUERY};

/// The largest UDP answer we send, whatever a query offers: 1232 bytes fit a 1280-byte IPv6
/// packet with its headers, so they are never fragmented (the DNS Flag Day 2020 figure).
pub const MAX_UDP: u16 = 1232;

/// The size of a UDP answer to a query without EDNS (RFC 1035 4.2.1).
pub const PLAIN_UDP: usize = 512;

/// How many CNAMEs an answer follows inside the zone before it stops (a loop in the zone).
const MAX_CNAMES: usize = 8;

/// Qtype 255, "all records" (RFC 1035 3.2.3).
const QTYPE_ANY: u16 = 255;

/// How a query came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A datagram: the answer must fit the size the client can take.
    Udp,
    /// A TCP connection: up to 65535 bytes (RFC 1035 4.2.2).
    Tcp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        })
    }
}

/// An answer, and what the server's log line says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The response's bytes.
    pub bytes: Vec<u8>,
    /// The response, before it was cut to size.
    pub message: Message,
    /// The question, when the query could be read.
    pub question: Option<(Name, RecordType)>,
    /// How many answer records were sent (after any truncation).
    pub answers: usize,
    /// Whether TC was set.
    pub truncated: bool,
}

impl Answer {
    /// The log line's end: `www.course.test. A NOERROR 1 answer`, `TC` at the end when records
    /// were left out.
    pub fn summary(&self) -> String {
        let question = match &self.question {
            Some((name, qtype)) => format!("{name} {qtype}"),
            None => "(no question)".to_string(),
        };
        let plural = if self.answers == 1 { "" } else { "s" };
        let mut line = format!(
            "{question} {} {} answer{plural}",
            self.message.header.rcode, self.answers
        );
        if self.truncated {
            line.push_str(", truncated (TC)");
        }
        line
    }
}

/// The answer to the query `bytes` that came by `transport`, from `zone`; `None` for what is
/// not answered (no whole header, or a response).
pub fn answer(zone: &Zone, bytes: &[u8], transport: Transport) -> Option<Answer> {
    let (header, _) = Header::parse(bytes).ok()?;
    if header.response {
        return None;
    }
    let mut response = Message {
        header: Header {
            response: true,
            authoritative: false,
            truncated: false,
            recursion_available: false,
            z: 0,
            rcode: Rcode::NoError,
            ..header
        },
        questions: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        edns: None,
    };
    let limit = match Message::parse(bytes) {
        Err(_) => {
            response.header.rcode = Rcode::FormErr;
            PLAIN_UDP
        }
        Ok(query) => {
            respond(zone, &query, &mut response);
            size_limit(&query, transport)
        }
    };
    let question = response
        .questions
        .first()
        .map(|q| (q.name.clone(), q.qtype));
    let bytes = response.encode_within(limit);
    // What was sent: the counts and TC in the header just written.
    let (sent, counts) = Header::parse(&bytes).ok()?;
    Some(Answer {
        bytes,
        message: response,
        question,
        answers: usize::from(counts.answers),
        truncated: sent.truncated,
    })
}

/// How big the answer to `query` may be over `transport`.
fn size_limit(query: &Message, transport: Transport) -> usize {
    match (transport, &query.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => PLAIN_UDP,
        // RFC 6891 6.2.5: a size under 512 is treated as 512.
        (Transport::Udp, Some(edns)) => usize::from(edns.udp_payload_size.clamp(512, MAX_UDP)),
    }
}

/// Fills `response` for a query that parsed: its question, EDNS, rcode and records.
fn respond(zone: &Zone, query: &Message, response: &mut Message) {
    response.questions = query.questions.clone();
    if let Some(edns) = &query.edns {
        // Our OPT record says what we can take; it carries no options.
        response.edns = Some(Edns {
            udp_payload_size: MAX_UDP,
            extended_rcode: 0,
            version: 0,
            dnssec_ok: false,
            options: Vec::new(),
        });
        if edns.version != 0 {
            // BADVERS is 16: 1 in the extended rcode's 8 bits, 0 in the header's 4.
            if let Some(ours) = &mut response.edns {
                ours.extended_rcode = 1;
            }
            return;
        }
    }
    if query.header.opcode != OPCODE_QUERY {
        response.header.rcode = Rcode::NotImp;
        return;
    }
    let [question] = query.questions.as_slice() else {
        response.header.rcode = Rcode::FormErr;
        return;
    };
    if question.qclass != CLASS_IN || !question.name.is_subdomain_of(zone.apex()) {
        response.header.rcode = Rcode::Refused;
        return;
    }
    response.header.authoritative = true;
    look_up(zone, &question.name, question.qtype, response);
}

/// The records for `name` and `qtype`, following CNAMEs inside the zone; NXDOMAIN or NODATA
/// with the zone's SOA when there are none.
fn look_up(zone: &Zone, name: &Name, qtype: RecordType, response: &mut Message) {
    let mut name = name.clone();
    for _ in 0..MAX_CNAMES {
        let cname = zone.at(&name).find(|r| r.rtype() == RecordType::Cname);
        if let (Some(cname), false) = (cname, qtype == RecordType::Cname) {
            response.answers.push(cname.clone());
            let super::RData::Cname(target) = &cname.data else {
                return;
            };
            // A target outside the zone is for the client's resolver to chase.
            if !target.is_subdomain_of(zone.apex()) {
                return;
            }
            name = target.clone();
            continue;
        }
        let mut found: Vec<&Record> = zone
            .at(&name)
            .filter(|r| u16::from(qtype) == QTYPE_ANY || r.rtype() == qtype)
            .collect();
        // Records of one type together: an RRset is never split (RFC 2181 5).
        found.sort_by_key(|r| u16::from(r.rtype()));
        if !found.is_empty() {
            response.answers.extend(found.into_iter().cloned());
            return;
        }
        if !zone.exists(&name) {
            // RFC 6604 2.1: after a CNAME, the rcode is about the last name.
            response.header.rcode = Rcode::NxDomain;
        }
        response.authorities.push(zone.negative_soa());
        return;
    }
    response.header.rcode = Rcode::ServFail;
}
