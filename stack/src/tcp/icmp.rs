//! ICMP errors about our segments ([RFC 1122 4.2.3.9], [RFC 5927]).
//!
//! When a router cannot deliver a segment, or the destination host has no TCP or refuses the
//! port, it may answer with an ICMP "destination unreachable" that quotes the start of our
//! segment: its IP header, ports and sequence number. The ICMP layer finds which connection
//! it is about; here TCP decides what it means:
//!
//! - while connecting (SYN-SENT, SYN-RECEIVED), the error ends the attempt at once, with the
//!   error's meaning (`ConnectionRefused` for port or protocol unreachable, `HostUnreachable`,
//!   `NetworkUnreachable`), instead of resending the SYN for two minutes. Linux does the same;
//! - once connected, it is a "soft error" (RFC 1122; RFC 5461 says even port unreachable
//!   should be): routes come back, so the connection goes on, and the error is only kept, to
//!   be reported instead of `TimedOut` if the connection does time out later.
//!
//! The quoted sequence number must lie within what we have sent and not yet had acknowledged
//! (SND.UNA to SND.MAX), else the message is ignored: anyone can send an ICMP message, and
//! only one about a segment in flight can be genuine ([RFC 5927 4.1]).
//!
//! [RFC 1122 4.2.3.9]: https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.9
//! [RFC 5927]: https://www.rfc-editor.org/rfc/rfc5927
//! [RFC 5927 4.1]: https://www.rfc-editor.org/rfc/rfc5927#section-4.1

use tracing::debug;

use super::connection::Quad;
use super::pos::Pos;
use super::seq::SeqNumber;
use super::state::State;
use super::TcpLayer;
use crate::ip::error::{IcmpError, Problem};
use crate::ip::layer::IpLayer;
use crate::stats::DropReason;
use crate::time::Instant;

impl TcpLayer {
    /// An ICMP error quoting a segment of ours: the connection it is about may end, or note it;
    /// a smaller path MTU shrinks the segments of every connection to that peer.
    pub(crate) fn icmp_error(&mut self, now: Instant, ip: &mut IpLayer, error: &IcmpError) {
        let quad = Quad {
            local: error.local,
            remote: error.remote,
        };
        let Some(&index) = self.by_quad.get(&quad) else {
            debug!(%quad, "tcp: ICMP error for no connection of ours");
            return;
        };
        let Some(conn) = self.conns.get_mut(index) else {
            return;
        };
        let in_flight = error
            .quoted_seq
            .map(|seq| Pos::unwrap(SeqNumber(seq), conn.snd.iss, conn.snd.una))
            .is_some_and(|seq| conn.snd.una <= seq && seq < conn.snd.max);
        if !in_flight {
            debug!(%quad, seq = ?error.quoted_seq, "tcp: ICMP error about no segment in flight, ignored");
            self.stats.dropped.add(DropReason::Unhandled);
            return;
        }
        if let Problem::TooBig { mtu } = error.problem {
            let remote = quad.remote.ip();
            ip.pmtu.lower(now, remote, mtu, error.sent_len);
            self.path_mtu_changed(now, remote, ip.path_mss(remote));
            return;
        }
        // Time exceeded is a routing loop's doing, and passes.
        let Some(kind) = error.problem.kind() else {
            return;
        };
        if matches!(conn.state, State::SynSent | State::SynReceived) {
            debug!(%quad, ?kind, "tcp: ICMP error while connecting, the attempt ends");
            conn.fail(kind);
            if conn.passive {
                // A half-open connection of a listener: forgotten, as after a RST.
                conn.orphaned = true;
            }
            self.settle(index);
        } else {
            debug!(%quad, ?kind, "tcp: ICMP error, kept as a soft error");
            conn.soft_error = Some(kind);
        }
    }

    /// The path to `remote` now carries segments of `mss` bytes of data (less or more than
    /// before): every connection to it sizes its segments so. Going down, what is in flight
    /// and larger was dropped on the way: it is sent again at once, in smaller segments,
    /// without the congestion response of a loss (RFC 1191 section 6.5; Linux's
    /// `tcp_simple_retransmit`). Going up (the value aged out), segments grow back to what the
    /// handshake agreed.
    pub(crate) fn path_mtu_changed(&mut self, now: Instant, remote: std::net::IpAddr, mss: usize) {
        let mss = mss.max(super::config::MIN_MSS);
        // A scan of every connection, for a rare event: a router's report.
        let toward: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, conn)| conn.quad.remote.ip() == remote)
            .map(|(index, _)| index)
            .collect();
        for index in toward {
            let Some(conn) = self.conns.get_mut(index) else {
                continue;
            };
            conn.snd.mss_path = mss;
            let new = mss.min(conn.snd.mss_agreed);
            if new == conn.snd.mss {
                continue;
            }
            let smaller = new < conn.snd.mss && conn.state.is_synchronized();
            debug!(quad = %conn.quad, from = conn.snd.mss, to = new, "tcp: path MTU changed, segment size too");
            conn.snd.mss = new;
            if smaller && conn.snd.in_flight() > 0 {
                conn.resend_smaller(now, new);
                self.mark_ready(index);
            }
        }
    }
}

impl super::connection::Connection {
    /// Sends again from SND.UNA in segments of the new size: the larger ones in flight did
    /// not get through.
    fn resend_smaller(&mut self, now: Instant, mss: usize) {
        let _ = now;
        // Karn: what goes again cannot be timed.
        self.timers.timed = None;
        self.timers.sent_times.clear();
        // The duplicate ACKs our resending draws start no fast recovery (RFC 6582's guard).
        self.rec.recover = self.snd.max;
        self.snd.go_back();
        let header = if self.quad.remote.is_ipv6() { 60 } else { 40 };
        self.why = Some(super::why::Why::PathMtu { mtu: mss + header });
    }
}
