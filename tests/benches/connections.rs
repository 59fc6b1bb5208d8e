//! Connection setup as the number of open connections grows, ours to ours in memory.
//!
//! ```text
//! cargo bench -p tunstack-tests --bench connections                    # 15,000
//! cargo bench -p tunstack-tests --bench connections -- --count 5000
//! cargo bench -p tunstack-tests --bench connections -- --buffer 16K   # smaller buffers
//! ```
//!
//! A client stack opens `--count` connections to a server stack on the in-memory wire, one
//! after the other, and keeps every one open; the server accepts and keeps them too. Every
//! 1,000 connections it prints how long the last 1,000 took. A stack whose work per pass or per
//! new connection grows with the connections it holds (a scan of its connection table, of its
//! timers) shows it here: the 15th thousand takes longer than the first. Both stacks, both
//! applications and the wire share one thread (tokio's current-thread runtime), so the time is
//! the CPU the whole exchange costs. One client address has 16,384 ephemeral ports (49152 to
//! 65535), so 16,000 connections is about the most this can open.

use std::net::Ipv4Addr;
use std::time::Instant;

use tunstack::device::{memory, MemoryConfig};
use tunstack::{Config, Ipv4Cidr, Stack, TcpListener, TcpStream};

/// Connections opened in all, by default.
const COUNT: usize = 15_000;
/// Connections per line of the table.
const STEP: usize = 1_000;

fn stack(link: memory::MemoryDevice, addr: Ipv4Addr, seed: u64, buffer: Option<u64>) -> Stack {
    let mut config = Config::new(Ipv4Cidr::new(addr, 8).expect("a valid prefix"));
    config.seed = Some(seed);
    if let Some(size) = buffer.and_then(|size| usize::try_from(size).ok()) {
        config.tcp.send_buffer = size;
        config.tcp.recv_buffer = size;
    }
    Stack::new(link, config)
}

/// The value after `--name` on the command line, read by `parse`.
fn arg<T>(name: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).and_then(|value| parse(value))
}

fn main() -> std::io::Result<()> {
    let count = arg("--count", |n| n.parse().ok()).unwrap_or(COUNT);
    // Each connection's send and receive buffer (the stack's default: 256 KiB).
    let buffer = arg("--buffer", |size| tunstack_tests::parse_size(size).ok());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (a, b) = memory::pair(MemoryConfig {
            queue_len: 4096,
            ..MemoryConfig::default()
        });
        let client = stack(a, Ipv4Addr::new(10, 0, 0, 1), 1, buffer);
        let server = stack(b, Ipv4Addr::new(10, 0, 0, 2), 2, buffer);
        let listener = TcpListener::bind(&server, "0.0.0.0:9000").await?;
        let accepting = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
        println!("connections open   last {STEP} took   per connection");
        let mut held = Vec::with_capacity(count);
        let mut step = Instant::now();
        for n in 1..=count {
            held.push(TcpStream::connect(&client, (Ipv4Addr::new(10, 0, 0, 2), 9000)).await?);
            if n % STEP == 0 {
                let took = step.elapsed();
                println!(
                    "{n:>16}   {:>12.1} ms   {:>11.1} µs",
                    took.as_secs_f64() * 1e3,
                    took.as_secs_f64() * 1e6 / STEP as f64
                );
                step = Instant::now();
            }
        }
        accepting.abort();
        Ok(())
    })
}
