//! Ladder diagrams: a capture file drawn as the course draws a conversation, one column per
//! side and one arrow per packet, read with tunstack's own header codecs.
//!
//! The course shows the client/server flow as a ladder:
//!
//! ```text
//!  SERVER                          CLIENT
//!    |<------- TCP SYN ---------------- |
//!    |-------- TCP SYN-ACK -----------> |
//!    |<------- TCP ACK ---------------- |
//! ```
//!
//! [`render()`] draws the same picture from a real capture (the client on the left), with each
//! packet's time, flags, relative sequence and acknowledgment numbers, data length and window,
//! and notes: options, a peek at the data, the frame comment the stack wrote, and what the
//! analysis found (retransmissions, lost and missing segments, duplicate ACKs):
//!
//! ```text
//! stream 0: TCP 10.77.0.1:49152 → 10.77.0.2:7, 6 packets
//!
//!      time  10.77.0.1:49152                          10.77.0.2:7
//!            client                                        server
//!            │                                                  │
//!  0.000000  │──── [SYN] seq=0 win=65535 ──────────────────────►│  mss=1460 ws=7 sackOK
//!  0.000010  │◄─── [SYN, ACK] seq=0 ack=1 win=65535 ────────────│  mss=1460 ws=7 sackOK
//!  0.000020  │──── [ACK] seq=1 ack=1 win=65535 ────────────────►│
//!  0.000030  │──── [PSH, ACK] seq=1 ack=1 len=5 win=65535 ────✗ │  lost: never acknowledged, ...
//!  0.200030  │──── [PSH, ACK] seq=1 ack=1 len=5 win=65535 ─────►│  retransmission of frame 4
//!  0.200040  │◄─── [ACK] seq=1 ack=6 win=65535 ─────────────────│
//! ```
//!
//! The work is split in four steps, each a module with one job:
//!
//! 1. [`read`]: the file (pcap or pcapng) and its link-layer headers → [`Frame`]s.
//! 2. [`decode`]: each IPv4 packet through tunstack's codecs → a [`Datagram`]; on Ethernet,
//!    each ARP packet too.
//! 3. [`stream`]: frames grouped by endpoints into [`Stream`]s (ARP with the IP packets it was
//!    asked for); [`rows()`]: a stream's packets → [`Row`]s, with TCP's relative numbers and the
//!    loss analysis.
//! 4. [`render`](mod@render): rows → lines.
//!
//! On an Ethernet capture (a TAP device's, or the tour's first step), ARP shows where it
//! happened, before the packet that needed it, and [`Style::mac`] puts each side's MAC address
//! under its IP address:
//!
//! ```text
//!      time  10.77.0.1                                     10.77.0.2
//!            02:00:0a:4d:00:01                     02:00:0a:4d:00:02
//!            client                                           server
//!            │                                                     │
//!  0.100000  │════ ARP who has 10.77.0.2? tell 10.77.0.1 ═════════►│  broadcast: to every host on the link
//!  0.120000  │◄─── ARP 10.77.0.2 is at 02:00:0a:4d:00:02 ──────────│
//!  0.120000  │──── ICMP echo request seq=1 len=56 ────────────────►│  id=0xfe3d
//! ```
//!
//! Steps 2 to 4 do no I/O: [`render()`] is a function from frames to lines, and the tests build
//! their frames by hand.

use std::time::Duration;

pub mod decode;
pub mod read;
pub mod render;
pub mod rows;
pub mod stream;

#[cfg(test)]
mod tests;

pub use decode::{Checksums, Content, Datagram, Direction, Frame, IcmpMessage, Transport};
pub use read::{read_file, read_from, CaptureFile, ReadError};
pub use render::{Style, TimeFormat};
pub use rows::{rows, Fate, Row, Side};
pub use stream::{streams, Protocol, Stream};

/// Which streams to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// The first TCP stream, or the first stream if there is no TCP; the others are listed.
    #[default]
    First,
    /// The stream with this number.
    Index(usize),
    /// Every stream, one ladder after another.
    All,
}

/// What to draw and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// Which streams.
    pub selection: Selection,
    /// How.
    pub style: Style,
}

/// Draws the ladders of a capture's frames, with a line about the file first and, after them,
/// what was left out and how to read the numbers.
///
/// `title` names the capture (its file name) in the first line. The error says that the
/// stream asked for does not exist.
pub fn render(
    title: &str,
    capture: &CaptureFile,
    options: &Options,
) -> Result<Vec<String>, String> {
    let frames = &capture.frames;
    let all = streams(frames);
    let ascii = options.style.ascii;
    let chosen: Vec<&Stream> = match options.selection {
        Selection::All => all.iter().collect(),
        Selection::Index(n) => match all.get(n) {
            Some(stream) => vec![stream],
            None if all.is_empty() => return Err("this capture has no streams".to_string()),
            None => {
                return Err(format!(
                    "there is no stream {n}: this capture has streams 0 to {}",
                    all.len() - 1
                ))
            }
        },
        Selection::First => all
            .iter()
            .find(|s| s.protocol == Protocol::Tcp)
            .or(all.first())
            .into_iter()
            .collect(),
    };

    let mut lines = vec![summary(title, capture, all.len())];
    if let Some(warning) = &capture.warning {
        lines.push(format!("warning: {warning}"));
    }
    if all.is_empty() {
        lines.push("no TCP, UDP or ICMP over IPv4 in this capture".to_string());
    }
    if options.style.mac && !frames.iter().any(|f| f.ethernet.is_some()) && !frames.is_empty() {
        lines.push(
            "--mac: no MAC addresses to show: the packets in this capture have no Ethernet \
             header (bare IP, as a TUN device carries them)"
                .to_string(),
        );
    }
    let base = frames.first().map_or(Duration::ZERO, |f| f.time);
    let mut shown_rows = Vec::new();
    for stream in &chosen {
        let rows = rows(frames, stream);
        lines.push(String::new());
        lines.push(format!(
            "stream {}: {}, {}",
            stream.index,
            stream.title(ascii),
            packets(frames, stream)
        ));
        lines.push(String::new());
        lines.extend(render::ladder(stream, &rows, base, &options.style));
        shown_rows.extend(rows);
    }

    let others: Vec<&Stream> = all
        .iter()
        .filter(|s| !chosen.iter().any(|c| c.index == s.index))
        .collect();
    if !others.is_empty() {
        lines.push(String::new());
        lines.push("other streams (--stream N draws one, --all draws every one):".to_string());
        for stream in others {
            lines.push(format!(
                "  {:>3}  {}, {}",
                stream.index,
                stream.title(ascii),
                packets(frames, stream)
            ));
        }
    }
    lines.extend(left_out(frames, &all));
    let arp_shown = chosen.iter().any(|stream| {
        (stream.frames.iter()).any(|&at| matches!(frames[at].content, Content::Arp(_)))
    });
    lines.extend(footnotes(&shown_rows, &chosen, arp_shown, ascii));
    Ok(lines)
}

/// How many packets a stream has, and how many of them are ARP: `8 packets, 4 of them ARP`.
fn packets(frames: &[Frame], stream: &Stream) -> String {
    let count = stream.frames.len();
    let arp = stream
        .frames
        .iter()
        .filter(|&&at| matches!(frames[at].content, Content::Arp(_)))
        .count();
    let mut text = format!("{count} packet{}", if count == 1 { "" } else { "s" });
    if arp > 0 && stream.protocol != Protocol::Arp {
        let them = if arp == 1 { "it" } else { "them" };
        text.push_str(&format!(", {arp} of {them} ARP"));
    }
    text
}

/// The first line: the file, its format, link types, and how many packets and streams.
fn summary(title: &str, capture: &CaptureFile, streams: usize) -> String {
    let packets = capture.frames.len();
    format!(
        "{title}: {}, {}, {packets} packet{}, {streams} stream{}",
        capture.format,
        if capture.link_types.is_empty() {
            "no interfaces".to_string()
        } else {
            capture.link_types.join(" + ")
        },
        if packets == 1 { "" } else { "s" },
        if streams == 1 { "" } else { "s" },
    )
}

/// Lines about the frames that are in no stream, grouped by why, with their frame numbers.
fn left_out(frames: &[Frame], streams: &[Stream]) -> Vec<String> {
    let mut in_a_stream = vec![false; frames.len()];
    for stream in streams {
        for &at in &stream.frames {
            in_a_stream[at] = true;
        }
    }
    let mut reasons: Vec<(String, Vec<u64>)> = Vec::new();
    for (frame, _) in frames.iter().zip(&in_a_stream).filter(|(_, &seen)| !seen) {
        let why = match &frame.content {
            Content::Unreadable(why) => why.clone(),
            Content::Arp(arp) => format!(
                "ARP announcement of {}, with no IP packet of that host to join",
                arp.sender_ip
            ),
            Content::Ipv4(datagram) => match &datagram.transport {
                Transport::Fragment => "an IPv4 fragment (not reassembled)".to_string(),
                Transport::Other => format!("IPv4 carrying {}", datagram.ip.protocol),
                Transport::Bad { error } => {
                    format!("{} header unreadable: {error}", datagram.ip.protocol)
                }
                Transport::Tcp { .. } | Transport::Udp { .. } | Transport::Icmp(_) => continue,
            },
        };
        match reasons.iter_mut().find(|(r, _)| *r == why) {
            Some((_, numbers)) => numbers.push(frame.number),
            None => reasons.push((why, vec![frame.number])),
        }
    }
    if reasons.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![String::new(), "not in any ladder:".to_string()];
    for (why, numbers) in reasons {
        let mut list: Vec<String> = numbers.iter().take(8).map(u64::to_string).collect();
        if numbers.len() > 8 {
            list.push("...".to_string());
        }
        let frames = if numbers.len() == 1 {
            "frame"
        } else {
            "frames"
        };
        lines.push(format!("  {why}: {frames} {}", list.join(", ")));
    }
    lines
}

/// How to read what was drawn: only the notes that apply (`arp`: ARP rows were drawn).
fn footnotes(rows: &[Row], streams: &[&Stream], arp: bool, ascii: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if arp {
        notes.push(
            "ARP finds the MAC address that goes with an IP address on this link (RFC 826): \
             \"who has X? tell Y\" goes to everyone, the answer \"X is at <MAC>\" to the asker \
             alone, and both remember it (ip neigh). ARP is drawn with the IP packets it was asked \
             for; it never leaves the link."
                .to_string(),
        );
    }
    if rows.iter().any(|r| r.broadcast) {
        let double = if ascii { "====>" } else { "════►" };
        notes.push(format!(
            "{double} broadcast: a frame to ff:ff:ff:ff:ff:ff, which every host on the link \
             receives; the ladder draws it to the other side, one of them."
        ));
    }
    if streams.iter().any(|s| s.protocol == Protocol::Tcp) {
        notes.push(
            "seq and ack are relative, as Wireshark shows them: each side counts from its own \
             SYN, which is seq=0, so its first byte of data is 1; ack is the next byte expected \
             from the other side. win is the window in bytes (scaled when both SYNs offered \
             window scaling)."
                .to_string(),
        );
    }
    let (lost, missing) = if ascii {
        ("x", "....x")
    } else {
        ("✗", "╌╌╌╌✗")
    };
    if rows.iter().any(|r| r.fate == Fate::Lost) {
        notes.push(format!(
            "{lost} lost: the capture saw the segment leave, the other side never acknowledged \
             it, and it was sent again."
        ));
    }
    if rows.iter().any(|r| r.fate == Fate::Missing) {
        notes.push(format!(
            "{missing} missing: sequence numbers the capture never saw, skipped over by the next \
             segment (Wireshark: \"previous segment not captured\")."
        ));
    }
    let bad = rows.iter().filter(|r| r.bad_checksum).count();
    if bad > 0 {
        notes.push(format!(
            "{bad} packet{} had a wrong checksum: normal for packets a host sends on loopback or \
             through a card that fills checksums in itself (offload); corrupted otherwise.",
            if bad == 1 { "" } else { "s" }
        ));
    }
    if rows.iter().any(|r| r.cut_short) {
        notes.push(
            "some packets were cut short by the capture's snap length: lengths come from their \
             headers."
                .to_string(),
        );
    }
    if notes.is_empty() {
        return notes;
    }
    let mut lines = vec![String::new()];
    for note in notes {
        lines.extend(wrap(&note, FOOTNOTE_WIDTH));
    }
    lines
}

/// Footnotes are wrapped to this many columns.
const FOOTNOTE_WIDTH: usize = 96;

/// Breaks `text` into lines of at most `width` characters, at spaces; the lines after the first
/// are indented by two.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.trim().is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, "  ".to_string()));
        }
        if !line.trim().is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}
