//! The DNS message codec (`tunstack_demos::dns`) on arbitrary bytes: parsing never panics, and
//! whatever parses encodes to bytes that parse to the same message, whose encoding is the
//! same again; every name in it prints as text that reads back as the same labels; cut to 512
//! bytes it still parses, with TC set if anything was left out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack_demos::dns::{Message, Name, RData, Record};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::parse(data) else {
        return;
    };
    let bytes = message.encode();
    let again = Message::parse(&bytes).expect("what we encode parses");
    assert_eq!(again, message);
    assert_eq!(again.encode(), bytes, "encoding is stable");

    for name in names(&message) {
        let text = name.to_string();
        let read: Name = text.parse().expect("a printed name reads back");
        assert!(read.labels().eq(name.labels()), "{text}");
    }

    let cut = message.encode_within(512);
    let short = Message::parse(&cut).expect("a cut message parses");
    let kept = short.answers.len() + short.authorities.len() + short.additionals.len();
    let all = message.answers.len() + message.authorities.len() + message.additionals.len();
    assert!(
        cut.len() <= 512 || kept == 0,
        "{} bytes with {kept} records",
        cut.len()
    );
    assert_eq!(
        short.header.truncated,
        message.header.truncated || kept < all
    );
    assert_eq!(short.questions, message.questions);
    assert_eq!(short.edns, message.edns);
});

/// Every name in the message: questions, owners, and the names in record data.
fn names(message: &Message) -> Vec<&Name> {
    let records = message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals);
    let mut names: Vec<&Name> = message.questions.iter().map(|q| &q.name).collect();
    for Record { name, data, .. } in records {
        names.push(name);
        match data {
            RData::Cname(target) | RData::Ns(target) => names.push(target),
            RData::Soa(soa) => names.extend([&soa.mname, &soa.rname]),
            _ => {}
        }
    }
    names
}
