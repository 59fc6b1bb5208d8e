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
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, USER_AGENT};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
    let lent = Lent::new(stream);
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(lent.clone()))
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
    // No more requests: dropping the sender lets the connection task end (with a GOAWAY).
    drop(sender);
    match within(args, driver).await? {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::info!("{}", http2_error("closing", &err)),
        Err(err) => tracing::info!("the HTTP/2 connection task: {err}"),
    }
    // hyper is done with the stream but closes nothing below HTTP/2: close it as h1 does
    // (close_notify and our FIN, then the server's until its FIN), so that the server's last
    // records do not reach a socket nobody reads, which would answer them with a reset.
    if let Some(mut stream) = lent.take_back() {
        crate::h1::close(&mut stream, args).await?;
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

/// A stream lent to hyper's connection task, which owns its IO and drops it when done: the
/// stream itself stays here, to be taken back and closed properly.
struct Lent<S>(Arc<Mutex<Option<S>>>);

impl<S> Clone for Lent<S> {
    fn clone(&self) -> Self {
        Lent(self.0.clone())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Lent<S> {
    fn new(stream: S) -> Lent<S> {
        Lent(Arc::new(Mutex::new(Some(stream))))
    }

    /// The stream, once hyper no longer uses it (`None` if it was taken already).
    fn take_back(&self) -> Option<S> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Runs `f` on the stream; an error once it has been taken back.
    fn with<T>(&self, f: impl FnOnce(Pin<&mut S>) -> Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        let mut stream = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match stream.as_mut() {
            Some(stream) => f(Pin::new(stream)),
            None => Poll::Ready(Err(io::Error::from(io::ErrorKind::NotConnected))),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Lent<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.with(|stream| stream.poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lent<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.with(|stream| stream.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|stream| stream.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|stream| stream.poll_shutdown(cx))
    }
}

/// `future`, or a timeout error after --timeout.
async fn within<F: std::future::Future>(args: &Args, future: F) -> io::Result<F::Output> {
    timeout(args.timeout, future).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} sent nothing for {:.2} s",
                args.url.authority(),
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
