//! One captured packet, read with tunstack's own header codecs.
//!
//! The ladder reads every IPv4 packet with the same code the stack uses to receive one:
//! [`tunstack::ip::header`], then [`tunstack::tcp::header`], [`tunstack::udp::header`] or
//! [`tunstack::ip::icmp::header`]. Two things are different from the stack's receive path, because
//! a capture is not a network:
//!
//! - A wrong checksum does not drop the packet. Captures taken on loopback, or of packets a
//!   machine sends through a network card that computes checksums itself (checksum offload), hold
//!   packets whose TCP or UDP checksum is not filled in yet. The packet is read anyway, from a copy
//!   whose checksum is put right, and marked [`Checksums::Bad`].
//! - A capture may keep only the first bytes of each packet (`tcpdump -s 96`). The headers are
//!   still there: the packet is read from a copy padded to its full length, and marked
//!   [`Datagram::cut_short`]; its checksums cannot be checked.
//!
//! On an Ethernet capture each frame's header ([`tunstack::link::ethernet::header`]) is kept
//! with the frame, for its MAC addresses, and ARP packets are read with
//! [`tunstack::link::arp::header`]: the questions and answers that find those addresses.

use std::net::SocketAddrV4;
use std::time::Duration;

use tunstack::ip::header::{self as ipv4, IpProtocol};
use tunstack::ip::icmp::header as icmp;
use tunstack::ip::icmp::{DstUnreachable, TimeExceeded};
use tunstack::link::arp::header as arp;
use tunstack::link::ethernet::header as ethernet;
use tunstack::tcp::header as tcp;
use tunstack::udp::header as udp;
use tunstack::wire::WireError;

/// How many bytes of data a [`Frame`] keeps for a preview.
pub const PREVIEW_LEN: usize = 24;

/// One packet of a capture file.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Its number in the file, from 1 (as Wireshark numbers frames).
    pub number: u64,
    /// When it was captured, as time since the Unix epoch.
    pub time: Duration,
    /// Which way it went through the capturing interface, when the file says (pcapng's
    /// `epb_flags`, or the packet type of Linux cooked captures).
    pub direction: Option<Direction>,
    /// The frame comment (pcapng `opt_comment`; Wireshark's `frame.comment`), if any.
    pub comment: Option<String>,
    /// Its Ethernet header (MAC addresses and EtherType), on an Ethernet capture; `None` on a
    /// capture of bare IP packets (a TUN device), which have none.
    pub ethernet: Option<ethernet::Repr>,
    /// What the packet is.
    pub content: Content,
}

/// Which way a packet crossed the interface it was captured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by the capturing host.
    Inbound,
    /// Sent by the capturing host.
    Outbound,
}

/// A packet as far as it could be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// An IPv4 packet whose IP header could be read.
    Ipv4(Datagram),
    /// An ARP request or reply (IPv4 over Ethernet): "who has 10.77.0.2? tell 10.77.0.1", or
    /// "10.77.0.2 is at 02:00:0a:4d:00:02".
    Arp(arp::Repr),
    /// Anything else: another protocol (IPv6), another link type, or bytes that are not a
    /// packet. Says why, in words.
    Unreadable(String),
}

/// An IPv4 packet and its transport header.
#[derive(Debug, Clone, PartialEq)]
pub struct Datagram {
    /// The IPv4 header.
    pub ip: ipv4::Repr,
    /// What it carries.
    pub transport: Transport,
    /// Whether the checksums (IP and transport) were right.
    pub checksums: Checksums,
    /// The capture kept only the first bytes of the packet (its snap length).
    pub cut_short: bool,
}

/// What an IPv4 packet carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// A TCP segment.
    Tcp {
        /// Its header.
        header: tcp::Repr,
        /// The first bytes of its data, at most [`PREVIEW_LEN`].
        preview: Vec<u8>,
    },
    /// A UDP datagram.
    Udp {
        /// Its header.
        header: udp::Repr,
        /// The first bytes of its data, at most [`PREVIEW_LEN`].
        preview: Vec<u8>,
    },
    /// An ICMP message.
    Icmp(IcmpMessage),
    /// A fragment of a larger datagram: its transport header is in the first fragment, if at all.
    Fragment,
    /// A protocol the stack does not speak.
    Other,
    /// A transport header that could not be read.
    Bad {
        /// Why.
        error: WireError,
    },
}

/// An ICMP message, with what the ladder shows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpMessage {
    /// Echo request (ping).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Bytes of data.
        len: usize,
    },
    /// Echo reply.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Bytes of data.
        len: usize,
    },
    /// Destination unreachable, about the datagram it quotes.
    DstUnreachable {
        /// Why.
        reason: DstUnreachable,
        /// The datagram that could not be delivered, if the quote is readable.
        quoted: Option<Quoted>,
    },
    /// Time exceeded, about the datagram it quotes.
    TimeExceeded {
        /// Why.
        reason: TimeExceeded,
        /// The datagram that was discarded, if the quote is readable.
        quoted: Option<Quoted>,
    },
    /// Another type.
    Other {
        /// Type.
        msg_type: u8,
        /// Code.
        code: u8,
    },
}

/// The datagram an ICMP error message quotes: who sent it to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    /// Its protocol.
    pub protocol: IpProtocol,
    /// Its source (port 0 when the protocol has no ports, or the quote is too short for them).
    pub src: SocketAddrV4,
    /// Its destination (port as for `src`).
    pub dst: SocketAddrV4,
}

/// Whether a packet's checksums were right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksums {
    /// All right.
    Good,
    /// At least one was wrong (or not filled in: loopback, checksum offload).
    Bad,
    /// Not checked: the capture cut the packet short.
    Unchecked,
}

/// Reads an IPv4 packet with tunstack's codecs: its IP header, then its transport header.
///
/// `bytes` starts at the IPv4 header; bytes past its Total Length (link padding) are ignored.
/// The error says, in words, why the bytes are not a readable IPv4 packet.
pub fn decode_ipv4(bytes: &[u8]) -> Result<Datagram, String> {
    // A packet cut short by the capture's snap length: pad a copy to the length its header
    // claims, so that the codecs can read the headers, which come first.
    let captured = bytes.len();
    let padded;
    let (bytes, cut_short) = match ipv4::Packet::new_checked(bytes) {
        Err(WireError::Truncated) if bytes.len() >= ipv4::HEADER_LEN => {
            let total_len = usize::from(ipv4::Packet::new_unchecked(bytes).total_len());
            if total_len <= bytes.len() {
                return Err(format!("IPv4: {}", WireError::Truncated));
            }
            let mut copy = bytes.to_vec();
            copy.resize(total_len, 0);
            padded = copy;
            (&padded[..], true)
        }
        Err(WireError::BadVersion) => return Err(not_ipv4(bytes)),
        Err(err) => return Err(format!("IPv4: {err}")),
        Ok(_) => (bytes, false),
    };
    let packet = ipv4::Packet::new_checked(bytes).map_err(|err| format!("IPv4: {err}"))?;
    let (ip, ip_ok) = match ipv4::Repr::parse(&packet) {
        Ok(repr) => (repr, true),
        Err(WireError::BadChecksum) => {
            let mut copy = bytes.to_vec();
            ipv4::Packet::new_unchecked(&mut copy[..]).fill_checksum();
            let repr = ipv4::Repr::parse(&ipv4::Packet::new_unchecked(&copy[..]))
                .map_err(|err| format!("IPv4: {err}"))?;
            (repr, false)
        }
        Err(err) => return Err(format!("IPv4: {err}")),
    };
    let payload = packet.payload();
    // How many of the payload's bytes the capture really holds (the rest is our padding).
    let held = captured
        .saturating_sub(packet.header_len())
        .min(payload.len());
    let (transport, transport_ok) = if ip.fragment_offset != 0 || ip.more_fragments {
        (Transport::Fragment, true)
    } else {
        decode_transport(&ip, payload, held)
    };
    let checksums = match (cut_short, ip_ok && transport_ok) {
        (true, _) => Checksums::Unchecked,
        (false, true) => Checksums::Good,
        (false, false) => Checksums::Bad,
    };
    Ok(Datagram {
        ip,
        transport,
        checksums,
        cut_short,
    })
}

/// Reads an ARP packet with tunstack's codec; the error says, in words, why it is not ARP for
/// IPv4 over Ethernet.
pub fn decode_arp(bytes: &[u8]) -> Result<arp::Repr, String> {
    arp::Packet::new_checked(bytes)
        .and_then(|packet| arp::Repr::parse(&packet))
        .map_err(|err| match err {
            WireError::Unsupported => "ARP, not for IPv4 over Ethernet".to_string(),
            other => format!("ARP: {other}"),
        })
}

/// Whether an ARP packet is gratuitous: a host telling everyone its own address (sender and
/// target address the same, RFC 5227's announcement), not asking for another's.
pub fn is_gratuitous(repr: &arp::Repr) -> bool {
    repr.sender_ip == repr.target_ip
}

/// Says what a packet that is not IPv4 is, from its version nibble.
fn not_ipv4(bytes: &[u8]) -> String {
    match bytes.first().map(|b| b >> 4) {
        Some(6) => "IPv6 (not shown: the ladder reads IPv4)".to_string(),
        Some(version) => format!("not an IP packet (version field {version})"),
        None => "empty packet".to_string(),
    }
}

/// Reads the transport header in `payload`, of which the first `held` bytes were captured.
/// Returns it and whether its checksum was right.
fn decode_transport(ip: &ipv4::Repr, payload: &[u8], held: usize) -> (Transport, bool) {
    let (src, dst) = (ip.src_addr, ip.dst_addr);
    let preview = |header_len: usize| -> Vec<u8> {
        let end = held.min(header_len + PREVIEW_LEN);
        payload.get(header_len..end).unwrap_or_default().to_vec()
    };
    match ip.protocol {
        IpProtocol::Tcp => {
            let read = |bytes: &[u8]| {
                let packet = tcp::Packet::new_checked(bytes)?;
                tcp::Repr::parse(&packet, src, dst).map(|repr| (repr, packet.header_len()))
            };
            let parsed = match read(payload) {
                Err(WireError::BadChecksum) => {
                    let mut copy = payload.to_vec();
                    tcp::Packet::new_unchecked(&mut copy[..]).fill_checksum(src, dst);
                    read(&copy).map(|parsed| (parsed, false))
                }
                other => other.map(|parsed| (parsed, true)),
            };
            match parsed {
                Ok(((header, header_len), ok)) => (
                    Transport::Tcp {
                        header,
                        preview: preview(header_len),
                    },
                    ok,
                ),
                Err(error) => (Transport::Bad { error }, true),
            }
        }
        IpProtocol::Udp => {
            let read = |bytes: &[u8]| {
                let packet = udp::Packet::new_checked(bytes)?;
                udp::Repr::parse(&packet, src, dst)
            };
            let parsed = match read(payload) {
                Err(WireError::BadChecksum) => {
                    let mut copy = payload.to_vec();
                    udp::Packet::new_unchecked(&mut copy[..]).fill_checksum(src, dst);
                    read(&copy).map(|header| (header, false))
                }
                other => other.map(|header| (header, true)),
            };
            match parsed {
                Ok((header, ok)) => (
                    Transport::Udp {
                        header,
                        preview: preview(udp::HEADER_LEN),
                    },
                    ok,
                ),
                Err(error) => (Transport::Bad { error }, true),
            }
        }
        IpProtocol::Icmp => decode_icmp(payload),
        IpProtocol::Icmpv6 | IpProtocol::Unknown(_) => (Transport::Other, true),
    }
}

/// Reads an ICMP message; returns it and whether its checksum was right.
fn decode_icmp(payload: &[u8]) -> (Transport, bool) {
    let read = |bytes: &[u8]| {
        let packet = icmp::Packet::new_checked(bytes)?;
        icmp::Repr::parse(&packet).map(icmp_message)
    };
    let parsed = match read(payload) {
        Err(WireError::BadChecksum) => {
            let mut copy = payload.to_vec();
            icmp::Packet::new_unchecked(&mut copy[..]).fill_checksum();
            read(&copy).map(|message| (message, false))
        }
        other => other.map(|message| (message, true)),
    };
    match parsed {
        Ok((message, ok)) => (Transport::Icmp(message), ok),
        Err(error) => (Transport::Bad { error }, true),
    }
}

/// Keeps what the ladder shows of an ICMP message (the codec's `Repr` borrows the packet).
fn icmp_message(repr: icmp::Repr<'_>) -> IcmpMessage {
    match repr {
        icmp::Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } => IcmpMessage::EchoRequest {
            ident,
            seq_no,
            len: data.len(),
        },
        icmp::Repr::EchoReply {
            ident,
            seq_no,
            data,
        } => IcmpMessage::EchoReply {
            ident,
            seq_no,
            len: data.len(),
        },
        icmp::Repr::DstUnreachable { reason, invoking } => IcmpMessage::DstUnreachable {
            reason,
            quoted: quoted(invoking),
        },
        icmp::Repr::TimeExceeded { reason, invoking } => IcmpMessage::TimeExceeded {
            reason,
            quoted: quoted(invoking),
        },
        icmp::Repr::Other { msg_type, code } => IcmpMessage::Other { msg_type, code },
    }
}

/// Reads the addresses and ports of a datagram quoted in an ICMP error.
fn quoted(invoking: &[u8]) -> Option<Quoted> {
    let (ip, header_len) = ipv4::parse_quoted(invoking).ok()?;
    // TCP and UDP both start with the source and destination ports: the 8 bytes RFC 792
    // guarantees hold them.
    let ports = match ip.protocol {
        IpProtocol::Tcp | IpProtocol::Udp => invoking.get(header_len..header_len + 4).map(|p| {
            (
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            )
        }),
        _ => None,
    };
    let (src_port, dst_port) = ports.unwrap_or((0, 0));
    Some(Quoted {
        protocol: ip.protocol,
        src: SocketAddrV4::new(ip.src_addr, src_port),
        dst: SocketAddrV4::new(ip.dst_addr, dst_port),
    })
}

impl Datagram {
    /// The source address and port (port 0 for ICMP and other protocols).
    pub fn src(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip.src_addr, self.ports().0)
    }

    /// The destination address and port (port 0 for ICMP and other protocols).
    pub fn dst(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip.dst_addr, self.ports().1)
    }

    fn ports(&self) -> (u16, u16) {
        match &self.transport {
            Transport::Tcp { header, .. } => (header.src_port, header.dst_port),
            Transport::Udp { header, .. } => (header.src_port, header.dst_port),
            _ => (0, 0),
        }
    }
}
