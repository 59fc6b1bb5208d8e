//! Drawing: the whole picture of a short connection, widths, ASCII, row limits, time columns,
//! and the rows of UDP and ICMP.

use super::*;
use crate::ladder::{Selection, Style, TimeFormat};

/// Handshake, one line echoed, both FINs: the course's client/server flow, as drawn.
fn echo_connection() -> Trace {
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    let psh = Flags::PSH | Flags::ACK;
    t.up(Segment::new(psh, c, s), b"hello\n");
    t.down(Segment::new(psh, s, c + 6), b"hello\n");
    t.up(Segment::new(Flags::FIN | Flags::ACK, c + 6, s + 6), b"");
    t.down(Segment::new(Flags::FIN | Flags::ACK, s + 6, c + 7), b"");
    t.up(Segment::new(Flags::ACK, c + 7, s + 7), b"");
    t
}

#[test]
fn a_connection_from_handshake_to_close() {
    let lines = echo_connection().render(&Options::default());
    let expected = [
        "test.pcapng: pcapng, raw IPv4 (228), 8 packets, 1 stream",
        "",
        "stream 0: TCP 10.77.0.1:49152 → 10.77.0.2:7, 8 packets",
        "",
        "    time  10.77.0.1:49152                         10.77.0.2:7",
        "          client                                       server",
        "          │                                                 │",
        "0.000000  │──── [SYN] seq=0 win=65535 ─────────────────────►│  mss=1460 ws=7 sackOK",
        "0.001000  │◄─── [SYN, ACK] seq=0 ack=1 win=65535 ───────────│  mss=1460 ws=7 sackOK",
        "0.002000  │──── [ACK] seq=1 ack=1 win=8388480 ─────────────►│",
        "0.003000  │──── [PSH, ACK] seq=1 ack=1 len=6 win=8388480 ──►│  \"hello\\n\"",
        "0.004000  │◄─── [PSH, ACK] seq=1 ack=7 len=6 win=8388480 ───│  \"hello\\n\"",
        "0.005000  │──── [FIN, ACK] seq=7 ack=7 win=8388480 ────────►│",
        "0.006000  │◄─── [FIN, ACK] seq=7 ack=8 win=8388480 ─────────│",
        "0.007000  │──── [ACK] seq=8 ack=8 win=8388480 ─────────────►│",
        "          │                                                 │",
        "",
    ];
    assert_eq!(lines[..expected.len()], expected, "{lines:#?}");
    // Then the footnote on relative numbers, and nothing about loss.
    let rest = lines[expected.len()..].join(" ");
    assert!(rest.starts_with("seq and ack are relative"), "{rest}");
    assert!(
        !rest.contains("lost") && !rest.contains("missing"),
        "{rest}"
    );
}

#[test]
fn every_row_has_its_rails_in_the_same_columns() {
    let trace = echo_connection();
    for width in [None, Some(24), Some(30), Some(60), Some(120)] {
        let style = Style {
            width,
            ..Style::default()
        };
        let lines = trace.render(&Options {
            style,
            ..Options::default()
        });
        let rails: Vec<Vec<usize>> = lines
            .iter()
            .filter(|line| line.contains('│'))
            .map(|line| {
                line.chars()
                    .enumerate()
                    .filter(|(_, c)| *c == '│')
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        assert_eq!(rails.len(), 10, "{lines:#?}");
        assert!(
            rails.iter().all(|r| r == &rails[0]),
            "{width:?}: {lines:#?}"
        );
        if let Some(width) = width {
            assert_eq!(rails[0][1] - rails[0][0] + 1, width, "{lines:#?}");
        }
    }
}

#[test]
fn words_that_do_not_fit_move_to_the_notes() {
    let lines = echo_connection().render(&Options {
        style: Style {
            width: Some(30),
            ..Style::default()
        },
        ..Options::default()
    });
    let data = lines
        .iter()
        .find(|line| line.contains("\"hello\\n\"") && line.contains('►'))
        .expect("the data row");
    assert!(
        data.ends_with("│──── [PSH, ACK] seq=1 ─────►│  ack=1 len=6 win=8388480  \"hello\\n\""),
        "{data}"
    );
}

#[test]
fn ascii_draws_the_same_ladder_without_box_drawing() {
    let trace = echo_connection();
    let unicode = trace.render(&Options::default());
    let ascii = trace.render(&Options {
        style: Style {
            ascii: true,
            ..Style::default()
        },
        ..Options::default()
    });
    assert!(ascii.iter().all(|line| line.is_ascii()), "{ascii:#?}");
    assert_eq!(unicode.len(), ascii.len());
    assert!(ascii.contains(
        &"0.000000  |---- [SYN] seq=0 win=65535 --------------------->|  mss=1460 ws=7 sackOK"
            .to_string()
    ));
    assert!(ascii.contains(
        &"0.001000  |<--- [SYN, ACK] seq=0 ack=1 win=65535 -----------|  mss=1460 ws=7 sackOK"
            .to_string()
    ));
}

#[test]
fn max_rows_cuts_the_ladder_and_says_how_many_more() {
    let lines = echo_connection().render(&Options {
        style: Style {
            max_rows: Some(3),
            ..Style::default()
        },
        ..Options::default()
    });
    assert_eq!(arrows(&lines).len(), 3, "{lines:#?}");
    assert!(
        lines.contains(&"          … 5 more rows (--max-rows to show more)".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn time_relative_to_the_file_since_the_row_above_or_of_day() {
    let mut t = Trace::default();
    t.packet(udp_packet(CLIENT, SERVER, b"one"));
    t.after(
        Duration::from_micros(1500),
        udp_packet(SERVER, CLIENT, b"two"),
    );
    t.after(Duration::from_secs(2), udp_packet(CLIENT, SERVER, b"three"));
    let first_column = |time| -> Vec<String> {
        let options = Options {
            style: Style {
                time,
                ..Style::default()
            },
            ..Options::default()
        };
        arrows(&t.render(&options))
            .iter()
            .map(|line| line.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        first_column(TimeFormat::Relative),
        ["0.000000", "0.001500", "2.001500"]
    );
    assert_eq!(
        first_column(TimeFormat::Delta),
        ["+0.000000", "+0.001500", "+2.000000"]
    );
    assert_eq!(
        first_column(TimeFormat::Absolute),
        ["00:00:00.000000", "00:00:00.001500", "00:00:02.001500"]
    );
}

#[test]
fn udp_rows_show_the_length_and_the_data() {
    let mut t = Trace::default();
    t.packet(udp_packet(CLIENT, SERVER, b"Hello over UDP!"));
    t.packet(udp_packet(SERVER, CLIENT, b"Got your datagram!"));
    let rows: Vec<String> = t.arrows().iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows,
        [
            "│─ UDP len=15 ─►│  \"Hello over UDP!\"",
            "│◄─ UDP len=18 ─│  \"Got your datagram!\"",
        ]
    );
}

#[test]
fn long_data_is_cut_and_unprintable_bytes_are_dots() {
    let mut t = Trace::default();
    let mut data = b"GET / HTTP/1.1\r\nHost: 10.77.0.2\r\n\r\n".to_vec();
    data.push(0xff);
    t.packet(udp_packet(CLIENT, SERVER, &data));
    t.packet(udp_packet(SERVER, CLIENT, &[0, 1, b'"', 0x7f]));
    let rows = t.arrows();
    assert!(
        rows[0].ends_with("  \"GET / HTTP/1.1\\r\\nHost: 10\"..."),
        "{rows:?}"
    );
    assert!(rows[1].ends_with("  \"..\\\".\""), "{rows:?}");
}

#[test]
fn a_port_unreachable_joins_the_stream_of_the_datagram_it_is_about() {
    let mut t = Trace::default();
    let closed = SocketAddrV4::new(*SERVER.ip(), 9999);
    t.packet(udp_packet(CLIENT, SERVER, b"hi"));
    let datagram = udp_packet(CLIENT, closed, b"anyone?");
    t.packet(datagram.clone());
    let unreachable = icmp::Repr::DstUnreachable {
        reason: tunstack::ip::icmp::DstUnreachable::PortUnreachable,
        invoking: &datagram,
    };
    t.packet(icmp_packet(*SERVER.ip(), *CLIENT.ip(), &unreachable));
    let lines = t.render(&Options {
        selection: Selection::Index(1),
        ..Options::default()
    });
    assert!(lines.contains(&"stream 1: UDP 10.77.0.1:49152 → 10.77.0.2:9999, 2 packets".into()));
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows,
        [
            "│─ UDP len=7 ─►│  \"anyone?\"",
            "│◄─ ICMP port unreachable ─│  about the UDP packet to 10.77.0.2:9999",
        ]
    );
    // The other stream is listed, not drawn.
    assert!(lines.contains(&"    0  UDP 10.77.0.1:49152 → 10.77.0.2:7, 1 packet".into()));
}

#[test]
fn ping_rows_and_a_router_that_answers_for_the_far_end() {
    let mut t = Trace::default();
    let (me, far, router) = (
        *CLIENT.ip(),
        Ipv4Addr::new(10, 77, 0, 2),
        Ipv4Addr::new(10, 77, 0, 254),
    );
    let request = icmp::Repr::EchoRequest {
        ident: 0x7475,
        seq_no: 1,
        data: &[0; 56],
    };
    let reply = icmp::Repr::EchoReply {
        ident: 0x7475,
        seq_no: 1,
        data: &[0; 56],
    };
    t.packet(icmp_packet(me, far, &request));
    t.packet(icmp_packet(far, me, &reply));
    let lost_ping = icmp_packet(me, far, &request);
    t.packet(lost_ping.clone());
    let expired = icmp::Repr::TimeExceeded {
        reason: tunstack::ip::icmp::TimeExceeded::TtlExpired,
        invoking: &lost_ping[..28],
    };
    t.packet(icmp_packet(router, me, &expired));
    let rows: Vec<String> = t.arrows().iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows,
        [
            "│─ ICMP echo request seq=1 len=56 ─►│  id=0x7475",
            "│◄─ ICMP echo reply seq=1 len=56 ─│  id=0x7475",
            "│─ ICMP echo request seq=1 len=56 ─►│  id=0x7475",
            "│◄─ ICMP time exceeded (ttl expired in transit) ─│  \
             about the ICMP packet to 10.77.0.2  from 10.77.0.254",
        ]
    );
}

#[test]
fn packets_in_no_stream_are_listed_with_why() {
    let mut t = Trace::default();
    t.packet(udp_packet(CLIENT, SERVER, b"x"));
    let mut ipv6 = vec![0x60; 40];
    ipv6[1..].fill(0);
    t.packet(ipv6.clone());
    t.packet(vec![0x45, 0, 0]);
    t.packet(ipv4_packet(
        *CLIENT.ip(),
        *SERVER.ip(),
        IpProtocol::Unknown(47),
        &[0; 8],
    ));
    t.packet(ipv6);
    let lines = t.render(&Options::default());
    let at = lines
        .iter()
        .position(|line| line == "not in any ladder:")
        .expect("the list");
    assert_eq!(
        lines[at + 1..at + 4],
        [
            "  IPv6 (not shown: the ladder reads IPv4): frames 2, 5",
            "  IPv4: buffer shorter than the header says: frame 3",
            "  IPv4 carrying proto-47: frame 4",
        ]
    );
}

#[test]
fn a_capture_with_nothing_to_draw_says_so() {
    let mut t = Trace::default();
    t.packet(vec![0x60; 40]);
    let lines = t.render(&Options::default());
    assert!(lines.contains(&"no TCP, UDP or ICMP over IPv4 in this capture".into()));
    let err = render(
        "x",
        &t.capture(),
        &Options {
            selection: Selection::Index(0),
            ..Options::default()
        },
    );
    assert_eq!(err, Err("this capture has no streams".to_string()));
}

#[test]
fn asking_for_a_stream_that_is_not_there_is_an_error() {
    let trace = echo_connection();
    let err = render(
        "x",
        &trace.capture(),
        &Options {
            selection: Selection::Index(3),
            ..Options::default()
        },
    );
    assert_eq!(
        err,
        Err("there is no stream 3: this capture has streams 0 to 0".to_string())
    );
}

#[test]
fn the_default_draws_the_first_tcp_stream_and_all_draws_every_one() {
    let mut t = Trace::default();
    t.packet(udp_packet(CLIENT, SERVER, b"dns?"));
    handshake(&mut t, 1, 2);
    let first = t.render(&Options::default());
    assert!(
        first.iter().any(|l| l.starts_with("stream 1: TCP")),
        "{first:#?}"
    );
    assert!(!first.iter().any(|l| l.starts_with("stream 0: UDP")));
    assert!(first.iter().any(|l| l.starts_with("    0  UDP")));
    let all = t.render(&Options {
        selection: Selection::All,
        ..Options::default()
    });
    let titles: Vec<&String> = all.iter().filter(|l| l.starts_with("stream ")).collect();
    assert_eq!(titles.len(), 2, "{all:#?}");
    assert!(!all.iter().any(|l| l.starts_with("other streams")));
}
