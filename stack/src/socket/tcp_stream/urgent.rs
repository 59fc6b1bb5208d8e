//! Urgent data on a [`TcpStream`] ([RFC 9293 3.8.5], [RFC 6093]): sending it, and learning
//! where the peer's ends. See `tcp/urgent.rs` for what goes on the wire.
//!
//! The model is Linux's socket with `SO_OOBINLINE`: urgent bytes stay in the stream, in order,
//! and the application is told where they end (the *mark*, just past the last urgent byte).
//! [`TcpStream::urgent_mark`] is `ioctl(SIOCATMARK)` with a distance instead of a yes or no,
//! [`TcpStream::wait_urgent`] is the `SIGURG` or `POLLPRI` that says urgent data has come, and
//! a read never returns bytes from both sides of the mark, as Linux's reads stop at it.
//!
//! [RFC 9293 3.8.5]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
//! [RFC 6093]: https://www.rfc-editor.org/rfc/rfc6093

use std::future::poll_fn;
use std::io;

use super::{Inner, OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, WriteHalf};

impl Inner {
    async fn send_urgent(&self, mut data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            // RFC 9293 3.8.5: an urgent indication comes with at least one byte of data.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "urgent data needs at least one byte",
            ));
        }
        while !data.is_empty() {
            let n =
                poll_fn(|cx| self.with_host(|host, id| host.tcp_poll_send_urgent(cx, id, data)))
                    .await?;
            data = &data[n..];
        }
        Ok(())
    }

    fn urgent_mark(&self) -> io::Result<Option<u64>> {
        self.with_host(|host, id| host.tcp_urgent_mark(id))
    }

    async fn wait_urgent(&self) -> io::Result<Option<u64>> {
        poll_fn(|cx| self.with_host(|host, id| host.tcp_poll_urgent(cx, id))).await
    }
}

impl TcpStream {
    /// Sends `data` as urgent data: it goes into the stream after what was written before,
    /// like any write, and the peer is told that urgent data ends after its last byte ([RFC
    /// 9293 3.8.5]). Segments carry the URG flag and the urgent pointer until the peer has
    /// acknowledged every urgent byte, and small ones go at once, whatever Nagle's rule says.
    ///
    /// A Linux peer reading without `SO_OOBINLINE` gets the last byte of `data` from
    /// `recv(MSG_OOB)` and the rest in the stream; with `SO_OOBINLINE`, all of it in the stream
    /// and `sockatmark()` true just before that last byte. Urgent data sent before this call
    /// and not yet acknowledged merges with it: the mark moves to the end of `data`.
    ///
    /// Errors: `InvalidInput` for empty `data` (an urgent indication needs a byte), and those
    /// of a write (`BrokenPipe` after shutdown, the connection's failure).
    ///
    /// Cancel safety: not cancel safe, like `write_all`: if the future is dropped early, a
    /// first part of `data` may have been queued, and it is urgent (the mark follows it).
    ///
    /// ```no_run
    /// # async fn demo(stack: tunstack::Stack) -> std::io::Result<()> {
    /// use tokio::io::AsyncWriteExt;
    /// use tunstack::TcpStream;
    ///
    /// let mut stream = TcpStream::connect(&stack, "10.77.0.1:9000").await?;
    /// stream.write_all(b"hello").await?;
    /// stream.send_urgent(b"!").await?; // a Linux server's recv(MSG_OOB) gets b"!"
    /// stream.write_all(b"world").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// [RFC 9293 3.8.5]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
    pub async fn send_urgent(&self, data: &[u8]) -> io::Result<()> {
        self.inner.send_urgent(data).await
    }

    /// How many more bytes the application must read to reach the urgent mark: the end of the
    /// urgent data the peer has signalled, just past its last urgent byte ([RFC 9293 3.8.5]
    /// MUST-33, [RFC 6093]). `None` when no urgent data lies ahead of the reader.
    ///
    /// The urgent bytes stay in the stream, in order: nothing is taken out of band. A read stops
    /// at the mark, so the read that ends with the last urgent byte returns nothing after it.
    /// `Some(1)` is what Linux's `SIOCATMARK` calls "at the mark": the next byte is the last
    /// urgent one. The mark may be ahead of the data that has arrived (the peer's pointer can
    /// run ahead of its data); reads then return what has arrived, as usual. Several urgent
    /// sends that arrive before the reader reaches the first mark merge into the last.
    ///
    /// Errors: `NotConnected` once the connection is gone.
    ///
    /// ```no_run
    /// # async fn demo(mut stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// use tokio::io::AsyncReadExt;
    ///
    /// // The peer sent "hello", then "!" with MSG_OOB, then "world".
    /// let mut buf = [0u8; 64];
    /// if let Some(ahead) = stream.urgent_mark()? {
    ///     assert_eq!(ahead, 6); // "hello!": the mark is after the '!'
    ///     let n = stream.read(&mut buf).await?; // stops at the mark at the latest
    ///     assert!(n <= 6);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// [RFC 9293 3.8.5]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
    /// [RFC 6093]: https://www.rfc-editor.org/rfc/rfc6093
    pub fn urgent_mark(&self) -> io::Result<Option<u64>> {
        self.inner.urgent_mark()
    }

    /// Waits until the peer has signalled urgent data that lies ahead of the reader, and
    /// returns [`TcpStream::urgent_mark`]: how many bytes to read to reach its end ([RFC 9293
    /// 3.8.5] MUST-32: the application is told when urgent data comes, and when its mark moves
    /// on). Returns at once if some is pending. `Ok(None)` when none can come any more: the
    /// peer has closed its side, or the connection is closed.
    ///
    /// Errors: the connection's failure (`ConnectionReset`, `TimedOut`...).
    ///
    /// Cancel safety: cancel safe; it only waits, and takes nothing from the stream.
    ///
    /// ```no_run
    /// # async fn demo(mut stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// use tokio::io::AsyncReadExt;
    ///
    /// // Telnet's "Synch": on urgent data, skip what was sent before the mark.
    /// while let Some(mut ahead) = stream.wait_urgent().await? {
    ///     let mut skip = [0u8; 512];
    ///     while ahead > 0 {
    ///         let n = stream.read(&mut skip).await?;
    ///         if n == 0 {
    ///             return Ok(());
    ///         }
    ///         ahead -= n as u64;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// [RFC 9293 3.8.5]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
    pub async fn wait_urgent(&self) -> io::Result<Option<u64>> {
        self.inner.wait_urgent().await
    }
}

macro_rules! urgent_read_half {
    ($t:ty) => {
        impl $t {
            /// [`TcpStream::urgent_mark`] for this half: how many bytes to read to reach the
            /// end of the peer's urgent data.
            pub fn urgent_mark(&self) -> io::Result<Option<u64>> {
                self.0.urgent_mark()
            }

            /// [`TcpStream::wait_urgent`] for this half: waits for urgent data from the peer.
            /// Cancel safe.
            pub async fn wait_urgent(&self) -> io::Result<Option<u64>> {
                self.0.wait_urgent().await
            }
        }
    };
}

macro_rules! urgent_write_half {
    ($t:ty) => {
        impl $t {
            /// [`TcpStream::send_urgent`] for this half: sends `data` as urgent data. Not
            /// cancel safe, like `write_all`.
            pub async fn send_urgent(&self, data: &[u8]) -> io::Result<()> {
                self.0.send_urgent(data).await
            }
        }
    };
}

urgent_read_half!(ReadHalf<'_>);
urgent_read_half!(OwnedReadHalf);
urgent_write_half!(WriteHalf<'_>);
urgent_write_half!(OwnedWriteHalf);
