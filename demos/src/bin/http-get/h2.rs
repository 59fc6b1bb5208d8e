//! HTTP/2 through hyper's client, over the TLS stream once ALPN chose `h2`.
//!
//! HTTP/2 ([RFC 9113]) frames what HTTP/1.1 writes as text: the request is a HEADERS frame on a
//! stream of its own (the pseudo-headers `:method`, `:scheme`, `:authority` and `:path` instead
//! of the request line and `Host`), the body comes in DATA frames, and many streams share one
//! connection. That framing is not course material to write by hand; hyper does it, and runs
//! the connection (SETTINGS, flow control, PINGs) as a task of its own, hence the executor.
//!
//! [RFC 9113]: https://www.rfc-editor.org/rfc/rfc9113

use std::io;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, USER_AGENT};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout, Instant};

use crate::{Args, Body, Exchange};

/// Sends the GET request over HTTP/2 on `stream`, reads the response and prints it; `started`
/// is when the journey began (the clock of every time returned); `srtt` reads the connection's
/// smoothed RTT, after each step.
pub async fn fetch<S>(
    stream: S,
    args: &Args,
    started: Instant,
    srtt: &dyn Fn() -> Option<Duration>,
) -> io::Result<Exchange>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|err| http2_error("HTTP/2 connection preface", &err))?;
    let driver = tokio::spawn(connection);
    let uri = args.url.to_string();
    let agent = format!("tunstack-http-get/{}", env!("CARGO_PKG_VERSION"));
    let request = Request::get(uri.as_str())
        .header(USER_AGENT, agent.as_str())
        .header(ACCEPT, "*/*")
        .body(Empty::<Bytes>::new())
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    for (name, value) in [
        (":method", "GET"),
        (":scheme", args.url.scheme.name()),
        (":authority", &args.url.host_header()),
        (":path", &args.url.target),
        ("user-agent", &agent),
        ("accept", "*/*"),
    ] {
        println!("> {name}: {value}");
    }
    println!(">");
    let sent = started.elapsed();
    let response = within(args, sender.send_request(request))
        .await?
        .map_err(|err| http2_error("the request", &err))?;
    let first_byte = started.elapsed();
    let srtt_at_first_byte = srtt();
    println!("< HTTP/2 {}", response.status());
    for (name, value) in response.headers() {
        println!("< {name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    println!("<");
    let status = response.status().as_u16();
    let mut incoming = response.into_body();
    let mut body = Body::new(args.max_body);
    while let Some(frame) = within(args, incoming.frame()).await? {
        let frame = frame.map_err(|err| http2_error("the body", &err))?;
        if let Ok(data) = frame.into_data() {
            body.take(&data);
        }
    }
    let total = started.elapsed();
    let srtt_at_end = srtt();
    // No more requests: dropping the sender lets the connection task close the connection
    // (GOAWAY, then close_notify and our FIN).
    drop(sender);
    match within(args, driver).await? {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::info!("{}", http2_error("closing", &err)),
        Err(err) => tracing::info!("the HTTP/2 connection task: {err}"),
    }
    Ok(Exchange {
        status,
        sent,
        first_byte,
        srtt_at_first_byte,
        total,
        srtt_at_end,
        body,
        framing: "HTTP/2 DATA frames, until END_STREAM",
    })
}

/// `future`, or a timeout error after --timeout.
async fn within<F: std::future::Future>(args: &Args, future: F) -> io::Result<F::Output> {
    timeout(args.timeout, future).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} sent nothing for {:.2} s",
                args.url.addr,
                args.timeout.as_secs_f64()
            ),
        )
    })
}

/// An HTTP/2 error as one line, with its causes.
fn http2_error(during: &str, err: &hyper::Error) -> io::Error {
    let mut text = format!("HTTP/2, {during}: {err}");
    let mut cause = std::error::Error::source(err);
    while let Some(err) = cause {
        text.push_str(&format!(": {err}"));
        cause = err.source();
    }
    io::Error::other(text)
}
