//! Many connections at once: how fast Linux clients open them to our stack, what each idle one
//! costs in memory, and what a busy one's round trip is with all the others open.
//!
//! ```text
//! cargo bench -p tunstack-tests --bench scale                          # 1,000 and 10,000
//! cargo bench -p tunstack-tests --bench scale -- --counts 1000,10000,100000
//! ```
//!
//! Needs root (a namespace and a TUN device, as the Linux suites do). For each count N, the
//! bench makes a namespace of its own with `tun0` in it: the kernel at 10.77.0.1/24 and
//! 10.77.0.10-.19 (the client addresses), our stack at 10.77.0.2 with its default [`Config`]
//! (256 KiB buffers each way), listening on port 7 and echoing what each connection sends. A
//! thread in the namespace then opens N kernel sockets one after the other, each bound to the
//! next client address before `connect` (with `IP_BIND_ADDRESS_NO_PORT`, so the port is chosen
//! per 4-tuple and ten addresses give ten times the ephemeral ports), and keeps them open.
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
//! Each count runs in a process of its own (the bench starts itself with `--one N`), so that
//! memory one count freed is not reused by the next. The client sockets are file descriptors
//! of that process: a count needs `RLIMIT_NOFILE` above it, and raising the hard limit needs
//! CAP_SYS_RESOURCE; a count that does not fit is skipped with the reason. Nothing is written
//! outside the namespace, which is deleted after each count.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::FromRawFd;
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

/// The port our stack listens on.
const PORT: u16 = 7;
/// How many client addresses the kernel's side has: 10.77.0.10 to 10.77.0.19.
const CLIENT_ADDRS: u8 = 10;
/// The size of the blocks whose setup rate is measured (the first and the last).
const BLOCK: usize = 1000;
/// How many messages the extra connection times.
const PINGS: usize = 1000;
/// How long to wait for our listener to have accepted every connection.
const ACCEPT_LIMIT: Duration = Duration::from_secs(120);
/// Our listener's backlog: enough that a burst of handshakes never waits on `accept`.
const BACKLOG: usize = 4096;
/// How long the echoed connections stay quiet before their memory is read: longer than the
/// second after which a quiet connection gives its buffers back (`BUFFER_IDLE`).
const SETTLE: Duration = Duration::from_millis(1500);
/// File descriptors the process needs besides the client sockets.
const SPARE_FDS: u64 = 256;
/// `IP_BIND_ADDRESS_NO_PORT` from `linux/in.h` (not in every libc crate version).
const IP_BIND_ADDRESS_NO_PORT: libc::c_int = 24;

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
}

fn main() {
    if !tunstack_tests::tun_tests_can_run() {
        return;
    }
    let (counts, one) = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("scale: {err}");
            std::process::exit(2);
        }
    };
    if let Some(count) = one {
        return measure_in_this_process(count);
    }
    println!(
        "{:>8} {:>12} {:>12} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "conns", "first 1k/s", "last 1k/s", "KiB open", "KiB echo", "KiB trim", "p50 µs", "p99 µs"
    );
    for count in counts {
        // A process per count: memory that one count's run freed would otherwise be reused by
        // the next, and its resident figure would say nothing.
        let status = std::env::current_exe().and_then(|exe| {
            Command::new(exe)
                .args(["--one", &count.to_string()])
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
    let fds = match raise_fd_limit(count as u64 + SPARE_FDS) {
        Ok(fds) => fds,
        Err(err) => {
            println!("{count:>8} failed: cannot raise RLIMIT_NOFILE: {err}");
            std::process::exit(1);
        }
    };
    if count as u64 + SPARE_FDS > fds {
        println!("{count:>8} skipped: needs {count} file descriptors, RLIMIT_NOFILE is {fds}");
        return;
    }
    match run(count) {
        Ok(row) => print_row(&row),
        Err(err) => {
            println!("{count:>8} failed: {err}");
            std::process::exit(1);
        }
    }
}

/// Parses `--counts 1000,10000` (default 1,000 and 10,000), and `--one N`, which the bench
/// passes to the process it starts for each count; other arguments (cargo passes `--bench`)
/// are ignored.
fn options() -> Result<(Vec<usize>, Option<usize>), String> {
    let mut counts = vec![1_000, 10_000];
    let mut one = None;
    let parse = |n: &str| n.trim().parse::<usize>().map_err(|e| format!("{n}: {e}"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--counts" => {
                let list = args.next().ok_or("--counts needs a value")?;
                counts = list.split(',').map(parse).collect::<Result<_, _>>()?;
            }
            "--one" => one = Some(parse(&args.next().ok_or("--one needs a value")?)?),
            _ => {}
        }
    }
    if counts.iter().chain(&one).any(|&n| n < BLOCK) {
        return Err(format!("every count must be at least {BLOCK}"));
    }
    Ok((counts, one))
}

/// Prints one line of the table.
fn print_row(row: &Row) {
    println!(
        "{:>8} {:>12.0} {:>12.0} {:>10.1} {:>10.1} {:>10.1} {:>8} {:>8}",
        row.count,
        row.first_rate,
        row.last_rate,
        row.open_bytes / 1024.0,
        row.echoed_bytes / 1024.0,
        row.trimmed_bytes / 1024.0,
        row.p50.as_micros(),
        row.p99.as_micros()
    );
}

/// Lets this process hold as many file descriptors as it may (every client socket is one);
/// returns how many that is. Raising the hard limit needs CAP_SYS_RESOURCE, which a container's
/// root may lack: then the hard limit is what there is.
fn raise_fd_limit(want: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the pointer is to a live, initialized rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let wanted = libc::rlimit {
        rlim_cur: want.max(limit.rlim_cur),
        rlim_max: want.max(limit.rlim_max),
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
        return Ok(wanted.rlim_cur);
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
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
    let outcome = ns.run(|| measure(count, &accepted, before))?;
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

/// The kernel's client addresses.
fn client_addrs() -> impl Iterator<Item = Ipv4Addr> {
    (0..CLIENT_ADDRS).map(|i| Ipv4Addr::new(10, 77, 0, 10 + i))
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

/// On a thread in the namespace: opens `count` connections, waits for our stack to have
/// accepted them all, echoes one message on each, and times one more.
fn measure(count: usize, accepted: &AtomicUsize, before: u64) -> io::Result<Row> {
    let server = SocketAddr::V4(SocketAddrV4::new(STACK, PORT));
    let addrs: Vec<Ipv4Addr> = client_addrs().collect();
    let mut clients = Vec::with_capacity(count);
    let mut done = Vec::with_capacity(count);
    let start = Instant::now();
    for i in 0..count {
        clients.push(connect_from(addrs[i % addrs.len()], server)?);
        done.push(start.elapsed());
    }
    wait_for(|| accepted.load(Ordering::Relaxed) >= count, ACCEPT_LIMIT)?;
    let open = resident_bytes()?;
    echo_each(&mut clients)?;
    // The last block's ACKs, which release their send buffers.
    std::thread::sleep(SETTLE);
    let echoed = resident_bytes()?;
    // Freed buffers stay in the allocator's heap, counted as resident, until it trims them:
    // the figure before shows the high-water mark, the one after what is still in use.
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe { libc::malloc_trim(0) };
    let trimmed = resident_bytes()?;
    let (p50, p99) = ping_pong(connect_from(addrs[0], server)?)?;
    let rate = |from: Duration, to: Duration| BLOCK as f64 / (to - from).as_secs_f64();
    Ok(Row {
        count,
        first_rate: rate(Duration::ZERO, done[BLOCK - 1]),
        last_rate: rate(done[count - BLOCK], done[count - 1]),
        open_bytes: open.saturating_sub(before) as f64 / count as f64,
        echoed_bytes: echoed.saturating_sub(before) as f64 / count as f64,
        trimmed_bytes: trimmed.saturating_sub(before) as f64 / count as f64,
        p50,
        p99,
    })
}

/// A kernel TCP connection from `from` (port chosen at `connect`) to `to`.
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> io::Result<TcpStream> {
    // SAFETY: a plain socket(2) call; the descriptor is owned by the TcpStream made below, or
    // closed here on error.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a socket this function just opened and nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let local = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(from).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: the option value and the address point to live values of the sizes given.
    let failed = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_IP,
            IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of_val(&one) as libc::socklen_t,
        ) != 0
            || libc::bind(
                fd,
                (&local as *const libc::sockaddr_in).cast(),
                std::mem::size_of_val(&local) as libc::socklen_t,
            ) != 0
    };
    if failed {
        return Err(io::Error::last_os_error());
    }
    connect(stream, to)
}

/// Connects a bound socket (std's `TcpStream::connect` cannot bind first).
fn connect(stream: TcpStream, to: SocketAddr) -> io::Result<TcpStream> {
    use std::os::fd::AsRawFd;
    let SocketAddr::V4(to) = to else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "IPv4 only"));
    };
    let remote = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: the address points to a live sockaddr_in of the size given.
    let rc = unsafe {
        libc::connect(
            stream.as_raw_fd(),
            (&remote as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(&remote) as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends 16 bytes on every connection and reads them back, a block at a time so that the
/// device's queue is not flooded.
fn echo_each(clients: &mut [TcpStream]) -> io::Result<()> {
    let message = *b"sixteen bytes ..";
    for block in clients.chunks_mut(BLOCK) {
        for client in block.iter_mut() {
            client.write_all(&message)?;
        }
        for client in block.iter_mut() {
            let mut back = [0u8; 16];
            client.read_exact(&mut back)?;
            if back != message {
                return Err(io::Error::other("the echo differs from what was sent"));
            }
        }
    }
    Ok(())
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
