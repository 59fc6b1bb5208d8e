//! What the application does to a connection: wait for its handshake, read (copied, or as
//! shared bytes), write (copied, or shared), shut down writing. A call that must wait leaves
//! the task's waker with the readers or the writers. Readiness, peeking and gathered writes
//! are in `ready.rs`.

use std::io;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::connection::{error, Connection};
use super::sender::Sender;
use super::state::State;

impl Connection {
    /// Waits until the handshake is done (for `connect`).
    pub(crate) fn poll_established(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        match self.state {
            State::SynSent | State::SynReceived => {
                self.wait_as_writer(cx);
                Poll::Pending
            }
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Reads received bytes into `out`; `Ok(0)` once the peer's FIN has been read past. A read
    /// stops at the urgent mark, if one is ahead (`urgent.rs`).
    /// Returns whether the read opened the window enough to be worth announcing.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<(usize, bool)>> {
        if out.is_empty() {
            return Poll::Ready(Ok((0, false)));
        }
        let available = std::task::ready!(self.poll_read_ready(cx))?;
        let limit = available.min(out.len());
        let n = self.rcv.read(&mut out[..limit]);
        Poll::Ready(Ok((n, self.after_read(n))))
    }

    /// Moves up to `max` received bytes out as shared bytes: a kept packet's data as it is,
    /// without a copy. Empty once the peer's FIN has been read past. Stops at the urgent mark,
    /// as a read does. Returns whether the read opened the window enough to be worth
    /// announcing.
    pub(crate) fn poll_read_shared(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Poll<io::Result<(Bytes, bool)>> {
        if max == 0 {
            return Poll::Ready(Ok((Bytes::new(), false)));
        }
        let available = std::task::ready!(self.poll_read_ready(cx))?;
        let chunk = self.rcv.read_shared(available.min(max));
        let update = self.after_read(chunk.len());
        Poll::Ready(Ok((chunk, update)))
    }

    /// Counts `n` bytes read; returns whether the window is now worth announcing, and owes
    /// the peer that announcement if so.
    fn after_read(&mut self, n: usize) -> bool {
        if n == 0 {
            return false;
        }
        self.stats.bytes_read += n as u64;
        let update = self.window_update_due();
        if update {
            self.rcv.owe_ack(false);
        }
        update
    }

    /// Whether the window we could announce now is enough larger than the one the peer knows
    /// to send an update without waiting for data: the receiver's side of silly-window
    /// avoidance (RFC 9293 3.8.6.2.2: an increase of at least min(buffer/2, MSS)).
    fn window_update_due(&self) -> bool {
        let known = self.rcv.wnd();
        let possible = self.rcv.buf.window();
        let threshold = (self.rcv.buf.capacity() / 2).min(self.our_mss);
        self.state.can_receive() && possible >= known + threshold
    }

    /// Appends `data` to the send buffer; waits while the buffer is full.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, data.is_empty(), |snd| snd.write(data))
    }

    /// Appends what fits of `data` to the send buffer without copying it, taking it off the
    /// front of `data`; waits while the buffer is full.
    pub(crate) fn poll_write_shared(
        &mut self,
        cx: &mut Context<'_>,
        data: &mut Bytes,
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, data.is_empty(), |snd| snd.write_shared(data))
    }

    /// A write: `write` appends to the send buffer and says how much, unless the connection
    /// cannot take data (an error, or writing shut down); `empty` writes nothing.
    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        empty: bool,
        write: impl FnOnce(&mut Sender) -> usize,
    ) -> Poll<io::Result<usize>> {
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        if self.snd.fin.is_some() || !matches!(self.state, State::Established | State::CloseWait) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection was shut down for writing",
            )));
        }
        if empty {
            return Poll::Ready(Ok(0));
        }
        let n = write(&mut self.snd);
        if n == 0 {
            self.wait_as_writer(cx);
            return Poll::Pending;
        }
        self.stats.bytes_written += n as u64;
        Poll::Ready(Ok(n))
    }

    /// Shuts down writing: a FIN goes after the buffered data (RFC 9293 3.10.4, CLOSE).
    pub(crate) fn shutdown_write(&mut self) {
        match self.state {
            State::SynSent => self.set_state(State::Closed),
            State::SynReceived | State::Established => {
                self.snd.close();
                self.set_state(State::FinWait1);
            }
            State::CloseWait => {
                self.snd.close();
                self.set_state(State::LastAck);
            }
            // Already closing, or closed.
            _ => {}
        }
    }
}
