//! The codec's unit tests (byte layouts written out by hand, compression, and every error), and
//! the server's: its zone files and its answers.

mod answer;
mod errors;
mod layout;
mod tcp;
mod zone;

use super::{Message, Name, RData, Record, CLASS_IN};

/// A name from text (tests only).
fn name(text: &str) -> Name {
    text.parse().unwrap()
}

/// A record of class IN.
fn record(owner: &str, ttl: u32, data: RData) -> Record {
    Record {
        name: name(owner),
        class: CLASS_IN,
        ttl,
        data,
    }
}

/// The query for `www.course.test A` with ID 0x1234, as dig sends it without EDNS.
const QUERY: &[u8] = &[
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header: RD, one question
    3, b'w', b'w', b'w', 6, b'c', b'o', b'u', b'r', b's', b'e', 4, b't', b'e', b's', b't', 0, 0, 1,
    0, 1, // type A, class IN
];

/// Parses, then checks that encoding gives the same message back.
fn round_trip(message: &Message) -> Vec<u8> {
    let bytes = message.encode();
    assert_eq!(&Message::parse(&bytes).unwrap(), message);
    bytes
}
