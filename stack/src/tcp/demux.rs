//! TCP demultiplexing: which connection (or listener) a segment is for, and the answers for
//! segments that have none ([RFC 9293 3.10.7.1] CLOSED, [3.10.7.2] LISTEN).
//!
//! A connection is found by its full 4-tuple: many connections share the server's port 80, told
//! apart by the clients' addresses and ports (the course's 5-tuple, with TCP as the protocol).
//! Only a SYN for no existing connection goes to the listener on its port.
//!
//! [RFC 9293 3.10.7.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
//! [3.10.7.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.2

use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddrV4};

use tracing::debug;

use super::connection::{Connection, Quad};
use super::flags::Flags;
use super::header::{Packet, Repr};
use super::input::{Reply, Segment};
use super::options::SackBlocks;
use super::seq::SeqNumber;
use super::state::State;
use super::TcpLayer;
use crate::host::Transmit;
use crate::ip::header::IpProtocol;
use crate::ip::Ipv4Layer;
use crate::queue::PacketQueue;
use crate::stats::DropReason;
use crate::time::Instant;

impl TcpLayer {
    /// Handles one TCP segment (the IP payload) from `src` to `dst`.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        (src, dst): (Ipv4Addr, Ipv4Addr),
        bytes: &[u8],
    ) {
        self.stats.received += 1;
        let parsed =
            Packet::new_checked(bytes).and_then(|p| Repr::parse(&p, src, dst).map(|h| (p, h)));
        let (packet, header) = match parsed {
            Ok(parsed) => parsed,
            Err(err) => {
                debug!(%src, %err, "tcp: drop malformed segment");
                self.stats.dropped.add(err.into());
                return;
            }
        };
        debug!("tcp: unwrap {header}");
        let segment = Segment {
            header,
            payload: packet.payload(),
        };
        let quad = Quad {
            local: SocketAddrV4::new(dst, header.dst_port),
            remote: SocketAddrV4::new(src, header.src_port),
        };

        if let Some(&index) = self.by_quad.get(&quad) {
            if !self.reopens_time_wait(index, &header) {
                self.stats.delivered += 1;
                let reply = match self.slots[index].conn.as_mut() {
                    Some(conn) => {
                        let reply = conn.on_segment(now, &segment);
                        if conn.ack_immediately && conn.send_ack_now(now, ip, out) {
                            self.stats.sent += 1;
                        }
                        reply
                    }
                    None => Reply::None,
                };
                self.answer(now, ip, out, index, quad, reply);
                self.settle(index);
                return;
            }
            self.remove(index);
        }
        if self.listeners.contains_key(&quad.local.port()) {
            self.listen_input(now, ip, out, quad, &segment);
            return;
        }
        self.closed_input(ip, out, quad, &header, DropReason::NoSocket);
    }

    /// A SYN for a 4-tuple in TIME-WAIT may start a new connection if its sequence number is
    /// beyond the old one's (RFC 9293 3.10.7.4 allows it; RFC 6191 describes the rule).
    fn reopens_time_wait(&self, index: usize, header: &Repr) -> bool {
        self.slots[index].conn.as_ref().is_some_and(|conn| {
            conn.state == State::TimeWait
                && header.flags.syn()
                && !header.flags.ack()
                && header.seq > conn.rcv_nxt.wrap(conn.irs)
                && conn.orphaned
        })
    }

    /// RFC 9293 3.10.7.2: a segment for a listening port.
    fn listen_input(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        quad: Quad,
        segment: &Segment<'_>,
    ) {
        let h = &segment.header;
        // First, check for a RST: there is nothing to reset.
        if h.flags.rst() {
            return self.stats.dropped.add(DropReason::Unhandled);
        }
        // Second, check for an ACK: no connection exists for it to acknowledge.
        if h.flags.ack() {
            return self.closed_input(ip, out, quad, h, DropReason::Unhandled);
        }
        // Third, check for a SYN.
        if !h.flags.syn() {
            return self.stats.dropped.add(DropReason::Unhandled);
        }
        let Some(listener) = self.listeners.get(&quad.local.port()) else {
            return;
        };
        if listener.is_full() {
            debug!(%quad, "tcp: backlog full, SYN dropped");
            return self.stats.dropped.add(DropReason::QueueFull);
        }
        let iss = self.iss_for(&quad, now);
        let mut conn = Connection::new(quad, State::SynReceived, iss, self.our_mss, &self.config);
        conn.ts_offset = self.isn.ts_offset(quad.local, quad.remote);
        conn.learn_peer(h);
        conn.stats.segments_in += 1;
        debug!(%quad, %iss, "tcp: SYN to a listener, answering with SYN-ACK");
        self.stats.delivered += 1;
        let id = self.insert(conn);
        if let Some(listener) = self.listeners.get_mut(&quad.local.port()) {
            listener.add_half_open(id.index);
        }
    }

    /// RFC 9293 3.10.7.1: no connection takes this segment. Answer with a reset, unless it is
    /// one (never answer a RST with a RST).
    fn closed_input(
        &mut self,
        ip: &mut Ipv4Layer,
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
        let why = format!("reset: no connection on port {}", quad.local.port());
        self.send_rst(ip, out, quad, seq, ack, why);
    }

    /// Carries out a connection's [`Reply`].
    fn answer(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        index: usize,
        quad: Quad,
        reply: Reply,
    ) {
        match reply {
            Reply::None => {}
            Reply::Rst { seq, ack, why } => self.send_rst(ip, out, quad, seq, ack, why.into()),
            Reply::ChallengeAck => {
                let Some(conn) = self.slots[index].conn.as_mut() else {
                    return;
                };
                if self.challenge_acks.allow(now, &mut conn.last_challenge_ack) {
                    conn.ack_now = true;
                    conn.note = Some("challenge ACK (RFC 5961)".into());
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
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        quad: Quad,
        seq: SeqNumber,
        ack: Option<SeqNumber>,
        why: String,
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
        let (src, dst) = (*quad.local.ip(), *quad.remote.ip());
        debug!("tcp: wrap -> {header}");
        let len = header.buffer_len();
        if ip.send(
            out,
            dst,
            IpProtocol::Tcp,
            len,
            Some(Cow::Owned(why)),
            |segment| header.emit(segment, src, dst),
        ) {
            self.stats.sent += 1;
        } else {
            self.stats.dropped.add(DropReason::QueueFull);
        }
    }

    /// The next segment any connection wants to send, built into `buf`.
    pub(crate) fn transmit(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        buf: &mut Vec<u8>,
    ) -> Option<Transmit> {
        self.run_timers(now);
        while let Some(index) = self.ready.pop_front() {
            self.slots[index].queued = false;
            let Some(conn) = self.slots[index].conn.as_mut() else {
                continue;
            };
            let sent = conn.transmit(now, ip, buf);
            if let Some(transmit) = sent {
                self.stats.sent += 1;
                // It may have more: ask again after the others had their turn.
                self.mark_ready(index);
                return Some(transmit);
            }
            // Nothing to send; a connection that closed meanwhile may be forgotten.
            let closed = self.slots[index]
                .conn
                .as_ref()
                .is_some_and(|c| c.state == State::Closed && c.orphaned);
            if closed {
                self.remove(index);
            }
        }
        None
    }
}
