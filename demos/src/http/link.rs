//! The index page's outermost box: the link layer, what wrapped the visitor's IP packet.
//!
//! On a TUN device nothing did: the kernel hands the device bare IP packets. On a TAP device
//! (`--tap`) the packet came inside an Ethernet II frame ([RFC 894]; [RFC 2464] for IPv6), and
//! the page shows that frame's header with the visitor's values:
//!
//! ```text
//!  0             6             12      14
//!  ┌─────────────┬─────────────┬───────┬──────────────────────┐ ┌ ─ ─ ┐
//!  │ destination │ source      │ 08 00 │ the IPv4 packet      │   FCS     added by a network
//!  │ (our MAC)   │ (yours)     │ IPv4  │ (86 dd: IPv6)        │ │     │   card; none on TAP
//!  └─────────────┴─────────────┴───────┴──────────────────────┘ └ ─ ─ ┘
//! ```
//!
//! The frame itself is gone by the time a request reaches the page (the stack unwrapped it
//! and TCP reassembled the bytes), so the addresses come from what the stack knows: ours, and
//! the sender's from the neighbour table ([`Stack::neighbours`], as `ip neigh` would list it),
//! which the kernel's ARP request (Neighbor Discovery's solicitation, over IPv6) filled in
//! before it sent the first frame. The sender of a frame is the last hop: the visitor itself
//! when it is on our network, else the gateway that forwarded its packet.
//!
//! [RFC 894]: https://www.rfc-editor.org/rfc/rfc894
//! [RFC 2464]: https://www.rfc-editor.org/rfc/rfc2464

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tunstack::link::ethernet::header::{Repr, HEADER_LEN};
use tunstack::link::ethernet::{EtherType, MacAddr};
use tunstack::link::neighbour::NeighbourInfo;
use tunstack::{Ipv4Cidr, Ipv6Cidr, Stack};

use super::html::escape;

/// The Ethernet header's length: two MAC addresses and the EtherType.
pub const ETHERNET_HEADER: usize = HEADER_LEN;

/// The frame check sequence a network card adds after the payload: a CRC-32.
pub const FCS: usize = 4;

/// The link a request came over, as the page tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A TUN device: bare IP packets, no link header.
    Tun,
    /// A TAP device: Ethernet frames.
    Ethernet(EthernetLink),
}

/// What the page knows about the Ethernet frames a request came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetLink {
    /// Our MAC address: the frames' destination.
    pub ours: MacAddr,
    /// Our address of the visitor's IP version, the one the sender asked for (with ARP, or
    /// with Neighbor Discovery over IPv6).
    pub ours_ip: IpAddr,
    /// The frames' sender (the last hop), as our neighbour table has it; `None` when the table
    /// has no entry for it (a full table pushes out the entry least worth keeping).
    pub sender: Option<NeighbourInfo>,
    /// The sender's address: the visitor's, or the gateway's.
    pub sender_ip: IpAddr,
    /// Whether the visitor is off our network, so that the frame came from the gateway.
    pub via_gateway: bool,
}

/// Our networks, and where packets off them go: what tells whether a visitor sent its frames
/// itself or through a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Networks {
    /// Our IPv4 network (the kernel side's address and prefix).
    pub v4: Ipv4Cidr,
    /// Our IPv6 network, when IPv6 is on.
    pub v6: Option<Ipv6Cidr>,
    /// Where IPv4 packets off our network go: the kernel's side, on TAP.
    pub gateway: Option<Ipv4Addr>,
    /// Where IPv6 packets off our network go: the kernel's side, on TAP.
    pub gateway6: Option<Ipv6Addr>,
}

impl Networks {
    /// The last hop of a packet from `visitor`, and whether it is a gateway: the visitor
    /// itself when it is on our network (or no gateway is known), else the gateway.
    fn last_hop(&self, visitor: IpAddr) -> (IpAddr, bool) {
        let gateway = match visitor {
            IpAddr::V4(v4) if !self.v4.contains(v4) => self.gateway.map(IpAddr::V4),
            IpAddr::V6(v6) if !self.v6.is_some_and(|net| net.contains(v6)) => {
                self.gateway6.map(IpAddr::V6)
            }
            _ => None,
        };
        match gateway {
            Some(gateway) => (gateway, true),
            None => (visitor, false),
        }
    }
}

impl Link {
    /// What `stack` knows about the link a packet from `visitor` came over, on `networks`.
    pub fn of(stack: &Stack, networks: &Networks, visitor: IpAddr) -> Link {
        let Some(ours) = stack.mac() else {
            return Link::Tun;
        };
        let (sender_ip, via_gateway) = networks.last_hop(visitor);
        let sender = stack.neighbours().into_iter().find(|n| n.ip == sender_ip);
        let ours_ip = match (visitor, stack.addr6()) {
            (IpAddr::V6(_), Some(addr6)) => IpAddr::V6(addr6),
            _ => IpAddr::V4(stack.addr()),
        };
        Link::Ethernet(EthernetLink {
            ours,
            ours_ip,
            sender,
            sender_ip,
            via_gateway,
        })
    }

    /// The link header's length: 14 bytes on Ethernet, none on TUN.
    pub fn header_len(&self) -> usize {
        match self {
            Link::Tun => 0,
            Link::Ethernet(_) => ETHERNET_HEADER,
        }
    }
}

/// The start of the link layer's box: its heading and what it says, for the TUN or TAP
/// `device`. The caller opens the box (`<div class="layer link">`), nests the IP box inside
/// and closes it.
pub fn box_head(link: &Link, device: &str) -> String {
    let device = escape(device);
    match link {
        Link::Tun => format!(
            "<h3>[Layer 1&ndash;2] TUN device {device}: no link header</h3>\n<p class=\"note\">A \
             TUN device carries bare IP packets between the Linux kernel and this program. On \
             Ethernet, a 14-byte header (MAC addresses) and a 4-byte checksum would wrap the \
             packet here.</p>\n"
        ),
        Link::Ethernet(eth) => ethernet_head(eth, &device),
    }
}

/// The Ethernet frame's box: the header's three fields with their values and bytes, ARP, the
/// FCS.
fn ethernet_head(eth: &EthernetLink, device: &str) -> String {
    let mut out = format!(
        "<h3>[Layer 1&ndash;2] Ethernet frame on TAP device {device}: Ethernet header \
         {ETHERNET_HEADER} bytes</h3>\n<p class=\"note\">A TAP device carries Ethernet frames \
         between the Linux kernel and this program, as a cable between two network cards \
         would: your IP packet came inside one, behind this header.</p>\n<table>\n\
         <tr><th>field</th><th>value</th><th>what it is</th></tr>\n"
    );
    let ours = eth.ours;
    let _ = writeln!(
        out,
        "<tr><th>destination MAC</th><td><code>{ours}</code></td><td>ours: this server's \
         address on {device}</td></tr>"
    );
    let source = match &eth.sender {
        Some(NeighbourInfo { mac: Some(mac), .. }) => format!("<code>{mac}</code>"),
        _ => "unknown".to_string(),
    };
    let whose = sender_words(eth, device);
    let (ethertype, version) = (
        ethertype_of(eth.ours_ip),
        super::ip::version_name(eth.ours_ip),
    );
    let _ = writeln!(
        out,
        "<tr><th>source MAC</th><td>{source}</td><td>{whose}</td></tr>\n\
         <tr><th>EtherType</th><td><code>{ethertype}</code></td><td>{version}: what the frame \
         carries (IPv4 is 0x0800, IPv6 0x86DD, ARP 0x0806)</td></tr>\n</table>"
    );
    if let Some(bytes) = header_bytes(eth) {
        let _ = writeln!(
            out,
            "<p>The header's {ETHERNET_HEADER} bytes, as they crossed {device} in front of \
             your packet (destination, source, type):</p>\n<pre>{bytes}</pre>"
        );
    }
    let asker = match eth.via_gateway {
        false => "Your system",
        true => "Your router",
    };
    let asked = how_it_asked(eth);
    let _ = writeln!(
        out,
        "<p class=\"note\">{asker} found our MAC address {asked} A network card adds {FCS} \
         more bytes after the packet, the frame check sequence (FCS, a CRC-32 of the frame), \
         and the card at the other end checks and removes them; a TAP device has no wire and \
         no card, so its frames, and a capture of them, have no FCS.</p>"
    );
    out
}

/// How the sender asked for our MAC address: ARP for IPv4, Neighbor Discovery for IPv6.
fn how_it_asked(eth: &EthernetLink) -> String {
    match eth.ours_ip {
        IpAddr::V4(ours) => format!(
            "with ARP before its first frame to us: it asked the whole link &ldquo;who has \
             {ours}? tell {}&rdquo; (to the broadcast address, ff:ff:ff:ff:ff:ff) and we \
             answered; <code>ip neigh</code> shows what it learned.",
            eth.sender_ip
        ),
        IpAddr::V6(ours) => format!(
            "with Neighbor Discovery (RFC 4861), IPv6's ARP, before its first frame to us: it \
             sent a neighbour solicitation for {ours} (an ICMPv6 message, to our \
             solicited-node multicast group, {}, rather than to everyone) and we answered with \
             a neighbour advertisement; <code>ip -6 neigh</code> shows what it learned.",
            tunstack::ip::addr6::solicited_node(ours)
        ),
    }
}

/// The EtherType of frames carrying packets of `addr`'s IP version, as the page writes it.
pub fn ethertype_of(addr: IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => "0x0800",
        IpAddr::V6(_) => "0x86DD",
    }
}

/// Whose the source address is, and where the page knows it from.
fn sender_words(eth: &EthernetLink, device: &str) -> String {
    let entry = match &eth.sender {
        Some(info) => format!(
            "our neighbour table: <code>{}</code>",
            escape(&info.to_string())
        ),
        None => format!(
            "{} is not in our neighbour table right now, so its address cannot be shown",
            eth.sender_ip
        ),
    };
    match eth.via_gateway {
        false => format!("yours: your system's side of {device} ({entry})"),
        true => format!(
            "your router's, {}: you are not on our network, so the last hop sent the frame, \
             not you ({entry})",
            eth.sender_ip
        ),
    }
}

/// The header's bytes in hex, `02 00 0a 4d 00 02  9a 3c ...  08 00`, written by the stack's own
/// Ethernet codec; `None` without the sender's MAC address.
fn header_bytes(eth: &EthernetLink) -> Option<String> {
    let src_addr = eth.sender.as_ref()?.mac?;
    let repr = Repr {
        dst_addr: eth.ours,
        src_addr,
        ethertype: match eth.ours_ip {
            IpAddr::V4(_) => EtherType::Ipv4,
            IpAddr::V6(_) => EtherType::Ipv6,
        },
    };
    let mut buf = [0u8; ETHERNET_HEADER];
    repr.emit(&mut buf);
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Some(format!(
        "{}  {}  {}",
        hex(&buf[0..6]),
        hex(&buf[6..12]),
        hex(&buf[12..14])
    ))
}
