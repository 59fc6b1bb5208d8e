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
//! on this block, and so do the application's calls ([`super::calls`]); this file holds the
//! block.
//!
//! [RFC 9293 3.3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.3.1

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Waker};
use std::time::Duration;

use tracing::debug;

use super::config::TcpConfig;
use super::congestion::Algorithm;
use super::congestion::Congestion;
use super::pos::Pos;
use super::receiver::Receiver;
use super::recovery::Recovery;
use super::sender::Sender;
use super::seq::SeqNumber;
use super::state::State;
use super::timers::Timers;
use super::why::Why;
use crate::time::Instant;

/// A connection's four addresses and ports: its key in the connection table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quad {
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
}

#[cfg(test)]
impl Quad {
    /// Port 80 of 10.77.0.2 and `port` of 10.77.0.1: the 4-tuple unit tests use.
    pub(crate) fn for_test(port: u16) -> Quad {
        use std::net::IpAddr;
        Quad {
            local: SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, 2)), 80),
            remote: SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, 1)), port),
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
    /// Segments sent: a burst counts as the segments it is cut into on the wire.
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
    /// The MSS we announce: our link's MTU minus 40.
    pub(crate) our_mss: usize,
    /// SACK agreed: both SYNs carried SACK-permitted.
    pub(crate) sack_ok: bool,
    /// We offer SACK (our configuration).
    pub(crate) sack_wanted: bool,
    /// When we last sent a challenge ACK (RFC 5961 7): at most one per 500 ms.
    pub(crate) last_challenge_ack: Option<Instant>,
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
    /// The last ICMP error about this connection that did not end it (a "soft error", RFC 1122
    /// 4.2.3.9): if the connection later times out, this is the error the application sees,
    /// as on Linux (EHOSTUNREACH rather than ETIMEDOUT).
    pub(crate) soft_error: Option<io::ErrorKind>,
    /// Why the next segment is sent (`why.rs`): the capture words it as a frame comment.
    pub(crate) why: Option<Why>,
    /// The application dropped its handle: nobody will read; finish the close alone.
    pub(crate) orphaned: bool,
    /// Why the connection failed, reported to the next read or write.
    pub(crate) error: Option<io::ErrorKind>,
    /// `SO_LINGER`: `Some(ZERO)` makes the application's close an abort (a RST, unsent data
    /// discarded); any other value closes as `None` does, gracefully (`api.rs`, `release`).
    pub(crate) linger: Option<Duration>,
    /// `IP_TTL`: the TTL of the packets this connection sends; `None`, the host's default.
    pub(crate) ttl: Option<u8>,
    readers: Vec<Waker>,
    writers: Vec<Waker>,
    pub(crate) stats: ConnStats,
    /// The send side: SND.* and the data not yet acknowledged (`sender.rs`).
    pub(crate) snd: Sender,
    /// The receive side: RCV.*, early data, what we owe the peer (`receiver.rs`).
    pub(crate) rcv: Receiver,
    /// Loss recovery: duplicate ACKs, SACK scoreboard, tail loss probes, undo (`recovery.rs`).
    pub(crate) rec: Recovery,
    /// Congestion control: the window and the first slow start (`congestion/`).
    pub(crate) cc: Congestion,
    /// Retransmission, persist, TIME-WAIT and keep-alive timers, and RTT estimation (`timers.rs`).
    pub(crate) timers: Timers,
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
        Connection {
            quad,
            state,
            passive: state == State::SynReceived,
            our_mss,
            sack_ok: false,
            sack_wanted: config.sack,
            last_challenge_ack: None,
            ts_ok: false,
            ts_wanted: config.timestamps,
            ts_recent: 0,
            ts_recent_at: None,
            ts_offset: 0,
            soft_error: None,
            why: None,
            orphaned: false,
            error: None,
            linger: None,
            ttl: None,
            readers: Vec::new(),
            writers: Vec::new(),
            stats: ConnStats::default(),
            snd: Sender::new(iss, our_mss, config),
            rcv: Receiver::new(config),
            rec: Recovery::new(config),
            cc: Congestion::new(our_mss, config),
            timers: Timers::new(config),
        }
    }

    /// What TIME-WAIT keeps of this connection (`time_wait.rs`), once it is in TIME-WAIT.
    pub(crate) fn time_wait_record(&self) -> Option<super::time_wait::Record> {
        let until = self.timers.time_wait_until?;
        let window = (self.rcv.wnd() >> self.rcv.shift).min(usize::from(u16::MAX)) as u16;
        Some(super::time_wait::Record {
            snd_nxt: self.wire_seq(self.snd.max),
            rcv_nxt: self.wire_ack(),
            window,
            timestamps: self.ts_ok.then_some((self.ts_recent, self.ts_offset)),
            until,
        })
    }

    /// `pos` of our stream as a sequence number on the wire.
    pub(crate) fn wire_seq(&self, pos: Pos) -> SeqNumber {
        pos.wrap(self.snd.iss)
    }

    /// RCV.NXT as the acknowledgment number on the wire.
    pub(crate) fn wire_ack(&self) -> SeqNumber {
        self.rcv.nxt.wrap(self.rcv.irs)
    }

    /// Our timestamp clock at `now`: milliseconds, offset per connection (RFC 7323 5.4, 7.1).
    pub(crate) fn ts_clock(&self, now: Instant) -> u32 {
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Takes an RTT measurement, and says so when the RTO changes (RFC 6298).
    pub(crate) fn rtt_sample(&mut self, rtt: Duration) {
        let before = self.timers.rtt.rto();
        self.timers.rtt.sample(rtt);
        let after = self.timers.rtt.rto();
        if before.as_millis() != after.as_millis() {
            debug!(
                quad = %self.quad,
                rtt_us = rtt.as_micros() as u64,
                srtt_us = self.timers.rtt.srtt().unwrap_or_default().as_micros() as u64,
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
        self.timers.cancel_all();
        self.rec.cancel_tail_probe();
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

    /// Wakes the writers if a write would take bytes now: after data went out, which moves
    /// the unsent limit ([`crate::tcp::config::TcpConfig::unsent_limit`]).
    pub(crate) fn wake_writers_if_room(&mut self) {
        if !self.writers.is_empty() && self.snd.room() > 0 {
            self.wake_writers();
        }
    }

    /// Registers the task of `cx` to be woken with the readers (by data, a FIN, an error, or
    /// urgent data).
    pub(crate) fn wait_as_reader(&mut self, cx: &mut Context<'_>) {
        Self::wait(&mut self.readers, cx);
    }

    /// Registers the task of `cx` to be woken with the writers (by room in the send buffer,
    /// the end of the handshake, or an error).
    pub(crate) fn wait_as_writer(&mut self, cx: &mut Context<'_>) {
        Self::wait(&mut self.writers, cx);
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
            srtt: self.timers.rtt.srtt(),
            rttvar: self.timers.rtt.rttvar(),
            rto: self.timers.rtt.rto(),
            congestion: self.cc.algorithm,
            in_recovery: self.rec.point.is_some(),
            sack: self.sack_ok,
            timestamps: self.ts_ok,
            cwnd: self.cc.ctl.window(),
            ssthresh: self.cc.ctl.ssthresh(),
            bytes_in_flight: self.snd.in_flight(),
            peer_window: self.snd.wnd,
            mss: self.snd.mss,
            stats: self.stats,
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
        io::ErrorKind::HostUnreachable => {
            "host unreachable: no answer to ARP on the link, or an ICMP host unreachable"
        }
        io::ErrorKind::NetworkUnreachable => {
            "network unreachable: no route (no gateway set), or an ICMP net unreachable"
        }
        _ => "connection failed",
    };
    io::Error::new(kind, text)
}
