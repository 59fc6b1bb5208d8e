//! Readiness, peeking and gathered writes: the calls behind `TcpStream::readable`,
//! `writable`, `peek`, `try_read`, `try_write` and `poll_write_vectored`.
//!
//! Readiness is what a `poll(2)` on the socket would say: readable when a read would not wait
//! (data, the peer's FIN, or an error to report), writable when a write would not wait (room in
//! the send buffer, or an error to report). A task that finds the socket not ready leaves its
//! waker with the readers or the writers, and is woken by what wakes a waiting read or write.

use std::io::{self, IoSlice};
use std::task::{Context, Poll};

use super::connection::{error, Connection};
use super::state::State;

impl Connection {
    /// How many bytes a read may return now: `Ready(Ok(n))` with `n > 0` when data is there
    /// (up to the urgent mark, if one is ahead), `Ready(Ok(0))` at the end of the peer's stream,
    /// the connection's error, or `Pending` (the task is woken with the readers).
    pub(crate) fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let n = self.read_limit(self.rcv.buf.readable());
        if n > 0 {
            return Poll::Ready(Ok(n));
        }
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        if self.rcv.fin_received || self.state == State::Closed {
            return Poll::Ready(Ok(0));
        }
        self.wait_as_reader(cx);
        Poll::Pending
    }

    /// Copies received bytes into `out` without taking them: the next read returns them
    /// again (`MSG_PEEK`). Stops at the urgent mark, as a read does.
    pub(crate) fn peek(&self, out: &mut [u8]) -> usize {
        let limit = self.read_limit(out.len());
        self.rcv.buf.peek(&mut out[..limit])
    }

    /// `Ready(Ok(()))` when a write would not wait: the send buffer has room, or the write
    /// would fail at once (an error, or writing was shut down). `Pending` otherwise, until an
    /// acknowledgment frees room.
    pub(crate) fn poll_write_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        let open =
            self.snd.fin.is_none() && matches!(self.state, State::Established | State::CloseWait);
        if !open || self.snd.room() > 0 {
            return Poll::Ready(Ok(()));
        }
        self.wait_as_writer(cx);
        Poll::Pending
    }

    /// Appends as much of `bufs`, in order, as the send buffer takes: a slice that does not
    /// fit whole ends the write (its first part goes in). Waits while the buffer is full.
    pub(crate) fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut total = 0;
        for buf in bufs.iter().filter(|b| !b.is_empty()) {
            let written = match self.poll_write(cx, buf) {
                Poll::Ready(Ok(n)) => n,
                // Bytes taken from earlier slices are reported; the error (or the wait) comes
                // with the next call.
                _ if total > 0 => return Poll::Ready(Ok(total)),
                other => return other,
            };
            total += written;
            if written < buf.len() {
                break;
            }
        }
        Poll::Ready(Ok(total))
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::tcp::config::TcpConfig;
    use crate::tcp::connection::Quad;
    use crate::tcp::seq::SeqNumber;

    fn established(send_buffer: usize) -> Connection {
        let config = TcpConfig {
            send_buffer,
            ..TcpConfig::default()
        };
        let mut conn = Connection::new(
            Quad::for_test(80),
            State::Established,
            SeqNumber(1000),
            1460,
            &config,
        );
        conn.state = State::Established;
        conn
    }

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn a_gathered_write_takes_whole_slices_then_the_first_part_of_the_next() {
        let mut conn = established(10);
        let bufs = [
            IoSlice::new(b"abc"),
            IoSlice::new(b""),
            IoSlice::new(b"defg"),
            IoSlice::new(b"hijkl"),
        ];
        assert!(matches!(
            conn.poll_write_vectored(&mut cx(), &bufs),
            Poll::Ready(Ok(10))
        ));
        let mut sent = [0u8; 10];
        conn.snd.buf.read_at(0, &mut sent);
        assert_eq!(&sent, b"abcdefghij");
        assert!(conn.poll_write_vectored(&mut cx(), &bufs).is_pending());
        assert!(conn.poll_write_ready(&mut cx()).is_pending());
    }

    #[test]
    fn an_error_after_some_slices_is_reported_by_the_next_call() {
        let mut conn = established(10);
        conn.shutdown_write();
        let bufs = [IoSlice::new(b"abc")];
        assert!(matches!(
            conn.poll_write_vectored(&mut cx(), &bufs),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe
        ));
        assert!(
            conn.poll_write_ready(&mut cx()).is_ready(),
            "a write would fail at once: that is ready"
        );
    }

    #[test]
    fn peek_leaves_the_bytes_for_the_read() {
        let mut conn = established(10);
        conn.rcv.buf.insert(0, b"hello", None);
        assert!(matches!(
            conn.poll_read_ready(&mut cx()),
            Poll::Ready(Ok(5))
        ));
        let mut out = [0u8; 3];
        assert_eq!(conn.peek(&mut out), 3);
        assert_eq!(&out, b"hel");
        let mut all = [0u8; 8];
        assert!(matches!(
            conn.poll_read(&mut cx(), &mut all),
            Poll::Ready(Ok((5, _)))
        ));
        assert_eq!(&all[..5], b"hello");
        assert!(conn.poll_read_ready(&mut cx()).is_pending());
        conn.rcv.fin_received = true;
        assert!(matches!(
            conn.poll_read_ready(&mut cx()),
            Poll::Ready(Ok(0))
        ));
    }
}
