//! Goodput against loss, on virtual time: our NewReno and CUBIC, smoltcp's Reno, CUBIC and
//! no congestion control, side by side over the same impaired path.
//!
//! ```text
//! cargo bench -p tunstack-tests --bench goodput                          # 16 MiB per run
//! cargo bench -p tunstack-tests --bench goodput -- --bytes 4M            # a quick run
//! cargo bench -p tunstack-tests --bench goodput -- --loss-direction data --seed 2
//! ```
//!
//! Each run puts two stacks on the two ends of a [`memory::pair`]; the sender's end is wrapped
//! in [`Impair`], which gives both directions a bottleneck ([`RATE`] with a queue of
//! [`QUEUE`] packets, tail drop), a delay ([`DELAY`] each way) and random loss. The sender
//! connects, writes `--bytes` bytes of a [`Pattern`] and shuts down; the receiver reads to the
//! end, checking every byte. Goodput is the bytes the receiver got divided by the time from the
//! first write to the end of the stream.
//!
//! That time is virtual: every run has a current-thread tokio runtime whose clock is paused, so
//! time moves only when every task waits for a timer. The result does not depend on the CPU
//! or on what else the machine does, and a run repeats exactly (the same seed gives the same
//! losses). It measures what the protocols do with the path: how fast congestion control
//! fills the bottleneck, how loss recovery repairs the stream, what timeouts cost.
//!
//! Loss hits both directions by default: the data and the ACKs (`--loss-direction data` loses
//! data segments only). The bottleneck and the delay are always both ways. A run that has not
//! finished after `--limit` seconds of virtual time is cut there and reported with the goodput
//! so far, marked `*`.
//!
//! The columns: the sender's stack and congestion control; the receiver is the same stack
//! (first table), or the other one (second table). Both stacks get the same buffers
//! (`--buffer`, default 1 MiB each way), larger than the path holds (bandwidth × delay plus the
//! queue, about 270 KB), so that the window, not the buffer, is what congestion control sizes.
//!
//! A run that stalls is a finding, not noise: smoltcp's Reno and CUBIC sending to us stop for
//! good after 801,540 bytes at 0 and 0.5% loss, because we drop the retransmitted segment at
//! RCV.NXT once 32 early ranges are held (`tests/tests/tcp_scripted_peer.rs`,
//! `a_segment_at_rcv_nxt_is_taken_even_with_every_early_range_in_use`).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tunstack::device::impair::{ImpairConfig, ImpairStats, Impairments, QueueLimit};
use tunstack::device::{memory, Device, Impair, MemoryConfig};
use tunstack::tcp::{Algorithm, ConnStats};
use tunstack::Config;
use tunstack_tests::peer::{Conn, Kind, Peer};
use tunstack_tests::smol::{CongestionControl, SmolConfig};
use tunstack_tests::{parse_size, Pattern};

/// The bottleneck's rate, each way, in bit/s.
const RATE: u64 = 50_000_000;
/// How many packets wait at the bottleneck before it drops (about 24 ms at [`RATE`]).
const QUEUE: usize = 100;
/// The propagation delay each way.
const DELAY: Duration = Duration::from_millis(10);
/// The loss rates measured, as fractions.
const LOSSES: [f64; 7] = [0.0, 0.005, 0.01, 0.02, 0.05, 0.10, 0.20];
/// The receiver's address and port; the sender is .1.
const RECEIVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 5201);
const SENDER_CIDR: &str = "10.0.0.1/24";
const RECEIVER_CIDR: &str = "10.0.0.2/24";
/// The receiver's read size.
const READ_SIZE: usize = 64 * 1024;

/// A sending stack and its congestion control.
#[derive(Debug, Clone, Copy)]
enum Sender {
    Ours(Algorithm),
    Smol(CongestionControl),
}

impl Sender {
    fn kind(self) -> Kind {
        match self {
            Sender::Ours(_) => Kind::Ours,
            Sender::Smol(_) => Kind::Smol,
        }
    }

    fn name(self) -> String {
        match self {
            Sender::Ours(Algorithm::NewReno) => "ours NewReno".into(),
            Sender::Ours(Algorithm::Cubic) => "ours CUBIC".into(),
            Sender::Smol(CongestionControl::Reno) => "smoltcp Reno".into(),
            Sender::Smol(CongestionControl::Cubic) => "smoltcp CUBIC".into(),
            Sender::Smol(CongestionControl::None) => "smoltcp none".into(),
        }
    }
}

/// One column of a table: who sends (with which congestion control) to whom.
#[derive(Debug, Clone, Copy)]
struct Column {
    sender: Sender,
    receiver: Kind,
}

impl Column {
    fn name(self) -> String {
        if self.sender.kind() == self.receiver {
            self.sender.name()
        } else {
            format!("{}→{}", self.sender.name(), self.receiver)
        }
    }
}

/// The first table: each stack talking to itself.
const SAME: [Column; 5] = [
    Column {
        sender: Sender::Ours(Algorithm::NewReno),
        receiver: Kind::Ours,
    },
    Column {
        sender: Sender::Ours(Algorithm::Cubic),
        receiver: Kind::Ours,
    },
    Column {
        sender: Sender::Smol(CongestionControl::Reno),
        receiver: Kind::Smol,
    },
    Column {
        sender: Sender::Smol(CongestionControl::Cubic),
        receiver: Kind::Smol,
    },
    Column {
        sender: Sender::Smol(CongestionControl::None),
        receiver: Kind::Smol,
    },
];

/// The second table: each stack sending to the other.
const MIXED: [Column; 5] = [
    Column {
        sender: Sender::Ours(Algorithm::NewReno),
        receiver: Kind::Smol,
    },
    Column {
        sender: Sender::Ours(Algorithm::Cubic),
        receiver: Kind::Smol,
    },
    Column {
        sender: Sender::Smol(CongestionControl::Reno),
        receiver: Kind::Ours,
    },
    Column {
        sender: Sender::Smol(CongestionControl::Cubic),
        receiver: Kind::Ours,
    },
    Column {
        sender: Sender::Smol(CongestionControl::None),
        receiver: Kind::Ours,
    },
];

/// What the command line asks for.
#[derive(Debug)]
struct Options {
    bytes: u64,
    buffer: usize,
    /// Loss on the ACK direction too.
    both_ways: bool,
    seed: u64,
    limit: Duration,
}

/// Parses `--bytes N` and `--buffer N` (with an optional K, M or G suffix, powers of 1024),
/// `--loss-direction both|data`, `--seed N`, `--limit SECONDS` (virtual). Other arguments
/// (cargo passes `--bench`) are ignored.
fn options() -> Result<Options, String> {
    let mut options = Options {
        bytes: 16 << 20,
        buffer: 1 << 20,
        both_ways: true,
        seed: 1,
        limit: Duration::from_secs(4 * 3600),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--bytes" => options.bytes = parse_size(&value()?)?,
            "--buffer" => {
                options.buffer = usize::try_from(parse_size(&value()?)?)
                    .map_err(|_| "--buffer: too large".to_string())?;
            }
            "--loss-direction" => {
                options.both_ways = match value()?.as_str() {
                    "both" => true,
                    "data" => false,
                    other => return Err(format!("--loss-direction both|data, not {other}")),
                }
            }
            "--seed" => options.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--limit" => {
                let secs: u64 = value()?.parse().map_err(|e| format!("--limit: {e}"))?;
                options.limit = Duration::from_secs(secs);
            }
            _ => {}
        }
    }
    if options.bytes == 0 || options.buffer < 4096 {
        return Err("--bytes must be more than 0, --buffer at least 4K".into());
    }
    Ok(options)
}

/// The impairments of both directions for `loss`: the sender's outbound side carries the
/// data, its inbound side the ACKs.
fn path(options: &Options, loss: f64) -> ImpairConfig {
    let base = Impairments {
        rate: Some(RATE),
        queue_limit: QueueLimit::Packets(QUEUE),
        delay: DELAY,
        ..Impairments::default()
    };
    let data = Impairments {
        loss,
        ..base.clone()
    };
    let acks = Impairments {
        loss: if options.both_ways { loss } else { 0.0 },
        ..base
    };
    ImpairConfig {
        outbound: data,
        inbound: acks,
        seed: options.seed,
    }
}

/// Starts an end: `sender` decides the stack and its congestion control; a receiver of kind
/// `kind` runs its stack's default.
fn start(
    kind: Kind,
    sender: Option<Sender>,
    options: &Options,
    link: impl Device,
    cidr: &str,
) -> Peer {
    let cidr = cidr.parse().expect("a valid CIDR");
    match kind {
        Kind::Ours => {
            let mut config = Config::new(cidr);
            config.seed = Some(1);
            config.tcp.send_buffer = options.buffer;
            config.tcp.recv_buffer = options.buffer;
            if let Some(Sender::Ours(algorithm)) = sender {
                config.tcp.congestion = algorithm;
            }
            Peer::ours(link, config)
        }
        Kind::Smol => {
            let mut config = SmolConfig::new(cidr);
            config.send_buffer = options.buffer;
            config.recv_buffer = options.buffer;
            if let Some(Sender::Smol(congestion)) = sender {
                config.congestion = congestion;
            }
            Peer::smol(link, config)
        }
    }
}

/// What one run measured.
struct Outcome {
    /// Bytes the receiver got, checked.
    delivered: u64,
    /// Virtual time from the first write to the end of the stream (or to the limit).
    elapsed: Duration,
    /// Whether the run hit the limit before the end.
    cut: bool,
    /// Our sender's counters, when the sender is ours.
    sender: Option<ConnStats>,
    impair: ImpairStats,
}

impl Outcome {
    fn mbits(&self) -> f64 {
        self.delivered as f64 * 8.0 / self.elapsed.as_secs_f64() / 1e6
    }
}

/// Reads to the end, checking every byte and counting in `received` as it goes.
async fn receive(conn: &mut dyn Conn, pattern: &Pattern, received: &AtomicU64) -> io::Result<()> {
    let mut buf = vec![0; READ_SIZE];
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let offset = received.load(Ordering::Relaxed);
        pattern.check(offset, &buf[..n])?;
        received.store(offset + n as u64, Ordering::Relaxed);
    }
}

/// One run of `column` at `loss`, on the current (paused) runtime.
async fn transfer(options: &Options, column: Column, loss: f64) -> io::Result<Outcome> {
    let (a, b) = memory::pair(MemoryConfig::default());
    let impaired = Impair::new(a, path(options, loss))?;
    let impair = impaired.stats_handle();
    let sender = column.sender;
    let tx_node = start(sender.kind(), Some(sender), options, impaired, SENDER_CIDR);
    let rx_node = start(column.receiver, None, options, b, RECEIVER_CIDR);
    let accept = rx_node.listen(RECEIVER.port()).await?;
    let (mut tx, mut rx) = tokio::try_join!(tx_node.connect(RECEIVER), accept)?;
    let pattern = Pattern::new(42);
    let received = AtomicU64::new(0);

    let start = Instant::now();
    let send = async {
        pattern.write_to(&mut tx, options.bytes).await?;
        tx.shutdown().await
    };
    let run = async { tokio::try_join!(send, receive(&mut *rx, &pattern, &received)) };
    let cut = match tokio::time::timeout(options.limit, run).await {
        Ok(result) => {
            result?;
            false
        }
        Err(_) => true,
    };
    let elapsed = start.elapsed();
    let delivered = received.load(Ordering::Relaxed);
    if !cut && delivered != options.bytes {
        return Err(io::Error::other(format!(
            "the stream ended after {delivered} of {} bytes",
            options.bytes
        )));
    }
    Ok(Outcome {
        delivered,
        elapsed,
        cut,
        sender: tx_node.our_connections().first().map(|info| info.stats),
        impair: impair.get(),
    })
}

/// Runs `column` at `loss` on a fresh runtime whose clock is paused.
fn measure(options: &Options, column: Column, loss: f64) -> io::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    // Dropping the runtime ends the stacks' tasks (and smoltcp's TIME-WAIT).
    runtime.block_on(transfer(options, column, loss))
}

/// A loss rate as a short percentage: "0.5%", "20%".
fn percent(loss: f64) -> String {
    format!("{}%", loss * 100.0)
}

/// One line about one run.
fn report(loss: f64, column: Column, outcome: &Outcome) {
    let (out, inb) = (outcome.impair.outbound, outcome.impair.inbound);
    let mut line = format!(
        "  loss {:>5}  {:<26} {:>8.2} MiB in {:>9.2} s{} {:>7.2} Mbit/s   path: data {} lost + {} \
         queue drops, ACKs {} lost + {} queue drops",
        percent(loss),
        column.name(),
        outcome.delivered as f64 / (1 << 20) as f64,
        outcome.elapsed.as_secs_f64(),
        if outcome.cut { "*" } else { " " },
        outcome.mbits(),
        out.dropped_loss,
        out.dropped_queue,
        inb.dropped_loss,
        inb.dropped_queue,
    );
    if let Some(s) = outcome.sender {
        let after_timeout = s
            .retransmissions
            .saturating_sub(s.fast_retransmissions + s.sack_retransmissions);
        line += &format!(
            "; our sender: {} retransmitted (fast {}, sack {}, after timeout {}), {} timeouts \
             ({} spurious), {} fast recoveries",
            s.retransmissions,
            s.fast_retransmissions,
            s.sack_retransmissions,
            after_timeout,
            s.timeouts,
            s.spurious_timeouts,
            s.fast_recoveries,
        );
    }
    println!("{line}");
}

/// Runs every loss rate for `columns` and prints the table.
fn table(options: &Options, title: &str, columns: &[Column]) {
    println!("{title}");
    let mut rows = Vec::new();
    for loss in LOSSES {
        let mut row = Vec::new();
        for &column in columns {
            match measure(options, column, loss) {
                Ok(outcome) => {
                    report(loss, column, &outcome);
                    let mark = if outcome.cut { "*" } else { "" };
                    row.push(format!("{:.2}{mark}", outcome.mbits()));
                }
                Err(err) => {
                    println!(
                        "  loss {:>5}  {:<26} FAILED: {err}",
                        percent(loss),
                        column.name()
                    );
                    row.push("failed".into());
                }
            }
        }
        rows.push((loss, row));
    }
    let width = columns
        .iter()
        .map(|c| c.name().chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    println!();
    print!("{:>6}", "loss");
    for column in columns {
        print!("  {:>width$}", column.name());
    }
    println!();
    for (loss, row) in rows {
        print!("{:>6}", percent(loss));
        for cell in row {
            print!("  {cell:>width$}");
        }
        println!();
    }
    println!();
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("goodput: {err}");
            std::process::exit(2);
        }
    };
    println!(
        "tunstack goodput against loss: {} bytes ({:.2} MiB) per run, every byte checked",
        options.bytes,
        options.bytes as f64 / (1 << 20) as f64,
    );
    println!(
        "path: bottleneck {} Mbit/s each way (queue {QUEUE} packets, tail drop), delay {} ms \
         each way (20 ms round trip before queuing), random loss on {} (seed {})",
        RATE / 1_000_000,
        DELAY.as_millis(),
        if options.both_ways {
            "both directions: data and ACKs"
        } else {
            "the data direction only"
        },
        options.seed,
    );
    println!(
        "buffers: {} KiB send and receive per connection on both stacks; MTU 1500",
        options.buffer / 1024
    );
    println!(
        "goodput = bytes delivered / VIRTUAL seconds from the first write to the end of the \
         stream, on tokio's paused clock (deterministic, independent of the CPU); * = cut at \
         the limit of {} s of virtual time, goodput so far",
        options.limit.as_secs()
    );
    println!();
    table(
        &options,
        "Goodput in Mbit/s, sender and receiver on the same stack (the column names the \
         sender's congestion control):",
        &SAME,
    );
    table(
        &options,
        "Goodput in Mbit/s, sender and receiver on different stacks:",
        &MIXED,
    );
}
