//! The Internet checksum ([RFC 1071]) and the IPv4 pseudo-header ([RFC 768], [RFC 9293 3.1]).
//!
//! The checksum is the 16-bit ones' complement of the ones' complement sum of the data, taken as
//! 16-bit big-endian words (an odd last byte is padded with a zero). IPv4, ICMP, UDP and TCP all
//! use it; UDP and TCP also cover a *pseudo-header* of IP fields, so that a segment delivered to
//! the wrong address fails its check:
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |          source address           |
//! +--------+--------+--------+--------+
//! |        destination address        |
//! +--------+--------+--------+--------+
//! |  zero  |protocol|  TCP/UDP length |
//! +--------+--------+--------+--------+
//! ```
//!
//! Ones' complement addition is commutative and does not care about byte order (RFC 1071
//! section 2), which makes it fast to compute: we add 32-bit words, in the machine's own byte
//! order, into a 64-bit accumulator, fold the carries at the end, and swap the two bytes of the
//! result if the machine is little-endian. Same result as adding big-endian 16-bit words one
//! by one, with a quarter of the additions and no byte swapping in the loop (which lets the
//! compiler use vector instructions).
//!
//! [RFC 1071]: https://www.rfc-editor.org/rfc/rfc1071
//! [RFC 768]: https://www.rfc-editor.org/rfc/rfc768
//! [RFC 9293 3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.1

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Below this many bytes, checking which vector instructions the CPU has costs more than
/// wider ones save (headers, ACKs).
#[cfg(target_arch = "x86_64")]
const WIDE_FROM: usize = 256;

/// Adds `data` to a running ones' complement sum.
///
/// Only the last piece of a checksummed message may have an odd length: the sum pads it with a
/// zero byte, as if the message continued with one.
///
/// Every data segment is summed twice (sent and received), so this is on the per-byte path:
/// on an x86-64 CPU with AVX2 (most since 2013), the same loop runs compiled for 256-bit
/// vectors, which add twice as many words per instruction as the baseline's SSE2.
pub fn add(sum: u64, data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= WIDE_FROM && std::is_x86_feature_detected!("avx2") {
        // SAFETY: `add_avx2` only needs AVX2, which the CPU was just found to have (the check
        // is cached after the first call).
        return unsafe { add_avx2(sum, data) };
    }
    add_words(sum, data)
}

/// [`add_words`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn add_avx2(sum: u64, data: &[u8]) -> u64 {
    add_words(sum, data)
}

/// The sum itself, for [`add`]: inlined into each caller, so that it is compiled for the
/// vector instructions the caller may use.
#[inline(always)]
fn add_words(sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    let mut native = 0u64;
    for w in &mut words {
        native += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
    // The sum of byte-swapped words is the byte-swapped sum (RFC 1071 2(B)): fold, then swap
    // into network order if the machine's order is the other one.
    let mut sum = sum + u64::from(u16::from_be(fold(native)));
    let mut rest = words.remainder().chunks_exact(2);
    for w in &mut rest {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = rest.remainder() {
        sum += u64::from(u16::from_be_bytes([*last, 0]));
    }
    sum
}

/// Adds a message given in pieces, one after the other, to a running sum: unlike [`add`],
/// any piece may have an odd length. A piece that starts at an odd offset is summed as if
/// even, and its sum byte-swapped into place (RFC 1071 2(B): the sum is independent of byte
/// order, so swapping commutes with adding).
pub fn add_pieces<P: AsRef<[u8]>>(mut sum: u64, pieces: &[P]) -> u64 {
    let mut odd = false;
    for piece in pieces.iter().map(AsRef::as_ref) {
        sum = match odd {
            true => sum + u64::from(fold(add(0, piece)).swap_bytes()),
            false => add(sum, piece),
        };
        odd ^= piece.len() % 2 == 1;
    }
    sum
}

/// Folds a sum into 16 bits, adding the carries back in (end-around carry).
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Folds a running sum into 16 bits (end-around carry) and complements it: the checksum field.
pub fn finish(sum: u64) -> u16 {
    !fold(sum)
}

/// A checksum field brought up to date after one 16-bit word of what it covers changed from
/// `old` to `new`, without summing the rest again ([RFC 1624] equation 3:
/// HC' = ~(~HC + ~m + m')). Only as right as the checksum it starts from.
///
/// [RFC 1624]: https://www.rfc-editor.org/rfc/rfc1624
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(u64::from(!checksum) + u64::from(!old) + u64::from(new))
}

/// The checksum of one contiguous buffer.
///
/// Computed over bytes that already hold a correct checksum, the result is zero: that is how
/// receivers verify it.
pub fn checksum(data: &[u8]) -> u16 {
    finish(add(0, data))
}

/// The running sum of the IPv4 pseudo-header for a TCP or UDP segment of `length` bytes
/// (header plus data).
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u64 {
    // Each address is two 16-bit words; added directly, as this runs for every segment.
    let words = |addr: Ipv4Addr| {
        let addr = u32::from(addr);
        u64::from(addr >> 16) + u64::from(addr & 0xffff)
    };
    words(src) + words(dst) + u64::from(protocol) + u64::from(length)
}

/// The running sum of the IPv6 pseudo-header ([RFC 8200 section 8.1]) for an upper-layer packet
/// of `length` bytes: source, destination, the length as 32 bits, three zero bytes and the
/// Next Header value (58 for ICMPv6, which unlike ICMPv4 covers it).
///
/// [RFC 8200 section 8.1]: https://www.rfc-editor.org/rfc/rfc8200#section-8.1
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u64 {
    let mut sum = add(0, &src.octets());
    sum = add(sum, &dst.octets());
    sum += u64::from(length >> 16) + u64::from(length & 0xffff);
    sum + u64::from(next_header)
}

/// The running sum of the pseudo-header of the IP version in use, for UDP and TCP, which are
/// written once over both: IPv4's ([RFC 768], [RFC 9293 3.1]) or IPv6's ([RFC 8200 section
/// 8.1]). An IPv4 address paired with an IPv6 one (which no packet has) is summed as its
/// IPv4-mapped IPv6 address.
///
/// [RFC 768]: https://www.rfc-editor.org/rfc/rfc768
/// [RFC 9293 3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.1
/// [RFC 8200 section 8.1]: https://www.rfc-editor.org/rfc/rfc8200#section-8.1
pub fn pseudo_header_ip(src: IpAddr, dst: IpAddr, protocol: u8, length: usize) -> u64 {
    match (src, dst) {
        // A BIG TCP super-packet is longer than the 16-bit field says: its length is summed
        // as 32 bits, as Linux sums it (`csum_tcpudp_magic`), so that the kernel's cut into
        // segments (which takes the length out again) leaves each segment's sum right.
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let length = length as u32;
            let sum = pseudo_header(src, dst, protocol, (length & 0xffff) as u16);
            sum + u64::from(length >> 16)
        }
        (src, dst) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V4(a) => a.to_ipv6_mapped(),
                IpAddr::V6(a) => a,
            };
            pseudo_header_v6(v6(src), v6(dst), protocol, length as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_in_pieces_sums_as_the_whole() {
        let data: Vec<u8> = (0..1500u32).map(|i| (i * 131 % 251) as u8).collect();
        let whole = finish(add(0x1234, &data));
        for (a, b) in [
            (0, 0),
            (1, 2),
            (3, 700),
            (301, 1499),
            (2, 1000),
            (1500, 1500),
        ] {
            let pieces = [&data[..a], &data[a..b], &data[b..]];
            assert_eq!(
                finish(add_pieces(0x1234, &pieces)),
                whole,
                "cut at {a} and {b}"
            );
        }
    }

    /// An update word by word gives the checksum summed afresh, whatever the words.
    #[test]
    fn an_update_matches_the_sum_taken_again() {
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let mut sum = checksum(&header);
        for (at, new) in [
            (2, 0x05dc_u16),
            (4, 0xffff),
            (4, 0),
            (2, 0x0000),
            (6, 0x1234),
        ] {
            let old = u16::from_be_bytes([header[at], header[at + 1]]);
            header[at..at + 2].copy_from_slice(&new.to_be_bytes());
            sum = update(sum, old, new);
            assert_eq!(sum, checksum(&header), "word at {at} set to {new:#06x}");
        }
    }

    /// The worked example of RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(add(0, &data)), !0xddf2);
    }

    /// A real IPv4 header (from a capture) with its checksum field: verifying gives zero.
    #[test]
    fn verifies_a_real_ipv4_header() {
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&header), 0);
        let mut zeroed = header;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(checksum(&zeroed), 0xb861);
    }

    /// Splitting a message at an even offset does not change its sum.
    #[test]
    fn sums_compose_over_even_splits() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        for split in (0..data.len()).step_by(2) {
            let (a, b) = data.split_at(split);
            assert_eq!(
                finish(add(add(0, a), b)),
                checksum(&data),
                "split at {split}"
            );
        }
    }

    /// The textbook sum: 16-bit big-endian words one by one, carries added back each time.
    fn plain_sum(data: &[u8]) -> u16 {
        let mut plain: u32 = 0;
        for pair in data.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            plain += u32::from(word);
            plain = (plain & 0xffff) + (plain >> 16);
        }
        plain as u16
    }

    /// Both ways of summing (the baseline loop, and the one `add` picks for this CPU) give the
    /// textbook result on random bytes of random lengths, odd ones included, at random (odd
    /// included) offsets into the buffer, from a random running sum.
    #[test]
    fn every_way_matches_the_plain_sum_on_random_input() {
        let mut rng = fastrand::Rng::with_seed(1071);
        let buffer: Vec<u8> = (0..70_000).map(|_| rng.u8(..)).collect();
        for round in 0..2_000 {
            let len = match round % 4 {
                0 => rng.usize(..64),
                1 => rng.usize(..2_000),
                2 => rng.usize(1_400..1_600),
                _ => rng.usize(..65_536),
            };
            let offset = rng.usize(..buffer.len() - len);
            let data = &buffer[offset..offset + len];
            let start = rng.u64(..1 << 40);
            let want = fold(u64::from(fold(start)) + u64::from(plain_sum(data)));
            assert_eq!(fold(add(start, data)), want, "add: {len} bytes at {offset}");
            assert_eq!(
                fold(add_words(start, data)),
                want,
                "add_words: {len} at {offset}"
            );
        }
    }

    /// The IPv4 pseudo-header sums to what its 12 bytes laid out as RFC 768 draws them do.
    #[test]
    fn pseudo_header_is_the_sum_of_its_bytes() {
        let mut rng = fastrand::Rng::with_seed(768);
        for _ in 0..1_000 {
            let (src, dst) = (Ipv4Addr::from(rng.u32(..)), Ipv4Addr::from(rng.u32(..)));
            let (protocol, length) = (rng.u8(..), rng.u16(..));
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&src.octets());
            bytes.extend_from_slice(&dst.octets());
            bytes.extend_from_slice(&[0, protocol]);
            bytes.extend_from_slice(&length.to_be_bytes());
            let sum = pseudo_header(src, dst, protocol, length);
            assert_eq!(
                finish(sum),
                checksum(&bytes),
                "{src} {dst} {protocol} {length}"
            );
        }
    }

    /// The 64-bit accumulator gives the textbook 16-bit-word result for every length.
    #[test]
    fn matches_the_plain_word_by_word_sum() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..data.len() {
            let mut plain: u32 = 0;
            for pair in data[..len].chunks(2) {
                let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
                plain += u32::from(word);
                plain = (plain & 0xffff) + (plain >> 16);
            }
            assert_eq!(checksum(&data[..len]), !(plain as u16), "length {len}");
        }
    }
}
