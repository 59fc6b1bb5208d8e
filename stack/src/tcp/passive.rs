//! LISTEN ([RFC 9293 3.10.7.2]): SYNs start handshakes in the listener's SYN queue, or get a
//! SYN cookie when it is full; the client's ACK completes a handshake and makes the
//! connection.
//!
//! [RFC 9293 3.10.7.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.2

use tracing::debug;

use super::connection::{Connection, Quad};
use super::input::Segment;
use super::seq::SeqNumber;
use super::state::State;
use super::syn_queue::{HalfOpen, PeerSyn};
use super::why::Why;
use super::{syncookie, TcpLayer};
use crate::host::Transmit;
use crate::ip::header::IpProtocol;
use crate::ip::layer::IpLayer;
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::stats::DropReason;
use crate::time::Instant;

impl TcpLayer {
    /// A segment for a listening port and no connection. Returns the table slot of the
    /// connection it completed, to which the segment is then delivered.
    pub(super) fn listen_input(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        quad: Quad,
        segment: &Segment<'_>,
    ) -> Option<usize> {
        let h = &segment.header;
        // First, check for a RST: there is nothing to reset.
        if h.flags.rst() {
            return self.stats.drop(DropReason::Unhandled);
        }
        // Second, check for an ACK: it may complete a handshake; otherwise reset.
        if h.flags.ack() {
            return self.ack_to_listener(now, ip, out, quad, segment);
        }
        // Third, check for a SYN.
        if !h.flags.syn() {
            return self.stats.drop(DropReason::Unhandled);
        }
        self.syn_to_listener(now, ip, out, quad, PeerSyn::of(h));
        None
    }

    /// A SYN: a handshake in the SYN queue, or a cookie if the queue is full.
    fn syn_to_listener(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        quad: Quad,
        peer: PeerSyn,
    ) {
        let port = quad.local.port();
        let Some(listener) = self.listeners.get(&port) else {
            return;
        };
        if !listener.binding.takes(quad.local.ip()) {
            return;
        }
        let queued = listener.syn_queue.get(&quad).copied();
        let full = listener.syn_queue.is_full();
        let (iss, cookie, why) = match queued {
            // The client sent its SYN again: our SYN-ACK was lost. Answer again.
            Some(entry) if entry.peer.irs == peer.irs => (entry.iss, false, Why::SynAckRepeated),
            // A new handshake (or a new ISN for the same 4-tuple: start over).
            _ if queued.is_some() || !full => (self.queue_syn(now, quad, peer), false, Why::SynAck),
            _ if self.config.syn_cookies => {
                if let Some(listener) = self.listeners.get_mut(&port) {
                    listener.sent_cookie(now);
                }
                self.handshakes.syn_cookies_sent += 1;
                let mss = peer.mss.unwrap_or(536);
                debug!(%quad, "tcp: SYN queue full, SYN-ACK with a cookie");
                (
                    self.cookies.make(now, &quad, peer.irs, mss),
                    true,
                    Why::SynAckCookie,
                )
            }
            _ => {
                debug!(%quad, "tcp: SYN queue full, SYN dropped");
                return self.stats.dropped.add(DropReason::QueueFull);
            }
        };
        self.send_syn_ack(ip, out, quad, iss, &peer, now, cookie, why);
    }

    /// Starts a handshake in the SYN queue; returns our ISS.
    fn queue_syn(&mut self, now: Instant, quad: Quad, peer: PeerSyn) -> SeqNumber {
        let iss = self.iss_for(&quad, now);
        let entry = HalfOpen {
            peer,
            iss,
            first_sent: now,
            resent: 0,
            resend_at: now + self.config.rto.initial,
        };
        if let Some(listener) = self.listeners.get_mut(&quad.local.port()) {
            listener.syn_queue.insert(quad, entry);
        }
        self.handshakes.syns_queued += 1;
        debug!(%quad, %iss, "tcp: SYN to a listener, answering with SYN-ACK");
        iss
    }

    /// An ACK to a listener: the third segment of a handshake in the SYN queue, or one
    /// bringing a cookie back; anything else is reset.
    fn ack_to_listener(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        quad: Quad,
        segment: &Segment<'_>,
    ) -> Option<usize> {
        let h = &segment.header;
        let listener = self.listeners.get_mut(&quad.local.port())?;
        let from_queue = listener.syn_queue.get(&quad).copied();
        // Karn: an RTT sample from the SYN-ACK only if it went once.
        let opened = match from_queue {
            Some(entry) if h.ack == entry.iss + 1 => {
                let sent = (entry.resent == 0).then_some(entry.first_sent);
                Some((entry.iss, entry.peer, sent))
            }
            Some(_) => None,
            None if listener.expects_cookies(now) => self
                .check_cookie(now, &quad, segment)
                .map(|peer| (h.ack - 1, peer, None)),
            None => None,
        };
        let Some((iss, peer, sent)) = opened else {
            self.closed_input(ip, out, quad, h, DropReason::Unhandled);
            return None;
        };
        let listener = self.listeners.get_mut(&quad.local.port())?;
        if listener.accept_queue_is_full() {
            // The client will send again; the application may have taken one by then.
            debug!(%quad, "tcp: accept queue full, the handshake's ACK dropped");
            self.handshakes.accept_queue_overflows += 1;
            return self.stats.drop(DropReason::QueueFull);
        }
        listener.syn_queue.remove(&quad);
        Some(self.open_passive(now, quad, iss, &peer, sent))
    }

    /// What the client's SYN offered, if the ACK brings back a cookie that checks out (our
    /// ISS is then its acknowledgment number less one).
    fn check_cookie(
        &mut self,
        now: Instant,
        quad: &Quad,
        segment: &Segment<'_>,
    ) -> Option<PeerSyn> {
        let h = &segment.header;
        let (irs, iss) = (h.seq - 1, h.ack - 1);
        let Some(decoded) = self.cookies.check(now, quad, irs, iss) else {
            self.handshakes.syn_cookies_rejected += 1;
            return None;
        };
        self.handshakes.syn_cookies_accepted += 1;
        // With timestamps, the client's other options came back in our echoed timestamp.
        let (window_scale, sack_permitted) = h
            .timestamps
            .map_or((None, false), |ts| syncookie::options_from_echo(ts.echo));
        let peer = PeerSyn {
            irs,
            mss: Some(decoded.mss),
            window_scale,
            sack_permitted,
            ts_value: h.timestamps.map(|ts| ts.value),
        };
        debug!(%quad, mss = decoded.mss, "tcp: a valid SYN cookie, the connection opens");
        Some(peer)
    }

    /// Makes the connection of a completed handshake: as if it had been in SYN-RECEIVED all
    /// along, our SYN-ACK sent; the ACK that completes it is delivered next.
    fn open_passive(
        &mut self,
        now: Instant,
        quad: Quad,
        iss: SeqNumber,
        peer: &PeerSyn,
        syn_ack_sent: Option<Instant>,
    ) -> usize {
        let mss = self.mss_for(quad.remote.ip());
        let mut conn = Connection::new(quad, State::SynReceived, iss, mss, &self.config);
        conn.ts_offset = self.isn.ts_offset(quad.local, quad.remote);
        conn.learn_peer(peer);
        conn.snd.syn_ack_sent();
        conn.window_to_announce(true);
        if let Some(sent) = syn_ack_sent {
            conn.rtt_sample(now - sent);
        }
        self.stats.delivered += 1;
        self.insert(conn).index
    }

    /// Queues a SYN-ACK. `cookie`: the client's window scale and SACK ride in the timestamp.
    #[allow(clippy::too_many_arguments)]
    fn send_syn_ack(
        &mut self,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        quad: Quad,
        iss: SeqNumber,
        peer: &PeerSyn,
        now: Instant,
        cookie: bool,
        why: Why,
    ) {
        let header = self.syn_ack_header(now, &quad, iss, peer, cookie);
        let (src, dst) = (quad.local.ip(), quad.remote.ip());
        debug!("tcp: wrap -> {header}");
        let len = header.buffer_len();
        let sent = ip.send(
            out,
            (src, dst),
            IpProtocol::Tcp,
            len,
            Some(Reason::Tcp(why)),
            |s| header.emit(s, src, dst),
        );
        if sent {
            self.stats.sent += 1;
        } else {
            self.stats.dropped.add(DropReason::QueueFull);
        }
    }

    /// Our SYN-ACK to `peer`, with the timestamp clock of its 4-tuple.
    fn syn_ack_header(
        &self,
        now: Instant,
        quad: &Quad,
        iss: SeqNumber,
        peer: &PeerSyn,
        cookie: bool,
    ) -> super::header::Repr {
        let clock =
            (now.total_millis() as u32).wrapping_add(self.isn.ts_offset(quad.local, quad.remote));
        let sack = peer.sack_permitted && self.config.sack;
        let tsval = if cookie {
            syncookie::timestamp_with_options(clock, peer.window_scale, sack)
        } else {
            clock
        };
        self.our_syn.syn_ack(quad, iss, peer, tsval)
    }

    /// Runs the SYN queues' timers: SYN-ACKs due again are queued for [`Self::transmit`].
    pub(super) fn run_syn_queues(&mut self, now: Instant) {
        let (rto, retries) = (self.config.rto.initial, self.config.synack_retries);
        for listener in self.listeners.values_mut() {
            if listener.syn_queue.poll_at().is_none_or(|at| at > now) {
                continue;
            }
            let expired = listener.syn_queue.on_timer(now, rto, retries);
            self.handshakes.handshakes_expired += expired.dropped;
            self.synacks_due.extend(expired.resend);
        }
    }

    /// A SYN-ACK due again, built into `buf`.
    pub(super) fn transmit_syn_ack(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        buf: &mut Vec<u8>,
    ) -> Option<Transmit> {
        while let Some(quad) = self.synacks_due.pop_front() {
            let Some(entry) = self
                .listeners
                .get(&quad.local.port())
                .and_then(|l| l.syn_queue.get(&quad).copied())
            else {
                continue; // completed or dropped meanwhile
            };
            let header = self.syn_ack_header(now, &quad, entry.iss, &entry.peer, false);
            let tcp_len = header.buffer_len();
            let (src, dst) = (quad.local.ip(), quad.remote.ip());
            let ip_len = IpLayer::header_len(dst);
            buf.clear();
            buf.resize(ip_len + tcp_len, 0);
            header.emit(&mut buf[ip_len..], src, dst);
            ip.wrap(buf, (src, dst), IpProtocol::Tcp, tcp_len);
            self.stats.sent += 1;
            self.handshakes.syn_ack_retransmissions += 1;
            return Some(Transmit::plain(Some(Reason::Tcp(Why::SynAckAgain {
                n: entry.resent,
            }))));
        }
        None
    }
}
