//! Byte layouts: the header's flags, a query, compression pointers, each record type, EDNS.

use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{name, record, round_trip, QUERY};
use crate::dns::{Edns, Header, Message, RData, Rcode, RecordType, Soa};

#[test]
fn a_query_is_laid_out_as_rfc_1035_draws_it() {
    let query = Message::query(0x1234, name("www.course.test"), RecordType::A);
    assert_eq!(query.encode(), QUERY);
    assert_eq!(Message::parse(QUERY).unwrap(), query);
}

#[test]
fn every_header_flag_has_its_own_bit() {
    let mut header = Header::query(0);
    header.recursion_desired = false;
    let flags = |change: &dyn Fn(&mut Header)| {
        let mut h = header;
        change(&mut h);
        h.flags()
    };
    assert_eq!(flags(&|_| {}), 0);
    assert_eq!(flags(&|h| h.response = true), 0x8000);
    assert_eq!(flags(&|h| h.opcode = 0x0f), 0x7800);
    assert_eq!(flags(&|h| h.authoritative = true), 0x0400);
    assert_eq!(flags(&|h| h.truncated = true), 0x0200);
    assert_eq!(flags(&|h| h.recursion_desired = true), 0x0100);
    assert_eq!(flags(&|h| h.recursion_available = true), 0x0080);
    assert_eq!(flags(&|h| h.z = 0x07), 0x0070);
    assert_eq!(flags(&|h| h.rcode = Rcode::Other(15)), 0x000f);
    assert_eq!(flags(&|h| h.rcode = Rcode::NxDomain), 0x0003);
    let mut bytes = Vec::new();
    let mut all = header;
    all.response = true;
    all.opcode = 2;
    all.z = 5;
    all.rcode = Rcode::Refused;
    all.emit(Default::default(), &mut bytes);
    assert_eq!(Header::parse(&bytes).unwrap().0, all);
}

#[test]
fn a_later_name_points_back_at_the_suffix_written_before() {
    let mut message = Message::query(1, name("www.course.test"), RecordType::Cname);
    message.header.response = true;
    message.answers = vec![
        record("www.course.test", 60, RData::Cname(name("web.course.test"))),
        record("web.course.test", 60, RData::A(Ipv4Addr::new(10, 77, 0, 2))),
    ];
    let bytes = round_trip(&message);
    let after_question = QUERY.len();
    // The answer's owner is the question's name: a pointer to offset 12.
    assert_eq!(&bytes[after_question..after_question + 2], &[0xc0, 12]);
    // The CNAME's data: "web", then a pointer to "course.test" at offset 16.
    let data = after_question + 12;
    assert_eq!(&bytes[data..data + 6], &[3, b'w', b'e', b'b', 0xc0, 16]);
    // The second owner is the whole CNAME target: a pointer to where "web" was written.
    assert_eq!(&bytes[data + 6..data + 8], &[0xc0, data as u8]);
    assert_eq!(bytes.len(), after_question + 12 + 6 + 2 + 10 + 4);
}

#[test]
fn compression_keeps_the_case_it_was_given() {
    let mut message = Message::query(1, name("WWW.Course.Test"), RecordType::A);
    message.answers = vec![record("www.course.test", 1, RData::A(Ipv4Addr::LOCALHOST))];
    let bytes = round_trip(&message);
    let parsed = Message::parse(&bytes).unwrap();
    assert_eq!(parsed.questions[0].name.to_string(), "WWW.Course.Test.");
    assert_eq!(parsed.answers[0].name.to_string(), "www.course.test.");
}

#[test]
fn every_record_type_round_trips_and_unknown_ones_keep_their_bytes() {
    let mut message = Message::query(7, name("course.test"), RecordType::Soa);
    message.header.response = true;
    message.header.authoritative = true;
    let soa = Soa {
        mname: name("ns.course.test"),
        rname: name("hostmaster.course.test"),
        serial: 2026120601,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 30,
    };
    message.answers = vec![
        record("course.test", 300, RData::Soa(soa)),
        record("course.test", 300, RData::Ns(name("ns.course.test"))),
        record(
            "www.course.test",
            60,
            RData::Aaaa(Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2)),
        ),
        record(
            "txt.course.test",
            60,
            RData::Txt(vec![b"hello".to_vec(), Vec::new(), vec![0xff; 255]]),
        ),
    ];
    message.additionals = vec![record(
        "x.course.test",
        5,
        RData::Other {
            rtype: 65280,
            data: vec![1, 2, 3],
        },
    )];
    round_trip(&message);
    assert_eq!(message.additionals[0].rtype(), RecordType::Other(65280));
}

#[test]
fn edns_is_the_last_additional_record_and_comes_back_as_edns() {
    let mut message = Message::query(9, name("www.course.test"), RecordType::A);
    message.edns = Some(Edns {
        udp_payload_size: 1232,
        extended_rcode: 1,
        version: 0,
        dnssec_ok: true,
        options: vec![0, 10, 0, 2, 0xab, 0xcd],
    });
    let bytes = round_trip(&message);
    assert_eq!(&bytes[10..12], &[0, 1], "ARCOUNT counts the OPT record");
    let opt = &bytes[QUERY.len()..];
    assert_eq!(
        opt,
        &[0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 6, 0, 10, 0, 2, 0xab, 0xcd]
    );
}

#[test]
fn record_types_and_rcodes_read_and_write_their_names() {
    for (text, rtype) in [
        ("A", RecordType::A),
        ("aaaa", RecordType::Aaaa),
        ("TYPE65", RecordType::Other(65)),
        ("type1", RecordType::A),
    ] {
        assert_eq!(text.parse::<RecordType>().unwrap(), rtype);
    }
    assert_eq!(RecordType::Other(65).to_string(), "TYPE65");
    assert_eq!(RecordType::from(28), RecordType::Aaaa);
    assert_eq!(u16::from(RecordType::Cname), 5);
    assert!("MX".parse::<RecordType>().is_err());
    assert_eq!(Rcode::NxDomain.to_string(), "NXDOMAIN");
    assert_eq!(Rcode::from(4), Rcode::NotImp);
    assert_eq!(u8::from(Rcode::Other(9)), 9);
}

#[test]
fn names_read_and_write_their_text_form_and_compare_without_case() {
    assert_eq!(name("www.course.test").to_string(), "www.course.test.");
    assert_eq!(name("www.course.test."), name("WWW.COURSE.TEST"));
    assert_eq!(name(".").to_string(), ".");
    assert!(name(".").is_root());
    let odd = crate::dns::Name::from_labels([&b"a.b"[..], b"\\ \x01"]).unwrap();
    assert_eq!(odd.to_string(), "a\\.b.\\\\\\032\\001.");
    assert_eq!(name(&odd.to_string()), odd);
    assert!(name("www.course.test").is_subdomain_of(&name("Course.Test")));
    assert!(name("course.test").is_subdomain_of(&name("course.test")));
    assert!(!name("course.test").is_subdomain_of(&name("www.course.test")));
    assert!(!name("xcourse.test").is_subdomain_of(&name("course.test")));
    assert!(name("a.b").is_subdomain_of(&crate::dns::Name::root()));
    let two = name("a.bc");
    let labels: Vec<&[u8]> = two.labels().collect();
    assert_eq!(labels, [&b"a"[..], b"bc"]);
    // Equal names hash alike, whatever their case.
    let state = std::hash::RandomState::new();
    assert_eq!(state.hash_one(name("A.b")), state.hash_one(name("a.B")));
}

/// A response to `big.course.test TXT` with `n` TXT records of 100 bytes each, then an
/// authority NS and an additional A.
fn big_answer(n: usize) -> Message {
    let mut message = Message::query(3, name("big.course.test"), RecordType::Txt);
    message.header.response = true;
    message.answers = (0..n)
        .map(|i| {
            record(
                "big.course.test",
                60,
                RData::Txt(vec![vec![b'a' + i as u8; 100]]),
            )
        })
        .collect();
    message.authorities = vec![record("course.test", 60, RData::Ns(name("ns.course.test")))];
    message.additionals = vec![record(
        "ns.course.test",
        60,
        RData::A(Ipv4Addr::new(10, 77, 0, 2)),
    )];
    message
}

#[test]
fn what_fits_is_sent_whole_and_tc_stays_clear() {
    let message = big_answer(2);
    let full = message.encode();
    assert!(full.len() < 512);
    assert_eq!(message.encode_within(512), full);
    assert_eq!(message.encode_within(full.len()), full);
}

#[test]
fn records_that_do_not_fit_are_left_out_from_the_end_and_tc_is_set() {
    // Two TXT records and the NS fit 512 bytes, not the additional A.
    let mut message = big_answer(2);
    message.answers.push(record(
        "txt.course.test",
        60,
        RData::Txt(vec![vec![b'z'; 250]]),
    ));
    let full = message.encode();
    assert!(full.len() > 512);
    let cut = message.encode_within(512);
    assert!(cut.len() <= 512);
    let parsed = Message::parse(&cut).unwrap();
    assert!(parsed.header.truncated);
    assert_eq!(parsed.answers, message.answers[..2]);
    assert!(parsed.authorities.is_empty() && parsed.additionals.is_empty());
    // One byte short of everything: only the additional A goes.
    let parsed = Message::parse(&message.encode_within(full.len() - 1)).unwrap();
    assert!(parsed.header.truncated);
    assert_eq!(parsed.answers, message.answers);
    assert_eq!(parsed.authorities, message.authorities);
    assert!(parsed.additionals.is_empty());
}

#[test]
fn an_rrset_is_left_out_whole_and_edns_stays() {
    // Six 100-byte TXT records of one RRset are over 512 bytes: none of them is sent.
    let mut message = big_answer(6);
    message.edns = Some(Edns {
        udp_payload_size: 512,
        extended_rcode: 0,
        version: 0,
        dnssec_ok: false,
        options: Vec::new(),
    });
    let cut = message.encode_within(512);
    let parsed = Message::parse(&cut).unwrap();
    assert!(parsed.header.truncated);
    assert!(parsed.answers.is_empty(), "{parsed:?}");
    assert_eq!(parsed.edns, message.edns);
    assert_eq!(parsed.questions, message.questions);
    // With room for them all, all come.
    let parsed = Message::parse(&message.encode_within(4096)).unwrap();
    assert!(!parsed.header.truncated);
    assert_eq!(parsed.answers.len(), 6);
}

#[test]
fn records_print_as_dig_writes_them() {
    let www = record("www.course.test", 60, RData::A(Ipv4Addr::new(10, 77, 0, 2)));
    assert_eq!(www.to_string(), "www.course.test. 60 IN A 10.77.0.2");
    let web = record("web.course.test", 60, RData::Cname(name("www.course.test")));
    assert_eq!(
        web.to_string(),
        "web.course.test. 60 IN CNAME www.course.test."
    );
    let txt = RData::Txt(vec![b"hello".to_vec(), b"a \"b\"".to_vec()]);
    assert_eq!(txt.to_string(), r#""hello" "a \"b\"""#);
    let other = RData::Other {
        rtype: 65,
        data: vec![0; 12],
    };
    assert_eq!(other.to_string(), "TYPE65, 12 bytes");
}
