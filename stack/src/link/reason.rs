//! The words of a capture's frame comments: what each reason for sending a packet says.
//!
//! Protocol code sets a [`Reason`] (for TCP a [`Why`](crate::tcp::Why), for ICMP an
//! [`icmp::Why`]); the driver asks for the words only when the link records packets
//! ([`crate::device::Device::records_comments`]), so a stack without a capture never formats a sentence.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::ethernet::MacAddr;

use crate::ip::icmp;
use crate::ip::IpProtocol;
use crate::tcp::{ResetWhy, Why};

/// Why the stack sent a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// TCP's reason for a segment.
    Tcp(Why),
    /// ICMP's reason for an error message (port or protocol unreachable).
    Icmp(icmp::Why),
    /// A reason given in words already.
    Text(Cow<'static, str>),
    /// ARP's reason for a request or a reply.
    Arp(ArpWhy),
    /// Neighbor Discovery's reason for a solicitation or an advertisement.
    Ndp(NdpWhy),
    /// One fragment of a datagram larger than the MTU.
    Fragment {
        /// 1 for the first fragment.
        index: usize,
        /// How many fragments the datagram went in.
        count: usize,
        /// The whole datagram's length, IP header included.
        total_len: usize,
    },
}

/// Why an ARP packet was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArpWhy {
    /// "Who has `target`?": a packet needs its MAC address.
    Request {
        /// The address asked for.
        target: Ipv4Addr,
        /// 1 for the first request, 2 for the first retry...
        attempt: u8,
        /// Packets waiting for the answer.
        waiting: usize,
        /// `Some(mac)`: a unicast request, checking that a stale entry still holds.
        probe: Option<MacAddr>,
    },
    /// The answer to `to`'s request for our address.
    Reply {
        /// Who asked.
        to: Ipv4Addr,
    },
    /// A gratuitous ARP: our address and MAC, told to everyone as the interface comes up.
    Announce {
        /// Our MAC address.
        mac: MacAddr,
    },
}

/// Why a Neighbor Discovery message was sent ([`super::ndp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdpWhy {
    /// "Who has `target`?": a packet needs its MAC address. A solicitation to the target's
    /// solicited-node group, or unicast to check a stale entry.
    Solicit {
        /// The address asked for.
        target: Ipv6Addr,
        /// 1 for the first solicitation, 2 for the first retry...
        attempt: u8,
        /// Packets waiting for the answer.
        waiting: usize,
        /// `Some(mac)`: a unicast solicitation, checking that a stale entry still holds.
        probe: Option<MacAddr>,
    },
    /// The answer to `to`'s solicitation for our address.
    Advert {
        /// Who asked.
        to: Ipv6Addr,
    },
    /// The answer to another host's duplicate address detection for our address `target`, to
    /// all nodes: the address is taken.
    Defend {
        /// Our address.
        target: Ipv6Addr,
    },
    /// Duplicate address detection for `target`, one of our addresses, still tentative: does
    /// another host on the link have it?
    Dad {
        /// The tentative address.
        target: Ipv6Addr,
    },
}

impl fmt::Display for ArpWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArpWhy::Request {
                target,
                probe: Some(mac),
                attempt,
                ..
            } => write!(
                f,
                "is {target} still at {mac}? the entry is stale: checking it (probe #{attempt})"
            ),
            ArpWhy::Request {
                target,
                attempt,
                waiting,
                probe: None,
            } => {
                write!(f, "who has {target}? ")?;
                still_asking(f, *attempt, *waiting)
            }
            ArpWhy::Reply { to } => write!(f, "the answer to {to}: our MAC address"),
            ArpWhy::Announce { mac } => write!(
                f,
                "gratuitous ARP: the interface is up, announcing our address at {mac}"
            ),
        }
    }
}

impl fmt::Display for NdpWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdpWhy::Solicit {
                target,
                probe: Some(mac),
                attempt,
                ..
            } => write!(
                f,
                "is {target} still at {mac}? the entry is stale: checking it with a unicast \
                 neighbour solicitation (probe #{attempt})"
            ),
            NdpWhy::Solicit {
                target,
                attempt,
                waiting,
                probe: None,
            } => {
                let group = crate::ip::addr6::solicited_node(*target);
                write!(f, "who has {target}? neighbour solicitation to {group}; ")?;
                still_asking(f, *attempt, *waiting)
            }
            NdpWhy::Advert { to } => write!(f, "the answer to {to}: our MAC address"),
            NdpWhy::Defend { target } => write!(
                f,
                "{target} is ours: the answer to another host's duplicate address detection"
            ),
            NdpWhy::Dad { target } => write!(
                f,
                "duplicate address detection for {target} (tentative): does another host have it?"
            ),
        }
    }
}

/// The end of a request's words: first or again, and what waits for the answer.
fn still_asking(f: &mut fmt::Formatter<'_>, attempt: u8, waiting: usize) -> fmt::Result {
    if attempt == 1 {
        f.write_str("the next hop's MAC is unknown")?;
    } else {
        write!(f, "asked again (#{attempt}), no answer yet")?;
    }
    match waiting {
        0 => Ok(()),
        1 => f.write_str("; 1 packet waits for the answer"),
        n => write!(f, "; {n} packets wait for the answer"),
    }
}

impl From<Why> for Reason {
    fn from(why: Why) -> Reason {
        Reason::Tcp(why)
    }
}

impl From<icmp::Why> for Reason {
    fn from(why: icmp::Why) -> Reason {
        Reason::Icmp(why)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Tcp(why) => why.fmt(f),
            Reason::Icmp(why) => why.fmt(f),
            Reason::Text(text) => f.write_str(text),
            Reason::Arp(why) => why.fmt(f),
            Reason::Ndp(why) => why.fmt(f),
            Reason::Fragment {
                index,
                count,
                total_len,
            } => write!(
                f,
                "fragment {index} of {count} of a {total_len}-byte datagram (larger than the MTU)"
            ),
        }
    }
}

impl fmt::Display for icmp::Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            icmp::Why::PortUnreachable { protocol, port } => write!(
                f,
                "port unreachable: no socket is bound to {protocol} port {port}"
            ),
            icmp::Why::ProtoUnreachable { protocol } => {
                f.write_str("protocol unreachable: this host has no transport for ")?;
                match protocol {
                    IpProtocol::Unknown(number) => write!(f, "IP protocol {number}"),
                    known => write!(f, "{known}"),
                }
            }
            icmp::Why::Unreachable(code) => write!(f, "destination unreachable: {code}"),
            icmp::Why::TimeExceeded(icmp::TimeExceeded::FragReassembly) => f.write_str(
                "time exceeded: the datagram's fragments did not all arrive within the \
                 reassembly timeout",
            ),
            icmp::Why::TimeExceeded(code) => write!(f, "time exceeded: {code}"),
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Syn => f.write_str("handshake 1/3: SYN, the client's initial sequence number"),
            Why::SynAck => {
                f.write_str("handshake 2/3: SYN-ACK, the server's SYN and its ACK of the client's")
            }
            Why::SynAckRepeated => {
                f.write_str("handshake 2/3: SYN-ACK again, the client repeated its SYN")
            }
            Why::SynAckAgain { n } => write!(
                f,
                "handshake 2/3: SYN-ACK again (#{n}), no ACK from the client yet"
            ),
            Why::SynAckCookie => {
                f.write_str("handshake 2/3: SYN-ACK with a SYN cookie (the SYN queue is full)")
            }
            Why::HandshakeAck => {
                f.write_str("handshake 3/3: ACK of the server's SYN, the connection is open")
            }
            Why::Fin => f.write_str("close: FIN, no more data from this side"),
            Why::FinPassive => f.write_str("close: FIN after the peer's (passive close)"),
            Why::Urgent { ahead, also } => {
                if let Some(also) = also {
                    write!(f, "{also}; ")?;
                }
                let bytes = if *ahead == 1 { "byte" } else { "bytes" };
                write!(
                    f,
                    "urgent data: the pointer marks the end of urgent data, {ahead} {bytes} ahead"
                )
            }
            Why::Reset(why) => why.fmt(f),
            other => recovery_words(other, f),
        }
    }
}

/// The words for retransmissions and probes.
fn recovery_words(why: &Why, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match why {
        Why::Timeout { n, rto_ms } => write!(f, "retransmission #{n} after RTO {rto_ms} ms"),
        Why::PathMtu { mtu } => write!(
            f,
            "retransmission in smaller segments: a router reported the path MTU is {mtu} bytes"
        ),
        Why::GoBack => f.write_str(
            "retransmission: going back to the oldest unacknowledged byte after the timeout",
        ),
        Why::FastRetransmit { dupacks, sack } => write!(
            f,
            "fast retransmission after {dupacks} duplicate ACKs{}",
            if *sack { " (SACK)" } else { "" }
        ),
        Why::FastRetransmitMore => f.write_str("fast retransmission"),
        Why::FastRetransmitAgain => {
            f.write_str("fast retransmission again: the last one was lost too")
        }
        Why::PartialAck => f.write_str("fast retransmission after a partial ACK (NewReno)"),
        Why::SackHole => {
            f.write_str("SACK retransmission: a hole below data the peer reported holding")
        }
        Why::LostBeforeProbe => {
            f.write_str("fast retransmission: the tail loss probe arrived, this did not")
        }
        Why::TailProbeNew => {
            f.write_str("tail loss probe: new data after two round trips without an ACK")
        }
        Why::TailProbeAgain => f.write_str(
            "tail loss probe: the last segment again, after two round trips without an ACK",
        ),
        Why::WindowProbe { n } => {
            write!(f, "zero-window probe #{n}: is the window still closed?")
        }
        Why::KeepAlive { n } => write!(
            f,
            "keep-alive probe #{n}: an old sequence number, so that the peer answers with an \
             ACK if it is still there"
        ),
        Why::DSack { from, to } => write!(
            f,
            "D-SACK: bytes {from}..{to} arrived twice; the sender's retransmission was not \
             needed"
        ),
        Why::ChallengeAck => f.write_str("challenge ACK (RFC 5961)"),
        Why::TimeWaitAck => {
            f.write_str("TIME-WAIT: our last ACK again, for a segment of the closed connection")
        }
        // Every other reason is worded above.
        other => write!(f, "{other:?}"),
    }
}

impl fmt::Display for ResetWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResetWhy::NoConnection { port } => write!(f, "reset: no connection on port {port}"),
            ResetWhy::NotOurSyn => {
                f.write_str("reset: the SYN-ACK acknowledges a SYN we never sent")
            }
            ResetWhy::NotOurSynAck => {
                f.write_str("reset: the ACK does not acknowledge our SYN-ACK")
            }
            ResetWhy::DataAfterClose => {
                f.write_str("reset: data for a socket the application has closed")
            }
            ResetWhy::ListenerClosed => {
                f.write_str("reset: the listener closed during the handshake")
            }
            ResetWhy::Aborted => f.write_str("reset: connection aborted"),
        }
    }
}
