//! The reassembler on arbitrary sequences of fragments, with time passing.
//!
//! Each record of the input is 6 bytes: a datagram key (one of 8), a 13-bit offset in 8-byte
//! units and the More Fragments flag, a length (1 to 2,048 bytes), and a time step (0 to 255
//! ms, a step of 255 jumps 10 s). The data of every fragment is a function of its key and of the
//! position of each byte in the datagram, so a datagram that comes out must be exactly that
//! function over its length: any byte in the wrong place, or from another datagram, shows.
//! The limits are small (64 KiB, 16 fragments, a 65,515-byte datagram), so that the fuzzer
//! reaches each of them.
//!
//! Checks: no panic; the memory account never exceeds its bound; a complete datagram is whole
//! and right, with the first fragment's header; every outcome is a known one; once the timeout
//! has passed nothing is left and the account is back to zero.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tunstack::ip::fragment::{Fragment, Outcome, Reassembler, ReassemblyConfig};
use tunstack::time::Instant;

fn byte_at(key: u8, position: usize) -> u8 {
    (position as u8).wrapping_mul(31) ^ key.wrapping_mul(101) ^ (position >> 8) as u8
}

fuzz_target!(|input: &[u8]| {
    let config = ReassemblyConfig {
        memory_limit: 64 << 10,
        max_fragments: 16,
        ..ReassemblyConfig::default()
    };
    let mut r: Reassembler<u8> = Reassembler::new(config);
    let mut now = Instant::ZERO;
    let mut data = Vec::new();
    for record in input.chunks_exact(6) {
        let key = record[0] % 8;
        let word = u16::from_be_bytes([record[1], record[2]]);
        let offset = usize::from(word & 0x1fff) * 8;
        let more = word & 0x2000 != 0;
        let len = usize::from(u16::from_be_bytes([record[3], record[4]]) % 2048) + 1;
        now += match record[5] {
            255 => Duration::from_secs(10),
            ms => Duration::from_millis(u64::from(ms)),
        };
        for expired in r.expire(now) {
            assert!(expired.fragments > 0);
            if let Some((header, first)) = expired.first {
                assert_eq!(header, [expired.key; 20]);
                assert!(first
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == byte_at(expired.key, i)));
            }
        }
        data.clear();
        data.extend((offset..offset + len).map(|p| byte_at(key, p)));
        let fragment = Fragment {
            offset,
            more,
            data: &data,
        };
        match r.insert(now, key, &[key; 20], fragment) {
            Outcome::Held => {}
            Outcome::Dropped { fragments, .. } => assert!(fragments >= 1),
            Outcome::Complete(whole) => {
                assert_eq!(whole.header, [key; 20]);
                assert!(whole.payload.len() >= offset + len);
                assert!(whole.payload.len() <= config.max_payload);
                // One fragment: offset 0 without MF, a whole datagram (IPv4 input never sends it here).
                assert!(whole.fragments >= 1 && whole.fragments <= config.max_fragments);
                for (i, b) in whole.payload.iter().enumerate() {
                    assert_eq!(*b, byte_at(key, i), "byte {i} of datagram {key}");
                }
            }
        }
        assert!(r.memory() <= config.memory_limit, "{}", r.memory());
        assert_eq!(r.is_empty(), r.memory() == 0);
        if let Some(at) = r.poll_at() {
            assert!(at > now && at <= now + config.timeout);
        }
    }
    r.expire(now + config.timeout);
    assert!(r.is_empty());
    assert_eq!((r.memory(), r.poll_at()), (0, None));
});
