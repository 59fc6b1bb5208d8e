//! Domain names: labels on the wire (RFC 1035 3.1), compression pointers (4.1.4), and the
//! text form `www.course.test.` with the master-file escapes (5.1).
//!
//! On the wire a name is a sequence of labels, each a length byte and that many bytes, ended by
//! the root's empty label. To save space, a name may end with a pointer instead: two bytes
//! whose top two bits are 11 and whose other 14 bits are the offset, from the start of the
//! message, of a name (or name suffix) written earlier:
//!
//! ```text
//!   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! | 1  1|                OFFSET                   |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//!
//!  offset 20: | 3 | w w w | 6 | c o u r s e | 4 | t e s t | 0 |
//!  offset 40: | 3 | w e b | 0xc0 | 24 |        "web" + the name at 24, "course.test."
//! ```
//!
//! A hostile message can point a name into itself, or forward, or through a long chain of
//! pointers. This reader accepts a pointer only if it points strictly before the part of the
//! name it has read so far (so every jump goes backward and the walk must end), and follows at
//! most [`MAX_POINTERS`] of them.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::wire::Encoder;
use super::DnsError;

/// The longest label, in bytes (RFC 1035 2.3.4).
pub const MAX_LABEL: usize = 63;

/// The longest name in wire form, in bytes, length bytes and the root's zero included (RFC
/// 1035 2.3.4).
pub const MAX_NAME: usize = 255;

/// How many compression pointers one name may follow. A name has at most 127 labels, and a
/// compressor needs at most one pointer per label; anything more is a hostile message.
pub const MAX_POINTERS: usize = 127;

/// A domain name: its labels, the leftmost first, without the root's empty label.
///
/// Comparison and hashing ignore ASCII case (RFC 1035 2.3.3, RFC 4343): `WWW.Course.Test` and
/// `www.course.test` are the same name; the case given is kept and written out.
#[derive(Clone, Debug)]
pub struct Name {
    labels: Vec<Vec<u8>>,
}

impl Name {
    /// The root, `.`: no labels.
    pub fn root() -> Name {
        Name { labels: Vec::new() }
    }

    /// A name from its labels, leftmost first; each 1 to 63 bytes, 255 bytes in all on the wire.
    pub fn from_labels<L: Into<Vec<u8>>>(
        labels: impl IntoIterator<Item = L>,
    ) -> Result<Name, DnsError> {
        let name = Name {
            labels: labels.into_iter().map(Into::into).collect(),
        };
        for label in &name.labels {
            if label.is_empty() {
                return Err(DnsError::EmptyLabel);
            }
            if label.len() > MAX_LABEL {
                return Err(DnsError::LabelTooLong(label.len()));
            }
        }
        if name.wire_len() > MAX_NAME {
            return Err(DnsError::NameTooLong);
        }
        Ok(name)
    }

    /// The labels, leftmost first, the root's empty label left out.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        self.labels.iter().map(Vec::as_slice)
    }

    /// How many labels (the root has none).
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.labels.is_empty()
    }

    /// Whether this name is `zone` or a name under it (`www.course.test` is under
    /// `course.test` and under the root); case does not matter.
    pub fn is_subdomain_of(&self, zone: &Name) -> bool {
        let Some(skip) = self.labels.len().checked_sub(zone.labels.len()) else {
            return false;
        };
        self.labels[skip..]
            .iter()
            .zip(&zone.labels)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// The name with its leftmost label removed (`course.test.` for `www.course.test.`); the
    /// root has no parent.
    pub fn parent(&self) -> Option<Name> {
        (!self.is_root()).then(|| Name {
            labels: self.labels[1..].to_vec(),
        })
    }

    /// The length of the name on the wire without compression: a length byte per label, the
    /// labels, and the root's zero.
    pub fn wire_len(&self) -> usize {
        self.labels
            .iter()
            .map(|label| 1 + label.len())
            .sum::<usize>()
            + 1
    }

    /// Reads the name at offset `at` of the whole message `message` (pointers are offsets in
    /// it), and returns it with the offset just past it: after its root label, or after its
    /// first pointer.
    pub fn read(message: &[u8], at: usize) -> Result<(Name, usize), DnsError> {
        let mut labels = Vec::new();
        let mut wire_len = 1;
        let mut pos = at;
        // Where this stretch of labels began: a pointer must point before it.
        let mut stretch = at;
        let mut end = None;
        let mut pointers = 0;
        loop {
            let len = *message
                .get(pos)
                .ok_or(DnsError::Truncated { what: "a name" })?;
            match len >> 6 {
                0b00 if len == 0 => {
                    let end = end.unwrap_or(pos + 1);
                    return Ok((Name { labels }, end));
                }
                0b00 => {
                    let len = usize::from(len);
                    let label = message
                        .get(pos + 1..pos + 1 + len)
                        .ok_or(DnsError::Truncated { what: "a label" })?;
                    wire_len += 1 + len;
                    if wire_len > MAX_NAME {
                        return Err(DnsError::NameTooLong);
                    }
                    labels.push(label.to_vec());
                    pos += 1 + len;
                }
                0b11 => {
                    let low = *message.get(pos + 1).ok_or(DnsError::Truncated {
                        what: "a compression pointer",
                    })?;
                    let to = usize::from(len & 0x3f) << 8 | usize::from(low);
                    if to >= pos {
                        return Err(DnsError::PointerForward { at: pos, to });
                    }
                    if to >= stretch {
                        return Err(DnsError::PointerLoop { at: pos, to });
                    }
                    pointers += 1;
                    if pointers > MAX_POINTERS {
                        return Err(DnsError::TooManyPointers);
                    }
                    end.get_or_insert(pos + 2);
                    pos = to;
                    stretch = to;
                }
                _ => return Err(DnsError::BadLabelType(len)),
            }
        }
    }

    /// Writes the name into a message being encoded, compressed against the names before it
    /// when `compress` is set (RFC 1035 4.1.4).
    pub fn write(&self, encoder: &mut Encoder, compress: bool) {
        encoder.name(&self.labels, compress);
    }

    /// The name's wire form without compression.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut encoder = Encoder::new();
        self.write(&mut encoder, false);
        encoder.buf
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.labels.len() == other.labels.len()
            && self
                .labels
                .iter()
                .zip(&other.labels)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for label in &self.labels {
            state.write_usize(label.len());
            for byte in label {
                state.write_u8(byte.to_ascii_lowercase());
            }
        }
        state.write_usize(self.labels.len());
    }
}

/// The text form: labels joined by dots, ending with the root's dot (`www.course.test.`; the
/// root alone is `.`). A dot or backslash inside a label is escaped with a backslash, and a
/// byte that is not printable ASCII is written `\DDD` in decimal (RFC 1035 5.1), so that
/// [`FromStr`] reads back the same labels.
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.labels.is_empty() {
            return f.write_str(".");
        }
        for label in &self.labels {
            for &byte in label {
                match byte {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        write!(f, "\\{}", byte as char)?
                    }
                    0x21..=0x7e => write!(f, "{}", byte as char)?,
                    _ => write!(f, "\\{byte:03}")?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// Reads `www.course.test` or `www.course.test.` (always absolute: there is no origin to add),
/// `.` for the root, with the escapes [`Display`](fmt::Display) writes.
impl FromStr for Name {
    type Err = DnsError;

    fn from_str(text: &str) -> Result<Name, DnsError> {
        if text == "." {
            return Ok(Name::root());
        }
        if text.is_empty() {
            return Err(DnsError::BadText(
                "an empty name (the root is \".\")".into(),
            ));
        }
        let mut labels = Vec::new();
        let mut label = Vec::new();
        let mut bytes = text.bytes();
        while let Some(byte) = bytes.next() {
            match byte {
                b'.' => labels.push(std::mem::take(&mut label)),
                b'\\' => label.push(unescape(&mut bytes, text)?),
                _ => label.push(byte),
            }
        }
        // A name without its final dot still ends at the root.
        if !label.is_empty() {
            labels.push(label);
        }
        Name::from_labels(labels)
    }
}

/// The byte after a backslash: `\.` is a dot, `\065` is byte 65.
fn unescape(bytes: &mut std::str::Bytes<'_>, text: &str) -> Result<u8, DnsError> {
    let bad = || DnsError::BadText(format!("bad escape in name {text:?}"));
    let first = bytes.next().ok_or_else(bad)?;
    if !first.is_ascii_digit() {
        return Ok(first);
    }
    let mut value = u32::from(first - b'0');
    for _ in 0..2 {
        let digit = bytes.next().filter(u8::is_ascii_digit).ok_or_else(bad)?;
        value = value * 10 + u32::from(digit - b'0');
    }
    u8::try_from(value).map_err(|_| bad())
}
