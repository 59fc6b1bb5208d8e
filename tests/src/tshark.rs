//! Wireshark's dissectors as the oracle for captures: [`tshark_check`].
//!
//! tshark reads the capture with checksum validation on for IP, UDP and TCP (ICMP checksums are
//! always checked). A capture is clean when this display filter matches no frame:
//!
//! ```text
//! _ws.malformed || _ws.expert.severity >= error
//!   || ip.checksum.status == 0 || udp.checksum.status == 0
//!   || icmp.checksum.status == 0 || icmpv6.checksum.status == 0
//!   || tcp.checksum.status == 0
//! ```
//!
//! `_ws.malformed` is a packet a dissector could not read to its end; an expert error is what
//! Wireshark paints red (a bad checksum is one, a length field that lies is another); a checksum
//! status of 0 is "Bad". The checksum fields are checked on their own as well because, unlike
//! the expert item, they are also set for the headers an ICMP error quotes.
//!
//! One "Bad" TCP checksum is forgiven, on frames the kernel sent us only: 0xffff where 0x0000
//! was expected. In one's complement arithmetic both are zero, and a receiver that adds up the
//! segment with its checksum gets the same all-ones sum either way, so the segment is intact
//! ([RFC 1624]); a checksum computed from scratch is never 0xffff, but one updated
//! incrementally can be, and Linux sends it now and then (about one segment in 65,536).
//! Wireshark marks it Bad with a warning (`tcp.checksum.ffff`). Our own frames get no such
//! allowance.
//!
//! [RFC 1624]: https://www.rfc-editor.org/rfc/rfc1624

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::output_within;

/// The display filter for frames that fail the check. Direction 1 is inbound: sent by the
/// kernel (see the module documentation for the 0xffff checksum).
const PROBLEMS: &str = "_ws.malformed || _ws.expert.severity >= error \
    || ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0 \
    || icmpv6.checksum.status == 0 \
    || (tcp.checksum.status == 0 \
        && !(tcp.checksum.ffff && frame.packet_flags_direction == 1))";

/// The fields [`tshark_check`] reports for every frame. A field that a frame has more than once
/// (an ICMP error has the quoted datagram's IP and UDP headers too) has all its values, outer
/// header first.
pub const DEFAULT_FIELDS: &[&str] = &[
    "frame.number",
    "frame.packet_flags_direction",
    "frame.comment",
    "frame.len",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.len",
    "ip.ttl",
    "ip.flags.df",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.nxt",
    "ipv6.plen",
    "ipv6.hlim",
    "icmp.type",
    "icmp.code",
    "icmp.ident",
    "icmp.seq",
    "icmpv6.type",
    "icmpv6.code",
    "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.len",
    "tcp.window_size_value",
    "udp.payload",
    "tcp.payload",
    "data.data",
    "_ws.col.Info",
];

/// Separates a field's values when a frame has it more than once: a character no field holds.
const AGGREGATOR: char = '\u{1f}';

/// How long one tshark run may take, plus a second for every MB of capture (a 100 MiB
/// transfer makes some 220 MB, which tshark reads in about 5 s on an idle machine): a guard
/// against a tshark that hangs, generous enough that a busy machine never trips it.
const TSHARK_LIMIT: Duration = Duration::from_secs(120);

/// How tshark is to treat what TCP carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payloads {
    /// Wireshark's defaults: dissected by port, or by guessing (heuristic dissectors).
    Dissected,
    /// Every TCP payload as plain data. Random test data is otherwise now and then taken for
    /// some protocol by a guessing dissector (or by the dissector of a port that an ephemeral
    /// port happens to be) and then reported malformed, which says nothing about the stack.
    Opaque,
}

/// Which way a frame went, as the capture recorded it (pcapng `epb_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by our stack (sent by the kernel).
    Inbound,
    /// Sent by our stack.
    Outbound,
}

/// One frame of a capture, as tshark dissected it: the values of the fields asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    fields: Vec<(String, Vec<String>)>,
}

impl Frame {
    /// The field's first value (for a header an ICMP error quotes, the outer header's), or
    /// `None` when the frame does not have the field or it was not asked for.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.all(field).first().map(String::as_str)
    }

    /// Every value of the field, outermost first; empty when the frame does not have it.
    pub fn all(&self, field: &str) -> &[String] {
        self.fields
            .iter()
            .find(|(name, _)| name == field)
            .map_or(&[], |(_, values)| values.as_slice())
    }

    /// The field's first value as a number (decimal, or hexadecimal with `0x`).
    pub fn num(&self, field: &str) -> Option<u64> {
        parse_number(self.get(field)?)
    }

    /// The frame's number in the capture, from 1.
    pub fn number(&self) -> u64 {
        self.num("frame.number").unwrap_or(0)
    }

    /// Which way the frame went.
    pub fn direction(&self) -> Option<Direction> {
        match self.num("frame.packet_flags_direction")? & 3 {
            1 => Some(Direction::Inbound),
            2 => Some(Direction::Outbound),
            _ => None,
        }
    }

    /// The first value of a bytes field, e.g. `udp.payload`, `tcp.payload`, or `data.data` (an
    /// ICMP echo's data).
    pub fn bytes(&self, field: &str) -> Option<Vec<u8>> {
        let hex = self.get(field)?.replace(':', "");
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect()
    }
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Whether tshark can run here. When it cannot, prints `skipped: <why>` and returns `false`, for
/// tests that need nothing but tshark; under CI (any non-empty `CI`) it panics instead.
pub fn tshark_available() -> bool {
    let mut version = Command::new("tshark");
    version.arg("--version");
    match output_within(&mut version, TSHARK_LIMIT) {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            crate::skip_or_fail(&format!("`tshark --version` failed ({})", output.status));
            false
        }
        Err(err) => {
            crate::skip_or_fail(&format!(
                "cannot run tshark ({err}); install it (Debian: apt-get install tshark)"
            ));
            false
        }
    }
}

/// Checks the capture at `path` with tshark and returns its frames, with [`DEFAULT_FIELDS`].
///
/// # Panics
///
/// When a frame is malformed or has a bad checksum (the message lists each one with tshark's
/// summary line), or when tshark cannot read the file or is not installed: it is this
/// project's oracle for captures, so a test that asks for it fails without it.
pub fn tshark_check(path: &Path) -> Vec<Frame> {
    tshark_check_fields(path, DEFAULT_FIELDS)
}

/// Like [`tshark_check`], with the frames' `fields` of your choice.
pub fn tshark_check_fields(path: &Path, fields: &[&str]) -> Vec<Frame> {
    let flagged = match tshark_findings(path) {
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
            .map(|f| format!("  #{} {}", f.number(), f.get("_ws.col.Info").unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    match frames(path, fields, None) {
        Ok(frames) => frames,
        Err(err) => panic!("tshark could not read {}: {err}", path.display()),
    }
}

/// The frames of the capture at `path` that tshark finds malformed or with a bad checksum (see
/// the module documentation), with [`DEFAULT_FIELDS`]: an empty list is a clean capture.
pub fn tshark_findings(path: &Path) -> io::Result<Vec<Frame>> {
    findings(path, Payloads::Dissected)
}

/// [`tshark_findings`], with TCP payloads dissected or not.
pub(crate) fn findings(path: &Path, payloads: Payloads) -> io::Result<Vec<Frame>> {
    let mut frames = Vec::new();
    for_each_frame(path, DEFAULT_FIELDS, Some(PROBLEMS), payloads, |frame| {
        frames.push(frame)
    })?;
    Ok(frames)
}

/// The frames of the capture at `path` that match the display filter `filter`, with
/// [`DEFAULT_FIELDS`] and checksum validation on, as in [`tshark_check`].
///
/// For example, [`TCP_TROUBLE`] finds the segments Wireshark's TCP analysis marks as lost,
/// retransmitted, duplicate ACKs or out of order:
///
/// ```no_run
/// # let path = std::path::Path::new("run.pcapng");
/// let trouble = tunstack_tests::tshark_filter(path, tunstack_tests::TCP_TROUBLE).unwrap();
/// assert!(trouble.is_empty(), "{trouble:#?}");
/// ```
pub fn tshark_filter(path: &Path, filter: &str) -> io::Result<Vec<Frame>> {
    frames(path, DEFAULT_FIELDS, Some(filter))
}

/// Like [`tshark_filter`], with the frames' `fields` of your choice. A field that is a flag
/// (Wireshark's TCP analysis flags, such as `tcp.analysis.keep_alive`) has a value when the
/// frame has the flag, and none when it has not.
pub fn tshark_filter_fields(path: &Path, filter: &str, fields: &[&str]) -> io::Result<Vec<Frame>> {
    frames(path, fields, Some(filter))
}

/// A display filter for what a clean TCP exchange never has: retransmissions, duplicate ACKs,
/// segments after a gap (a lost one) and segments out of order, per Wireshark's TCP analysis.
pub const TCP_TROUBLE: &str = "tcp.analysis.retransmission || tcp.analysis.duplicate_ack \
    || tcp.analysis.lost_segment || tcp.analysis.out_of_order";

/// Runs tshark over the capture and parses one [`Frame`] per output line.
fn frames(path: &Path, fields: &[&str], filter: Option<&str>) -> io::Result<Vec<Frame>> {
    let mut frames = Vec::new();
    for_each_frame(path, fields, filter, Payloads::Dissected, |frame| {
        frames.push(frame)
    })?;
    Ok(frames)
}

/// Runs tshark over the capture and hands each frame to `f` as its line is parsed, so that a
/// capture of a hundred thousand frames need not be held as [`Frame`]s all at once.
pub(crate) fn for_each_frame(
    path: &Path,
    fields: &[&str],
    filter: Option<&str>,
    payloads: Payloads,
    mut f: impl FnMut(Frame),
) -> io::Result<()> {
    let mut command = Command::new("tshark");
    // Wireshark's defaults, not a personal profile: a preference must not change what a test
    // sees. A directory that does not exist holds no preferences.
    command.env(
        "WIRESHARK_CONFIG_DIR",
        std::env::temp_dir().join("tunstack-no-wireshark-profile"),
    );
    command.args(["-o", "ip.check_checksum:TRUE"]);
    command.args(["-o", "udp.check_checksum:TRUE"]);
    command.args(["-o", "tcp.check_checksum:TRUE"]);
    if payloads == Payloads::Opaque {
        command.args(["-d", "tcp.port==1-65535,data"]);
    }
    command.arg("-r").arg(path);
    if let Some(filter) = filter {
        command.args(["-Y", filter]);
    }
    command.args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"]);
    command.arg(format!("-Eaggregator={AGGREGATOR}"));
    for field in fields {
        command.args(["-e", field]);
    }
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let limit = TSHARK_LIMIT + Duration::from_secs(size / 1_000_000);
    let output = output_within(&mut command, limit).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => io::Error::new(
            err.kind(),
            format!("{err} (install Wireshark's tshark; Debian: apt-get install tshark)"),
        ),
        _ => err,
    })?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "tshark failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        f(parse_line(line, fields));
    }
    Ok(())
}

/// One line of `-T fields` output: the fields' values, tab-separated, each field's several
/// values joined by [`AGGREGATOR`].
fn parse_line(line: &str, fields: &[&str]) -> Frame {
    let values = line.split('\t');
    Frame {
        fields: fields
            .iter()
            .zip(values.chain(std::iter::repeat("")))
            .map(|(name, value)| {
                let values = match value {
                    "" => Vec::new(),
                    value => value.split(AGGREGATOR).map(str::to_owned).collect(),
                };
                (name.to_string(), values)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::task::{Context, Poll, Waker};

    use etherparse::PacketBuilder;
    use tunstack::device::{memory, Capture, Device, MemoryConfig};

    use super::*;
    use crate::test_captures::write_capture_directed;
    use crate::TempFile;

    const A: [u8; 4] = [10, 77, 0, 1];
    const B: [u8; 4] = [10, 77, 0, 2];

    fn udp(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ipv4(A, B, 64).udp(40000, 7);
        let mut packet = Vec::new();
        builder.write(&mut packet, payload).unwrap();
        packet
    }

    fn ping(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ipv4(B, A, 64).icmpv4_echo_request(0x7475, 1);
        let mut packet = Vec::new();
        builder.write(&mut packet, payload).unwrap();
        packet
    }

    fn tcp_syn() -> Vec<u8> {
        let builder = PacketBuilder::ipv4(A, B, 64)
            .tcp(40000, 80, 1000, 64240)
            .syn();
        let mut packet = Vec::new();
        builder.write(&mut packet, &[]).unwrap();
        packet
    }

    /// Writes `packets` to a capture at `path`, as the stack's links do.
    fn write_capture(path: &Path, packets: &[Vec<u8>]) {
        let (a, _b) = memory::pair(MemoryConfig::default());
        let mut capture = Capture::create(a, path, "mem0").unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        for packet in packets {
            let sent = capture.poll_send(&mut cx, packet, None);
            assert!(matches!(sent, Poll::Ready(Ok(()))), "{sent:?}");
        }
    }

    /// A TCP segment whose checksum is 0x0000 (the one's complement sum of everything else is
    /// all ones), and the same segment with the other zero, 0xffff, in its checksum field.
    fn tcp_with_zero_checksum() -> (Vec<u8>, Vec<u8>) {
        let builder = PacketBuilder::ipv4(A, B, 64)
            .tcp(40000, 80, 1000, 64240)
            .ack(1);
        let mut packet = Vec::new();
        builder.write(&mut packet, &[0, 0]).unwrap();
        let (checksum_at, data_at) = (20 + 16, 20 + 20);
        // Adding the checksum C = !S to a zero word of the data makes the sum S + !S = 0xffff,
        // and the checksum of that is 0.
        let checksum = [packet[checksum_at], packet[checksum_at + 1]];
        packet[data_at..data_at + 2].copy_from_slice(&checksum);
        packet[checksum_at..checksum_at + 2].copy_from_slice(&[0, 0]);
        let mut ffff = packet.clone();
        ffff[checksum_at..checksum_at + 2].copy_from_slice(&[0xff, 0xff]);
        (packet, ffff)
    }

    #[test]
    fn a_tcp_checksum_of_0xffff_passes_from_the_kernel_but_not_from_us() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tshark-ffff");
        let (zero, ffff) = tcp_with_zero_checksum();
        write_capture_directed(
            file.path(),
            &[
                (Direction::Inbound, zero.clone()),           // 1
                (Direction::Inbound, ffff.clone()),           // 2: Linux does this, and it is valid
                (Direction::Outbound, zero),                  // 3
                (Direction::Outbound, ffff.clone()),          // 4: we never should
                (Direction::Inbound, corrupt(ffff, 20 + 21)), // 5: and then a bit flips
            ],
        );
        let flagged: Vec<u64> = tshark_findings(file.path())
            .unwrap()
            .iter()
            .map(Frame::number)
            .collect();
        assert_eq!(flagged, [4, 5]);
    }

    /// Flips the low bit of byte `at`.
    fn corrupt(mut packet: Vec<u8>, at: usize) -> Vec<u8> {
        packet[at] ^= 1;
        packet
    }

    #[test]
    fn finds_every_kind_of_damage_and_passes_the_rest() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tshark-corrupt");
        let ip_len = 20;
        // The checksum fields: IP 10..12, UDP 6..8, ICMP 2..4 of their headers.
        let mut udp_lies = udp(b"a datagram");
        udp_lies[ip_len + 5] += 20; // a UDP length beyond the packet's end
        let packets = [
            udp(b"good"),                           // 1
            corrupt(udp(b"bad ip"), 11),            // 2: IP header checksum
            corrupt(udp(b"bad udp"), ip_len + 7),   // 3: UDP checksum
            corrupt(ping(b"bad icmp"), ip_len + 3), // 4: ICMP checksum
            udp_lies,                               // 5: malformed
            corrupt(tcp_syn(), ip_len + 17),        // 6: TCP checksum
            ping(b"good too"),                      // 7
            udp(b"payload bit flipped"),            // 8: good, then damaged below
            tcp_syn(),                              // 9
        ];
        let mut packets = packets.to_vec();
        let last_udp = packets[7].len() - 1;
        packets[7][last_udp] ^= 0x20; // the UDP checksum covers the data too
        write_capture(file.path(), &packets);

        let flagged: Vec<u64> = tshark_findings(file.path())
            .unwrap()
            .iter()
            .map(Frame::number)
            .collect();
        assert_eq!(flagged, [2, 3, 4, 5, 6, 8]);

        let result = std::panic::catch_unwind(|| tshark_check(file.path()));
        let message = *result.unwrap_err().downcast::<String>().unwrap();
        assert!(message.contains("6 frame(s)"), "{message}");
    }

    #[test]
    fn a_clean_capture_gives_its_frames() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tshark-clean");
        write_capture(file.path(), &[udp(b"hello"), ping(b"ping data"), tcp_syn()]);
        let frames = tshark_check(file.path());
        assert_eq!(frames.len(), 3);
        let [udp, icmp, tcp] = &frames[..] else {
            unreachable!()
        };
        assert_eq!(udp.number(), 1);
        assert_eq!(udp.direction(), Some(Direction::Outbound));
        assert_eq!(udp.get("ip.src"), Some("10.77.0.1"));
        assert_eq!(udp.num("udp.dstport"), Some(7));
        assert_eq!(udp.bytes("udp.payload").as_deref(), Some(&b"hello"[..]));
        assert_eq!(icmp.bytes("data.data").as_deref(), Some(&b"ping data"[..]));
        assert_eq!(icmp.num("icmp.type"), Some(8));
        assert_eq!(icmp.num("icmp.ident"), Some(0x7475));
        assert_eq!(icmp.num("icmp.seq"), Some(1));
        assert_eq!(tcp.num("tcp.dstport"), Some(80));
        assert_eq!(tcp.num("tcp.flags"), Some(0x002), "SYN");
        assert_eq!(tcp.get("icmp.type"), None);
        assert!(tcp.all("udp.srcport").is_empty());
        let source: Ipv4Addr = icmp.get("ip.src").unwrap().parse().unwrap();
        assert_eq!(source.octets(), B);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        if !tshark_available() {
            return;
        }
        let file = TempFile::new("tshark-missing");
        let err = tshark_findings(file.path()).unwrap_err();
        assert!(err.to_string().contains("tshark"), "{err}");
    }
}
