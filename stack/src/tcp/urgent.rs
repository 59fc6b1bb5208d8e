//! Urgent data ([RFC 9293 3.8.5], [RFC 6093]): a mark in the byte stream that says "the data
//! up to here is urgent". Urgent bytes stay in the stream, in order; only the mark travels
//! apart from them, in the URG flag and the urgent pointer of the header. This is what Linux
//! does with `SO_OOBINLINE`; nothing here takes a byte out of band.
//!
//! Sending: the application's urgent bytes go at the end of the send buffer like any others,
//! and SND.UP moves to just past them. While the peer has not acknowledged that far (urgent
//! mode), every segment that begins before SND.UP carries URG and the pointer SND.UP - SEG.SEQ:
//! the pointer points to the byte *after* the last urgent byte (RFC 9293 MUST-62, as RFC 6093
//! settled it; Linux sends it so too).
//!
//! ```text
//!   stream:     h   e   l   l   o   !   w   o   r   l   d
//!   position:   1   2   3   4   5   6   7   8   9  10  11
//!                                   ^   ^
//!                  the last urgent byte  SND.UP = 7, the mark
//!
//!   a segment at 6 ("!world") carries URG, pointer 7 - 6 = 1
//!   a segment at 1 ("hello!") carries URG, pointer 7 - 1 = 6
//! ```
//!
//! Receiving (the sixth step of [RFC 9293 3.10.7.4]): RCV.UP becomes the furthest mark
//! signalled, SEG.SEQ + SEG.UP. Urgent data may be of any length (MUST-31), and the marks of
//! several urgent sends merge into the last. The application reads on as usual; a read stops
//! at the mark, it can ask how far ahead the mark is (MUST-33), and a task waiting for urgent
//! data is woken when a mark arrives or moves on (MUST-32).
//!
//! Linux reads the pointer the same way, and without `SO_OOBINLINE` takes the last urgent
//! byte, the one just before the mark, out of the stream for `recv(MSG_OOB)`. (Its
//! `tcp_stdurg` switch, off by default, reads the pointer as RFC 1122 had it instead: pointing
//! *at* the last urgent byte.)
//!
//! [RFC 9293 3.8.5]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
//! [RFC 9293 3.10.7.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//! [RFC 6093]: https://www.rfc-editor.org/rfc/rfc6093

use std::io;
use std::task::{Context, Poll};

use tracing::debug;

use super::connection::{error, Connection};
use super::header::Repr;
use super::input::Arrived;
use super::pos::Pos;
use super::state::State;
use super::why::Why;

impl Connection {
    /// Sixth, check the URG bit ([RFC 9293 3.10.7.4]): in ESTABLISHED, FIN-WAIT-1 and
    /// FIN-WAIT-2, RCV.UP <- max(RCV.UP, SEG.UP), and the application is told when the mark
    /// is ahead of what it has read. In the other states the peer's FIN has arrived, and the
    /// RFC says to ignore the URG.
    ///
    /// [RFC 9293 3.10.7.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    pub(crate) fn sixth_check_urg(&mut self, a: &Arrived<'_>) {
        if !a.h.flags.urg()
            || !matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            )
        {
            return;
        }
        self.stats.urgent_segments_in += 1;
        // The segment's own first position, before any trimming: the pointer counts from it.
        let up = a.seq + usize::from(a.h.urgent);
        if !self.rcv.urgent_up_to(up) {
            return; // signalled already
        }
        if let Some(ahead) = self.urgent_mark() {
            debug!(quad = %self.quad, %up, ahead, "tcp: urgent data, the mark is ahead");
            self.wake_readers();
        }
    }

    /// The position in the peer's stream of the next byte the application reads.
    fn read_pos(&self) -> Pos {
        Pos::DATA + self.stats.bytes_read as usize
    }

    /// How many bytes the application must read to pass the last urgent byte the peer has
    /// signalled; `None` when no urgent data is ahead of the reader (MUST-33). A mark beyond
    /// the peer's FIN counts as at the FIN: no byte can follow it.
    pub(crate) fn urgent_mark(&self) -> Option<u64> {
        let mark = match self.rcv.fin {
            Some(fin) => self.rcv.up.min(fin),
            None => self.rcv.up,
        };
        let at = self.read_pos();
        (mark > at).then(|| (mark - at) as u64)
    }

    /// How many of `len` bytes a read may take: all, or as far as the urgent mark, so that one
    /// read never returns bytes from both sides of it.
    pub(crate) fn read_limit(&self, len: usize) -> usize {
        match self.urgent_mark() {
            Some(ahead) => len.min(usize::try_from(ahead).unwrap_or(usize::MAX)),
            None => len,
        }
    }

    /// Waits until urgent data is ahead of the reader; then how far the mark is. `Ok(None)`
    /// when no more can come: the peer's FIN has arrived, or the connection is closed.
    pub(crate) fn poll_urgent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<u64>>> {
        if let Some(ahead) = self.urgent_mark() {
            return Poll::Ready(Ok(Some(ahead)));
        }
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        if self.rcv.fin_received || !self.state.can_receive() {
            return Poll::Ready(Ok(None));
        }
        self.wait_as_reader(cx);
        Poll::Pending
    }

    /// Appends `data` to the send buffer as [`Connection::poll_write`] does, and moves SND.UP
    /// to just past what it took: those bytes end the urgent data.
    pub(crate) fn poll_send_urgent(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = self.poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = written {
            if n > 0 {
                self.snd.mark_urgent();
                debug!(quad = %self.quad, snd_up = %self.snd.up, n, "tcp: urgent data queued");
            }
        }
        written
    }

    /// Urgent mode: the peer has not acknowledged every urgent byte yet. Segments then carry
    /// URG, and small ones go at once, whatever Nagle's rule says (Linux does the same).
    pub(crate) fn urgent_mode(&self) -> bool {
        self.snd.up > self.snd.una
    }

    /// The urgent pointer for a segment that begins at `seq`, if it carries one: SND.UP - seq
    /// in urgent mode, for a segment that begins before SND.UP (MUST-62).
    ///
    /// SND.UP may be further ahead than 16 bits reach (a long send of urgent data, or one
    /// behind a closed window): the pointer is then 65535, "urgent data goes on past here",
    /// unless the peer may already hold the byte that would mark, which would put a false mark
    /// in its stream; then the segment carries no URG. Linux decides the same way
    /// (`__tcp_transmit_skb`).
    pub(crate) fn urgent_pointer(&self, seq: Pos) -> Option<u16> {
        if !self.urgent_mode() || seq >= self.snd.up {
            return None;
        }
        match u16::try_from(self.snd.up - seq) {
            Ok(pointer) => Some(pointer),
            Err(_) if seq + usize::from(u16::MAX) > self.snd.max => Some(u16::MAX),
            Err(_) => None,
        }
    }
}

/// Why a segment carrying URG was sent: its own reason, if any, and the urgent pointer.
pub(crate) fn urgent_why(why: Option<Why>, header: &Repr) -> Option<Why> {
    if !header.flags.urg() {
        return why;
    }
    Some(Why::Urgent {
        ahead: header.urgent,
        also: why.map(Box::new),
    })
}
