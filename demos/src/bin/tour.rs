//! tour: the course's story on two stacks in one process. No root, no TUN device.
//!
//! Two hosts, a client (10.77.0.1) and a server (10.77.0.2), each running tunstack, joined by an
//! in-memory wire. Each step of the story runs on a fresh wire with a capture on it, so each step
//! leaves one pcapng file in `captures/` to open in Wireshark.
//!
//! The tour runs on tokio's paused clock with fixed seeds: time only moves when every task waits
//! for a timer, so a run repeats exactly, captures included.

use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use tunstack::link::{memory, Capture};
use tunstack::{Config, Ipv4Cidr, Stack, UdpSocket};

/// The client's address.
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The server's address.
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// Captures carry this date as their start (2026-01-01 00:00:00 UTC), so that a run is
/// byte-for-byte the same as the last one.
const EPOCH: Duration = Duration::from_secs(1_767_225_600);

/// A walk through the course's networking story on two tunstack hosts in one process.
///
/// Needs no root and no network: both hosts live in this process, joined by an in-memory wire.
/// Each step writes a capture to the output folder; open it in Wireshark.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Folder for the captures (created if missing).
    #[arg(long, default_value = "captures", value_name = "DIR")]
    out: PathBuf,
}

/// Two stacks on one wire; the client's side of the wire is captured.
struct Pair {
    client: Stack,
    server: Stack,
}

fn pair(capture: &Path) -> io::Result<Pair> {
    let (client_end, server_end) = memory::pair(Default::default());
    let client_end = Capture::create(client_end, capture, "client")?.with_epoch(EPOCH);
    let mut client_config = Config::new(cidr(CLIENT));
    client_config.seed = Some(1);
    let mut server_config = Config::new(cidr(SERVER));
    server_config.seed = Some(2);
    Ok(Pair {
        client: Stack::new(client_end, client_config),
        server: Stack::new(server_end, server_config),
    })
}

/// `addr/24`: both hosts are on 10.77.0.0/24.
const fn cidr(addr: Ipv4Addr) -> Ipv4Cidr {
    match Ipv4Cidr::new(addr, 24) {
        Some(cidr) => cidr,
        None => panic!("24 is a valid prefix length"),
    }
}

fn heading(n: u32, title: &str) {
    println!(
        "\n── Step {n}: {title} {}",
        "─".repeat(60usize.saturating_sub(title.len()))
    );
}

/// Step 1: ping, the internet layer's own round trip.
async fn step_ping(dir: &Path) -> io::Result<()> {
    heading(1, "ping (ICMP echo, layer 3)");
    let file = dir.join("01-ping.pcapng");
    let net = pair(&file)?;
    println!("  {CLIENT} sends ICMP echo requests to {SERVER}; its IP layer answers each one.");
    // 56 bytes of data, as Linux ping sends: with the 8-byte ICMP header, 64 bytes.
    let data: Vec<u8> = (0..56u8).collect();
    for seq in 1..=3u16 {
        let rtt = net.client.ping(SERVER, seq, &data).await?;
        println!(
            "  {} bytes from {SERVER}: icmp_seq={seq} time={:.3} ms",
            data.len() + 8,
            rtt.as_secs_f64() * 1000.0
        );
    }
    println!("  (the wire is in memory and time is virtual: no propagation delay, so RTT is 0)");
    println!("  capture: {}", file.display());
    Ok(())
}

/// Step 2: a UDP datagram, the course's UDP server and client.
async fn step_udp(dir: &Path) -> io::Result<()> {
    heading(2, "a UDP datagram (layer 4, no connection)");
    let file = dir.join("02-udp.pcapng");
    let net = pair(&file)?;

    // The course's UDP server: bind, recvfrom, reply to the sender's address. No accept().
    let server = UdpSocket::bind(&net.server, "0.0.0.0:9001").await?;
    let server_task = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        let (n, sender) = server.recv_from(&mut buf).await?;
        println!(
            "  server: got datagram from {sender}: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        server.send_to(b"Got your datagram!", sender).await?;
        io::Result::Ok(())
    });

    let client = UdpSocket::bind(&net.client, "0.0.0.0:0").await?;
    let message = b"Hello over UDP!";
    println!(
        "  client: bound to {} (port 0 asked for an ephemeral port: 49152-65535)",
        client.local_addr()?
    );
    client.send_to(message, (SERVER, 9001)).await?;
    println!(
        "  on the wire: {} bytes of data + 8 (UDP header) + 20 (IPv4 header) = {} bytes",
        message.len(),
        message.len() + 28
    );
    let mut buf = [0u8; 4096];
    let (n, from) = client.recv_from(&mut buf).await?;
    println!(
        "  client: reply from {from}: {:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    server_task.await.map_err(io::Error::other)??;

    // A datagram to a port where nobody listens: the server's ICMP says so.
    client.connect((SERVER, 9999)).await?;
    client.send(b"anyone?").await?;
    match client.recv(&mut buf).await {
        Err(err) => println!("  client: to port 9999 -> {err}"),
        Ok(n) => println!("  client: unexpected {n}-byte reply from port 9999"),
    }
    println!("  capture: {}", file.display());
    println!(
        "\n  server's counters:\n{}",
        indent(&net.server.stats().to_string())
    );
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build();
    let result = runtime.and_then(|rt| {
        rt.block_on(async {
            std::fs::create_dir_all(&args.out)?;
            println!("tunstack tour: two hosts, {CLIENT} (client) and {SERVER} (server), on an in-memory wire");
            step_ping(&args.out).await?;
            step_udp(&args.out).await?;
            println!("\nOpen the captures in Wireshark: wireshark {}/01-ping.pcapng", args.out.display());
            io::Result::Ok(())
        })
    });
    if let Err(err) = result {
        eprintln!("tour: {err}");
        std::process::exit(1);
    }
}
