//! The ICMPv6 layer: answers echo requests, sends our echo requests and the errors that tell a
//! sender its packet had nowhere to go, and passes the errors it receives to the transport
//! that sent the offending packet: ICMPv4's job ([`crate::ip::icmp`]), over IPv6.
//!
//! Errors obey [RFC 4443 2.4]: never about an ICMPv6 error, nor (except Packet Too Big and an
//! unknown option) about a packet sent to a multicast address or from one that is not a
//! single host's; at most 1280 bytes in all (the quote is cut to fit); rate-limited by the
//! same token bucket as ICMPv4's errors ([RFC 4443 2.4 (f)]).
//!
//! [RFC 4443 2.4]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4
//! [RFC 4443 2.4 (f)]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4

use std::net::Ipv6Addr;

use tracing::debug;

use super::eligible::is_icmpv6_error;
use super::header::{DstUnreachable, Packet, ParamProblem, Repr, TimeExceeded};
use super::{quote, MAX_INVOKING_LEN};
use crate::ip::error::{IcmpError, Problem};
use crate::ip::icmp::echo::EchoWaits;
use crate::ip::icmp::{RateLimit, TokenBucket};
use crate::ip::ipv6::layer::Ipv6Layer;
use crate::ip::IpProtocol;
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::stats::{DropReason, LayerStats};
use crate::time::Instant;

/// The ICMPv6 layer's state.
#[derive(Debug)]
pub(crate) struct Icmpv6Layer {
    /// Counters.
    pub(crate) stats: LayerStats,
    limiter: TokenBucket,
    /// The Identifier of our echo requests.
    echo_ident: u16,
    /// Echo requests in flight.
    pub(crate) echoes: EchoWaits,
}

impl Icmpv6Layer {
    /// The layer, with its error rate limit and the identifier of our echo requests.
    pub(crate) fn new(limit: RateLimit, echo_ident: u16) -> Icmpv6Layer {
        Icmpv6Layer {
            stats: LayerStats::default(),
            limiter: TokenBucket::new(limit),
            echo_ident,
            echoes: EchoWaits::default(),
        }
    }

    /// Handles one ICMPv6 message from `src` to `dst`. Returns an error report for the
    /// transport layer when the message is an error about a packet of ours.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        ip: &mut Ipv6Layer,
        out: &mut PacketQueue,
        (src, dst): (Ipv6Addr, Ipv6Addr),
        message: &[u8],
    ) -> Option<IcmpError> {
        self.stats.received += 1;
        let parsed = Packet::new_checked(message).and_then(|p| Repr::parse(&p, src, dst));
        let repr = match parsed {
            Ok(repr) => repr,
            Err(err) => {
                debug!(%src, %err, "icmpv6: drop malformed message");
                return self.stats.drop(err.into());
            }
        };
        debug!("icmpv6: unwrap {repr} from {src}");
        let problem = match repr {
            // RFC 4443 4.2: the reply carries the request's data; its source is the address
            // the request went to, or ours of the right scope when that was a group.
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                self.stats.delivered += 1;
                let reply = Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                let from = if dst.is_multicast() {
                    ip.src_for(src)
                } else {
                    Some(dst)
                };
                if let Some(from) = from {
                    self.send(ip, out, (from, src), &reply, None);
                }
                return None;
            }
            Repr::EchoReply { ident, seq_no, .. } if ident == self.echo_ident => {
                return self.echo_reply(now, seq_no)
            }
            Repr::DstUnreachable { code, .. } => match code {
                DstUnreachable::PortUnreachable => Problem::Refused,
                DstUnreachable::NoRoute => Problem::NetUnreachable,
                _ => Problem::HostUnreachable,
            },
            Repr::PacketTooBig { mtu, .. } => Problem::TooBig { mtu },
            Repr::TimeExceeded { .. } => Problem::TimeExceeded,
            Repr::ParamProblem { .. } => Problem::BadHeader,
            _ => {
                debug!("icmpv6: no handler for {repr}");
                return self.stats.drop(DropReason::Unhandled);
            }
        };
        let invoking = repr.invoking().unwrap_or_default();
        match IcmpError::about(problem, invoking) {
            Ok(error) => {
                self.stats.delivered += 1;
                Some(error)
            }
            Err(reason) => self.stats.drop(reason),
        }
    }

    /// Records the reply to one of our echo requests and wakes whoever waits for it.
    fn echo_reply(&mut self, now: Instant, seq_no: u16) -> Option<IcmpError> {
        if self.echoes.replied(seq_no, now).is_none() {
            return self.stats.drop(DropReason::NoSocket);
        }
        self.stats.delivered += 1;
        None
    }

    /// Wraps a message in IPv6 and queues it; counts a drop when it cannot go.
    fn send(
        &mut self,
        ip: &mut Ipv6Layer,
        out: &mut PacketQueue,
        (src, dst): (Ipv6Addr, Ipv6Addr),
        message: &Repr,
        why: Option<String>,
    ) -> bool {
        let len = message.buffer_len();
        debug!("icmpv6: wrap {message} for {dst}");
        let why = why.map(|text| Reason::Text(text.into()));
        if ip.send(out, (src, dst), IpProtocol::Icmpv6, len, why, |buf| {
            message.emit(buf, src, dst)
        }) {
            self.stats.sent += 1;
            true
        } else {
            self.stats.drop(DropReason::QueueFull).unwrap_or(false)
        }
    }

    /// Sends `error` about `offending` (a whole packet we received), quoting as much of it as
    /// fits in 1280 bytes, if RFC 4443 2.4 allows and the rate limit has a token.
    fn send_error<'a>(
        &mut self,
        now: Instant,
        ip: &mut Ipv6Layer,
        out: &mut PacketQueue,
        offending: &'a [u8],
        error: impl FnOnce(&'a [u8]) -> Repr<'a>,
        why: String,
    ) {
        let Ok(header) = crate::ip::ipv6::Packet::new_checked(offending) else {
            return;
        };
        let (to, was_to) = (header.src_addr(), header.dst_addr());
        let quoted = quote(offending);
        let message = error(quoted);
        let exempt = matches!(
            message,
            Repr::PacketTooBig { .. }
                | Repr::ParamProblem {
                    code: ParamProblem::UnrecognizedOption,
                    ..
                }
        );
        if (was_to.is_multicast() && !exempt)
            || to.is_unspecified()
            || to.is_multicast()
            || is_icmpv6_error(offending)
        {
            debug!(%to, "icmpv6: no error about this packet (RFC 4443 2.4 (e))");
            return;
        }
        if !self.limiter.try_take(now) {
            debug!(%to, "icmpv6: error rate limit reached");
            self.stats.drop::<()>(DropReason::RateLimited);
            return;
        }
        let from = if was_to.is_multicast() {
            ip.src_for(to)
        } else {
            Some(was_to)
        };
        if let Some(from) = from {
            debug_assert!(quoted.len() <= MAX_INVOKING_LEN);
            self.send(ip, out, (from, to), &message, Some(why));
        }
    }

    /// Tells the sender of `offending` that nothing listens on its port (UDP).
    pub(crate) fn send_port_unreachable(
        &mut self,
        now: Instant,
        ip: &mut Ipv6Layer,
        out: &mut PacketQueue,
        offending: &[u8],
        port: u16,
    ) {
        let why = format!("port unreachable: no socket on UDP port {port}");
        let code = DstUnreachable::PortUnreachable;
        self.send_error(
            now,
            ip,
            out,
            offending,
            |invoking| Repr::DstUnreachable { code, invoking },
            why,
        );
    }

    /// Tells the sender of `offending` which byte of its header we could not process
    /// ([RFC 8200 section 4]: an unknown Next Header, an option, a field).
    ///
    /// [RFC 8200 section 4]: https://www.rfc-editor.org/rfc/rfc8200#section-4
    pub(crate) fn send_param_problem(
        &mut self,
        now: Instant,
        ip: &mut Ipv6Layer,
        out: &mut PacketQueue,
        offending: &[u8],
        (code, pointer): (ParamProblem, u32),
    ) {
        let why = format!("parameter problem: {code} at byte {pointer}");
        self.send_error(
            now,
            ip,
            out,
            offending,
            |invoking| Repr::ParamProblem {
                code,
                pointer,
                invoking,
            },
            why,
        );
    }

    /// Tells the sender of `first_fragment` that its datagram's fragments did not all come in
    /// time ([RFC 8200 section 4.5]).
    ///
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    pub(crate) fn send_reassembly_timeout(
        &mut self,
        now: Instant,
        ip: &mut Ipv6Layer,
        out: &mut PacketQueue,
        first_fragment: &[u8],
    ) {
        let code = TimeExceeded::FragReassembly;
        let why = "time exceeded: fragment reassembly time exceeded".to_string();
        self.send_error(
            now,
            ip,
            out,
            first_fragment,
            |invoking| Repr::TimeExceeded { code, invoking },
            why,
        );
    }

    /// Sends echo request `seq_no` to `dst` and starts waiting for its reply; `false` when it
    /// cannot go (no source address of the right scope, or no room).
    pub(crate) fn send_echo_request(
        &mut self,
        now: Instant,
        ip: &mut Ipv6Layer,
        out: &mut PacketQueue,
        dst: Ipv6Addr,
        (seq_no, data): (u16, &[u8]),
    ) -> bool {
        let Some(src) = ip.src_for(dst) else {
            return false;
        };
        let message = Repr::EchoRequest {
            ident: self.echo_ident,
            seq_no,
            data,
        };
        if !self.send(ip, out, (src, dst), &message, None) {
            return false;
        }
        self.echoes.sent(seq_no, now);
        true
    }
}
