//! Tests of the ladder: packets built with tunstack's codecs (`emit`), read back as a capture
//! would be, and drawn.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tunstack::ip::header as ipv4;
use tunstack::ip::icmp::header as icmp;
use tunstack::ip::IpProtocol;
use tunstack::tcp::header as tcp;
use tunstack::tcp::{Flags, SackBlocks, SeqNumber};
use tunstack::udp::header as udp;

use super::decode::{decode_ipv4, Content, Direction, Frame};
use super::read::CaptureFile;
use super::{render, Options};

mod arp;
mod draw;
mod read;
mod tcp_analysis;

const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 1), 49152);
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 7);

/// An IPv4 packet around `payload`, built by the IPv4 codec.
fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = ipv4::Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
        payload_len: payload.len(),
    };
    let mut packet = vec![0; repr.total_len()];
    repr.emit(&mut packet);
    packet[ipv4::HEADER_LEN..].copy_from_slice(payload);
    packet
}

/// A TCP segment's header, for [`tcp_packet`].
#[derive(Clone, Copy)]
struct Segment {
    flags: Flags,
    seq: u32,
    ack: u32,
    window: u16,
    mss: Option<u16>,
    window_scale: Option<u8>,
    sack: Option<(u32, u32)>,
    /// The urgent pointer (sent as is; meaningful with URG).
    urgent: u16,
}

impl Segment {
    fn new(flags: Flags, seq: u32, ack: u32) -> Segment {
        Segment {
            flags,
            seq,
            ack,
            window: 65535,
            mss: None,
            window_scale: None,
            sack: None,
            urgent: 0,
        }
    }
}

/// A whole IPv4 + TCP packet, built by the codecs.
fn tcp_packet(src: SocketAddrV4, dst: SocketAddrV4, seg: Segment, data: &[u8]) -> Vec<u8> {
    let mut sack_blocks = SackBlocks::new();
    if let Some((left, right)) = seg.sack {
        sack_blocks.push(tunstack::tcp::SackBlock {
            left: SeqNumber(left),
            right: SeqNumber(right),
        });
    }
    let repr = tcp::Repr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNumber(seg.seq),
        ack: SeqNumber(seg.ack),
        flags: seg.flags,
        window: seg.window,
        urgent: seg.urgent,
        mss: seg.mss,
        window_scale: seg.window_scale,
        sack_permitted: seg.mss.is_some(),
        sack_blocks,
        timestamps: None,
        payload_len: data.len(),
    };
    let mut segment = vec![0; repr.buffer_len()];
    segment[repr.header_len()..].copy_from_slice(data);
    repr.emit(&mut segment, *src.ip(), *dst.ip());
    ipv4_packet(*src.ip(), *dst.ip(), IpProtocol::Tcp, &segment)
}

/// A whole IPv4 + UDP packet.
fn udp_packet(src: SocketAddrV4, dst: SocketAddrV4, data: &[u8]) -> Vec<u8> {
    let repr = udp::Repr {
        src_port: src.port(),
        dst_port: dst.port(),
        payload_len: data.len(),
    };
    let mut datagram = vec![0; repr.buffer_len()];
    datagram[udp::HEADER_LEN..].copy_from_slice(data);
    repr.emit(&mut datagram, *src.ip(), *dst.ip());
    ipv4_packet(*src.ip(), *dst.ip(), IpProtocol::Udp, &datagram)
}

/// A whole IPv4 + ICMP packet.
fn icmp_packet(src: Ipv4Addr, dst: Ipv4Addr, repr: &icmp::Repr) -> Vec<u8> {
    let mut message = vec![0; repr.buffer_len()];
    repr.emit(&mut message);
    ipv4_packet(src, dst, IpProtocol::Icmp, &message)
}

/// A capture being written by a test: frames 1 ms apart unless told otherwise.
#[derive(Default)]
struct Trace {
    frames: Vec<Frame>,
    now: Duration,
}

/// The time the test captures start at: 2026-01-01 00:00:00 UTC.
const EPOCH: Duration = Duration::from_secs(1_767_225_600);

impl Trace {
    /// Adds a packet 1 ms after the last one.
    fn packet(&mut self, bytes: Vec<u8>) -> &mut Frame {
        self.after(Duration::from_millis(1), bytes)
    }

    /// Adds a packet `gap` after the last one (the first one at `EPOCH`).
    fn after(&mut self, gap: Duration, bytes: Vec<u8>) -> &mut Frame {
        self.now = if self.frames.is_empty() {
            EPOCH
        } else {
            self.now + gap
        };
        let content = match decode_ipv4(&bytes) {
            Ok(datagram) => Content::Ipv4(datagram),
            Err(why) => Content::Unreadable(why),
        };
        self.frames.push(Frame {
            number: self.frames.len() as u64 + 1,
            time: self.now,
            direction: None,
            comment: None,
            ethernet: None,
            content,
        });
        self.frames.last_mut().expect("just pushed")
    }

    /// A segment from the client to the server.
    fn up(&mut self, seg: Segment, data: &[u8]) -> &mut Frame {
        self.packet(tcp_packet(CLIENT, SERVER, seg, data))
    }

    /// A segment from the server to the client.
    fn down(&mut self, seg: Segment, data: &[u8]) -> &mut Frame {
        self.packet(tcp_packet(SERVER, CLIENT, seg, data))
    }

    fn capture(&self) -> CaptureFile {
        CaptureFile {
            format: "pcapng",
            link_types: vec!["raw IPv4 (228)".to_string()],
            frames: self.frames.clone(),
            warning: None,
        }
    }

    /// The lines [`render`] draws with `options`.
    fn render(&self, options: &Options) -> Vec<String> {
        render("test.pcapng", &self.capture(), options).expect("renders")
    }

    /// The ladder's packet rows only (lines with a time and an arrow), default options.
    fn arrows(&self) -> Vec<String> {
        arrows(&self.render(&Options::default()))
    }
}

/// The lines of a drawing that are packet rows: they have something between the rails.
fn arrows(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| {
            line.contains(['►', '◄', '✗', '>', '<', 'x'])
                && (line.contains('│') || line.contains('|'))
        })
        .cloned()
        .collect()
}

/// A row with its time and surrounding spaces taken off, and runs of line characters shortened
/// to one, so a test can say what a row means without counting dashes.
fn squeeze(line: &str) -> String {
    let mut out = String::new();
    let mut last = None;
    let body = line.trim_start();
    // The time, unless the row has none (a missing segment's).
    let body = match body.starts_with(['│', '|']) {
        true => body,
        false => body.split_once(' ').map_or(body, |(_, rest)| rest).trim(),
    };
    for c in body.chars() {
        if matches!(c, '─' | '╌' | '═') && last == Some(c) {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    out
}

/// A handshake: client ISN `c`, server ISN `s`. Returns the next sequence numbers.
fn handshake(trace: &mut Trace, c: u32, s: u32) -> (u32, u32) {
    let mut syn = Segment::new(Flags::SYN, c, 0);
    syn.mss = Some(1460);
    syn.window_scale = Some(7);
    trace.up(syn, b"");
    let mut syn_ack = Segment::new(Flags::SYN | Flags::ACK, s, c.wrapping_add(1));
    syn_ack.mss = Some(1460);
    syn_ack.window_scale = Some(7);
    trace.down(syn_ack, b"");
    trace.up(
        Segment::new(Flags::ACK, c.wrapping_add(1), s.wrapping_add(1)),
        b"",
    );
    (c.wrapping_add(1), s.wrapping_add(1))
}

#[allow(dead_code)]
fn set_direction(frame: &mut Frame, direction: Direction) {
    frame.direction = Some(direction);
}
