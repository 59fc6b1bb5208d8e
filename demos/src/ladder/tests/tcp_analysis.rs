//! TCP's reading: relative numbers (across a wrap of 2^32), who is the client, retransmissions,
//! lost and missing segments, duplicate ACKs, resets.

use super::*;

/// `[PSH, ACK]`: a segment carrying data.
const PSH: Flags = Flags::from_bits_truncate(Flags::PSH.bits() | Flags::ACK.bits());

/// The squeezed rows of the default drawing.
fn rows(trace: &Trace) -> Vec<String> {
    trace.arrows().iter().map(|line| squeeze(line)).collect()
}

#[test]
fn relative_numbers_keep_counting_across_a_wrap_of_2_to_the_32() {
    let mut t = Trace::default();
    // The client's ISN is 256 below the wrap: its 600 bytes take sequence numbers across it.
    let (c, s) = handshake(&mut t, 0xffff_ff00, 7);
    t.up(Segment::new(PSH, c, s), &[b'a'; 300]);
    t.up(Segment::new(PSH, c.wrapping_add(300), s), &[b'b'; 300]);
    t.down(Segment::new(Flags::ACK, s, c.wrapping_add(600)), b"");
    t.up(
        Segment::new(Flags::FIN | Flags::ACK, c.wrapping_add(600), s),
        b"",
    );
    assert_eq!(c.wrapping_add(600), 0x0000_0159, "the raw numbers did wrap");
    let rows = rows(&t);
    assert_eq!(
        rows[3..],
        [
            "│─ [PSH, ACK] seq=1 ack=1 len=300 win=8388480 ─►│  \"aaaaaaaaaaaaaaaaaaaaaaaa\"...",
            "│─ [PSH, ACK] seq=301 ack=1 len=300 win=8388480 ─►│  \"bbbbbbbbbbbbbbbbbbbbbbbb\"...",
            "│◄─ [ACK] seq=1 ack=601 win=8388480 ─│",
            "│─ [FIN, ACK] seq=601 ack=1 win=8388480 ─►│",
        ]
    );
}

#[test]
fn a_retransmission_marks_the_copy_that_was_lost_and_shows_the_comment() {
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    t.up(Segment::new(PSH, c, s), &[b'x'; 1460]).direction = Some(Direction::Outbound);
    t.after(
        Duration::from_millis(200),
        tcp_packet(CLIENT, SERVER, Segment::new(PSH, c, s), &[b'x'; 1460]),
    )
    .comment = Some("retransmission #1 after RTO 200 ms".to_string());
    t.down(Segment::new(Flags::ACK, s, c + 1460), b"");
    let lines = t.render(&Options::default());
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows[3..],
        [
            "│─ [PSH, ACK] seq=1 ack=1 len=1460 win=8388480 ─✗ │  \
             lost: never acknowledged, sent again in frame 5  \"xxxxxxxxxxxxxxxxxxxxxxxx\"...",
            "│─ [PSH, ACK] seq=1 ack=1 len=1460 win=8388480 ─►│  retransmission of frame 4  \
             \"xxxxxxxxxxxxxxxxxxxxxxxx\"...  # retransmission #1 after RTO 200 ms",
            "│◄─ [ACK] seq=1 ack=1461 win=8388480 ─│",
        ]
    );
    // The lost arrow stops one column short of the rail; the legend explains the mark.
    let lost = arrows(&lines)[3].clone();
    assert!(lost.contains("─✗ │"), "{lost}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("✗ lost: the capture saw the segment leave")));
}

#[test]
fn a_copy_the_capture_saw_arrive_was_not_lost() {
    // Captured on the receiver: the first copy came in, so its ACK must have been lost.
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    t.up(Segment::new(PSH, c, s), b"ping").direction = Some(Direction::Inbound);
    t.up(Segment::new(PSH, c, s), b"ping").direction = Some(Direction::Inbound);
    let rows = rows(&t);
    assert!(
        !rows[3].contains('✗') && !rows[3].contains("lost"),
        "{rows:?}"
    );
    assert!(rows[4].contains("retransmission of frame 4"), "{rows:?}");
}

#[test]
fn a_copy_already_acknowledged_was_not_lost_either() {
    // A spurious retransmission: the ACK was on its way when the timer fired.
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    t.up(Segment::new(PSH, c, s), b"ping");
    t.down(Segment::new(Flags::ACK, s, c + 4), b"");
    t.up(Segment::new(PSH, c, s), b"ping");
    let rows = rows(&t);
    assert!(!rows[3].contains('✗'), "{rows:?}");
    assert!(rows[5].contains("retransmission of frame 4"), "{rows:?}");
}

#[test]
fn a_gap_gets_a_dashed_row_and_the_receiver_repeats_its_ack() {
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    let mss = 1460;
    t.up(Segment::new(Flags::ACK, c, s), &[1; 1460]);
    t.down(Segment::new(Flags::ACK, s, c + mss), b"");
    // c + 1460 .. c + 2920 never shows up.
    t.up(Segment::new(Flags::ACK, c + 2 * mss, s), &[3; 1460]);
    t.down(Segment::new(Flags::ACK, s, c + mss), b"");
    t.up(Segment::new(Flags::ACK, c + 3 * mss, s), &[4; 1460]);
    t.down(Segment::new(Flags::ACK, s, c + mss), b"");
    t.up(Segment::new(Flags::ACK, c + mss, s), &[2; 1460]);
    t.down(Segment::new(Flags::ACK, s, c + 4 * mss), b"");
    let lines = t.render(&Options::default());
    let rows: Vec<String> = arrows(&lines)
        .iter()
        .map(|l| squeeze(l).replace("  \"\\x01", ""))
        .collect();
    let data = |seq, byte: &str| {
        format!(
            "│─ [ACK] seq={seq} ack=1 len=1460 win=8388480 ─►│  \"{}\"...",
            byte.repeat(24)
        )
    };
    assert_eq!(
        rows[3..],
        [
            data(1, "."),
            "│◄─ [ACK] seq=1 ack=1461 win=8388480 ─│".to_string(),
            "│╌ seq=1461 len=1460 ╌✗ │  not captured: lost before the capture point".to_string(),
            data(2921, "."),
            "│◄─ [ACK] seq=1 ack=1461 win=8388480 ─│  dup ack #1".to_string(),
            data(4381, "."),
            "│◄─ [ACK] seq=1 ack=1461 win=8388480 ─│  dup ack #2".to_string(),
            format!(
                "│─ [ACK] seq=1461 ack=1 len=1460 win=8388480 ─►│  retransmission  \"{}\"...",
                ".".repeat(24)
            ),
            "│◄─ [ACK] seq=1 ack=5841 win=8388480 ─│".to_string(),
        ]
    );
    // The missing row has no time.
    let missing = arrows(&lines)[5].clone();
    assert!(missing.starts_with("          │╌╌╌╌ seq=1461"), "{missing}");
    assert!(lines.iter().any(|l| l.starts_with("╌╌╌╌✗ missing:")));
}

#[test]
fn a_lost_syn_is_sent_again() {
    let mut t = Trace::default();
    let mut syn = Segment::new(Flags::SYN, 1000, 0);
    syn.mss = Some(1460);
    t.up(syn, b"");
    t.after(Duration::from_secs(1), tcp_packet(CLIENT, SERVER, syn, b""));
    t.down(Segment::new(Flags::SYN | Flags::ACK, 5000, 1001), b"");
    let rows = rows(&t);
    assert_eq!(
        rows,
        [
            "│─ [SYN] seq=0 win=65535 ─✗ │  lost: never acknowledged, sent again in frame 2  \
             mss=1460 sackOK",
            "│─ [SYN] seq=0 win=65535 ─►│  retransmission of frame 1  mss=1460 sackOK",
            "│◄─ [SYN, ACK] seq=0 ack=1 win=65535 ─│",
        ]
    );
}

#[test]
fn a_refused_connection_ends_in_a_reset() {
    let mut t = Trace::default();
    t.up(Segment::new(Flags::SYN, 1000, 0), b"");
    let mut rst = Segment::new(Flags::RST | Flags::ACK, 0, 1001);
    rst.window = 0;
    t.down(rst, b"");
    assert_eq!(
        rows(&t),
        [
            "│─ [SYN] seq=0 win=65535 ─►│",
            "│◄─ [RST, ACK] seq=1 ack=1 win=0 ─│  reset: the connection is over",
        ]
    );
}

#[test]
fn the_client_is_who_sent_the_syn_even_when_the_capture_starts_later() {
    // The capture starts at the SYN-ACK: the server's packet is first, but the client is the
    // side it answers.
    let mut t = Trace::default();
    t.down(Segment::new(Flags::SYN | Flags::ACK, 5000, 1001), b"");
    t.up(Segment::new(Flags::ACK, 1001, 5001), b"");
    let lines = t.render(&Options::default());
    assert!(lines.contains(&"stream 0: TCP 10.77.0.1:49152 → 10.77.0.2:7, 2 packets".into()));
    assert_eq!(
        rows(&t),
        [
            "│◄─ [SYN, ACK] seq=0 ack=1 win=65535 ─│",
            "│─ [ACK] seq=1 ack=1 win=65535 ─►│",
        ]
    );
}

#[test]
fn a_capture_that_starts_mid_stream_counts_from_the_first_segment_seen() {
    let mut t = Trace::default();
    t.down(Segment::new(PSH, 9_000_000, 123_456), b"late");
    t.up(Segment::new(Flags::ACK, 123_456, 9_000_004), b"");
    let lines = t.render(&Options::default());
    // No SYN: the first sender is the client, and each side starts at 1.
    assert!(lines.contains(&"stream 0: TCP 10.77.0.2:7 → 10.77.0.1:49152, 2 packets".into()));
    assert_eq!(
        rows(&t),
        [
            "│─ [PSH, ACK] seq=1 ack=1 len=4 win=65535 ─►│  \"late\"",
            "│◄─ [ACK] seq=1 ack=5 win=65535 ─│",
        ]
    );
}

#[test]
fn keep_alives_zero_windows_and_sack_blocks_are_noted() {
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    t.up(Segment::new(PSH, c, s), b"abc");
    t.down(Segment::new(Flags::ACK, s, c + 3), b"");
    // A keep-alive: one byte below the next sequence number.
    t.up(Segment::new(Flags::ACK, c + 2, s), b"c");
    let mut full = Segment::new(Flags::ACK, s, c + 3);
    full.window = 0;
    full.sack = Some((c + 2, c + 3));
    t.down(full, b"");
    let rows = rows(&t);
    assert!(rows[5].ends_with("│  keep-alive  \"c\""), "{rows:?}");
    assert!(
        rows[6].ends_with("[ACK] seq=1 ack=4 win=0 ─│  zero window: stop sending  sack=3-4"),
        "{rows:?}"
    );
}

#[test]
fn a_bad_checksum_is_noted_unless_most_packets_have_one() {
    let corrupt = |mut packet: Vec<u8>| {
        // The TCP checksum, 16 bytes into the segment.
        packet[20 + 16] ^= 0xff;
        packet
    };
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    t.packet(corrupt(tcp_packet(
        CLIENT,
        SERVER,
        Segment::new(PSH, c, s),
        b"hi",
    )));
    let lines = t.render(&Options::default());
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert!(rows[3].ends_with("►│  bad checksum  \"hi\""), "{rows:?}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("1 packet had a wrong checksum")));

    // Loopback: every packet has one. The rows say nothing, the footnote says why.
    let mut t = Trace::default();
    for (i, seg) in [Flags::SYN, Flags::ACK].into_iter().enumerate() {
        t.packet(corrupt(tcp_packet(
            CLIENT,
            SERVER,
            Segment::new(seg, 1000 + i as u32, 1),
            b"",
        )));
    }
    let lines = t.render(&Options::default());
    assert!(!arrows(&lines).iter().any(|l| l.contains("bad checksum")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("2 packets had a wrong checksum")));
}

#[test]
fn a_packet_cut_short_by_the_snap_length_still_shows_its_headers() {
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    let mut packet = tcp_packet(CLIENT, SERVER, Segment::new(PSH, c, s), &[b'z'; 1000]);
    packet.truncate(64);
    t.packet(packet);
    let lines = t.render(&Options::default());
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows[3],
        "│─ [PSH, ACK] seq=1 ack=1 len=1000 win=8388480 ─►│  \"zzzzzzzzzzzzzzzzzzzzzzzz\"..."
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("some packets were cut short")));
    assert!(!lines.iter().any(|l| l.contains("wrong checksum")));
}

#[test]
fn urgent_data_shows_its_pointer_and_where_it_ends() {
    let mut t = Trace::default();
    let (c, s) = handshake(&mut t, 1000, 5000);
    t.up(Segment::new(PSH, c, s), b"hello");
    let mut urgent = Segment::new(PSH | Flags::URG, c + 5, s);
    urgent.urgent = 1;
    t.up(urgent, b"!").comment =
        Some("urgent data: the pointer marks the end of urgent data, 1 byte ahead".into());
    t.up(Segment::new(PSH, c + 6, s), b"world");
    let rows = rows(&t);
    assert_eq!(
        rows[3..],
        [
            "│─ [PSH, ACK] seq=1 ack=1 len=5 win=8388480 ─►│  \"hello\"",
            "│─ [PSH, ACK, URG] seq=6 ack=1 len=1 up=1 win=8388480 ─►│  urgent data ends at \
             seq=7 (the urgent mark)  \"!\"  # urgent data: the pointer marks the end of urgent \
             data, 1 byte ahead",
            "│─ [PSH, ACK] seq=7 ack=1 len=5 win=8388480 ─►│  \"world\"",
        ]
    );
}
