//! Fragmenting a packet to send ([RFC 8200 section 4.5]).
//!
//! A packet larger than the path MTU leaves in fragment packets: each is the IPv6 header
//! (Next Header 44, Payload Length of this fragment packet), a Fragment header, and one piece
//! of the payload; every piece but the last is a multiple of 8 bytes, and no packet is larger
//! than the MTU. This stack sends no extension headers, so the Unfragmentable Part is the
//! fixed header alone and the whole payload, the upper-layer header first, is cut:
//!
//! ```text
//! a 3,000-byte UDP datagram over MTU 1500 (1500 - 40 - 8 = 1452, down to a multiple of 8):
//!                                                           bytes of data   packet
//! | IPv6 NH=44 len=1456 | Frag NH=17 off=0    M=1 id=X |    1448 (UDP header first)   1496
//! | IPv6 NH=44 len=1456 | Frag NH=17 off=1448 M=1 id=X |    1448                      1496
//! | IPv6 NH=44 len=112  | Frag NH=17 off=2896 M=0 id=X |     104                       152
//! ```
//!
//! The Fragment header's fields (its layout is in [`crate::ip::ipv6::ext`]): the Next Header of
//! the Fragmentable Part (the upper-layer protocol), the offset in 8-byte units in the top 13
//! bits of a 16-bit word, two reserved bits, M, and the 32-bit Identification.
//!
//! **The Identification** is the caller's to choose, different from that of any other packet
//! recently fragmented to the same destination. [RFC 7739] asks that it be unpredictable to
//! anyone but the two ends: a single counter, even from a random start, tells whoever receives
//! one of our fragments which values come next, so that they can inject forged fragments into
//! our packets to someone else, or count what we send. RFC 7739 section 5 gives algorithms: a
//! counter per destination from a random start (5.1), random values (5.2), or a keyed hash of
//! the addresses plus a counter (5.3, what Linux does in `ipv6_select_ident`). A counter from a
//! random start is the simplest teaching choice (it keeps captures easy to follow), per
//! destination where the layer can afford the table.
//!
//! [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//! [RFC 7739]: https://www.rfc-editor.org/rfc/rfc7739

use crate::ip::fragment::{self, Piece};
use crate::ip::ipv6::ext::FRAGMENT_HEADER_LEN;
use crate::ip::ipv6::{FragmentHeader, NextHeader, Repr, HEADER_LEN};
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::wire::{write_u16, write_u32};

/// The smallest MTU an IPv6 link may have ([RFC 8200 section 5]): a path MTU is never below.
///
/// [RFC 8200 section 5]: https://www.rfc-editor.org/rfc/rfc8200#section-5
pub const MIN_MTU: usize = 1280;

/// The largest payload an IPv6 packet without jumbograms carries.
const MAX_PAYLOAD_LEN: usize = 65_535;

/// The most data one fragment packet carries at this MTU: what is left after the fixed
/// header and the Fragment header, down to a multiple of 8 (1232 at 1280, 1448 at 1500).
pub const fn max_fragment_data(mtu: usize) -> usize {
    mtu.saturating_sub(HEADER_LEN + FRAGMENT_HEADER_LEN) & !7
}

/// How a payload of `payload_len` bytes is cut for a path MTU of `mtu`: where each piece
/// starts, how long it is, whether more follow. Empty (nothing can be sent) when `mtu` is
/// below [`MIN_MTU`], or when the payload is empty or larger than an IPv6 packet carries
/// (65,535 bytes). A payload that fits in one packet comes out as one piece, an atomic
/// fragment, which RFC 8200 no longer wants sent: fragment only what does not fit.
pub fn plan(payload_len: usize, mtu: usize) -> Vec<Piece> {
    if mtu < MIN_MTU || payload_len > MAX_PAYLOAD_LEN {
        return Vec::new();
    }
    fragment::plan(payload_len, max_fragment_data(mtu))
}

/// The length of the fragment packet that carries `piece`: fixed header, Fragment header, data.
pub const fn fragment_len(piece: &Piece) -> usize {
    HEADER_LEN + FRAGMENT_HEADER_LEN + piece.len
}

/// Writes the fragment packet for `piece` of `payload` into `buf`, which must be
/// [`fragment_len`] bytes long. `header` is the header the whole packet would have had: its
/// addresses, Hop Limit, Traffic Class and Flow Label go into every fragment, and its Next
/// Header (the upper-layer protocol) into every Fragment header; its Payload Length is not
/// used. `ident` is the Identification (see the module's notes on choosing it).
pub fn emit_fragment(buf: &mut [u8], header: &Repr, ident: u32, payload: &[u8], piece: &Piece) {
    let outer = Repr {
        next_header: NextHeader::Fragment,
        payload_len: FRAGMENT_HEADER_LEN + piece.len,
        ..*header
    };
    outer.emit(buf);
    let fragment = FragmentHeader {
        next_header: header.next_header,
        offset: piece.offset as u16,
        more_fragments: piece.more,
        ident,
    };
    write_fragment_header(&mut buf[HEADER_LEN..], &fragment);
    let data = &payload[piece.offset..piece.offset + piece.len];
    buf[HEADER_LEN + FRAGMENT_HEADER_LEN..].copy_from_slice(data);
}

/// Writes a Fragment header into the first 8 bytes of `buf`; the reserved fields are zero.
/// `header.offset` is in bytes, a multiple of 8 (the field keeps its top 13 bits).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Identification                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
pub fn write_fragment_header(buf: &mut [u8], header: &FragmentHeader) {
    buf[0] = header.next_header.into();
    buf[1] = 0;
    let word = header.offset & 0xfff8 | u16::from(header.more_fragments);
    write_u16(buf, 2, word);
    write_u32(buf, 4, header.ident);
}

/// Queues the fragments of `payload` for a path MTU of `mtu`, each with a
/// [`Reason::Fragment`] for the capture: all of them or, when the queue lacks room or nothing
/// can be cut ([`plan`] is empty), none, and `false`.
pub(crate) fn queue_fragments(
    out: &mut PacketQueue,
    header: &Repr,
    ident: u32,
    payload: &[u8],
    mtu: usize,
) -> bool {
    let pieces = plan(payload.len(), mtu);
    if pieces.is_empty() || out.free_slots() < pieces.len() {
        return false;
    }
    let count = pieces.len();
    for (i, piece) in pieces.iter().enumerate() {
        let why = Reason::Fragment {
            index: i + 1,
            count,
            total_len: HEADER_LEN + payload.len(),
        };
        out.push_with(fragment_len(piece), Some(why), |buf| {
            emit_fragment(buf, header, ident, payload, piece);
        });
    }
    true
}
