//! TCP options ([RFC 9293 section 3.2], [RFC 7323], [RFC 2018]).
//!
//! Options sit between the fixed 20-byte header and the data, up to 40 bytes in all. Each one
//! starts with a kind byte; all but the two one-byte kinds then give their total length:
//!
//! ```text
//!  End of Option List        +--------+
//!  (kind 0, RFC 9293)        |00000000|
//!                            +--------+
//!  No-Operation              +--------+
//!  (kind 1, RFC 9293)        |00000001|
//!                            +--------+
//!  Maximum Segment Size      +--------+--------+--------+--------+
//!  (kind 2, RFC 9293)        |00000010|00000100|   max seg size  |
//!                            +--------+--------+--------+--------+
//!  Window Scale              +--------+--------+---------+
//!  (kind 3, RFC 7323)        |00000011|00000011|shift.cnt|
//!                            +--------+--------+---------+
//!  SACK-Permitted            +--------+--------+
//!  (kind 4, RFC 2018)        |00000100|00000010|
//!                            +--------+--------+
//!  SACK                      +--------+--------+----------------+----------------+
//!  (kind 5, RFC 2018)        |00000101| 8n + 2 | left edge (32) | right edge (32)| × n
//!                            +--------+--------+----------------+----------------+
//!  Timestamps                +--------+--------+----------------+----------------+
//!  (kind 8, RFC 7323)        |00001000|00001010|  TSval (32)    |   TSecr (32)   |
//!                            +--------+--------+----------------+----------------+
//! ```
//!
//! A receiver must skip options it does not know, by their length (RFC 9293 section 3.1), so
//! the length byte is what the parser trusts least: a length below 2 (which would never move
//! forward), a length running past the options area, a missing length byte, or a known kind
//! with the wrong length all make the options unreadable, and [`Options`] reports
//! [`WireError::BadOption`].
//!
//! [RFC 9293 section 3.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.2
//! [RFC 7323]: https://www.rfc-editor.org/rfc/rfc7323
//! [RFC 2018]: https://www.rfc-editor.org/rfc/rfc2018

use std::fmt;
use std::iter::FusedIterator;

use super::seq::SeqNumber;
use crate::wire::{read_u32, write_u16, write_u32, WireError};

/// Option kinds ([IANA TCP parameters]).
///
/// [IANA TCP parameters]: https://www.iana.org/assignments/tcp-parameters
mod kind {
    pub const END_OF_LIST: u8 = 0;
    pub const NO_OPERATION: u8 = 1;
    pub const MAX_SEGMENT_SIZE: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// The most option bytes a header can carry: a data offset of 15 words, minus the fixed 20 bytes.
pub const MAX_OPTIONS_LEN: usize = 40;

/// One SACK block: the receiver holds the bytes `left..right` ([RFC 2018 section 3]).
///
/// [RFC 2018 section 3]: https://www.rfc-editor.org/rfc/rfc2018#section-3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SackBlock {
    /// The first sequence number of the block.
    pub left: SeqNumber,
    /// The sequence number just after the last byte of the block.
    pub right: SeqNumber,
}

impl fmt::Display for SackBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.left, self.right)
    }
}

/// Up to four SACK blocks, the most one option can hold, stored inline (no allocation).
#[derive(Clone, Copy, Default)]
pub struct SackBlocks {
    blocks: [SackBlock; SackBlocks::CAPACITY],
    len: usize,
}

impl SackBlocks {
    /// How many blocks fit: 4 × 8 bytes plus kind and length is 34 of the 40 option bytes.
    pub const CAPACITY: usize = 4;

    /// No blocks.
    pub const fn new() -> SackBlocks {
        SackBlocks {
            blocks: [SackBlock {
                left: SeqNumber(0),
                right: SeqNumber(0),
            }; SackBlocks::CAPACITY],
            len: 0,
        }
    }

    /// Appends a block; returns `false`, changing nothing, when all four slots are taken.
    pub fn push(&mut self, block: SackBlock) -> bool {
        match self.blocks.get_mut(self.len) {
            Some(slot) => {
                *slot = block;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Keeps the first `len` blocks (RFC 2018 puts the most recent first).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// The blocks, in order.
    pub fn as_slice(&self) -> &[SackBlock] {
        &self.blocks[..self.len]
    }

    /// The number of blocks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

// Equality and debug output look at the blocks in use only, not at the spare slots.
impl PartialEq for SackBlocks {
    fn eq(&self, other: &SackBlocks) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'a> IntoIterator for &'a SackBlocks {
    type Item = &'a SackBlock;
    type IntoIter = std::slice::Iter<'a, SackBlock>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// The Timestamps option ([RFC 7323 section 3]): for RTT measurement and PAWS.
///
/// [RFC 7323 section 3]: https://www.rfc-editor.org/rfc/rfc7323#section-3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamps {
    /// TSval: the sender's timestamp clock when it sent the segment.
    pub value: u32,
    /// TSecr: the latest TSval received from the peer (0 when it has none, e.g. on a SYN).
    pub echo: u32,
}

/// One TCP option, as read from or written to the options area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of Option List (kind 0): the bytes after it are padding.
    EndOfList,
    /// No-Operation (kind 1): a one-byte filler that aligns the next option.
    NoOperation,
    /// Maximum Segment Size (kind 2): the largest segment payload the sender will accept.
    MaxSegmentSize(u16),
    /// Window Scale (kind 3): the shift count the sender will apply to its window field.
    WindowScale(u8),
    /// SACK-Permitted (kind 4): the sender understands SACK blocks.
    SackPermitted,
    /// SACK (kind 5): blocks of data received out of order.
    Sack(SackBlocks),
    /// Timestamps (kind 8).
    Timestamps(Timestamps),
    /// Any other kind, with the bytes after its length byte.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The option's data (its length minus two).
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// Reads the option at the start of `bytes`, returning it and the bytes after it.
    ///
    /// `bytes` runs to the end of the options area, so a length past it is an error
    /// (`BadOption`); empty `bytes` hold no option at all (`Truncated`).
    pub fn parse(bytes: &'a [u8]) -> Result<(TcpOption<'a>, &'a [u8]), WireError> {
        let (&kind, after_kind) = bytes.split_first().ok_or(WireError::Truncated)?;
        match kind {
            kind::END_OF_LIST => return Ok((TcpOption::EndOfList, after_kind)),
            kind::NO_OPERATION => return Ok((TcpOption::NoOperation, after_kind)),
            _ => {}
        }
        let length = usize::from(*after_kind.first().ok_or(WireError::BadOption)?);
        if length < 2 {
            return Err(WireError::BadOption);
        }
        let (option, rest) = bytes.split_at_checked(length).ok_or(WireError::BadOption)?;
        let data = option.get(2..).unwrap_or_default();
        let option = match (kind, data) {
            (kind::MAX_SEGMENT_SIZE, &[hi, lo]) => {
                TcpOption::MaxSegmentSize(u16::from_be_bytes([hi, lo]))
            }
            (kind::WINDOW_SCALE, &[shift]) => TcpOption::WindowScale(shift),
            (kind::SACK_PERMITTED, &[]) => TcpOption::SackPermitted,
            (kind::SACK, blocks) => TcpOption::Sack(parse_sack_blocks(blocks)?),
            (kind::TIMESTAMPS, ts) if ts.len() == 8 => TcpOption::Timestamps(Timestamps {
                value: read_u32(ts, 0),
                echo: read_u32(ts, 4),
            }),
            (
                kind::MAX_SEGMENT_SIZE
                | kind::WINDOW_SCALE
                | kind::SACK_PERMITTED
                | kind::TIMESTAMPS,
                _,
            ) => return Err(WireError::BadOption),
            (kind, data) => TcpOption::Unknown { kind, data },
        };
        Ok((option, rest))
    }

    /// The bytes [`TcpOption::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamps(_) => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` and returns its length.
    ///
    /// `buf` must hold [`TcpOption::buffer_len`] bytes, and an `Unknown` option's data must
    /// leave its length within a byte (253 bytes of data at most).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let kind = match self {
            TcpOption::EndOfList => kind::END_OF_LIST,
            TcpOption::NoOperation => kind::NO_OPERATION,
            TcpOption::MaxSegmentSize(_) => kind::MAX_SEGMENT_SIZE,
            TcpOption::WindowScale(_) => kind::WINDOW_SCALE,
            TcpOption::SackPermitted => kind::SACK_PERMITTED,
            TcpOption::Sack(_) => kind::SACK,
            TcpOption::Timestamps(_) => kind::TIMESTAMPS,
            TcpOption::Unknown { kind, .. } => *kind,
        };
        buf[0] = kind;
        if len == 1 {
            return 1;
        }
        buf[1] = len as u8;
        match self {
            TcpOption::MaxSegmentSize(mss) => write_u16(buf, 2, *mss),
            TcpOption::WindowScale(shift) => buf[2] = *shift,
            TcpOption::Sack(blocks) => {
                for (i, block) in blocks.as_slice().iter().enumerate() {
                    write_u32(buf, 2 + 8 * i, block.left.0);
                    write_u32(buf, 6 + 8 * i, block.right.0);
                }
            }
            TcpOption::Timestamps(ts) => {
                write_u32(buf, 2, ts.value);
                write_u32(buf, 6, ts.echo);
            }
            TcpOption::Unknown { data, .. } => buf[2..len].copy_from_slice(data),
            TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::SackPermitted => {}
        }
        len
    }
}

/// Reads the data of a SACK option: 1 to 4 blocks of two 32-bit edges.
fn parse_sack_blocks(data: &[u8]) -> Result<SackBlocks, WireError> {
    if data.is_empty() || !data.len().is_multiple_of(8) || data.len() > 8 * SackBlocks::CAPACITY {
        return Err(WireError::BadOption);
    }
    let mut blocks = SackBlocks::new();
    for edges in data.chunks_exact(8) {
        blocks.push(SackBlock {
            left: SeqNumber(read_u32(edges, 0)),
            right: SeqNumber(read_u32(edges, 4)),
        });
    }
    Ok(blocks)
}

/// The first four bytes of the aligned timestamps layout: NOP, NOP, kind 8, length 10.
const ALIGNED_TIMESTAMPS: [u8; 4] = [kind::NO_OPERATION, kind::NO_OPERATION, kind::TIMESTAMPS, 10];

/// Writes the 12-byte options area [`aligned_timestamps`] reads (NOP, NOP, Timestamps) into
/// the first 12 bytes of `buf`, in one step: the same bytes the options give one by one.
pub fn emit_aligned_timestamps(buf: &mut [u8], timestamps: Timestamps) {
    buf[..4].copy_from_slice(&ALIGNED_TIMESTAMPS);
    write_u32(buf, 4, timestamps.value);
    write_u32(buf, 8, timestamps.echo);
}

/// The options area of almost every segment once a connection with timestamps is open: NOP,
/// NOP, Timestamps, the 12-byte layout [RFC 7323 Appendix A] recommends (the timestamps
/// aligned to 4 bytes), as Linux and this stack send it. It is read in one step here, before
/// the general parser would take it option by option, as Linux does
/// (`tcp_parse_aligned_timestamp`); `None` for any other options area, which then goes
/// through [`Options`] (the result is the same either way).
///
/// [RFC 7323 Appendix A]: https://www.rfc-editor.org/rfc/rfc7323#appendix-A
pub fn aligned_timestamps(options: &[u8]) -> Option<Timestamps> {
    if options.len() != 12 || options[..4] != ALIGNED_TIMESTAMPS {
        return None;
    }
    Some(Timestamps {
        value: read_u32(options, 4),
        echo: read_u32(options, 8),
    })
}

/// The options in an options area, in order, up to and including End of Option List.
///
/// Yields `Err(BadOption)` at the first malformed option and stops there: once a length is
/// wrong, the bytes after it cannot be told apart.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Options<'a> {
    /// Iterates over the options in `bytes` (a header's options area).
    pub fn new(bytes: &'a [u8]) -> Options<'a> {
        Options { rest: bytes }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<TcpOption<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match TcpOption::parse(self.rest) {
            Ok((option, rest)) => {
                // Whatever follows End of Option List is padding, not options.
                self.rest = if option == TcpOption::EndOfList {
                    &[]
                } else {
                    rest
                };
                Some(Ok(option))
            }
            Err(err) => {
                self.rest = &[];
                Some(Err(err))
            }
        }
    }
}

impl FusedIterator for Options<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The timestamps the general parser finds in an options area, if it parses.
    fn timestamps_by_parser(options: &[u8]) -> Option<Option<Timestamps>> {
        let mut found = None;
        for option in Options::new(options) {
            match option.ok()? {
                TcpOption::Timestamps(ts) => found = Some(ts),
                TcpOption::NoOperation => {}
                _ => return Some(None),
            }
        }
        Some(found)
    }

    /// The one-step read agrees with the general parser wherever it answers, and answers
    /// for the layout every timestamped segment has.
    #[test]
    fn aligned_timestamps_agree_with_the_parser() {
        let mut rng = fastrand::Rng::with_seed(7323);
        for round in 0..10_000 {
            let mut area: Vec<u8> = (0..rng.usize(..=40)).map(|_| rng.u8(..)).collect();
            if round % 2 == 0 && area.len() >= 4 {
                // Mostly the real layout, sometimes one byte off it.
                area[..4].copy_from_slice(&[1, 1, 8, 10]);
                if round % 8 == 0 {
                    area[rng.usize(..4)] ^= 1 << rng.u32(..8);
                }
            }
            if let Some(ts) = aligned_timestamps(&area) {
                assert_eq!(timestamps_by_parser(&area), Some(Some(ts)), "{area:?}");
            }
        }
        let area = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9];
        let ts = Timestamps { value: 7, echo: 9 };
        assert_eq!(aligned_timestamps(&area), Some(ts));
        let mut written = [0; 12];
        emit_aligned_timestamps(&mut written, ts);
        assert_eq!(written, area);
        let mut one_by_one = [0; 12];
        let mut at = TcpOption::NoOperation.emit(&mut one_by_one);
        at += TcpOption::NoOperation.emit(&mut one_by_one[at..]);
        TcpOption::Timestamps(ts).emit(&mut one_by_one[at..]);
        assert_eq!(one_by_one, area);
        // Same options, another layout: the general parser's job.
        assert_eq!(
            aligned_timestamps(&[8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 1]),
            None
        );
    }

    fn all(bytes: &[u8]) -> Result<Vec<TcpOption<'_>>, WireError> {
        Options::new(bytes).collect()
    }

    fn blocks(edges: &[(u32, u32)]) -> SackBlocks {
        let mut blocks = SackBlocks::new();
        for &(left, right) in edges {
            assert!(blocks.push(SackBlock {
                left: SeqNumber(left),
                right: SeqNumber(right),
            }));
        }
        blocks
    }

    #[test]
    fn reads_the_options_of_a_linux_syn() {
        // MSS 1460, SACK-Permitted, Timestamps 1/0, NOP, Window Scale 7: 20 bytes.
        let bytes = [
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        assert_eq!(
            all(&bytes),
            Ok(vec![
                TcpOption::MaxSegmentSize(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps(Timestamps { value: 1, echo: 0 }),
                TcpOption::NoOperation,
                TcpOption::WindowScale(7),
            ])
        );
    }

    #[test]
    fn stops_at_end_of_list() {
        // The bytes after EOL would be a malformed option; they are padding and never read.
        assert_eq!(
            all(&[1, 0, 2, 9, 9]),
            Ok(vec![TcpOption::NoOperation, TcpOption::EndOfList])
        );
        assert_eq!(all(&[]), Ok(vec![]));
    }

    #[test]
    fn skips_unknown_kinds_by_their_length() {
        // Kind 30 (MPTCP) with 4 bytes of data, then an MSS.
        let bytes = [30, 6, 0xaa, 0xbb, 0xcc, 0xdd, 2, 4, 0x02, 0x18];
        assert_eq!(
            all(&bytes),
            Ok(vec![
                TcpOption::Unknown {
                    kind: 30,
                    data: &[0xaa, 0xbb, 0xcc, 0xdd],
                },
                TcpOption::MaxSegmentSize(536),
            ])
        );
        // An unknown kind with no data at all.
        assert_eq!(
            all(&[254, 2]),
            Ok(vec![TcpOption::Unknown {
                kind: 254,
                data: &[],
            }])
        );
    }

    #[test]
    fn reads_one_to_four_sack_blocks() {
        let edges: [(u32, u32); 4] = [(100, 200), (300, 400), (u32::MAX - 5, 10), (7, 8)];
        for n in 1..=4 {
            let mut bytes = vec![5, 2 + 8 * n as u8];
            for &(left, right) in &edges[..n] {
                bytes.extend_from_slice(&left.to_be_bytes());
                bytes.extend_from_slice(&right.to_be_bytes());
            }
            assert_eq!(
                all(&bytes),
                Ok(vec![TcpOption::Sack(blocks(&edges[..n]))]),
                "{n} blocks"
            );
        }
    }

    #[test]
    fn rejects_a_length_below_two() {
        assert_eq!(all(&[2, 0, 0, 0]), Err(WireError::BadOption));
        assert_eq!(all(&[30, 1, 0, 0]), Err(WireError::BadOption));
    }

    #[test]
    fn rejects_a_length_past_the_options_area() {
        assert_eq!(all(&[2, 4, 5]), Err(WireError::BadOption));
        assert_eq!(all(&[1, 30, 8, 0, 0]), Err(WireError::BadOption));
    }

    #[test]
    fn rejects_a_missing_length_byte() {
        assert_eq!(all(&[1, 1, 2]), Err(WireError::BadOption));
        assert_eq!(all(&[30]), Err(WireError::BadOption));
    }

    #[test]
    fn rejects_known_kinds_with_the_wrong_length() {
        let cases: [&[u8]; 9] = [
            &[2, 3, 5],                                // MSS is 4 bytes
            &[2, 5, 5, 0xb4, 0],                       // MSS is 4 bytes
            &[3, 4, 7, 0],                             // Window Scale is 3 bytes
            &[3, 2],                                   // Window Scale is 3 bytes
            &[4, 3, 0],                                // SACK-Permitted is 2 bytes
            &[8, 9, 0, 0, 0, 1, 0, 0, 0],              // Timestamps is 10 bytes
            &[5, 2],                                   // SACK needs at least one block
            &[5, 9, 0, 0, 0, 1, 0, 0, 0],              // SACK blocks are 8 bytes
            &[5, 13, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], // ... each
        ];
        for bytes in cases {
            assert_eq!(all(bytes), Err(WireError::BadOption), "{bytes:?}");
        }
        // Five SACK blocks: 42 bytes, one block more than an option can carry.
        let mut five = vec![5, 42];
        five.resize(42, 0);
        assert_eq!(all(&five), Err(WireError::BadOption));
    }

    #[test]
    fn stops_after_an_error() {
        let mut options = Options::new(&[1, 2, 0, 1, 1]);
        assert_eq!(options.next(), Some(Ok(TcpOption::NoOperation)));
        assert_eq!(options.next(), Some(Err(WireError::BadOption)));
        assert_eq!(options.next(), None);
    }

    #[test]
    fn emits_each_kind() {
        let cases: [(TcpOption, &[u8]); 8] = [
            (TcpOption::EndOfList, &[0]),
            (TcpOption::NoOperation, &[1]),
            (TcpOption::MaxSegmentSize(1460), &[2, 4, 0x05, 0xb4]),
            (TcpOption::WindowScale(14), &[3, 3, 14]),
            (TcpOption::SackPermitted, &[4, 2]),
            (
                TcpOption::Sack(blocks(&[(1, 2)])),
                &[5, 10, 0, 0, 0, 1, 0, 0, 0, 2],
            ),
            (
                TcpOption::Timestamps(Timestamps {
                    value: 0x01020304,
                    echo: 0x0a0b0c0d,
                }),
                &[8, 10, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d],
            ),
            (
                TcpOption::Unknown {
                    kind: 30,
                    data: &[9, 9],
                },
                &[30, 4, 9, 9],
            ),
        ];
        for (option, bytes) in cases {
            let mut buf = [0xffu8; 40];
            assert_eq!(option.emit(&mut buf), bytes.len(), "{option:?}");
            assert_eq!(option.buffer_len(), bytes.len());
            assert_eq!(&buf[..bytes.len()], bytes);
            assert_eq!(TcpOption::parse(bytes), Ok((option, &[][..])));
        }
    }

    #[test]
    fn sack_blocks_hold_four() {
        let mut full = blocks(&[(1, 2), (3, 4), (5, 6), (7, 8)]);
        assert!(!full.push(SackBlock::default()));
        assert_eq!(full.len(), 4);
        full.truncate(2);
        assert_eq!(full, blocks(&[(1, 2), (3, 4)]));
        assert_eq!(format!("{full:?}").matches("SackBlock").count(), 2);
        assert!(SackBlocks::new().is_empty());
    }

    fn arb_option() -> impl Strategy<Value = TcpOption<'static>> {
        prop_oneof![
            Just(TcpOption::NoOperation),
            any::<u16>().prop_map(TcpOption::MaxSegmentSize),
            any::<u8>().prop_map(TcpOption::WindowScale),
            Just(TcpOption::SackPermitted),
            proptest::collection::vec(any::<(u32, u32)>(), 1..=4)
                .prop_map(|edges| TcpOption::Sack(blocks(&edges))),
            any::<(u32, u32)>()
                .prop_map(|(value, echo)| TcpOption::Timestamps(Timestamps { value, echo })),
        ]
    }

    proptest! {
        /// Any option written out reads back as itself.
        #[test]
        fn emit_then_parse_round_trips(option in arb_option()) {
            let mut buf = [0u8; 40];
            let len = option.emit(&mut buf);
            prop_assert_eq!(TcpOption::parse(&buf[..len]), Ok((option, &[][..])));
        }

        /// Any bytes: the iterator ends, without panicking, within one item per byte.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            prop_assert!(Options::new(&bytes).count() <= bytes.len());
        }
    }
}
