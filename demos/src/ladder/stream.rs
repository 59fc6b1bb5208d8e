//! Grouping packets into streams: the packets between the same two endpoints.
//!
//! A TCP connection is named by its 4-tuple (the two addresses and the two ports), which is how a
//! host finds the connection a segment belongs to; Wireshark numbers them the same way
//! (`tcp.stream`), in the order their first packet appears. UDP datagrams are grouped by their
//! 4-tuple too, and ICMP echo messages by the two addresses.
//!
//! An ICMP error belongs with the datagram it is about: a "port unreachable" that quotes a UDP
//! datagram joins that datagram's stream, so the ladder shows the question and the answer that
//! says nobody is there.
//!
//! ARP, on an Ethernet capture, is not IP: no ports, no connection, but it is between two
//! hosts, and it happens because of an IP packet. "Who has 10.77.0.2? tell 10.77.0.1" goes out
//! because 10.77.0.1 has a packet for 10.77.0.2 and needs its MAC address first. So an ARP
//! frame joins the stream of the next IP packet between its two addresses (the sender's and
//! the target's), the packet it was most likely asked for; a gratuitous ARP, a host announcing
//! its own address, joins the stream of the next IP packet to or from that host. When no IP
//! packet between them comes after it, the stream of the last one before it; when there is
//! none at all, the ARP frames between two addresses make a stream of their own
//! ([`Protocol::Arp`]), and an announcement is left out. ARP streams are numbered after the IP
//! streams, so ARP changes no IP stream's number.

use std::net::{Ipv4Addr, SocketAddrV4};

use tunstack::ip::IpProtocol;
use tunstack::link::arp::header as arp;

use super::decode::{is_gratuitous, Content, Datagram, Frame, IcmpMessage, Transport};

/// The protocol of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP segments of one connection.
    Tcp,
    /// UDP datagrams between two sockets.
    Udp,
    /// ICMP messages (echo) between two hosts.
    Icmp,
    /// ARP requests and replies between two hosts, with no IP packet between them to join.
    Arp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Icmp => "ICMP",
            Protocol::Arp => "ARP",
        })
    }
}

/// The packets between two endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Its number, from 0, in the order of its first packet.
    pub index: usize,
    /// What it carries.
    pub protocol: Protocol,
    /// The left column: the side that sent the first SYN, or else the first packet.
    pub client: SocketAddrV4,
    /// The right column: the other side.
    pub server: SocketAddrV4,
    /// Its packets, as indices into the frames, in capture order (ARP frames included).
    pub frames: Vec<usize>,
}

impl Stream {
    /// One line naming it, e.g. `TCP 10.77.0.1:49152 → 10.77.0.2:7`.
    pub fn title(&self, ascii: bool) -> String {
        let arrow = if ascii { "->" } else { "→" };
        format!(
            "{} {} {arrow} {}",
            self.protocol,
            endpoint(self.protocol, self.client),
            endpoint(self.protocol, self.server)
        )
    }
}

/// An endpoint as a column label: `address:port`, or the address alone for ICMP and ARP.
pub fn endpoint(protocol: Protocol, addr: SocketAddrV4) -> String {
    match protocol {
        Protocol::Icmp | Protocol::Arp => addr.ip().to_string(),
        Protocol::Tcp | Protocol::Udp => addr.to_string(),
    }
}

/// The flow a packet belongs to: its protocol, and who sent it to whom. For an ICMP error, the
/// flow of the datagram it quotes.
pub fn flow(datagram: &Datagram) -> Option<(Protocol, SocketAddrV4, SocketAddrV4)> {
    let quoted_flow = |quoted: &Option<super::decode::Quoted>| {
        let quoted = quoted.as_ref()?;
        let protocol = match quoted.protocol {
            IpProtocol::Tcp => Protocol::Tcp,
            IpProtocol::Udp => Protocol::Udp,
            IpProtocol::Icmp => Protocol::Icmp,
            IpProtocol::Icmpv6 | IpProtocol::Unknown(_) => return None,
        };
        Some((protocol, quoted.src, quoted.dst))
    };
    match &datagram.transport {
        Transport::Tcp { .. } => Some((Protocol::Tcp, datagram.src(), datagram.dst())),
        Transport::Udp { .. } => Some((Protocol::Udp, datagram.src(), datagram.dst())),
        Transport::Icmp(
            IcmpMessage::DstUnreachable { quoted, .. } | IcmpMessage::TimeExceeded { quoted, .. },
        ) => quoted_flow(quoted).or(Some((Protocol::Icmp, datagram.src(), datagram.dst()))),
        Transport::Icmp(_) => Some((Protocol::Icmp, datagram.src(), datagram.dst())),
        Transport::Fragment | Transport::Other | Transport::Bad { .. } => None,
    }
}

/// Groups the frames into streams, numbered in the order of their first IP packet, then the ARP
/// streams in the order of their first ARP packet. Frames that belong to no stream (not IPv4 or
/// ARP, unreadable, other protocols, announcements with no IP packet of their host) are left
/// out.
pub fn streams(frames: &[Frame]) -> Vec<Stream> {
    let mut streams: Vec<Stream> = Vec::new();
    for (at, frame) in frames.iter().enumerate() {
        let Content::Ipv4(datagram) = &frame.content else {
            continue;
        };
        let Some((protocol, src, dst)) = flow(datagram) else {
            continue;
        };
        let same = |s: &&mut Stream| {
            s.protocol == protocol
                && ((s.client == src && s.server == dst) || (s.client == dst && s.server == src))
        };
        match streams.iter_mut().find(same) {
            Some(stream) => stream.frames.push(at),
            None => streams.push(Stream {
                index: streams.len(),
                protocol,
                client: src,
                server: dst,
                frames: vec![at],
            }),
        }
    }
    for stream in &mut streams {
        if let Some(opener) = opener(frames, stream) {
            if opener != stream.client {
                std::mem::swap(&mut stream.client, &mut stream.server);
            }
        }
    }
    add_arp(frames, &mut streams);
    streams
}

/// Puts each ARP frame in the stream it belongs to (see the [module docs](self)), making ARP
/// streams, after the others, for those that belong to none.
fn add_arp(frames: &[Frame], streams: &mut Vec<Stream>) {
    let ip_streams = streams.len();
    for (at, frame) in frames.iter().enumerate() {
        let Content::Arp(arp) = &frame.content else {
            continue;
        };
        let gratuitous = is_gratuitous(arp);
        let between = |stream: &Stream| {
            let (a, b) = (*stream.client.ip(), *stream.server.ip());
            if gratuitous {
                a == arp.sender_ip || b == arp.sender_ip
            } else {
                (a, b) == (arp.sender_ip, arp.target_ip) || (b, a) == (arp.sender_ip, arp.target_ip)
            }
        };
        // The stream of the next IP packet between them, else of the last one before.
        let mut next: Option<(usize, usize)> = None;
        let mut last: Option<(usize, usize)> = None;
        for (i, stream) in streams[..ip_streams].iter().enumerate() {
            if !between(stream) {
                continue;
            }
            let ip_frames = stream.frames.iter().copied().filter(|&f| is_ip(&frames[f]));
            if let Some(after) = ip_frames.clone().find(|&f| f > at) {
                if next.is_none_or(|(f, _)| after < f) {
                    next = Some((after, i));
                }
            }
            if let Some(before) = ip_frames.rev().find(|&f| f < at) {
                if last.is_none_or(|(f, _)| before > f) {
                    last = Some((before, i));
                }
            }
        }
        if let Some((_, i)) = next.or(last) {
            insert_sorted(&mut streams[i].frames, at);
        } else if !gratuitous {
            arp_stream(streams, arp, at);
        }
    }
}

/// Adds an ARP frame with no IP stream to join to the ARP stream between its two addresses, or
/// starts one: the asker on the left.
fn arp_stream(streams: &mut Vec<Stream>, arp: &arp::Repr, at: usize) {
    let pair = (arp.sender_ip, arp.target_ip);
    let same = |s: &&mut Stream| {
        let (a, b) = (*s.client.ip(), *s.server.ip());
        s.protocol == Protocol::Arp && ((a, b) == pair || (b, a) == pair)
    };
    match streams.iter_mut().find(same) {
        Some(stream) => stream.frames.push(at),
        None => {
            // The side that asked first is the client; a reply first: its target asked.
            let (client, server) = match arp.operation {
                arp::Operation::Reply => (arp.target_ip, arp.sender_ip),
                _ => (arp.sender_ip, arp.target_ip),
            };
            streams.push(Stream {
                index: streams.len(),
                protocol: Protocol::Arp,
                client: host(client),
                server: host(server),
                frames: vec![at],
            });
        }
    }
}

/// A host's address as an endpoint (port 0: ARP has none).
fn host(addr: Ipv4Addr) -> SocketAddrV4 {
    SocketAddrV4::new(addr, 0)
}

/// Whether a frame holds an IPv4 packet.
fn is_ip(frame: &Frame) -> bool {
    matches!(frame.content, Content::Ipv4(_))
}

/// Inserts `at` into the sorted `frames`.
fn insert_sorted(frames: &mut Vec<usize>, at: usize) {
    let place = frames.partition_point(|&f| f < at);
    frames.insert(place, at);
}

/// Who opened the stream, when a packet tells: the sender of the first SYN (or the receiver of
/// the first SYN-ACK), or of the first echo request.
fn opener(frames: &[Frame], stream: &Stream) -> Option<SocketAddrV4> {
    let datagrams = stream
        .frames
        .iter()
        .filter_map(|&at| match &frames[at].content {
            Content::Ipv4(datagram) => Some(datagram),
            Content::Arp(_) | Content::Unreadable(_) => None,
        });
    match stream.protocol {
        Protocol::Tcp => datagrams.clone().find_map(|d| match &d.transport {
            Transport::Tcp { header, .. } if header.flags.syn() && !header.flags.ack() => {
                Some(d.src())
            }
            Transport::Tcp { header, .. } if header.flags.syn() => Some(d.dst()),
            _ => None,
        }),
        Protocol::Icmp => datagrams.clone().find_map(|d| match &d.transport {
            Transport::Icmp(IcmpMessage::EchoRequest { .. }) => Some(d.src()),
            Transport::Icmp(IcmpMessage::EchoReply { .. }) => Some(d.dst()),
            _ => None,
        }),
        Protocol::Udp | Protocol::Arp => None,
    }
}
