//! The Linux side of the TUN bench: kernel sockets (`std::net`), one connection per workload,
//! made on a thread inside the client's namespace.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tunstack_tests::Pattern;

/// How long a read or a write may wait before the run counts as stalled.
const STALL: Duration = Duration::from_secs(20);
/// The client's read size.
const READ_SIZE: usize = 256 * 1024;

/// What a workload does on the connection; the server's side of each is in `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The client sends `bytes` and reads them back at the same time; the server echoes.
    Echo,
    /// The client sends `bytes`; the server reads, counts and answers with the count.
    Up,
    /// The client asks for `bytes`; the server sends them.
    Down,
    /// One byte there and back, again and again, for a few seconds.
    PingPong,
}

impl Workload {
    /// Every workload, in the table's order.
    pub const ALL: [Workload; 4] = [
        Workload::Echo,
        Workload::Up,
        Workload::Down,
        Workload::PingPong,
    ];

    /// The workload's name in the per-run lines.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::Up => "bulk Linux→server",
            Workload::Down => "bulk server→Linux",
            Workload::PingPong => "1-byte ping-pong",
        }
    }

    /// The workload's name on the command line (`--workload`).
    pub fn short_name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::Up => "up",
            Workload::Down => "down",
            Workload::PingPong => "ping",
        }
    }
}

/// What one workload measured on the client's side.
#[derive(Debug, Clone, Copy)]
pub enum Measured {
    /// Bytes moved each way (echo) or one way, and how long it took.
    Bulk { bytes: u64, elapsed: Duration },
    /// Round trips, how long they took in all, and their median and 99th percentile.
    PingPong {
        count: usize,
        elapsed: Duration,
        p50: Duration,
        p99: Duration,
    },
}

impl Measured {
    /// Gbit/s for a bulk workload, requests/s for ping-pong: the figure the table compares,
    /// higher is better.
    pub fn rate(&self) -> f64 {
        match *self {
            Measured::Bulk { bytes, elapsed } => bytes as f64 * 8.0 / elapsed.as_secs_f64() / 1e9,
            Measured::PingPong { count, elapsed, .. } => count as f64 / elapsed.as_secs_f64(),
        }
    }
}

/// Connects to `server` and runs `workload` to its end, checking every byte that comes back.
pub fn run(
    workload: Workload,
    server: SocketAddr,
    bytes: u64,
    ping_for: Duration,
) -> io::Result<Measured> {
    let stream = TcpStream::connect_timeout(&server, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    // A stalled server fails the run rather than hanging the bench.
    stream.set_read_timeout(Some(STALL))?;
    stream.set_write_timeout(Some(STALL))?;
    let kept = stream.try_clone()?;
    let measured = match workload {
        Workload::Echo => echo(stream, bytes),
        Workload::Up => up(stream, bytes),
        Workload::Down => down(stream, bytes),
        Workload::PingPong => ping_pong(stream, ping_for),
    };
    if measured.is_err() {
        // A reset rather than a FIN behind data the server may never take: the server's side
        // then fails at once instead of waiting for the run's time limit.
        reset_on_close(&kept);
    }
    measured
}

/// Makes closing `stream` send a reset (`SO_LINGER` with a zero timeout).
fn reset_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor is open, and the value is a live `linger` of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// The pattern each workload's data follows.
pub fn pattern() -> Pattern {
    Pattern::new(13)
}

/// Writes the pattern's first `bytes` bytes.
fn write_pattern(stream: &mut TcpStream, pattern: &Pattern, bytes: u64) -> io::Result<()> {
    let mut sent = 0;
    while sent < bytes {
        let chunk = pattern.chunk(sent, usize::try_from(bytes - sent).unwrap_or(usize::MAX));
        stream.write_all(chunk)?;
        sent += chunk.len() as u64;
    }
    Ok(())
}

/// Reads to the end of the stream, checking every byte against the pattern; returns the count.
fn read_pattern(stream: &mut TcpStream, pattern: &Pattern) -> io::Result<u64> {
    let mut buf = vec![0; READ_SIZE];
    let mut received = 0u64;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(received);
        }
        pattern.check(received, &buf[..n])?;
        received += n as u64;
    }
}

/// Fails unless `got` is `want`.
fn expect_count(what: &str, got: u64, want: u64) -> io::Result<()> {
    if got != want {
        return Err(io::Error::other(format!("{what}: {got} of {want} bytes")));
    }
    Ok(())
}

/// A writer thread sends, this thread reads back, both at once.
fn echo(mut stream: TcpStream, bytes: u64) -> io::Result<Measured> {
    let pattern = pattern();
    let mut writer = stream.try_clone()?;
    let start = Instant::now();
    let writing = {
        let pattern = pattern.clone();
        std::thread::spawn(move || {
            write_pattern(&mut writer, &pattern, bytes)?;
            writer.shutdown(Shutdown::Write)
        })
    };
    let received = read_pattern(&mut stream, &pattern);
    let elapsed = start.elapsed();
    if received.is_err() {
        // Unblocks the writer, which may wait for a window that will not open.
        let _ = stream.shutdown(Shutdown::Both);
    }
    let written = writing
        .join()
        .map_err(|_| io::Error::other("the writer panicked"))?;
    let received = received.map_err(|err| io::Error::new(err.kind(), format!("reading: {err}")))?;
    written.map_err(|err| io::Error::new(err.kind(), format!("writing: {err}")))?;
    expect_count("echoed", received, bytes)?;
    Ok(Measured::Bulk { bytes, elapsed })
}

/// Sends `bytes`, then waits for the server's count of them.
fn up(mut stream: TcpStream, bytes: u64) -> io::Result<Measured> {
    let start = Instant::now();
    write_pattern(&mut stream, &pattern(), bytes)?;
    stream.shutdown(Shutdown::Write)?;
    let mut count = [0; 8];
    stream.read_exact(&mut count)?;
    let elapsed = start.elapsed();
    expect_count("the server counted", u64::from_be_bytes(count), bytes)?;
    Ok(Measured::Bulk { bytes, elapsed })
}

/// Asks for `bytes` and reads them, checking each.
fn down(mut stream: TcpStream, bytes: u64) -> io::Result<Measured> {
    let start = Instant::now();
    stream.write_all(&bytes.to_be_bytes())?;
    let received = read_pattern(&mut stream, &pattern())?;
    let elapsed = start.elapsed();
    expect_count("received", received, bytes)?;
    Ok(Measured::Bulk { bytes, elapsed })
}

/// One byte each way, as often as it goes, for `duration`.
fn ping_pong(mut stream: TcpStream, duration: Duration) -> io::Result<Measured> {
    let mut times = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    let mut byte = [0u8; 1];
    while start.elapsed() < duration {
        let sent = times.len() as u8;
        let before = Instant::now();
        stream.write_all(&[sent])?;
        stream.read_exact(&mut byte)?;
        times.push(before.elapsed());
        if byte[0] != sent {
            return Err(io::Error::other("the echo differs from what was sent"));
        }
    }
    let elapsed = start.elapsed();
    stream.shutdown(Shutdown::Write)?;
    expect_count("after the last ping", stream.read(&mut byte)? as u64, 0)?;
    let count = times.len();
    if count == 0 {
        return Err(io::Error::other("no round trip finished"));
    }
    times.sort_unstable();
    Ok(Measured::PingPong {
        count,
        elapsed,
        p50: times[count / 2],
        p99: times[count * 99 / 100],
    })
}
