//! What the impairments see of a packet: a few header fields, read with the stack's own codecs.
//!
//! A link carries bytes, not packets it understands. To drop "the 3rd TCP data segment" or
//! "the first FIN", and to name a packet in a log line, the wrapper reads just enough of each
//! packet: the IPv4 header, then the TCP or UDP ports and TCP's flags and lengths, or ICMP's type
//! and code. Nothing is verified: a packet whose checksum is wrong is still a TCP segment here,
//! and bytes that are not an IPv4 packet at all are just "a packet" that only [`Match::Any`]
//! rules see.

use std::fmt;

use crate::device::Medium;
use crate::ip::header::{self as ip, IpProtocol};
use crate::link::ethernet::header::{EtherType, Frame, HEADER_LEN};
use crate::tcp::header as tcp;
use crate::tcp::{Flags, SeqNumber};
use crate::udp::header as udp;

/// A packet as the impairments see it: its length and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSummary {
    /// The whole packet's length, in bytes.
    pub len: usize,
    /// What the packet carries, as far as it could be read.
    pub content: Content,
}

/// What a packet carries, as far as its headers could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// A TCP segment.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Control bits.
        flags: Flags,
        /// Sequence number.
        seq: SeqNumber,
        /// Acknowledgment number (meaningful with ACK).
        ack: SeqNumber,
        /// Bytes of data after the TCP header.
        payload_len: usize,
    },
    /// A UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Bytes of data after the UDP header.
        payload_len: usize,
    },
    /// An ICMP message.
    Icmp {
        /// The ICMP type (8 echo request, 0 echo reply, 3 destination unreachable, ...).
        kind: u8,
        /// The ICMP code.
        code: u8,
    },
    /// An ARP packet, in an Ethernet frame.
    Arp,
    /// An IPv4 packet whose transport header was not read: another protocol, a fragment other
    /// than the first, or a transport header too short to read.
    Ip(IpProtocol),
    /// Not a readable IPv4 packet.
    Unknown,
}

impl PacketSummary {
    /// Reads the headers of `packet`. Never fails: what cannot be read is [`Content::Unknown`]
    /// or [`Content::Ip`].
    pub fn parse(packet: &[u8]) -> PacketSummary {
        PacketSummary {
            len: packet.len(),
            content: Content::parse(packet),
        }
    }

    /// Reads the headers of `frame`, an Ethernet frame: ARP, or the IPv4 packet inside. Never
    /// fails, like [`PacketSummary::parse`]; `len` counts the whole frame.
    pub fn parse_frame(frame: &[u8]) -> PacketSummary {
        let content = match Frame::new_checked(frame) {
            Ok(view) => match view.ethertype() {
                EtherType::Ipv4 => Content::parse(&frame[HEADER_LEN..]),
                EtherType::Arp => Content::Arp,
                EtherType::Ipv6 | EtherType::Unknown(_) => Content::Unknown,
            },
            Err(_) => Content::Unknown,
        };
        PacketSummary {
            len: frame.len(),
            content,
        }
    }

    /// Reads `bytes` as what `medium` carries.
    pub fn parse_on(medium: Medium, bytes: &[u8]) -> PacketSummary {
        match medium {
            Medium::Ip => PacketSummary::parse(bytes),
            Medium::Ethernet => PacketSummary::parse_frame(bytes),
        }
    }
}

impl Content {
    fn parse(packet: &[u8]) -> Content {
        let Ok(ip) = ip::Packet::new_checked(packet) else {
            return Content::Unknown;
        };
        let protocol = ip.protocol();
        // Only the first fragment starts with the transport header.
        if ip.fragment_offset() != 0 {
            return Content::Ip(protocol);
        }
        let payload = ip.payload();
        let content = match protocol {
            IpProtocol::Tcp => tcp::Packet::new_checked(payload)
                .ok()
                .map(|segment| Content::Tcp {
                    src_port: segment.src_port(),
                    dst_port: segment.dst_port(),
                    flags: segment.flags(),
                    seq: segment.seq_number(),
                    ack: segment.ack_number(),
                    payload_len: segment.payload().len(),
                }),
            IpProtocol::Udp => {
                udp::Packet::new_checked(payload)
                    .ok()
                    .map(|datagram| Content::Udp {
                        src_port: datagram.src_port(),
                        dst_port: datagram.dst_port(),
                        payload_len: datagram.payload().len(),
                    })
            }
            IpProtocol::Icmp => match payload {
                [kind, code, ..] => Some(Content::Icmp {
                    kind: *kind,
                    code: *code,
                }),
                _ => None,
            },
            IpProtocol::Icmpv6 | IpProtocol::Unknown(_) => None,
        };
        content.unwrap_or(Content::Ip(protocol))
    }
}

/// Which packets a scripted [`Rule`](super::Rule) looks at. Each direction counts the packets of
/// every kind it has seen, so a rule can pick "the 3rd" of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Match {
    /// Every packet, whatever it is.
    Any,
    /// Every TCP segment.
    Tcp,
    /// TCP segments that carry data (a retransmission is counted again).
    TcpData,
    /// TCP segments with SYN set (SYN and SYN-ACK).
    TcpSyn,
    /// TCP segments with FIN set.
    TcpFin,
    /// TCP segments with RST set.
    TcpRst,
    /// Pure acknowledgments: ACK set, no data, no SYN, FIN or RST.
    TcpPureAck,
    /// Every UDP datagram.
    Udp,
    /// Every ICMP message.
    Icmp,
    /// Every ARP packet, on a device that carries Ethernet frames.
    Arp,
}

impl Match {
    /// Every kind, in the order of [`Match::index`].
    pub(super) const ALL: [Match; 10] = [
        Match::Any,
        Match::Tcp,
        Match::TcpData,
        Match::TcpSyn,
        Match::TcpFin,
        Match::TcpRst,
        Match::TcpPureAck,
        Match::Udp,
        Match::Icmp,
        Match::Arp,
    ];

    /// This kind's slot in a per-kind counter array.
    pub(super) fn index(self) -> usize {
        self as usize
    }

    /// Whether `packet` is of this kind.
    pub fn matches(self, packet: &PacketSummary) -> bool {
        match (self, packet.content) {
            (Match::Any, _) => true,
            (Match::Udp, Content::Udp { .. })
            | (Match::Icmp, Content::Icmp { .. })
            | (Match::Arp, Content::Arp) => true,
            (
                _,
                Content::Tcp {
                    flags, payload_len, ..
                },
            ) => match self {
                Match::Tcp => true,
                Match::TcpData => payload_len > 0,
                Match::TcpSyn => flags.syn(),
                Match::TcpFin => flags.fin(),
                Match::TcpRst => flags.rst(),
                Match::TcpPureAck => {
                    flags.ack() && payload_len == 0 && !flags.syn() && !flags.fin() && !flags.rst()
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The name of one such packet, e.g. "TCP data segment".
    pub(super) fn singular(self) -> &'static str {
        match self {
            Match::Any => "packet",
            Match::Tcp => "TCP segment",
            Match::TcpData => "TCP data segment",
            Match::TcpSyn => "TCP SYN",
            Match::TcpFin => "TCP FIN",
            Match::TcpRst => "TCP RST",
            Match::TcpPureAck => "TCP pure ACK",
            Match::Udp => "UDP datagram",
            Match::Icmp => "ICMP message",
            Match::Arp => "ARP packet",
        }
    }
}

/// One line for logs, in Wireshark's style: `TCP 80 > 40000 [ACK] seq=1 ack=1 len=1460`.
impl fmt::Display for PacketSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.content {
            Content::Tcp {
                src_port,
                dst_port,
                flags,
                seq,
                ack,
                payload_len,
            } => write!(
                f,
                "TCP {src_port} > {dst_port} {flags} seq={seq} ack={ack} len={payload_len}"
            ),
            Content::Udp {
                src_port,
                dst_port,
                payload_len,
            } => write!(f, "UDP {src_port} > {dst_port} len={payload_len}"),
            Content::Icmp { kind, code } => {
                let name = match (kind, code) {
                    (0, _) => "echo reply",
                    (8, _) => "echo request",
                    (3, _) => "destination unreachable",
                    (11, _) => "time exceeded",
                    _ => "message",
                };
                write!(f, "ICMP {name} (type {kind}, code {code})")
            }
            Content::Ip(protocol) => write!(f, "IPv4 {protocol}, {} bytes", self.len),
            Content::Arp => write!(f, "ARP, {} bytes", self.len),
            Content::Unknown => write!(f, "{}-byte packet (not IPv4)", self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::device::testing::{icmp_echo_request, udp_packet};

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn reads_udp_and_icmp() {
        let summary = PacketSummary::parse(&udp_packet((A, 5000), (B, 9), b"hello"));
        assert_eq!(summary.to_string(), "UDP 5000 > 9 len=5");
        assert!(Match::Udp.matches(&summary) && Match::Any.matches(&summary));
        assert!(!Match::Tcp.matches(&summary));
        let summary = PacketSummary::parse(&icmp_echo_request(A, B, 1, 1, b"x"));
        assert_eq!(summary.to_string(), "ICMP echo request (type 8, code 0)");
        assert!(Match::Icmp.matches(&summary));
    }

    #[test]
    fn reads_what_an_ethernet_frame_carries() {
        let packet = udp_packet((A, 5000), (B, 9), b"hello");
        let mut frame = vec![0xff; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&packet);
        let summary = PacketSummary::parse_on(Medium::Ethernet, &frame);
        assert_eq!(summary.len, packet.len() + 14);
        assert!(matches!(summary.content, Content::Udp { dst_port: 9, .. }));
        assert!(!Match::Arp.matches(&summary));
        frame[12..14].copy_from_slice(&[0x08, 0x06]);
        let arp = PacketSummary::parse_frame(&frame);
        assert_eq!(arp.content, Content::Arp);
        assert!(Match::Arp.matches(&arp) && Match::Any.matches(&arp));
        assert!(Match::ALL[1..Match::Arp.index()]
            .iter()
            .all(|m| !m.matches(&arp)));
        frame[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(PacketSummary::parse_frame(&frame).content, Content::Unknown);
        assert_eq!(
            PacketSummary::parse_frame(&frame[..13]).content,
            Content::Unknown
        );
    }

    #[test]
    fn anything_else_is_just_a_packet() {
        let summary = PacketSummary::parse(b"not an IP packet");
        assert_eq!(summary.content, Content::Unknown);
        assert_eq!(summary.to_string(), "16-byte packet (not IPv4)");
        assert!(Match::Any.matches(&summary));
        assert!(Match::ALL[1..].iter().all(|m| !m.matches(&summary)));
        // An IPv4 header whose TCP header is cut short: still IPv4, not TCP.
        let mut packet = udp_packet((A, 1), (B, 2), b"");
        packet[9] = 6;
        let summary = PacketSummary::parse(&packet);
        assert_eq!(summary.content, Content::Ip(IpProtocol::Tcp));
        assert!(!Match::Tcp.matches(&summary));
    }

    #[test]
    fn the_kinds_follow_their_index() {
        for (i, kind) in Match::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
    }
}
