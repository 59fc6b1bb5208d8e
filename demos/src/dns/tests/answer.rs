//! The server's answers, from query bytes to response bytes, without a network.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::name;
use crate::dns::answer::{answer, Transport, MAX_UDP};
use crate::dns::{Edns, Message, RData, Rcode, RecordType, Zone};

const ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const ADDR6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);

fn zone() -> Zone {
    Zone::course(ADDR, Some(ADDR6))
}

/// Asks `zone()` for `qname qtype` over `transport`, with EDNS offering `edns` bytes if given;
/// returns the response as read back from its bytes.
fn ask(qname: &str, qtype: RecordType, transport: Transport, edns: Option<u16>) -> Message {
    let mut query = Message::query(0xbeef, name(qname), qtype);
    query.edns = edns.map(|size| Edns {
        udp_payload_size: size,
        extended_rcode: 0,
        version: 0,
        dnssec_ok: false,
        options: Vec::new(),
    });
    let answered = answer(&zone(), &query.encode(), transport).unwrap();
    let response = Message::parse(&answered.bytes).unwrap();
    assert_eq!(response.header.id, 0xbeef);
    assert!(response.header.response);
    assert!(response.header.recursion_desired, "RD is copied");
    assert!(!response.header.recursion_available);
    assert_eq!(response.questions, query.questions);
    assert_eq!(answered.truncated, response.header.truncated);
    assert_eq!(answered.answers, response.answers.len());
    assert_eq!(
        response.edns.is_some(),
        edns.is_some(),
        "an OPT record answers an OPT record"
    );
    response
}

#[test]
fn www_has_our_addresses_for_a_minute_with_aa_set() {
    let response = ask("www.course.test", RecordType::A, Transport::Udp, None);
    assert_eq!(response.header.rcode, Rcode::NoError);
    assert!(response.header.authoritative);
    assert_eq!(response.answers.len(), 1);
    assert_eq!(response.answers[0].data, RData::A(ADDR));
    assert_eq!(response.answers[0].ttl, 60);
    let response = ask("WWW.Course.Test.", RecordType::Aaaa, Transport::Tcp, None);
    assert_eq!(response.answers[0].data, RData::Aaaa(ADDR6));
    assert_eq!(response.answers[0].name.to_string(), "www.course.test.");
}

#[test]
fn a_cname_is_followed_inside_the_zone() {
    let response = ask("web.course.test", RecordType::A, Transport::Udp, None);
    let data: Vec<_> = response.answers.iter().map(|r| r.data.clone()).collect();
    assert_eq!(
        data,
        [RData::Cname(name("www.course.test")), RData::A(ADDR)]
    );
    // Asked for the CNAME itself, only the CNAME comes.
    let response = ask("web.course.test", RecordType::Cname, Transport::Udp, None);
    assert_eq!(response.answers.len(), 1);
}

#[test]
fn a_name_that_does_not_exist_is_nxdomain_with_the_soa() {
    let response = ask("nope.course.test", RecordType::A, Transport::Udp, None);
    assert_eq!(response.header.rcode, Rcode::NxDomain);
    assert!(response.header.authoritative);
    assert!(response.answers.is_empty());
    assert_eq!(response.authorities.len(), 1);
    let RData::Soa(soa) = &response.authorities[0].data else {
        panic!("{response:?}");
    };
    // RFC 2308 3: the SOA's TTL is the smaller of its TTL and MINIMUM.
    assert_eq!(response.authorities[0].ttl, soa.minimum.min(3600));
    assert_eq!(response.authorities[0].name, name("course.test"));
}

#[test]
fn a_name_without_the_type_asked_for_is_nodata() {
    let response = ask("web.course.test", RecordType::Txt, Transport::Udp, None);
    // web is a CNAME to www, which has no TXT: the CNAME, then nothing, NOERROR.
    assert_eq!(response.header.rcode, Rcode::NoError);
    assert_eq!(response.answers.len(), 1);
    assert_eq!(response.authorities[0].rtype(), RecordType::Soa);
    let response = ask("www.course.test", RecordType::Txt, Transport::Udp, None);
    assert_eq!(response.header.rcode, Rcode::NoError);
    assert!(response.answers.is_empty());
    assert_eq!(response.authorities.len(), 1);
}

#[test]
fn the_apex_has_its_soa_ns_and_txt() {
    for rtype in [RecordType::Soa, RecordType::Ns, RecordType::Txt] {
        let response = ask("course.test", rtype, Transport::Udp, None);
        assert_eq!(response.answers.len(), 1, "{rtype}");
        assert_eq!(response.answers[0].rtype(), rtype);
    }
}

#[test]
fn a_name_outside_the_zone_is_refused() {
    for outside in ["example.com", "test", "xcourse.test", "."] {
        let response = ask(outside, RecordType::A, Transport::Udp, None);
        assert_eq!(response.header.rcode, Rcode::Refused, "{outside}");
        assert!(!response.header.authoritative);
        assert!(response.answers.is_empty() && response.authorities.is_empty());
    }
}

#[test]
fn a_big_answer_is_cut_to_512_bytes_over_udp_without_edns() {
    let response = ask("big.course.test", RecordType::Txt, Transport::Udp, None);
    assert!(response.header.truncated);
    assert!(response.answers.is_empty(), "one RRset: all or nothing");
    let answered = answer(
        &zone(),
        &Message::query(1, name("big.course.test"), RecordType::Txt).encode(),
        Transport::Udp,
    )
    .unwrap();
    assert!(answered.bytes.len() <= 512);
    assert!(
        answered.summary().ends_with("0 answers, truncated (TC)"),
        "{}",
        answered.summary()
    );
    assert_eq!(answered.message.answers.len(), 10);
}

#[test]
fn edns_lets_the_big_answer_through_up_to_what_it_offers_and_tcp_always() {
    let response = ask(
        "big.course.test",
        RecordType::Txt,
        Transport::Udp,
        Some(4096),
    );
    assert!(!response.header.truncated);
    assert_eq!(response.answers.len(), 10);
    assert_eq!(response.edns.unwrap().udp_payload_size, MAX_UDP);
    let response = ask(
        "big.course.test",
        RecordType::Txt,
        Transport::Udp,
        Some(600),
    );
    assert!(response.header.truncated);
    let response = ask("big.course.test", RecordType::Txt, Transport::Tcp, None);
    assert!(!response.header.truncated);
    assert_eq!(response.answers.len(), 10);
}

#[test]
fn an_edns_size_under_512_counts_as_512() {
    let response = ask("www.course.test", RecordType::A, Transport::Udp, Some(100));
    assert!(!response.header.truncated);
    assert_eq!(response.answers.len(), 1);
}

#[test]
fn other_opcodes_are_notimp_and_edns_versions_over_0_badvers() {
    let mut query = Message::query(5, name("www.course.test"), RecordType::A);
    query.header.opcode = 2;
    let response = Message::parse(
        &answer(&zone(), &query.encode(), Transport::Udp)
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(response.header.rcode, Rcode::NotImp);
    assert_eq!(response.header.opcode, 2);
    query.header.opcode = 0;
    query.edns = Some(Edns {
        udp_payload_size: 1232,
        extended_rcode: 0,
        version: 1,
        dnssec_ok: false,
        options: Vec::new(),
    });
    let response = Message::parse(
        &answer(&zone(), &query.encode(), Transport::Udp)
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(response.edns.unwrap().extended_rcode, 1, "BADVERS (16)");
    assert!(response.answers.is_empty());
}

#[test]
fn garbage_after_a_header_is_formerr_and_no_header_no_answer() {
    let mut bytes = Message::query(77, name("www.course.test"), RecordType::A).encode();
    bytes.truncate(20);
    let answered = answer(&zone(), &bytes, Transport::Udp).unwrap();
    let response = Message::parse(&answered.bytes).unwrap();
    assert_eq!(response.header.id, 77);
    assert_eq!(response.header.rcode, Rcode::FormErr);
    assert!(response.questions.is_empty());
    assert_eq!(answered.summary(), "(no question) FORMERR 0 answers");
    assert_eq!(answer(&zone(), &bytes[..11], Transport::Udp), None);
    // No question, or two: FORMERR too.
    let mut query = Message::query(1, name("www.course.test"), RecordType::A);
    query.questions.push(query.questions[0].clone());
    let response = Message::parse(
        &answer(&zone(), &query.encode(), Transport::Tcp)
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(response.header.rcode, Rcode::FormErr);
}

#[test]
fn a_response_is_not_answered() {
    let mut query = Message::query(1, name("www.course.test"), RecordType::A);
    query.header.response = true;
    assert_eq!(answer(&zone(), &query.encode(), Transport::Udp), None);
}

#[test]
fn a_class_other_than_in_is_refused() {
    let mut query = Message::query(1, name("www.course.test"), RecordType::Txt);
    query.questions[0].qclass = 3;
    let response = Message::parse(
        &answer(&zone(), &query.encode(), Transport::Udp)
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(response.header.rcode, Rcode::Refused);
}

#[test]
fn the_summary_says_name_type_rcode_and_count() {
    let query = Message::query(1, name("www.course.test"), RecordType::A);
    let answered = answer(&zone(), &query.encode(), Transport::Udp).unwrap();
    assert_eq!(answered.summary(), "www.course.test. A NOERROR 1 answer");
    assert_eq!(Transport::Tcp.to_string(), "TCP");
}
