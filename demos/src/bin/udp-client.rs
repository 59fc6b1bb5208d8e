//! udp-client: the course's UDP client, on our own stack, with the course's retry idea.
//!
//! It sends one datagram to a UDP server on the kernel's side of the TUN device and waits for
//! the reply. UDP does not say when a datagram is lost, so the client sets a timeout, and when
//! it expires, tries again (the course's `call_with_retry`): after a wait that doubles each time
//! (exponential backoff) plus a random part of up to half of it (jitter), so that clients that
//! lost their datagrams at the same moment do not all come back at the same moment.
//!
//! ```text
//! try 1 ─ timeout ─ wait 0.5 s + jitter ─ try 2 ─ timeout ─ wait 1 s + jitter ─ try 3 ─ reply
//! ```
//!
//! The socket is bound to port 0, so the stack gives it a random ephemeral port (49152–65535),
//! and connected to the server, so only the server's datagrams come in and an ICMP port
//! unreachable (no server there) is reported as "connection refused", which is retried too.
//!
//! A reply that comes after its timeout is taken as the answer to the next try, and its RTT
//! then looks short: with nothing in the datagrams to tell tries apart, a client cannot know.
//! TCP has the same ambiguity with retransmissions (Karn's algorithm).
//!
//! ```text
//! # the course's UDP server, on the kernel side, answering every datagram (on :: with
//! # IPV6_V6ONLY off, so that IPv4 datagrams come to it too):
//! python3 -c "import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
//! s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('::', 9001))
//! while True: d, a = s.recvfrom(4096); s.sendto(b'Got your datagram!', a)" &
//! sudo udp-client --message hello --count 5
//! sudo udp-client --to '[fd77::1]:9001'            # over IPv6
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::time::{timeout, Instant};
use tunstack::UdpSocket;
use tunstack_demos::{
    backoff_delay, exit_with, init_logging, millis, parse_duration, shutdown_signal, start_on_tun,
    TunOptions,
};

/// The first wait before a retry; each further retry waits twice as long (plus jitter).
const BACKOFF_BASE: Duration = Duration::from_millis(500);

/// A UDP client on tunstack: sends a datagram, waits for the reply, retries with backoff.
///
/// Creates a TUN device (TAP with --tap; the kernel side gets --peer and --peer6, our stack
/// --addr and --addr6), sends --message to --to (IPv4 or IPv6) from a random ephemeral port and
/// prints the reply, who sent it and the round-trip time. When no reply comes within --timeout, it retries after 0.5 s, 1 s, 2 s, 4 s...
/// plus up to 50% of random jitter, as the course's call_with_retry does. Needs CAP_NET_ADMIN (run
/// it with sudo).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "The server must already listen on the kernel side, on :: or 0.0.0.0 (the TUN \
                  device and its addresses only appear when the client starts), e.g. the \
                  course's UDP server, answering every datagram, over IPv4 and IPv6:\n  \
                  python3 -c \"import socket; s = socket.socket(socket.AF_INET6, \
                  socket.SOCK_DGRAM)\n\
                  s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('::', 9001))\n\
                  while True: d, a = s.recvfrom(4096); s.sendto(b'Got your datagram!', a)\"\n\
                  Then, in another shell: sudo udp-client --count 5\n\
                  Over IPv6: sudo udp-client --to '[fd77::1]:9001'"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The server to send to (the kernel side's IPv4 address by default), e.g.
    /// 10.77.0.1:9001, or `[fd77::1]:9001` over IPv6.
    #[arg(long, default_value = "10.77.0.1:9001", value_name = "ADDR:PORT")]
    to: SocketAddr,

    /// The datagram's text.
    #[arg(long, default_value = "hello", value_name = "TEXT")]
    message: String,

    /// How long to wait for each reply: seconds (1, 0.5, 2s) or milliseconds (200ms).
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration)]
    timeout: Duration,

    /// How many times to send again when no reply came in time, after the first try (0: never
    /// retry; the course's max_retries counts the first try too).
    #[arg(long, default_value_t = 5, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=16))]
    retries: u32,

    /// How many datagrams to send, one after the other; prints min/avg/max RTT at the end.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,
}

/// A reply and how long it took.
struct Reply {
    len: usize,
    from: SocketAddr,
    rtt: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    args.tun
        .check_reachable("--to", args.to.ip())
        .unwrap_or_else(|err| exit_with(&format!("udp-client: {err}")));
    let net = start_on_tun("udp-client", &args.tun).unwrap_or_else(|err| exit_with(&err));
    // The "any" address of --to's version, and port 0: the stack picks an ephemeral port.
    let any: IpAddr = match args.to {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(&net.stack, (any, 0))
        .await
        .unwrap_or_else(|err| exit_with(&format!("udp-client: bind: {err}")));
    let port = socket.local_addr().map_or(0, |addr| addr.port());
    if let Err(err) = socket.connect(args.to).await {
        exit_with(&format!("udp-client: connect to {}: {err}", args.to));
    }
    let shutdown = shutdown_signal();
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("udp-client: {err}"));
    }
    println!(
        "udp-client ready: {} {}, sending to {}",
        net.our_endpoint_toward(args.to.ip(), port),
        net.on_device(),
        args.to
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    println!(
        "try: --count 10 for RTT stats; a server must listen on port {} on the kernel side \
         before the client starts (see --help)",
        args.to.port()
    );

    let code = tokio::select! {
        biased;
        err = net.stack.stopped() => {
            eprintln!("udp-client: {err}");
            ExitCode::FAILURE
        }
        code = run(&socket, &args) => code,
        _ = shutdown => {
            eprintln!("udp-client: interrupted");
            ExitCode::from(130)
        }
    };
    println!("My ephemeral port was: {port}");
    eprintln!("udp-client: done\n{}", net.stack.stats());
    if let Some(stats) = net.impair_stats() {
        eprintln!("{stats}");
    }
    code
}

/// Sends `--count` datagrams, each with retries, and prints the replies and RTT statistics.
/// Returns the exit status: success when every datagram got its reply.
async fn run(socket: &UdpSocket, args: &Args) -> ExitCode {
    let mut rng = fastrand::Rng::new();
    let mut buf = vec![0u8; 65536];
    let mut rtts = Vec::new();
    for _ in 0..args.count {
        match call_with_retry(socket, args, &mut rng, &mut buf).await {
            Ok(reply) => {
                let text = String::from_utf8_lossy(&buf[..reply.len]);
                println!(
                    "Server said: {text:?} ({} bytes from {}, RTT {:.2} ms)",
                    reply.len,
                    reply.from,
                    millis(reply.rtt)
                );
                rtts.push(reply.rtt);
            }
            Err(err) => {
                eprintln!("udp-client: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let (Some(min), Some(max)) = (rtts.iter().min(), rtts.iter().max()) {
        let avg = rtts.iter().sum::<Duration>() / rtts.len() as u32;
        println!(
            "RTT Stats: {{'min_ms': {:.2}, 'avg_ms': {:.2}, 'max_ms': {:.2}}}",
            millis(*min),
            millis(avg),
            millis(*max)
        );
    }
    ExitCode::SUCCESS
}

/// Sends the message and waits for the reply; on a timeout (or a refusal) waits as the backoff
/// says and tries again, at most `--retries` times.
async fn call_with_retry(
    socket: &UdpSocket,
    args: &Args,
    rng: &mut fastrand::Rng,
    buf: &mut [u8],
) -> io::Result<Reply> {
    let mut retry = 0;
    loop {
        let sent_at = Instant::now();
        socket.send(args.message.as_bytes()).await?;
        match timeout(args.timeout, socket.recv_from(buf)).await {
            Ok(Ok((len, from))) => {
                return Ok(Reply {
                    len,
                    from,
                    rtt: sent_at.elapsed(),
                })
            }
            // Nobody listens on the server's port: like a timeout, worth another try later.
            Ok(Err(err)) if err.kind() == io::ErrorKind::ConnectionRefused => {
                println!("No server at {}: {err}", args.to);
            }
            Ok(Err(err)) => return Err(err),
            Err(_) => println!("No reply within {:.2} s", args.timeout.as_secs_f64()),
        }
        if retry == args.retries {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no reply from {} after {} tries", args.to, retry + 1),
            ));
        }
        let delay = backoff_delay(BACKOFF_BASE, retry, rng);
        retry += 1;
        println!("Retry {retry} after {:.2} s", delay.as_secs_f64());
        tokio::time::sleep(delay).await;
    }
}
