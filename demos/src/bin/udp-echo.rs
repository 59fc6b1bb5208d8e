//! udp-echo: the course's UDP server, on our own stack.
//!
//! Every datagram goes back to its sender unchanged. There is no `accept` and no connection:
//! each `recv_from` may bring a datagram from a different sender, and the reply names it.
//!
//! The socket is bound to `[::]`: datagrams of both IP versions come to it, and each reply
//! goes back over the version its datagram came by.
//!
//! ```text
//! sudo udp-echo                     # creates tun0, 10.77.0.1 (kernel) <-> 10.77.0.2 (us),
//!                                   #            and fd77::1 (kernel) <-> fd77::2 (us)
//! sudo udp-echo --tap               # tap0 instead: Ethernet frames, ARP, `ip neigh`
//! ping 10.77.0.2                    # answered by our ICMP
//! ping -6 fd77::2                   # answered by our ICMPv6
//! echo hello | nc -u -w1 10.77.0.2 7
//! echo hello | nc -6 -u -w1 fd77::2 7
//! ```

use std::process::ExitCode;

use clap::Parser;
use tunstack::UdpSocket;
use tunstack_demos::{
    exit_server, exit_with, init_logging, shutdown_signal, start_on_tun, TunOptions,
};

/// A UDP echo server on tunstack: every datagram comes back to its sender unchanged.
///
/// Creates a TUN device (TAP with --tap), gives the kernel side its addresses (IPv4 and IPv6),
/// and serves datagrams of either version until Ctrl-C (or until the device is deleted: then it
/// says so and fails). Needs CAP_NET_ADMIN (run it with sudo). Answers ping (and ping -6) too.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Try: ping 10.77.0.2, then: echo hello | nc -u -w1 10.77.0.2 7\n     \
                  ping -6 fd77::2, then: echo hello | nc -6 -u -w1 fd77::2 7"
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
    let socket = UdpSocket::bind(&net.stack, (net.any_addr(), args.port))
        .await
        .unwrap_or_else(|err| exit_with(&format!("udp-echo: bind to port {}: {err}", args.port)));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let (addr, port) = (args.tun.addr, args.port);
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("udp-echo: {err}"));
    }
    println!(
        "udp-echo ready: {} {}",
        net.our_endpoints(port),
        net.on_device()
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    let mut hint = format!("try: ping {addr}   or   echo hello | nc -u -w1 {addr} {port}");
    if let Some(addr6) = net.stack.addr6() {
        hint.push_str(&format!("   or   ping -6 {addr6}"));
    }
    println!("{hint}");

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
