//! One connection's state: the Transmission Control Block ([RFC 9293 3.3.1]).
//!
//! The send side tracks three numbers of the peer's sequence space we send into, the receive
//! side two of ours:
//!
//! ```text
//!  send:       1          2          3          4
//!        ----------|----------|----------|----------
//!              SND.UNA    SND.NXT    SND.UNA
//!                                   +SND.WND
//!   1 - acknowledged      2 - sent, not yet acknowledged
//!   3 - may be sent       4 - beyond the peer's window
//!
//!  receive:       1          2          3
//!            ----------|----------|----------
//!                   RCV.NXT    RCV.NXT
//!                             +RCV.WND
//!   1 - received and acknowledged   2 - may be received   3 - beyond our window
//! ```
//!
//! Input ([`super::input`]), output ([`super::output`]) and timers ([`super::timers`]) all work
//! on this block; this file holds the block and what the application does to it.
//!
//! [RFC 9293 3.3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.3.1

use std::io;
use std::net::SocketAddrV4;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tracing::debug;

use super::config::{window_shift_for, TcpConfig};
use super::congestion::{Algorithm, CongestionControl};
use super::pos::Pos;
use super::recv_buffer::RecvBuffer;
use super::ring::RingBuffer;
use super::rto::RttEstimator;
use super::seq::SeqNumber;
use super::state::State;
use crate::time::Instant;

/// A connection's four addresses and ports: its key in the connection table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quad {
    /// Our address and port.
    pub local: SocketAddrV4,
    /// The peer's address and port.
    pub remote: SocketAddrV4,
}

#[cfg(test)]
impl Quad {
    /// Port 80 of 10.77.0.2 and `port` of 10.77.0.1: the 4-tuple unit tests use.
    pub(crate) fn for_test(port: u16) -> Quad {
        use std::net::Ipv4Addr;
        Quad {
            local: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 80),
            remote: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 1), port),
        }
    }
}

impl std::fmt::Display for Quad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <-> {}", self.local, self.remote)
    }
}

/// Per-connection counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Segments received for this connection.
    pub segments_in: u64,
    /// Segments sent.
    pub segments_out: u64,
    /// Segments sent again, for any reason (the three below, and going back after a timeout).
    pub retransmissions: u64,
    /// Retransmissions after three duplicate ACKs, or after a partial ACK (fast retransmit).
    pub fast_retransmissions: u64,
    /// Retransmissions of holes the peer's SACK blocks showed.
    pub sack_retransmissions: u64,
    /// Times the retransmission timer expired.
    pub timeouts: u64,
    /// Timeouts found spurious afterwards (the original arrived; timestamps told) and undone.
    pub spurious_timeouts: u64,
    /// Retransmissions found lost in turn (data sent after them arrived first) and sent again
    /// without waiting for the timeout.
    pub lost_retransmissions: u64,
    /// Tail loss probes sent (RFC 8985): no ACK came for two round trips.
    pub tail_loss_probes: u64,
    /// Tail loss probes that resent data and were acknowledged outside recovery: a loss
    /// repaired without a timeout (the congestion window shrank as for one).
    pub tail_losses_repaired: u64,
    /// Times HyStart++ saw the RTT grow in the first slow start (a queue filling) and slowed
    /// it down (Conservative Slow Start).
    pub conservative_slow_starts: u64,
    /// First slow starts HyStart++ ended, into congestion avoidance, before any loss.
    pub hystart_exits: u64,
    /// Times fast recovery began.
    pub fast_recoveries: u64,
    /// Recoveries undone: the missing segment arrived (it was only reordered) before anything
    /// was resent, or the peer reported every resent segment as a duplicate (D-SACK).
    pub undone_recoveries: u64,
    /// Duplicate ACKs received.
    pub duplicate_acks: u64,
    /// D-SACK blocks sent (RFC 2883): data that arrived twice, reported to the sender so it
    /// can tell its retransmission was not needed.
    pub dsacks_sent: u64,
    /// D-SACK blocks received: the peer got some of our data twice.
    pub dsacks_received: u64,
    /// Tail loss probes that resent data the peer already held (its D-SACK said so): no loss
    /// happened, and the congestion window was left alone (RFC 8985 7.4.2).
    pub unneeded_tail_probes: u64,
    /// Bytes the peer reported holding out of order (SACK), counted once.
    pub sacked_bytes: u64,
    /// Zero-window probes sent.
    pub window_probes: u64,
    /// Keep-alive probes sent.
    pub keepalive_probes: u64,
    /// Segments dropped by PAWS (RFC 7323 5.3): their timestamp was older than the latest,
    /// so they were old duplicates.
    pub paws_rejected: u64,
    /// Segments received with URG set, in a state that takes urgent data (RFC 9293 3.8.5).
    pub urgent_segments_in: u64,
    /// Segments sent with URG set: urgent data was unacknowledged or not yet sent.
    pub urgent_segments_out: u64,
    /// Bytes the application wrote.
    pub bytes_written: u64,
    /// Bytes the application read.
    pub bytes_read: u64,
}

/// A snapshot of one connection, for observers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// Addresses and ports.
    pub quad: Quad,
    /// The state.
    pub state: State,
    /// Smoothed round-trip time, once measured.
    pub srtt: Option<Duration>,
    /// Round-trip time variation.
    pub rttvar: Duration,
    /// Current retransmission timeout.
    pub rto: Duration,
    /// The congestion control algorithm.
    pub congestion: Algorithm,
    /// Whether loss recovery is under way.
    pub in_recovery: bool,
    /// Whether SACK was agreed in the handshake.
    pub sack: bool,
    /// Whether timestamps were agreed in the handshake.
    pub timestamps: bool,
    /// Congestion window in bytes.
    pub cwnd: usize,
    /// Slow-start threshold in bytes (`usize::MAX` until the first loss).
    pub ssthresh: usize,
    /// Bytes sent and not yet acknowledged.
    pub bytes_in_flight: usize,
    /// The peer's receive window.
    pub peer_window: usize,
    /// The MSS we send with.
    pub mss: usize,
    /// Counters.
    pub stats: ConnStats,
}

/// The Transmission Control Block.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) quad: Quad,
    pub(crate) state: State,
    /// Opened by a listener (a RST in SYN-RECEIVED then just forgets it: RFC 9293 note 1).
    pub(crate) passive: bool,

    // ----- send sequence space -----
    /// Initial send sequence number.
    pub(crate) iss: SeqNumber,
    /// Oldest unacknowledged sequence number.
    pub(crate) snd_una: Pos,
    /// Next sequence number to send (moves back to SND.UNA when the timer expires).
    pub(crate) snd_nxt: Pos,
    /// The highest sequence number sent so far, plus one.
    pub(crate) snd_max: Pos,
    /// The peer's window, scaled to bytes.
    pub(crate) snd_wnd: usize,
    /// The largest window the peer has offered (RFC 5961 5.2, and sender SWS avoidance).
    pub(crate) max_snd_wnd: usize,
    /// Sequence and ack numbers of the segment that last updated SND.WND.
    pub(crate) snd_wl1: Pos,
    pub(crate) snd_wl2: Pos,
    /// The peer's window scale shift (0 unless both sides offered scaling).
    pub(crate) snd_shift: u8,
    /// Bytes the application wrote that are not acknowledged yet; the first is at
    /// [`Connection::data_start`].
    pub(crate) send: RingBuffer,
    /// The sequence number of our FIN, once the application shut down writing: it follows the
    /// data buffered at that moment.
    pub(crate) our_fin: Option<Pos>,
    /// SND.UP: the position just past the last urgent byte the application sent (RFC 9293
    /// 3.8.5, `urgent.rs`); urgent mode lasts while SND.UNA is below it.
    pub(crate) snd_up: Pos,
    /// The MSS we send with: the peer's, bounded by our link.
    pub(crate) send_mss: usize,
    /// The MSS we announce: our link's MTU minus 40.
    pub(crate) our_mss: usize,

    // ----- receive sequence space -----
    /// The peer's initial sequence number.
    pub(crate) irs: SeqNumber,
    /// Next sequence number expected.
    pub(crate) rcv_nxt: Pos,
    /// Our window scale shift (0 unless both sides offered scaling).
    pub(crate) rcv_shift: u8,
    /// The shift we offered in our SYN (in effect once the peer offers one too).
    pub(crate) offered_shift: u8,
    /// The peer's SYN offered window scaling.
    pub(crate) peer_scales: bool,
    /// The right edge of the window we last announced: it never moves back (RFC 9293 3.8.6).
    pub(crate) rcv_adv: Pos,
    /// Received bytes.
    pub(crate) recv: RecvBuffer,
    /// The sequence number of the peer's FIN, once a segment carrying it arrived.
    pub(crate) fin_seq: Option<Pos>,
    /// The peer's FIN is in order and consumed: reads return 0 after the data.
    pub(crate) fin_received: bool,
    /// RCV.UP: the furthest urgent pointer the peer has signalled, as a position in its
    /// stream: the byte after its last urgent byte (RFC 9293 3.8.5, RFC 6093; `urgent.rs`).
    pub(crate) rcv_up: Pos,

    // ----- timers -----
    pub(crate) rtt: RttEstimator,
    /// When each new data segment in flight was sent: (its end, the time), oldest first. An
    /// ACK that covers some gives an RTT sample, with or without timestamps (Linux keeps the
    /// same per segment); cleared whenever anything is sent again (Karn's rule). HyStart++
    /// reads these samples.
    pub(crate) sent_times: std::collections::VecDeque<(Pos, Instant)>,
    /// The segment being timed for an RTT sample: its end and when it was sent (Karn's rule:
    /// cleared when anything is retransmitted).
    pub(crate) timed: Option<(Pos, Instant)>,
    pub(crate) retransmit_at: Option<Instant>,
    /// Expirations in a row of the retransmission timer.
    pub(crate) retries: u32,
    pub(crate) persist_at: Option<Instant>,
    /// Zero-window probes in a row without the window opening.
    pub(crate) persist_backoff: u32,
    /// A probe is due.
    pub(crate) probe_now: bool,
    pub(crate) time_wait_until: Option<Instant>,
    /// How long TIME-WAIT lasts: 2 × MSL.
    pub(crate) time_wait: Duration,
    /// The congestion control algorithm and its window.
    pub(crate) congestion: Box<dyn CongestionControl>,
    /// HyStart++: where the first slow start is (`congestion/hystart.rs`).
    pub(crate) hystart: super::congestion::hystart::HyStart,
    pub(crate) algorithm: Algorithm,
    /// The initial congestion window in segments.
    pub(crate) initial_window: u32,

    // ----- loss recovery (recovery.rs) -----
    /// SACK agreed: both SYNs carried SACK-permitted.
    pub(crate) sack_ok: bool,
    /// We offer SACK (our configuration).
    pub(crate) sack_wanted: bool,
    /// What the peer's SACK blocks say it holds.
    pub(crate) scoreboard: super::sack::Scoreboard,
    /// Duplicate ACKs in a row.
    pub(crate) dupacks: u32,
    /// In fast recovery until the cumulative ACK reaches this (RFC 6675 RecoveryPoint).
    pub(crate) recovery_point: Option<Pos>,
    /// The highest sequence number sent when the last recovery or timeout began (RFC 6582
    /// "recover"): duplicate ACKs for data before it start no new recovery.
    pub(crate) recover: Pos,
    /// The highest sequence number retransmitted in this recovery (RFC 6675 HighRxt).
    pub(crate) high_rxt: Pos,
    /// A fast retransmission of SND.UNA's segment is due.
    pub(crate) rtx_now: bool,
    /// Tail loss probes are on (configuration).
    pub(crate) tail_loss_probes: bool,
    /// When a tail loss probe is due if no ACK comes first (RFC 8985 PTO).
    pub(crate) probe_timeout_at: Option<Instant>,
    /// A tail loss probe is to be sent now.
    pub(crate) tail_probe_now: bool,
    /// A probe is out: SND.MAX after it was sent (RFC 8985 TLP.end_seq).
    pub(crate) tail_probe_end: Option<Pos>,
    /// The probe out resent data (rather than sending new data).
    pub(crate) tail_probe_resent: bool,
    /// The peer reported the probe's data as a duplicate (D-SACK): the probe repaired nothing.
    pub(crate) tail_probe_dsacked: bool,
    /// Where the probe out begins: data below it not held by the peer when the probe is, was
    /// sent before the probe and is lost.
    pub(crate) tail_probe_start: Pos,
    /// In recovery, unSACKed data below this is deemed lost, besides what the scoreboard's
    /// DupThresh rule says (set when a tail loss probe arrived before it).
    pub(crate) lost_below_probe: Option<Pos>,
    /// SND.MAX when SND.UNA's segment was last resent in this recovery: once data sent after
    /// that reaches the peer while SND.UNA stays, the retransmission was lost too.
    pub(crate) una_resent_at: Option<Pos>,
    /// That retransmission was lost too: SND.UNA's segment goes again when the pipe has room.
    pub(crate) una_lost_again: bool,
    /// NewReno without SACK: the window inflation by duplicate ACKs during recovery.
    pub(crate) inflation: usize,
    /// What to restore if the last timeout turns out spurious: (cwnd, ssthresh, timestamp of
    /// the retransmission).
    pub(crate) undo: Option<(usize, usize, u32)>,
    /// The window and threshold before this recovery cut them, and how many segments it has
    /// resent: a recovery that ends having resent nothing found no loss, and is undone.
    /// Kept after the recovery ends, until the next loss: D-SACKs for every resent segment,
    /// arriving after the ACK that ended it, also undo it.
    pub(crate) recovery_undo: Option<(usize, usize)>,
    pub(crate) recovery_resent: u32,
    /// SND.UNA when the last recovery began: D-SACKs below it are about older episodes.
    pub(crate) undo_from: Pos,

    /// When we last sent a challenge ACK (RFC 5961 7): at most one per 500 ms.
    pub(crate) last_challenge_ack: Option<Instant>,

    // ----- timestamps (RFC 7323) -----
    /// Timestamps agreed: both SYNs carried the option.
    pub(crate) ts_ok: bool,
    /// We offer timestamps (our configuration).
    pub(crate) ts_wanted: bool,
    /// The peer's latest timestamp, to echo (TS.Recent).
    pub(crate) ts_recent: u32,
    /// When TS.Recent was last set: PAWS trusts it for 24 days (RFC 7323 5.5). `None` until
    /// the first timestamp arrives, or once it has gone stale.
    pub(crate) ts_recent_at: Option<Instant>,
    /// Added to our clock for this connection's timestamps (RFC 7323 5.4, 7.1: a keyed hash
    /// of the 4-tuple, set by the layer; not derived from the ISS, which it would reveal).
    pub(crate) ts_offset: u32,
    /// A retransmission cancelled the timed RTT sample: take the next one from a timestamp.
    pub(crate) ts_sample_wanted: bool,

    // ----- delayed ACK (RFC 9293 3.8.6.3) -----
    /// How long an ACK for a lone segment may wait; `None`: acknowledge at once.
    pub(crate) delayed_ack: Option<Duration>,
    /// When the delayed ACK is due.
    pub(crate) delack_at: Option<Instant>,

    // ----- keep-alive (RFC 9293 3.8.4) and user timeout (3.8.3): `keepalive.rs` -----
    /// Keep-alive settings; `None`: no probes.
    pub(crate) keepalive: Option<super::KeepAlive>,
    /// When the peer was last heard from (any segment).
    pub(crate) last_heard: Option<Instant>,
    /// Keep-alive probes sent since then.
    pub(crate) keepalives_unanswered: u32,
    /// A keep-alive probe is to be sent now.
    pub(crate) keepalive_now: bool,
    /// How long data may wait without progress before the connection fails.
    pub(crate) user_timeout: Option<Duration>,
    /// The last ICMP error about this connection that did not end it (a "soft error", RFC 1122
    /// 4.2.3.9): if the connection later times out, this is the error the application sees,
    /// as on Linux (EHOSTUNREACH rather than ETIMEDOUT).
    pub(crate) soft_error: Option<io::ErrorKind>,
    /// How long an orphaned connection waits in FIN-WAIT-2 for the peer's FIN.
    pub(crate) fin_wait2_timeout: Duration,
    /// Since when something we sent (or could not send, into a closed window) has waited
    /// without an ACK of anything new; `None` while nothing waits.
    pub(crate) stalled_since: Option<Instant>,

    // ----- what to send -----
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
    pub(crate) rcv_mss: usize,
    /// Where the latest out-of-order segment began: its SACK block goes first.
    pub(crate) last_early: Option<Pos>,
    /// Data that arrived a second time, `[left, right)`: the next ACK reports it in its first
    /// SACK block, once (D-SACK, RFC 2883).
    pub(crate) dsack: Option<(Pos, Pos)>,
    /// Why the next segment is sent, for the capture's frame comment.
    pub(crate) note: Option<String>,

    // ----- the application's side -----
    pub(crate) nodelay: bool,
    /// The end of the last small (less than a full segment) segment of new data sent: while
    /// SND.UNA is below it, Nagle's rule holds other small segments back.
    pub(crate) small_sent_end: Pos,
    /// The application dropped its handle: nobody will read; finish the close alone.
    pub(crate) orphaned: bool,
    /// Why the connection failed, reported to the next read or write.
    pub(crate) error: Option<io::ErrorKind>,
    readers: Vec<Waker>,
    writers: Vec<Waker>,
    pub(crate) stats: ConnStats,
}

impl Connection {
    /// A connection in `state` (SYN-SENT for `connect`, SYN-RECEIVED for a SYN to a listener).
    pub(crate) fn new(
        quad: Quad,
        state: State,
        iss: SeqNumber,
        our_mss: usize,
        config: &TcpConfig,
    ) -> Connection {
        let offered_shift = window_shift_for(config.recv_buffer);
        Connection {
            quad,
            state,
            passive: state == State::SynReceived,
            iss,
            snd_una: Pos::SYN,
            snd_nxt: Pos::SYN,
            snd_max: Pos::SYN,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: Pos::SYN,
            snd_wl2: Pos::SYN,
            snd_shift: 0,
            send: RingBuffer::new(config.send_buffer),
            our_fin: None,
            snd_up: Pos::SYN,
            send_mss: super::config::DEFAULT_MSS.min(our_mss),
            our_mss,
            irs: SeqNumber(0),
            rcv_nxt: Pos::SYN,
            rcv_shift: 0,
            offered_shift,
            peer_scales: false,
            rcv_adv: Pos::SYN,
            // Room for the rounding of a scaled window (see `output::window_to_announce`).
            recv: RecvBuffer::new(
                config.recv_buffer,
                config.recv_buffer / 8 + (1 << offered_shift),
            ),
            fin_seq: None,
            fin_received: false,
            rcv_up: Pos::SYN,
            rtt: RttEstimator::new(config.rto),
            timed: None,
            sent_times: std::collections::VecDeque::new(),
            retransmit_at: None,
            retries: 0,
            persist_at: None,
            persist_backoff: 0,
            probe_now: false,
            time_wait_until: None,
            time_wait: config.msl * 2,
            congestion: config.congestion.build(our_mss, config.initial_window),
            hystart: super::congestion::hystart::HyStart::new(config.hystart),
            algorithm: config.congestion,
            sack_ok: false,
            sack_wanted: config.sack,
            scoreboard: Default::default(),
            dupacks: 0,
            recovery_point: None,
            recover: Pos::SYN,
            high_rxt: Pos::SYN,
            tail_loss_probes: config.tail_loss_probes,
            probe_timeout_at: None,
            tail_probe_now: false,
            tail_probe_end: None,
            tail_probe_resent: false,
            tail_probe_dsacked: false,
            tail_probe_start: Pos::SYN,
            lost_below_probe: None,
            una_resent_at: None,
            una_lost_again: false,
            rtx_now: false,
            inflation: 0,
            undo: None,
            recovery_undo: None,
            recovery_resent: 0,
            undo_from: Pos::SYN,
            last_challenge_ack: None,
            ts_ok: false,
            ts_wanted: config.timestamps,
            ts_recent: 0,
            ts_recent_at: None,
            ts_offset: 0,
            ts_sample_wanted: false,
            delayed_ack: config.delayed_ack,
            delack_at: None,
            initial_window: config.initial_window,
            keepalive: config.keepalive,
            last_heard: None,
            keepalives_unanswered: 0,
            keepalive_now: false,
            user_timeout: config.user_timeout,
            fin_wait2_timeout: config.fin_wait2_timeout,
            soft_error: None,
            stalled_since: None,
            ack_now: false,
            ack_immediately: false,
            unacked_bytes: 0,
            rcv_mss: 0,
            last_early: None,
            dsack: None,
            note: None,
            nodelay: false,
            small_sent_end: Pos::SYN,
            orphaned: false,
            error: None,
            readers: Vec::new(),
            writers: Vec::new(),
            stats: ConnStats::default(),
        }
    }

    /// Whether the peer has acknowledged our SYN: SND.UNA has moved past position 0. (With
    /// 32-bit numbers, `SND.UNA == ISS` would say "no" again after 4 GiB.)
    pub(crate) fn syn_acked(&self) -> bool {
        self.snd_una > Pos::SYN
    }

    /// The position of the first byte in the send buffer: the oldest unacknowledged byte, or
    /// the first byte after our SYN while the SYN is unacknowledged.
    pub(crate) fn data_start(&self) -> Pos {
        self.snd_una.max(Pos::DATA)
    }

    /// The position just past the buffered data.
    pub(crate) fn data_end(&self) -> Pos {
        self.data_start() + self.send.len()
    }

    /// What TIME-WAIT keeps of this connection (`time_wait.rs`), once it is in TIME-WAIT.
    pub(crate) fn time_wait_record(&self) -> Option<super::time_wait::Record> {
        let until = self.time_wait_until?;
        let window = (self.rcv_wnd() >> self.rcv_shift).min(usize::from(u16::MAX)) as u16;
        Some(super::time_wait::Record {
            snd_nxt: self.wire_seq(self.snd_max),
            rcv_nxt: self.wire_ack(),
            window,
            timestamps: self.ts_ok.then_some((self.ts_recent, self.ts_offset)),
            until,
        })
    }

    /// RCV.WND: what the window we last announced still takes beyond RCV.NXT.
    pub(crate) fn rcv_wnd(&self) -> usize {
        self.rcv_adv.max(self.rcv_nxt) - self.rcv_nxt
    }

    /// `pos` of our stream as a sequence number on the wire.
    pub(crate) fn wire_seq(&self, pos: Pos) -> SeqNumber {
        pos.wrap(self.iss)
    }

    /// RCV.NXT as the acknowledgment number on the wire.
    pub(crate) fn wire_ack(&self) -> SeqNumber {
        self.rcv_nxt.wrap(self.irs)
    }

    /// Our FIN's position, once the application has shut down writing.
    pub(crate) fn fin_seq_out(&self) -> Option<Pos> {
        self.our_fin
    }

    /// Whether our FIN has been acknowledged.
    pub(crate) fn fin_acked(&self) -> bool {
        self.fin_seq_out().is_some_and(|fin| self.snd_una > fin)
    }

    /// Bytes of sequence space sent and not yet acknowledged.
    pub(crate) fn in_flight(&self) -> usize {
        self.snd_max - self.snd_una
    }

    /// Our timestamp clock at `now`: milliseconds, offset per connection (RFC 7323 5.4, 7.1).
    pub(crate) fn ts_clock(&self, now: Instant) -> u32 {
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Takes an RTT measurement, and says so when the RTO changes (RFC 6298).
    pub(crate) fn rtt_sample(&mut self, rtt: Duration) {
        let before = self.rtt.rto();
        self.rtt.sample(rtt);
        let after = self.rtt.rto();
        if before.as_millis() != after.as_millis() {
            debug!(
                quad = %self.quad,
                rtt_us = rtt.as_micros() as u64,
                srtt_us = self.rtt.srtt().unwrap_or_default().as_micros() as u64,
                rto_ms = after.as_millis() as u64,
                "tcp: RTO changed"
            );
        }
    }

    /// Moves to `state`, logging the transition.
    pub(crate) fn set_state(&mut self, state: State) {
        if self.state != state {
            debug!(quad = %self.quad, "tcp: {} -> {}", self.state, state);
            self.state = state;
            self.wake_all();
        }
    }

    /// Ends the connection with an error for the application (reset, refused, timed out).
    pub(crate) fn fail(&mut self, kind: io::ErrorKind) {
        // A timeout after an ICMP error says more with the ICMP error's words.
        let kind = match (kind, self.soft_error) {
            (io::ErrorKind::TimedOut, Some(soft)) => soft,
            _ => kind,
        };
        debug!(quad = %self.quad, ?kind, "tcp: connection failed");
        self.error = Some(kind);
        self.retransmit_at = None;
        self.persist_at = None;
        self.probe_timeout_at = None;
        self.time_wait_until = None;
        self.stalled_since = None;
        self.set_state(State::Closed);
        self.wake_all();
    }

    /// Wakes every task waiting on this connection.
    pub(crate) fn wake_all(&mut self) {
        self.wake_readers();
        self.wake_writers();
    }

    pub(crate) fn wake_readers(&mut self) {
        for waker in self.readers.drain(..) {
            waker.wake();
        }
    }

    pub(crate) fn wake_writers(&mut self) {
        for waker in self.writers.drain(..) {
            waker.wake();
        }
    }

    /// Registers the task of `cx` to be woken with the readers (by data, a FIN, an error, or
    /// urgent data).
    pub(crate) fn wait_as_reader(&mut self, cx: &mut Context<'_>) {
        Self::wait(&mut self.readers, cx);
    }

    fn wait(list: &mut Vec<Waker>, cx: &mut Context<'_>) {
        if !list.iter().any(|w| w.will_wake(cx.waker())) {
            list.push(cx.waker().clone());
        }
    }

    /// A snapshot for observers.
    pub(crate) fn info(&self) -> ConnInfo {
        ConnInfo {
            quad: self.quad,
            state: self.state,
            srtt: self.rtt.srtt(),
            rttvar: self.rtt.rttvar(),
            rto: self.rtt.rto(),
            congestion: self.algorithm,
            in_recovery: self.recovery_point.is_some(),
            sack: self.sack_ok,
            timestamps: self.ts_ok,
            cwnd: self.congestion.window(),
            ssthresh: self.congestion.ssthresh(),
            bytes_in_flight: self.in_flight(),
            peer_window: self.snd_wnd,
            mss: self.send_mss,
            stats: self.stats,
        }
    }

    // ----- what the application does -----

    /// Waits until the handshake is done (for `connect`).
    pub(crate) fn poll_established(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        match self.state {
            State::SynSent | State::SynReceived => {
                Self::wait(&mut self.writers, cx);
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
        let limit = self.read_limit(out.len());
        let n = self.recv.read(&mut out[..limit]);
        if n > 0 {
            self.stats.bytes_read += n as u64;
            let update = self.window_update_due();
            if update {
                self.ack_now = true;
            }
            return Poll::Ready(Ok((n, update)));
        }
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        if self.fin_received || self.state == State::Closed {
            return Poll::Ready(Ok((0, false)));
        }
        Self::wait(&mut self.readers, cx);
        Poll::Pending
    }

    /// Whether the window we could announce now is enough larger than the one the peer knows
    /// to send an update without waiting for data: the receiver's side of silly-window
    /// avoidance (RFC 9293 3.8.6.2.2: an increase of at least min(buffer/2, MSS)).
    fn window_update_due(&self) -> bool {
        let known = self.rcv_wnd();
        let possible = self.recv.window();
        let threshold = (self.recv.capacity() / 2).min(self.our_mss);
        self.state.can_receive() && possible >= known + threshold
    }

    /// Appends `data` to the send buffer; waits while the buffer is full.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(kind) = self.error {
            return Poll::Ready(Err(error(kind)));
        }
        if self.our_fin.is_some() || !matches!(self.state, State::Established | State::CloseWait) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection was shut down for writing",
            )));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = self.send.push(data);
        if n == 0 {
            Self::wait(&mut self.writers, cx);
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
                self.our_fin = Some(self.data_end());
                self.set_state(State::FinWait1);
            }
            State::CloseWait => {
                self.our_fin = Some(self.data_end());
                self.set_state(State::LastAck);
            }
            // Already closing, or closed.
            _ => {}
        }
    }
}

/// An `io::Error` of `kind` with words a user can act on.
pub(crate) fn error(kind: io::ErrorKind) -> io::Error {
    let text = match kind {
        io::ErrorKind::ConnectionRefused => "connection refused: nothing listens on that port",
        io::ErrorKind::ConnectionReset => "connection reset by the peer",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::TimedOut => "connection timed out: no answer after every retransmission",
        io::ErrorKind::HostUnreachable => "no route to host (ICMP host unreachable, or prohibited)",
        io::ErrorKind::NetworkUnreachable => "network unreachable (ICMP net unreachable)",
        _ => "connection failed",
    };
    io::Error::new(kind, text)
}
