//! Encapsulation, drawn: one real packet as nested boxes, header by header, with its values.
//!
//! Each layer puts its header in front of what the layer above gave it: TCP wraps the data into
//! a segment, IP wraps that into a packet, and Ethernet wraps that into a frame. The boxes show
//! the result on the wire, read with the stack's own parsers.
//!
//! A bare IP packet, as a TUN device carries it ([`boxes`]):
//!
//! ```text
//! ┌─ IPv4 header, 20 bytes ─┬─ TCP header, 32 bytes ─┬─ data, 78 bytes ────────┐
//! │ 10.77.0.1 → 10.77.0.2   │ port 49152 → 80        │ GET / HTTP/1.1          │
//! │ ...                     │ ...                    │ ...                     │
//! └─────────────────────────┴────────────────────────┴─────────────────────────┘
//! On Ethernet a frame would wrap this packet: ...
//! ```
//!
//! An Ethernet frame, as a TAP device or an Ethernet wire carries it ([`frame_boxes`]): the
//! packet's boxes inside the frame, after the 14-byte Ethernet header, and the 4-byte FCS
//! (frame check sequence, a CRC-32) that follows on a real wire, dashed, because the network
//! card adds and checks it and neither a TAP device nor a capture carries it:
//!
//! ```text
//! ┌─ Ethernet frame, 98 bytes ───────────────────────────────────────────────────┐
//! │ ┌─ Ethernet header, 14 bytes ──────────────────────────────────────────────┐ │
//! │ │ destination MAC 02:00:0a:4d:00:02                                        │ │
//! │ │ source MAC      02:00:0a:4d:00:01                                        │ │
//! │ │ EtherType       0x0800 (IPv4): what the frame carries                    │ │
//! │ └──────────────────────────────────────────────────────────────────────────┘ │
//! │ ┌─ IPv4 header, 20 bytes ─┬─ ICMP header, 8 bytes ─┬─ data, 56 bytes ───────┐ │
//! │ │ ...                     │ ...                    │ ...                    │ │
//! │ └─────────────────────────┴────────────────────────┴────────────────────────┘ │
//! │ ┌╌ FCS, 4 bytes ╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌┐ │
//! │ ╎ a CRC-32 of the frame, which the sending card adds ...                   ╎ │
//! │ └╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌┘ │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use tunstack::device::Medium;
use tunstack::ip::header::{self as ip_header, IpProtocol};
use tunstack::ip::icmp::header as icmp_header;
use tunstack::link::ethernet::header as ethernet;
use tunstack::tcp::header as tcp_header;
use tunstack::udp::header as udp_header;

/// Ethernet's smallest frame without its FCS: a card pads shorter ones with zeros to this.
const MIN_FRAME: usize = 60;
/// The FCS's length.
const FCS_LEN: usize = 4;

/// Frame `number` (counting from 1) of one of our pcapng captures, and what its interface
/// carries: bare IP packets (link types 101 and 228) or Ethernet frames (link type 1).
/// `None` if there is no such frame, another link type, or the file cannot be read.
pub fn frame_of_capture(path: &std::path::Path, number: usize) -> Option<(Medium, Vec<u8>)> {
    use pcap_file::pcapng::{Block, PcapNgReader};
    use pcap_file::DataLink;
    let file = std::fs::File::open(path).ok()?;
    let mut reader = PcapNgReader::new(file).ok()?;
    let mut seen = 0;
    while let Some(block) = reader.next_block() {
        let Ok(Block::EnhancedPacket(packet)) = block else {
            continue;
        };
        seen += 1;
        if seen == number {
            let interface = packet.interface_id as usize;
            let data = packet.data.into_owned();
            let medium = match reader.interfaces().get(interface)?.linktype {
                DataLink::IPV4 | DataLink::RAW => Medium::Ip,
                DataLink::ETHERNET => Medium::Ethernet,
                _ => return None,
            };
            return Some((medium, data));
        }
    }
    None
}

/// The boxes of a packet or frame as `medium` carries it: [`boxes`] or [`frame_boxes`].
pub fn boxes_on(medium: Medium, bytes: &[u8]) -> Option<String> {
    match medium {
        Medium::Ip => boxes(bytes),
        Medium::Ethernet => frame_boxes(bytes),
    }
}

/// One box: a title and its lines.
struct Part {
    title: String,
    lines: Vec<String>,
}

/// A bare IPv4 packet (what a TUN device carries) as boxes, one per layer, and a line saying
/// what Ethernet would add; `None` if it is not an IPv4 packet this can read.
pub fn boxes(packet: &[u8]) -> Option<String> {
    let drawn = draw(&packet_parts(packet)?);
    let width = drawn.lines().next().map_or(0, |l| l.chars().count());
    let note = "On Ethernet a frame would wrap this packet: a 14-byte header in front \
                (destination MAC, source MAC, EtherType) and a 4-byte FCS (a CRC-32) behind. \
                Here, as on a TUN device, the packet travels bare.";
    let mut out = drawn;
    for line in wrap(note, width.max(40)) {
        out.push_str(&line);
        out.push('\n');
    }
    Some(out)
}

/// An Ethernet frame (what a TAP device carries) as boxes: its header, the IPv4 packet inside
/// with a box per layer, and the FCS that a real wire adds; `None` if it is not an Ethernet
/// frame around an IPv4 packet this can read.
pub fn frame_boxes(frame: &[u8]) -> Option<String> {
    let view = ethernet::Frame::new_checked(frame).ok()?;
    let header = ethernet::Repr::parse(&view).ok()?;
    let packet_lines: Vec<String> = draw(&packet_parts(view.payload())?)
        .lines()
        .map(str::to_string)
        .collect();
    let destination = if header.dst_addr.is_broadcast() {
        format!("{} (broadcast)", header.dst_addr)
    } else {
        header.dst_addr.to_string()
    };
    let header_lines = vec![
        format!("destination MAC {destination}"),
        format!("source MAC      {}", header.src_addr),
        format!(
            "EtherType       {:#06x} ({}): what the frame carries",
            u16::from(header.ethertype),
            header.ethertype
        ),
    ];
    let wire_len = frame.len().max(MIN_FRAME) + FCS_LEN;
    let padding = if frame.len() < MIN_FRAME {
        format!(
            ", after the {} bytes of zeros a card pads a frame shorter than {MIN_FRAME} with",
            MIN_FRAME - frame.len()
        )
    } else {
        String::new()
    };
    let fcs = format!(
        "a CRC-32 of the frame, which the sending network card adds and the receiving one \
         checks (dropping the frame if it is wrong) and strips. A TAP device and a capture do \
         not carry it: on a real wire this frame is {wire_len} bytes{padding}."
    );
    let width = packet_lines
        .iter()
        .map(|l| l.chars().count())
        .chain(header_lines.iter().map(|l| l.chars().count() + 4))
        .max()
        .unwrap_or(0);
    let mut inside = single_box("Ethernet header, 14 bytes", &header_lines, width, false);
    inside.extend(
        packet_lines
            .iter()
            .map(|line| format!("{line}{}", " ".repeat(width - line.chars().count()))),
    );
    inside.extend(single_box(
        &format!("FCS, {FCS_LEN} bytes"),
        &wrap(&fcs, width - 4),
        width,
        true,
    ));
    let title = format!("Ethernet frame, {} bytes", frame.len());
    let mut out = String::new();
    for line in single_box(&title, &inside, width + 4, false) {
        out.push_str(&line);
        out.push('\n');
    }
    Some(out)
}

/// The boxes of an IPv4 packet: its header, the transport's, and the data.
fn packet_parts(packet: &[u8]) -> Option<Vec<Part>> {
    let ip = ip_header::Packet::new_checked(packet).ok()?;
    let ip_repr = ip_header::Repr::parse(&ip).ok()?;
    let mut parts = vec![Part {
        title: format!("IPv4 header, {} bytes", ip.header_len()),
        lines: vec![
            format!("{} → {}", ip_repr.src_addr, ip_repr.dst_addr),
            format!(
                "protocol {} ({})",
                u8::from(ip_repr.protocol),
                ip_repr.protocol
            ),
            format!("TTL {}, id {:#06x}", ip_repr.ttl, ip_repr.ident),
            format!("total length {}", ip.total_len()),
        ],
    }];
    let (src, dst) = (ip_repr.src_addr, ip_repr.dst_addr);
    let segment = &packet[ip.header_len()..usize::from(ip.total_len())];
    let data: &[u8] = match ip_repr.protocol {
        IpProtocol::Tcp => {
            let tcp = tcp_header::Packet::new_checked(segment).ok()?;
            let repr = tcp_header::Repr::parse(&tcp, src, dst).ok()?;
            let mut options = Vec::new();
            if let Some(ts) = repr.timestamps {
                options.push(format!("timestamps {}/{}", ts.value, ts.echo));
            }
            if !repr.sack_blocks.is_empty() {
                options.push(format!("{} SACK blocks", repr.sack_blocks.len()));
            }
            parts.push(Part {
                title: format!("TCP header, {} bytes", tcp.header_len()),
                lines: vec![
                    format!("port {} → {}", repr.src_port, repr.dst_port),
                    format!("seq {} ack {}", repr.seq, repr.ack),
                    format!("{} window {}", repr.flags, repr.window),
                    if options.is_empty() {
                        "no options".into()
                    } else {
                        options.join(", ")
                    },
                ],
            });
            &segment[tcp.header_len()..]
        }
        IpProtocol::Udp => {
            let udp = udp_header::Packet::new_checked(segment).ok()?;
            let repr = udp_header::Repr::parse(&udp, src, dst).ok()?;
            parts.push(Part {
                title: "UDP header, 8 bytes".into(),
                lines: vec![
                    format!("port {} → {}", repr.src_port, repr.dst_port),
                    format!("length {}", udp.len()),
                    format!("checksum {:#06x}", udp.checksum()),
                ],
            });
            &segment[udp_header::HEADER_LEN..usize::from(udp.len())]
        }
        IpProtocol::Icmp => {
            let (part, data) = icmp_part(segment)?;
            parts.push(part);
            data
        }
        IpProtocol::Icmpv6 | IpProtocol::Unknown(_) => segment,
    };
    if !data.is_empty() {
        parts.push(Part {
            title: format!("data, {} bytes", data.len()),
            lines: show_data(data),
        });
    }
    Some(parts)
}

/// The box of an ICMP header, and the data after it.
fn icmp_part(message: &[u8]) -> Option<(Part, &[u8])> {
    let packet = icmp_header::Packet::new_checked(message).ok()?;
    let checksum = format!("checksum {:#06x}", packet.checksum());
    let (lines, data) = match icmp_header::Repr::parse(&packet).ok()? {
        icmp_header::Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } => (
            vec![
                "type 8: echo request".to_string(),
                format!("id {ident:#06x} seq {seq_no}"),
            ],
            data,
        ),
        icmp_header::Repr::EchoReply {
            ident,
            seq_no,
            data,
        } => (
            vec![
                "type 0: echo reply".to_string(),
                format!("id {ident:#06x} seq {seq_no}"),
            ],
            data,
        ),
        icmp_header::Repr::DstUnreachable { reason, invoking } => (
            vec!["type 3: unreachable".to_string(), reason.to_string()],
            invoking,
        ),
        icmp_header::Repr::TimeExceeded { reason, invoking } => (
            vec!["type 11: time exceeded".to_string(), reason.to_string()],
            invoking,
        ),
        icmp_header::Repr::Other { msg_type, code } => {
            (vec![format!("type {msg_type}, code {code}")], &[][..])
        }
    };
    let mut lines = lines;
    lines.push(checksum);
    let part = Part {
        title: "ICMP header, 8 bytes".into(),
        lines,
    };
    Some((part, data))
}

/// A few lines of data: text as text (the first lines, cut at 30 characters), anything else as
/// hex, eight bytes a line.
fn show_data(data: &[u8]) -> Vec<String> {
    let is_text = data
        .iter()
        .all(|&b| matches!(b, b' '..=b'~' | b'\r' | b'\n' | b'\t'));
    let (mut lines, more): (Vec<String>, bool) = if is_text {
        let text = String::from_utf8_lossy(data);
        let lines = text
            .lines()
            .take(4)
            .map(|line| line.chars().take(30).collect())
            .collect();
        (lines, text.lines().count() > 4)
    } else {
        let lines = data
            .chunks(8)
            .take(3)
            .map(|chunk| {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                hex.join(" ")
            })
            .collect();
        (lines, data.len() > 24)
    };
    if more {
        lines.push("…".into());
    }
    lines
}

/// One box `width` characters wide around `lines`, with `title` in its top edge; dashed for
/// what is not in the bytes shown.
fn single_box(title: &str, lines: &[String], width: usize, dashed: bool) -> Vec<String> {
    let (line, side) = if dashed {
        ('╌', '╎')
    } else {
        ('─', '│')
    };
    let inner = width.saturating_sub(2);
    let top = format!("{line} {title} ");
    let mut out = vec![format!(
        "┌{top}{}┐",
        line.to_string()
            .repeat(inner.saturating_sub(top.chars().count()))
    )];
    for text in lines {
        let pad = inner.saturating_sub(text.chars().count() + 1);
        out.push(format!("{side} {text}{}{side}", " ".repeat(pad)));
    }
    out.push(format!("└{}┘", line.to_string().repeat(inner)));
    out
}

/// Breaks `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Draws the parts side by side in boxes.
fn draw(parts: &[Part]) -> String {
    let widths: Vec<usize> = parts
        .iter()
        .map(|p| {
            p.lines
                .iter()
                .map(|l| l.chars().count())
                .chain([p.title.chars().count() + 2])
                .max()
                .unwrap_or(0)
                + 2
        })
        .collect();
    let rows = parts.iter().map(|p| p.lines.len()).max().unwrap_or(0);
    let mut out = String::new();
    // The top edge carries the titles: ┌─ title ───┬─ title ───┐
    out.push('┌');
    for (i, (part, width)) in parts.iter().zip(&widths).enumerate() {
        let title = format!("─ {} ", part.title);
        out.push_str(&title);
        out.push_str(&"─".repeat(width.saturating_sub(title.chars().count())));
        out.push(if i + 1 == parts.len() { '┐' } else { '┬' });
    }
    out.push('\n');
    for row in 0..rows {
        out.push('│');
        for (part, width) in parts.iter().zip(&widths) {
            let line = part.lines.get(row).map_or("", String::as_str);
            out.push(' ');
            out.push_str(line);
            out.push_str(&" ".repeat(width.saturating_sub(line.chars().count() + 1)));
            out.push('│');
        }
        out.push('\n');
    }
    out.push('└');
    for (i, width) in widths.iter().enumerate() {
        out.push_str(&"─".repeat(*width));
        out.push(if i + 1 == widths.len() { '┘' } else { '┴' });
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tunstack::link::ethernet::{EtherType, MacAddr};
    use tunstack::tcp::{Flags, SackBlocks, SeqNumber};

    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    /// An IPv4 packet from the client to the server around `payload`.
    fn ipv4(protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
        let ip = ip_header::Repr {
            src_addr: CLIENT,
            dst_addr: SERVER,
            protocol,
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len: payload.len(),
        };
        let mut packet = vec![0u8; ip.total_len()];
        ip.emit(&mut packet);
        packet[ip_header::HEADER_LEN..].copy_from_slice(payload);
        packet
    }

    /// A TCP segment from the client to the server, in an IPv4 packet.
    fn tcp_packet(flags: Flags, data: &[u8]) -> Vec<u8> {
        let tcp = tcp_header::Repr {
            src_port: 49152,
            dst_port: 80,
            seq: SeqNumber(1),
            ack: SeqNumber(1),
            flags,
            window: 512,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::default(),
            timestamps: None,
            payload_len: data.len(),
        };
        let mut segment = vec![0u8; tcp.buffer_len()];
        segment[tcp.header_len()..].copy_from_slice(data);
        tcp.emit(&mut segment, CLIENT, SERVER);
        ipv4(IpProtocol::Tcp, &segment)
    }

    fn http_request_packet() -> Vec<u8> {
        tcp_packet(
            Flags::PSH | Flags::ACK,
            b"GET / HTTP/1.1\r\nHost: 10.77.0.2\r\n\r\n",
        )
    }

    /// `packet` in an Ethernet frame from the client's MAC address to `dst`.
    fn framed(dst: MacAddr, ethertype: EtherType, packet: &[u8]) -> Vec<u8> {
        let header = ethernet::Repr {
            dst_addr: dst,
            src_addr: MacAddr::new([0x02, 0x00, 0x0a, 0x4d, 0x00, 0x01]),
            ethertype,
        };
        let mut frame = vec![0u8; ethernet::HEADER_LEN + packet.len()];
        header.emit(&mut frame);
        frame[ethernet::HEADER_LEN..].copy_from_slice(packet);
        frame
    }

    const SERVER_MAC: MacAddr = MacAddr::new([0x02, 0x00, 0x0a, 0x4d, 0x00, 0x02]);

    /// The lines of a drawing that belong to boxes (not the notes after them).
    fn box_lines(drawn: &str) -> Vec<&str> {
        drawn
            .lines()
            .filter(|l| l.starts_with(['┌', '│', '└']))
            .collect()
    }

    /// Every box line is as wide as the others: the boxes close.
    fn assert_boxes_close(drawn: &str) {
        let widths: Vec<usize> = box_lines(drawn).iter().map(|l| l.chars().count()).collect();
        assert!(!widths.is_empty(), "{drawn}");
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{drawn}");
    }

    #[test]
    fn three_boxes_for_an_http_request() {
        let drawn = boxes(&http_request_packet()).unwrap();
        assert!(drawn.contains("IPv4 header, 20 bytes"), "{drawn}");
        assert!(drawn.contains("TCP header, 20 bytes"));
        assert!(drawn.contains("data, 35 bytes"));
        assert!(drawn.contains("GET / HTTP/1.1"));
        assert!(drawn.contains("10.77.0.1 → 10.77.0.2"));
        assert_boxes_close(&drawn);
        // No frame around a bare packet; a line after the boxes says what Ethernet would add.
        assert!(!drawn.contains("Ethernet header, 14 bytes"));
        let note: String = drawn
            .lines()
            .skip(box_lines(&drawn).len())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            note,
            "On Ethernet a frame would wrap this packet: a 14-byte header in front (destination \
             MAC, source MAC, EtherType) and a 4-byte FCS (a CRC-32) behind. Here, as on a TUN \
             device, the packet travels bare."
        );
        let width = box_lines(&drawn)[0].chars().count();
        assert!(drawn.lines().all(|l| l.chars().count() <= width), "{drawn}");
    }

    #[test]
    fn a_frame_is_its_ethernet_header_the_packets_boxes_and_the_fcs() {
        let packet = http_request_packet();
        let frame = framed(SERVER_MAC, EtherType::Ipv4, &packet);
        let drawn = frame_boxes(&frame).unwrap();
        let lines: Vec<&str> = drawn.lines().collect();
        assert_boxes_close(&drawn);
        assert_eq!(lines.len(), box_lines(&drawn).len(), "all boxes: {drawn}");
        // The frame's box is around everything; the Ethernet header comes first inside it.
        assert!(
            lines[0].starts_with("┌─ Ethernet frame, 89 bytes ─"),
            "{drawn}"
        );
        assert!(
            lines[1].starts_with("│ ┌─ Ethernet header, 14 bytes ─"),
            "{drawn}"
        );
        assert!(drawn.contains("│ destination MAC 02:00:0a:4d:00:02 "));
        assert!(drawn.contains("│ source MAC      02:00:0a:4d:00:01 "));
        assert!(drawn.contains("│ EtherType       0x0800 (IPv4): what the frame carries "));
        // Then the packet's boxes, as a bare packet's, inside the frame.
        let bare = boxes(&packet).unwrap();
        let inside: Vec<&str> = box_lines(&bare).iter().map(|l| l.trim_end()).collect();
        let at = lines
            .iter()
            .position(|l| l.contains("┌─ IPv4 header, 20 bytes"))
            .expect("the packet's boxes");
        for (i, packet_line) in inside.iter().enumerate() {
            assert!(
                lines[at + i].starts_with(&format!("│ {packet_line}")),
                "{drawn}"
            );
        }
        // Then the FCS, dashed: on the wire, not in the capture.
        let fcs = &lines[at + inside.len()..];
        assert!(fcs[0].starts_with("│ ┌╌ FCS, 4 bytes ╌"), "{drawn}");
        let words = fcs.join(" ");
        assert!(words.contains("a CRC-32 of the frame"), "{drawn}");
        assert!(words.contains("A TAP device and a capture do not carry it"));
        assert!(words.contains("this frame is 93 bytes."), "{drawn}");
        assert!(lines.last().unwrap().starts_with("└──"));
    }

    #[test]
    fn a_short_frame_is_padded_on_the_wire() {
        // A bare ACK: 14 + 20 + 20 = 54 bytes; a card pads it to 60 and adds the FCS.
        let frame = framed(SERVER_MAC, EtherType::Ipv4, &tcp_packet(Flags::ACK, b""));
        let drawn = frame_boxes(&frame).unwrap();
        let words: String = drawn
            .lines()
            .map(|l| l.trim_matches(['│', '╎', ' ']))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            words.contains(
                "on a real wire this frame is 64 bytes, after the 6 bytes of zeros a card pads \
                 a frame shorter than 60 with."
            ),
            "{drawn}"
        );
        assert!(!drawn.contains("data,"), "no data box for no data: {drawn}");
        assert_boxes_close(&drawn);
    }

    #[test]
    fn a_ping_shows_its_icmp_header_and_its_data_in_hex() {
        let request = icmp_header::Repr::EchoRequest {
            ident: 0xfe3d,
            seq_no: 1,
            data: &(0..56u8).collect::<Vec<u8>>(),
        };
        let mut message = vec![0u8; request.buffer_len()];
        request.emit(&mut message);
        let frame = framed(
            MacAddr::BROADCAST,
            EtherType::Ipv4,
            &ipv4(IpProtocol::Icmp, &message),
        );
        let drawn = frame_boxes(&frame).unwrap();
        assert!(drawn.contains("ICMP header, 8 bytes"), "{drawn}");
        assert!(drawn.contains("│ type 8: echo request "));
        assert!(drawn.contains("│ id 0xfe3d seq 1 "));
        assert!(drawn.contains("│ 00 01 02 03 04 05 06 07 "));
        assert!(drawn.contains("│ 10 11 12 13 14 15 16 17 "));
        assert!(
            !drawn.contains("18 19"),
            "three lines of hex at most: {drawn}"
        );
        assert!(drawn.contains("destination MAC ff:ff:ff:ff:ff:ff (broadcast)"));
        assert_boxes_close(&drawn);
    }

    #[test]
    fn each_medium_gets_its_own_drawing() {
        let packet = http_request_packet();
        let frame = framed(SERVER_MAC, EtherType::Ipv4, &packet);
        assert_eq!(boxes_on(Medium::Ip, &packet), boxes(&packet));
        assert_eq!(boxes_on(Medium::Ethernet, &frame), frame_boxes(&frame));
        // Each reading the other's bytes finds no packet it can draw.
        assert_eq!(boxes(&frame), None);
        assert_eq!(frame_boxes(&packet), None);
        // A frame around ARP holds no IP packet.
        assert_eq!(
            frame_boxes(&framed(MacAddr::BROADCAST, EtherType::Arp, &[0; 28])),
            None
        );
    }

    #[test]
    fn frames_of_a_capture_come_with_their_medium() {
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
        use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
        use pcap_file::pcapng::PcapNgWriter;
        use pcap_file::DataLink;
        use std::borrow::Cow;

        let packet = http_request_packet();
        let frame = framed(SERVER_MAC, EtherType::Ipv4, &packet);
        let mut writer = PcapNgWriter::new(Vec::new()).unwrap();
        for link in [DataLink::ETHERNET, DataLink::IPV4] {
            writer
                .write_pcapng_block(InterfaceDescriptionBlock::new(link, 65535))
                .unwrap();
        }
        for (interface_id, data) in [(0, &frame), (1, &packet)] {
            writer
                .write_pcapng_block(EnhancedPacketBlock {
                    interface_id,
                    timestamp: std::time::Duration::ZERO,
                    original_len: data.len() as u32,
                    data: Cow::Borrowed(data),
                    options: vec![],
                })
                .unwrap();
        }
        let path =
            std::env::temp_dir().join(format!("tunstack-encap-{}.pcapng", std::process::id()));
        std::fs::write(&path, writer.into_inner()).unwrap();
        let first = frame_of_capture(&path, 1);
        let second = frame_of_capture(&path, 2);
        let third = frame_of_capture(&path, 3);
        let _ = std::fs::remove_file(&path);
        assert_eq!(first, Some((Medium::Ethernet, frame)));
        assert_eq!(second, Some((Medium::Ip, packet)));
        assert_eq!(third, None);
    }

    #[test]
    fn garbage_draws_nothing() {
        assert_eq!(boxes(b"not a packet"), None);
        assert_eq!(frame_boxes(b"not a frame"), None);
    }
}
