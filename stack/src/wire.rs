//! What every header codec shares: byte ranges for fields and the error a parser returns.
//!
//! Each header in the stack follows one pattern (taken from smoltcp's `wire` module):
//!
//! - a `field` module names each header field as a byte range, so the code reads like the RFC
//!   diagram next to it;
//! - a zero-copy view, `Packet<T: AsRef<[u8]>>`, whose `new_checked` constructor validates the
//!   lengths once, after which no accessor can panic;
//! - a `Repr`, the header as plain values, with `parse` (view → values, checking semantics such
//!   as checksums), `emit` (values → bytes) and `buffer_len` (how many bytes `emit` writes).

use std::fmt;
use std::ops::Range;

/// A header field: the byte range it occupies, counted from the start of the header.
pub type Field = Range<usize>;

/// The first byte of a field that runs to the end of the header (e.g. a payload or options).
pub type Rest = std::ops::RangeFrom<usize>;

/// Why bytes could not be read as a header.
///
/// Parsers never panic on bad input: they return one of these, and the layer that called them
/// counts the drop under the matching reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireError {
    /// The buffer is shorter than the header (or than a length field inside it claims).
    Truncated,
    /// A length field is inconsistent (e.g. an IPv4 header length below 20 bytes, or a total
    /// length shorter than the header).
    BadLength,
    /// The IP version field is not the one the header expects (4 for IPv4, 6 for IPv6).
    BadVersion,
    /// The checksum does not match the bytes.
    BadChecksum,
    /// A TCP option has an impossible length.
    BadOption,
    /// The header is well-formed but describes something this stack does not handle.
    Unsupported,
    /// A field holds a value its protocol forbids, and the message must be discarded (e.g. a
    /// neighbour solicitation with a nonzero code or a multicast target, RFC 4861 section 7.1.1).
    Invalid,
}

impl WireError {
    /// A short name for counters and logs, e.g. `"truncated"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            WireError::Truncated => "truncated",
            WireError::BadLength => "bad_length",
            WireError::BadVersion => "bad_version",
            WireError::BadChecksum => "bad_checksum",
            WireError::BadOption => "bad_option",
            WireError::Unsupported => "unsupported",
            WireError::Invalid => "invalid",
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            WireError::Truncated => "buffer shorter than the header says",
            WireError::BadLength => "inconsistent length field",
            WireError::BadVersion => "wrong IP version for this header",
            WireError::BadChecksum => "checksum mismatch",
            WireError::BadOption => "malformed option",
            WireError::Unsupported => "unsupported header",
            WireError::Invalid => "field value the protocol forbids",
        };
        f.write_str(text)
    }
}

impl std::error::Error for WireError {}

/// Reads a big-endian `u16` at `field` (network byte order, RFC 1700).
#[inline]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Reads a big-endian `u32` at `at`.
#[inline]
#[allow(dead_code)] // for the TCP header (sequence numbers), not yet in the tree
pub(crate) fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Writes a big-endian `u16` at `at`.
#[inline]
pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Writes a big-endian `u32` at `at`.
#[inline]
#[allow(dead_code)] // for the TCP header (sequence numbers), not yet in the tree
pub(crate) fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}
