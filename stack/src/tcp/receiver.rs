//! The receive side of a connection: the receive sequence space ([RFC 9293 3.3.1], Figure 4),
//! the bytes received (in order and early), and what we owe the peer (an ACK, a D-SACK).
//!
//! ```text
//!                      1          2          3
//!                  ----------|----------|----------
//!                         RCV.NXT    RCV.NXT
//!                                   +RCV.WND
//! ```
//!
//! [RFC 9293 3.3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.3.1

use std::time::Duration;

use super::config::{window_shift_for, TcpConfig};
use super::pos::Pos;
use super::recv_buffer::RecvBuffer;
use super::seq::SeqNumber;
use crate::time::Instant;

/// The receive side of one connection.
#[derive(Debug)]
pub(crate) struct Receiver {
    /// The peer's initial sequence number.
    pub(crate) irs: SeqNumber,
    /// Next sequence number expected.
    pub(crate) nxt: Pos,
    /// Our window scale shift (0 unless both sides offered scaling).
    pub(crate) shift: u8,
    /// The shift we offered in our SYN (in effect once the peer offers one too).
    pub(crate) offered_shift: u8,
    /// The peer's SYN offered window scaling.
    pub(crate) peer_scales: bool,
    /// The right edge of the window we last announced: it never moves back (RFC 9293 3.8.6).
    pub(crate) adv: Pos,
    /// Received bytes.
    pub(crate) buf: RecvBuffer,
    /// The sequence number of the peer's FIN, once a segment carrying it arrived.
    pub(crate) fin: Option<Pos>,
    /// The peer's FIN is in order and consumed: reads return 0 after the data.
    pub(crate) fin_received: bool,
    /// RCV.UP: the furthest urgent pointer the peer has signalled, as a position in its
    /// stream: the byte after its last urgent byte (RFC 9293 3.8.5, RFC 6093; `urgent.rs`).
    pub(crate) up: Pos,
    /// An ACK is owed (data arrived, or a segment was not acceptable).
    pub(crate) ack_now: bool,
    /// The owed ACK must not wait for the end of the current batch of packets: a second
    /// full-sized segment since the last ACK, an out-of-order segment, a filled hole, or a FIN
    /// ([RFC 1122 4.2.3.2], [RFC 5681 4.2]).
    ///
    /// [RFC 1122 4.2.3.2]: https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.2
    /// [RFC 5681 4.2]: https://www.rfc-editor.org/rfc/rfc5681#section-4.2
    pub(crate) ack_immediately: bool,
    /// Bytes received since our last ACK.
    pub(crate) unacked_bytes: usize,
    /// The largest segment received so far: our estimate of the peer's MSS.
    pub(crate) mss: usize,
    /// Where the latest out-of-order segment began: its SACK block goes first.
    pub(crate) last_early: Option<Pos>,
    /// Data that arrived a second time, `[left, right)`: the next ACK reports it in its first
    /// SACK block, once (D-SACK, RFC 2883).
    pub(crate) dsack: Option<(Pos, Pos)>,
    /// How long an ACK for a lone segment may wait; `None`: acknowledge at once.
    pub(crate) delayed_ack: Option<Duration>,
    /// When the delayed ACK is due.
    pub(crate) delack_at: Option<Instant>,
}

impl Receiver {
    /// A receive side as a connection starts.
    pub(crate) fn new(config: &TcpConfig) -> Receiver {
        let offered_shift = window_shift_for(config.recv_buffer);
        Receiver {
            irs: SeqNumber(0),
            nxt: Pos::SYN,
            shift: 0,
            offered_shift,
            peer_scales: false,
            adv: Pos::SYN,
            buf: RecvBuffer::new(
                config.recv_buffer,
                config.recv_buffer / 8 + (1 << offered_shift),
            ),
            fin: None,
            fin_received: false,
            up: Pos::SYN,
            ack_now: false,
            ack_immediately: false,
            unacked_bytes: 0,
            mss: 0,
            last_early: None,
            dsack: None,
            delayed_ack: config.delayed_ack,
            delack_at: None,
        }
    }

    /// RCV.WND: what the window we last announced still takes beyond RCV.NXT.
    pub(crate) fn wnd(&self) -> usize {
        self.adv.max(self.nxt) - self.nxt
    }

    /// The acceptability test of RFC 9293 3.10.7.4 (four cases on segment and window length).
    /// With a zero window, a segment at RCV.NXT is acceptable whatever it carries: its data
    /// is trimmed away, but its ACK, window and RST are valid ("special allowance should be
    /// made to accept valid ACKs, URGs, and RSTs"; Linux does the same).
    pub(crate) fn acceptable(&self, seq: Pos, len: usize, wnd: usize) -> bool {
        let in_window = |s: Pos| s >= self.nxt && s - self.nxt < wnd;
        match (len, wnd) {
            (_, 0) => seq == self.nxt,
            (0, _) => in_window(seq),
            (_, _) => in_window(seq) || in_window(seq + (len - 1)),
        }
    }

    /// Cuts the data to what is new and fits the window. Returns the first position kept, the
    /// data kept, and whether the FIN is kept.
    pub(crate) fn trim<'a>(
        &self,
        mut seq: Pos,
        mut data: &'a [u8],
        mut fin: bool,
        wnd: usize,
    ) -> (Pos, &'a [u8], bool) {
        // Already received: the front.
        if seq < self.nxt {
            let old = (self.nxt - seq).min(data.len());
            data = &data[old..];
            seq += old;
            if seq < self.nxt {
                fin = false; // the FIN too was old
            }
        }
        // Beyond the window: the back (and the FIN behind it).
        let room = wnd.saturating_sub(seq - self.nxt);
        if data.len() > room {
            data = &data[..room];
            fin = false;
        }
        // Nothing counts after the peer's FIN.
        if let Some(end) = self.fin {
            let keep = if end > seq {
                (end - seq).min(data.len())
            } else {
                0
            };
            data = &data[..keep];
        }
        (seq, data, fin)
    }

    /// Data below RCV.NXT arrived again: the sender resent what we had. With SACK agreed (`sack`), the
    /// next ACK reports the duplicate range in its first SACK block (a D-SACK, [RFC 2883]
    /// section 4), at once, so the sender can tell its retransmission was not needed.
    ///
    /// [RFC 2883]: https://www.rfc-editor.org/rfc/rfc2883#section-4
    pub(crate) fn note_old_data(&mut self, sack: bool, seq: Pos, len: usize) {
        if !sack || len == 0 || seq >= self.nxt {
            return;
        }
        let end = (seq + len).min(self.nxt);
        self.dsack = Some((seq, end));
        self.ack_now = true;
        self.ack_immediately = true;
    }

    /// Takes `data` at `seq` (already trimmed to the window): in order, it moves RCV.NXT;
    /// early, it is held for later. Decides when to acknowledge it. Returns how far RCV.NXT
    /// moved.
    pub(crate) fn take_data(&mut self, now: Instant, seq: Pos, data: &[u8], sack: bool) -> usize {
        let in_order = seq == self.nxt;
        let offset = seq - self.nxt;
        if sack {
            // Early data that arrived twice: a D-SACK too (RFC 2883 section 4, case 2).
            if let Some(dup) = self.buf.already_held(offset..offset + data.len()) {
                self.dsack = Some((self.nxt + dup.start, self.nxt + dup.end));
            }
        }
        let advanced = self.buf.insert(offset, data);
        self.nxt += advanced;
        if !in_order {
            self.last_early = Some(seq);
        }
        self.mss = self.mss.max(data.len());
        self.unacked_bytes += data.len();
        // ACK at least every second full-sized segment, and at once when the segment is out
        // of order or fills all or part of a hole: the sender counts those duplicate ACKs and
        // learns of the fill at once (RFC 5681 4.2).
        // A lone in-order segment may wait a little for a second one, or for data to carry
        // the ACK (delayed ACK, RFC 9293 3.8.6.3).
        if !in_order
            || advanced > data.len()
            || self.buf.has_holes()
            || self.unacked_bytes >= 2 * self.mss
        {
            self.ack_now = true;
            self.ack_immediately = true;
        } else if let Some(delay) = self.delayed_ack {
            self.delack_at.get_or_insert(now + delay);
        } else {
            self.ack_now = true;
        }
        advanced
    }
}
