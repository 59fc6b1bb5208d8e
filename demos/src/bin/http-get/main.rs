//! http-get: the course's "what happens when you type a URL", on our own stack.
//!
//! It fetches one `http://` or `https://` URL from a server on the kernel's side of the TUN
//! device, and prints the journey as a timeline, one row per step: when the URL names a host,
//! DNS turns the name into an address first (our stub resolver, `--dns`, by default the kernel
//! side's port 53), `connect` is the three-way handshake, for https the TLS handshake follows
//! (TLS 1.3: one more round trip), then the request, the response's first byte and the rest of
//! the body. HTTP/1.1 is written by hand ([`h1`]), so that every step is a few lines
//! here rather than inside a library, over TCP or over TLS alike; with `--http2` (https only)
//! the request goes through hyper's HTTP/2 client ([`h2`]).
//!
//! ```text
//!  http-get (10.77.0.2:ephemeral)                         server (10.77.0.1:8443)
//!        │ ── SYN ─────────────────────────────────────────────► │ ┐ TCP handshake
//!        │ ◄──────────────────────────────────────── SYN-ACK ── │ ┘ (one RTT)
//!        │ ── ACK, ClientHello ────────────────────────────────► │ ┐ TLS handshake
//!        │ ◄──────── ServerHello, {Certificate ... Finished} ── │ ┘ (one more RTT, https only)
//!        │ ── {Finished}, "GET /hello.txt HTTP/1.1 ..." ───────► │ ┐ request → first byte
//!        │ ◄──────────────────── "HTTP/1.1 200 OK ..." (head) ── │ ┘ (one more RTT + work)
//!        │ ◄──────────────────────────────────── body ... FIN ── │   rest of the body
//! ```
//!
//! ```text
//! mkdir -p /tmp/site && echo hello > /tmp/site/hello.txt
//! python3 -m http.server 8000 --bind :: --directory /tmp/site &   # kernel side, IPv4 and IPv6
//! sudo http-get http://10.77.0.1:8000/hello.txt
//! sudo http-get 'http://[fd77::1]:8000/hello.txt'                  # over IPv6
//! sudo http-get --insecure https://10.77.0.1:8443/hello.txt        # a TLS server there
//! sudo http-get --ca cert.pem --http2 https://10.77.0.1:8443/      # checked, over HTTP/2
//! ```
//!
//! `--http2` over plain http:// is refused: HTTP/2 without TLS (h2c) has no ALPN to agree on
//! it, and browsers never speak it; the demo keeps HTTP/2 where it is met in practice.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsConnector;
use tunstack::{Stack, TcpStream};
use tunstack_demos::dns::resolver::parse_server;
use tunstack_demos::http::timeline::{Step, Timeline};
use tunstack_demos::http::url::HttpUrl;
use tunstack_demos::tls::describe;
use tunstack_demos::{
    exit_with, finish_client, init_logging, millis, parse_duration, shutdown_signal, start_on_tun,
    TunOptions,
};

mod dns;
mod h1;
mod h2;
mod tls;

/// An HTTP client on tunstack: the course's "what happens when you type a URL".
///
/// Creates a TUN device (TAP with --tap; the kernel side gets --peer and --peer6, our stack
/// --addr and --addr6), connects to the URL's address, IPv4 or IPv6 (the handshake), for
/// https:// shakes hands with TLS, sends a GET request, and prints the status line, the
/// headers, the body (up to --max-body bytes), the journey as a timeline (each step's time
/// and round trips) and the ephemeral port. Needs CAP_NET_ADMIN (run it with sudo).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "The server must already listen on the kernel side, on :: or 0.0.0.0 (the TUN \
                  device and its addresses only appear when http-get starts), e.g. Python's, \
                  serving the files of a folder over IPv4 and IPv6:\n  \
                  mkdir -p /tmp/site && echo hello > /tmp/site/hello.txt\n  \
                  python3 -m http.server 8000 --bind :: --directory /tmp/site\n\
                  Then, in another shell: sudo http-get http://10.77.0.1:8000/hello.txt\n\
                  Over IPv6: sudo http-get 'http://[fd77::1]:8000/hello.txt'\n\
                  Over TLS, from a server with a self-signed certificate: sudo http-get \
                  --insecure https://10.77.0.1:8443/ (or --ca its-cert.pem; add --http2 for \
                  HTTP/2)"
)]
pub struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The URL to fetch, http://HOST:PORT/PATH or https://HOST:PORT/PATH (port and path may
    /// be left out: 80 or 443, /), HOST a name (`https://www.course.test/`, looked up with
    /// DNS, see --dns) or an address: IPv4, or IPv6 in brackets (`http://[fd77::1]:8000/`).
    #[arg(default_value = "http://10.77.0.1:8000/", value_name = "URL")]
    url: HttpUrl,

    /// The name server that turns the URL's host name into an address (the journey's first
    /// step), as /etc/resolv.conf names one: an address, with a port if not 53 (`10.77.0.1`,
    /// `[fd77::1]:5353`); the kernel side's IPv4 address by default.
    #[arg(long, value_name = "ADDR", value_parser = parse_server)]
    dns: Option<SocketAddr>,

    /// How long to wait for the handshake, and then for each piece of the response: seconds
    /// (5, 0.5, 2s) or milliseconds (200ms).
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    timeout: Duration,

    /// Print at most this many bytes of the body (all of it is read and counted).
    #[arg(long, default_value_t = 4096, value_name = "BYTES")]
    max_body: usize,

    /// For https: accept any certificate (curl's -k). The connection is still encrypted, and
    /// the server still proves it holds the certificate's key, but nothing checks who it is.
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,

    /// For https: trust certificates issued by the ones in FILE (PEM), e.g. a self-signed
    /// server's own certificate. The URL's address must be among the certificate's names.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,

    /// For https: offer HTTP/2 (ALPN h2, then http/1.1) and, if the server picks it, send the
    /// request with hyper's HTTP/2 client. Not for http:// (no h2c here).
    #[arg(long)]
    http2: bool,

    /// For https: write the TLS secrets to FILE (NSS key log format) for Wireshark.
    #[arg(long, value_name = "FILE")]
    keylog: Option<PathBuf>,
}

/// The body as it arrives: the first `max` bytes kept to print, all of them counted.
pub struct Body {
    shown: Vec<u8>,
    max: usize,
    len: u64,
}

impl Body {
    fn new(max: usize) -> Body {
        Body {
            shown: Vec::new(),
            max,
            len: 0,
        }
    }

    fn take(&mut self, data: &[u8]) {
        let room = self.max.saturating_sub(self.shown.len());
        self.shown.extend_from_slice(&data[..room.min(data.len())]);
        self.len += data.len() as u64;
    }
}

/// What one request and its response came to; times are from the start of the journey.
pub struct Exchange {
    status: u16,
    /// When the request had been written.
    sent: Duration,
    /// When the response's first byte (HTTP/2: its head) arrived.
    first_byte: Duration,
    /// The connection's SRTT then.
    srtt_at_first_byte: Option<Duration>,
    /// When the body's last byte arrived.
    total: Duration,
    /// The connection's SRTT then.
    srtt_at_end: Option<Duration>,
    body: Body,
    /// How the body's end was found.
    framing: &'static str,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    if let Err(why) = tls::check_tls_options(&args) {
        Args::command()
            .error(clap::error::ErrorKind::ArgumentConflict, why)
            .exit();
    }
    let connector = tls::tls_connector(&args).unwrap_or_else(|err| exit_with(&err));
    let dns = args
        .dns
        .unwrap_or_else(|| SocketAddr::new(args.tun.peer.address().into(), 53));
    let reachable = match args.url.addr() {
        Some(addr) => args.tun.check_reachable("the URL's host", addr.ip()),
        None => args.tun.check_reachable("--dns", dns.ip()),
    };
    reachable.unwrap_or_else(|err| exit_with(&format!("http-get: {err}")));
    let net = start_on_tun("http-get", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let shutdown = shutdown_signal();
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("http-get: {err}"));
    }
    println!(
        "http-get ready: {} {}, fetching {}",
        net.our_addrs(),
        net.on_device(),
        args.url
    );
    let scheme = args.url.scheme.name();
    println!(
        "try: http-get {scheme}://{}/SOME/FILE; a server must listen on port {} on the kernel \
         side before http-get starts, e.g. python3 -m http.server {} --bind :: (see --help)",
        args.url.authority(),
        args.url.port,
        args.url.port
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }

    finish_client(
        "http-get",
        &net,
        shutdown,
        run(&net.stack, &args, dns, connector),
    )
    .await
}

/// The connection's smoothed RTT now, as TCP measured it.
pub fn srtt(stack: &Stack, local: std::net::SocketAddr) -> Option<Duration> {
    stack
        .tcp_connections()
        .into_iter()
        .find(|c| c.quad.local == local)
        .and_then(|c| c.srtt)
}

/// Fetches the URL and prints what happened. The error is one line, for the user.
async fn run(
    stack: &Stack,
    args: &Args,
    dns: SocketAddr,
    connector: Option<TlsConnector>,
) -> io::Result<()> {
    let started = Instant::now();
    let mut timeline = Timeline::new();
    let (to, lookup) = dns::resolve(stack, args, dns).await?;
    let tcp_began = started.elapsed();
    let stream = connect(stack, args, to).await?;
    let connected = started.elapsed();
    let handshake = connected - tcp_began;
    let local = stream.info()?.quad.local;
    let shown = stream.local_addr()?;
    let port = shown.port();
    println!(
        "Connected to {to} from {shown} (handshake {:.2} ms)",
        millis(handshake)
    );
    // The lookup's round trips are counted in the connection's RTT: the name server is on the
    // same path here, and no RTT is known before the handshake.
    if let Some(lookup) = lookup {
        timeline.push(Step::new(
            "DNS lookup (query → answer)",
            lookup.took,
            srtt(stack, local),
            format!("{} → {}, {}", args.url.host, to.ip(), lookup.how()),
        ));
    }
    timeline.push(Step::new(
        "TCP handshake (SYN, SYN-ACK, ACK)",
        handshake,
        srtt(stack, local),
        format!("{shown} → {to}"),
    ));

    let srtt_now = || srtt(stack, local);
    let (exchange, handshake_end) = match connector {
        None => {
            let mut stream = stream;
            let exchange = h1::fetch(&mut stream, args, started, &srtt_now).await?;
            (exchange, connected)
        }
        Some(connector) => {
            let stream = tls::shake_hands(stack, args, connector, stream, &mut timeline).await?;
            let handshake_end = started.elapsed();
            let h2 = describe(stream.get_ref().1).is_h2();
            let exchange = match h2 {
                true => h2::fetch(stream, args, started, &srtt_now).await?,
                false => {
                    let mut stream = stream;
                    h1::fetch(&mut stream, args, started, &srtt_now).await?
                }
            };
            (exchange, handshake_end)
        }
    };
    report(exchange, args, handshake, handshake_end, timeline);
    println!("My ephemeral port was: {port}");
    Ok(())
}

/// Prints the response's body, the course's three times, and the timeline with the steps
/// after the handshakes (which ended `handshake_end` into the journey).
fn report(
    exchange: Exchange,
    args: &Args,
    connected: Duration,
    handshake_end: Duration,
    mut timeline: Timeline,
) {
    print_body(&exchange.body, args.max_body);
    println!("Body: {} bytes ({})", exchange.body.len, exchange.framing);
    let Exchange {
        sent,
        first_byte,
        srtt_at_first_byte,
        total,
        srtt_at_end,
        ..
    } = exchange;
    println!(
        "Time to connect (the handshake): {:.2} ms",
        millis(connected)
    );
    println!(
        "Time to first byte: {:.2} ms ({:.2} ms after the request went out)",
        millis(first_byte),
        millis(first_byte.saturating_sub(sent))
    );
    println!("Total time: {:.2} ms", millis(total));
    timeline.push(Step::new(
        "request → first byte",
        first_byte.saturating_sub(handshake_end),
        srtt_at_first_byte,
        format!("status {}", exchange.status),
    ));
    timeline.push(Step::new(
        "rest of the body",
        total.saturating_sub(first_byte),
        srtt_at_end,
        format!("{} bytes", exchange.body.len),
    ));
    timeline.push(Step::new("total", total, srtt_at_end, ""));
    timeline.set_srtt(srtt_at_end.or(srtt_at_first_byte));
    for line in timeline.render() {
        println!("{line}");
    }
}

/// The handshake, with the errors a learner meets explained.
async fn connect(stack: &Stack, args: &Args, to: SocketAddr) -> io::Result<TcpStream> {
    match timeout(args.timeout, TcpStream::connect(stack, to)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) if err.kind() == io::ErrorKind::ConnectionRefused => Err(io::Error::new(
            err.kind(),
            format!(
                "{to} refused the connection (it answered our SYN with a reset): nothing \
                 listens on port {} there; start the server first (see --help)",
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
                "no answer from {to} within {:.2} s: no SYN-ACK came back (is the address \
                 right? does a firewall drop the SYN?)",
                args.timeout.as_secs_f64()
            ),
        )),
    }
}

/// The body as text (what is not UTF-8 shows as �), then what was left out.
fn print_body(body: &Body, max: usize) {
    let text = String::from_utf8_lossy(&body.shown);
    print!("{text}");
    if !text.is_empty() && !text.ends_with('\n') {
        println!();
    }
    let hidden = body.len - body.shown.len() as u64;
    if hidden > 0 {
        println!("[... {hidden} more bytes not shown; --max-body {max} limits the output]");
    }
}

/// A response that is not HTTP, as an error.
pub fn bad_data(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("not HTTP: {why}"))
}
