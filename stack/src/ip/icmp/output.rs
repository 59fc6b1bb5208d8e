//! ICMP output: echo replies and requests, and the errors that tell a sender its datagram had
//! nowhere to go.

use std::net::Ipv4Addr;

use tracing::debug;

use super::header::{DstUnreachable, Repr, TimeExceeded};
use super::{IcmpLayer, Why, ERROR_QUOTE_MAX};
use crate::ip::header::{parse_quoted, IpProtocol};
use crate::ip::Ipv4Layer;
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::stats::DropReason;
use crate::time::Instant;

impl IcmpLayer {
    /// Wraps an ICMP message in IPv4 and queues it; counts a drop when the queue is full.
    pub(crate) fn send(
        &mut self,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        dst: Ipv4Addr,
        message: &Repr,
        why: Option<Why>,
    ) -> bool {
        let why = why.map(Reason::Icmp);
        let len = message.buffer_len();
        debug!("icmp: wrap {message} for {dst}");
        if ip.send(out, dst, IpProtocol::Icmp, len, why, |buf| {
            message.emit(buf)
        }) {
            self.stats.sent += 1;
            true
        } else {
            debug!("icmp: output queue full, message dropped");
            self.stats.drop::<()>(DropReason::QueueFull);
            false
        }
    }

    /// Tells the sender of `offending` (a whole IPv4 packet we received and could not deliver)
    /// why, quoting the packet's start so that the sender can find the socket it came from.
    ///
    /// Rate-limited: when the bucket is empty the error is not sent, and counted as
    /// [`DropReason::RateLimited`].
    pub(crate) fn send_unreachable(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        reason: DstUnreachable,
        to: Ipv4Addr,
        offending: &[u8],
    ) {
        if !self.limiter.try_take(now) {
            debug!(%to, "icmp: error rate limit reached, not sending {reason:?}");
            self.stats.drop::<()>(DropReason::RateLimited);
            return;
        }
        // At most 548 bytes (RFC 1812), and never more than the link carries.
        let quote_len = offending.len().min(ERROR_QUOTE_MAX).min(self.max_data());
        let quote = &offending[..quote_len];
        let message = Repr::DstUnreachable {
            reason,
            invoking: quote,
        };
        let why = why_unreachable(reason, offending);
        self.send(ip, out, to, &message, Some(why));
    }

    /// Tells the sender of `offending` that its datagram was discarded for `reason`: for this
    /// host, "fragment reassembly time exceeded", quoting the first fragment. Rate-limited like
    /// destination unreachable.
    pub(crate) fn send_time_exceeded(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        reason: TimeExceeded,
        to: Ipv4Addr,
        offending: &[u8],
    ) {
        if !self.limiter.try_take(now) {
            debug!(%to, "icmp: error rate limit reached, not sending time exceeded");
            self.stats.drop::<()>(DropReason::RateLimited);
            return;
        }
        let quote_len = offending.len().min(ERROR_QUOTE_MAX).min(self.max_data());
        let message = Repr::TimeExceeded {
            reason,
            invoking: &offending[..quote_len],
        };
        self.send(ip, out, to, &message, Some(Why::TimeExceeded(reason)));
    }

    /// Sends echo request number `seq_no` to `dst` and starts waiting for its reply.
    pub(crate) fn send_echo_request(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        dst: Ipv4Addr,
        seq_no: u16,
        data: &[u8],
    ) -> bool {
        let message = Repr::EchoRequest {
            ident: self.echo_ident,
            seq_no,
            data,
        };
        if !self.send(ip, out, dst, &message, None) {
            return false;
        }
        self.echoes.sent(seq_no, now);
        true
    }
}

/// Why the error about `offending` is sent: which port or protocol had nobody behind it, as
/// the quoted datagram says.
fn why_unreachable(reason: DstUnreachable, offending: &[u8]) -> Why {
    let Ok((header, header_len)) = parse_quoted(offending) else {
        return Why::Unreachable(reason);
    };
    let protocol = header.protocol;
    match reason {
        // The destination port: bytes 2 and 3 of a UDP (or TCP) header.
        DstUnreachable::PortUnreachable => match offending.get(header_len + 2..header_len + 4) {
            Some(&[high, low]) => Why::PortUnreachable {
                protocol,
                port: u16::from_be_bytes([high, low]),
            },
            _ => Why::Unreachable(reason),
        },
        DstUnreachable::ProtoUnreachable => Why::ProtoUnreachable { protocol },
        other => Why::Unreachable(other),
    }
}
