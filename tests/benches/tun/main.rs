//! Over TUN against the kernel: a Linux client with our stack, smoltcp, and the kernel's own
//! server over a veth pair, side by side in one run.
//!
//! ```text
//! cargo bench -p tunstack-tests --bench tun                       # 256 MiB per bulk run
//! cargo bench -p tunstack-tests --bench tun -- --bytes 64M --ping-seconds 2   # quicker
//! cargo bench -p tunstack-tests --bench tun -- --runtime multi --repeat 3
//! cargo bench -p tunstack-tests --bench tun -- --only ours        # one server, for a profiler
//! cargo bench -p tunstack-tests --bench tun -- --buffer 4M      # windows like the kernel's
//! cargo bench -p tunstack-tests --bench tun -- --congestion cubic  # the Linux side's TCP
//! cargo bench -p tunstack-tests --bench tun -- --zero-copy     # ours: write_chunk, read_chunk
//! cargo bench -p tunstack-tests --bench tun -- --big-tcp       # ours-offload: BIG TCP
//! cargo bench -p tunstack-tests --bench tun -- --pin           # server on CPU 0, client on 1
//! ```
//!
//! Needs root (namespaces, a TUN device, a veth pair), like the Linux suites. Each server gets
//! namespaces of its own, made for the run and deleted after it:
//!
//! ```text
//!   ours, ours-offload, smoltcp:
//!                   one namespace   Linux client 10.77.0.1 ──tun0──► stack 10.77.0.2
//!   kernel/veth:    two namespaces  Linux client 10.78.0.1 ──veth──► kernel socket 10.78.0.2
//! ```
//!
//! `ours-offload` is our stack on a TUN device opened with offloads
//! ([`TunDevice::open_offload`](tunstack::device::TunDevice::open_offload), the demos'
//! `--offload`): the kernel and our stack exchange 64 KiB super-packets with partial checksums,
//! as the kernel does over veth.
//!
//! The client is always the kernel's TCP on `std::net` sockets (threads of this process that
//! entered the client's namespace); the server is our stack or smoltcp on a TUN device, or the
//! kernel's TCP on tokio's sockets (the "kernel limit": the same server code on the kernel's
//! stack, over a veth pair, which has segmentation and receive offloads, so the kernel moves
//! 64 KiB super-packets where a TUN device carries 1,500-byte ones). The server code is the
//! same for all three: a task reading and writing a `tokio`-shaped stream.
//!
//! The workloads, one connection each:
//!
//! - echo: the client sends `--bytes` (default 256 MiB) and reads them back at the same time
//!   (a writer and a reader thread), checking every byte; the server echoes. Gbit/s each way.
//! - bulk Linux→server: the client sends `--bytes`; the server reads and counts them, and
//!   answers with the count. Gbit/s.
//! - bulk server→Linux: the server sends `--bytes`; the client reads and checks them. Gbit/s.
//! - 1-byte ping-pong: one byte there and back, again and again, for `--ping-seconds`
//!   (default 3): round trips per second, and their median and 99th percentile in µs.
//!
//! The servers run on a tokio current-thread runtime by default (the stack's driver and the
//! server task share one thread, the client's threads have the other core), or on a
//! multi-thread one with two workers (`--runtime multi`). Our stack and smoltcp have their
//! default 256 KiB buffers each way, or `--buffer N` each; the kernel its own autotuned ones
//! (up to 6 MiB to receive, `net.ipv4.tcp_rmem`). A window of 256 KiB limits a bulk run on
//! a fast link: `--buffer 4M` measures the stacks with windows like the kernel's. `--repeat N` runs
//! everything N times, interleaved, and keeps each cell's best; every run's line says the
//! machine's load averages when it began, since other work on the machine shows in the figures.
//!
//! `--pin` keeps the server's thread on CPU 0 and the client's threads on CPU 1, for every
//! column alike. Left to the scheduler, the two busy threads at times share a CPU or move,
//! and one bulk case on a two-core VM ran at 21–54 Gbit/s from run to run (our Linux→server
//! with `read_chunk`, six runs in a row); pinned, the same case ran at 50–71.
//!
//! The Linux side's congestion control matters as much as the server. Every namespace starts
//! with the machine's default (the header line names it); `--congestion cubic` (or `bbr`,
//! `reno`) sets it in every namespace of the run. BBR paces its sending at the bandwidth it
//! has measured from the ACKs, so its client leaves the CPUs partly idle and its figures
//! depend on how the server's ACKs are spaced; CUBIC sends as fast as its window allows.
//!
//! A run that fails prints `FAILED` and why, and its cell stays empty. smoltcp's column does,
//! now and then (a few bulk runs in forty on a loaded two-core machine): its side stops
//! acknowledging after a full window, until the client gives up (20 s) and resets.

mod client;
mod server;

use std::time::Duration;

use client::{Measured, Workload};
use server::{Server, SERVERS};
use tunstack_tests::{load_averages, parse_size, uptime};

/// How long one workload may take before it counts as stuck.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// What the command line asks for.
#[derive(Debug)]
struct Options {
    bytes: u64,
    ping_for: Duration,
    multi_thread: bool,
    repeat: usize,
    /// Only this server (`--only ours`).
    only: Option<String>,
    /// Only this workload (`--workload down`), for a profile of one.
    workload: Option<Workload>,
    /// Our stack sends bulk server→Linux with `TcpStream::write_chunk` and reads bulk
    /// Linux→server with `TcpStream::read_chunk` (`--zero-copy`).
    zero_copy: bool,
    /// Our offload device sends IPv4 super-packets longer than 64 KiB (`--big-tcp`).
    big_tcp: bool,
    /// The server's thread on CPU 0, the client's on CPU 1 (`--pin`).
    pin: bool,
    /// Our stack's and smoltcp's send and receive buffers (`--buffer 4M`), if not their
    /// defaults.
    buffer: Option<usize>,
    /// The congestion control algorithm of the kernel's TCP (`--congestion cubic`), if not
    /// the machine's default.
    congestion: Option<String>,
}

/// Parses `--bytes N` (K, M or G suffix), `--ping-seconds S`, `--runtime current|multi`,
/// `--repeat N`, `--only NAME`, `--workload echo|up|down|ping`, `--zero-copy`, `--big-tcp`, `--pin`, `--buffer N`
/// (K, M or G suffix) and `--congestion NAME`; other arguments (cargo passes `--bench`) are
/// ignored.
fn options() -> Result<Options, String> {
    let mut options = Options {
        bytes: 256 << 20,
        ping_for: Duration::from_secs(3),
        multi_thread: false,
        repeat: 1,
        only: None,
        workload: None,
        zero_copy: false,
        big_tcp: false,
        pin: false,
        buffer: None,
        congestion: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--bytes" => options.bytes = parse_size(&value()?)?,
            "--ping-seconds" => {
                let seconds: f64 = value()?
                    .parse()
                    .map_err(|e| format!("--ping-seconds: {e}"))?;
                options.ping_for = Duration::try_from_secs_f64(seconds)
                    .map_err(|e| format!("--ping-seconds: {e}"))?;
            }
            "--runtime" => {
                options.multi_thread = match value()?.as_str() {
                    "current" => false,
                    "multi" => true,
                    other => return Err(format!("--runtime current|multi, not {other}")),
                }
            }
            "--repeat" => {
                options.repeat = value()?.parse().map_err(|e| format!("--repeat: {e}"))?;
                options.repeat = options.repeat.max(1);
            }
            "--buffer" => {
                let bytes = parse_size(&value()?)?;
                let bytes = usize::try_from(bytes).map_err(|e| format!("--buffer: {e}"))?;
                options.buffer = Some(bytes);
            }
            "--congestion" => options.congestion = Some(value()?),
            "--zero-copy" => options.zero_copy = true,
            "--big-tcp" => options.big_tcp = true,
            "--pin" => options.pin = true,
            "--only" => {
                let name = value()?;
                if !SERVERS.iter().any(|s| s.name() == name) {
                    let names: Vec<_> = SERVERS.iter().map(|s| s.name()).collect();
                    return Err(format!("--only {}, not {name}", names.join("|")));
                }
                options.only = Some(name);
            }
            "--workload" => {
                let name = value()?;
                let found = Workload::ALL.into_iter().find(|w| w.short_name() == name);
                let names: Vec<_> = Workload::ALL.iter().map(|w| w.short_name()).collect();
                let names = names.join("|");
                options.workload = Some(found.ok_or(format!("--workload {names}, not {name}"))?);
            }
            _ => {}
        }
    }
    if options.bytes == 0 {
        return Err("--bytes must be more than 0".into());
    }
    Ok(options)
}

/// The best figure of each workload for each server so far: `table[workload][server]`.
type Table = Vec<Vec<Option<Measured>>>;

fn main() {
    if !tunstack_tests::tun_tests_can_run() {
        return;
    }
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("tun: {err}");
            std::process::exit(2);
        }
    };
    let runtime = match options.multi_thread {
        true => "multi-thread (2 workers)",
        false => "current-thread",
    };
    println!(
        "tunstack over TUN: a Linux client against ours and smoltcp on tun0, and the kernel over \
         veth; {} MiB per bulk run, every byte checked; ping-pong {:?}; servers on tokio's \
         {runtime} runtime; best of {}; buffers of ours and smoltcp: {}",
        options.bytes >> 20,
        options.ping_for,
        options.repeat,
        match options.buffer {
            Some(bytes) => format!("{} KiB each way", bytes >> 10),
            None => "their defaults (256 KiB each way)".to_string(),
        },
    );
    println!(
        "the kernel's TCP (client, and server over veth): {} congestion control",
        server::congestion_in_use(options.congestion.as_deref())
    );
    if options.zero_copy {
        println!(
            "ours sends bulk server→Linux with TcpStream::write_chunk (the pattern's memory is \
             shared with the send buffer, not copied) and reads bulk Linux→server with \
             TcpStream::read_chunk (the bytes stay in their packets); the others write and read, \
             a copy each"
        );
    }
    if options.pin {
        println!(
            "pinned: every server's thread (its runtime, with --runtime current) on CPU 0, the \
             client's threads on CPU 1"
        );
    }
    if options.big_tcp {
        println!(
            "ours-offload sends BIG TCP: IPv4 super-packets of up to {} KiB, Total Length 0 \
             (TunDevice::with_big_tcp)",
            tunstack::device::offload::BIG_TCP_MAX >> 10
        );
    }
    println!("{}", uptime());
    println!();
    let mut table: Table = vec![vec![None; SERVERS.len()]; Workload::ALL.len()];
    for _ in 0..options.repeat {
        for (column, &server) in SERVERS.iter().enumerate() {
            if options
                .only
                .as_deref()
                .is_some_and(|only| only != server.name())
            {
                continue;
            }
            if let Err(err) = run_server(server, &options, &mut table, column) {
                println!("  {:<12} FAILED: {err}", server.name());
            }
        }
    }
    println!();
    print_table(&table);
    println!();
    println!("{}", uptime());
}

/// Runs every workload on `server`, printing a line for each and keeping the best in `table`.
fn run_server(
    server: Server,
    options: &Options,
    table: &mut Table,
    column: usize,
) -> std::io::Result<()> {
    let mut bed = server.start(
        options.multi_thread,
        options.buffer,
        options.congestion.as_deref(),
        options.big_tcp,
    )?;
    bed.zero_copy = options.zero_copy;
    bed.pin = options.pin;
    for (row, &workload) in Workload::ALL.iter().enumerate() {
        if options.workload.is_some_and(|only| only != workload) {
            continue;
        }
        let load = load_averages();
        let measured = bed.run(workload, options.bytes, options.ping_for, RUN_LIMIT);
        let name = server.name();
        match measured {
            Ok(measured) => {
                println!(
                    "  {name:<12} {:<18} {}   (load {load})",
                    workload.name(),
                    describe(&measured)
                );
                let best = &mut table[row][column];
                if best.is_none_or(|best| measured.rate() > best.rate()) {
                    *best = Some(measured);
                }
            }
            Err(err) => println!("  {name:<12} {:<18} FAILED: {err}", workload.name()),
        }
    }
    bed.stop();
    Ok(())
}

/// One run's figures, for its line.
fn describe(measured: &Measured) -> String {
    match *measured {
        Measured::Bulk { bytes, elapsed } => format!(
            "{:>8.3} s  {:>6.2} Gbit/s  ({bytes} bytes)",
            elapsed.as_secs_f64(),
            measured.rate()
        ),
        Measured::PingPong {
            count, p50, p99, ..
        } => format!(
            "{:>8.0} req/s  p50 {} µs  p99 {} µs  ({count} round trips)",
            measured.rate(),
            p50.as_micros(),
            p99.as_micros()
        ),
    }
}

/// A row of the table: its title, the workload, and the figure it takes from the measurement.
type Row = (&'static str, Workload, fn(&Measured) -> f64);

/// The table's rows.
fn rows() -> Vec<Row> {
    let rate = |m: &Measured| m.rate();
    let p50 = |m: &Measured| match m {
        Measured::PingPong { p50, .. } => p50.as_secs_f64() * 1e6,
        Measured::Bulk { .. } => f64::NAN,
    };
    let p99 = |m: &Measured| match m {
        Measured::PingPong { p99, .. } => p99.as_secs_f64() * 1e6,
        Measured::Bulk { .. } => f64::NAN,
    };
    vec![
        ("echo, Gbit/s each way", Workload::Echo, rate),
        ("bulk Linux→server, Gbit/s", Workload::Up, rate),
        ("bulk server→Linux, Gbit/s", Workload::Down, rate),
        ("ping-pong, req/s", Workload::PingPong, rate),
        ("ping-pong p50, µs", Workload::PingPong, p50),
        ("ping-pong p99, µs", Workload::PingPong, p99),
    ]
}

/// Prints the table: a column per server, then ours (without and with offloads) against the
/// kernel, and ours against smoltcp (for the latencies, a ratio under 1 means ours is faster).
fn print_table(table: &Table) {
    let column = |server: Server| SERVERS.iter().position(|&s| s == server);
    print!("{:<27}", "");
    for server in SERVERS {
        print!(" {:>12}", server.name());
    }
    println!(
        " {:>12} {:>12} {:>12}",
        "ours/kernel", "offload/kern", "ours/smoltcp"
    );
    for (title, workload, figure) in rows() {
        let row = &table[workload as usize];
        let value = |server: Server| column(server).and_then(|c| row[c].as_ref()).map(figure);
        print!("{title:<27}");
        for server in SERVERS {
            match value(server) {
                Some(v) if v >= 100.0 => print!(" {v:>12.0}"),
                Some(v) => print!(" {v:>12.2}"),
                None => print!(" {:>12}", "-"),
            }
        }
        let ratios = [
            (Server::Ours, Server::Kernel),
            (Server::OursOffload, Server::Kernel),
            (Server::Ours, Server::Smol),
        ];
        for (ours, other) in ratios {
            match (value(ours), value(other)) {
                (Some(ours), Some(them)) => print!(" {:>11.2}×", ours / them),
                _ => print!(" {:>12}", "-"),
            }
        }
        println!();
    }
}
