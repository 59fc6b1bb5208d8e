//! DNS, the first step of the course's "request's full journey": before a browser can open a
//! TCP connection to `www.course.test`, it asks a name server for the name's address.
//!
//! This module is the DNS message format of RFC 1035 section 4, written by hand to be read:
//!
//! - [`header`]: the 12-byte header (ID, flags, response code, section counts);
//! - [`name`]: domain names, their labels, and the compression pointers that let a name reuse
//!   the end of one written before it;
//! - [`record`]: resource records and the data of A, AAAA, CNAME, NS, TXT and SOA;
//! - [`message`]: a whole message, its four sections, EDNS(0)'s OPT record (RFC 6891), and
//!   truncation to fit a UDP datagram;
//! - [`tcp`]: the two-byte length in front of each message over TCP (RFC 7766);
//! - [`error`]: why a message could not be read, one reason per variant;
//! - [`wire`]: reading numbers, and writing a message with its compression table.
//!
//! And what the `dns-server` demo answers with it, without any I/O: [`zone`], the records it
//! serves (the course's `course.test`, or a zone file), and [`answer`], the rules that turn a
//! query's bytes into the response's (rcodes, CNAMEs, negative answers, truncation).
//!
//! And the other side, what `dns-lookup` and `http-get` ask with: [`resolver`], a stub
//! resolver on our UDP (and, after a truncated answer, TCP) sockets, with retries, backoff and
//! a cache that honours TTLs.
//!
//! It is checked against an independent implementation, hickory-proto, in both directions
//! (`demos/tests/dns_codec_oracle.rs`), and fuzzed (`stack/fuzz`, target `dns_message`).

pub mod answer;
pub mod error;
pub mod header;
pub mod message;
pub mod name;
pub mod record;
pub mod resolver;
pub mod tcp;
pub mod wire;
pub mod zone;

#[cfg(test)]
mod tests;

pub use error::DnsError;
pub use header::{Header, Rcode, OPCODE_QUERY};
pub use message::{Edns, Message, Question};
pub use name::Name;
pub use record::{RData, Record, RecordType, Soa, CLASS_IN};
pub use zone::Zone;
