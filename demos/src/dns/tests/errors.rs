//! Every way a message or a name can be wrong gives its own error, never a panic.

use super::{name, QUERY};
use crate::dns::{DnsError, Message, Name};

/// The query with its question's name replaced by `name_bytes` (type and class after it).
fn with_name(name_bytes: &[u8]) -> Vec<u8> {
    let mut bytes = QUERY[..12].to_vec();
    bytes.extend_from_slice(name_bytes);
    bytes.extend_from_slice(&[0, 1, 0, 1]);
    bytes
}

#[test]
fn every_truncation_of_a_message_is_an_error() {
    let mut message = Message::query(1, name("www.course.test"), crate::dns::RecordType::A);
    message.answers = vec![super::record(
        "www.course.test",
        1,
        crate::dns::RData::Txt(vec![b"x".to_vec()]),
    )];
    let bytes = message.encode();
    for len in 0..bytes.len() {
        let err = Message::parse(&bytes[..len]).unwrap_err();
        assert!(matches!(err, DnsError::Truncated { .. }), "{len}: {err}");
    }
    assert_eq!(
        Message::parse(&bytes[..5]).unwrap_err().to_string(),
        "message truncated in the header"
    );
}

#[test]
fn bytes_after_the_last_record_are_an_error() {
    let mut bytes = QUERY.to_vec();
    bytes.push(0);
    assert_eq!(Message::parse(&bytes), Err(DnsError::TrailingBytes(1)));
}

#[test]
fn a_pointer_to_itself_or_forward_is_refused() {
    // The name at 12 is a pointer to 12: itself.
    let err = Message::parse(&with_name(&[0xc0, 12])).unwrap_err();
    assert_eq!(err, DnsError::PointerForward { at: 12, to: 12 });
    let err = Message::parse(&with_name(&[0xc0, 40])).unwrap_err();
    assert_eq!(err, DnsError::PointerForward { at: 12, to: 40 });
    assert!(err.to_string().contains("points forward"), "{err}");
}

#[test]
fn a_pointer_back_into_its_own_name_is_a_loop() {
    // "a", then a pointer to the "a" at 12: backward, but into the same name, for ever.
    let err = Message::parse(&with_name(&[1, b'a', 0xc0, 12])).unwrap_err();
    assert_eq!(err, DnsError::PointerLoop { at: 14, to: 12 });
    assert!(err.to_string().contains("loops"), "{err}");
}

#[test]
fn a_chain_of_pointers_longer_than_any_name_needs_is_refused() {
    // 200 pointers, each to the one before it, the first to a root label: every one points
    // backward, but a name never needs so many.
    let mut bytes = QUERY[..12].to_vec();
    bytes[5] = 0;
    bytes.push(0);
    let mut previous = 12u16;
    for _ in 0..200 {
        let here = bytes.len() as u16;
        bytes.extend_from_slice(&(0xc000 | previous).to_be_bytes());
        previous = here;
    }
    assert_eq!(
        Name::read(&bytes, usize::from(previous)).unwrap_err(),
        DnsError::TooManyPointers
    );
    // A few are fine.
    let (root, next) = Name::read(&bytes, 12 + 1 + 2 * 5).unwrap();
    assert!(root.is_root());
    assert_eq!(next, 12 + 1 + 2 * 6);
}

#[test]
fn label_types_01_and_10_are_refused() {
    for byte in [0x40, 0x80, 0xbf] {
        let err = Message::parse(&with_name(&[byte, 0])).unwrap_err();
        assert_eq!(err, DnsError::BadLabelType(byte));
    }
}

#[test]
fn a_name_over_255_bytes_is_refused_on_the_wire_and_as_text() {
    // Five labels of 50 bytes: 5 * 51 + 1 = 256 bytes.
    let mut wire = Vec::new();
    for _ in 0..5 {
        wire.push(50);
        wire.extend_from_slice(&[b'x'; 50]);
    }
    wire.push(0);
    assert_eq!(
        Message::parse(&with_name(&wire)),
        Err(DnsError::NameTooLong)
    );
    let text = vec!["x".repeat(50); 5].join(".");
    assert_eq!(text.parse::<Name>(), Err(DnsError::NameTooLong));
    // 255 bytes exactly is allowed: four labels of 50 and one of 49.
    let text = format!("{}.{}", vec!["x".repeat(50); 4].join("."), "x".repeat(49));
    assert_eq!(text.parse::<Name>().unwrap().wire_len(), 255);
}

#[test]
fn a_label_over_63_bytes_or_an_empty_one_is_refused() {
    assert_eq!(
        "x".repeat(64).parse::<Name>(),
        Err(DnsError::LabelTooLong(64))
    );
    assert!("x".repeat(63).parse::<Name>().is_ok());
    assert_eq!("a..b".parse::<Name>(), Err(DnsError::EmptyLabel));
    assert!(matches!("".parse::<Name>(), Err(DnsError::BadText(_))));
    assert!(matches!("a\\".parse::<Name>(), Err(DnsError::BadText(_))));
    assert!(matches!(
        "a\\256".parse::<Name>(),
        Err(DnsError::BadText(_))
    ));
}

/// A response to QUERY with one answer record of type `rtype` and data `data`.
fn answer(rtype: u16, data: &[u8]) -> Vec<u8> {
    let mut bytes = QUERY.to_vec();
    bytes[7] = 1;
    bytes.extend_from_slice(&[0xc0, 12]);
    bytes.extend_from_slice(&rtype.to_be_bytes());
    bytes.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
    bytes.extend_from_slice(&(data.len() as u16).to_be_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn record_data_that_does_not_fit_its_type_is_refused() {
    let bad = |rtype: u16, data: &[u8]| match Message::parse(&answer(rtype, data)) {
        Err(DnsError::BadRdata { why, .. }) => why,
        other => panic!("{other:?}"),
    };
    assert_eq!(bad(1, &[10, 77, 0]), "not 4 bytes");
    assert_eq!(bad(28, &[0; 4]), "not 16 bytes");
    assert_eq!(bad(5, &[1, b'a', 0, 9]), "bytes after the name");
    assert_eq!(bad(16, &[5, b'a']), "a string runs past the data");
    assert_eq!(
        bad(6, &[0, 0, 0, 0, 0]),
        "not five 32-bit numbers after the names"
    );
    let err = Message::parse(&answer(1, &[1, 2, 3])).unwrap_err();
    assert_eq!(err.to_string(), "bad A record data: not 4 bytes");
    // A name in the data may not run past the data, even if the message goes on.
    let mut bytes = answer(2, &[3, b'a', b'b']);
    bytes.extend_from_slice(&[b'c', 0]);
    assert!(matches!(
        Message::parse(&bytes),
        Err(DnsError::Truncated { .. })
    ));
    // An A record whose data runs past the message.
    let mut bytes = answer(1, &[1, 2, 3, 4]);
    bytes.pop();
    assert_eq!(
        Message::parse(&bytes),
        Err(DnsError::Truncated {
            what: "a record's data"
        })
    );
}

#[test]
fn two_opt_records_or_one_not_at_the_root_are_refused() {
    let opt = [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0];
    let mut bytes = QUERY.to_vec();
    bytes[11] = 2;
    bytes.extend_from_slice(&opt);
    bytes.extend_from_slice(&opt);
    assert_eq!(Message::parse(&bytes), Err(DnsError::DuplicateOpt));
    let mut bytes = QUERY.to_vec();
    bytes[11] = 1;
    bytes.extend_from_slice(&[0xc0, 12]);
    bytes.extend_from_slice(&opt[1..]);
    assert_eq!(Message::parse(&bytes), Err(DnsError::OptNotAtRoot));
}

#[test]
fn every_error_says_why_in_one_line() {
    let errors = [
        DnsError::Truncated { what: "a name" },
        DnsError::LabelTooLong(64),
        DnsError::EmptyLabel,
        DnsError::NameTooLong,
        DnsError::PointerLoop { at: 14, to: 12 },
        DnsError::PointerForward { at: 12, to: 12 },
        DnsError::TooManyPointers,
        DnsError::BadLabelType(0x40),
        DnsError::BadRdata {
            rtype: 99,
            why: "x",
        },
        DnsError::DuplicateOpt,
        DnsError::OptNotAtRoot,
        DnsError::TrailingBytes(1),
        DnsError::BadText("bad escape".into()),
    ];
    for err in errors {
        let text = err.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{err:?}");
    }
    assert_eq!(
        DnsError::BadLabelType(0x45).to_string(),
        "label type 0x40 is neither a label nor a pointer"
    );
    assert_eq!(
        DnsError::BadRdata {
            rtype: 99,
            why: "x"
        }
        .to_string(),
        "bad TYPE99 record data: x"
    );
}
