//! The send side of a connection: the send sequence space ([RFC 9293 3.3.1], Figure 3) and
//! the bytes the application wrote that the peer has not acknowledged.
//!
//! ```text
//!                  1         2          3          4
//!             ----------|----------|----------|----------
//!                    SND.UNA    SND.NXT    SND.UNA
//!                                         +SND.WND
//! ```
//!
//! Positions are 64-bit (`pos.rs`): `una`, `nxt` and `max` never wrap.
//!
//! [RFC 9293 3.3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.3.1

use bytes::Bytes;

use super::config::TcpConfig;
use super::pos::Pos;
use super::send_buffer::{SendBuffer, SHARE_MIN};
use super::seq::SeqNumber;

/// The send side of one connection.
#[derive(Debug)]
pub(crate) struct Sender {
    /// Initial send sequence number.
    pub(crate) iss: SeqNumber,
    /// Oldest unacknowledged sequence number.
    pub(crate) una: Pos,
    /// Next sequence number to send (moves back to SND.UNA when the timer expires).
    pub(crate) nxt: Pos,
    /// The highest sequence number sent so far, plus one.
    pub(crate) max: Pos,
    /// The peer's window, scaled to bytes.
    pub(crate) wnd: usize,
    /// The largest window the peer has offered (RFC 5961 5.2, and sender SWS avoidance).
    pub(crate) max_wnd: usize,
    /// Sequence and ack numbers of the segment that last updated SND.WND.
    pub(crate) wl1: Pos,
    pub(crate) wl2: Pos,
    /// The peer's window scale shift (0 unless both sides offered scaling).
    pub(crate) shift: u8,
    /// Bytes the application wrote that are not acknowledged yet; the first is at
    /// [`Sender::data_start`].
    pub(crate) buf: SendBuffer,
    /// The sequence number of our FIN, once the application shut down writing: it follows the
    /// data buffered at that moment.
    pub(crate) fin: Option<Pos>,
    /// SND.UP: the position just past the last urgent byte the application sent (RFC 9293
    /// 3.8.5, `urgent.rs`); urgent mode lasts while SND.UNA is below it.
    pub(crate) up: Pos,
    /// The MSS we send with: the peer's, bounded by our link.
    pub(crate) mss: usize,
    /// The largest `mss` may be: what the handshake agreed. A smaller path MTU lowers `mss`
    /// below it for a while ([`crate::ip::pmtu`]).
    pub(crate) mss_agreed: usize,
    /// What the path carries, when a router said it is less than the link: `mss` stays
    /// within it ([`crate::ip::pmtu`]).
    pub(crate) mss_path: usize,
    /// The end of the last small (less than a full segment) segment of new data sent: while
    /// SND.UNA is below it, Nagle's rule holds other small segments back.
    pub(crate) small_sent_end: Pos,
    pub(crate) nodelay: bool,
    /// The most bytes written but not yet sent ([`TcpConfig::unsent_limit`]).
    unsent_limit: usize,
    /// The most data one packet carries with TSO (a burst of segments), as last sized; 0
    /// without TSO. The unsent limit is never less than two of them.
    burst: usize,
    /// Whether the last write found no room and waits for it: the application has more to
    /// write as soon as bytes leave.
    pub(crate) writer_waits: bool,
}

impl Sender {
    /// A send side as a connection starts.
    pub(crate) fn new(iss: SeqNumber, our_mss: usize, config: &TcpConfig) -> Sender {
        Sender {
            iss,
            una: Pos::SYN,
            nxt: Pos::SYN,
            max: Pos::SYN,
            wnd: 0,
            max_wnd: 0,
            wl1: Pos::SYN,
            wl2: Pos::SYN,
            shift: 0,
            buf: SendBuffer::new(config.send_buffer),
            unsent_limit: config.unsent_limit.unwrap_or(usize::MAX),
            burst: 0,
            fin: None,
            up: Pos::SYN,
            mss: super::config::DEFAULT_MSS.min(our_mss),
            mss_agreed: super::config::DEFAULT_MSS.min(our_mss),
            mss_path: usize::MAX,
            small_sent_end: Pos::SYN,
            nodelay: false,
            writer_waits: false,
        }
    }

    /// Whether the peer has acknowledged our SYN: SND.UNA has moved past position 0. (With
    /// 32-bit numbers, `SND.UNA == ISS` would say "no" again after 4 GiB.)
    pub(crate) fn syn_acked(&self) -> bool {
        self.una > Pos::SYN
    }

    /// The position of the first byte in the send buffer: the oldest unacknowledged byte, or
    /// the first byte after our SYN while the SYN is unacknowledged.
    pub(crate) fn data_start(&self) -> Pos {
        self.una.max(Pos::DATA)
    }

    /// The position just past the buffered data.
    pub(crate) fn data_end(&self) -> Pos {
        self.data_start() + self.buf.len()
    }

    /// Whether our FIN has been acknowledged.
    pub(crate) fn fin_acked(&self) -> bool {
        self.fin.is_some_and(|fin| self.una > fin)
    }

    /// Bytes of sequence space sent and not yet acknowledged.
    pub(crate) fn in_flight(&self) -> usize {
        self.max - self.una
    }

    /// What the peer's window still takes beyond SND.NXT.
    pub(crate) fn window_room(&self) -> usize {
        let right_edge = self.una + self.wnd;
        if right_edge > self.nxt {
            right_edge - self.nxt
        } else {
            0
        }
    }

    /// SND.UNA moves to `ack`: the bytes it covers leave the send buffer (our SYN takes a
    /// position but no byte), and SND.NXT is never left behind it. Returns how many bytes of
    /// data were acknowledged.
    pub(crate) fn acknowledged(&mut self, ack: Pos) -> usize {
        let acked = ack - self.una;
        let syn = usize::from(!self.syn_acked());
        let data = acked.saturating_sub(syn).min(self.buf.len());
        self.buf.consume(data);
        self.una = ack;
        if self.nxt < ack {
            self.nxt = ack;
        }
        data
    }

    /// The peer's SYN arrived: it takes segments of `mss` bytes, and scales its window by
    /// `shift` if both SYNs offered scaling.
    pub(crate) fn start(&mut self, mss: usize, shift: Option<u8>) {
        self.mss = mss.min(self.mss_path);
        self.mss_agreed = mss;
        self.shift = shift.unwrap_or(0);
    }

    /// Our SYN (or SYN-ACK) is to go again: SND.NXT back to it.
    pub(crate) fn send_syn_again(&mut self) {
        self.nxt = Pos::SYN;
    }

    /// A listener's handshake made this connection: our SYN-ACK is out.
    pub(crate) fn syn_ack_sent(&mut self) {
        self.nxt = Pos::DATA;
        self.max = Pos::DATA;
    }

    /// A segment of `len` positions went at `seq` for the first time (or again after a
    /// timeout): SND.NXT, and SND.MAX if it is the furthest. `small`: less than a full
    /// segment of data (Nagle's rule watches those).
    pub(crate) fn sent(&mut self, seq: Pos, len: usize, small: bool) {
        if small {
            self.small_sent_end = seq + len;
        }
        self.nxt = seq + len;
        self.max = self.max.max(self.nxt);
    }

    /// Send from SND.UNA again (after a timeout, or when a probed window opens).
    pub(crate) fn go_back(&mut self) {
        self.nxt = self.una;
    }

    /// Skip to `end`: what lies before it is held by the peer (its SACK blocks said so).
    pub(crate) fn skip_to(&mut self, end: Pos) {
        self.nxt = self.nxt.max(end);
    }

    /// A timeout turned out spurious: go on from where we were.
    pub(crate) fn resume(&mut self) {
        self.nxt = self.max;
    }

    /// SND.WND from a segment's window field (scaled unless it is a SYN's, RFC 7323 2.2),
    /// which begins at `seq` and acknowledges `ack` (RFC 9293 3.10.7.4). Returns the old
    /// window.
    pub(crate) fn update_window(&mut self, field: u16, syn: bool, seq: Pos, ack: Pos) -> usize {
        let shift = if syn { 0 } else { self.shift };
        let old = self.wnd;
        self.wnd = usize::from(field) << shift;
        self.max_wnd = self.max_wnd.max(self.wnd);
        self.wl1 = seq;
        self.wl2 = ack;
        old
    }

    /// Appends what the application wrote; returns how much fitted.
    pub(crate) fn write(&mut self, data: &[u8]) -> usize {
        let room = self.room();
        let n = self.buf.push(&data[..data.len().min(room)]);
        self.writer_waits = n == 0 && !data.is_empty();
        n
    }

    /// Appends what the application handed over as shared bytes, taking what fits off the
    /// front of `data` (without a copy, unless it is short); returns how much.
    ///
    /// The unsent limit holds back only bytes a write copies. Its reasons are a copy's: bytes
    /// copied into the buffer should go out while still in the CPU's caches, and memory spent
    /// on unsent copies is memory the writer could have kept. A chunk kept as it is costs
    /// neither, so only the send buffer's room bounds it; held to the limit it would be taken
    /// 128 KiB at a time, each piece one more wait and wake of the writer (over TUN with
    /// offloads, 4 GiB ours→Linux: about 35–50 Gbit/s limited against 63–68 not).
    pub(crate) fn write_shared(&mut self, data: &mut Bytes) -> usize {
        let free = self.buf.free();
        let room = match data.len().min(free) >= SHARE_MIN {
            true => free,
            false => self.room(),
        };
        let n = self.buf.push_shared(data, room);
        self.writer_waits = n == 0 && !data.is_empty();
        n
    }

    /// How many bytes a write may add now: the send buffer's free room, within the unsent
    /// limit. The limit is never less than two full segments (with TSO, two full bursts), so
    /// that a full one always waits for the next chance to send: with less, every segment
    /// would be small, and Nagle's rule would hold each one until the peer's (maybe delayed)
    /// ACK of the last.
    pub(crate) fn room(&self) -> usize {
        let unsent = self.data_end() - self.nxt.max(self.data_start());
        let limit = self.unsent_limit.max(2 * self.mss.max(self.burst));
        self.buf.free().min(limit.saturating_sub(unsent))
    }

    /// The application shut down writing: our FIN follows the data buffered now.
    pub(crate) fn close(&mut self) {
        self.fin = Some(self.data_end());
    }

    /// What the application wrote last is urgent: SND.UP moves to its end (RFC 9293 3.8.5).
    pub(crate) fn mark_urgent(&mut self) {
        self.up = self.data_end();
    }

    /// With TSO, bursts of up to `burst` bytes go out now (the device and the path set it).
    pub(crate) fn set_burst(&mut self, burst: usize) {
        self.burst = burst;
    }

    /// Nagle's rule on or off.
    pub(crate) fn set_nodelay(&mut self, nodelay: bool) {
        self.nodelay = nodelay;
    }
}
