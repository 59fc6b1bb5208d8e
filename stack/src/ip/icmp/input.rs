//! ICMP input: answer echo requests, match echo replies, pass errors up.

use std::net::{Ipv4Addr, SocketAddrV4};

use tracing::debug;

use super::header::{DstUnreachable, Packet, Repr};
use super::IcmpLayer;
use crate::ip::header::{self as ip_header, IpProtocol};
use crate::ip::Ipv4Layer;
use crate::queue::PacketQueue;
use crate::stats::DropReason;
use crate::time::Instant;

/// An ICMP error about a datagram we sent, for the transport that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IcmpError {
    /// Destination unreachable (with its reason) or `None` for time exceeded.
    pub(crate) unreachable: Option<DstUnreachable>,
    /// The transport protocol of the offending datagram.
    pub(crate) protocol: IpProtocol,
    /// Our port in the offending datagram (its source port).
    pub(crate) local_port: u16,
    /// Where the offending datagram was going.
    pub(crate) remote: SocketAddrV4,
}

impl IcmpLayer {
    /// Handles one ICMP message addressed to us. Returns an error report for the transport layer
    /// when the message is an error about a datagram of ours.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        from: Ipv4Addr,
        message: &[u8],
    ) -> Option<IcmpError> {
        self.stats.received += 1;
        let parsed = Packet::new_checked(message).and_then(|p| Repr::parse(&p));
        let repr = match parsed {
            Ok(repr) => repr,
            Err(err) => {
                debug!(%from, %err, "icmp: drop malformed message");
                return self.stats.drop(err.into());
            }
        };
        debug!("icmp: unwrap {repr} from {from}");
        match repr {
            // RFC 792: "the data received in the echo message must be returned in the echo reply".
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
                self.send(ip, out, from, &reply, None);
                None
            }
            Repr::EchoReply { ident, seq_no, .. } if ident == self.echo_ident => {
                self.echo_reply(now, seq_no)
            }
            Repr::DstUnreachable { reason, invoking } => self.error_about(Some(reason), invoking),
            Repr::TimeExceeded { invoking, .. } => self.error_about(None, invoking),
            _ => {
                debug!("icmp: no handler for {repr}");
                self.stats.drop(DropReason::Unhandled)
            }
        }
    }

    /// Records the reply to one of our echo requests and wakes whoever waits for it.
    fn echo_reply(&mut self, now: Instant, seq_no: u16) -> Option<IcmpError> {
        let Some(pending) = self.pending.get_mut(&seq_no) else {
            debug!(seq_no, "icmp: echo reply matches no request of ours");
            return self.stats.drop(DropReason::NoSocket);
        };
        if pending.rtt.is_none() {
            let rtt = now - pending.sent_at;
            debug!(seq_no, rtt_us = rtt.as_micros() as u64, "icmp: echo reply");
            pending.rtt = Some(rtt);
            if let Some(waker) = pending.waker.take() {
                waker.wake();
            }
        }
        self.stats.delivered += 1;
        None
    }

    /// Reads the quoted datagram of an error message: its IP header and the first 8 bytes of its
    /// transport header, which hold the ports (RFC 792 quotes at least that much).
    fn error_about(
        &mut self,
        unreachable: Option<DstUnreachable>,
        invoking: &[u8],
    ) -> Option<IcmpError> {
        let Ok((quoted, header_len)) = ip_header::parse_quoted(invoking) else {
            debug!("icmp: error quotes no readable IP header");
            return self.stats.drop(DropReason::Truncated);
        };
        let Some(ports) = invoking.get(header_len..header_len + 4) else {
            debug!("icmp: error quotes too little of the datagram to find its ports");
            return self.stats.drop(DropReason::Truncated);
        };
        self.stats.delivered += 1;
        Some(IcmpError {
            unreachable,
            protocol: quoted.protocol,
            local_port: u16::from_be_bytes([ports[0], ports[1]]),
            remote: SocketAddrV4::new(quoted.dst_addr, u16::from_be_bytes([ports[2], ports[3]])),
        })
    }
}
