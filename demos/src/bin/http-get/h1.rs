//! HTTP/1.1 by hand, over anything that reads and writes: a `TcpStream` for http://, a TLS
//! stream on top of one for https://. The request is a few lines of text; the response is read
//! until its head ends, then until its body ends (`Content-Length`, chunked, or the server
//! closing).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tunstack_demos::http::response::{head_end, ChunkedDecoder, Framing, ResponseHead, MAX_HEAD};

use crate::{bad_data, Args, Body, Exchange};

/// Sends the GET request on `stream`, reads the response and prints it; `started` is when the
/// journey began (the clock of every time returned); `srtt` reads the connection's smoothed
/// RTT, after each step.
pub async fn fetch<S>(
    stream: &mut S,
    args: &Args,
    started: Instant,
    srtt: &dyn Fn() -> Option<Duration>,
) -> io::Result<Exchange>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
    stream.flush().await?;
    let sent = started.elapsed();

    // The response's head: read until the empty line.
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut first_byte = None;
    let end = loop {
        let n = read(stream, &mut chunk, args).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} closed the connection before a whole response head",
                    args.url.authority()
                ),
            ));
        }
        if first_byte.is_none() {
            first_byte = Some((started.elapsed(), srtt()));
        }
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
    let mut body = Body::new(args.max_body);
    read_body(stream, &mut chunk, &buf[end..], framing, &mut body, args).await?;
    let total = started.elapsed();
    let srtt_at_end = srtt();
    let (first_byte, srtt_at_first_byte) = first_byte.unwrap_or((total, srtt_at_end));
    let how = match framing {
        Framing::NoBody => "none for this status",
        Framing::Length(_) => "Content-Length",
        Framing::Chunked => "chunked",
        Framing::UntilClose => "until the server closed",
    };

    close(stream, args).await?;
    Ok(Exchange {
        status: head.status,
        sent,
        first_byte,
        srtt_at_first_byte,
        total,
        srtt_at_end,
        body,
        framing: how,
    })
}

/// Closes our side once the response is whole: our FIN (over TLS, our close_notify alert
/// first); then hears the server out until its FIN (unread data would make ours a reset).
///
/// A server that answered "Connection: close" may have closed its socket entirely by then: over
/// TLS our close_notify then reaches a socket that is gone, and its kernel answers with a reset.
/// The response is already whole, so that reset only ends the connection.
pub async fn close<S>(stream: &mut S, args: &Args) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let gone = |err: &io::Error| {
        matches!(
            err.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        )
    };
    let mut chunk = [0u8; 4096];
    let closed = async {
        stream.shutdown().await?;
        while read(stream, &mut chunk, args).await? > 0 {}
        Ok(())
    };
    match closed.await {
        Err(err) if gone(&err) => {
            tracing::info!(
                "{}: the server had closed already ({err})",
                args.url.authority()
            );
            Ok(())
        }
        result => result,
    }
}

/// One read, with the timeout. Over TLS, a server that closes without its close_notify alert
/// ([RFC 8446 section 6.1]) ends the stream too: the body's framing says whether it was whole.
///
/// [RFC 8446 section 6.1]: https://www.rfc-editor.org/rfc/rfc8446#section-6.1
async fn read<S>(stream: &mut S, chunk: &mut [u8], args: &Args) -> io::Result<usize>
where
    S: AsyncRead + Unpin,
{
    match timeout(args.timeout, stream.read(chunk)).await {
        Ok(Err(err)) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} sent nothing for {:.2} s",
                args.url.authority(),
                args.timeout.as_secs_f64()
            ),
        )),
    }
}

/// Reads the body that `framing` describes; `early` is what came with the head.
async fn read_body<S>(
    stream: &mut S,
    chunk: &mut [u8],
    early: &[u8],
    framing: Framing,
    body: &mut Body,
    args: &Args,
) -> io::Result<()>
where
    S: AsyncRead + Unpin,
{
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
                        args.url.authority(),
                        body.len
                    ),
                )),
            };
        }
        data.clear();
        data.extend_from_slice(&chunk[..n]);
    }
}
