//! Whole TCP connections in a capture, as Wireshark follows them: [`tshark_tcp_check`].
//!
//! Wireshark numbers every TCP connection it sees (`tcp.stream`) and follows each one's
//! sequence numbers. On a link that loses, reorders and duplicates nothing, as a TUN device
//! between two stacks on one machine, its analysis must find nothing to say:
//!
//! | flag | what it means | what it would say about a stack |
//! |---|---|---|
//! | `tcp.analysis.retransmission` | data sent again | a timer fired too early, or an ACK was lost in the stack |
//! | `tcp.analysis.out_of_order` | data below what was already sent | segments left in the wrong order |
//! | `tcp.analysis.lost_segment` | a gap before this segment | a segment was built but never sent |
//! | `tcp.analysis.duplicate_ack` | the same ACK again, with nothing new | an ACK that told the peer nothing (or a hole) |
//!
//! (and the fast, spurious and "ACKed unseen segment" variants). Window updates, zero windows
//! and "window full" are not on the list: they are flow control doing its job.
//!
//! A connection is complete when it opens with SYN, SYN-ACK, ACK, each sent once, carries its
//! data, and closes with one FIN each way and no reset: [`TcpConversation::check_complete`].

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use crate::tshark::{findings, for_each_frame, Payloads};
use crate::{Direction, Frame};

/// Wireshark's TCP analysis flags that a capture of a clean run must not have.
pub const TCP_ANALYSIS_PROBLEMS: &[&str] = &[
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack",
];

/// The fields read for every TCP frame, then the analysis flags.
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.packet_flags_direction",
    "tcp.stream",
    "ip.src",
    "ipv6.src",
    "tcp.srcport",
    "ip.dst",
    "ipv6.dst",
    "tcp.dstport",
    "tcp.flags",
    "tcp.len",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "frame.comment",
    "tcp.options.sack.dsack",
];

const FIN: u64 = 0x01;
const SYN: u64 = 0x02;
const RST: u64 = 0x04;
const ACK: u64 = 0x10;

/// One TCP connection as the capture shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConversation {
    /// Wireshark's number for it (`tcp.stream`), from 0 in order of first appearance.
    pub stream: u64,
    /// Who sent the first SYN (or, without one, the first frame).
    pub client: SocketAddr,
    /// The other end.
    pub server: SocketAddr,
    /// Which way the client's frames went: `Inbound` when the kernel was the client.
    pub client_direction: Option<Direction>,
    /// How many frames it has.
    pub frames: u64,
    /// The first three frames: who sent each (`true`: the client) and its SYN, ACK, RST and FIN
    /// flags.
    pub opening: Vec<(bool, u64)>,
    /// SYNs from the client.
    pub syns: u64,
    /// SYN-ACKs from the server.
    pub syn_acks: u64,
    /// FINs from the client.
    pub fins_from_client: u64,
    /// FINs from the server.
    pub fins_from_server: u64,
    /// Resets, either way.
    pub resets: u64,
    /// Payload bytes from the client.
    pub bytes_from_client: u64,
    /// Payload bytes from the server.
    pub bytes_from_server: u64,
    /// Each side's (client, server) FIN: the raw sequence number just past it, and whether the
    /// other side acknowledged it; see [`TcpConversation::is_closed`].
    fin_ends: [Option<(u32, bool)>; 2],
}

/// A frame's source (`"src"`) or destination (`"dst"`) address, IPv4's or IPv6's.
fn address(frame: &Frame, which: &str) -> Option<IpAddr> {
    let v4 = frame.get(&format!("ip.{which}"));
    let v6 = frame.get(&format!("ipv6.{which}"));
    v4.or(v6)?.parse().ok()
}

impl TcpConversation {
    fn new(stream: u64, first: &Frame) -> Option<TcpConversation> {
        let endpoint = |which: &str, port: &str| -> Option<SocketAddr> {
            Some(SocketAddr::new(
                address(first, which)?,
                u16::try_from(first.num(port)?).ok()?,
            ))
        };
        Some(TcpConversation {
            stream,
            client: endpoint("src", "tcp.srcport")?,
            server: endpoint("dst", "tcp.dstport")?,
            client_direction: first.direction(),
            frames: 0,
            opening: Vec::new(),
            syns: 0,
            syn_acks: 0,
            fins_from_client: 0,
            fins_from_server: 0,
            resets: 0,
            bytes_from_client: 0,
            bytes_from_server: 0,
            fin_ends: [None; 2],
        })
    }

    /// Counts one more frame of this connection.
    fn add(&mut self, frame: &Frame) {
        let from_client = address(frame, "src") == Some(self.client.ip())
            && frame.num("tcp.srcport") == Some(self.client.port().into());
        let flags = frame.num("tcp.flags").unwrap_or(0) & (SYN | ACK | RST | FIN);
        let len = frame.num("tcp.len").unwrap_or(0);
        self.frames += 1;
        if self.opening.len() < 3 {
            self.opening.push((from_client, flags));
        }
        match (from_client, flags & (SYN | ACK)) {
            (true, SYN) => self.syns += 1,
            (false, f) if f == SYN | ACK => self.syn_acks += 1,
            _ => {}
        }
        if flags & FIN != 0 {
            match from_client {
                true => self.fins_from_client += 1,
                false => self.fins_from_server += 1,
            }
        }
        if flags & RST != 0 {
            self.resets += 1;
        }
        match from_client {
            true => self.bytes_from_client += len,
            false => self.bytes_from_server += len,
        }
        self.follow_close(frame, from_client, flags, len);
    }

    /// Notes where a FIN ends, and whether an ACK from the other side covers it (the closing
    /// handshake's second or last segment).
    fn follow_close(&mut self, frame: &Frame, from_client: bool, flags: u64, len: u64) {
        let raw = |field| frame.num(field).and_then(|n| u32::try_from(n).ok());
        let (sender, receiver) = match from_client {
            true => (0, 1),
            false => (1, 0),
        };
        if flags & FIN != 0 {
            if let Some(seq) = raw("tcp.seq_raw") {
                // The FIN takes one sequence number, after the segment's data.
                let end = seq.wrapping_add(len as u32).wrapping_add(1);
                // The same FIN again (a retransmission) keeps its acknowledgement.
                if !matches!(self.fin_ends[sender], Some((known, _)) if known == end) {
                    self.fin_ends[sender] = Some((end, false));
                }
            }
        }
        if let (true, Some(ack), Some((end, false))) = (
            flags & ACK != 0,
            raw("tcp.ack_raw"),
            self.fin_ends[receiver],
        ) {
            // At or past the FIN's end, in sequence space (RFC 9293 3.4: modulo 2^32).
            if ack.wrapping_sub(end) < 1 << 31 {
                self.fin_ends[receiver] = Some((end, true));
            }
        }
    }

    /// Whether both closing handshakes are over in the capture: a FIN each way, each
    /// acknowledged by the other side. Once the last ACK is in a capture that our stack
    /// writes as it goes, our stack has read it: a test can stop a demo then without cutting
    /// the close short.
    pub fn is_closed(&self) -> bool {
        self.fin_ends
            .iter()
            .all(|fin| matches!(fin, Some((_, true))))
    }

    /// Whether the connection went the whole way: SYN, SYN-ACK, ACK as its first three
    /// frames, each handshake segment sent once, one FIN each way, no reset. The error lists
    /// every way it falls short.
    pub fn check_complete(&self) -> Result<(), String> {
        let mut wrong = Vec::new();
        let opening = [(true, SYN), (false, SYN | ACK), (true, ACK)];
        if self.opening != opening {
            wrong.push(format!(
                "opens with {} instead of SYN, SYN-ACK, ACK",
                describe(&self.opening)
            ));
        }
        let counts = [
            (self.syns, "SYNs from the client"),
            (self.syn_acks, "SYN-ACKs from the server"),
            (self.fins_from_client, "FINs from the client"),
            (self.fins_from_server, "FINs from the server"),
        ];
        for (count, what) in counts {
            if count != 1 {
                wrong.push(format!("{count} {what}, not 1"));
            }
        }
        if self.resets != 0 {
            wrong.push(format!("{} resets", self.resets));
        }
        match wrong.is_empty() {
            true => Ok(()),
            false => Err(format!("{self}: {}", wrong.join("; "))),
        }
    }
}

impl fmt::Display for TcpConversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tcp.stream {} {} -> {} ({} frames, {} + {} bytes)",
            self.stream,
            self.client,
            self.server,
            self.frames,
            self.bytes_from_client,
            self.bytes_from_server
        )
    }
}

/// "client SYN, server SYN|ACK, ..." for the opening frames.
fn describe(frames: &[(bool, u64)]) -> String {
    let names = frames.iter().map(|&(from_client, flags)| {
        let names: Vec<_> = [(SYN, "SYN"), (ACK, "ACK"), (RST, "RST"), (FIN, "FIN")]
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        let who = if from_client { "client" } else { "server" };
        format!("{who} {}", names.join("|"))
    });
    names.collect::<Vec<_>>().join(", ")
}

/// A frame that Wireshark's TCP analysis flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    /// The frame's number.
    pub number: u64,
    /// Its connection (`tcp.stream`).
    pub stream: u64,
    /// Which way it went: `Outbound` when our stack sent it.
    pub direction: Option<Direction>,
    /// Which of [`TCP_ANALYSIS_PROBLEMS`] it has.
    pub flags: Vec<&'static str>,
    /// The frame's comment (our stack names why it resends a segment).
    pub comment: Option<String>,
    /// It carries a D-SACK block (RFC 2883): the receiver says it got a segment twice.
    pub dsack: bool,
}

impl Flagged {
    /// Whether this is one of the frames a timer makes on a busy machine, with no packet lost:
    /// a segment our stack resent because a timer (tail loss probe, retransmission timeout)
    /// fired before the ACK it waited for was processed, or a receiver's D-SACK answer to such
    /// a copy. A test that is descheduled long enough sees these; they are no loss.
    pub fn is_timer_artefact(&self) -> bool {
        let ours_by_timer = self.direction == Some(Direction::Outbound)
            && self
                .comment
                .as_deref()
                .is_some_and(|c| c.contains("tail loss probe") || c.contains("after RTO"));
        let answers_a_copy = self.dsack && self.flags == ["tcp.analysis.duplicate_ack"];
        ours_by_timer || answers_a_copy
    }
}

/// What [`tcp_conversations`] found in a capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpCapture {
    /// Every connection, by `tcp.stream`.
    pub conversations: Vec<TcpConversation>,
    /// Every frame with one of [`TCP_ANALYSIS_PROBLEMS`].
    pub flagged: Vec<Flagged>,
}

impl TcpCapture {
    /// How many frames that went `direction` Wireshark's analysis flagged with `flag` (one of
    /// [`TCP_ANALYSIS_PROBLEMS`]).
    pub fn count(&self, flag: &str, direction: Direction) -> u64 {
        let flagged = self
            .flagged
            .iter()
            .filter(|f| f.direction == Some(direction));
        flagged.filter(|f| f.flags.contains(&flag)).count() as u64
    }

    /// A table of how often each of [`TCP_ANALYSIS_PROBLEMS`] was flagged, each way: for a
    /// test's report.
    pub fn analysis_table(&self) -> String {
        let mut table = format!(
            "{:<38} {:>10} {:>10}\n",
            "tshark analysis flag", "by Linux", "by us"
        );
        for flag in TCP_ANALYSIS_PROBLEMS {
            table.push_str(&format!(
                "{flag:<38} {:>10} {:>10}\n",
                self.count(flag, Direction::Inbound),
                self.count(flag, Direction::Outbound)
            ));
        }
        table
    }
}

/// Reads every TCP frame of the capture at `path` with tshark, in one pass: the connections and
/// the frames its analysis flagged.
pub fn tcp_conversations(path: &Path) -> io::Result<TcpCapture> {
    let fields: Vec<&str> = FIELDS
        .iter()
        .chain(TCP_ANALYSIS_PROBLEMS)
        .copied()
        .collect();
    let mut capture = TcpCapture::default();
    let mut bad_line = None;
    for_each_frame(path, &fields, Some("tcp"), Payloads::Opaque, |frame| {
        let Some(stream) = frame.num("tcp.stream") else {
            bad_line.get_or_insert_with(|| format!("{frame:?}"));
            return;
        };
        let index = usize::try_from(stream).unwrap_or(usize::MAX);
        if index == capture.conversations.len() {
            match TcpConversation::new(stream, &frame) {
                Some(conversation) => capture.conversations.push(conversation),
                None => {
                    bad_line.get_or_insert_with(|| format!("{frame:?}"));
                    return;
                }
            }
        }
        let Some(conversation) = capture.conversations.get_mut(index) else {
            bad_line.get_or_insert_with(|| format!("stream {stream} out of order: {frame:?}"));
            return;
        };
        conversation.add(&frame);
        // A flag with no value (FT_NONE) prints as "1" when the frame has it.
        let flags: Vec<&'static str> = TCP_ANALYSIS_PROBLEMS
            .iter()
            .copied()
            .filter(|flag| frame.get(flag).is_some())
            .collect();
        if !flags.is_empty() {
            capture.flagged.push(Flagged {
                number: frame.number(),
                stream,
                direction: frame.direction(),
                flags,
                comment: frame.get("frame.comment").map(str::to_owned),
                dsack: frame.get("tcp.options.sack.dsack").is_some(),
            });
        }
    })?;
    match bad_line {
        None => Ok(capture),
        Some(line) => Err(io::Error::other(format!(
            "tshark gave a TCP frame without its stream or addresses: {line}"
        ))),
    }
}

/// Checks a capture of a clean run over TCP and returns its connections, for the test to check
/// further (e.g. each with [`TcpConversation::check_complete`], and the bytes each way).
///
/// Reads the capture twice: the checks of [`crate::tshark_check`] (no malformed packet, no bad
/// checksum), then [`tcp_conversations`]. Unlike `tshark_check` it does not return every frame's
/// fields and payload, so it suits captures of hundreds of megabytes. TCP payloads are taken as
/// plain data, not dissected: the tests send random bytes, which Wireshark's guessing
/// dissectors now and then mistake for some protocol and call malformed.
///
/// # Panics
///
/// When a frame is malformed or has a bad checksum, when any frame has one of
/// [`TCP_ANALYSIS_PROBLEMS`] (the message lists the first of them with tshark's summary line),
/// or when tshark cannot read the file. Timer artefacts of a busy machine
/// ([`Flagged::is_timer_artefact`]) are no failure: a clean run loses nothing, but a test
/// descheduled for longer than two round trips may see a tail loss probe go out.
pub fn tshark_tcp_check(path: &Path) -> Vec<TcpConversation> {
    let capture = tshark_tcp_check_lossy(path);
    let flagged: Vec<Flagged> = capture
        .flagged
        .iter()
        .filter(|f| !f.is_timer_artefact())
        .cloned()
        .collect();
    assert!(
        flagged.is_empty(),
        "tshark's TCP analysis flags {} frame(s) of {}:\n{}",
        flagged.len(),
        path.display(),
        summaries(path, &flagged)
    );
    capture.conversations
}

/// Checks a capture of TCP over a lossy link and returns its connections and every frame
/// Wireshark's analysis flagged, for the test to count ([`TcpCapture::count`]).
///
/// The same checks as [`tshark_tcp_check`] (no malformed packet, no bad checksum), without the
/// one a lossy run cannot pass: there, retransmissions, gaps, duplicate ACKs and segments out of
/// order are what the test wants to see. TCP payloads are taken as plain data.
///
/// # Panics
///
/// When a frame is malformed or has a bad checksum (the message lists the first of them), or
/// when tshark cannot read the file.
pub fn tshark_tcp_check_lossy(path: &Path) -> TcpCapture {
    let flagged = match findings(path, Payloads::Opaque) {
        Ok(flagged) => flagged,
        Err(err) => panic!("tshark could not check {}: {err}", path.display()),
    };
    assert!(
        flagged.is_empty(),
        "tshark flags {} frame(s) of {} as malformed or with a bad checksum:\n{}",
        flagged.len(),
        path.display(),
        flagged
            .iter()
            .take(20)
            .map(|f| format!("  #{} {}", f.number(), f.get("_ws.col.Info").unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    match tcp_conversations(path) {
        Ok(capture) => capture,
        Err(err) => panic!("tshark could not read {}: {err}", path.display()),
    }
}

/// The frames of a TCP capture that tshark finds malformed or with a bad checksum, TCP
/// payloads taken as plain data (as in [`tshark_tcp_check_lossy`]): for a test that expects
/// some (a link that corrupts on purpose) and checks which.
pub fn tshark_tcp_findings(path: &Path) -> io::Result<Vec<Frame>> {
    findings(path, Payloads::Opaque)
}

/// tshark's summary line of the first flagged frames, for a failure message.
fn summaries(path: &Path, flagged: &[Flagged]) -> String {
    let shown = &flagged[..flagged.len().min(20)];
    let numbers: Vec<String> = shown.iter().map(|f| f.number.to_string()).collect();
    // `frame.number in {..}` changed syntax between Wireshark versions; a plain `or` works in all.
    let filter = numbers
        .iter()
        .map(|n| format!("frame.number == {n}"))
        .collect::<Vec<_>>()
        .join(" || ");
    let mut lines = Vec::new();
    let fields = ["frame.number", "tcp.stream", "_ws.col.Info"];
    let listed = for_each_frame(path, &fields, Some(&filter), Payloads::Opaque, |frame| {
        lines.push(format!(
            "  #{} stream {}: {}",
            frame.number(),
            frame.get("tcp.stream").unwrap_or("?"),
            frame.get("_ws.col.Info").unwrap_or("")
        ));
    });
    if let Err(err) = listed {
        lines.push(format!("  (tshark could not list them: {err})"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use etherparse::PacketBuilder;

    use super::*;
    use crate::test_captures::write_capture_directed;
    use crate::{tshark_available, TempFile};

    const LINUX: [u8; 4] = [10, 77, 0, 1];
    const US: [u8; 4] = [10, 77, 0, 2];

    /// A segment from Linux (port 40000) to us (port 7) or back, with the flags named.
    fn segment(inbound: bool, seq: u32, ack: Option<u32>, flags: &str, data: &[u8]) -> Vec<u8> {
        let (src, dst, sport, dport) = match inbound {
            true => (LINUX, US, 40000, 7),
            false => (US, LINUX, 7, 40000),
        };
        let mut tcp = PacketBuilder::ipv4(src, dst, 64).tcp(sport, dport, seq, 64240);
        if let Some(ack) = ack {
            tcp = tcp.ack(ack);
        }
        for flag in flags.chars() {
            tcp = match flag {
                'S' => tcp.syn(),
                'F' => tcp.fin(),
                'P' => tcp.psh(),
                'R' => tcp.rst(),
                _ => unreachable!(),
            };
        }
        let mut packet = Vec::new();
        tcp.write(&mut packet, data).unwrap();
        packet
    }

    /// Linux connects, says hello, we echo it, Linux closes, we close.
    fn echo_exchange() -> Vec<(Direction, Vec<u8>)> {
        let (i, o) = (Direction::Inbound, Direction::Outbound);
        vec![
            (i, segment(true, 1000, None, "S", &[])),
            (o, segment(false, 5000, Some(1001), "S", &[])),
            (i, segment(true, 1001, Some(5001), "", &[])),
            (i, segment(true, 1001, Some(5001), "P", b"hello")),
            (o, segment(false, 5001, Some(1006), "P", b"hello")),
            (i, segment(true, 1006, Some(5006), "F", &[])),
            (o, segment(false, 5006, Some(1007), "F", &[])),
            (i, segment(true, 1007, Some(5007), "", &[])),
        ]
    }

    #[test]
    fn a_whole_connection_is_complete_and_clean() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tcp-capture-whole");
        write_capture_directed(file.path(), &echo_exchange());
        let conversations = tshark_tcp_check(file.path());
        let [conversation] = &conversations[..] else {
            panic!("{conversations:#?}");
        };
        assert_eq!(conversation.check_complete(), Ok(()));
        assert!(conversation.is_closed(), "{conversation:?}");
        assert_eq!(conversation.client, "10.77.0.1:40000".parse().unwrap());
        assert_eq!(conversation.server, "10.77.0.2:7".parse().unwrap());
        assert_eq!(conversation.client_direction, Some(Direction::Inbound));
        assert_eq!(conversation.frames, 8);
        assert_eq!(
            (
                conversation.bytes_from_client,
                conversation.bytes_from_server
            ),
            (5, 5)
        );
    }

    #[test]
    fn a_close_is_over_with_the_last_ack() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tcp-capture-last-ack");
        let mut packets = echo_exchange();
        let last_ack = packets.pop().unwrap();
        write_capture_directed(file.path(), &packets);
        let conversations = tshark_tcp_check(file.path());
        assert_eq!(conversations[0].check_complete(), Ok(()), "a FIN each way");
        assert!(
            !conversations[0].is_closed(),
            "our FIN is not acknowledged yet"
        );

        // Our FIN twice, then the last ACK: still closed.
        let again = packets.last().unwrap().clone();
        packets.extend([again, last_ack]);
        write_capture_directed(file.path(), &packets);
        let capture = tcp_conversations(file.path()).unwrap();
        assert!(capture.conversations[0].is_closed(), "{capture:#?}");
    }

    #[test]
    fn a_segment_sent_twice_is_flagged() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tcp-capture-twice");
        let mut packets = echo_exchange();
        let again = packets[3].clone();
        packets.insert(5, again); // the hello once more, after its echo acknowledged it
        write_capture_directed(file.path(), &packets);
        let capture = tcp_conversations(file.path()).unwrap();
        let [flagged] = &capture.flagged[..] else {
            panic!("{capture:#?}");
        };
        assert_eq!(flagged.number, 6);
        assert!(
            flagged.flags.contains(&"tcp.analysis.retransmission"),
            "{flagged:?}"
        );
        assert_eq!(flagged.direction, Some(Direction::Inbound));
        let lossy = tshark_tcp_check_lossy(file.path());
        assert_eq!(lossy, capture, "the lossy check lets it through");
        assert_eq!(
            lossy.count("tcp.analysis.retransmission", Direction::Inbound),
            1
        );
        assert_eq!(
            lossy.count("tcp.analysis.retransmission", Direction::Outbound),
            0
        );
        assert!(lossy
            .analysis_table()
            .contains("tcp.analysis.retransmission"));
        let result = std::panic::catch_unwind(|| tshark_tcp_check(file.path()));
        let message = *result.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("TCP analysis flags 1 frame(s)"),
            "{message}"
        );
        assert!(message.contains("#6 stream 0: "), "{message}");
    }

    #[test]
    fn a_connection_cut_short_says_what_it_lacks() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tcp-capture-reset");
        let mut packets = echo_exchange();
        packets.truncate(5);
        packets.push((
            Direction::Outbound,
            segment(false, 5006, Some(1006), "R", &[]),
        ));
        write_capture_directed(file.path(), &packets);
        let conversations = tshark_tcp_check(file.path());
        let err = conversations[0].check_complete().unwrap_err();
        assert!(
            err.contains("0 FINs from the client, not 1")
                && err.contains("0 FINs from the server, not 1")
                && err.contains("1 resets"),
            "{err}"
        );
        assert!(!err.contains("opens with"), "{err}");

        let late = TempFile::new("tcp-capture-late");
        write_capture_directed(late.path(), &echo_exchange()[1..]);
        let err = tshark_tcp_check(late.path())[0]
            .check_complete()
            .unwrap_err();
        assert!(err.contains("opens with client SYN|ACK"), "{err}");
    }

    #[test]
    fn only_timer_copies_and_their_dsack_answers_are_timer_artefacts() {
        let flagged = |direction, flags: &[&'static str], comment: Option<&str>, dsack| Flagged {
            number: 1,
            stream: 0,
            direction: Some(direction),
            flags: flags.to_vec(),
            comment: comment.map(str::to_owned),
            dsack,
        };
        let rtx = &["tcp.analysis.retransmission"][..];
        let dup = &["tcp.analysis.duplicate_ack"][..];
        let probe = "tail loss probe: the last segment again, after two round trips without an ACK";
        assert!(flagged(Direction::Outbound, rtx, Some(probe), false).is_timer_artefact());
        let rto = "retransmission #1 after RTO 200 ms";
        assert!(flagged(Direction::Outbound, rtx, Some(rto), false).is_timer_artefact());
        assert!(flagged(Direction::Inbound, dup, None, true).is_timer_artefact());
        // A fast retransmission means a loss; Linux's retransmissions carry no comment of ours;
        // a duplicate ACK without D-SACK reports a gap.
        let fast = "fast retransmission after 3 duplicate ACKs";
        assert!(!flagged(Direction::Outbound, rtx, Some(fast), false).is_timer_artefact());
        assert!(!flagged(Direction::Inbound, rtx, Some(probe), false).is_timer_artefact());
        assert!(!flagged(Direction::Inbound, dup, None, false).is_timer_artefact());
        let lost = &["tcp.analysis.duplicate_ack", "tcp.analysis.lost_segment"][..];
        assert!(!flagged(Direction::Inbound, lost, None, true).is_timer_artefact());
    }
}
