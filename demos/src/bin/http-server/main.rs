//! http-server: a real HTTP/1.1 server on our own stack, telling each visitor what their
//! request went through.
//!
//! The HTTP is hyper's, unchanged: hyper serves any `AsyncRead + AsyncWrite`, and our
//! `TcpStream` is one (hyper-util's `TokioIo` adapts tokio's traits to hyper's). So the
//! course's layers are all here, and all visible: HTTP (hyper) on TCP, IPv4 or IPv6 and the TUN
//! device (tunstack), with the Linux kernel, curl or a browser on the other side. It listens on
//! `[::]`, for visitors of both IP versions, and the page shows the header theirs had.
//!
//! ```text
//! sudo http-server                   # creates tun0, 10.77.0.1 (kernel) <-> 10.77.0.2 (us),
//!                                    #            and fd77::1 (kernel) <-> fd77::2 (us)
//! sudo http-server --tap             # tap0: the page shows the Ethernet header too
//! curl http://10.77.0.2/             # your request's journey: 5-tuple, headers, RTT, cwnd
//! curl -6 'http://[fd77::2]/'        # the same over IPv6: the page shows the IPv6 header
//! curl http://10.77.0.2/stats        # every layer's counters and every TCP connection
//! curl -o /dev/null http://10.77.0.2/bytes/100000000   # 100 MB, made as they are sent
//!
//! sudo http-server --tls --keylog /tmp/keys.log --capture /tmp/https.pcapng   # HTTPS on 443
//! curl -k --http2 https://10.77.0.2/   # TLS 1.3, ALPN h2: the page names both
//! tshark -r /tmp/https.pcapng -o tls.keylog_file:/tmp/keys.log -Y http2   # decrypted
//! ```
//!
//! With `--tls` it speaks HTTPS: TLS 1.3 (rustls, through tokio-rustls, on our `TcpStream`)
//! with a self-signed certificate made at start for `www.course.test`, `localhost` and our
//! addresses (or `--cert`/`--key` PEM files), and ALPN: HTTP/2 (hyper's) when the client
//! offers `h2`, HTTP/1.1 otherwise. Without `--tls` it is HTTP/1.1 only. `--keylog FILE` writes
//! the session secrets for Wireshark: Edit → Preferences → Protocols → TLS →
//! "(Pre)-Master-Secret log filename", or tshark's `-o tls.keylog_file:FILE`.
//!
//! Every connection is served by its own task, and HTTP/1.1 keeps it open between requests
//! (keep-alive): a browser's second request comes on the same 5-tuple, and the page says so.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_rustls::TlsAcceptor;
use tunstack::{Stack, TcpListener, TcpStream};
use tunstack_demos::http::journey::{self, secure, Visit};
use tunstack_demos::http::link::{Link, Networks};
use tunstack_demos::http::pattern::{PatternBody, MAX_LEN};
use tunstack_demos::http::stats_page;
use tunstack_demos::http::tap::{Tap, TappedStream};
use tunstack_demos::tls::{describe, Negotiated};
use tunstack_demos::{
    exit_server, exit_with, init_logging, shutdown_signal, start_on_tun, TunOptions,
};

/// How long a client may take to send a request's head (and how long an idle kept-alive
/// connection stays open) before the server closes the connection.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP/1.1 server on tunstack: hyper, on our TCP.
///
/// Creates a TUN device (TAP with --tap), gives the kernel side its addresses (IPv4 and IPv6),
/// and serves clients of both versions until Ctrl-C, each connection in its own task, kept
/// alive between requests. Pages: / (what your request went through: the 5-tuple, each layer's
/// header, IPv4 or IPv6, the connection's RTT estimate,
/// congestion window and retransmissions), /stats and /stats.json (every layer's counters, every
/// TCP connection), /bytes/N (N bytes, up to 1 GiB, made as they are sent). Needs CAP_NET_ADMIN
/// (run it with sudo). Answers ping too. With --tls: HTTPS (TLS 1.3; HTTP/2 or HTTP/1.1 by ALPN),
/// on port 443.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Try: curl http://10.77.0.2/   (or open it in a browser on this machine)\n     \
                  curl -6 'http://[fd77::2]/'   (over IPv6: the page shows the IPv6 header)\n     \
                  curl http://10.77.0.2/stats.json\n     \
                  curl -o /dev/null http://10.77.0.2/bytes/100000000\n     \
                  wrk -c32 -d3s http://10.77.0.2/bytes/1000   (load, over kept-alive connections)\n\
                  With --tls: curl -k --http2 https://10.77.0.2/   (-k: the certificate is \
                  self-signed)\n     \
                  With --keylog FILE, Wireshark decrypts a capture: Edit > Preferences > \
                  Protocols > TLS > (Pre)-Master-Secret log filename; tshark: -o \
                  tls.keylog_file:FILE"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The TCP port to serve: by default 80 (HTTP's), or 443 with --tls (HTTPS's).
    #[arg(long)]
    port: Option<u16>,

    /// Serve HTTPS: TLS 1.3 (or 1.2) with a certificate made now for www.course.test,
    /// localhost and our addresses (self-signed: `curl -k`), or --cert and --key; ALPN picks
    /// HTTP/2 (h2) or HTTP/1.1.
    #[arg(long)]
    tls: bool,

    /// The certificate chain to serve with --tls, a PEM file (with --key).
    #[arg(long, value_name = "FILE", requires_all = ["tls", "key"])]
    cert: Option<PathBuf>,

    /// The certificate's private key, a PEM file (with --cert).
    #[arg(long, value_name = "FILE", requires_all = ["tls", "cert"])]
    key: Option<PathBuf>,

    /// With --tls, write every connection's TLS secrets to FILE (NSS key log format), so that
    /// Wireshark decrypts a capture: Edit > Preferences > Protocols > TLS > (Pre)-Master-Secret
    /// log filename; tshark: -o tls.keylog_file:FILE.
    #[arg(long, value_name = "FILE", requires = "tls")]
    keylog: Option<PathBuf>,

    /// Leave Nagle's algorithm on (the stack's default). The server turns it off, as most HTTP
    /// servers do: with it on, a response written in several small pieces sends each piece
    /// only after the ACK of the one before, which Linux may delay by up to 40 ms (delayed
    /// ACK). The stack's Nagle is Minshall's (as Linux's): full segments never hold back the
    /// tail of an answer, so with hyper's whole-response writes the difference is small.
    #[arg(long)]
    nagle: bool,
}

mod tls;

/// The response body: a page made in memory, or the pattern of /bytes/N, made as it is sent.
pub type Body = Either<Full<Bytes>, PatternBody>;

/// What every connection's handler shares.
#[derive(Debug, Clone)]
struct Site {
    stack: Stack,
    device: Arc<str>,
    /// Our networks, and the gateways on TAP: a visitor off them came through a gateway, whose
    /// MAC address its frames then carry.
    networks: Networks,
    requests: Arc<AtomicU64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    let net = start_on_tun("http-server", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let port = args.port.unwrap_or(if args.tls { 443 } else { 80 });
    let (tls, certificate) = match args.tls {
        true => tls::tls_acceptor(&args, &net.stack)
            .map(|(acceptor, about)| (Some(acceptor), Some(about)))
            .unwrap_or_else(|err| exit_with(&format!("http-server: {err}"))),
        false => (None, None),
    };
    let listener = TcpListener::bind(&net.stack, (net.any_addr(), port))
        .await
        .unwrap_or_else(|err| exit_with(&format!("http-server: listen on port {port}: {err}")));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    // On TAP our IPv6 addresses are usable once duplicate address detection passes (1 s).
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("http-server: {err}"));
    }
    print_ready(&args, &net, port);
    if let Some(certificate) = certificate {
        println!("{certificate}");
    }

    let site = Site {
        stack: net.stack.clone(),
        device: net.device.as_str().into(),
        networks: Networks {
            v4: net.peer,
            v6: net.peer6,
            gateway: args.tun.tap.then(|| net.peer.address()),
            gateway6: net.peer6.filter(|_| args.tun.tap).map(|p| p.address()),
        },
        requests: Arc::new(AtomicU64::new(0)),
    };
    let mut http = http1::Builder::new();
    // Half-close: a client may send its request and its FIN at once (`printf ... | nc -N`);
    // hyper then still answers, rather than taking the FIN for the end of everything.
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        .half_close(true);
    let mut connections = 0u64;
    let mut failure = None;
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            err = net.stack.stopped() => {
                failure = Some(err);
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((conn, client)) => {
                    connections += 1;
                    tracing::info!("connection from {client}");
                    if let Err(err) = conn.set_nodelay(!args.nagle) {
                        tracing::info!("{client}: {err}");
                    }
                    tokio::spawn(serve(conn, client, site.clone(), http.clone(), tls.clone()));
                }
                Err(err) => tracing::warn!("accept failed: {err}"),
            },
        }
    }
    let requests = site.requests.load(Ordering::Relaxed);
    let summary = format!("stopped after {connections} connections, {requests} requests");
    exit_server("http-server", &net, failure, &summary)
}

/// The ready line and the `try:` hint: the URLs to visit, over IPv4 and IPv6, http:// or
/// https:// (with curl's `-k`: our certificate is signed by nobody curl trusts).
fn print_ready(args: &Args, net: &tunstack_demos::TunStack, port: u16) {
    let (scheme, default_port, curl) = match args.tls {
        true => ("https", 443, "curl -k"),
        false => ("http", 80, "curl"),
    };
    let url = |host: String| match port {
        p if p == default_port => format!("{scheme}://{host}/"),
        port => format!("{scheme}://{host}:{port}/"),
    };
    let serving = match (args.tls, net.stack.addr6()) {
        (false, _) => net.our_endpoints(port),
        (true, Some(addr6)) => format!(
            "{} and {}",
            url(net.stack.addr().to_string()),
            url(format!("[{addr6}]"))
        ),
        (true, None) => url(net.stack.addr().to_string()),
    };
    println!("http-server ready: {serving} {}", net.on_device());
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    match net.stack.addr6() {
        Some(addr6) => println!(
            "try: {curl} {}   or   {curl} -6 '{}'",
            url(args.tun.addr.to_string()),
            url(format!("[{addr6}]"))
        ),
        None => println!("try: {curl} {}", url(args.tun.addr.to_string())),
    }
}

/// Serves one connection, request after request, until the client closes it (or sends nothing
/// for [`HEADER_READ_TIMEOUT`]). With TLS, the handshake comes first, and ALPN's choice says
/// whether HTTP/2 or HTTP/1.1 follows.
async fn serve(
    conn: TcpStream,
    client: SocketAddr,
    site: Site,
    http: http1::Builder,
    tls: Option<TlsAcceptor>,
) {
    let (io, tap) = match TappedStream::new(conn) {
        Ok(tapped) => tapped,
        Err(err) => return tracing::info!("{client}: {err}"),
    };
    let served = match tls {
        None => {
            let service = site.service(tap, None);
            http.serve_connection(TokioIo::new(io), service).await
        }
        Some(acceptor) => {
            let handshake = tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(io)).await;
            let stream = match handshake {
                Ok(Ok(stream)) => stream,
                Ok(Err(err)) => return tracing::info!("{client}: TLS handshake: {err}"),
                Err(_) => return tracing::info!("{client}: no TLS handshake in time"),
            };
            let negotiated = describe(stream.get_ref().1);
            tracing::info!("{client}: {negotiated}");
            let h2 = negotiated.is_h2();
            let service = site.service(tap, Some(negotiated));
            tls::serve_http(stream, h2, &http, service).await
        }
    };
    match served {
        Ok(()) => tracing::info!("{client}: closed"),
        Err(err) => tracing::info!("{client}: {}", with_causes(&err)),
    }
}

/// An error and the errors that caused it, e.g. "error shutting down connection: connection
/// reset by the peer".
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(&format!(": {err}"));
        cause = err.source();
    }
    text
}

impl Site {
    /// The service for one connection: each request answered with what the tap and the TLS
    /// handshake (if any) know about the connection.
    fn service(
        self,
        tap: Arc<Tap>,
        tls: Option<Negotiated>,
    ) -> impl hyper::service::HttpService<
        Incoming,
        ResBody = Body,
        Error = Infallible,
        Future = std::future::Ready<Result<Response<Body>, Infallible>>,
    > + Clone
           + Send
           + 'static {
        hyper::service::service_fn(move |request| {
            std::future::ready(Ok(self.answer(request, &tap, tls.as_ref())))
        })
    }

    /// The response to one request.
    fn answer(
        &self,
        request: Request<Incoming>,
        tap: &Tap,
        tls: Option<&Negotiated>,
    ) -> Response<Body> {
        let arrival = tap.request_arrived();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let path = request.uri().path();
        tracing::debug!("{}: {} {path}", arrival.info.quad.remote, request.method());
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match path {
            "/" => {
                let visit = Visit {
                    arrival,
                    request_line: format!(
                        "{} {} {:?}",
                        request.method(),
                        request.uri(),
                        request.version()
                    ),
                    headers: request
                        .headers()
                        .iter()
                        .map(|(name, value)| {
                            let value = String::from_utf8_lossy(value.as_bytes());
                            (name.to_string(), value.into_owned())
                        })
                        .collect(),
                    device: self.device.to_string(),
                    link: Link::of(&self.stack, &self.networks, arrival.info.quad.remote.ip()),
                    tls: tls.cloned(),
                    http_version: secure::http_version_name(request.version()).to_string(),
                };
                page("text/html; charset=utf-8", journey::page(&visit))
            }
            "/stats" => page(
                "text/html; charset=utf-8",
                stats_page::html(&self.stack.stats(), &self.stack.tcp_connections()),
            ),
            "/stats.json" => page(
                "application/json",
                stats_page::json(&self.stack.stats(), &self.stack.tcp_connections()),
            ),
            _ => match path.strip_prefix("/bytes/").map(str::parse::<u64>) {
                Some(Ok(len)) if len <= MAX_LEN => bytes(len),
                Some(Ok(_)) => text(
                    StatusCode::BAD_REQUEST,
                    &format!("/bytes/N serves at most {MAX_LEN} bytes (1 GiB)\n"),
                ),
                _ => text(
                    StatusCode::NOT_FOUND,
                    "Not found. There is /, /stats, /stats.json and /bytes/N.\n",
                ),
            },
        }
    }
}

/// A page made for this request (never cached: it changes every time).
fn page(content_type: &'static str, body: String) -> Response<Body> {
    let len = body.len();
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(body))));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(SERVER, HeaderValue::from_static("tunstack http-server"));
    response
}

/// A short plain-text answer with `status`.
fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = page("text/plain; charset=utf-8", message.to_string());
    *response.status_mut() = status;
    response
}

/// `len` bytes of the pattern, streamed: Content-Length first, then chunk after chunk as the
/// connection takes them.
fn bytes(len: u64) -> Response<Body> {
    let mut response = Response::new(Either::Right(PatternBody::new(len)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(SERVER, HeaderValue::from_static("tunstack http-server"));
    response
}
