//! Reading files: pcap and pcapng, every link type a learner's tcpdump writes, time resolutions,
//! directions and comments, cut-short packets, and files that end early or are not captures.

use std::borrow::Cow;

use pcap_file::pcap::{PcapHeader, PcapWriter, RawPcapPacket};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, TsResolution};

use super::*;
use crate::ladder::read::{read_from, ReadError};
use crate::ladder::{Checksums, Transport};

/// A pcap file of `packets` (time, bytes) with this link type and time resolution.
fn pcap(link: DataLink, resolution: TsResolution, packets: &[(Duration, Vec<u8>)]) -> Vec<u8> {
    let header = PcapHeader {
        datalink: link,
        ts_resolution: resolution,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(Vec::new(), header).unwrap();
    for (time, data) in packets {
        let frac = match resolution {
            TsResolution::MicroSecond => time.subsec_micros(),
            TsResolution::NanoSecond => time.subsec_nanos(),
        };
        writer
            .write_raw_packet(&RawPcapPacket {
                ts_sec: time.as_secs() as u32,
                ts_frac: frac,
                incl_len: data.len() as u32,
                orig_len: data.len() as u32,
                data: Cow::Borrowed(data),
            })
            .unwrap();
    }
    writer.into_writer()
}

fn read(bytes: &[u8]) -> CaptureFile {
    read_from(bytes).unwrap()
}

/// The frames' contents as (source, destination) of their IPv4 packets, or the reason not.
fn who(capture: &CaptureFile) -> Vec<String> {
    capture
        .frames
        .iter()
        .map(|frame| match &frame.content {
            Content::Ipv4(d) => format!("{} > {}", d.src(), d.dst()),
            Content::Arp(arp) => format!("ARP {arp}"),
            Content::Unreadable(why) => why.clone(),
        })
        .collect()
}

fn syn() -> Vec<u8> {
    tcp_packet(CLIENT, SERVER, Segment::new(Flags::SYN, 1000, 0), b"")
}

fn syn_ack() -> Vec<u8> {
    tcp_packet(
        SERVER,
        CLIENT,
        Segment::new(Flags::SYN | Flags::ACK, 5000, 1001),
        b"",
    )
}

const T0: Duration = Duration::new(1_767_225_600, 123_456_789);

#[test]
fn ethernet_frames_with_and_without_a_vlan_tag_and_padding() {
    let mac = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    let mut plain = [&mac[..], &[0x08, 0x00]].concat();
    plain.extend(syn());
    // Ethernet pads short frames to 60 bytes: the IPv4 Total Length says where the packet ends.
    plain.resize(60.max(plain.len()), 0);
    let mut tagged = [&mac[..], &[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]].concat();
    tagged.extend(syn_ack());
    // ARP for another kind of link or address is not read.
    let mut other_arp = [&mac[..], &[0x08, 0x06]].concat();
    other_arp.extend([0; 28]);
    let file = pcap(
        DataLink::ETHERNET,
        TsResolution::MicroSecond,
        &[
            (T0, plain),
            (T0, tagged),
            (T0, other_arp),
            (T0, mac.to_vec()),
        ],
    );
    let capture = read(&file);
    assert_eq!(capture.format, "pcap");
    assert_eq!(capture.link_types, ["Ethernet (1)"]);
    assert_eq!(
        who(&capture),
        [
            "10.77.0.1:49152 > 10.77.0.2:7",
            "10.77.0.2:7 > 10.77.0.1:49152",
            "ARP, not for IPv4 over Ethernet",
            "Ethernet header cut short",
        ]
    );
    let Content::Ipv4(first) = &capture.frames[0].content else {
        panic!("{capture:?}");
    };
    assert_eq!(first.checksums, Checksums::Good);
    // The Ethernet header is kept with the frame, as it was sent (the VLAN tag's EtherType).
    let headers: Vec<String> = capture
        .frames
        .iter()
        .map(|f| f.ethernet.map_or("none".to_string(), |e| e.to_string()))
        .collect();
    assert_eq!(
        headers,
        [
            "02:00:00:00:00:02 → 02:00:00:00:00:01, IPv4",
            "02:00:00:00:00:02 → 02:00:00:00:00:01, 0x8100",
            "02:00:00:00:00:02 → 02:00:00:00:00:01, ARP",
            "none",
        ]
    );
}

/// ARP as Linux sent it on a veth pair (tcpdump): a request to everyone, 42 bytes, and a reply
/// padded by a network card to 60.
#[test]
fn arp_requests_and_replies_in_ethernet_frames() {
    let request: Vec<u8> = [
        &[0xff; 6][..],
        &[0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x08, 0x06],
        &[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01],
        &[0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d, 0x00, 0x02],
        &[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x01],
    ]
    .concat();
    let mut reply: Vec<u8> = [
        &[0x02, 0x00, 0x00, 0x77, 0x00, 0x02],
        &[0x02, 0x00, 0x00, 0x77, 0x00, 0x01, 0x08, 0x06][..],
        &[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02],
        &[0x02, 0x00, 0x00, 0x77, 0x00, 0x01, 0x0a, 0x4d, 0x00, 0x01],
        &[0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d, 0x00, 0x02],
    ]
    .concat();
    reply.resize(60, 0);
    let capture = read(&pcap(
        DataLink::ETHERNET,
        TsResolution::MicroSecond,
        &[(T0, request), (T0, reply)],
    ));
    assert_eq!(
        who(&capture),
        [
            "ARP who has 10.77.0.1? tell 10.77.0.2",
            "ARP 10.77.0.1 is at 02:00:00:77:00:01",
        ]
    );
    let Some(header) = capture.frames[0].ethernet else {
        panic!("{capture:?}");
    };
    assert!(header.dst_addr.is_broadcast());
}

#[test]
fn linux_cooked_captures_tell_the_direction() {
    // SLL: packet type 4 (sent by this host) or 0 (to this host), then the protocol at 14.
    let sll = |kind: u8, packet: Vec<u8>| {
        let mut frame = vec![0, kind, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        frame.extend(packet);
        frame
    };
    let capture = read(&pcap(
        DataLink::LINUX_SLL,
        TsResolution::MicroSecond,
        &[(T0, sll(4, syn())), (T0, sll(0, syn_ack()))],
    ));
    assert_eq!(
        who(&capture),
        [
            "10.77.0.1:49152 > 10.77.0.2:7",
            "10.77.0.2:7 > 10.77.0.1:49152"
        ]
    );
    let directions: Vec<_> = capture.frames.iter().map(|f| f.direction).collect();
    assert_eq!(
        directions,
        [Some(Direction::Outbound), Some(Direction::Inbound)]
    );

    // SLL2: the protocol first, the packet type at 10, 20 bytes in all.
    let sll2 = |kind: u8, protocol: [u8; 2], packet: Vec<u8>| {
        let mut frame = vec![protocol[0], protocol[1], 0, 0, 0, 0, 0, 3, 0, 1, kind, 6];
        frame.extend([0; 8]);
        frame.extend(packet);
        frame
    };
    let capture = read(&pcap(
        DataLink::LINUX_SLL2,
        TsResolution::NanoSecond,
        &[
            (T0, sll2(4, [0x08, 0x00], syn())),
            (T0, sll2(0, [0x86, 0xdd], vec![0x60; 40])),
            (T0, vec![0x08, 0x00, 0, 0]),
        ],
    ));
    assert_eq!(capture.link_types, ["Linux cooked v2 (276)"]);
    assert_eq!(
        who(&capture),
        [
            "10.77.0.1:49152 > 10.77.0.2:7",
            "IPv6 (not shown: the ladder reads IPv4)",
            "Linux cooked (SLL2) header cut short",
        ]
    );
    assert_eq!(capture.frames[0].direction, Some(Direction::Outbound));
}

#[test]
fn raw_ip_and_bsd_loopback() {
    let capture = read(&pcap(
        DataLink::RAW,
        TsResolution::MicroSecond,
        &[
            (T0, syn()),
            (T0, vec![0x60; 40]),
            (T0, b"\x10junk".to_vec()),
        ],
    ));
    assert_eq!(
        who(&capture),
        [
            "10.77.0.1:49152 > 10.77.0.2:7",
            "IPv6 (not shown: the ladder reads IPv4)",
            "not an IP packet (version field 1)",
        ]
    );
    let null = |family: [u8; 4], packet: Vec<u8>| [&family[..], &packet].concat();
    let capture = read(&pcap(
        DataLink::NULL,
        TsResolution::MicroSecond,
        &[
            (T0, null([2, 0, 0, 0], syn())),
            (T0, null([0, 0, 0, 2], syn_ack())),
            (T0, null([30, 0, 0, 0], vec![0x60; 40])),
        ],
    ));
    assert_eq!(
        who(&capture),
        [
            "10.77.0.1:49152 > 10.77.0.2:7",
            "10.77.0.2:7 > 10.77.0.1:49152",
            "not IPv4 (BSD loopback family)",
        ]
    );
}

#[test]
fn other_link_types_are_listed_not_read() {
    let capture = read(&pcap(
        DataLink::IEEE802_11,
        TsResolution::MicroSecond,
        &[(T0, syn())],
    ));
    assert_eq!(
        who(&capture),
        ["link type link type (105) is not read here"]
    );
}

#[test]
fn pcap_times_in_microseconds_and_nanoseconds() {
    for resolution in [TsResolution::MicroSecond, TsResolution::NanoSecond] {
        let capture = read(&pcap(DataLink::RAW, resolution, &[(T0, syn())]));
        let expected = match resolution {
            TsResolution::MicroSecond => Duration::new(T0.as_secs(), 123_456_000),
            TsResolution::NanoSecond => T0,
        };
        assert_eq!(capture.frames[0].time, expected);
    }
}

#[test]
fn a_snap_length_shorter_than_the_packets_keeps_their_headers() {
    // `tcpdump -s 60`: every packet longer than 60 bytes is cut, and says how long it was.
    let header = PcapHeader {
        datalink: DataLink::RAW,
        snaplen: 60,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(Vec::new(), header).unwrap();
    let packet = tcp_packet(
        CLIENT,
        SERVER,
        Segment::new(Flags::PSH | Flags::ACK, 1, 1),
        &[7; 500],
    );
    writer
        .write_raw_packet(&RawPcapPacket {
            ts_sec: 1,
            ts_frac: 0,
            incl_len: 60,
            orig_len: packet.len() as u32,
            data: Cow::Borrowed(&packet[..60]),
        })
        .unwrap();
    let capture = read(&writer.into_writer());
    let Content::Ipv4(datagram) = &capture.frames[0].content else {
        panic!("{capture:?}");
    };
    assert!(datagram.cut_short);
    assert_eq!(datagram.checksums, Checksums::Unchecked);
    let Transport::Tcp { header, preview } = &datagram.transport else {
        panic!("{datagram:?}");
    };
    assert_eq!(header.payload_len, 500);
    assert_eq!(preview, &[7; 20], "only the captured bytes");
}

/// A pcapng file: one interface per link type given (with `if_tsresol` if given), then
/// packets as (interface, raw timestamp count, bytes, options).
fn pcapng(
    interfaces: &[(DataLink, Option<u8>)],
    packets: Vec<(u32, u64, Vec<u8>, Vec<EnhancedPacketOption<'static>>)>,
) -> Vec<u8> {
    let mut writer = PcapNgWriter::new(Vec::new()).unwrap();
    for &(link, resolution) in interfaces {
        let mut idb = InterfaceDescriptionBlock::new(link, 65535);
        if let Some(r) = resolution {
            idb.options.push(InterfaceDescriptionOption::IfTsResol(r));
        }
        writer.write_pcapng_block(idb).unwrap();
    }
    for (interface_id, count, data, options) in packets {
        writer
            .write_pcapng_block(EnhancedPacketBlock {
                interface_id,
                // pcap-file writes the duration's nanoseconds as the raw count.
                timestamp: Duration::from_nanos(count),
                original_len: data.len() as u32,
                data: Cow::Owned(data),
                options,
            })
            .unwrap();
    }
    writer.into_inner()
}

#[test]
fn pcapng_times_follow_each_interfaces_resolution() {
    let file = pcapng(
        &[
            (DataLink::IPV4, None),
            (DataLink::IPV4, Some(9)),
            (DataLink::IPV4, Some(3)),
            (DataLink::IPV4, Some(0x80 | 10)),
        ],
        vec![
            // Microseconds, the default when an interface does not say.
            (0, 1_767_225_600_123_456, syn(), vec![]),
            (1, 1_767_225_600_123_456_789, syn(), vec![]),
            (2, 1_767_225_600_123, syn(), vec![]),
            // 2^-10 s: 1024 counts a second.
            (3, 3 * 1024 + 512, syn(), vec![]),
        ],
    );
    let capture = read(&file);
    assert_eq!(capture.format, "pcapng");
    assert_eq!(capture.link_types, ["raw IPv4 (228)"]);
    let times: Vec<Duration> = capture.frames.iter().map(|f| f.time).collect();
    assert_eq!(
        times,
        [
            Duration::new(1_767_225_600, 123_456_000),
            Duration::new(1_767_225_600, 123_456_789),
            Duration::new(1_767_225_600, 123_000_000),
            Duration::from_millis(3500),
        ]
    );
}

#[test]
fn pcapng_directions_and_comments_reach_the_frames() {
    let file = pcapng(
        &[(DataLink::IPV4, Some(9)), (DataLink::ETHERNET, None)],
        vec![
            (0, 1, syn(), vec![EnhancedPacketOption::Flags(2)]),
            (
                0,
                2,
                syn(),
                vec![
                    EnhancedPacketOption::Flags(2),
                    EnhancedPacketOption::Comment("retransmission #1 after RTO 1000 ms".into()),
                ],
            ),
            (
                1,
                3,
                [&[0; 12][..], &[8, 0], &syn_ack()].concat(),
                vec![EnhancedPacketOption::Flags(1)],
            ),
        ],
    );
    let capture = read(&file);
    assert_eq!(capture.link_types, ["raw IPv4 (228)", "Ethernet (1)"]);
    let seen: Vec<_> = capture
        .frames
        .iter()
        .map(|f| (f.number, f.direction, f.comment.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, Some(Direction::Outbound), None),
            (
                2,
                Some(Direction::Outbound),
                Some("retransmission #1 after RTO 1000 ms")
            ),
            (3, Some(Direction::Inbound), None),
        ]
    );
    // Drawn: the first SYN was lost, the second one carries the stack's comment.
    let lines = render("x", &capture, &Options::default()).unwrap();
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows,
        [
            "│─ [SYN] seq=0 win=65535 ─✗ │  lost: never acknowledged, sent again in frame 2",
            "│─ [SYN] seq=0 win=65535 ─►│  retransmission of frame 1  \
             # retransmission #1 after RTO 1000 ms",
            "│◄─ [SYN, ACK] seq=0 ack=1 win=65535 ─│",
        ]
    );
}

#[test]
fn a_file_that_ends_mid_packet_keeps_the_packets_before() {
    for file in [
        pcap(
            DataLink::RAW,
            TsResolution::MicroSecond,
            &[(T0, syn()), (T0, syn_ack())],
        ),
        pcapng(
            &[(DataLink::IPV4, None)],
            vec![(0, 1, syn(), vec![]), (0, 2, syn_ack(), vec![])],
        ),
    ] {
        let cut = &file[..file.len() - 10];
        let capture = read(cut);
        assert_eq!(capture.frames.len(), 1, "{capture:?}");
        let warning = capture.warning.expect("a warning");
        assert!(
            warning.starts_with("the file ends or breaks after packet 1"),
            "{warning}"
        );
        let lines = render("cut.pcap", &read(cut), &Options::default()).unwrap();
        assert!(lines[1].starts_with("warning: the file ends"), "{lines:?}");
    }
}

#[test]
fn files_that_are_not_captures_are_an_error() {
    for (bytes, expected) in [
        (&b""[..], "too short to be a pcap or pcapng file"),
        (b"abc", "too short to be a pcap or pcapng file"),
        (
            b"GET / HTTP/1.1\r\nHost: example\r\n\r\n",
            "not a pcap or pcapng file (Invalid field value: PcapHeader: wrong magic number)",
        ),
    ] {
        match read_from(bytes) {
            Err(ReadError::Format(why)) => assert_eq!(why, expected),
            other => panic!("{bytes:?}: {other:?}"),
        }
    }
    // A pcapng magic with a broken header.
    let Err(ReadError::Format(why)) = read_from(&[0x0a, 0x0d, 0x0d, 0x0a, 1, 2][..]) else {
        panic!("not an error");
    };
    assert!(why.starts_with("not a pcapng file"), "{why}");
}

#[test]
fn damaged_files_and_packets_never_panic() {
    // Good files, then thousands of damaged copies of them: bytes changed, cut anywhere. Each
    // must read (or fail to) and draw without a panic.
    let request = icmp::Repr::EchoRequest {
        ident: 1,
        seq_no: 1,
        data: b"ping",
    };
    let good_packets = [
        syn(),
        syn_ack(),
        tcp_packet(
            CLIENT,
            SERVER,
            Segment::new(Flags::PSH | Flags::ACK, 1001, 5001),
            b"hello",
        ),
        udp_packet(CLIENT, SERVER, b"datagram"),
        icmp_packet(*CLIENT.ip(), *SERVER.ip(), &request),
    ];
    let numbered = good_packets.iter().enumerate();
    let files = [
        pcapng(
            &[(DataLink::IPV4, Some(9))],
            numbered
                .map(|(i, p)| (0, i as u64, p.clone(), vec![EnhancedPacketOption::Flags(2)]))
                .collect(),
        ),
        pcap(
            DataLink::ETHERNET,
            TsResolution::MicroSecond,
            &[(T0, [&[0; 12][..], &[8, 0], &syn()].concat())],
        ),
    ];
    let all = Options {
        selection: crate::ladder::Selection::All,
        ..Options::default()
    };
    let mut rng = fastrand::Rng::with_seed(7);
    let mut damage = |mut bytes: Vec<u8>| {
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(..bytes.len());
            bytes[at] = rng.u8(..);
        }
        bytes.truncate(rng.usize(..=bytes.len()));
        bytes
    };
    for round in 0..2000 {
        let bytes = damage(files[round % files.len()].clone());
        if let Ok(capture) = read_from(&bytes[..]) {
            let _ = render("damaged", &capture, &all);
        }
    }
    // Damaged packets straight into the decoder, then drawn together.
    let mut damaged = Trace::default();
    for round in 0..2000 {
        damaged.packet(damage(good_packets[round % good_packets.len()].clone()));
    }
    assert!(damaged.render(&all).len() > 10);
}
