//! Reassembly: IPv6 fragments in, whole packets out ([RFC 8200 section 4.5]).
//!
//! The IPv6 input walks a packet's extension headers ([`walk`]); when the walk stops at a
//! Fragment header, it hands the packet to [`reassemble`] with that header and where it is.
//! What comes back, once every fragment is in, is the packet as it was before it was cut: the
//! Unfragmentable Part of the fragment at offset 0, with the Next Header field that named the
//! Fragment header now naming what the Fragment header named, and Payload Length recomputed;
//! then the Fragmentable Part. The input walks it again from the start.
//!
//! ```text
//! fragment at offset 0:
//! | IPv6 NH=0 | Hop-by-Hop NH=44 | Fragment NH=17 off=0 M=1 | UDP header, data ... |
//! the packet reassembled from it and the others:
//! | IPv6 NH=0 | Hop-by-Hop NH=17 | UDP header, data ... (every fragment's data, in place) |
//! ```
//!
//! What is checked, in this order:
//!
//! 1. An **atomic fragment** (offset 0, M clear: a whole packet behind a Fragment header, which
//!    hosts used to send after a Packet Too Big below 1280 bytes) is processed on its own and
//!    never mixed with fragments in reassembly ([RFC 6946 section 4]): the Fragment header is
//!    taken out and the packet handed back.
//! 2. M set on a length that is not a multiple of 8: the fragment is dropped, and the source
//!    gets a Parameter Problem, code 0, pointing at the Payload Length field (section 4.5).
//! 3. A fragment that would end past 65,535 bytes of payload: dropped, Parameter Problem code 0
//!    pointing at the Fragment Offset field (section 4.5).
//! 4. A first fragment that does not hold the whole header chain, through the upper-layer
//!    header ([RFC 7112], section 4.5): dropped, Parameter Problem code 3 with pointer 0. How
//!    much of the upper-layer header must be there is Linux's rule (`ipv6frag_thdr_truncated`):
//!    20 bytes of TCP, 8 of UDP or ICMPv6, 1 of anything else.
//! 5. The generic [`Reassembler`]: an overlap drops the whole packet, silently ([RFC 5722]); a
//!    fragment whose bytes are all held already (an exact or inner duplicate) drops alone and
//!    the packet stays (section 4.5 allows it; Linux's `ip6_frag_queue` does the same,
//!    `IPFRAG_DUP`); the memory bound, the fragment count and the timeout of
//!    [`REASSEMBLY_CONFIG`](super::REASSEMBLY_CONFIG) hold as for IPv4.
//!
//! [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//! [RFC 6946 section 4]: https://www.rfc-editor.org/rfc/rfc6946#section-4
//! [RFC 7112]: https://www.rfc-editor.org/rfc/rfc7112
//! [RFC 5722]: https://www.rfc-editor.org/rfc/rfc5722

use super::{Ipv6FragKey, Ipv6Reassembler};
use crate::ip::fragment::{Fragment, Outcome, Reassembled};
use crate::ip::ipv6::ext::{FRAGMENT_HEADER_LEN, MAX_EXT_HEADERS};
use crate::ip::ipv6::{FragmentHeader, NextHeader, Packet, ParamProblemCode, HEADER_LEN};
use crate::ip::IpProtocol;
use crate::stats::DropReason;
use crate::time::Instant;

#[cfg(doc)]
use crate::ip::{fragment::Reassembler, ipv6::walk};

/// The largest Payload Length without jumbograms.
const MAX_PAYLOAD_LEN: usize = 65_535;

/// Where the Next Header field sits in the fixed header.
const NEXT_HEADER_FIELD: usize = 6;

/// Where the Fragment Offset field sits in the Fragment header.
const FRAGMENT_OFFSET_FIELD: usize = 2;

/// The Authentication Header's protocol number ([RFC 4302]): an extension header of the chain,
/// whose length counts 4-byte units less 2.
///
/// [RFC 4302]: https://www.rfc-editor.org/rfc/rfc4302
const AUTHENTICATION_HEADER: u8 = 51;

/// An ICMPv6 Parameter Problem to send the fragment's source ([RFC 4443 section 3.4]).
///
/// [RFC 4443 section 3.4]: https://www.rfc-editor.org/rfc/rfc4443#section-3.4
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamProblem {
    /// The message's code.
    pub code: ParamProblemCode,
    /// The offending byte, counted from the start of the fragment packet (fixed header
    /// included), as the message's Pointer field wants it.
    pub pointer: u32,
}

/// A fragment that was dropped, and maybe the packet it belonged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Why; count it `fragments` times.
    pub reason: DropReason,
    /// How many fragment packets went: this one, and, when the reason drops the whole packet,
    /// the ones held for it.
    pub fragments: usize,
    /// The Parameter Problem the RFCs ask for, if any; the caller sends it (rate-limited, and
    /// not in answer to a packet sent to a multicast address, [RFC 4443 section 2.4]),
    /// quoting the fragment.
    ///
    /// [RFC 4443 section 2.4]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4
    pub problem: Option<ParamProblem>,
}

/// What became of a fragment given to [`reassemble`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reassembly {
    /// Held until the rest of its packet comes.
    Held,
    /// A whole packet: walk it again from its fixed header.
    Complete {
        /// The packet, fixed header first, with no Fragment header left.
        packet: Vec<u8>,
        /// How many fragment packets it was made of; 1 for an atomic fragment (the only way a
        /// packet completes from one fragment).
        fragments: usize,
    },
    /// Dropped.
    Dropped(Dropped),
}

/// Takes one fragment packet at `now`: `packet` is the checked packet, `at` where its Fragment
/// header starts counted from the end of the fixed header (as [`walk`] counts: the offset in
/// [`Chain::Fragment`](crate::ip::ipv6::Chain::Fragment) less [`FRAGMENT_HEADER_LEN`]), and
/// `header` that header's fields.
///
/// A Fragment header that is not where the chain of extension headers before it leads drops
/// the packet ([`DropReason::Fragment`]).
pub fn reassemble(
    reassembler: &mut Ipv6Reassembler,
    now: Instant,
    packet: &Packet<&[u8]>,
    at: usize,
    header: FragmentHeader,
) -> Reassembly {
    let bytes = &packet.clone().into_inner()[..packet.total_len()];
    let fragment_at = HEADER_LEN.saturating_add(at);
    let data_at = fragment_at.saturating_add(FRAGMENT_HEADER_LEN);
    let unfragmentable = bytes.get(..fragment_at).unwrap_or_default();
    let (Some(field), Some(data)) = (fragment_named_at(unfragmentable), bytes.get(data_at..))
    else {
        return dropped(DropReason::Fragment, None);
    };
    if header.is_atomic() {
        return match join(unfragmentable, field, header.next_header, data) {
            Some(packet) => Reassembly::Complete {
                packet,
                fragments: 1,
            },
            None => dropped(DropReason::ReassemblyTooBig, None), // unreachable: it got shorter
        };
    }
    if let Some(refused) = refuse(&header, at, data) {
        return refused;
    }
    let key = Ipv6FragKey {
        src: packet.src_addr(),
        dst: packet.dst_addr(),
        ident: header.ident,
    };
    let fragment = Fragment {
        offset: usize::from(header.offset),
        more: header.more_fragments,
        data,
    };
    // The header kept is the first fragment's, up to and including its Fragment header: what a
    // Time Exceeded quotes, and what `finish` rebuilds the Unfragmentable Part from.
    match reassembler.insert(now, key, &bytes[..data_at], fragment) {
        Outcome::Held => Reassembly::Held,
        Outcome::Dropped { reason, fragments } => Reassembly::Dropped(Dropped {
            reason,
            fragments,
            problem: None,
        }),
        Outcome::Complete(whole) => finish(whole),
    }
}

/// Steps 2 to 4 of the module's list: what the RFCs refuse before reassembly, for a fragment
/// whose Fragment header is `at` bytes after the fixed header and whose data is `data`.
fn refuse(header: &FragmentHeader, at: usize, data: &[u8]) -> Option<Reassembly> {
    let offset = usize::from(header.offset);
    if header.more_fragments && !data.len().is_multiple_of(8) {
        // "pointing to the Payload Length field of the fragment packet" (section 4.5).
        let problem = problem(ParamProblemCode::ErroneousHeaderField, 4);
        return Some(dropped(DropReason::Fragment, Some(problem)));
    }
    if at + offset + data.len() > MAX_PAYLOAD_LEN {
        // "pointing to the Fragment Offset field of the fragment packet" (section 4.5).
        let field = HEADER_LEN + at + FRAGMENT_OFFSET_FIELD;
        let problem = problem(ParamProblemCode::ErroneousHeaderField, field);
        return Some(dropped(DropReason::ReassemblyTooBig, Some(problem)));
    }
    if offset == 0 && !holds_header_chain(header.next_header, data) {
        // "with the Pointer field set to zero" (section 4.5).
        let problem = problem(ParamProblemCode::IncompleteHeaderChain, 0);
        return Some(dropped(
            DropReason::ReassemblyIncompleteChain,
            Some(problem),
        ));
    }
    None
}

/// A Parameter Problem about byte `pointer` of the fragment packet.
fn problem(code: ParamProblemCode, pointer: usize) -> ParamProblem {
    ParamProblem {
        code,
        // Within a packet of at most 40 + 65,535 bytes: it fits.
        pointer: pointer as u32,
    }
}

/// One fragment packet dropped, alone.
fn dropped(reason: DropReason, problem: Option<ParamProblem>) -> Reassembly {
    Reassembly::Dropped(Dropped {
        reason,
        fragments: 1,
        problem,
    })
}

/// Joins a complete packet: the first fragment's Unfragmentable Part, then the data.
fn finish(whole: Reassembled) -> Reassembly {
    let fragments = whole.fragments;
    let split = whole.header.len().saturating_sub(FRAGMENT_HEADER_LEN);
    let (unfragmentable, fragment_header) = whole.header.split_at(split);
    // The header was checked when the first fragment came; what can fail is the length: the
    // first fragment's Unfragmentable Part may be longer than the one of the fragment that set
    // the end.
    let packet = fragment_named_at(unfragmentable).and_then(|field| {
        let next = NextHeader::from(*fragment_header.first()?);
        join(unfragmentable, field, next, &whole.payload)
    });
    match packet {
        Some(packet) => Reassembly::Complete { packet, fragments },
        None => Reassembly::Dropped(Dropped {
            reason: DropReason::ReassemblyTooBig,
            fragments,
            problem: None,
        }),
    }
}

/// The whole packet: `unfragmentable`, with the Next Header field at `field` set to `next`
/// and Payload Length to what follows the fixed header, then `data`. `None` if it would be
/// longer than 65,535 bytes after the fixed header.
fn join(unfragmentable: &[u8], field: usize, next: NextHeader, data: &[u8]) -> Option<Vec<u8>> {
    let payload_len = unfragmentable.len().saturating_sub(HEADER_LEN) + data.len();
    let payload_len = u16::try_from(payload_len).ok()?;
    let mut packet = Vec::with_capacity(unfragmentable.len() + data.len());
    packet.extend_from_slice(unfragmentable);
    packet.extend_from_slice(data);
    *packet.get_mut(field)? = next.into();
    Packet::new_unchecked(&mut packet[..]).set_payload_len(payload_len);
    Some(packet)
}

/// Where, in `unfragmentable` (a fixed header and the extension headers after it, up to a
/// Fragment header), is the Next Header field that names the Fragment header: 6, in the fixed
/// header, or the first byte of the last extension header. `None` unless following the chain
/// (Hop-by-Hop, Routing and Destination Options headers, the ones [`walk`] steps over) ends
/// exactly at the end of `unfragmentable`, on a Fragment header.
fn fragment_named_at(unfragmentable: &[u8]) -> Option<usize> {
    let (mut field, mut at) = (NEXT_HEADER_FIELD, HEADER_LEN);
    for _ in 0..=MAX_EXT_HEADERS {
        let next = NextHeader::from(*unfragmentable.get(field)?);
        if at >= unfragmentable.len() {
            let there = at == unfragmentable.len() && next == NextHeader::Fragment;
            return there.then_some(field);
        }
        if !matches!(
            next,
            NextHeader::HopByHop | NextHeader::Routing | NextHeader::DestinationOptions
        ) {
            return None;
        }
        let units = *unfragmentable.get(at + 1)?;
        field = at;
        at += (usize::from(units) + 1) * 8;
    }
    None
}

/// Whether a first fragment's `data`, starting with header `first`, holds the whole header
/// chain ([RFC 7112 section 5]): every extension header, and the first bytes of the
/// upper-layer header (Linux's rule: 20 of TCP, 8 of UDP and ICMPv6, 1 of anything else).
/// A chain longer than [`MAX_EXT_HEADERS`] passes here; the walk of the reassembled packet
/// drops it.
///
/// [RFC 7112 section 5]: https://www.rfc-editor.org/rfc/rfc7112#section-5
fn holds_header_chain(first: NextHeader, data: &[u8]) -> bool {
    let (mut next, mut at) = (first, 0usize);
    for _ in 0..MAX_EXT_HEADERS {
        let len_byte = || data.get(at + 1).map(|&b| usize::from(b));
        let len = match next {
            NextHeader::NoNextHeader => return true,
            NextHeader::Fragment => FRAGMENT_HEADER_LEN,
            NextHeader::HopByHop | NextHeader::Routing | NextHeader::DestinationOptions => {
                let Some(units) = len_byte() else {
                    return false;
                };
                (units + 1) * 8
            }
            NextHeader::Protocol(protocol) if u8::from(protocol) == AUTHENTICATION_HEADER => {
                let Some(units) = len_byte() else {
                    return false;
                };
                (units + 2) * 4
            }
            NextHeader::Protocol(protocol) => return at + upper_header_len(protocol) <= data.len(),
        };
        let Some(&byte) = data.get(at).filter(|_| at + len <= data.len()) else {
            return false;
        };
        next = NextHeader::from(byte);
        at += len;
    }
    true
}

/// How much of an upper-layer header a first fragment must hold (Linux's
/// `ipv6frag_thdr_truncated`: the fixed part of TCP's, UDP's and ICMPv6's headers).
fn upper_header_len(protocol: IpProtocol) -> usize {
    match protocol {
        IpProtocol::Tcp => 20,
        IpProtocol::Udp | IpProtocol::Icmpv6 => 8,
        _ => 1,
    }
}
