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
}
