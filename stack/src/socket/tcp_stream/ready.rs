//! Readiness and non-blocking calls on a [`TcpStream`], as `tokio::net::TcpStream` has them:
//! `readable`, `writable`, `ready`, `try_read`, `try_write`, `peek`.
//!
//! A socket is readable when a read would not wait: data has arrived, the peer has closed its
//! side (the read returns 0), or the connection has failed (the read returns the error). It is
//! writable when a write would not wait: the send buffer has room, or the write would fail at
//! once. Readiness can be spurious in tokio (another task may read first); here a `try_read`
//! right after `readable` finds the data unless another handle took it in between.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::task::{Context, Poll, Waker};

use tokio::io::{Interest, ReadBuf, Ready};

use super::{Inner, OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, WriteHalf};

/// `WouldBlock`, for a `try_` call that would have had to wait.
fn would_block() -> io::Error {
    io::Error::new(io::ErrorKind::WouldBlock, "the socket is not ready")
}

/// The answer of a `try_` call: `Pending` becomes `WouldBlock`.
fn now_or_would_block<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(would_block()),
    }
}

impl Inner {
    /// `Ready` when a read would not wait; a connection error counts as ready (the read
    /// reports it).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_running_host(|host, id| host.tcp_poll_read_ready(cx, id).map(|_| Ok(())))?
    }

    /// `Ready` when a write would not wait; a connection error counts as ready.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_running_host(|host, id| host.tcp_poll_write_ready(cx, id).map(|_| Ok(())))?
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<Ready>> {
        self.with_running_host(|host, id| {
            let mut ready = Ready::EMPTY;
            if interest.is_readable() {
                ready |= match host.tcp_poll_read_ready(cx, id) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        Ready::READABLE | Ready::READ_CLOSED
                    }
                    Poll::Ready(Ok(_)) => Ready::READABLE,
                    Poll::Pending => Ready::EMPTY,
                };
            }
            if interest.is_writable() {
                ready |= match host.tcp_poll_write_ready(cx, id) {
                    Poll::Ready(Ok(())) => Ready::WRITABLE,
                    Poll::Ready(Err(_)) => Ready::WRITABLE | Ready::WRITE_CLOSED,
                    Poll::Pending => Ready::EMPTY,
                };
            }
            if ready.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(Ok(ready))
            }
        })?
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        now_or_would_block(self.poll_read(&mut Context::from_waker(Waker::noop()), &mut buf))?;
        Ok(buf.filled().len())
    }

    fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        now_or_would_block(self.poll_write(&mut Context::from_waker(Waker::noop()), data))
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let cx = &mut Context::from_waker(Waker::noop());
        now_or_would_block(self.poll_write_vectored(cx, bufs))
    }

    /// Waits for data (or the end of the stream), then copies it into the unfilled part of
    /// `buf` without taking it; initializes only what it copies, as a read does.
    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<usize>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(0));
        }
        self.with_running_host(|host, id| {
            let available = std::task::ready!(host.tcp_poll_read_ready(cx, id))?;
            let out = buf.initialize_unfilled_to(available.min(buf.remaining()));
            let n = host.tcp_peek(id, out)?;
            buf.advance(n);
            Poll::Ready(Ok(n))
        })?
    }

    async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        poll_fn(|cx| self.poll_peek(cx, &mut buf)).await
    }
}

impl TcpStream {
    /// Waits until the stream is readable: a read would return data, 0 (the peer closed its
    /// side) or the connection's error without waiting. As `tokio::net::TcpStream::readable`;
    /// usually followed by [`TcpStream::try_read`].
    ///
    /// Cancel safety: cancel safe; it only waits.
    ///
    /// ```no_run
    /// # async fn demo(stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// let mut buf = [0u8; 4096];
    /// loop {
    ///     stream.readable().await?;
    ///     match stream.try_read(&mut buf) {
    ///         Ok(0) => break,
    ///         Ok(n) => println!("read {n} bytes"),
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_read_ready(cx)).await
    }

    /// Polls for read readiness, as `tokio::net::TcpStream::poll_read_ready`: `Ready(Ok(()))`
    /// when a read would not wait. Only the task of the latest call is sure to be woken.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_read_ready(cx)
    }

    /// Waits until the stream is writable: the send buffer has room, or a write would fail at
    /// once. As `tokio::net::TcpStream::writable`; usually followed by
    /// [`TcpStream::try_write`].
    ///
    /// Cancel safety: cancel safe; it only waits.
    ///
    /// ```no_run
    /// # async fn demo(stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// let mut data: &[u8] = b"hello world";
    /// while !data.is_empty() {
    ///     stream.writable().await?;
    ///     match stream.try_write(data) {
    ///         Ok(n) => data = &data[n..],
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_write_ready(cx)).await
    }

    /// Polls for write readiness, as `tokio::net::TcpStream::poll_write_ready`.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_write_ready(cx)
    }

    /// Waits for any of the readiness in `interest` and returns what is ready, as
    /// `tokio::net::TcpStream::ready`: `READABLE` (with `READ_CLOSED` at the end of the
    /// peer's stream or after a failure), `WRITABLE` (with `WRITE_CLOSED` after a failure).
    /// Interests other than reading and writing (`PRIORITY`, `ERROR`) are never ready.
    ///
    /// Cancel safety: cancel safe; it only waits.
    ///
    /// ```no_run
    /// # async fn demo(stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// use tokio::io::Interest;
    ///
    /// let ready = stream.ready(Interest::READABLE | Interest::WRITABLE).await?;
    /// if ready.is_readable() {
    ///     let mut buf = [0u8; 1024];
    ///     let _ = stream.try_read(&mut buf);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        poll_fn(|cx| self.inner.poll_ready(cx, interest)).await
    }

    /// Reads what has arrived without waiting, as `tokio::net::TcpStream::try_read`: `Ok(n)`
    /// bytes, `Ok(0)` at the end of the peer's stream (or for an empty `buf`), `WouldBlock`
    /// when nothing has arrived yet, or the connection's error. Stops at the urgent mark, as
    /// every read does.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_read(buf)
    }

    /// Writes what the send buffer takes now, as `tokio::net::TcpStream::try_write`:
    /// `Ok(n)` bytes (maybe fewer than `buf`), `WouldBlock` when the buffer is full,
    /// `BrokenPipe` after a shutdown, or the connection's error.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write(buf)
    }

    /// A gathered [`TcpStream::try_write`], as `tokio::net::TcpStream::try_write_vectored`:
    /// as many of `bufs`, in order, as the send buffer takes now.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.try_write_vectored(bufs)
    }

    /// Waits for data and copies it into `buf` without taking it from the stream: the next
    /// read (or peek) returns the same bytes. As `tokio::net::TcpStream::peek`, `MSG_PEEK`:
    /// returns how many bytes, 0 at the end of the peer's stream. Stops at the urgent mark.
    ///
    /// Cancel safety: cancel safe; nothing is taken from the stream.
    ///
    /// ```no_run
    /// # async fn demo(mut stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// use tokio::io::AsyncReadExt;
    ///
    /// let mut first = [0u8; 4];
    /// let n = stream.peek(&mut first).await?;
    /// let mut all = [0u8; 1024];
    /// let m = stream.read(&mut all).await?;
    /// assert_eq!(&all[..n.min(m)], &first[..n.min(m)]);
    /// # Ok(()) }
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }

    /// Polls to peek: copies arrived data into the unfilled part of `buf` without taking it,
    /// as `tokio::net::TcpStream::poll_peek`; `Ready(Ok(0))` at the end of the stream. Only
    /// the bytes copied are initialized.
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_peek(cx, buf)
    }
}

macro_rules! ready_read_half {
    ($t:ty) => {
        impl $t {
            /// [`TcpStream::readable`] for this half. Cancel safe.
            pub async fn readable(&self) -> io::Result<()> {
                poll_fn(|cx| self.0.poll_read_ready(cx)).await
            }

            /// [`TcpStream::ready`] for this half. Cancel safe.
            pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                poll_fn(|cx| self.0.poll_ready(cx, interest)).await
            }

            /// [`TcpStream::try_read`] for this half.
            pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.try_read(buf)
            }

            /// [`TcpStream::peek`] for this half. Cancel safe.
            pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.peek(buf).await
            }

            /// [`TcpStream::poll_peek`] for this half.
            pub fn poll_peek(
                &self,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<usize>> {
                self.0.poll_peek(cx, buf)
            }
        }
    };
}

macro_rules! ready_write_half {
    ($t:ty) => {
        impl $t {
            /// [`TcpStream::writable`] for this half. Cancel safe.
            pub async fn writable(&self) -> io::Result<()> {
                poll_fn(|cx| self.0.poll_write_ready(cx)).await
            }

            /// [`TcpStream::ready`] for this half. Cancel safe.
            pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                poll_fn(|cx| self.0.poll_ready(cx, interest)).await
            }

            /// [`TcpStream::try_write`] for this half.
            pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                self.0.try_write(buf)
            }

            /// [`TcpStream::try_write_vectored`] for this half.
            pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                self.0.try_write_vectored(bufs)
            }
        }
    };
}

ready_read_half!(ReadHalf<'_>);
ready_read_half!(OwnedReadHalf);
ready_write_half!(WriteHalf<'_>);
ready_write_half!(OwnedWriteHalf);
