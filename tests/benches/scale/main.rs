//! Many connections at once: how fast Linux clients open them to our stack, what each idle one
//! costs in memory, and what a busy one's round trip is with all the others open.
//!
//! ```text
//! cargo bench -p tunstack-tests --bench scale                          # 1,000 and 10,000
//! cargo bench -p tunstack-tests --bench scale -- --counts 1000,10000,100000
//! cargo bench -p tunstack-tests --bench scale -- --counts 100000 --tenths   # the setup curve
//! ```
//!
//! Needs root (a namespace and a TUN device, as the Linux suites do). For each count N, the
//! bench makes a namespace of its own with `tun0` in it: the kernel at 10.77.0.1/24 and
//! 10.77.0.10-.19 (the client addresses), our stack at 10.77.0.2 with its default [`Config`]
//! (256 KiB buffers each way), listening on port 7 and echoing what each connection sends.
//! Client processes in the namespace then open N kernel sockets one after the other (at most
//! 15,000 per process, one process after the other: see `clients.rs`), each bound to the
//! next client address before `connect` (with `IP_BIND_ADDRESS_NO_PORT`, so the port is chosen
//! per 4-tuple and ten addresses give ten times the ephemeral ports: the namespace's default
//! range, 32768-60999, allows 282,320), and keep them open.
//!
//! The table gives, per N:
//!
//! - the setup rate (connections/s) of the first 1,000 and of the last 1,000: a stack that
//!   slows down as it holds more connections shows it here;
//! - this process's resident memory (`VmRSS` in `/proc/self/status`) per connection: after
//!   all are open, nothing sent yet (`KiB open`); after each has echoed one 16-byte message and
//!   then been quiet for 1.5 s, past the second after which a quiet connection gives its
//!   buffers back (`KiB echo`: buffers used once, then released);
//!   and the same after `malloc_trim` (`KiB trim`). Freed memory stays in the allocator's heap,
//!   resident, until it is trimmed or reused: `echo` is the high-water mark, `trim` what is
//!   still in use. The kernel's sockets live in kernel memory, so these figures are our
//!   stack's and the echo tasks';
//! - the round trip p50/p99 of one more connection sending 64 bytes and reading them back,
//!   1,000 times, with the N others idle.
//!
//! With `--tenths`, a second line per count gives the setup rate of each tenth of its
//! connections, which shows whether a slowdown grows with the count or comes in steps.
//!
//! Each count runs in a process of its own (the bench starts itself with `--one N`), so that
//! memory one count freed is not reused by the next. That process runs our stack and holds no
//! client socket: the clients' file descriptors are spread over the client processes, so no
//! process needs an `RLIMIT_NOFILE` above 15,000 (raising the hard limit needs
//! CAP_SYS_RESOURCE, which a container's root may lack). Each line ends with the machine's
//! load averages when the count began. Nothing is written outside the namespace, which is
//! deleted after each count.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tunstack::device::netns::NetNs;
use tunstack::device::TunDevice;
use tunstack::{Config, Ipv4Cidr, Stack, TcpListener};
use tunstack_tests::{DEVICE, KERNEL, PREFIX_LEN, STACK};

mod clients;

use clients::{client_addrs, connect_from, Clients, PER_PROCESS};

/// The port our stack listens on.
pub const PORT: u16 = 7;
/// The size of the blocks whose setup rate is measured (the first and the last).
pub const BLOCK: usize = 1000;
/// How many messages the extra connection times.
const PINGS: usize = 1000;
/// How long to wait for our listener to have accepted every connection.
const ACCEPT_LIMIT: Duration = Duration::from_secs(120);
/// Our listener's backlog: enough that a burst of handshakes never waits on `accept`.
const BACKLOG: usize = 4096;
/// How long the echoed connections stay quiet before their memory is read: longer than the
/// second after which a quiet connection gives its buffers back (`BUFFER_IDLE`).
const SETTLE: Duration = Duration::from_millis(1500);

/// What one count measured.
struct Row {
    count: usize,
    first_rate: f64,
    last_rate: f64,
    open_bytes: f64,
    echoed_bytes: f64,
    /// As `echoed_bytes`, after the allocator has given its free memory back to the system.
    trimmed_bytes: f64,
    p50: Duration,
    p99: Duration,
    /// The setup rate of each tenth of the connections, in order.
    tenths: Vec<f64>,
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("scale: {err}");
            std::process::exit(2);
        }
    };
    // A client process, started by the bench inside the namespace (see `clients`).
    if let Some((count, first)) = options.clients {
        return clients::run_clients(count, first);
    }
    if !tunstack_tests::tun_tests_can_run() {
        return;
    }
    if let Some(count) = options.one {
        return measure_in_this_process(count);
    }
    println!(
        "{:>8} {:>12} {:>12} {:>10} {:>10} {:>10} {:>8} {:>8}  load",
        "conns", "first 1k/s", "last 1k/s", "KiB open", "KiB echo", "KiB trim", "p50 µs", "p99 µs"
    );
    for count in options.counts {
        // A process per count: memory that one count's run freed would otherwise be reused by
        // the next, and its resident figure would say nothing.
        let status = std::env::current_exe().and_then(|exe| {
            Command::new(exe)
                .args(["--one", &count.to_string()])
                .args(std::env::args().filter(|arg| arg == "--tenths"))
                .status()
        });
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => println!("{count:>8} failed: {status}"),
            Err(err) => println!("{count:>8} failed: {err}"),
        }
    }
}

/// Measures `count` connections in this process and prints the table's line.
fn measure_in_this_process(count: usize) {
    let load = tunstack_tests::load_averages();
    match run(count) {
        Ok(row) => print_row(&row, &load),
        Err(err) => {
            println!("{count:>8} failed: {err}");
            std::process::exit(1);
        }
    }
}

/// What the command line asks for.
struct Options {
    /// `--counts 1000,10000` (default 1,000 and 10,000).
    counts: Vec<usize>,
    /// `--one N`: measure N in this process (the bench passes it to the process it starts
    /// for each count).
    one: Option<usize>,
    /// `--clients COUNT --first INDEX`: be a client process (see `clients`).
    clients: Option<(usize, usize)>,
}

/// Parses the options; other arguments (cargo passes `--bench`) are ignored. Every count is a
/// multiple of 1,000, so that each client process opens whole blocks.
fn options() -> Result<Options, String> {
    let mut options = Options {
        counts: vec![1_000, 10_000],
        one: None,
        clients: None,
    };
    let mut first = 0;
    let parse = |n: &str| n.trim().parse::<usize>().map_err(|e| format!("{n}: {e}"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--counts" => {
                options.counts = value()?.split(',').map(parse).collect::<Result<_, _>>()?;
            }
            "--one" => options.one = Some(parse(&value()?)?),
            "--clients" => options.clients = Some((parse(&value()?)?, 0)),
            "--first" => first = parse(&value()?)?,
            _ => {}
        }
    }
    if let Some((count, _)) = options.clients {
        options.clients = Some((count, first));
        return Ok(options);
    }
    if let Some(bad) = options
        .counts
        .iter()
        .chain(&options.one)
        .find(|&&n| n < BLOCK || n % BLOCK != 0)
    {
        return Err(format!("{bad}: every count must be a multiple of {BLOCK}"));
    }
    Ok(options)
}

/// Prints one line of the table, with the load averages when the count began.
fn print_row(row: &Row, load: &str) {
    println!(
        "{:>8} {:>12.0} {:>12.0} {:>10.1} {:>10.1} {:>10.1} {:>8} {:>8}  {load}",
        row.count,
        row.first_rate,
        row.last_rate,
        row.open_bytes / 1024.0,
        row.echoed_bytes / 1024.0,
        row.trimmed_bytes / 1024.0,
        row.p50.as_micros(),
        row.p99.as_micros()
    );
    if std::env::args().any(|arg| arg == "--tenths") {
        let tenths: Vec<String> = row.tenths.iter().map(|r| format!("{r:.0}")).collect();
        println!("{:>8} setup/s by tenths: {}", "", tenths.join(" "));
    }
}

/// Measures one count in a namespace of its own.
fn run(count: usize) -> io::Result<Row> {
    let ns = NetNs::create("tunstack-scale")?;
    let (runtime, stack) = ns.run(|| start(&ns))??;
    let accepted = Arc::new(AtomicUsize::new(0));
    let listening = {
        let (stack, accepted) = (stack.clone(), accepted.clone());
        runtime.block_on(async move {
            let listener = TcpListener::bind_with_backlog(&stack, (STACK, PORT), BACKLOG).await?;
            tokio::spawn(serve(listener, accepted));
            Ok::<_, io::Error>(())
        })
    };
    listening?;
    let before = resident_bytes()?;
    let outcome = measure(&ns, count, &accepted, before);
    // Our stack stops (and closes the device) before the namespace goes.
    runtime.shutdown_timeout(Duration::from_secs(2));
    drop(stack);
    drop(ns);
    outcome
}

/// Inside the namespace: `tun0` with the kernel's addresses, and our stack on it, on a runtime
/// whose threads live in the namespace.
fn start(ns: &NetNs) -> io::Result<(Runtime, Stack)> {
    sh(ns, "ip", &["link", "set", "dev", "lo", "up"])?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scale")
        .enable_all()
        .build()?;
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "bad test network prefix");
    let kernel = Ipv4Cidr::new(KERNEL, PREFIX_LEN).ok_or_else(bad)?;
    let ours = Ipv4Cidr::new(STACK, PREFIX_LEN).ok_or_else(bad)?;
    let stack = runtime.block_on(async {
        let tun = TunDevice::open(DEVICE)?;
        tun.configure(kernel, None)?;
        Ok::<_, io::Error>(Stack::new(tun, Config::new(ours)))
    })?;
    for addr in client_addrs() {
        let cidr = format!("{addr}/{PREFIX_LEN}");
        sh(ns, "ip", &["addr", "add", &cidr, "dev", DEVICE])?;
    }
    Ok((runtime, stack))
}

/// Runs a command inside the namespace, failing if it does.
fn sh(ns: &NetNs, program: &str, args: &[&str]) -> io::Result<()> {
    let status = ns.exec(program, args).status()?;
    if !status.success() {
        return Err(io::Error::other(format!("{program} {args:?}: {status}")));
    }
    Ok(())
}

/// Accepts connections for ever, each echoed by a task of its own.
async fn serve(listener: TcpListener, accepted: Arc<AtomicUsize>) {
    while let Ok((stream, _)) = listener.accept().await {
        accepted.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(echo(stream));
    }
}

/// Sends back whatever arrives, until the peer closes. The small read buffer keeps the task's
/// own share of an idle connection's memory small.
async fn echo(mut stream: tunstack::TcpStream) {
    let mut buf = [0u8; 256];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Opens `count` connections from client processes in the namespace, one process after the
/// other, waits for our stack to have accepted them all, echoes one message on each, and
/// times one more connection.
fn measure(ns: &NetNs, count: usize, accepted: &AtomicUsize, before: u64) -> io::Result<Row> {
    let mut clients = Vec::new();
    let mut blocks = Vec::with_capacity(count / BLOCK);
    while clients.len() * PER_PROCESS < count {
        let first = clients.len() * PER_PROCESS;
        let mut process = Clients::start(ns, PER_PROCESS.min(count - first), first)?;
        loop {
            match process.next()? {
                (word, seconds) if word == "block" => {
                    let seconds: f64 = seconds.parse().map_err(io::Error::other)?;
                    blocks.push(Duration::from_secs_f64(seconds));
                }
                (word, _) if word == "open" => break,
                (word, rest) => return Err(io::Error::other(format!("{word} {rest}?"))),
            }
        }
        clients.push(process);
    }
    wait_for(|| accepted.load(Ordering::Relaxed) >= count, ACCEPT_LIMIT)?;
    let open = resident_bytes()?;
    for process in &mut clients {
        process.tell("echo")?;
        match process.next()? {
            (word, _) if word == "echoed" => {}
            (word, rest) => return Err(io::Error::other(format!("{word} {rest}?"))),
        }
    }
    // The last block's ACKs, which release their send buffers.
    std::thread::sleep(SETTLE);
    let echoed = resident_bytes()?;
    // Freed buffers stay in the allocator's heap, counted as resident, until it trims them:
    // the figure before shows the high-water mark, the one after what is still in use.
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe { libc::malloc_trim(0) };
    let trimmed = resident_bytes()?;
    let server = SocketAddr::V4(SocketAddrV4::new(STACK, PORT));
    let first_addr = client_addrs().next().unwrap_or(KERNEL);
    let (p50, p99) = ns.run(|| ping_pong(connect_from(first_addr, server)?))??;
    for process in clients {
        process.close()?;
    }
    let (first, last) = match (blocks.first(), blocks.last()) {
        (Some(first), Some(last)) if blocks.len() == count / BLOCK => (*first, *last),
        _ => {
            return Err(io::Error::other(format!(
                "{} blocks reported",
                blocks.len()
            )))
        }
    };
    let rate = |block: Duration| BLOCK as f64 / block.as_secs_f64();
    Ok(Row {
        count,
        first_rate: rate(first),
        last_rate: rate(last),
        open_bytes: open.saturating_sub(before) as f64 / count as f64,
        echoed_bytes: echoed.saturating_sub(before) as f64 / count as f64,
        trimmed_bytes: trimmed.saturating_sub(before) as f64 / count as f64,
        p50,
        p99,
        tenths: blocks
            .chunks(blocks.len().div_ceil(10))
            .map(|tenth| {
                (tenth.len() * BLOCK) as f64 / tenth.iter().sum::<Duration>().as_secs_f64()
            })
            .collect(),
    })
}

/// Times [`PINGS`] round trips of 64 bytes on `client`; returns the median and the 99th
/// percentile.
fn ping_pong(mut client: TcpStream) -> io::Result<(Duration, Duration)> {
    let message = [0x5a; 64];
    let mut back = [0u8; 64];
    let mut times = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let start = Instant::now();
        client.write_all(&message)?;
        client.read_exact(&mut back)?;
        times.push(start.elapsed());
    }
    times.sort_unstable();
    Ok((times[PINGS / 2], times[PINGS * 99 / 100]))
}

/// Waits until `ready` holds, or fails after `limit`.
fn wait_for(ready: impl Fn() -> bool, limit: Duration) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "not all accepted"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// This process's resident memory (`VmRSS`), in bytes.
fn resident_bytes() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other("no VmRSS in /proc/self/status"))
}
