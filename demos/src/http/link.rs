//! The index page's outermost box: the link layer, what wrapped the visitor's IP packet.
//!
//! On a TUN device nothing did: the kernel hands the device bare IP packets. On a TAP device
//! (`--tap`) the packet came inside an Ethernet II frame ([RFC 894]), and the page shows that
//! frame's header with the visitor's values:
//!
//! ```text
//!  0             6             12      14
//!  ┌─────────────┬─────────────┬───────┬──────────────────────┐ ┌ ─ ─ ┐
//!  │ destination │ source      │ 08 00 │ the IPv4 packet      │   FCS     added by a network
//!  │ (our MAC)   │ (yours)     │ IPv4  │                      │ │     │   card; none on TAP
//!  └─────────────┴─────────────┴───────┴──────────────────────┘ └ ─ ─ ┘
//! ```
//!
//! The frame itself is gone by the time a request reaches the page (the stack unwrapped it
//! and TCP reassembled the bytes), so the addresses come from what the stack knows: ours, and
//! the sender's from the neighbour table ([`Stack::neighbours`], as `ip neigh` would list it),
//! which the kernel's ARP request filled in before it sent the first frame. The sender of a
//! frame is the last hop: the visitor itself when it is on our network, else the gateway that
//! forwarded its packet.
//!
//! [RFC 894]: https://www.rfc-editor.org/rfc/rfc894

use std::fmt::Write;
use std::net::Ipv4Addr;

use tunstack::link::ethernet::header::{Repr, HEADER_LEN};
use tunstack::link::ethernet::{EtherType, MacAddr};
use tunstack::link::neighbour::NeighbourInfo;
use tunstack::{Ipv4Cidr, Stack};

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
    /// Our IPv4 address, the one the sender asked ARP about.
    pub ours_ip: Ipv4Addr,
    /// The frames' sender (the last hop), as our neighbour table has it; `None` when the table
    /// has no entry for it (a full table pushes out the entry least worth keeping).
    pub sender: Option<NeighbourInfo>,
    /// The sender's IPv4 address: the visitor's, or the gateway's.
    pub sender_ip: Ipv4Addr,
    /// Whether the visitor is off our network, so that the frame came from the gateway.
    pub via_gateway: bool,
}

impl Link {
    /// What `stack` knows about the link a packet from `visitor` came over. `network` is ours;
    /// `gateway`, where packets off it go (the kernel's side of a TAP device).
    pub fn of(
        stack: &Stack,
        network: Ipv4Cidr,
        gateway: Option<Ipv4Addr>,
        visitor: Ipv4Addr,
    ) -> Link {
        let Some(ours) = stack.mac() else {
            return Link::Tun;
        };
        let (sender_ip, via_gateway) = match gateway {
            Some(gateway) if !network.contains(visitor) => (gateway, true),
            _ => (visitor, false),
        };
        let sender = stack.neighbours().into_iter().find(|n| n.ip == sender_ip);
        Link::Ethernet(EthernetLink {
            ours,
            ours_ip: stack.addr(),
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
    let _ = writeln!(
        out,
        "<tr><th>source MAC</th><td>{source}</td><td>{whose}</td></tr>\n\
         <tr><th>EtherType</th><td><code>0x0800</code></td><td>IPv4: what the frame \
         carries (ARP is 0x0806)</td></tr>\n</table>"
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
    let _ = writeln!(
        out,
        "<p class=\"note\">{asker} found our MAC address with ARP before its first frame to \
         us: it asked the whole link &ldquo;who has {}? tell {}&rdquo; (to the broadcast \
         address, ff:ff:ff:ff:ff:ff) and we answered; <code>ip neigh</code> shows what it \
         learned. A network card adds {FCS} more bytes after the packet, the frame check \
         sequence (FCS, a CRC-32 of the frame), and the card at the other end checks and \
         removes them; a TAP device has no wire and no card, so its frames, and a capture of \
         them, have no FCS.</p>",
        eth.ours_ip, eth.sender_ip,
    );
    out
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
        ethertype: EtherType::Ipv4,
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
