//! tcp-echo: the course's echo server, on our own stack.
//!
//! `accept()` returns a new socket for each client while the listening socket goes on
//! listening; each connection is served by its own task, so many clients are served at once
//! (the event-driven model of the course: one thread, many sockets).
//!
//! It listens on `[::]`, so IPv4 and IPv6 clients alike come in (an IPv4 client shows as
//! `[::ffff:10.77.0.1]:port`, its address mapped into IPv6's, as on Linux).
//!
//! ```text
//! sudo tcp-echo                     # creates tun0, 10.77.0.1 (kernel) <-> 10.77.0.2 (us),
//!                                   #            and fd77::1 (kernel) <-> fd77::2 (us)
//! sudo tcp-echo --tap               # tap0 instead: Ethernet frames, ARP, `ip neigh`
//! nc 10.77.0.2 7                    # type a line: it comes back
//! nc -6 fd77::2 7                   # the same over IPv6
//! sudo tcp-echo --keepalive 10s     # probe clients silent for 10 s: see them in Wireshark
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::tcp::KeepAlive;
use tunstack::{TcpListener, TcpStream};
use tunstack_demos::{
    exit_server, exit_with, init_logging, parse_duration, shutdown_signal, start_on_tun, TunOptions,
};

/// A TCP echo server on tunstack: every byte a client sends comes back to it.
///
/// Creates a TUN device (TAP with --tap), gives the kernel side its addresses (IPv4 and IPv6),
/// and serves every connection, over either version, concurrently until Ctrl-C (or until the
/// device is deleted: then it says so and fails). Needs CAP_NET_ADMIN (run it with sudo).
/// Answers ping (and ping -6) too.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Try: nc 10.77.0.2 7   (type a line; it comes back)\n     \
                  nc -6 fd77::2 7   (the same over IPv6)"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The TCP port to serve (7 is the echo service, RFC 862).
    #[arg(long, default_value_t = 7)]
    port: u16,

    /// Ask a client that stays silent this long whether it is still there: a keep-alive probe,
    /// again every interval, and the connection ends after 3 unanswered (e.g. 10s; off by
    /// default, as RFC 1122 says). See them in the capture as "TCP Keep-Alive".
    #[arg(long, value_name = "INTERVAL", value_parser = parse_duration)]
    keepalive: Option<Duration>,
}

/// Echoes one connection until the client closes it, then closes our side.
async fn serve(mut conn: TcpStream) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            break; // the client's FIN: it has no more to say
        }
        conn.write_all(&buf[..n]).await?;
        total += n as u64;
    }
    conn.shutdown().await?;
    Ok(total)
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    let net = start_on_tun("tcp-echo", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let listener = TcpListener::bind(&net.stack, (net.any_addr(), args.port))
        .await
        .unwrap_or_else(|err| exit_with(&format!("tcp-echo: listen on port {}: {err}", args.port)));
    // Listening for Ctrl-C from before "ready" on, with one listener kept across the loop: one
    // made anew in each turn would miss a Ctrl-C that comes while the loop body runs.
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let port = args.port;
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("tcp-echo: {err}"));
    }
    println!(
        "tcp-echo ready: {} {}",
        net.our_endpoints(port),
        net.on_device()
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    match net.stack.addr6() {
        Some(addr6) => println!(
            "try: nc {} {port}   or   nc -6 {addr6} {port}",
            args.tun.addr
        ),
        None => println!("try: nc {} {port}", args.tun.addr),
    }

    let mut failure = None;
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            // The device was deleted (or the stack failed): every socket now fails; say why.
            err = net.stack.stopped() => {
                failure = Some(err);
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((conn, client)) => {
                    tracing::info!("connection from {client}");
                    let keepalive = args.keepalive.map(|every| KeepAlive {
                        idle: every,
                        interval: every,
                        probes: 3,
                    });
                    if let Err(err) = conn.set_keepalive(keepalive) {
                        tracing::warn!("{client}: keep-alive: {err}");
                    }
                    tokio::spawn(async move {
                        match serve(conn).await {
                            Ok(n) => tracing::info!("{client}: closed after {n} bytes"),
                            Err(err) => tracing::info!("{client}: {err}"),
                        }
                    });
                }
                Err(err) => tracing::warn!("accept failed: {err}"),
            },
        }
    }
    exit_server("tcp-echo", &net, failure, "stopped")
}
