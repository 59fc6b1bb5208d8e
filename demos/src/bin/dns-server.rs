//! dns-server: an authoritative name server on our own stack, over UDP and TCP port 53.
//!
//! DNS is the first step of the course's "request's full journey": before `curl
//! http://www.course.test/` opens a TCP connection, the resolver asks a name server for the
//! name's address. This one is authoritative for one zone, by default `course.test`:
//!
//! ```text
//! course.test.      3600 SOA   ns.course.test. hostmaster.course.test. ...
//! course.test.      3600 NS    ns.course.test.
//! course.test.       300 TXT   "the course's zone, served by tunstack"
//! ns.course.test.     60 A     10.77.0.2        (and AAAA fd77::2 with IPv6 on)
//! www.course.test.    60 A     10.77.0.2        (and AAAA fd77::2 with IPv6 on)
//! web.course.test.    60 CNAME www.course.test.
//! big.course.test.    60 TXT   ten strings of 83 bytes: over 512 bytes, to show truncation
//! ```
//!
//! ```text
//! sudo dns-server                                  # creates tun0 (10.77.0.2 and fd77::2 are us)
//! dig @10.77.0.2 www.course.test A                 # over UDP: one answer, TTL 60, flag aa
//! dig @10.77.0.2 www.course.test A +tcp            # the same over TCP (2-byte length first)
//! dig -6 @fd77::2 www.course.test AAAA             # over IPv6
//! dig @10.77.0.2 web.course.test A                 # the CNAME, then www's address
//! dig @10.77.0.2 nope.course.test                  # NXDOMAIN, the SOA in the authority section
//! dig @10.77.0.2 example.com                       # REFUSED: not our zone
//! dig @10.77.0.2 big.course.test TXT +noedns +ignore   # TC set: 512 bytes are not enough
//! dig @10.77.0.2 big.course.test TXT +bufsize=4096     # EDNS(0) offers more: all of it
//! ```
//!
//! What it answers is decided by `tunstack_demos::dns::answer`, a pure function of the zone
//! and the query's bytes; this program only moves datagrams and framed TCP messages, and
//! prints one line per query.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tunstack::{TcpListener, TcpStream, UdpSocket};
use tunstack_demos::dns::answer::{answer, Transport};
use tunstack_demos::dns::tcp::{read_framed, write_framed};
use tunstack_demos::dns::Zone;
use tunstack_demos::{
    exit_server, exit_with, init_logging, parse_duration, shutdown_signal, start_on_tun,
    TunOptions, TunStack,
};

/// An authoritative DNS server on tunstack, over UDP and TCP.
///
/// Creates a TUN device (TAP with --tap), gives the kernel side its addresses (IPv4 and IPv6),
/// and answers queries for one zone on port 53 of our addresses until Ctrl-C, printing one line
/// per query: the client, UDP or TCP, the name and type, the response code, how many answers,
/// and whether the answer was truncated. Needs CAP_NET_ADMIN (run it with sudo).
///
/// The zone is course.test (www and ns with our addresses, web a CNAME of www, big with more
/// TXT than fits 512 bytes, and the apex's SOA, NS and TXT), or the one in --zone FILE.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Try: dig @10.77.0.2 www.course.test A   (+tcp for TCP)\n     \
                  dig -6 @fd77::2 www.course.test AAAA\n     \
                  dig @10.77.0.2 big.course.test TXT +noedns +ignore   (TC set)\n\n\
                  Zone file format (--zone): one record per line, NAME TTL TYPE VALUE, names in full;\n\
                  types A, AAAA, CNAME, NS, TXT (\"quoted strings\" or words), SOA (MNAME RNAME\n\
                  SERIAL REFRESH RETRY EXPIRE MINIMUM); `;` starts a comment. Exactly one SOA: its\n\
                  name is the zone's apex, and every other name is under it. For example:\n\
                  \n    \
                  example.test     3600 SOA ns.example.test hostmaster.example.test 1 3600 600 86400 60\n    \
                  example.test     3600 NS  ns.example.test\n    \
                  ns.example.test    60 A   10.77.0.2\n    \
                  www.example.test   60 A   10.77.0.2   ; the web server"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The port to serve, over UDP and TCP (53 is DNS's).
    #[arg(long, default_value_t = 53)]
    port: u16,

    /// Serve the zone in FILE instead of course.test (format: see below).
    #[arg(long, value_name = "FILE")]
    zone: Option<PathBuf>,

    /// How long a TCP connection may stay idle between queries before we close it (RFC 7766
    /// 6.2.3): seconds (`10`, `2.5s`) or milliseconds (`500ms`).
    #[arg(long, default_value = "10", value_parser = parse_duration)]
    tcp_idle: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    // The zone file is read before the device is made: a mistake in it costs nothing.
    let file_zone = args.zone.as_ref().map(|path| {
        std::fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|text| Zone::parse(&text))
            .unwrap_or_else(|err| exit_with(&format!("dns-server: {}: {err}", path.display())))
    });
    let net = start_on_tun("dns-server", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let zone =
        Arc::new(file_zone.unwrap_or_else(|| Zone::course(net.stack.addr(), net.stack.addr6())));
    let port = args.port;
    let bind_failed = |what: &str, err: io::Error| -> ! {
        exit_with(&format!("dns-server: {what} port {port}: {err}"))
    };
    let socket = UdpSocket::bind(&net.stack, (net.any_addr(), port))
        .await
        .unwrap_or_else(|err| bind_failed("bind to UDP", err));
    let listener = TcpListener::bind(&net.stack, (net.any_addr(), port))
        .await
        .unwrap_or_else(|err| bind_failed("listen on TCP", err));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("dns-server: {err}"));
    }
    print_banner(&net, &zone, &args);

    let mut buf = vec![0u8; 65536];
    let (mut queries, mut connections) = (0u64, 0u64);
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
                Ok((n, client)) => {
                    queries += 1;
                    if let Some(bytes) = answer_and_log(&zone, &buf[..n], client, Transport::Udp) {
                        if let Err(err) = socket.send_to(&bytes, client).await {
                            tracing::warn!("answer to {client} failed: {err}");
                        }
                    }
                }
                Err(err) => tracing::warn!("receive failed: {err}"),
            },
            accepted = listener.accept() => match accepted {
                Ok((conn, client)) => {
                    connections += 1;
                    tokio::spawn(serve_tcp(conn, client, zone.clone(), args.tcp_idle));
                }
                Err(err) => tracing::warn!("accept failed: {err}"),
            },
        }
    }
    let summary = format!("stopped after {queries} UDP queries and {connections} TCP connections");
    exit_server("dns-server", &net, failure, &summary)
}

/// The ready line, the impairments if any, and the `try:` hint with our zone's `www`.
fn print_banner(net: &TunStack, zone: &Zone, args: &Args) {
    println!(
        "dns-server ready: {} over UDP and TCP, authoritative for {} ({} records), {}",
        net.our_endpoints(args.port),
        zone.apex(),
        zone.len(),
        net.on_device()
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    let apex = zone.apex().to_string();
    let www = format!("www.{}", apex.trim_end_matches('.'));
    let port = match args.port {
        53 => String::new(),
        port => format!(" -p {port}"),
    };
    let mut hint = format!("try: dig @{}{port} {www} A", args.tun.addr);
    if let Some(addr6) = net.stack.addr6() {
        hint.push_str(&format!("   or   dig -6 @{addr6}{port} {www} AAAA"));
    }
    println!("{hint}");
}

/// Answers one query, prints its line, and returns the response's bytes (`None` for what is
/// not answered: no whole header, or a response).
fn answer_and_log(
    zone: &Zone,
    query: &[u8],
    client: SocketAddr,
    transport: Transport,
) -> Option<Vec<u8>> {
    // A client over IPv4 on our `[::]` socket shows as ::ffff:a.b.c.d; print it as IPv4.
    let client = SocketAddr::new(client.ip().to_canonical(), client.port());
    match answer(zone, query, transport) {
        Some(answered) => {
            println!("query: {client} {transport} {}", answered.summary());
            Some(answered.bytes)
        }
        None => {
            println!(
                "query: {client} {transport} {} bytes, not a query: dropped",
                query.len()
            );
            None
        }
    }
}

/// Serves one TCP connection: queries, each with its 2-byte length, answered in order, until
/// the client closes or stays idle for `idle` (RFC 7766 6.2.3).
async fn serve_tcp(mut conn: TcpStream, client: SocketAddr, zone: Arc<Zone>, idle: Duration) {
    let shown = SocketAddr::new(client.ip().to_canonical(), client.port());
    let mut served = 0u64;
    let why = loop {
        let query = match tokio::time::timeout(idle, read_framed(&mut conn)).await {
            Err(_) => break format!("idle for {} s, closing", idle.as_secs_f64()),
            Ok(Ok(None)) => break "closed by the client".to_string(),
            Ok(Err(err)) => break format!("{err}"),
            Ok(Ok(Some(query))) => query,
        };
        served += 1;
        let Some(bytes) = answer_and_log(&zone, &query, client, Transport::Tcp) else {
            // Nothing to answer: RFC 7766 gives no way to say so on this connection.
            break "a message that is not a query, closing".to_string();
        };
        if let Err(err) = write_framed(&mut conn, &bytes).await {
            break format!("{err}");
        }
    };
    tracing::info!("TCP connection from {shown}: {served} queries, {why}");
    if let Err(err) = tokio::io::AsyncWriteExt::shutdown(&mut conn).await {
        tracing::debug!("TCP connection from {shown}: {err}");
    }
}
