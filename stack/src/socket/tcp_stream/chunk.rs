//! Writing and reading without a copy: [`TcpStream::write_chunk`] hands the stack bytes it may
//! keep as they are, and [`TcpStream::read_chunk`] hands the application received bytes as
//! they lie in their packet.
//!
//! A plain write copies the application's bytes into the send buffer, because the caller
//! gets its buffer back at once. Bytes handed over as [`Bytes`] are shared instead: the send
//! buffer keeps a reference to the same memory, segments go to the device as slices of it
//! (with the headers written beside them, not in front), and the memory is freed when the
//! peer has acknowledged the last byte and the last packet has gone. It is the shape of
//! Linux's `MSG_ZEROCOPY` or `sendfile`, without their completion notices: `Bytes` cannot
//! change under the stack, so there is nothing to wait for before reusing it.
//!
//! On the way in, a long packet that arrived in order stays in its own buffer until it is read
//! (`tcp/recv_buffer.rs`); a plain read copies its bytes out, a chunk read hands out a slice
//! of that buffer, which lives as long as the application holds it.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::{Inner, OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, WriteHalf};

impl Inner {
    fn poll_read_chunk(&self, cx: &mut Context<'_>, max: usize) -> Poll<io::Result<Bytes>> {
        self.with_running_host(|host, id| host.tcp_poll_read_shared(cx, id, max))?
    }

    async fn read_chunk(&self, max: usize) -> io::Result<Option<Bytes>> {
        if max == 0 {
            return Ok(Some(Bytes::new()));
        }
        let chunk = poll_fn(|cx| self.poll_read_chunk(cx, max)).await?;
        Ok((!chunk.is_empty()).then_some(chunk))
    }

    fn poll_write_chunk(&self, cx: &mut Context<'_>, data: &mut Bytes) -> Poll<io::Result<usize>> {
        self.with_running_host(|host, id| host.tcp_poll_write_shared(cx, id, data))?
    }

    async fn write_chunk(&self, mut data: Bytes) -> io::Result<()> {
        while !data.is_empty() {
            poll_fn(|cx| self.poll_write_chunk(cx, &mut data)).await?;
        }
        Ok(())
    }
}

impl TcpStream {
    /// Reads what has arrived in order, up to `max` bytes, as shared bytes: the data of a long
    /// packet as it came, without a copy (bytes that were copied into the receive buffer on
    /// arrival, as short or early segments are, are copied out once). `Ok(None)` once the peer
    /// has closed and everything before its FIN was read. Stops at the urgent mark, as a read
    /// does. Waits while nothing has arrived; `max` 0 returns an empty chunk at once.
    ///
    /// A chunk may be shorter than what is readable: it ends where the packet it lies in
    /// ends. Holding chunks holds their packets' memory, not the window: the window opens as
    /// bytes are read.
    ///
    /// Cancel safety: cancel safe; no bytes are taken unless the future returns them.
    ///
    /// ```no_run
    /// # async fn demo(mut stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// let mut total = 0;
    /// while let Some(chunk) = stream.read_chunk(1 << 20).await? {
    ///     total += chunk.len(); // the packet's own memory, never copied
    /// }
    /// println!("{total} bytes");
    /// # Ok(()) }
    /// ```
    pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        self.inner.read_chunk(max).await
    }

    /// Reads up to `max` bytes as shared bytes now: `Ready(Ok(chunk))` (empty at the end of
    /// the stream, or for `max` 0), or `Pending` while nothing has arrived (the task is woken
    /// when data comes). See [`TcpStream::read_chunk`].
    pub fn poll_read_chunk(&self, cx: &mut Context<'_>, max: usize) -> Poll<io::Result<Bytes>> {
        self.inner.poll_read_chunk(cx, max)
    }

    /// Writes all of `data` without copying it (from 4 KiB on; shorter writes are copied, as a
    /// segment from many small pieces would be): the send buffer keeps `data`'s memory, and
    /// packets carry slices of it to the device. Waits while the send buffer is full, as
    /// `write_all` does.
    ///
    /// For data the application already holds as [`Bytes`]: a file read once and sent to
    /// many, a body built elsewhere. The bytes count against the send buffer like written
    /// ones; the unsent limit ([`TcpConfig::unsent_limit`](crate::tcp::TcpConfig::unsent_limit))
    /// holds back only a short chunk, which is copied. Errors: those of a write (`BrokenPipe` after shutdown, the
    /// connection's failure).
    ///
    /// Cancel safety: not cancel safe, like `write_all`: if the future is dropped early, a
    /// first part of `data` may have been queued.
    ///
    /// ```no_run
    /// # async fn demo(mut stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// use bytes::Bytes;
    ///
    /// let page = Bytes::from(vec![b'x'; 1 << 20]);
    /// stream.write_chunk(page.clone()).await?; // the same megabyte, twice, never copied
    /// stream.write_chunk(page).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_chunk(&mut self, data: Bytes) -> io::Result<()> {
        self.inner.write_chunk(data).await
    }

    /// Writes what fits of `data` now without copying it, taking the bytes written off its
    /// front: how many, or `Pending` while the send buffer is full (the task is woken when
    /// there is room). See [`TcpStream::write_chunk`].
    pub fn poll_write_chunk(
        &self,
        cx: &mut Context<'_>,
        data: &mut Bytes,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_chunk(cx, data)
    }
}

macro_rules! chunk_write_half {
    ($t:ty) => {
        impl $t {
            /// [`TcpStream::write_chunk`] for this half: writes `data` without copying it. Not
            /// cancel safe, like `write_all`.
            pub async fn write_chunk(&mut self, data: Bytes) -> io::Result<()> {
                self.0.write_chunk(data).await
            }

            /// [`TcpStream::poll_write_chunk`] for this half.
            pub fn poll_write_chunk(
                &self,
                cx: &mut Context<'_>,
                data: &mut Bytes,
            ) -> Poll<io::Result<usize>> {
                self.0.poll_write_chunk(cx, data)
            }
        }
    };
}

macro_rules! chunk_read_half {
    ($t:ty) => {
        impl $t {
            /// [`TcpStream::read_chunk`] for this half: reads up to `max` bytes as shared
            /// bytes, `Ok(None)` at the end of the stream. Cancel safe.
            pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
                self.0.read_chunk(max).await
            }

            /// [`TcpStream::poll_read_chunk`] for this half.
            pub fn poll_read_chunk(
                &self,
                cx: &mut Context<'_>,
                max: usize,
            ) -> Poll<io::Result<Bytes>> {
                self.0.poll_read_chunk(cx, max)
            }
        }
    };
}

chunk_read_half!(ReadHalf<'_>);
chunk_read_half!(OwnedReadHalf);
chunk_write_half!(WriteHalf<'_>);
chunk_write_half!(OwnedWriteHalf);
