//! TCP demultiplexing: which connection (or listener) a segment is for, and the answers for
//! segments that have none ([RFC 9293 3.10.7.1] CLOSED, [3.10.7.2] LISTEN).
//!
//! A connection is found by its full 4-tuple: many connections share the server's port 80, told
//! apart by the clients' addresses and ports (the course's 5-tuple, with TCP as the protocol).
//! Only a SYN for no existing connection goes to the listener on its port.
//!
//! [RFC 9293 3.10.7.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
//! [3.10.7.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.2

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use tracing::debug;

use super::connection::Quad;
use super::flags::Flags;
use super::header::{Packet, Repr};
use super::input::{Reply, Segment};
use super::options::SackBlocks;
use super::seq::SeqNumber;
use super::state::State;
use super::time_wait::Answer;
use super::why::{ResetWhy, Why};
use super::TcpLayer;
use crate::host::Transmit;
use crate::ip::header::IpProtocol;
use crate::ip::layer::IpLayer;
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::stats::DropReason;
use crate::time::Instant;
use crate::wire::WireError;

/// Data at least this long, in a shared buffer, is kept there by the receive buffer rather
/// than copied (the driver's packets go up shared from the same length, `driver/batch.rs`):
/// sharing a slice costs atomic counts, more than copying a few hundred bytes.
const KEEP_MIN: usize = 4096;

impl TcpLayer {
    /// Handles one TCP segment (the IP payload) from `src` to `dst`; `trusted`: the device
    /// vouches for its checksum; `packet`: the buffer it came in, when its data may be kept
    /// there instead of copied.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        (src, dst): (IpAddr, IpAddr),
        bytes: &[u8],
        (trusted, packet): (bool, Option<&Bytes>),
    ) -> Progress {
        self.stats.received += 1;
        let parsed = Packet::new_checked(bytes).and_then(|p| {
            let header = match trusted {
                true => Repr::parse_trusted(&p),
                false => Repr::parse(&p, src, dst),
            };
            header.map(|h| (p, h))
        });
        let Some((segment, header)) = self.well_formed(src, parsed) else {
            return Progress::None;
        };
        let segment = Segment {
            header,
            payload: segment.payload(),
            packet,
        };
        self.receive_segment(now, ip, out, (src, dst), &segment)
    }

    /// Like [`TcpLayer::receive`], for a segment in two parts: `head`, its header, then
    /// `data`, in a shared buffer the receive buffer may keep a slice of.
    pub(crate) fn receive_parts(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        (src, dst): (IpAddr, IpAddr),
        (head, data): (&[u8], &Bytes),
        trusted: bool,
    ) -> Progress {
        self.stats.received += 1;
        let parsed = Packet::new_checked(head)
            .and_then(|p| Repr::parse_parts(&p, data, (src, dst), trusted));
        let Some(header) = self.well_formed(src, parsed) else {
            return Progress::None;
        };
        let segment = Segment {
            header,
            payload: data,
            packet: (data.len() >= KEEP_MIN).then_some(data),
        };
        self.receive_segment(now, ip, out, (src, dst), &segment)
    }

    /// What a parse gave, or `None` when the segment was malformed (it is then counted).
    fn well_formed<T>(&mut self, src: IpAddr, parsed: Result<T, WireError>) -> Option<T> {
        parsed
            .inspect_err(|err| {
                debug!(%src, %err, "tcp: drop malformed segment");
                self.stats.dropped.add((*err).into());
            })
            .ok()
    }

    /// A parsed segment from `src` to `dst`, to its connection, its listener, or the answer
    /// for a closed port.
    fn receive_segment(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        (src, dst): (IpAddr, IpAddr),
        segment: &Segment<'_>,
    ) -> Progress {
        let header = segment.header;
        debug!("tcp: unwrap {header}");
        let quad = Quad {
            local: SocketAddr::new(dst, header.dst_port),
            remote: SocketAddr::new(src, header.src_port),
        };

        if let Some(index) = self.find(&quad) {
            return self.deliver(now, ip, out, index, quad, segment);
        }
        match self
            .time_waits
            .on_segment(now, &quad, &header, self.config.msl * 2)
        {
            Some(Answer::Reopen) | None => {}
            Some(Answer::Drop) => return Progress::None,
            Some(Answer::Ack) => {
                self.time_wait_ack(now, ip, out, quad);
                return Progress::None;
            }
        }
        let listening = self.listeners.get(&quad.local.port());
        if listening.is_some_and(|l| l.binding.takes(dst)) {
            if let Some(index) = self.listen_input(now, ip, out, quad, segment) {
                // The handshake's ACK made a connection: it takes the segment (and its data,
                // if any), then waits for `accept`. That ACK answered our SYN-ACK: progress.
                self.deliver(now, ip, out, index, quad, segment);
                self.hand_to_listener(index);
                return Progress::From(src);
            }
            return Progress::None;
        }
        self.closed_input(ip, out, quad, &header, DropReason::NoSocket);
        Progress::None
    }

    /// Gives `segment` to connection `index` and carries out what it asks.
    fn deliver(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        index: usize,
        quad: Quad,
        segment: &Segment<'_>,
    ) -> Progress {
        self.stats.delivered += 1;
        let mut progress = Progress::None;
        let reply = match self.conns.get_mut(index) {
            Some(conn) => {
                let una = conn.snd.una;
                let reply = conn.on_segment(now, segment);
                if conn.snd.una > una {
                    progress = Progress::From(quad.remote.ip());
                }
                if conn.rcv.ack_immediately && conn.send_ack_now(now, ip, out) {
                    self.stats.sent += 1;
                }
                reply
            }
            None => Reply::None,
        };
        self.answer(now, ip, out, index, quad, reply);
        self.settle(index);
        progress
    }

    /// A connection a completed handshake made joins its listener's accept queue.
    fn hand_to_listener(&mut self, index: usize) {
        let Some(conn) = self.conns.get(index) else {
            return;
        };
        if !conn.state.is_synchronized() {
            // It did not open after all: nobody will accept it.
            self.remove(index);
            return;
        }
        if let Some(listener) = self.listeners.get_mut(&conn.quad.local.port()) {
            listener.established(index);
        }
    }

    /// Sends the ACK of a connection in TIME-WAIT again.
    fn time_wait_ack(&mut self, now: Instant, ip: &mut IpLayer, out: &mut PacketQueue, quad: Quad) {
        let Some(header) = self.time_waits.ack(now, &quad) else {
            return;
        };
        let (src, dst) = (quad.local.ip(), quad.remote.ip());
        debug!("tcp: wrap -> {header} (TIME-WAIT)");
        let why = Reason::Tcp(Why::TimeWaitAck);
        if ip.send(
            out,
            (src, dst),
            IpProtocol::Tcp,
            header.buffer_len(),
            Some(why),
            |s| header.emit(s, src, dst),
        ) {
            self.stats.sent += 1;
        } else {
            self.stats.dropped.add(DropReason::QueueFull);
        }
    }

    /// RFC 9293 3.10.7.1: no connection takes this segment. Answer with a reset, unless it is
    /// one (never answer a RST with a RST).
    pub(super) fn closed_input(
        &mut self,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        quad: Quad,
        h: &Repr,
        reason: DropReason,
    ) {
        self.stats.dropped.add(reason);
        if h.flags.rst() {
            return;
        }
        let (seq, ack) = if h.flags.ack() {
            (h.ack, None)
        } else {
            (SeqNumber(0), Some(h.seq + h.segment_len()))
        };
        debug!(%quad, "tcp: no connection for this segment, reset");
        let why = ResetWhy::NoConnection {
            port: quad.local.port(),
        };
        self.send_rst(ip, out, quad, seq, ack, why);
    }

    /// Carries out a connection's [`Reply`].
    fn answer(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        index: usize,
        quad: Quad,
        reply: Reply,
    ) {
        match reply {
            Reply::None => {}
            Reply::Rst { seq, ack, why } => self.send_rst(ip, out, quad, seq, ack, why),
            Reply::ChallengeAck => {
                let Some(conn) = self.conns.get_mut(index) else {
                    return;
                };
                if self.challenge_acks.allow(now, &mut conn.last_challenge_ack) {
                    conn.rcv.owe_ack(false);
                    conn.why = Some(Why::ChallengeAck);
                } else {
                    debug!(%quad, "tcp: challenge ACK rate limit reached");
                    self.stats.dropped.add(DropReason::RateLimited);
                }
            }
        }
    }

    /// Queues a reset for `quad`.
    pub(super) fn send_rst(
        &mut self,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        quad: Quad,
        seq: SeqNumber,
        ack: Option<SeqNumber>,
        why: ResetWhy,
    ) {
        let mut flags = Flags::RST;
        if ack.is_some() {
            flags |= Flags::ACK;
        }
        let header = Repr {
            src_port: quad.local.port(),
            dst_port: quad.remote.port(),
            seq,
            ack: ack.unwrap_or(SeqNumber(0)),
            flags,
            window: 0,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::default(),
            timestamps: None,
            payload_len: 0,
        };
        let (src, dst) = (quad.local.ip(), quad.remote.ip());
        debug!("tcp: wrap -> {header}");
        let len = header.buffer_len();
        if ip.send(
            out,
            (src, dst),
            IpProtocol::Tcp,
            len,
            Some(Reason::Tcp(Why::Reset(why))),
            |segment| header.emit(segment, src, dst),
        ) {
            self.stats.sent += 1;
        } else {
            self.stats.dropped.add(DropReason::QueueFull);
        }
    }

    /// The next segment any connection wants to send, built into `buf` (with `parts`, its data
    /// may stay in the send buffer: [`Transmit::tail`]).
    pub(crate) fn transmit(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        buf: &mut Vec<u8>,
        parts: bool,
    ) -> Option<Transmit> {
        self.run_timers(now);
        self.conns.refresh();
        if let Some(transmit) = self.transmit_syn_ack(now, ip, buf) {
            return Some(transmit);
        }
        while let Some(index) = self.ready.pop_front() {
            self.conns.set_queued(index, false);
            let Some(conn) = self.conns.get_mut(index) else {
                continue;
            };
            // Trains only while no other connection waits its turn: several sending at once
            // take turns segment by segment, as they would without trains.
            let alone = self.ready.is_empty();
            let sent = conn.transmit(now, ip, buf, (parts, alone));
            if let Some(transmit) = sent {
                self.stats.sent += 1;
                // It may have more: ask again after the others had their turn.
                self.mark_ready(index);
                return Some(transmit);
            }
            // Nothing to send; a connection that closed meanwhile may be forgotten.
            let closed = self
                .conns
                .get(index)
                .is_some_and(|c| c.state == State::Closed && c.orphaned);
            if closed {
                self.remove(index);
            }
        }
        None
    }
}

/// Whether a segment showed that its sender hears us: it acknowledged data (or a SYN) of ours
/// that was not acknowledged before. The link layer takes that as proof that the neighbour on
/// the way is reachable (RFC 4861 7.3.1), and does not need to ask by ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing new acknowledged.
    None,
    /// The peer at this address acknowledged something new.
    From(IpAddr),
}
