//! The transport layer's reliable byte stream: TCP ([RFC 9293]).
//!
//! TCP turns IP's datagrams, which may be lost, duplicated or reordered, into an ordered,
//! reliable stream of bytes between two sockets. The pieces, in reading order:
//!
//! | file | job |
//! |---|---|
//! | [`header`], [`options`], [`flags`] | the segment's bytes |
//! | [`seq`], [`pos`] | sequence numbers, modulo 2³² on the wire; 64-bit positions inside |
//! | [`state`] | the eleven states and the diagram joining them |
//! | `connection.rs` | one connection's control block (TCB), made of the parts below, and what the application does to it |
//! | `sender.rs`, `receiver.rs` | the send side (SND.*, unacknowledged bytes) and the receive side (RCV.*, early data, owed ACKs) |
//! | `input.rs` | "segment arrives": the RFC's numbered steps, one function each |
//! | `output.rs`, `sent.rs` | what to send next: SYN, data, FIN, ACK, window probes; what a segment sent changes |
//! | [`why`] | why a segment was sent: a value, worded by the capture layer |
//! | `timers.rs` | retransmission, persist and TIME-WAIT timers |
//! | `keepalive.rs` | keep-alive probes and the user timeout: noticing a peer that is gone |
//! | `ready.rs` | readiness for `readable()` / `writable()`, peeking, gathered writes |
//! | `urgent.rs` | urgent data: the URG flag, the urgent pointer, the mark in the stream |
//! | `icmp.rs` | ICMP errors about our segments: a refused connect, an unreachable host |
//! | `recovery.rs`, `sack.rs`, `tail_loss.rs` | loss recovery: fast retransmit, SACK, D-SACK, tail loss probes |
//! | `recv_buffer.rs`, `ring.rs` | bytes in, bytes out, reassembly of early segments |
//! | [`rto`], [`congestion`], `isn.rs` | timeout estimation, congestion window, initial sequence numbers and secrets |
//! | `challenge.rs` | how many challenge ACKs (RFC 5961) a connection and the host may send |
//! | `demux.rs`, `api.rs` | the connection table, resets for closed ports, the application's calls |
//! | `listener.rs`, `passive.rs`, `syn_queue.rs`, `syncookie.rs` | listening: the SYN queue, SYN cookies, the accept queue |
//! | `time_wait.rs` | TIME-WAIT as small records, once the application has let go |
//!
//! [RFC 9293]: https://www.rfc-editor.org/rfc/rfc9293

use std::collections::{HashMap, VecDeque};

use crate::stats::LayerStats;
use crate::time::Instant;

mod api;
mod burst;
mod calls;
mod challenge;
pub mod config;
pub mod congestion;
pub(crate) mod connection;
pub(crate) mod demux;
pub mod flags;
pub mod header;
mod icmp;
pub(crate) mod input;
mod isn;
mod keepalive;
mod listener;
pub mod options;
mod output;
mod passive;
pub mod pos;
pub(crate) mod ready;
mod receiver;
mod recovery;
mod recv_buffer;
mod ring;
pub mod rto;
mod sack;
mod send_buffer;
mod sender;
mod sent;
pub mod seq;
pub mod state;
mod syn_queue;
mod syncookie;
mod table;
mod tail_loss;
mod time_wait;
mod timers;
mod urgent;
pub mod why;

pub use config::{KeepAlive, TcpConfig};
pub use congestion::{Algorithm, CongestionControl};
pub use connection::{ConnInfo, ConnStats, Quad};
pub use flags::Flags;
pub use options::{SackBlock, SackBlocks, TcpOption, Timestamps};
pub use pos::Pos;
pub use seq::SeqNumber;
pub use state::State;
pub use syn_queue::HandshakeStats;
pub use why::{ResetWhy, Why};

use challenge::ChallengeAcks;
use connection::Connection;
use isn::IsnGenerator;
use listener::Listener;

/// A handle on a connection in the table: its slot and the slot's generation, so that a handle
/// to a forgotten connection never reaches the next one in the same slot. Given out by
/// [`Host::tcp_connect`](crate::Host::tcp_connect) and
/// [`Host::tcp_poll_accept`](crate::Host::tcp_poll_accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    index: usize,
    generation: u64,
}

/// The TCP layer: every connection and listener of the host.
#[derive(Debug)]
pub(crate) struct TcpLayer {
    /// Counters.
    pub(crate) stats: LayerStats,
    config: TcpConfig,
    /// The MSS we announce: the link MTU minus 40 bytes of IPv4 and TCP headers.
    our_mss: usize,
    /// Every connection, and when each one's timers are due.
    conns: table::ConnTable,
    /// Connections by 4-tuple.
    by_quad: HashMap<Quad, usize>,
    /// The entry of `by_quad` the last segment found: the segments of a bulk transfer come
    /// one connection's after another, and comparing a 4-tuple costs less than hashing it.
    /// Cleared whenever `by_quad` changes.
    last_quad: Option<(Quad, usize)>,
    /// Listening sockets by port.
    listeners: HashMap<u16, Listener>,
    isn: IsnGenerator,
    /// SYN cookies' secret.
    cookies: syncookie::Cookies,
    /// What our SYN-ACKs offer.
    our_syn: syn_queue::OurSyn,
    /// Closed connections in TIME-WAIT, as small records.
    time_waits: time_wait::TimeWaits,
    /// Handshakes in SYN queues whose SYN-ACK is due again.
    synacks_due: VecDeque<Quad>,
    /// Counters of passive opens.
    pub(crate) handshakes: HandshakeStats,
    challenge_acks: ChallengeAcks,
    /// Connections that may have something to send, in turn.
    ready: VecDeque<usize>,
    /// When the timers last ran.
    timers_ran_at: Option<Instant>,
    /// Tests choose the next ISS, e.g. just below 2^32.
    #[cfg(test)]
    pub(crate) next_iss: Option<seq::SeqNumber>,
}

impl TcpLayer {
    /// The TCP layer; an error when there is no secure random source for its secrets.
    pub(crate) fn new(
        config: TcpConfig,
        mtu: usize,
        seed: Option<u64>,
    ) -> std::io::Result<TcpLayer> {
        let isn = IsnGenerator::new(seed)?;
        let our_mss = mtu.saturating_sub(40).max(config::MIN_MSS);
        let cookie_key = u128::from(isn.derive(b"syn cookies")) << 64
            | u128::from(isn.derive(b"syn cookies, more"));
        Ok(TcpLayer {
            stats: LayerStats::default(),
            our_mss,
            cookies: syncookie::Cookies::new(cookie_key.to_le_bytes()),
            our_syn: syn_queue::OurSyn::new(&config, our_mss),
            synacks_due: VecDeque::new(),
            time_waits: time_wait::TimeWaits::new(config.time_wait_max),
            handshakes: HandshakeStats::default(),
            challenge_acks: ChallengeAcks::new(
                config.challenge_ack_limit.per_second,
                isn.derive(b"challenge ACK budget"),
            ),
            config,
            conns: table::ConnTable::default(),
            by_quad: HashMap::new(),
            last_quad: None,
            listeners: HashMap::new(),
            isn,
            ready: VecDeque::new(),
            timers_ran_at: None,
            #[cfg(test)]
            next_iss: None,
        })
    }

    /// Our MSS towards `remote`: the link's MTU less the IP and TCP headers, 40 bytes over
    /// IPv4 and 60 over IPv6, whose header is 20 bytes longer ([RFC 8200 section 8.3]).
    ///
    /// [RFC 8200 section 8.3]: https://www.rfc-editor.org/rfc/rfc8200#section-8.3
    pub(crate) fn mss_for(&self, remote: std::net::IpAddr) -> usize {
        if remote.is_ipv6() {
            self.our_mss.saturating_sub(20).max(config::MIN_MSS)
        } else {
            self.our_mss
        }
    }

    /// Each connection's send MSS, for tests.
    #[cfg(test)]
    pub(crate) fn send_mss(&self) -> Vec<usize> {
        self.conns.iter().map(|(_, c)| c.snd.mss).collect()
    }

    /// The initial send sequence number for a new connection (RFC 6528).
    fn iss_for(&mut self, quad: &Quad, now: Instant) -> seq::SeqNumber {
        #[cfg(test)]
        if let Some(iss) = self.next_iss.take() {
            return iss;
        }
        self.isn.isn(quad.local, quad.remote, now)
    }

    /// The connection behind `id`, if it still exists.
    fn conn(&self, id: ConnId) -> Option<&Connection> {
        (self.conns.generation(id.index) == id.generation)
            .then(|| self.conns.get(id.index))
            .flatten()
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Connection> {
        if self.conns.generation(id.index) != id.generation {
            return None;
        }
        self.conns.get_mut(id.index)
    }

    fn id_of(&self, index: usize) -> ConnId {
        ConnId {
            index,
            generation: self.conns.generation(index),
        }
    }

    /// Puts a new connection in the table.
    fn insert(&mut self, conn: Connection) -> ConnId {
        let quad = conn.quad;
        let (index, generation) = self.conns.insert(conn);
        self.by_quad.insert(quad, index);
        self.last_quad = None;
        self.mark_ready(index);
        ConnId { index, generation }
    }

    /// Forgets a connection.
    fn remove(&mut self, index: usize) {
        if let Some(conn) = self.conns.take(index) {
            tracing::debug!(quad = %conn.quad, "tcp: connection forgotten");
            if self.by_quad.get(&conn.quad) == Some(&index) {
                self.by_quad.remove(&conn.quad);
            }
            self.last_quad = None;
            if let Some(listener) = self.listeners.get_mut(&conn.quad.local.port()) {
                listener.forget(index);
            }
        }
    }

    /// The connection with 4-tuple `quad`, if any: the one the last segment found, or
    /// `by_quad`'s.
    fn find(&mut self, quad: &Quad) -> Option<usize> {
        if let Some((last, index)) = self.last_quad {
            if last == *quad {
                return Some(index);
            }
        }
        let index = *self.by_quad.get(quad)?;
        self.last_quad = Some((*quad, index));
        Some(index)
    }

    /// Queues a connection to be asked for output.
    fn mark_ready(&mut self, index: usize) {
        if self.conns.get(index).is_some() && !self.conns.set_queued(index, true) {
            self.ready.push_back(index);
        }
    }

    /// After anything happened to a connection: queue it for output, forget it if it is
    /// closed and nobody holds it.
    fn settle(&mut self, index: usize) {
        let Some(conn) = self.conns.get(index) else {
            return;
        };
        if conn.state == state::State::Closed && conn.orphaned {
            self.remove(index);
            return;
        }
        if conn.state == state::State::TimeWait && conn.orphaned && !conn.rcv.ack_now {
            // Nobody holds it and its last ACK is out: keep only a record.
            let (quad, record) = (conn.quad, conn.time_wait_record());
            self.remove(index);
            if let Some(record) = record {
                self.handshakes.time_wait_records += 1;
                self.handshakes.time_wait_evicted += self.time_waits.insert(quad, record);
            }
            return;
        }
        self.mark_ready(index);
    }

    /// The earliest deadline of any connection, handshake or TIME-WAIT record.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        let connections = self.conns.poll_at();
        let handshakes = self
            .listeners
            .values()
            .filter_map(|l| l.syn_queue.poll_at());
        let time_waits = self.time_waits.poll_at();
        connections
            .into_iter()
            .chain(handshakes)
            .chain(time_waits)
            .min()
    }

    /// Runs the timers that are due (once per distinct `now`).
    fn run_timers(&mut self, now: Instant) {
        if self.timers_ran_at == Some(now) {
            return;
        }
        self.timers_ran_at = Some(now);
        self.run_syn_queues(now);
        self.time_waits.expire(now);
        let (syn_retries, retries) = (self.config.syn_retries, self.config.retries);
        for index in self.conns.due(now) {
            if let Some(conn) = self.conns.get_mut(index) {
                conn.on_timer(now, syn_retries, retries);
            }
            self.settle(index);
        }
        self.conns.refresh();
    }

    /// Fails every connection with `kind` (the host's link is gone), waking their tasks.
    pub(crate) fn fail_all(&mut self, kind: std::io::ErrorKind) {
        for index in self.conns.indices() {
            if let Some(conn) = self.conns.get_mut(index) {
                conn.fail(kind);
            }
        }
    }

    /// Whether some connection is queued to be asked for output.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Whether any connection is still open or closing (the driver keeps running for them).
    pub(crate) fn has_connections(&self) -> bool {
        !self.conns.is_empty()
    }
}

#[cfg(test)]
mod tests;
