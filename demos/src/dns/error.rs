//! What can be wrong with a DNS message or a name: one variant per reason, each with a one-line
//! explanation, so that a server can answer FORMERR and say why, and a fuzzer finds no panic.

use std::fmt;

/// Why a DNS message, a name or a record could not be read (or a name could not be built).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// The message ended in the middle of `what` (the header, a name, a record...).
    Truncated {
        /// The part that was cut short.
        what: &'static str,
    },
    /// A label longer than 63 bytes (RFC 1035 2.3.4); its length.
    LabelTooLong(usize),
    /// An empty label inside a name (`www..test`); only the root is empty.
    EmptyLabel,
    /// A name longer than 255 bytes in wire form (RFC 1035 2.3.4).
    NameTooLong,
    /// A compression pointer that points back into the name it is part of, which would make
    /// the name go round for ever (RFC 1035 4.1.4).
    PointerLoop {
        /// Where the pointer is.
        at: usize,
        /// Where it points.
        to: usize,
    },
    /// A compression pointer that points to itself or past itself: pointers only point to
    /// names that came before (RFC 1035 4.1.4).
    PointerForward {
        /// Where the pointer is.
        at: usize,
        /// Where it points.
        to: usize,
    },
    /// A name that follows more compression pointers than any real name needs.
    TooManyPointers,
    /// A length byte whose top two bits are 01 or 10: neither a label (00) nor a pointer (11)
    /// (RFC 1035 4.1.4; the extended label types of RFC 6891 were never deployed).
    BadLabelType(u8),
    /// A record's data does not fit its type; the type and the reason.
    BadRdata {
        /// The record's type, as a number.
        rtype: u16,
        /// What is wrong with it.
        why: &'static str,
    },
    /// More than one OPT record in a message (RFC 6891 6.1.1).
    DuplicateOpt,
    /// An OPT record whose owner is not the root (RFC 6891 6.1.2).
    OptNotAtRoot,
    /// Bytes left over after the last record the header announced.
    TrailingBytes(usize),
    /// A name written as text that cannot be read (a bad escape, a stray backslash).
    BadText(String),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Truncated { what } => write!(f, "message truncated in {what}"),
            DnsError::LabelTooLong(len) => {
                write!(f, "label of {len} bytes (at most 63, RFC 1035 2.3.4)")
            }
            DnsError::EmptyLabel => write!(f, "empty label inside a name"),
            DnsError::NameTooLong => write!(f, "name longer than 255 bytes (RFC 1035 2.3.4)"),
            DnsError::PointerLoop { at, to } => {
                write!(
                    f,
                    "compression pointer at {at} to {to} loops back into its own name"
                )
            }
            DnsError::PointerForward { at, to } => {
                write!(f, "compression pointer at {at} points forward to {to}")
            }
            DnsError::TooManyPointers => write!(f, "name follows too many compression pointers"),
            DnsError::BadLabelType(byte) => {
                write!(
                    f,
                    "label type {:#04x} is neither a label nor a pointer",
                    byte & 0xc0
                )
            }
            DnsError::BadRdata { rtype, why } => {
                let rtype = super::RecordType::from(*rtype);
                write!(f, "bad {rtype} record data: {why}")
            }
            DnsError::DuplicateOpt => write!(f, "more than one OPT record (RFC 6891 6.1.1)"),
            DnsError::OptNotAtRoot => {
                write!(f, "OPT record not owned by the root (RFC 6891 6.1.2)")
            }
            DnsError::TrailingBytes(n) => write!(f, "{n} bytes after the last record"),
            DnsError::BadText(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for DnsError {}
