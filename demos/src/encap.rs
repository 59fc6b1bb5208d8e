//! Encapsulation, drawn: one real packet as nested boxes, header by header, with its values.
//!
//! ```text
//! ┌─ IPv4 header ── 20 bytes ─┬─ TCP header ── 32 bytes ─┬─ data ── 78 bytes ────────┐
//! │ 10.77.0.1 → 10.77.0.2     │ 49152 → 80               │ GET / HTTP/1.1            │
//! │ ...                       │ ...                      │ ...                       │
//! └───────────────────────────┴──────────────────────────┴───────────────────────────┘
//! ```
//!
//! Each layer puts its header in front of what the layer above gave it; the boxes show the
//! result on the wire, read with the stack's own parsers.

use tunstack::ip::header::{self as ip_header, IpProtocol};
use tunstack::tcp::header as tcp_header;
use tunstack::udp::header as udp_header;

/// The IPv4 packet in frame `number` (counting from 1) of one of our pcapng captures (link type
/// raw IPv4), or `None` if there is no such frame or the file cannot be read.
pub fn frame_of_capture(path: &std::path::Path, number: usize) -> Option<Vec<u8>> {
    use pcap_file::pcapng::{Block, PcapNgReader};
    let file = std::fs::File::open(path).ok()?;
    let mut reader = PcapNgReader::new(file).ok()?;
    let mut seen = 0;
    while let Some(block) = reader.next_block() {
        if let Ok(Block::EnhancedPacket(packet)) = block {
            seen += 1;
            if seen == number {
                return Some(packet.data.into_owned());
            }
        }
    }
    None
}

/// One box: a title and its lines.
struct Part {
    title: String,
    lines: Vec<String>,
}

/// The packet as boxes, one per layer, or `None` if it is not an IPv4 packet this can read.
pub fn boxes(packet: &[u8]) -> Option<String> {
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
        _ => segment,
    };
    if !data.is_empty() {
        let text = String::from_utf8_lossy(data);
        let mut lines: Vec<String> = text
            .lines()
            .take(4)
            .map(|line| line.chars().take(30).collect())
            .collect();
        if text.lines().count() > 4 {
            lines.push("…".into());
        }
        parts.push(Part {
            title: format!("data, {} bytes", data.len()),
            lines,
        });
    }
    Some(draw(&parts))
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
    use tunstack::tcp::{Flags, SackBlocks, SeqNumber};

    fn http_request_packet() -> Vec<u8> {
        let data = b"GET / HTTP/1.1\r\nHost: 10.77.0.2\r\n\r\n";
        let tcp = tcp_header::Repr {
            src_port: 49152,
            dst_port: 80,
            seq: SeqNumber(1),
            ack: SeqNumber(1),
            flags: Flags::PSH | Flags::ACK,
            window: 512,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::default(),
            timestamps: None,
            payload_len: data.len(),
        };
        let src = Ipv4Addr::new(10, 77, 0, 1);
        let dst = Ipv4Addr::new(10, 77, 0, 2);
        let ip = ip_header::Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::Tcp,
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len: tcp.buffer_len(),
        };
        let mut packet = vec![0u8; ip.total_len()];
        ip.emit(&mut packet);
        packet[40..].copy_from_slice(data);
        tcp.emit(&mut packet[20..], src, dst);
        packet
    }

    #[test]
    fn three_boxes_for_an_http_request() {
        let drawn = boxes(&http_request_packet()).unwrap();
        assert!(drawn.contains("IPv4 header, 20 bytes"), "{drawn}");
        assert!(drawn.contains("TCP header, 20 bytes"));
        assert!(drawn.contains("data, 35 bytes"));
        assert!(drawn.contains("GET / HTTP/1.1"));
        assert!(drawn.contains("10.77.0.1 → 10.77.0.2"));
        // Every line is as wide as the others: the boxes close.
        let widths: Vec<usize> = drawn.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{drawn}");
    }

    #[test]
    fn garbage_draws_nothing() {
        assert_eq!(boxes(b"not a packet"), None);
    }
}
