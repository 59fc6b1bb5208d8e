//! udp-echo: the course's UDP server, on our own stack.
//!
//! Every datagram goes back to its sender unchanged. There is no `accept` and no connection:
//! each `recv_from` may bring a datagram from a different sender, and the reply names it.
//!
//! ```text
//! sudo udp-echo                     # creates tun0, 10.77.0.1 (kernel) <-> 10.77.0.2 (us)
//! sudo udp-echo --tap               # tap0 instead: Ethernet frames, ARP, `ip neigh`
//! ping 10.77.0.2                    # answered by our ICMP
//! echo hello | nc -u -w1 10.77.0.2 7
//! ```

use std::net::Ipv4Addr;
use std::process::ExitCode;

use clap::Parser;
use tunstack::UdpSocket;
use tunstack_demos::{
    exit_server, exit_with, init_logging, shutdown_signal, start_on_tun, TunOptions,
};

/// A UDP echo server on tunstack: every datagram comes back to its sender unchanged.
///
/// Creates a TUN device (TAP with --tap), gives the kernel side its address, and serves until
/// Ctrl-C (or until the device is deleted: then it says so and fails). Needs CAP_NET_ADMIN (run it
/// with sudo). Answers ping too.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Try: ping 10.77.0.2, then: echo hello | nc -u -w1 10.77.0.2 7"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The UDP port to serve (7 is the echo service, RFC 862).
    #[arg(long, default_value_t = 7)]
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    let net = start_on_tun("udp-echo", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let socket = UdpSocket::bind(&net.stack, (Ipv4Addr::UNSPECIFIED, args.port))
        .await
        .unwrap_or_else(|err| exit_with(&format!("udp-echo: bind to port {}: {err}", args.port)));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let addr = args.tun.addr;
    println!("udp-echo ready: {addr}:{} {}", args.port, net.on_device());
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    println!(
        "try: ping {addr}   or   echo hello | nc -u -w1 {addr} {}",
        args.port
    );

    let mut buf = vec![0u8; 65536];
    let mut failure = None;
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            err = net.stack.stopped() => {
                failure = Some(err);
                break;
            }
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, sender)) => {
                    tracing::info!("{n} bytes from {sender}, echoing");
                    if let Err(err) = socket.send_to(&buf[..n], sender).await {
                        tracing::warn!("reply to {sender} failed: {err}");
                    }
                }
                Err(err) => tracing::warn!("receive failed: {err}"),
            },
        }
    }
    exit_server("udp-echo", &net, failure, "stopped")
}
