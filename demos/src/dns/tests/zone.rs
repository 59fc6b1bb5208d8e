//! Zone files: the format, and what a zone may not hold.

use std::net::Ipv4Addr;

use super::name;
use crate::dns::{RData, RecordType, Zone};

#[test]
fn a_zone_file_reads_every_type_comments_and_quotes() {
    let text = "\
; a comment line
a.test 3600 SOA ns.a.test. me.a.test 7 1 2 3 4   ; trailing comment
a.test 60 NS ns.a.test

ns.a.test 60 A 10.0.0.1
ns.a.test 60 AAAA fd00::1
w.a.test 60 CNAME ns.a.test
t.a.test 5 TXT \"semi;colon \\\"quoted\\\"\" bare
";
    let zone = Zone::parse(text).unwrap();
    assert_eq!(zone.len(), 6);
    assert_eq!(zone.apex(), &name("a.test"));
    let txt = name("t.a.test");
    let record = zone.at(&txt).next().unwrap();
    assert_eq!(record.ttl, 5);
    assert_eq!(
        record.data,
        RData::Txt(vec![b"semi;colon \"quoted\"".to_vec(), b"bare".to_vec()])
    );
    let ns = name("ns.a.test");
    assert_eq!(zone.at(&ns).count(), 2);
    assert_eq!(zone.negative_soa().ttl, 4);
    assert!(zone.exists(&name("a.test")));
    assert!(!zone.exists(&name("x.a.test")));
}

#[test]
fn a_name_above_records_exists_without_records_of_its_own() {
    let zone =
        Zone::parse("a.test 60 SOA ns.a.test me.a.test 1 1 1 1 1\nx.y.a.test 60 A 10.0.0.1\n")
            .unwrap();
    assert!(zone.exists(&name("y.a.test")));
    assert_eq!(zone.at(&name("y.a.test")).count(), 0);
}

#[test]
fn a_bad_line_is_named_with_its_reason() {
    let soa = "a.test 60 SOA ns.a.test me.a.test 1 1 1 1 1\n";
    let cases = [
        (
            "a.test 60 A 10.0.0.300",
            "line 2: A: \"10.0.0.300\" is not an IPv4 address",
        ),
        (
            "a.test sixty A 10.0.0.1",
            "line 2: TTL \"sixty\" is not a number of seconds",
        ),
        ("a.test 60 MX 10 mail", "line 2: unknown record type \"MX\""),
        ("a.test 60", "line 2: no TYPE (NAME TTL TYPE VALUE)"),
        ("a.test 60 A", "line 2: no value for the A record"),
        (
            "a..test 60 A 10.0.0.1",
            "line 2: name: empty label inside a name",
        ),
        (
            "a.test 60 TXT \"open",
            "line 2: TXT: a string without its closing quote",
        ),
        (
            "a.test 60 SOA x y 1 2",
            "line 2: SOA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM",
        ),
        (
            "b.test 60 A 10.0.0.1",
            "b.test. is not under the zone's apex a.test.",
        ),
        (
            "a.test 60 SOA ns.a.test me.a.test 1 1 1 1 1",
            "the zone has more than one SOA record",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(
            Zone::parse(&format!("{soa}{line}\n")).unwrap_err(),
            expected,
            "{line}"
        );
    }
    assert_eq!(
        Zone::parse("x.test 60 A 10.0.0.1").unwrap_err(),
        "the zone has no SOA record"
    );
    let cname = format!("{soa}w.a.test 60 CNAME a.test\nw.a.test 60 A 10.0.0.1\n");
    assert!(Zone::parse(&cname)
        .unwrap_err()
        .contains("CNAME and other records"));
}

#[test]
fn the_course_zone_without_ipv6_has_no_aaaa() {
    let zone = Zone::course(Ipv4Addr::new(10, 0, 0, 2), None);
    let www = name("www.course.test");
    let types: Vec<RecordType> = zone.at(&www).map(|r| r.rtype()).collect();
    assert_eq!(types, [RecordType::A]);
}
