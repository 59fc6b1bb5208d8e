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

use std::net::SocketAddrV4;

use tunstack::ip::IpProtocol;

use super::decode::{Content, Datagram, Frame, IcmpMessage, Transport};

/// The protocol of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP segments of one connection.
    Tcp,
    /// UDP datagrams between two sockets.
    Udp,
    /// ICMP messages (echo) between two hosts.
    Icmp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Icmp => "ICMP",
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
    /// Its packets, as indices into the frames, in capture order.
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

/// An endpoint as a column label: `address:port`, or the address alone for ICMP.
pub fn endpoint(protocol: Protocol, addr: SocketAddrV4) -> String {
    match protocol {
        Protocol::Icmp => addr.ip().to_string(),
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
            IpProtocol::Unknown(_) => return None,
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

/// Groups the frames into streams, numbered in the order of their first packet. Frames that
/// belong to no stream (not IPv4, unreadable, other protocols) are left out.
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
    streams
}

/// Who opened the stream, when a packet tells: the sender of the first SYN (or the receiver of
/// the first SYN-ACK), or of the first echo request.
fn opener(frames: &[Frame], stream: &Stream) -> Option<SocketAddrV4> {
    let datagrams = stream
        .frames
        .iter()
        .filter_map(|&at| match &frames[at].content {
            Content::Ipv4(datagram) => Some(datagram),
            Content::Unreadable(_) => None,
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
        Protocol::Udp => None,
    }
}
