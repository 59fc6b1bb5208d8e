//! tcp-rtt: the course's `measure_rtt`, on our own stack.
//!
//! It times TCP handshakes: `connect` returns when the server's SYN-ACK has come back, one round
//! trip after our SYN went out, so connect + close approximates the network's round-trip time
//! without any application in the way. It does that `--samples` times and prints each sample and
//! the course's summary:
//!
//! ```text
//! Sample 1: 0.41 ms (connect + close, from port 51234)
//! ...
//! RTT Stats: {'min_ms': 0.31, 'avg_ms': 0.40, 'max_ms': 0.52}
//! ```
//!
//! The max is often well above the min: that spread is queueing and scheduling, the same effect
//! the course points out for a real network. Each close only starts the connection's closing
//! handshake, which goes on in the background while the next sample runs.
//!
//! ```text
//! # any TCP server on the kernel side, e.g. the course's server.py (port 9000), on both
//! # IP versions:
//! python3 -c "import socket; s = socket.create_server(('::', 9000), family=socket.AF_INET6, dualstack_ipv6=True)
//! while True: s.accept()[0].close()" &
//! sudo tcp-rtt --to 10.77.0.1:9000 --samples 10
//! sudo tcp-rtt --to '[fd77::1]:9000' --samples 10      # the same over IPv6
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::time::{timeout, Instant};
use tunstack::{Stack, TcpStream};
use tunstack_demos::{
    exit_with, finish_client, init_logging, millis, parse_duration, shutdown_signal, start_on_tun,
    TunOptions,
};

/// Measures round-trip time with TCP handshakes on tunstack: the course's measure_rtt.
///
/// Creates a TUN device (TAP with --tap; the kernel side gets --peer and --peer6, our stack
/// --addr and --addr6), then --samples times connects to --to (IPv4 or IPv6) and closes at once, timing each connect + close, and prints the
/// samples and "RTT Stats: {'min_ms': .., 'avg_ms': .., 'max_ms': ..}". Stops at the first
/// connection that fails. Needs CAP_NET_ADMIN (run it with sudo).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "A server must already listen on the kernel side, on :: or 0.0.0.0 (the TUN \
                  device and its addresses only appear when tcp-rtt starts), e.g., over IPv4 \
                  and IPv6:\n  \
                  python3 -c \"import socket; s = socket.create_server(('::', 9000), \
                  family=socket.AF_INET6, dualstack_ipv6=True)\n\
                  while True: s.accept()[0].close()\"\n\
                  Then, in another shell: sudo tcp-rtt --samples 10\n\
                  Over IPv6: sudo tcp-rtt --to '[fd77::1]:9000' --samples 10"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The server whose handshakes to time (the kernel side's IPv4 address by default; an
    /// address, not a name: there is no DNS here), e.g. 10.77.0.1:9000 or `[fd77::1]:9000`.
    #[arg(long, default_value = "10.77.0.1:9000", value_name = "ADDR:PORT")]
    to: SocketAddr,

    /// How many handshakes to time (the course's num_samples).
    #[arg(long, default_value_t = 10, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    samples: u32,

    /// How long each connect may take (the course's settimeout(5.0)): seconds (5, 0.5, 2s) or
    /// milliseconds (200ms).
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    timeout: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    args.tun
        .check_reachable("--to", args.to.ip())
        .unwrap_or_else(|err| exit_with(&format!("tcp-rtt: {err}")));
    let net = start_on_tun("tcp-rtt", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let shutdown = shutdown_signal();
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("tcp-rtt: {err}"));
    }
    println!(
        "tcp-rtt ready: {} {}, timing {} handshakes with {}",
        net.our_addrs(),
        net.on_device(),
        args.samples,
        args.to
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    println!(
        "try: --samples 100; a server must listen on port {} on the kernel side before \
         tcp-rtt starts (see --help)",
        args.to.port()
    );

    finish_client("tcp-rtt", &net, shutdown, measure_rtt(&net.stack, &args)).await
}

/// Times `--samples` connect + close cycles and prints them and their min, average and max.
async fn measure_rtt(stack: &Stack, args: &Args) -> io::Result<()> {
    let mut latencies = Vec::new();
    for sample in 1..=args.samples {
        let start = Instant::now();
        // SYN -> SYN-ACK -> ACK: one round trip.
        let stream = connect(stack, args).await?;
        let port = stream.local_addr()?.port();
        drop(stream); // close: our FIN goes out, the rest of the close runs in the background
        let rtt = start.elapsed();
        println!(
            "Sample {sample}: {:.2} ms (connect + close, from port {port})",
            millis(rtt)
        );
        latencies.push(rtt);
    }
    if let (Some(min), Some(max)) = (latencies.iter().min(), latencies.iter().max()) {
        let avg = latencies.iter().sum::<Duration>() / latencies.len() as u32;
        println!(
            "RTT Stats: {{'min_ms': {:.2}, 'avg_ms': {:.2}, 'max_ms': {:.2}}}",
            millis(*min),
            millis(avg),
            millis(*max)
        );
    }
    Ok(())
}

/// One connect within `--timeout`; the error says what went wrong in the user's terms.
async fn connect(stack: &Stack, args: &Args) -> io::Result<TcpStream> {
    let to = args.to;
    match timeout(args.timeout, TcpStream::connect(stack, to)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) if err.kind() == io::ErrorKind::ConnectionRefused => Err(io::Error::new(
            err.kind(),
            format!(
                "{to} refused the connection: nothing listens on port {} there; start the \
                 server first (see --help)",
                to.port()
            ),
        )),
        Ok(Err(err)) => Err(io::Error::new(
            err.kind(),
            format!("connect to {to}: {err}"),
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no answer from {to} within {:.2} s: no SYN-ACK came back",
                args.timeout.as_secs_f64()
            ),
        )),
    }
}
