//! tour: the course's story on two stacks in one process. No root, no TUN device.
//!
//! Two hosts, a client (10.77.0.1) and a server (10.77.0.2), each running tunstack, joined by an
//! in-memory wire with a 20 ms round trip. Each step of the story runs on a fresh wire with a
//! capture on the client's side, and leaves one pcapng file in `captures/` to open in Wireshark.
//! The first step's wire carries Ethernet frames, so it shows the link layer (MAC addresses,
//! ARP); the others carry bare IP packets, as a TUN device does. In the last, each host has an
//! IPv6 address beside its IPv4 one (fd77::1, fd77::2), and the same datagram crosses over each.
//! The DNS step asks a name server for www.course.test before anything connects to it; the
//! TLS step encrypts an HTTP GET and writes the key log that decrypts it beside its capture.
//!
//! The tour runs on tokio's paused clock with fixed seeds: time moves only when every task
//! waits for a timer, jumping straight to the next one, so a run repeats exactly, captures
//! included, and takes a moment however many seconds of network time it tells of.

use std::io;
use std::path::{Path, PathBuf};

use clap::Parser;
use tunstack_demos::{encap, ladder};

mod dns;
mod ipv6;
mod net;
mod seeded;
mod steps;
mod tls;

/// A walk through the course's networking story on two tunstack hosts in one process: Ethernet
/// frames and ARP, ping, a UDP datagram, the TCP handshake, an HTTP GET, a transfer over a lossy
/// link, the close, IPv6 beside IPv4, DNS, and HTTPS (TLS 1.3, with a key log to decrypt it).
///
/// Needs no root and no network: both hosts live in this process, joined by an in-memory wire.
/// Each step writes a capture to the output folder; open it in Wireshark.
#[derive(Parser, Debug)]
#[command(version, after_help = "Try: wireshark captures/03-handshake.pcapng")]
struct Args {
    /// Folder for the captures (created if missing).
    #[arg(long, default_value = "captures", value_name = "DIR")]
    out: PathBuf,
}

fn heading(n: u32, title: &str) {
    println!(
        "\n── Step {n}: {title} {}",
        "─".repeat(70usize.saturating_sub(title.chars().count()))
    );
}

/// Draws the ladder diagram of a step's capture, at most `rows` rows; `mac` shows each side's
/// MAC address (an Ethernet capture's).
fn show_ladder(file: &Path, rows: usize, mac: bool) {
    let capture = match ladder::read_file(file) {
        Ok(capture) => capture,
        Err(err) => {
            println!("  (cannot draw {}: {err})", file.display());
            return;
        }
    };
    let options = ladder::Options {
        selection: ladder::Selection::First,
        style: ladder::Style {
            max_rows: Some(rows),
            mac,
            ..ladder::Style::default()
        },
    };
    let title = file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    match ladder::render(&title, &capture, &options) {
        Ok(lines) => {
            println!();
            for line in lines {
                println!("  {line}");
            }
        }
        Err(err) => println!("  (cannot draw {}: {err})", file.display()),
    }
}

/// Draws frame `number` of a step's capture as encapsulation boxes, after a line saying what
/// it is.
fn show_boxes(file: &Path, number: usize, what: &str) {
    let drawn = encap::frame_of_capture(file, number)
        .and_then(|(medium, bytes)| encap::boxes_on(medium, &bytes));
    if let Some(boxes) = drawn {
        println!("\n  Frame {number}, {what}:\n");
        for line in boxes.lines() {
            println!("  {line}");
        }
    }
}

fn main() {
    let args = Args::parse();
    // `tour | head` closes the pipe early: end quietly, as a shell tool does, rather than
    // panic in `println!` (Rust ignores SIGPIPE by default; this restores the default action).
    // SAFETY: setting a signal's disposition to SIG_DFL at start, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build();
    let result = runtime.and_then(|rt| rt.block_on(tour(&args)));
    if let Err(err) = result {
        eprintln!("tour: {err}");
        std::process::exit(1);
    }
}

async fn tour(args: &Args) -> io::Result<()> {
    let dir = &args.out;
    std::fs::create_dir_all(dir)?;
    println!(
        "tunstack tour: a client ({}) and a server ({}), two tunstack hosts on one wire",
        net::CLIENT,
        net::SERVER
    );
    println!(
        "try: afterwards, `wireshark {dir}/03-handshake.pcapng`, or draw any step with \
         `cargo run -p tunstack-demos --bin ladder -- {dir}/05-lossy-transfer.pcapng`",
        dir = dir.display()
    );
    let mut captures = Vec::new();
    heading(0, "the link layer: Ethernet frames and ARP");
    let (file, first_ip) = steps::arp(dir).await?;
    show_ladder(&file, 12, true);
    show_boxes(
        &file,
        first_ip,
        "the first echo request, as it crossed the wire: Ethernet wraps the IP\n  \
         packet into a frame",
    );
    captures.push(file);
    heading(1, "ping (ICMP echo, the internet layer)");
    let file = steps::ping(dir).await?;
    show_ladder(&file, 12, false);
    captures.push(file);
    heading(2, "a UDP datagram (the transport layer, no connection)");
    let file = steps::udp(dir).await?;
    show_ladder(&file, 12, false);
    captures.push(file);
    heading(3, "the TCP three-way handshake");
    let file = steps::handshake(dir).await?;
    show_ladder(&file, 12, false);
    captures.push(file);
    heading(4, "an HTTP GET (the application layer, on TCP)");
    let file = steps::http_get(dir).await?;
    show_ladder(&file, 16, false);
    // Frame 4 is the request: after SYN, SYN-ACK and the handshake's ACK.
    show_boxes(
        &file,
        4,
        "the request, as it crossed the wire: each layer's header in front of\n  \
         the data of the layer above (encapsulation)",
    );
    captures.push(file);
    heading(5, "a transfer over a slow link that loses packets");
    let file = steps::lossy_transfer(dir).await?;
    show_ladder(&file, 36, false);
    captures.push(file);
    heading(6, "the close: FIN, FIN, and TIME-WAIT");
    let file = steps::close(dir).await?;
    show_ladder(&file, 12, false);
    captures.push(file);
    heading(7, "IPv6 beside IPv4: the same datagram over both");
    // No ladder here: it reads IPv4 and ARP only. The header table stands in for it.
    captures.push(ipv6::ipv6(dir).await?);
    heading(8, "DNS: the name before the connection");
    let file = dns::dns(dir).await?;
    show_ladder(&file, 12, false);
    captures.push(file);
    heading(9, "TLS: the handshake, then HTTP encrypted");
    let file = tls::tls(dir).await?;
    show_ladder(&file, 16, false);
    captures.push(file);
    println!("\nThe captures:");
    for file in &captures {
        println!("  {}", file.display());
    }
    println!(
        "Open one in Wireshark, e.g.: wireshark {}",
        dir.join("03-handshake.pcapng").display()
    );
    Ok(())
}
