//! From a stream's packets to the rows of its ladder: what each arrow says, which way it goes,
//! and what happened to it.
//!
//! For TCP this is where the reading happens, the way Wireshark's TCP analysis does it, kept
//! simple enough to explain in one sentence each:
//!
//! - **Relative numbers.** Each side counts its sequence numbers from its own SYN, which is 0,
//!   so its first byte of data is 1 ([`SeqNumber::unwrap`] against the side's ISN, so a stream
//!   that wraps past 2^32 keeps counting up). An ACK is shown in the other side's numbers.
//! - **Retransmission.** A segment that starts below the highest sequence number its side had
//!   already sent repeats bytes (or a SYN or FIN) sent before.
//! - **Lost.** The earlier copy of a retransmitted segment, if the other side had not
//!   acknowledged it by then and the capture did not see it arrive: it was sent and, as far as
//!   the capture can tell, never got there. It ends in ✗.
//! - **Missing.** A segment that starts above the highest sequence number its side had sent
//!   leaves a gap: the bytes in between were sent but never captured, lost before the capture
//!   point (Wireshark: "previous segment not captured"). The gap gets a row of its own, dashed.
//! - **Duplicate ACK.** An ACK with no data that repeats the last acknowledgment number and
//!   window of its side while the other side has bytes outstanding: the receiver saying again
//!   "I am still waiting for this byte", three of which start fast retransmit (RFC 5681).
//! - **Urgent data.** A segment with URG shows its urgent pointer (`up=1`) and, in the notes,
//!   where the urgent data ends: the byte after the last urgent one (RFC 9293 3.8.5, RFC 6093).
//!
//! ARP rows say what Wireshark's summary says: `ARP who has 10.77.0.2? tell 10.77.0.1` for a
//! request, `ARP 10.77.0.2 is at 02:00:0a:4d:00:02` for a reply, and `ARP announcement` for a
//! host telling everyone its own address. A frame to the broadcast MAC address, as a request
//! is, goes to every host on the link: its row is [`Row::broadcast`].

use std::time::Duration;

use tunstack::tcp::header::Repr as TcpRepr;
use tunstack::tcp::SeqNumber;

use tunstack::ip::IpProtocol;
use tunstack::link::arp::header::{self as arp, Operation};
use tunstack::link::ethernet::header as ethernet;

use super::decode::{
    is_gratuitous, Checksums, Content, Datagram, Direction, Frame, IcmpMessage, Quoted, Transport,
};
use super::stream::{Protocol, Stream};

/// Which column a row starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The left column.
    Client,
    /// The right column.
    Server,
}

/// What happened to a packet, as the arrow's end shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Captured, and as far as the capture tells, delivered: the arrow reaches the other side.
    Arrived,
    /// Captured, but never acknowledged and sent again later: it stops short with ✗.
    Lost,
    /// Never captured: sequence numbers its sender skipped over. A dashed arrow with ✗.
    Missing,
}

/// One row of a ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The frame number, or `None` for a [`Fate::Missing`] row.
    pub frame: Option<u64>,
    /// When it was captured (since the Unix epoch); `None` for a missing row.
    pub time: Option<Duration>,
    /// Which side sent it.
    pub from: Side,
    /// The words on the arrow, most important first: the renderer puts as many as fit on the
    /// arrow and the rest with the notes.
    pub label: Vec<String>,
    /// What happened to it.
    pub fate: Fate,
    /// Notes after the ladder: the analysis, options, a peek at the data, the frame comment.
    pub notes: Vec<String>,
    /// Its checksums were wrong (the renderer decides whether to say so).
    pub bad_checksum: bool,
    /// The capture kept only part of it.
    pub cut_short: bool,
    /// Its Ethernet header (MAC addresses), on an Ethernet capture.
    pub ethernet: Option<ethernet::Repr>,
    /// It went to the broadcast MAC address (ff:ff:ff:ff:ff:ff): to every host on the link.
    pub broadcast: bool,
}

/// The rows of one stream's ladder, in capture order, with rows for missing segments.
pub fn rows(frames: &[Frame], stream: &Stream) -> Vec<Row> {
    let mut tcp = TcpAnalysis::default();
    let mut rows = Vec::new();
    for &at in &stream.frames {
        let Some(frame) = frames.get(at) else {
            continue;
        };
        let datagram = match &frame.content {
            Content::Ipv4(datagram) => datagram,
            Content::Arp(arp) => {
                rows.push(arp_row(frame, stream, arp));
                continue;
            }
            Content::Unreadable(_) => continue,
        };
        let mut row = Row {
            frame: Some(frame.number),
            time: Some(frame.time),
            from: side_of(stream, datagram),
            label: Vec::new(),
            fate: Fate::Arrived,
            notes: Vec::new(),
            bad_checksum: datagram.checksums == Checksums::Bad,
            cut_short: datagram.cut_short,
            ethernet: frame.ethernet,
            broadcast: frame.ethernet.is_some_and(|e| e.dst_addr.is_broadcast()),
        };
        let mut data_preview = None;
        match &datagram.transport {
            Transport::Tcp { header, preview } => {
                tcp.segment(&mut rows, &mut row, header, frame.direction);
                data_preview = Some(preview);
            }
            Transport::Udp { header, preview } => {
                row.label = vec!["UDP".to_string(), format!("len={}", header.payload_len)];
                data_preview = Some(preview);
            }
            Transport::Icmp(message) => icmp_row(&mut row, stream, datagram, message),
            Transport::Fragment | Transport::Other | Transport::Bad { .. } => continue,
        }
        if let Some(preview) = data_preview.filter(|p| !p.is_empty()) {
            row.notes.push(show_data(preview, payload_len(datagram)));
        }
        if let Some(comment) = &frame.comment {
            row.notes.push(format!("# {comment}"));
        }
        rows.push(row);
    }
    rows
}

/// The row of an ARP frame: a question to everyone or an answer to one, from the side whose
/// address is the sender's.
fn arp_row(frame: &Frame, stream: &Stream, arp: &arp::Repr) -> Row {
    let from = if arp.sender_ip == *stream.client.ip() {
        Side::Client
    } else {
        Side::Server
    };
    let label = if is_gratuitous(arp) {
        vec![
            "ARP announcement".to_string(),
            format!("{} is at {}", arp.sender_ip, arp.sender_mac),
        ]
    } else {
        match arp.operation {
            Operation::Reply => vec![
                format!("ARP {} is at", arp.sender_ip),
                arp.sender_mac.to_string(),
            ],
            _ => vec![
                format!("ARP who has {}?", arp.target_ip),
                format!("tell {}", arp.sender_ip),
            ],
        }
    };
    let broadcast = frame.ethernet.is_some_and(|e| e.dst_addr.is_broadcast());
    let mut notes = Vec::new();
    if broadcast {
        notes.push("broadcast: to every host on the link".to_string());
    } else if arp.operation == Operation::Request && !is_gratuitous(arp) {
        // A request to one MAC address: checking that an entry it has still holds.
        notes.push("unicast: checking a known address".to_string());
    }
    if let Some(comment) = &frame.comment {
        notes.push(format!("# {comment}"));
    }
    Row {
        frame: Some(frame.number),
        time: Some(frame.time),
        from,
        label,
        fate: Fate::Arrived,
        notes,
        bad_checksum: false,
        cut_short: false,
        ethernet: frame.ethernet,
        broadcast,
    }
}

/// Which side sent a packet: the client if it comes from the client's address (and port), or if
/// it is an ICMP error going to the server.
fn side_of(stream: &Stream, datagram: &Datagram) -> Side {
    let is_error = matches!(
        datagram.transport,
        Transport::Icmp(IcmpMessage::DstUnreachable { .. } | IcmpMessage::TimeExceeded { .. })
    );
    let from_client = if is_error {
        datagram.ip.dst_addr != *stream.client.ip()
    } else if stream.protocol == Protocol::Icmp {
        datagram.ip.src_addr == *stream.client.ip()
    } else {
        datagram.src() == stream.client
    };
    if from_client {
        Side::Client
    } else {
        Side::Server
    }
}

fn payload_len(datagram: &Datagram) -> usize {
    match &datagram.transport {
        Transport::Tcp { header, .. } => header.payload_len,
        Transport::Udp { header, .. } => header.payload_len,
        _ => 0,
    }
}

/// The first bytes of the data, in quotes, e.g. `"GET / HTTP/1.1\r\n…"`: printable ASCII as it
/// is, line ends as `\r` and `\n`, anything else as `.`.
fn show_data(preview: &[u8], len: usize) -> String {
    let mut text = String::from("\"");
    for &byte in preview {
        match byte {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'"' => text.push_str("\\\""),
            b' '..=b'~' => text.push(char::from(byte)),
            _ => text.push('.'),
        }
    }
    text.push('"');
    if len > preview.len() {
        text.push_str("...");
    }
    text
}

/// Fills in an ICMP row.
fn icmp_row(row: &mut Row, stream: &Stream, datagram: &Datagram, message: &IcmpMessage) {
    let (label, notes): (Vec<String>, Vec<String>) = match *message {
        IcmpMessage::EchoRequest { ident, seq_no, len } => (
            vec![
                "ICMP echo request".into(),
                format!("seq={seq_no}"),
                format!("len={len}"),
            ],
            vec![format!("id={ident:#06x}")],
        ),
        IcmpMessage::EchoReply { ident, seq_no, len } => (
            vec![
                "ICMP echo reply".into(),
                format!("seq={seq_no}"),
                format!("len={len}"),
            ],
            vec![format!("id={ident:#06x}")],
        ),
        IcmpMessage::DstUnreachable { reason, quoted } => (
            vec![format!("ICMP {reason}")],
            quoted.map(about).into_iter().collect(),
        ),
        IcmpMessage::TimeExceeded { reason, quoted } => (
            vec![format!("ICMP time exceeded ({reason})")],
            quoted.map(about).into_iter().collect(),
        ),
        IcmpMessage::Other { msg_type, code } => {
            (vec![format!("ICMP type={msg_type} code={code}")], vec![])
        }
    };
    row.label = label;
    row.notes = notes;
    // A router on the way may answer for the far end: say who it was.
    let sender = datagram.ip.src_addr;
    if sender != *stream.client.ip() && sender != *stream.server.ip() {
        row.notes.push(format!("from {sender}"));
    }
}

/// What an ICMP error is about, e.g. `about the UDP packet to 10.77.0.2:9999`.
fn about(quoted: Quoted) -> String {
    let to = match quoted.protocol {
        IpProtocol::Tcp | IpProtocol::Udp => quoted.dst.to_string(),
        _ => quoted.dst.ip().to_string(),
    };
    format!("about the {} packet to {to}", quoted.protocol)
}

/// One direction's sequence space, as the capture has seen it so far.
#[derive(Debug, Default)]
struct Flow {
    /// The initial sequence number: the SYN's, or one below the first segment's.
    isn: Option<SeqNumber>,
    /// The highest relative number seen, to unwrap the next one near it.
    checkpoint: u64,
    /// The end of the highest segment sent: the next new sequence number.
    next: Option<u64>,
    /// What the other side has acknowledged, in this flow's relative numbers.
    acked: u64,
    /// The window scale in this side's SYN.
    window_scale: Option<u8>,
    /// Whether this side's SYN was seen (window scaling needs both).
    syn_seen: bool,
    /// The segments sent that take sequence space, to find the lost ones.
    sent: Vec<Sent>,
    /// This side's last acknowledgment (in the other side's numbers) and window field.
    last_ack: Option<(u64, u16)>,
    /// Duplicate ACKs in a row.
    dup_acks: u32,
}

/// A segment that took sequence space.
#[derive(Debug)]
struct Sent {
    /// Its row.
    row: usize,
    /// Its relative sequence range.
    start: u64,
    end: u64,
    /// The capture saw it arrive (inbound), so it was not lost on the way here.
    arrived: bool,
    /// The frame number, to name it in the retransmission's notes.
    frame: Option<u64>,
}

/// Both directions of a TCP connection.
#[derive(Debug, Default)]
struct TcpAnalysis {
    client: Flow,
    server: Flow,
}

impl TcpAnalysis {
    fn flows(&mut self, from: Side) -> (&mut Flow, &mut Flow) {
        match from {
            Side::Client => (&mut self.client, &mut self.server),
            Side::Server => (&mut self.server, &mut self.client),
        }
    }

    /// Reads one segment into `row`; may mark earlier rows lost, and adds a missing row to
    /// `rows` before this one when the segment leaves a gap.
    fn segment(
        &mut self,
        rows: &mut Vec<Row>,
        row: &mut Row,
        tcp: &TcpRepr,
        direction: Option<Direction>,
    ) {
        let (me, peer) = self.flows(row.from);
        let flags = tcp.flags;
        let isn = *me
            .isn
            .get_or_insert(if flags.syn() { tcp.seq } else { tcp.seq - 1 });
        let start = tcp.seq.unwrap(isn, me.checkpoint);
        let end = start + tcp.segment_len() as u64;
        me.checkpoint = me.checkpoint.max(start);
        if flags.syn() {
            me.syn_seen = true;
            me.window_scale = tcp.window_scale;
        }
        let ack = flags.ack().then(|| {
            let peer_isn = *peer.isn.get_or_insert(tcp.ack - 1);
            let ack = tcp.ack.unwrap(peer_isn, peer.checkpoint);
            peer.checkpoint = peer.checkpoint.max(ack);
            ack
        });

        let mut analysis = Vec::new();
        if end > start && !flags.rst() {
            let (me, _) = self.flows(row.from);
            match me.next {
                Some(next) if start > next => {
                    rows.push(missing_row(row.from, next, start));
                    me.next = Some(end);
                }
                Some(next) if start < next => {
                    if tcp.payload_len <= 1 && !flags.syn() && !flags.fin() && end == next {
                        analysis.push("keep-alive".to_string());
                    } else {
                        analysis.push(retransmission(rows, me, start, end, row.frame));
                    }
                    me.next = Some(next.max(end));
                }
                _ => me.next = Some(end),
            }
            me.sent.push(Sent {
                row: rows.len(),
                start,
                end,
                arrived: direction == Some(Direction::Inbound),
                frame: row.frame,
            });
        }

        let (me, peer) = self.flows(row.from);
        if let Some(ack) = ack {
            peer.acked = peer.acked.max(ack);
            let pure = tcp.payload_len == 0 && !flags.syn() && !flags.fin() && !flags.rst();
            let outstanding = peer.next.is_some_and(|next| next > ack);
            if pure && outstanding && me.last_ack == Some((ack, tcp.window)) {
                me.dup_acks += 1;
                analysis.push(format!("dup ack #{}", me.dup_acks));
            } else {
                me.dup_acks = 0;
            }
            me.last_ack = Some((ack, tcp.window));
        }
        if flags.rst() {
            analysis.push("reset: the connection is over".to_string());
        } else if tcp.window == 0 {
            analysis.push("zero window: stop sending".to_string());
        }

        // A window after the SYNs is scaled by the sender's shift, if both SYNs offered one.
        let (me, peer) = self.flows(row.from);
        let scaled = !flags.syn() && me.syn_seen && peer.syn_seen;
        let window = match (scaled, me.window_scale, peer.window_scale) {
            (true, Some(shift), Some(_)) => u64::from(tcp.window) << shift.min(14),
            _ => u64::from(tcp.window),
        };
        row.label = label(tcp, start, ack, window);
        if flags.urg() {
            let mark = start + u64::from(tcp.urgent);
            analysis.push(format!("urgent data ends at seq={mark} (the urgent mark)"));
        }
        row.notes = analysis;
        row.notes.extend(options(tcp, peer));
    }
}

/// The words on a TCP arrow: flags, relative numbers, length, the urgent pointer (with URG:
/// the urgent data ends that many bytes after `seq`, RFC 9293 3.8.5), the window.
fn label(tcp: &TcpRepr, start: u64, ack: Option<u64>, window: u64) -> Vec<String> {
    let mut label = vec![tcp.flags.to_string(), format!("seq={start}")];
    if let Some(ack) = ack {
        label.push(format!("ack={ack}"));
    }
    if tcp.payload_len > 0 {
        label.push(format!("len={}", tcp.payload_len));
    }
    if tcp.flags.urg() {
        label.push(format!("up={}", tcp.urgent));
    }
    label.push(format!("win={window}"));
    label
}

/// A row for sequence numbers `start..end` that the capture never saw.
fn missing_row(from: Side, start: u64, end: u64) -> Row {
    Row {
        frame: None,
        time: None,
        from,
        label: vec![format!("seq={start}"), format!("len={}", end - start)],
        fate: Fate::Missing,
        notes: vec!["not captured: lost before the capture point".to_string()],
        bad_checksum: false,
        cut_short: false,
        ethernet: None,
        broadcast: false,
    }
}

/// Marks the earlier copies of `start..end` lost when nothing shows they got through, and
/// returns the note for the retransmission.
fn retransmission(rows: &mut [Row], me: &Flow, start: u64, end: u64, frame: Option<u64>) -> String {
    let mut original = None;
    for sent in me.sent.iter().rev() {
        if sent.end <= start || sent.start >= end {
            continue;
        }
        original.get_or_insert(sent.frame);
        let unacknowledged = sent.end > me.acked;
        if let Some(row) = rows.get_mut(sent.row) {
            if unacknowledged && !sent.arrived && row.fate == Fate::Arrived {
                row.fate = Fate::Lost;
                let again = frame.map(|n| format!(" in frame {n}")).unwrap_or_default();
                row.notes
                    .insert(0, format!("lost: never acknowledged, sent again{again}"));
            }
        }
    }
    match original.flatten() {
        Some(n) => format!("retransmission of frame {n}"),
        None => "retransmission".to_string(),
    }
}

/// The options worth showing: the SYN's offers, and SACK blocks in the other side's numbers.
fn options(tcp: &TcpRepr, peer: &Flow) -> Vec<String> {
    let mut offered = Vec::new();
    if let Some(mss) = tcp.mss {
        offered.push(format!("mss={mss}"));
    }
    if let Some(shift) = tcp.window_scale {
        offered.push(format!("ws={shift}"));
    }
    if tcp.sack_permitted {
        offered.push("sackOK".to_string());
    }
    if tcp.flags.syn() && tcp.timestamps.is_some() {
        offered.push("ts".to_string());
    }
    if let Some(isn) = peer.isn {
        for block in tcp.sack_blocks.as_slice() {
            let left = block.left.unwrap(isn, peer.checkpoint);
            let right = block.right.unwrap(isn, peer.checkpoint);
            offered.push(format!("sack={left}-{right}"));
        }
    }
    if offered.is_empty() {
        Vec::new()
    } else {
        vec![offered.join(" ")]
    }
}
