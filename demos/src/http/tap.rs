//! [`TappedStream`]: a [`TcpStream`] that remembers what its connection looked like when data
//! last arrived, so that a page can tell a visitor about their own request.
//!
//! hyper owns the stream while it serves a connection, so the request handler cannot ask the
//! stream itself. The tap sits between them: every read that brings bytes takes a snapshot of
//! the connection ([`TcpStream::info`]: RTT estimate, congestion window, retransmissions...)
//! and counts the bytes; the handler, called once hyper has parsed a request from those bytes,
//! asks the [`Tap`] for both.
//!
//! ```text
//!   TcpStream ──read──► TappedStream ──read──► hyper (parses the request) ──► handler
//!                          │ snapshot, bytes                                    │
//!                          └──────────────────────► Tap ◄── request_arrived() ──┘
//! ```

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tunstack::tcp::ConnInfo;
use tunstack::TcpStream;

/// What the tap knows about a request when the handler asks.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// The connection as it was when the request's bytes were read.
    pub info: ConnInfo,
    /// Bytes read from the connection since the previous request: the request's head (and any
    /// body that came with it). Clients that send the next request before the previous answer
    /// (HTTP pipelining, rare) make this the sum of both.
    pub request_bytes: u64,
    /// Which request on this connection: 1 for the first, 2 for the next on the same (kept
    /// alive) connection...
    pub number: u64,
}

#[derive(Debug)]
struct Notes {
    info: ConnInfo,
    bytes_read: u64,
    bytes_before_this_request: u64,
    requests: u64,
}

/// The handler's side of the tap: one per connection, shared with its [`TappedStream`].
#[derive(Debug)]
pub struct Tap {
    notes: Mutex<Notes>,
}

impl Tap {
    /// Called by the handler for each request: the latest snapshot, the bytes read since the
    /// previous request, and the request's number.
    pub fn request_arrived(&self) -> Arrival {
        let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        notes.requests += 1;
        let request_bytes = notes.bytes_read - notes.bytes_before_this_request;
        notes.bytes_before_this_request = notes.bytes_read;
        Arrival {
            info: notes.info,
            request_bytes,
            number: notes.requests,
        }
    }
}

/// A [`TcpStream`] with a [`Tap`]; reads and writes go straight through.
#[derive(Debug)]
pub struct TappedStream {
    stream: TcpStream,
    tap: Arc<Tap>,
}

impl TappedStream {
    /// Taps `stream`; returns it with the tap to hand to the request handler. Fails only if the
    /// connection is already gone.
    pub fn new(stream: TcpStream) -> io::Result<(TappedStream, Arc<Tap>)> {
        let tap = Arc::new(Tap {
            notes: Mutex::new(Notes {
                info: stream.info()?,
                bytes_read: 0,
                bytes_before_this_request: 0,
                requests: 0,
            }),
        });
        Ok((
            TappedStream {
                stream,
                tap: tap.clone(),
            },
            tap,
        ))
    }
}

impl AsyncRead for TappedStream {
    /// Reads from the stream; when bytes came, notes how many and takes a snapshot.
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            let info = self.stream.info();
            let mut notes = self
                .tap
                .notes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            notes.bytes_read += n as u64;
            if let Ok(info) = info {
                notes.info = info;
            }
        }
        result
    }
}

impl AsyncWrite for TappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
