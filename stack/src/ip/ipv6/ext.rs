//! Walking the chain of IPv6 extension headers ([RFC 8200 section 4]) to the upper-layer
//! protocol.
//!
//! Each extension header starts with the same two bytes, except the Fragment header, whose
//! length is fixed:
//!
//! ```text
//! Hop-by-Hop Options (0), Destination Options (60)     Routing (43)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |  Hdr Ext Len  |  Options ...      |  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!                                                      |                   type-specific data ...                      |
//! Fragment (44)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Identification                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Hdr Ext Len counts 8-byte units after the first 8 bytes, so a header is 8 to 2,048 bytes.
//! [`walk`] follows the Next Header fields from the fixed header on:
//!
//! - **Hop-by-Hop Options** ([section 4.3]) only right after the fixed header; anywhere else it is
//!   an unrecognized Next Header (Parameter Problem code 1, as Linux answers).
//! - **Routing** ([section 4.4]): with Segments Left 0 the header is skipped. With Segments Left
//!   above 0 this host would have to forward the packet along the route; it knows no routing
//!   type (type 0 is deprecated, [RFC 5095]), so it answers Parameter Problem code 0 pointing at
//!   the Routing Type field.
//! - **Fragment** ([section 4.5]): the walk stops there and returns the header's fields; what
//!   follows is a piece of the fragmentable part, which reassembly puts back together before
//!   walking it from the Fragment header's Next Header. A fragment with M set whose length is not
//!   a multiple of 8, or that would end past 65,535 bytes, earns Parameter Problem code 0.
//! - **Destination Options** ([section 4.6]) and Hop-by-Hop options: Pad1 and PadN are skipped,
//!   and an unknown option is handled as the two high bits of its type say ([section 4.2]):
//!   `00` skip it, `01` drop the packet, `10` drop it and send Parameter Problem code 2 pointing
//!   at the option, `11` the same but only if the destination was not multicast.
//! - **No Next Header** ([section 4.7]) ends the chain with nothing to deliver.
//!
//! Extension headers may come in any order and any number of times ([section 4.1] recommends an
//! order but asks receivers to accept any); a hostile packet could chain hundreds of 8-byte
//! headers, so the walk gives up after [`MAX_EXT_HEADERS`]. Every read is bounded by the payload:
//! a header that runs past it drops the packet.
//!
//! [RFC 8200 section 4]: https://www.rfc-editor.org/rfc/rfc8200#section-4
//! [section 4.1]: https://www.rfc-editor.org/rfc/rfc8200#section-4.1
//! [section 4.2]: https://www.rfc-editor.org/rfc/rfc8200#section-4.2
//! [section 4.3]: https://www.rfc-editor.org/rfc/rfc8200#section-4.3
//! [section 4.4]: https://www.rfc-editor.org/rfc/rfc8200#section-4.4
//! [section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//! [section 4.6]: https://www.rfc-editor.org/rfc/rfc8200#section-4.6
//! [section 4.7]: https://www.rfc-editor.org/rfc/rfc8200#section-4.7
//! [RFC 5095]: https://www.rfc-editor.org/rfc/rfc5095

use std::fmt;

use super::header::HEADER_LEN;
use super::NextHeader;
use crate::ip::IpProtocol;
use crate::wire::{read_u16, read_u32};

/// The most extension headers [`walk`] steps through before it drops the packet. A packet
/// that uses every header RFC 8200 defines, in its recommended order, has six.
pub const MAX_EXT_HEADERS: usize = 8;

/// The length of a Fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// The largest IPv6 packet without jumbograms: a reassembled payload may not end past it.
const MAX_PAYLOAD_LEN: usize = 65_535;

/// Option types with a meaning of their own ([RFC 8200 section 4.2]).
///
/// [RFC 8200 section 4.2]: https://www.rfc-editor.org/rfc/rfc8200#section-4.2
mod option {
    /// One byte of padding, with no length byte.
    pub const PAD1: u8 = 0;
    /// N bytes of padding: type, length, N - 2 bytes.
    pub const PADN: u8 = 1;
}

/// A Fragment header's fields ([RFC 8200 section 4.5]).
///
/// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentHeader {
    /// The first header of the fragmentable part (in the first fragment, the header that
    /// follows; in the others, the header the reassembled data will start with).
    pub next_header: NextHeader,
    /// Where this fragment's data goes in the reassembled fragmentable part, in bytes (the
    /// field counts 8-byte units).
    pub offset: u16,
    /// The M flag: more fragments follow.
    pub more_fragments: bool,
    /// The Identification shared by all fragments of one packet.
    pub ident: u32,
}

impl FragmentHeader {
    /// Whether this is a whole packet in a Fragment header (offset 0, no more fragments), an
    /// "atomic fragment" ([RFC 6946]): it needs no reassembly.
    ///
    /// [RFC 6946]: https://www.rfc-editor.org/rfc/rfc6946
    pub const fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more_fragments
    }
}

/// Where a chain that can be processed ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// The upper-layer header (or data of an unknown protocol) starts `offset` bytes into the
    /// payload.
    Upper {
        /// The upper-layer protocol.
        protocol: IpProtocol,
        /// Where its header starts, counted from the end of the fixed header.
        offset: usize,
    },
    /// A Fragment header: the fragment's data starts `offset` bytes into the payload and goes
    /// to reassembly.
    Fragment {
        /// The Fragment header's fields.
        header: FragmentHeader,
        /// Where the fragment's data starts, counted from the end of the fixed header.
        offset: usize,
    },
}

impl Chain {
    /// Where what follows the extension headers starts, counted from the end of the fixed header.
    pub const fn offset(&self) -> usize {
        match self {
            Chain::Upper { offset, .. } | Chain::Fragment { offset, .. } => *offset,
        }
    }
}

/// The codes of ICMPv6 Parameter Problem ([RFC 4443 section 3.4]) a chain can earn.
///
/// [RFC 4443 section 3.4]: https://www.rfc-editor.org/rfc/rfc4443#section-3.4
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamProblemCode {
    /// 0: an erroneous header field.
    ErroneousHeaderField,
    /// 1: an unrecognized Next Header type.
    UnrecognizedNextHeader,
    /// 2: an unrecognized IPv6 option.
    UnrecognizedOption,
    /// 3: a first fragment that does not hold the whole header chain ([RFC 7112]); sent by
    /// reassembly ([`crate::ip::ipv6::fragment`]), never by the walk.
    ///
    /// [RFC 7112]: https://www.rfc-editor.org/rfc/rfc7112
    IncompleteHeaderChain,
}

impl From<ParamProblemCode> for u8 {
    fn from(value: ParamProblemCode) -> u8 {
        match value {
            ParamProblemCode::ErroneousHeaderField => 0,
            ParamProblemCode::UnrecognizedNextHeader => 1,
            ParamProblemCode::UnrecognizedOption => 2,
            ParamProblemCode::IncompleteHeaderChain => 3,
        }
    }
}

/// Why a chain was not processed, for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// An extension header (or an option inside one) runs past the payload.
    Truncated,
    /// More than [`MAX_EXT_HEADERS`] extension headers.
    TooManyHeaders,
    /// A Hop-by-Hop Options header after another header.
    HopByHopNotFirst,
    /// A Routing header with segments left: this host does not forward.
    RoutingHeader,
    /// An option runs past the end of its header.
    BadOption,
    /// An unknown option whose type says: discard the packet.
    UnknownOption,
    /// A fragment with more to come whose length is not a multiple of 8, or one that would end
    /// past 65,535 bytes.
    BadFragment,
    /// No Next Header: nothing to deliver (not an error, but nothing to count as delivered).
    NoNextHeader,
}

impl DropReason {
    /// A short name for counters and logs, e.g. `"too_many_headers"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::TooManyHeaders => "too_many_headers",
            DropReason::HopByHopNotFirst => "hop_by_hop_not_first",
            DropReason::RoutingHeader => "routing_header",
            DropReason::BadOption => "bad_option",
            DropReason::UnknownOption => "unknown_option",
            DropReason::BadFragment => "bad_fragment",
            DropReason::NoNextHeader => "no_next_header",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do with a packet whose chain cannot be processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Drop it silently.
    Drop(DropReason),
    /// Drop it and send the source an ICMPv6 Parameter Problem.
    ParameterProblem {
        /// The message's code.
        code: ParamProblemCode,
        /// The offending byte, counted from the start of the IPv6 packet (fixed header
        /// included), as the message's Pointer field wants it.
        pointer: u32,
        /// Why, for counters.
        reason: DropReason,
    },
}

impl Verdict {
    /// Why the packet is dropped.
    pub const fn reason(&self) -> DropReason {
        match self {
            Verdict::Drop(reason) | Verdict::ParameterProblem { reason, .. } => *reason,
        }
    }
}

/// A Parameter Problem about the byte at `at` in the payload.
fn problem(code: ParamProblemCode, at: usize, reason: DropReason) -> Verdict {
    Verdict::ParameterProblem {
        code,
        // A payload is at most 65,535 bytes: the pointer fits.
        pointer: (HEADER_LEN + at) as u32,
        reason,
    }
}

/// Walks the extension headers of a packet, from `first` (the fixed header's Next Header) over
/// `payload` (the bytes after the fixed header, [`super::Packet::payload`]), to the upper-layer
/// protocol or to a fragment's data.
///
/// `dst_is_multicast` says whether the packet was sent to a multicast address: options of type
/// `11xxxxxx` earn a Parameter Problem only when it was not. Costs at most
/// [`MAX_EXT_HEADERS`] headers' worth of reads, and never reads outside `payload`.
pub fn walk(first: NextHeader, payload: &[u8], dst_is_multicast: bool) -> Result<Chain, Verdict> {
    let mut next = first;
    // Where the Next Header field that named `next` is, counted from the start of the packet
    // (the fixed header's at first), for a Parameter Problem's pointer.
    let mut next_field_in_packet = 6usize;
    let mut at = 0usize;
    for count in 0..=MAX_EXT_HEADERS {
        if next.is_extension() && count == MAX_EXT_HEADERS {
            return Err(Verdict::Drop(DropReason::TooManyHeaders));
        }
        let header_at = at;
        match next {
            NextHeader::Protocol(protocol) => {
                return Ok(Chain::Upper {
                    protocol,
                    offset: at,
                })
            }
            NextHeader::NoNextHeader => return Err(Verdict::Drop(DropReason::NoNextHeader)),
            NextHeader::HopByHop if count > 0 => {
                return Err(Verdict::ParameterProblem {
                    code: ParamProblemCode::UnrecognizedNextHeader,
                    pointer: next_field_in_packet as u32,
                    reason: DropReason::HopByHopNotFirst,
                });
            }
            NextHeader::Fragment => {
                let header = fragment(payload, at)?;
                return Ok(Chain::Fragment {
                    header,
                    offset: at + FRAGMENT_HEADER_LEN,
                });
            }
            NextHeader::HopByHop | NextHeader::DestinationOptions => {
                let bytes = ext_header(payload, at)?;
                options(&bytes[2..], at + 2, dst_is_multicast)?;
                at += bytes.len();
            }
            NextHeader::Routing => {
                let bytes = ext_header(payload, at)?;
                let segments_left = bytes[3];
                if segments_left > 0 {
                    return Err(problem(
                        ParamProblemCode::ErroneousHeaderField,
                        at + 2,
                        DropReason::RoutingHeader,
                    ));
                }
                at += bytes.len();
            }
        }
        next = NextHeader::from(payload[header_at]);
        next_field_in_packet = HEADER_LEN + header_at;
    }
    // Unreachable: the loop returns at the latest when `count` reaches the bound.
    Err(Verdict::Drop(DropReason::TooManyHeaders))
}

/// The bytes of the Hop-by-Hop, Routing or Destination Options header at `at`, checked to lie
/// within `payload`.
fn ext_header(payload: &[u8], at: usize) -> Result<&[u8], Verdict> {
    let rest = payload.get(at..).unwrap_or(&[]);
    let Some(&units) = rest.get(1) else {
        return Err(Verdict::Drop(DropReason::Truncated));
    };
    let len = (usize::from(units) + 1) * 8;
    rest.get(..len).ok_or(Verdict::Drop(DropReason::Truncated))
}

/// Reads the Fragment header at `at` and checks the fragment's length against it.
fn fragment(payload: &[u8], at: usize) -> Result<FragmentHeader, Verdict> {
    let Some(bytes) = payload.get(at..at + FRAGMENT_HEADER_LEN) else {
        return Err(Verdict::Drop(DropReason::Truncated));
    };
    let word = read_u16(bytes, 2);
    let header = FragmentHeader {
        next_header: NextHeader::from(bytes[0]),
        offset: word & 0xfff8,
        more_fragments: word & 1 != 0,
        ident: read_u32(bytes, 4),
    };
    let data_len = payload.len() - at - FRAGMENT_HEADER_LEN;
    if header.more_fragments && !data_len.is_multiple_of(8) {
        // "pointing to the Payload Length field of the fragment packet" (section 4.5).
        return Err(Verdict::ParameterProblem {
            code: ParamProblemCode::ErroneousHeaderField,
            pointer: 4,
            reason: DropReason::BadFragment,
        });
    }
    let unfragmentable = at;
    if unfragmentable + usize::from(header.offset) + data_len > MAX_PAYLOAD_LEN {
        // "pointing to the Fragment Offset field of the fragment packet" (section 4.5).
        return Err(problem(
            ParamProblemCode::ErroneousHeaderField,
            at + 2,
            DropReason::BadFragment,
        ));
    }
    Ok(header)
}

/// Checks the options of a Hop-by-Hop or Destination Options header ([RFC 8200 section 4.2]).
/// `options` starts `at` bytes into the payload.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
/// |  Option Type  |  Opt Data Len |  Option Data
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
/// ```
///
/// [RFC 8200 section 4.2]: https://www.rfc-editor.org/rfc/rfc8200#section-4.2
fn options(options: &[u8], at: usize, dst_is_multicast: bool) -> Result<(), Verdict> {
    let mut i = 0;
    while let Some(&kind) = options.get(i) {
        if kind == option::PAD1 {
            i += 1;
            continue;
        }
        let Some(&data_len) = options.get(i + 1) else {
            return Err(Verdict::Drop(DropReason::BadOption));
        };
        let end = i + 2 + usize::from(data_len);
        if end > options.len() {
            return Err(Verdict::Drop(DropReason::BadOption));
        }
        if kind != option::PADN {
            // No other option is known here: the two high bits of the type say what to do.
            let unknown = || {
                problem(
                    ParamProblemCode::UnrecognizedOption,
                    at + i,
                    DropReason::UnknownOption,
                )
            };
            match kind >> 6 {
                0b00 => {}
                0b01 => return Err(Verdict::Drop(DropReason::UnknownOption)),
                0b10 => return Err(unknown()),
                _ if dst_is_multicast => return Err(Verdict::Drop(DropReason::UnknownOption)),
                _ => return Err(unknown()),
            }
        }
        i = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
