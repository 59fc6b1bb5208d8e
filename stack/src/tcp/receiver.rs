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

use bytes::Bytes;

use super::config::{window_shift_for, TcpConfig};
use super::pos::Pos;
use super::recv_buffer::RecvBuffer;
use super::seq::SeqNumber;
use crate::time::Instant;

/// How many ACKs of data a connection sends the quick way at its start, the most Linux sends
/// in its quick-ACK mode (`TCP_MAX_QUICKACKS`): while the sender's congestion window is small,
/// each ACK lets it send more at once, and a late one costs it a round trip.
pub(crate) const QUICK_ACKS: u8 = 16;

/// The most full-sized segments one ACK covers, however large the batch: the sender still
/// hears from us that often, and a lost ACK costs it little, as the next comes soon (a single
/// ACK for a whole flight, lost, would leave it waiting for a timer; RFC 2525 2.13 on stretch
/// ACKs).
///
/// Except that one ACK may always cover two segments as they arrived: a device's GRO
/// super-packet (up to 64 KiB, many of the peer's segments at once) counts as one segment, and
/// the receiver acknowledges every second one, as RFC 5681 4.2 asks of full-sized segments.
/// Each ACK costs a write to the device, and over TUN the write runs the peer's whole receive
/// of it on our thread: one per two super-packets instead of one per super-packet took bulk
/// Linux→ours from a median of 40 to 45 Gbit/s (12 interleaved rounds, 4 GiB each).
pub(crate) const MAX_STRETCH: usize = 16;

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
    /// The owed ACK must not wait for the end of the current batch of packets: an
    /// out-of-order segment, a filled hole, a FIN, or, while quick ACKs last, a second
    /// full-sized segment since the last ACK ([RFC 1122 4.2.3.2], [RFC 5681 4.2]).
    ///
    /// [RFC 1122 4.2.3.2]: https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.2
    /// [RFC 5681 4.2]: https://www.rfc-editor.org/rfc/rfc5681#section-4.2
    pub(crate) ack_immediately: bool,
    /// Bytes received since our last ACK.
    pub(crate) unacked_bytes: usize,
    /// Segments with data received since our last ACK, counted as they arrived (a
    /// super-packet is one).
    pub(crate) unacked_segments: usize,
    /// How many more ACKs of data go out the quick way, one per second full-sized segment at
    /// once, before the receiver acknowledges a batch of in-order segments with one ACK (see
    /// [`Receiver::take_data`]).
    pub(crate) quick_acks: u8,
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
            unacked_segments: 0,
            quick_acks: QUICK_ACKS,
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

    /// Takes `data` at `seq` (already trimmed to the window; in `packet`, when the buffer may
    /// keep it there): in order, it moves RCV.NXT; early, it is held for later. Decides when to
    /// acknowledge it. Returns how far RCV.NXT moved. `our_mss` is the largest segment we announced: anything larger is a device's
    /// GRO/GSO super-packet, many of the peer's segments at once.
    pub(crate) fn take_data(
        &mut self,
        now: Instant,
        (seq, data, packet): (Pos, &[u8], Option<&Bytes>),
        sack: bool,
        our_mss: usize,
    ) -> usize {
        let in_order = seq == self.nxt;
        let offset = seq - self.nxt;
        if sack {
            // Early data that arrived twice: a D-SACK too (RFC 2883 section 4, case 2).
            if let Some(dup) = self.buf.already_held(offset..offset + data.len()) {
                self.dsack = Some((self.nxt + dup.start, self.nxt + dup.end));
            }
        }
        // In order with data held beyond RCV.NXT: the segment fills all or part of the gap,
        // whether that data lies past its end or inside it (a peer that sends again in
        // larger segments than it first did).
        let fills_gap = in_order && !self.buf.early_ranges().is_empty();
        let advanced = self.buf.insert(offset, data, packet);
        self.nxt += advanced;
        if !in_order {
            self.last_early = Some(seq);
        }
        // The peer's MSS, estimated from its segments. A super-packet says nothing about it
        // (taken as the most it could be only while nothing else is known), or "two
        // full-sized segments" would come to mean 128 KiB.
        if data.len() <= our_mss {
            self.mss = self.mss.max(data.len());
        } else if self.mss == 0 {
            self.mss = our_mss;
        }
        self.unacked_bytes += data.len();
        self.unacked_segments += 1;
        // At once when the segment is out of order or fills all or part of a hole: the sender
        // counts those duplicate ACKs and learns of the fill at once (RFC 5681 4.2).
        // In order, an ACK is owed for at least every second full-sized segment (RFC 5681 4.2,
        // RFC 9293 3.8.6.3), but it may cover a whole batch of them: it goes when the batch of
        // packets being received has been taken in, one cumulative ACK for all of it, as
        // Linux's receiver does with GRO; but at once when it would cover more than
        // MAX_STRETCH full-sized segments and more than one segment as it arrived (a
        // super-packet is one). At a connection's start the quick way instead: one
        // ACK per second full-sized segment, at once, to clock the sender's slow start.
        // A lone in-order segment may wait a little for a second one, or for data to carry
        // the ACK (delayed ACK, RFC 9293 3.8.6.3).
        if !in_order || fills_gap || self.buf.has_holes() {
            self.ack_now = true;
            self.ack_immediately = true;
        } else if self.unacked_bytes >= 2 * self.mss {
            self.ack_now = true;
            self.ack_immediately |= self.quick_acks > 0
                || (self.unacked_bytes >= MAX_STRETCH * self.mss && self.unacked_segments >= 2);
        } else if let Some(delay) = self.delayed_ack {
            self.delack_at.get_or_insert(now + delay);
        } else {
            self.ack_now = true;
        }
        advanced
    }

    /// The window field to send, and the right edge it announces (RFC 9293 3.8.6): the free
    /// receive buffer, but not a small increase (the receiver's side of silly window
    /// avoidance: less than min(buffer/2, `our_mss`)), no increase at all while data waits
    /// beyond a hole, and not less than announced before: the right edge does not move back.
    ///
    /// With window scaling the field counts units of 2^shift bytes, so keeping the edge where it
    /// was may mean rounding up, by up to one unit per announcement while the application does
    /// not read (RFC 7323 appendix F). The receive buffer has slack for that (an eighth more);
    /// should the rounding ever outgrow it, the edge moves back by less than one unit rather
    /// than promise room the buffer does not have.
    pub(crate) fn window_to_announce(&mut self, syn: bool, our_mss: usize) -> u16 {
        let free = self.buf.window();
        if syn {
            // The window in a SYN is not scaled (RFC 7323 2.2).
            let window = free.min(usize::from(u16::MAX));
            self.adv = self.nxt + window;
            return window as u16;
        }
        let known = self.wnd();
        let threshold = (self.buf.capacity() / 2).min(our_mss);
        let mut window = free;
        // While data waits beyond a hole, the right edge stays where it was: an ACK whose
        // window changed is not a duplicate (RFC 5681 section 2, condition (e)), and a sender
        // without SACK counts duplicates to resend the hole once (fast retransmit; smoltcp,
        // whose count starts again at a window update, resent a segment twice).
        if self.buf.has_holes() || (window > known && window - known < threshold) {
            window = known;
        }
        let shift = self.shift;
        let mut field = window >> shift;
        if field << shift < known {
            field = known.div_ceil(1 << shift).min(self.buf.storage() >> shift);
        }
        let field = field.min(usize::from(u16::MAX));
        self.adv = self.nxt + (field << shift);
        field as u16
    }

    /// The peer's SYN arrived: its stream starts at `irs`; `peer_scale` is its window scale
    /// option (ours applies only if it sent one, RFC 7323 2.2).
    pub(crate) fn start(&mut self, irs: SeqNumber, peer_scale: Option<u8>) {
        self.irs = irs;
        self.nxt = Pos::DATA;
        self.peer_scales = peer_scale.is_some();
        self.shift = if self.peer_scales {
            self.offered_shift
        } else {
            0
        };
        // The window we will announce with our SYN-ACK or ACK starts here.
        self.adv = self.nxt;
    }

    /// An ACK is owed; `at_once`: it must not wait for the end of the batch.
    pub(crate) fn owe_ack(&mut self, at_once: bool) {
        self.ack_now = true;
        self.ack_immediately |= at_once;
    }

    /// An ACK went out (alone or on data): nothing is owed any more.
    pub(crate) fn ack_sent(&mut self) {
        if self.unacked_bytes > 0 {
            self.quick_acks = self.quick_acks.saturating_sub(1);
        }
        self.ack_now = false;
        self.ack_immediately = false;
        self.unacked_bytes = 0;
        self.unacked_segments = 0;
        self.delack_at = None;
    }

    /// The delayed ACK's time has come at `now`: it is owed now.
    pub(crate) fn on_delack_timer(&mut self, now: Instant) {
        if self.delack_at.is_some_and(|t| now >= t) {
            // No second segment and no data came to carry the ACK: send it alone.
            self.delack_at = None;
            self.ack_now = true;
        }
    }

    /// Sets how long an ACK may wait; with none, an ACK that was waiting is owed now.
    pub(crate) fn set_delayed_ack(&mut self, delay: Option<Duration>) -> bool {
        self.delayed_ack = delay;
        let due = delay.is_none() && self.delack_at.take().is_some();
        if due {
            self.ack_now = true;
        }
        due
    }

    /// The D-SACK range to report, once.
    pub(crate) fn take_dsack(&mut self) -> Option<(Pos, Pos)> {
        self.dsack.take()
    }

    /// The peer's stream ends at `end` (its FIN), if no FIN was seen before.
    pub(crate) fn note_fin(&mut self, end: Pos) {
        self.fin.get_or_insert(end);
    }

    /// Consumes the peer's FIN once every byte before it has arrived: RCV.NXT takes it, and
    /// its ACK is owed at once. Returns whether it did now.
    pub(crate) fn consume_fin(&mut self) -> bool {
        match self.fin {
            Some(fin) if !self.fin_received && self.nxt == fin => {}
            _ => return false,
        }
        self.nxt += 1;
        // A FIN at the right edge of the window takes a position past it: keep the announced
        // edge from falling behind RCV.NXT, so that the window is 0, not 2^64 - 1.
        self.adv = self.adv.max(self.nxt);
        self.fin_received = true;
        self.owe_ack(true);
        true
    }

    /// Reads received bytes into `out`.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> usize {
        self.buf.read(out)
    }

    /// Moves up to `max` bytes out as shared bytes, without a copy where they lie in a kept
    /// packet (see [`RecvBuffer::read_shared`]).
    pub(crate) fn read_shared(&mut self, max: usize) -> Bytes {
        self.buf.read_shared(max)
    }

    /// RCV.UP moves to `up` if that is further; returns whether it moved.
    pub(crate) fn urgent_up_to(&mut self, up: Pos) -> bool {
        if up <= self.up {
            return false;
        }
        self.up = up;
        true
    }
}
