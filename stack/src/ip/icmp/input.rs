//! ICMP input: answer echo requests, match echo replies, pass errors up.

use std::net::Ipv4Addr;

use tracing::debug;

use super::header::{DstUnreachable, Packet, Repr};
use super::IcmpLayer;
use crate::ip::error::{IcmpError, Problem};
use crate::ip::Ipv4Layer;
use crate::queue::PacketQueue;
use crate::stats::DropReason;
use crate::time::Instant;

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
            // A reply larger than our MTU (the request came in fragments, or from a peer with a
            // larger MTU) goes in fragments, as on Linux (RFC 1122 3.2.2.6 allows truncation
            // only for a host that does not fragment).
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
            Repr::DstUnreachable { reason, invoking } => {
                self.error_about(reason.problem(), invoking)
            }
            Repr::TimeExceeded { invoking, .. } => {
                self.error_about(Problem::TimeExceeded, invoking)
            }
            _ => {
                debug!("icmp: no handler for {repr}");
                self.stats.drop(DropReason::Unhandled)
            }
        }
    }

    /// Records the reply to one of our echo requests and wakes whoever waits for it.
    fn echo_reply(&mut self, now: Instant, seq_no: u16) -> Option<IcmpError> {
        let Some(rtt) = self.echoes.replied(seq_no, now) else {
            debug!(seq_no, "icmp: echo reply matches no request of ours");
            return self.stats.drop(DropReason::NoSocket);
        };
        debug!(seq_no, rtt_us = rtt.as_micros() as u64, "icmp: echo reply");
        self.stats.delivered += 1;
        None
    }

    /// Reads the quoted datagram of an error message, counting it as delivered or dropped.
    fn error_about(&mut self, problem: Problem, invoking: &[u8]) -> Option<IcmpError> {
        match IcmpError::about(problem, invoking) {
            Ok(error) => {
                self.stats.delivered += 1;
                Some(error)
            }
            Err(reason) => self.stats.drop(reason),
        }
    }
}

impl DstUnreachable {
    /// What this reason means to a transport.
    pub(crate) fn problem(self) -> Problem {
        match self {
            DstUnreachable::PortUnreachable | DstUnreachable::ProtoUnreachable => Problem::Refused,
            DstUnreachable::NetUnreachable => Problem::NetUnreachable,
            DstUnreachable::FragRequired { next_hop_mtu } => Problem::TooBig {
                mtu: u32::from(next_hop_mtu),
            },
            DstUnreachable::HostUnreachable | DstUnreachable::Other(_) => Problem::HostUnreachable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::header as ip;
    use crate::ip::icmp::RateLimit;

    const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

    fn layers(mtu: usize) -> (IcmpLayer, Ipv4Layer, PacketQueue) {
        let cidr = "10.77.0.2/24".parse().unwrap();
        (
            IcmpLayer::new(RateLimit::default(), 7, mtu),
            Ipv4Layer::new(cidr, 64, 1),
            PacketQueue::new(8),
        )
    }

    fn echo_request(data: &[u8]) -> Vec<u8> {
        let repr = Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 9,
            data,
        };
        let mut message = vec![0; repr.buffer_len()];
        repr.emit(&mut message);
        message
    }

    /// The one packet the layer queued, checked and unwrapped: its length and ICMP message.
    fn sent(out: &mut PacketQueue) -> (usize, Vec<u8>) {
        let mut packet = Vec::new();
        out.pop_into(&mut packet).expect("a packet was queued");
        assert!(out.pop_into(&mut Vec::new()).is_none(), "only one");
        let view = ip::Packet::new_checked(&packet[..]).unwrap();
        assert!(ip::Repr::parse(&view).is_ok());
        (packet.len(), view.payload().to_vec())
    }

    #[test]
    fn returns_the_whole_data_of_an_echo_that_fits() {
        let (mut icmp, mut ip, mut out) = layers(1500);
        let data: Vec<u8> = (0..1472u32).map(|i| i as u8).collect();
        let request = echo_request(&data);
        assert_eq!(
            icmp.receive(Instant::ZERO, &mut ip, &mut out, PEER, &request),
            None
        );
        let (len, reply) = sent(&mut out);
        assert_eq!(len, 1500);
        let expected = Repr::EchoReply {
            ident: 0x1234,
            seq_no: 9,
            data: &data,
        };
        assert_eq!(
            Repr::parse(&Packet::new_checked(&reply[..]).unwrap()),
            Ok(expected)
        );
    }

    /// Found by the `host_receive` fuzz target: a 1523-byte echo request (a peer's MTU may be
    /// larger than ours) was answered with a 1523-byte reply, over our MTU of 1500. No packet
    /// goes over the MTU: the whole reply goes in two fragments.
    #[test]
    fn an_echo_reply_over_the_mtu_goes_in_fragments() {
        let (mut icmp, mut ip, mut out) = layers(1500);
        let data: Vec<u8> = (0..1495u32).map(|i| (i * 7) as u8).collect();
        let request = echo_request(&data);
        assert_eq!(ip::HEADER_LEN + request.len(), 1523);
        icmp.receive(Instant::ZERO, &mut ip, &mut out, PEER, &request);
        let mut message = Vec::new();
        let mut packet = Vec::new();
        let mut lens = Vec::new();
        while out.pop_into(&mut packet).is_some() {
            let view = ip::Packet::new_checked(&packet[..]).unwrap();
            let header = ip::Repr::parse(&view).unwrap();
            assert_eq!(usize::from(header.fragment_offset), message.len());
            assert!(!header.dont_fragment);
            message.extend_from_slice(view.payload());
            lens.push(packet.len());
        }
        assert_eq!(lens, [1500, 43]);
        let expected = Repr::EchoReply {
            ident: 0x1234,
            seq_no: 9,
            data: &data,
        };
        assert_eq!(
            Repr::parse(&Packet::new_checked(&message[..]).unwrap()),
            Ok(expected)
        );
    }

    /// On a link smaller than the 576 bytes an error may take, the quote is cut to fit.
    #[test]
    fn quotes_no_more_than_the_mtu_carries() {
        let (mut icmp, mut ip, mut out) = layers(100);
        let offending = vec![0x45; 300];
        let reason = DstUnreachable::PortUnreachable;
        icmp.send_unreachable(Instant::ZERO, &mut ip, &mut out, reason, PEER, &offending);
        let (len, message) = sent(&mut out);
        assert_eq!(len, 100);
        let repr = Repr::parse(&Packet::new_checked(&message[..]).unwrap()).unwrap();
        assert_eq!(repr.invoking(), Some(&offending[..72]));
    }
}
