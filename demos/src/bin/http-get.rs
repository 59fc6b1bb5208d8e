//! http-get: the course's "what happens when you type a URL", on our own stack.
//!
//! It fetches one `http://` URL from a server on the kernel's side of the TUN device, with
//! HTTP/1.1 written by hand, so that every step is a few lines here rather than inside a
//! library: the URL names an address (no DNS in this demo), `connect` is the three-way
//! handshake, the request is a few lines of text, and the response is read until its body
//! ends (`Content-Length`, chunked, or the server closing). It prints the response and how
//! long each step took.
//!
//! ```text
//!  http-get (10.77.0.2:ephemeral)                         server (10.77.0.1:8000)
//!        │ ── SYN ─────────────────────────────────────────────► │ ┐ time to connect
//!        │ ◄──────────────────────────────────────── SYN-ACK ── │ ┘ (one RTT)
//!        │ ── ACK, "GET /hello.txt HTTP/1.1 ..." ──────────────► │ ┐ time to first byte
//!        │ ◄──────────────────── "HTTP/1.0 200 OK ..." (head) ── │ ┘ (one more RTT + work)
//!        │ ◄──────────────────────────────────── body ... FIN ── │   total
//! ```
//!
//! ```text
//! mkdir -p /tmp/site && echo hello > /tmp/site/hello.txt
//! python3 -m http.server 8000 --bind :: --directory /tmp/site &   # kernel side, IPv4 and IPv6
//! sudo http-get http://10.77.0.1:8000/hello.txt
//! sudo http-get 'http://[fd77::1]:8000/hello.txt'                  # over IPv6
//! ```

use std::io;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tunstack::{Stack, TcpStream};
use tunstack_demos::http::response::{head_end, ChunkedDecoder, Framing, ResponseHead, MAX_HEAD};
use tunstack_demos::http::url::HttpUrl;
use tunstack_demos::{
    exit_with, finish_client, init_logging, millis, parse_duration, shutdown_signal, start_on_tun,
    TunOptions,
};

/// An HTTP client on tunstack: the course's "what happens when you type a URL".
///
/// Creates a TUN device (TAP with --tap; the kernel side gets --peer and --peer6, our stack
/// --addr and --addr6), connects to the URL's address, IPv4 or IPv6 (the handshake), sends a GET request written by hand, and prints the status
/// line, the headers, the body (up to --max-body bytes), the time to connect, to the first byte of
/// the response and in total, and the ephemeral port. Needs CAP_NET_ADMIN (run it with sudo).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "The server must already listen on the kernel side, on :: or 0.0.0.0 (the TUN \
                  device and its addresses only appear when http-get starts), e.g. Python's, \
                  serving the files of a folder over IPv4 and IPv6:\n  \
                  mkdir -p /tmp/site && echo hello > /tmp/site/hello.txt\n  \
                  python3 -m http.server 8000 --bind :: --directory /tmp/site\n\
                  Then, in another shell: sudo http-get http://10.77.0.1:8000/hello.txt\n\
                  Over IPv6: sudo http-get 'http://[fd77::1]:8000/hello.txt'"
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The URL to fetch, http://HOST:PORT/PATH (port and path may be left out), HOST a numeric
    /// address: IPv4, or IPv6 in brackets (`http://[fd77::1]:8000/`); no DNS here.
    #[arg(default_value = "http://10.77.0.1:8000/", value_name = "URL")]
    url: HttpUrl,

    /// How long to wait for the handshake, and then for each piece of the response: seconds
    /// (5, 0.5, 2s) or milliseconds (200ms).
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    timeout: Duration,

    /// Print at most this many bytes of the body (all of it is read and counted).
    #[arg(long, default_value_t = 4096, value_name = "BYTES")]
    max_body: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    args.tun
        .check_reachable("the URL's host", args.url.addr.ip())
        .unwrap_or_else(|err| exit_with(&format!("http-get: {err}")));
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
    println!(
        "try: http-get http://{}/SOME/FILE; a server must listen on port {} on the kernel \
         side before http-get starts, e.g. python3 -m http.server {} --bind :: (see --help)",
        args.url.addr,
        args.url.addr.port(),
        args.url.addr.port()
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }

    finish_client("http-get", &net, shutdown, run(&net.stack, &args)).await
}

/// The body as it arrives: the first `max` bytes kept to print, all of them counted.
struct Body {
    shown: Vec<u8>,
    max: usize,
    len: u64,
}

impl Body {
    fn take(&mut self, data: &[u8]) {
        let room = self.max.saturating_sub(self.shown.len());
        self.shown.extend_from_slice(&data[..room.min(data.len())]);
        self.len += data.len() as u64;
    }
}

/// Fetches the URL and prints what happened. The error is one line, for the user.
async fn run(stack: &Stack, args: &Args) -> io::Result<()> {
    let to = args.url.addr;
    let started = Instant::now();
    let mut stream = connect(stack, args).await?;
    let connected = started.elapsed();
    let port = stream.local_addr()?.port();
    println!(
        "Connected to {to} from {} (handshake {:.2} ms)",
        stream.local_addr()?,
        millis(connected)
    );

    // The request: a request line, headers, an empty line. "Connection: close" asks the server
    // to close once it has answered, so the connection ends with the response.
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: tunstack-http-get/{}\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        args.url.target,
        args.url.host_header(),
        env!("CARGO_PKG_VERSION")
    );
    for line in request.trim_end().lines() {
        println!("> {line}");
    }
    println!(">");
    stream.write_all(request.as_bytes()).await?;
    let sent = started.elapsed();

    // The response's head: read until the empty line.
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut first_byte = None;
    let end = loop {
        let n = read(&mut stream, &mut chunk, args).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{to} closed the connection before a whole response head"),
            ));
        }
        first_byte.get_or_insert_with(|| started.elapsed());
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad_data(format!("no end of the head in {MAX_HEAD} bytes")));
        }
    };
    let head = ResponseHead::parse(&buf[..end]).map_err(bad_data)?;
    println!("< {}", head.status_line());
    for (name, value) in &head.headers {
        println!("< {name}: {value}");
    }
    println!("<");

    // The body, however it ends.
    let framing = head.framing().map_err(bad_data)?;
    let mut body = Body {
        shown: Vec::new(),
        max: args.max_body,
        len: 0,
    };
    read_body(
        &mut stream,
        &mut chunk,
        &buf[end..],
        framing,
        &mut body,
        args,
    )
    .await?;
    let total = started.elapsed();

    print_body(&body, args.max_body);
    let how = match framing {
        Framing::NoBody => "none for this status",
        Framing::Length(_) => "Content-Length",
        Framing::Chunked => "chunked",
        Framing::UntilClose => "until the server closed",
    };
    println!("Body: {} bytes ({how})", body.len);
    let first_byte = first_byte.unwrap_or(total);
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
    println!("My ephemeral port was: {port}");

    // Our FIN; then hear the server out until its FIN (unread data would make ours a reset).
    stream.shutdown().await?;
    while read(&mut stream, &mut chunk, args).await? > 0 {}
    Ok(())
}

/// The handshake, with the errors a learner meets explained.
async fn connect(stack: &Stack, args: &Args) -> io::Result<TcpStream> {
    let to = args.url.addr;
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

/// One read, with the timeout.
async fn read(stream: &mut TcpStream, chunk: &mut [u8], args: &Args) -> io::Result<usize> {
    match timeout(args.timeout, stream.read(chunk)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} sent nothing for {:.2} s",
                args.url.addr,
                args.timeout.as_secs_f64()
            ),
        )),
    }
}

/// Reads the body that `framing` describes; `early` is what came with the head.
async fn read_body(
    stream: &mut TcpStream,
    chunk: &mut [u8],
    early: &[u8],
    framing: Framing,
    body: &mut Body,
    args: &Args,
) -> io::Result<()> {
    let mut decoder = ChunkedDecoder::new();
    let mut data = early.to_vec();
    loop {
        match framing {
            Framing::NoBody => return Ok(()),
            Framing::Length(len) => {
                let left = usize::try_from(len - body.len).unwrap_or(usize::MAX);
                body.take(&data[..left.min(data.len())]);
                if body.len == len {
                    return Ok(());
                }
            }
            Framing::Chunked => {
                decoder.feed(&data, |d| body.take(d)).map_err(bad_data)?;
                if decoder.is_done() {
                    return Ok(());
                }
            }
            Framing::UntilClose => body.take(&data),
        }
        let n = read(stream, chunk, args).await?;
        if n == 0 {
            return match framing {
                Framing::UntilClose => Ok(()),
                _ => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} closed the connection after {} bytes of the body, before its end",
                        args.url.addr, body.len
                    ),
                )),
            };
        }
        data.clear();
        data.extend_from_slice(&chunk[..n]);
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

fn bad_data(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("not HTTP: {why}"))
}
