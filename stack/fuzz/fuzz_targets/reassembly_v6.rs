//! IPv6 reassembly on arbitrary sequences of fragment packets, with time passing.
//!
//! Each record of the input is 8 bytes and makes one fragment packet:
//!
//! | byte | meaning |
//! | ---- | ------- |
//! | 0    | bits 0-3: the packet's key (one of 4 sources × 4 Identifications); bit 4: hand reassembly a wrong Fragment header position; bit 5: M |
//! | 1    | the extension headers before the Fragment header: bits 0-1 how many (0 to 3), then 2 bits each: Hop-by-Hop, Destination Options, Routing (no segments left), a 16-byte Destination Options |
//! | 2-3  | the offset, in 8-byte units (13 bits) |
//! | 4-5  | the data's length: 0 to 2,048 bytes, or (byte 7's bit 3) 0 to 256 units of 8 bytes |
//! | 6    | a time step: 0 to 254 ms, or 255 for 30 s |
//! | 7    | bits 0-2: the Fragment header's Next Header: UDP, TCP, ICMPv6, Destination Options, Routing, AH, No Next Header, Fragment; bit 3: the length counts 8-byte units |
//!
//! The data of every fragment is a function of its key and of each byte's position in the
//! Fragmentable Part, so a packet that comes out must carry exactly that function over its
//! length after its Unfragmentable Part: a byte in the wrong place, or from another packet,
//! shows. In a first fragment those bytes are also the start of the Fragmentable Part's header
//! chain, which the fuzzer shapes through the Fragment header's Next Header. The limits are
//! small (16 KiB, 8 fragments per packet) so that the fuzzer reaches them.
//!
//! Each packet goes through the extension header walk first, as the IPv6 input does. Checks:
//! no panic; where the walk finds the Fragment header is where it was put, with the fields it
//! was given; when the walk answers a bad fragment with a Parameter Problem, reassembly answers
//! the same; the memory account never exceeds its bound and is zero exactly when nothing is
//! held; a packet that comes out is a valid IPv6 packet whose Unfragmentable Part is that of
//! a first fragment given for its key, with the Fragment header's Next Header in place, and
//! whose Fragmentable Part is right; an expired packet's first fragment is one that was given;
//! once the timeout has passed nothing is left.
//!
//! Set `TUNSTACK_FUZZ_LOG=1` to print, after each input, what became of its fragments
//! (`outcomes: ...`), to see which paths a corpus reaches.
#![no_main]

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv6Addr;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tunstack::ip::fragment::{Reassembler, ReassemblyConfig};
use tunstack::ip::ipv6::ext::FRAGMENT_HEADER_LEN;
use tunstack::ip::ipv6::fragment::{
    reassemble, write_fragment_header, Ipv6FragKey, Reassembly, REASSEMBLY_CONFIG,
};
use tunstack::ip::ipv6::{
    walk, Chain, FragmentHeader, NextHeader, Packet, Repr, Verdict, HEADER_LEN,
};
use tunstack::time::Instant;

const DST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const NEXT_HEADERS: [u8; 8] = [17, 6, 58, 60, 43, 51, 59, 44];

fn byte_at(key: u8, position: usize) -> u8 {
    (position as u8).wrapping_mul(31) ^ key.wrapping_mul(101) ^ (position >> 8) as u8
}

fn key_of(key: u8) -> Ipv6FragKey {
    Ipv6FragKey {
        src: Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 0x10 + u16::from(key >> 2)),
        dst: DST,
        ident: u32::from(key & 3) * 0x0101_0101,
    }
}

/// The extension headers before the Fragment header that `control` asks for, and the fixed
/// header's Next Header; the last one's Next Header is left for the caller.
fn unfragmentable_chain(control: u8) -> (u8, Vec<u8>) {
    let count = usize::from(control & 3);
    let mut chain: Vec<u8> = Vec::new();
    let mut first = 44;
    let mut last_field = None;
    for i in 0..count {
        let (kind, header): (u8, &[u8]) = match control >> (2 + 2 * i) & 3 {
            0 => (0, &[0, 0, 1, 4, 0, 0, 0, 0]),
            1 => (60, &[0, 0, 1, 4, 0, 0, 0, 0]),
            2 => (43, &[0, 0, 4, 0, 0, 0, 0, 0]),
            _ => (60, &[0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        };
        match last_field {
            None => first = kind,
            Some(at) => chain[at] = kind,
        }
        last_field = Some(chain.len());
        chain.extend_from_slice(header);
    }
    if let Some(at) = last_field {
        chain[at] = 44;
    }
    (first, chain)
}

struct Record {
    key: u8,
    wrong_at: bool,
    header: FragmentHeader,
    bytes: Vec<u8>,
    at: usize,
}

fn record(input: &[u8]) -> Record {
    let key = input[0] & 15;
    let offset = u16::from_be_bytes([input[2], input[3]]) & 0x1fff;
    let len = match input[7] & 8 {
        0 => usize::from(u16::from_be_bytes([input[4], input[5]]) % 2049),
        _ => usize::from(u16::from_be_bytes([input[4], input[5]]) % 257) * 8,
    };
    let header = FragmentHeader {
        next_header: NextHeader::from(NEXT_HEADERS[usize::from(input[7] & 7)]),
        offset: offset * 8,
        more_fragments: input[0] & 0x20 != 0,
        ident: key_of(key).ident,
    };
    let (first, chain) = unfragmentable_chain(input[1]);
    let repr = Repr {
        src_addr: key_of(key).src,
        dst_addr: DST,
        next_header: NextHeader::from(first),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
        payload_len: chain.len() + FRAGMENT_HEADER_LEN + len,
    };
    let mut bytes = vec![0; HEADER_LEN];
    repr.emit(&mut bytes);
    bytes.extend_from_slice(&chain);
    let at = chain.len();
    bytes.resize(HEADER_LEN + at + FRAGMENT_HEADER_LEN, 0);
    write_fragment_header(&mut bytes[HEADER_LEN + at..], &header);
    let start = usize::from(header.offset);
    bytes.extend((start..start + len).map(|p| byte_at(key, p)));
    Record {
        key,
        wrong_at: input[0] & 0x10 != 0,
        header,
        bytes,
        at,
    }
}

/// Checks a packet that came out against the first fragments given for its key.
fn check_complete(key: u8, packet: &[u8], fragments: usize, firsts: &[Vec<u8>]) {
    let view = Packet::new_checked(packet).expect("a valid packet");
    assert_eq!(view.total_len(), packet.len());
    assert!(fragments >= 1);
    let matched = firsts.iter().any(|first| {
        let unfragmentable = first.len() - FRAGMENT_HEADER_LEN;
        let data = &packet[unfragmentable.min(packet.len())..];
        packet.len() >= unfragmentable
            && packet[..4] == first[..4]
            && packet[6..unfragmentable] == patched(first)[6..]
            && data.iter().enumerate().all(|(i, b)| *b == byte_at(key, i))
    });
    assert!(
        matched,
        "packet {packet:02x?} from no first fragment of key {key}"
    );
}

/// A first fragment's Unfragmentable Part with the Fragment header's Next Header in the field
/// that named the Fragment header.
fn patched(first_prefix: &[u8]) -> Vec<u8> {
    let split = first_prefix.len() - FRAGMENT_HEADER_LEN;
    let mut bytes = first_prefix[..split].to_vec();
    let (mut field, mut at) = (6, HEADER_LEN);
    while at < split {
        field = at;
        at += (usize::from(bytes[at + 1]) + 1) * 8;
    }
    bytes[field] = first_prefix[split];
    bytes
}

/// Whether `TUNSTACK_FUZZ_LOG` is set: then each input ends with a line of outcomes.
fn logging() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("TUNSTACK_FUZZ_LOG").is_some())
}

/// A short name for an outcome, for the log line.
fn outcome_name(outcome: &Reassembly) -> String {
    match outcome {
        Reassembly::Held => "held".into(),
        Reassembly::Complete { fragments: 1, .. } => "atomic".into(),
        Reassembly::Complete { .. } => "complete".into(),
        Reassembly::Dropped(d) => match d.problem {
            Some(p) => format!("{}+param_problem_{}", d.reason, u8::from(p.code)),
            None => d.reason.to_string(),
        },
    }
}

fuzz_target!(|input: &[u8]| {
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let config = ReassemblyConfig {
        memory_limit: 16 << 10,
        max_fragments: 8,
        ..REASSEMBLY_CONFIG
    };
    let mut r: Reassembler<Ipv6FragKey> = Reassembler::new(config);
    let mut firsts: HashMap<u8, Vec<Vec<u8>>> = HashMap::new();
    let mut now = Instant::ZERO;
    for chunk in input.chunks_exact(8) {
        now += match chunk[6] {
            255 => Duration::from_secs(30),
            ms => Duration::from_millis(u64::from(ms)),
        };
        for expired in r.expire(now) {
            assert!(expired.fragments > 0);
            let name = if expired.first.is_some() {
                "expired_first"
            } else {
                "expired"
            };
            *outcomes.entry(name.into()).or_default() += 1;
            if let Some((header, data)) = expired.first {
                let key = (0..16)
                    .find(|k| key_of(*k) == expired.key)
                    .expect("a known key");
                assert!(
                    firsts[&key].contains(&header),
                    "quoted a first fragment never given"
                );
                assert!(data.iter().enumerate().all(|(i, b)| *b == byte_at(key, i)));
            }
        }
        let rec = record(chunk);
        let packet = Packet::new_checked(&rec.bytes[..]).expect("built valid");
        let walked = walk(packet.next_header(), packet.payload(), false);
        let at = if rec.wrong_at {
            usize::from(chunk[6]) % 48
        } else {
            rec.at
        };
        let expected_problem = match walked {
            Ok(Chain::Fragment { header, offset }) => {
                assert_eq!((header, offset), (rec.header, rec.at + FRAGMENT_HEADER_LEN));
                None
            }
            Ok(other) => panic!("the walk went past the Fragment header: {other:?}"),
            Err(Verdict::ParameterProblem {
                code,
                pointer,
                reason,
            }) if reason == tunstack::ip::ipv6::DropReason::BadFragment => Some((code, pointer)),
            // Hop-by-Hop after another header: the input never gets here.
            Err(_) if !rec.wrong_at => continue,
            Err(_) => None,
        };
        if rec.header.offset == 0 {
            let prefix = rec.bytes[..HEADER_LEN + rec.at + FRAGMENT_HEADER_LEN].to_vec();
            firsts.entry(rec.key).or_default().push(prefix);
        }
        let outcome = reassemble(&mut r, now, &packet, at, rec.header);
        if let (Some((code, pointer)), false) = (expected_problem, rec.wrong_at) {
            match &outcome {
                Reassembly::Dropped(d) => {
                    let problem = d.problem.expect("a Parameter Problem");
                    assert_eq!((problem.code, problem.pointer), (code, pointer));
                }
                other => panic!("the walk found a bad fragment, reassembly {other:?}"),
            }
        }
        *outcomes.entry(outcome_name(&outcome)).or_default() += 1;
        match outcome {
            Reassembly::Held => {}
            Reassembly::Dropped(d) => {
                assert!(d.fragments >= 1);
                if let Some(problem) = d.problem {
                    assert!((problem.pointer as usize) < rec.bytes.len().max(1));
                }
            }
            Reassembly::Complete { packet, fragments } => {
                assert!(fragments <= config.max_fragments);
                check_complete(rec.key, &packet, fragments, &firsts[&rec.key]);
            }
        }
        assert!(r.memory() <= config.memory_limit, "{}", r.memory());
        assert_eq!(r.is_empty(), r.memory() == 0);
        if let Some(at) = r.poll_at() {
            assert!(at > now && at <= now + config.timeout);
        }
    }
    r.expire(now + config.timeout);
    if logging() {
        eprintln!("outcomes: {outcomes:?}");
    }
    assert!(r.is_empty());
    assert_eq!((r.memory(), r.poll_at()), (0, None));
});
