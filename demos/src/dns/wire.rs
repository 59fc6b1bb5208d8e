//! Reading numbers out of a message and writing one with name compression: the two helpers
//! every section's codec shares.

use std::collections::HashMap;

use super::DnsError;

/// Reads a big-endian u16 at `at`, or says which part of the message was cut short.
pub fn u16_at(bytes: &[u8], at: usize, what: &'static str) -> Result<u16, DnsError> {
    match bytes.get(at..at.saturating_add(2)) {
        Some(&[hi, lo]) => Ok(u16::from_be_bytes([hi, lo])),
        _ => Err(DnsError::Truncated { what }),
    }
}

/// Reads a big-endian u32 at `at`, or says which part of the message was cut short.
pub fn u32_at(bytes: &[u8], at: usize, what: &'static str) -> Result<u32, DnsError> {
    match bytes.get(at..at.saturating_add(4)) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(DnsError::Truncated { what }),
    }
}

/// The largest offset a compression pointer can hold: 14 bits (RFC 1035 4.1.4).
pub const MAX_POINTER: usize = 0x3fff;

/// A message being written, and where each name suffix written so far begins, so that a later
/// name ending the same way can point there instead (RFC 1035 4.1.4).
///
/// Suffixes are matched byte for byte, case included, so a name keeps the case it was given
/// (a resolver may check that its question's case came back, the "0x20" trick).
#[derive(Default, Debug)]
pub struct Encoder {
    /// The bytes so far.
    pub buf: Vec<u8>,
    suffixes: HashMap<Vec<Vec<u8>>, u16>,
}

impl Encoder {
    /// An empty message.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, value: u16) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Writes a name given as its labels: each label that starts a suffix written before is
    /// replaced, with the rest of the name, by a pointer to it; `compress: false` writes every
    /// label (for record types whose data must not be compressed, RFC 3597 4) but still
    /// remembers the suffixes for later names.
    pub fn name(&mut self, labels: &[Vec<u8>], compress: bool) {
        for start in 0..labels.len() {
            let suffix = &labels[start..];
            if compress {
                if let Some(&offset) = self.suffixes.get(suffix) {
                    self.u16(0xc000 | offset);
                    return;
                }
            }
            if self.buf.len() <= MAX_POINTER {
                // The offset fits 14 bits, checked just above.
                self.suffixes.insert(suffix.to_vec(), self.buf.len() as u16);
            }
            let label = &labels[start];
            self.buf.push(label.len() as u8);
            self.buf.extend_from_slice(label);
        }
        self.buf.push(0);
    }
}
