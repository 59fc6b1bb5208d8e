//! tcp-client: the course's client.py, on our own stack.
//!
//! It connects to a TCP server on the kernel's side of the TUN device, sends one message, prints
//! the reply and the ephemeral port the stack picked for it. `connect` is where the three-way
//! handshake happens, as in the course: our SYN, the server's SYN-ACK, our ACK; the capture
//! (`--capture`) shows the three segments, then the data, then a FIN each way.
//!
//! ```text
//!  tcp-client (10.77.0.2:49152-65535)          server (10.77.0.1:9000)
//!        │ ── SYN ──────────────────────────────────► │   connect()
//!        │ ◄────────────────────────────── SYN-ACK ── │
//!        │ ── ACK ──────────────────────────────────► │
//!        │ ── "Hello, network!" ────────────────────► │   sendall()
//!        │ ◄──────────────────── "Hello, network!" ── │   recv(1024)
//!        │ ── FIN ──► ... ◄── FIN ──                  │   close
//! ```
//!
//! Like the course's client it reads once, up to 1024 bytes: TCP keeps no message boundaries,
//! so a longer reply may take several reads (the client then says how much more came before the
//! server closed).
//!
//! Over IPv6 it is the same with another address: `--to '[fd77::1]:9000'` (brackets around
//! the address, so that its colons are not taken for the port's).
//!
//! ```text
//! # the course's server.py on the kernel side, echoing every connection (port 9000), on ::
//! # so that it takes IPv4 and IPv6 clients:
//! python3 -c "import socket; s = socket.create_server(('::', 9000), family=socket.AF_INET6, dualstack_ipv6=True)
//! while True:
//!     c, a = s.accept()
//!     while d := c.recv(1024): c.sendall(d)
//!     c.close()" &
//! sudo tcp-client --message 'Hello, network!'
//! sudo tcp-client --to '[fd77::1]:9000'
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tunstack::{Stack, TcpStream};
use tunstack_demos::{
    exit_with, finish_client, init_logging, millis, parse_duration, shutdown_signal, start_on_tun,
    TunOptions,
};

/// A TCP client on tunstack: the course's client.py.
///
/// Creates a TUN device (TAP with --tap; the kernel side gets --peer and --peer6, our stack
/// --addr and --addr6), connects to --to (IPv4 or IPv6) from a random ephemeral port (the
/// three-way handshake), sends --message, prints the server's reply ("Server said: ...") and
/// the ephemeral port, and closes. Needs CAP_NET_ADMIN (run it with sudo).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "The server must already listen on the kernel side, on :: or 0.0.0.0 (the TUN \
                  device and its addresses only appear when the client starts), e.g. the \
                  course's server.py, echoing, over IPv4 and IPv6:\n  \
                  python3 -c \"import socket; s = socket.create_server(('::', 9000), \
                  family=socket.AF_INET6, dualstack_ipv6=True)\n\
                  while True:\n    c, a = s.accept()\n    \
                  while d := c.recv(1024): c.sendall(d)\n    c.close()\"\n\
                  Then, in another shell: sudo tcp-client --message 'Hello, network!'\n\
                  Over IPv6: sudo tcp-client --to '[fd77::1]:9000'"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The server to connect to (the kernel side's IPv4 address by default), e.g.
    /// 10.77.0.1:9000, or `[fd77::1]:9000` over IPv6.
    #[arg(long, default_value = "10.77.0.1:9000", value_name = "ADDR:PORT")]
    to: SocketAddr,

    /// The message to send.
    #[arg(long, default_value = "Hello, network!", value_name = "TEXT")]
    message: String,

    /// How long to wait for the handshake, and then for the reply: seconds (5, 0.5, 2s) or
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
        .unwrap_or_else(|err| exit_with(&format!("tcp-client: {err}")));
    let net = start_on_tun("tcp-client", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let shutdown = shutdown_signal();
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("tcp-client: {err}"));
    }
    println!(
        "tcp-client ready: {} {}, connecting to {}",
        net.our_addrs(),
        net.on_device(),
        args.to
    );
    println!(
        "try: --message 'something else'; a server must listen on port {} on the kernel \
         side before the client starts (see --help)",
        args.to.port()
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }

    finish_client("tcp-client", &net, shutdown, run(&net.stack, &args)).await
}

/// Connects, sends the message, prints the reply, closes. The error is one line, for the user.
async fn run(stack: &Stack, args: &Args) -> io::Result<()> {
    let to = args.to;
    let wait = args.timeout.as_secs_f64();
    let started = Instant::now();
    let mut stream = match timeout(args.timeout, TcpStream::connect(stack, to)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) if err.kind() == io::ErrorKind::ConnectionRefused => {
            return Err(io::Error::new(
                err.kind(),
                format!(
                    "{to} refused the connection (it answered our SYN with a reset): nothing \
                     listens on port {} there; start the server first (see --help)",
                    to.port()
                ),
            ));
        }
        Ok(Err(err)) => {
            return Err(io::Error::new(
                err.kind(),
                format!("connect to {to}: {err}"),
            ))
        }
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no answer from {to} within {wait:.2} s: no SYN-ACK came back (is the \
                     address right? does a firewall drop the SYN?)"
                ),
            ));
        }
    };
    let port = stream.local_addr()?.port();
    println!(
        "Connected to {to} from {} (handshake {:.2} ms)",
        stream.local_addr()?,
        millis(started.elapsed())
    );

    stream.write_all(args.message.as_bytes()).await?;
    let mut buf = [0u8; 1024];
    let n = match timeout(args.timeout, stream.read(&mut buf)).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no reply from {to} within {wait:.2} s"),
            ));
        }
    };
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{to} closed the connection without replying"),
        ));
    }
    println!("Server said: {}", String::from_utf8_lossy(&buf[..n]));
    println!("My ephemeral port was: {port}");

    // Close as the course's `with` block does, but hear the server out first: our FIN, then
    // whatever it still sends until its FIN (a stream closed with unread data is reset).
    stream.shutdown().await?;
    let mut more = 0;
    loop {
        match timeout(args.timeout, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => more += n,
            Ok(Err(err)) => return Err(err),
        }
    }
    if more > 0 {
        println!("({more} more bytes came after the first read: TCP keeps no message boundaries)");
    }
    Ok(())
}
