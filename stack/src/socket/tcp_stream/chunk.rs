//! Writing without a copy: [`TcpStream::write_chunk`] hands the stack bytes it may keep as
//! they are.
//!
//! A plain write copies the application's bytes into the send buffer, because the caller
//! gets its buffer back at once. Bytes handed over as [`Bytes`] are shared instead: the send
//! buffer keeps a reference to the same memory, segments go to the device as slices of it
//! (with the headers written beside them, not in front), and the memory is freed when the
//! peer has acknowledged the last byte and the last packet has gone. It is the shape of
//! Linux's `MSG_ZEROCOPY` or `sendfile`, without their completion notices: `Bytes` cannot
//! change under the stack, so there is nothing to wait for before reusing it.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::{Inner, OwnedWriteHalf, TcpStream, WriteHalf};

impl Inner {
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
    /// Writes all of `data` without copying it (from 4 KiB on; shorter writes are copied, as a
    /// segment from many small pieces would be): the send buffer keeps `data`'s memory, and
    /// packets carry slices of it to the device. Waits while the send buffer is full, as
    /// `write_all` does.
    ///
    /// For data the application already holds as [`Bytes`]: a file read once and sent to
    /// many, a body built elsewhere. The bytes count against the send buffer and the unsent
    /// limit like written ones. Errors: those of a write (`BrokenPipe` after shutdown, the
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

chunk_write_half!(WriteHalf<'_>);
chunk_write_half!(OwnedWriteHalf);
