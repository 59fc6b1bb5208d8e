//! ladder: draws a capture file as the course's client/server diagram, one arrow per packet.
//!
//! ```text
//! ladder captures/03-handshake.pcapng      # the tour's handshake step
//! sudo tcpdump -i tun0 -w my.pcap          # while a demo runs; Ctrl-C, then:
//! ladder my.pcap --all
//! ```
//!
//! The work is done by [`tunstack_demos::ladder`]; this file is the command line.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use tunstack_demos::ladder::{self, Options, Selection, Style, TimeFormat};

/// Captures the hint suggests, best first: the tour writes them (`tour --out captures`), and
/// the repository keeps a copy.
const EXAMPLES: [&str; 3] = [
    "captures/03-handshake.pcapng",
    "captures/05-lossy-transfer.pcapng",
    "captures/02-udp.pcapng",
];

/// Draws the packets of a capture file as a ladder diagram.
///
/// A ladder diagram shows a conversation between two hosts as the course draws the TCP
/// handshake: one vertical line (a rail) per side, the client on the left and the server on the
/// right, and one arrow per packet, in the order they were captured, pointing the way the packet
/// went. Time runs down the page.
#[derive(Parser, Debug)]
#[command(
    version,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP,
    after_help = "Run with --help for what the columns mean and how to make a capture."
)]
struct Args {
    /// The capture to draw: pcap (tcpdump -w) or pcapng (our demos' --capture, Wireshark).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,

    /// Draw stream N (streams are numbered from 0 in the order their first packet appears, as
    /// Wireshark's tcp.stream). Default: the first TCP stream, or the first stream.
    #[arg(long, value_name = "N", conflicts_with = "all")]
    stream: Option<usize>,

    /// Draw every stream, one ladder after another.
    #[arg(long)]
    all: bool,

    /// Rows to draw per ladder before a "... N more rows" line (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_rows: usize,

    /// The ladder's width in columns, from rail to rail (default: fit the labels, 40 to 80).
    /// Labels that do not fit move to the notes on the right.
    #[arg(long, value_name = "N")]
    width: Option<usize>,

    /// Draw with ASCII only (| - > < x), for terminals that show box drawing as garbage.
    #[arg(long)]
    ascii: bool,

    /// Show each side's MAC address under its IP address (Ethernet captures: a TAP device's,
    /// `tcpdump -i eth0`, the tour's first step); an arrow to or from another MAC address says
    /// which.
    #[arg(long)]
    mac: bool,

    /// The time column: seconds since the first packet of the file, seconds since the row
    /// above (round trips at a glance), or the UTC time of day.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = Time::Relative)]
    time: Time,
}

/// How to show time; see [`TimeFormat`].
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Time {
    /// Seconds since the first packet of the file.
    Relative,
    /// Seconds since the row above.
    Delta,
    /// The UTC time of day.
    Absolute,
}

const LONG_ABOUT: &str = "\
Draws the packets of a capture file as a ladder diagram.

A ladder diagram shows a conversation between two hosts the way the course draws the TCP
handshake: one vertical line (a rail) per side, the client on the left and the server on the
right, and one arrow per packet, in the order they were captured, pointing the way the packet
went. Time runs down the page:

       time  10.77.0.1:49152                    10.77.0.2:7
             client                                  server
   0.000000  │──── [SYN] seq=0 win=65535 ─────────────────►│  mss=1460 ws=7 sackOK
   0.000041  │◄─── [SYN, ACK] seq=0 ack=1 win=65535 ───────│  mss=1460 ws=7 sackOK
   0.000057  │──── [ACK] seq=1 ack=1 win=65535 ───────────►│

The client is the side that sent the first SYN (or, without one, the first packet). Packets are
grouped into streams by their two addresses and ports, as Wireshark does: one TCP connection, or
the UDP datagrams between two sockets, or the pings between two hosts, is one stream. An ICMP
error (\"port unreachable\") joins the stream of the packet it is about.

Every packet is read with tunstack's own header codecs (stack/src/link, ip, tcp, udp): what the
stack reads off the wire, the ladder reads off the file.";

const AFTER_HELP: &str = "\
Reading a row:
  [PSH, ACK]      the TCP flags
  seq=1 ack=1     relative sequence numbers, as Wireshark shows them: each side counts from its
                  own SYN (seq=0); ack is the next byte expected from the other side
  len=5           bytes of data;  win=65535: the receive window, in bytes
  ──────✗         lost: captured on its way out, never acknowledged, and sent again later
  ╌╌╌╌╌╌✗         missing: sequence numbers the capture never saw (lost before it)
  on the right    notes: the analysis (retransmission, dup ack, ...), TCP options, the start of
                  the data in quotes, and the frame comment the stack wrote (after #)
  ════►           broadcast: a frame to ff:ff:ff:ff:ff:ff, for every host on the link
  ARP who has 10.77.0.2? tell 10.77.0.1
                  on an Ethernet capture, ARP asking for a MAC address, and the answer
                  (ARP 10.77.0.2 is at 02:00:0a:4d:00:02), drawn before the IP packet that
                  needed it; --mac shows each side's MAC address

Making a capture:
  Our demos write one with --capture:
      sudo target/debug/tcp-echo --capture echo.pcapng
      nc 10.77.0.2 7              (in another shell; type a line, then Ctrl-D)
      ladder echo.pcapng
  tcpdump captures any interface, e.g. the demos' TUN device while a demo runs:
      sudo tcpdump -i tun0 -w my.pcap
      (Ctrl-C when done)
      ladder my.pcap --all
  The tour writes one capture per step, no root needed:
      cargo run -p tunstack-demos --bin tour
      ladder captures/05-lossy-transfer.pcapng
      ladder captures/00-arp.pcapng --mac      (Ethernet: ARP, then the first ping)

Files: pcap and pcapng; link types raw IP (tunstack, tcpdump on tun0), raw IPv4, Ethernet
(tunstack on TAP or an Ethernet wire, eth0, lo), Linux cooked v1 and v2 (tcpdump -i any), BSD
loopback (macOS lo0). IPv4 and ARP only: IPv6 packets are listed under \"not in any ladder\".";

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(file) = args.file.as_deref() else {
        eprintln!(
            "usage: ladder FILE [--stream N | --all] [--max-rows N] [--ascii] [--width N] [--mac]"
        );
        eprintln!("{}", hint());
        return ExitCode::from(2);
    };
    let capture = match ladder::read_file(file) {
        Ok(capture) => capture,
        Err(err) => {
            eprintln!("ladder: {}: {err}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let options = Options {
        selection: match (args.stream, args.all) {
            (Some(n), _) => Selection::Index(n),
            (None, true) => Selection::All,
            (None, false) => Selection::First,
        },
        style: Style {
            max_rows: (args.max_rows > 0).then_some(args.max_rows),
            width: args.width,
            time: match args.time {
                Time::Relative => TimeFormat::Relative,
                Time::Delta => TimeFormat::Delta,
                Time::Absolute => TimeFormat::Absolute,
            },
            ascii: args.ascii,
            mac: args.mac,
        },
    };
    let lines = match ladder::render(&file.display().to_string(), &capture, &options) {
        Ok(lines) => lines,
        Err(err) => {
            eprintln!("ladder: {err}");
            return ExitCode::from(2);
        }
    };
    match print(&lines) {
        Ok(()) => ExitCode::SUCCESS,
        // `ladder ... | head`: the reader has all it wanted.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ladder: {err}");
            ExitCode::FAILURE
        }
    }
}

/// One line suggesting a capture to try: one that exists here if there is one.
fn hint() -> String {
    match EXAMPLES.iter().find(|path| Path::new(path).exists()) {
        Some(path) => format!("try: ladder {path} --all"),
        None => format!(
            "try: cargo run -p tunstack-demos --bin tour (it writes captures/), then: ladder {} --all",
            EXAMPLES[0]
        ),
    }
}

fn print(lines: &[String]) -> io::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
}
