//! Drawing: rows to lines of text, in the course's client/server diagram.
//!
//! ```text
//!       time  10.77.0.1:49152                       10.77.0.2:7
//!             client                                     server
//!             │                                               │
//!   0.000000  │──── [SYN] seq=0 win=65535 ───────────────────►│  mss=1460 ws=7 sackOK
//!   0.000000  │◄─── [SYN, ACK] seq=0 ack=1 win=65535 ─────────│  mss=1460 ws=7 sackOK
//!   0.000000  │──── [ACK] seq=1 ack=1 win=65535 ─────────────►│
//!   0.000000  │──── [PSH, ACK] seq=1 ack=1 len=1460 ────────✗ │  lost: never acknowledged, ...
//! ```
//!
//! Everything here is a pure function of the rows and the options, so the tests check the
//! lines themselves. Arrows are measured in `char`s: every character drawn on the ladder (box
//! drawing, arrowheads, ASCII labels) takes one terminal column.

use std::time::Duration;

use super::rows::{Fate, Row, Side};
use super::stream::{endpoint, Stream};

/// How to show time in the first column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// Seconds since the first packet of the file (Wireshark's default).
    #[default]
    Relative,
    /// Seconds since the previous row of the same ladder: round trips at a glance.
    Delta,
    /// The time of day the packet was captured, UTC.
    Absolute,
}

/// How to draw a ladder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Style {
    /// Rows to draw per ladder before a "... N more" line; `None` draws them all.
    pub max_rows: Option<usize>,
    /// The ladder's width from rail to rail, both included; `None` fits the labels (40 to 80).
    pub width: Option<usize>,
    /// How to show time.
    pub time: TimeFormat,
    /// Only ASCII characters, for terminals without box drawing.
    pub ascii: bool,
    /// Show each side's MAC address under its IP address, on an Ethernet capture; an arrow whose
    /// frame went to or came from another MAC address (broadcast, or another card) says which.
    pub mac: bool,
}

/// The characters a ladder is drawn with.
struct Glyphs {
    rail: char,
    line: char,
    dashed: char,
    /// A broadcast frame's arrow.
    double: char,
    right: char,
    left: char,
    lost: char,
    ellipsis: &'static str,
}

const UNICODE: Glyphs = Glyphs {
    rail: '│',
    line: '─',
    dashed: '╌',
    double: '═',
    right: '►',
    left: '◄',
    lost: '✗',
    ellipsis: "…",
};

const ASCII: Glyphs = Glyphs {
    rail: '|',
    line: '-',
    dashed: '.',
    double: '=',
    right: '>',
    left: '<',
    lost: 'x',
    ellipsis: "...",
};

/// The narrowest ladder drawn: a flag and a sequence number still fit.
const MIN_WIDTH: usize = 24;
/// Widths chosen to fit the labels stay within these.
const AUTO_WIDTH: (usize, usize) = (40, 80);
/// Cells an arrow needs besides its label: four of line, two spaces, one of line, the head, and
/// one more for a lost arrow's gap before the rail.
const ARROW_CELLS: usize = 9;

/// Draws one stream's ladder: the column labels, then one line per row.
///
/// `base` is the time relative times count from (the file's first packet).
pub fn ladder(stream: &Stream, rows: &[Row], base: Duration, style: &Style) -> Vec<String> {
    let glyphs = if style.ascii { &ASCII } else { &UNICODE };
    let left = endpoint(stream.protocol, stream.client);
    let right = endpoint(stream.protocol, stream.server);
    let shown = style.max_rows.map_or(rows.len(), |max| max.min(rows.len()));
    let rows_shown = &rows[..shown];
    let macs = style.mac.then(|| side_macs(rows)).flatten();

    let inner = match style.width {
        Some(width) => width.max(MIN_WIDTH) - 2,
        None => {
            let longest = rows_shown
                .iter()
                .map(|row| row.label.join(" ").chars().count() + ARROW_CELLS + 2)
                .chain([left.len() + right.len() + 4])
                .chain(macs.iter().map(|(l, r)| l.len() + r.len() + 4))
                .max()
                .unwrap_or(0);
            longest.clamp(AUTO_WIDTH.0, AUTO_WIDTH.1) - 2
        }
    };

    let times: Vec<String> = time_column(rows_shown, base, style.time);
    let heading = match style.time {
        TimeFormat::Relative => "time",
        TimeFormat::Delta => "delta",
        TimeFormat::Absolute => "UTC",
    };
    let time_width = times
        .iter()
        .map(String::len)
        .chain([heading.len()])
        .max()
        .unwrap_or(0);
    let pad = " ".repeat(time_width + 2);

    let mut lines = Vec::new();
    let span = inner + 2;
    let heading = format!("{heading:>time_width$}  ");
    lines.extend(two_labels(&heading, &pad, &left, &right, span));
    if let Some((left_mac, right_mac)) = &macs {
        lines.extend(two_labels(&pad, &pad, left_mac, right_mac, span));
    }
    lines.push(format!(
        "{pad}client{:>width$}",
        "server",
        width = span - "client".len()
    ));
    let empty = format!("{pad}{}{}{}", glyphs.rail, " ".repeat(inner), glyphs.rail);
    lines.push(empty.clone());
    // On loopback, or with checksum offload, most packets have a wrong checksum: a note on every
    // row would say nothing, so then only the footnote says it.
    let bad = rows_shown.iter().filter(|row| row.bad_checksum).count();
    let mark_bad = bad * 2 <= rows_shown.len();
    for (row, time) in rows_shown.iter().zip(&times) {
        let (arrow, overflow) = arrow(row, inner, glyphs);
        let mut line = format!("{time:>time_width$}  {}{arrow}{}", glyphs.rail, glyphs.rail);
        // The label's words that did not fit stay together, as one note.
        let overflow = (!overflow.is_empty()).then(|| overflow.join(" "));
        let notes: Vec<&str> = overflow
            .iter()
            .chain(&row.notes)
            .map(String::as_str)
            .collect();
        let checksum = (mark_bad && row.bad_checksum).then_some("bad checksum");
        let other_mac = macs.as_ref().and_then(|macs| other_mac(row, macs));
        let notes: Vec<&str> = checksum
            .into_iter()
            .chain(other_mac.as_deref())
            .chain(notes)
            .collect();
        if !notes.is_empty() {
            line.push_str("  ");
            line.push_str(&notes.join("  "));
        }
        lines.push(line);
    }
    if shown < rows.len() {
        let more = rows.len() - shown;
        let plural = if more == 1 { "" } else { "s" };
        lines.push(format!(
            "{pad}{} {more} more row{plural} (--max-rows to show more)",
            glyphs.ellipsis
        ));
    } else {
        lines.push(empty);
    }
    lines
}

/// Two labels on one line, the first at the left rail and the second ending at the right one;
/// on two lines when they do not fit on one. `first` starts the first line, `pad` the second.
fn two_labels(first: &str, pad: &str, left: &str, right: &str, span: usize) -> Vec<String> {
    if left.len() + 1 + right.len() <= span {
        let gap = span - left.len();
        vec![format!("{first}{left}{right:>gap$}")]
    } else {
        vec![format!("{first}{left}"), format!("{pad}{right:>span$}")]
    }
}

/// Each side's MAC address: the source of the first frame it sent, else the destination of the
/// first frame sent to it that was not a broadcast. `None` when no row has an Ethernet header.
fn side_macs(rows: &[Row]) -> Option<(String, String)> {
    let mac_of = |side: Side| {
        let sent = rows
            .iter()
            .filter(|row| row.from == side)
            .find_map(|row| row.ethernet.map(|e| e.src_addr));
        let received = || {
            rows.iter()
                .filter(|row| row.from != side && !row.broadcast)
                .find_map(|row| row.ethernet.map(|e| e.dst_addr))
        };
        sent.or_else(received)
    };
    let (left, right) = (mac_of(Side::Client), mac_of(Side::Server));
    if left.is_none() && right.is_none() {
        return None;
    }
    let show = |mac: Option<tunstack::link::ethernet::MacAddr>| {
        mac.map_or_else(|| "MAC not seen".to_string(), |mac| mac.to_string())
    };
    Some((show(left), show(right)))
}

/// With the MAC addresses shown: a note for a frame whose addresses are not the columns', e.g.
/// `to ff:ff:ff:ff:ff:ff`.
fn other_mac(row: &Row, (left, right): &(String, String)) -> Option<String> {
    let header = row.ethernet?;
    let (own, other) = match row.from {
        Side::Client => (left, right),
        Side::Server => (right, left),
    };
    let mut words = Vec::new();
    if header.src_addr.to_string() != *own {
        words.push(format!("from {}", header.src_addr));
    }
    // A broadcast says so in its own note.
    if header.dst_addr.to_string() != *other && !header.dst_addr.is_broadcast() {
        words.push(format!("to {}", header.dst_addr));
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// The first column: each row's time, as `style` asks. Missing rows have none.
fn time_column(rows: &[Row], base: Duration, format: TimeFormat) -> Vec<String> {
    let mut previous: Option<Duration> = None;
    rows.iter()
        .map(|row| {
            let Some(time) = row.time else {
                return String::new();
            };
            let text = match format {
                TimeFormat::Relative => seconds(time.saturating_sub(base)),
                TimeFormat::Delta => format!(
                    "+{}",
                    seconds(time.saturating_sub(previous.unwrap_or(time)))
                ),
                TimeFormat::Absolute => time_of_day(time),
            };
            previous = Some(time);
            text
        })
        .collect()
}

/// Seconds with microseconds, e.g. `0.000123`.
fn seconds(time: Duration) -> String {
    format!("{}.{:06}", time.as_secs(), time.subsec_micros())
}

/// The UTC time of day, e.g. `22:13:20.123456`.
fn time_of_day(time: Duration) -> String {
    let secs = time.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        time.subsec_micros()
    )
}

/// Draws a row's arrow, `inner` characters between the rails, and returns the label words that
/// did not fit on it.
fn arrow(row: &Row, inner: usize, glyphs: &Glyphs) -> (String, Vec<String>) {
    let room = inner.saturating_sub(ARROW_CELLS).max(1);
    let (label, overflow) = fit(&row.label, room, glyphs.ellipsis);
    let line = if row.fate == Fate::Missing {
        glyphs.dashed
    } else if row.broadcast {
        glyphs.double
    } else {
        glyphs.line
    };
    let dashes = |n: usize| line.to_string().repeat(n);
    let label_len = label.chars().count();
    // Lead, space, label, space, then the fill up to the head.
    let fixed = 4 + 1 + label_len + 1;
    let stops_short = row.fate != Fate::Arrived;
    let end_cells = if stops_short { 2 } else { 1 };
    let fill = inner.saturating_sub(fixed + end_cells).max(1);
    let text = match (row.from, stops_short) {
        (Side::Client, false) => {
            format!("{} {label} {}{}", dashes(4), dashes(fill), glyphs.right)
        }
        (Side::Client, true) => {
            format!("{} {label} {}{} ", dashes(4), dashes(fill), glyphs.lost)
        }
        // The head and three of line take the lead's four cells, so the fill takes the head's.
        (Side::Server, false) => {
            format!("{}{} {label} {}", glyphs.left, dashes(3), dashes(fill + 1))
        }
        (Side::Server, true) => {
            format!(" {}{} {label} {}", glyphs.lost, dashes(2), dashes(fill + 1))
        }
    };
    (text, overflow)
}

/// Joins the label's words while they fit in `room` characters; returns the text and the words
/// left over. The first word is always kept, shortened with `ellipsis` if it must be.
fn fit(words: &[String], room: usize, ellipsis: &str) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut rest = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let needed = text.chars().count() + usize::from(i > 0) + word.chars().count();
        if i == 0 {
            text = shorten(word, room, ellipsis);
        } else if rest.is_empty() && needed <= room {
            text.push(' ');
            text.push_str(word);
        } else {
            rest.push(word.clone());
        }
    }
    (text, rest)
}

/// `text`, cut to `room` characters with `ellipsis` at the end if it is longer.
fn shorten(text: &str, room: usize, ellipsis: &str) -> String {
    if text.chars().count() <= room {
        return text.to_string();
    }
    let keep = room.saturating_sub(ellipsis.chars().count());
    let mut short: String = text.chars().take(keep).collect();
    short.push_str(ellipsis);
    short
}
