//! The command-line options every TUN demo shares: the device (TUN, or TAP with `--tap`), the
//! two sides' addresses, the capture and the impairments; and the checks that the addresses
//! make sense before any device is made.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use tunstack::link::ethernet::MacAddr;
use tunstack::{Ipv4Cidr, Ipv6Cidr};

use crate::ImpairOptions;

mod ipv6;

pub use ipv6::{check_addresses6, DEFAULT_ADDR6, DEFAULT_PEER6};

/// Options every TUN demo takes: the device (TUN, or TAP with `--tap`), the two addresses, a
/// capture and impairments.
#[derive(clap::Args, Debug, Clone)]
pub struct TunOptions {
    /// Name of the device to create [default: tun0, or tap0 with --tap]. Choose another when
    /// the name is taken (by another program's device: OpenVPN's default is tun0 too).
    #[arg(long, value_name = "NAME")]
    pub tun: Option<String>,

    /// Make a TAP device instead of TUN: the kernel and our stack exchange Ethernet frames and
    /// find each other's MAC address with ARP (see `ip neigh`, `arping -I tap0 10.77.0.2`), and
    /// the capture has the frames. The kernel's side is our gateway too: packets for addresses
    /// off --peer's network go to it, which takes those that are its own (this machine's other
    /// addresses) and routes the rest if forwarding is on.
    #[arg(long)]
    pub tap: bool,

    /// Our MAC address on the TAP device: a unicast address (even first octet; 02 marks one
    /// made up locally), e.g. 02:aa:bb:cc:dd:ee [default: 02:00 and --addr's four bytes,
    /// 02:00:0a:4d:00:02 for 10.77.0.2]. Only with --tap: a TUN device carries bare IP
    /// packets, with no MAC addresses.
    #[arg(long, value_name = "MAC", requires = "tap", value_parser = parse_mac)]
    pub mac: Option<MacAddr>,

    /// The stack's own IPv4 address (the demo's side of the device): a host address on
    /// --peer's network other than the kernel's, not its network or broadcast address.
    #[arg(long, default_value = "10.77.0.2", value_name = "IP")]
    pub addr: Ipv4Addr,

    /// The kernel side's address and prefix, given to the device (the network both sides are on).
    #[arg(long, default_value = "10.77.0.1/24", value_name = "IP/PREFIX")]
    pub peer: Ipv4Cidr,

    /// The stack's own IPv6 address and prefix, beside --addr: on --peer6's network, another
    /// address than the kernel's [default: fd77::2/64, a unique local address (RFC 4193), as
    /// 10.77.0.2 is a private one]. With --tap, the two sides find each other's MAC address
    /// with neighbour discovery (IPv6's ARP: see `ip -6 neigh`), and the stack's address is
    /// usable a second after start, once duplicate address detection has passed (the ready
    /// line waits for it).
    #[arg(long, value_name = "IP6/PREFIX")]
    pub addr6: Option<Ipv6Cidr>,

    /// The kernel side's IPv6 address and prefix, given to the device [default: fd77::1/64].
    #[arg(long, value_name = "IP6/PREFIX")]
    pub peer6: Option<Ipv6Cidr>,

    /// IPv4 only: no IPv6 address for the stack, and IPv6 turned off on the kernel's side of
    /// the device (so the capture holds IPv4 packets only).
    #[arg(long, conflicts_with_all = ["addr6", "peer6"])]
    pub no_ipv6: bool,

    /// Write every packet to this pcapng file (open it in Wireshark, even while the demo runs).
    /// With impairments, it records what crossed the device: a lost outbound packet is a gap.
    /// With --tap, every frame: Ethernet headers and ARP included.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,

    /// Turn on the device's offloads, to go fast: the kernel hands the stack TCP super-packets
    /// of up to 64 KiB and takes ours, cutting them into MSS-sized segments itself (TSO and
    /// GSO), and neither side sums the bytes of a TCP checksum (checksum offload). The capture
    /// then shows the super-packets, each with a comment saying how many segments it stands
    /// for, as tcpdump shows on any host whose card does TSO. Off by default: the course's
    /// captures show the segments that cross a real wire.
    #[arg(long)]
    pub offload: bool,

    /// With --offload, let our IPv4 super-packets grow past 64 KiB (to 192 KiB), their Total
    /// Length 0, as Linux's BIG TCP does (Linux 6.3 or later reads them): fewer packets and
    /// ACKs per byte. The capture shows them whole.
    #[arg(long, requires = "offload")]
    pub big_tcp: bool,

    /// Loss, delay, a bottleneck...: see the "Impairments" options.
    #[command(flatten)]
    pub impair: ImpairOptions,
}

impl TunOptions {
    /// The device's name: `--tun NAME`, else `tun0`, or `tap0` with `--tap`.
    pub fn device_name(&self) -> &str {
        match (&self.tun, self.tap) {
            (Some(name), _) => name,
            (None, false) => "tun0",
            (None, true) => "tap0",
        }
    }

    /// The IPv6 addresses of the two sides, ours and the kernel's (`--addr6`, `--peer6` or
    /// their defaults), on TUN and TAP alike; `None` with `--no-ipv6`.
    pub fn ipv6(&self) -> Option<(Ipv6Cidr, Ipv6Cidr)> {
        if self.no_ipv6 {
            return None;
        }
        Some((
            self.addr6.unwrap_or(DEFAULT_ADDR6),
            self.peer6.unwrap_or(DEFAULT_PEER6),
        ))
    }

    /// Checks that the stack will be able to reach `to`, given with `option` (e.g. `--to`):
    /// an IPv6 address needs IPv6 on. Checked before any device is made; the error is one
    /// line, for the user.
    pub fn check_reachable(&self, option: &str, to: std::net::IpAddr) -> Result<(), String> {
        if to.is_ipv6() && self.ipv6().is_none() {
            return Err(format!(
                "{option} {to} is an IPv6 address, and IPv6 is off (--no-ipv6 turned it off); \
                 give an IPv4 address, e.g. {}",
                self.peer.address()
            ));
        }
        Ok(())
    }

    /// What kind of device the options ask for, as the demos name it: "TUN" or "TAP".
    pub fn kind(&self) -> &'static str {
        if self.tap {
            "TAP"
        } else {
            "TUN"
        }
    }
}

/// Reads `--mac`: a MAC address that can be ours, that is one naming a single interface.
///
/// Refused with a sentence that says why and what would do: text that is not a MAC address
/// ([`MacAddr`]'s parser says what is wrong with it), a multicast address (the I/G bit, the
/// lowest bit of the first octet, is set: it names a group of interfaces, and the broadcast
/// address is one), and `00:00:00:00:00:00`, which means "no address" (an ARP request carries
/// it for the address it asks for). See [RFC 9542 section 2.1] for the two bits.
///
/// [RFC 9542 section 2.1]: https://www.rfc-editor.org/rfc/rfc9542#section-2.1
pub fn parse_mac(text: &str) -> Result<MacAddr, String> {
    let mac: MacAddr = text.trim().parse().map_err(|err| format!("{err}"))?;
    // The same address with the I/G bit cleared and the U/L bit set: unicast, made up locally.
    let mut octets = mac.octets();
    octets[0] = (octets[0] & !0x01) | 0x02;
    let unicast = MacAddr::new(octets);
    if mac.is_broadcast() {
        Err(format!(
            "{mac} is the broadcast address: frames to it go to every interface on the link, \
             and our address must name one; give a unicast address, e.g. 02:aa:bb:cc:dd:ee"
        ))
    } else if mac.is_multicast() {
        Err(format!(
            "{mac} is a multicast address (its first octet is odd: the I/G bit is set), which \
             names a group of interfaces, and our address must name one; give a unicast \
             address, e.g. {unicast} (that bit cleared, and the next one set: made up locally)"
        ))
    } else if mac == MacAddr::UNSPECIFIED {
        Err(format!(
            "{mac} means no address (an ARP request asks with it); give a unicast address, \
             e.g. 02:aa:bb:cc:dd:ee"
        ))
    } else {
        Ok(mac)
    }
}

/// Checks `--addr` (the stack's address) against `--peer` (the kernel's address and the
/// network) before any device is made. Both must be usable host addresses of the network: not
/// its network address, not its broadcast address (a /31 has neither, RFC 3021), and not each
/// other. A /32 is refused: it holds one host, and the two sides need an address each.
///
/// The error names the option, the address and what would do, e.g. "--addr: 10.77.0.255 is the
/// broadcast address of 10.77.0.0/24; usable host addresses are 10.77.0.1 to 10.77.0.254".
pub fn check_addresses(addr: Ipv4Addr, peer: Ipv4Cidr) -> Result<(), String> {
    if peer.prefix_len() == 32 {
        return Err(format!(
            "--peer: {peer} is a network of one host, and the kernel and the stack need an \
             address each: give a shorter prefix, e.g. {}/24 (or /31 for just the two)",
            peer.address()
        ));
    }
    peer.check_host(peer.address())
        .map_err(|err| format!("--peer: {err}"))?;
    peer.check_host(addr)
        .map_err(|err| format!("--addr: {err}"))?;
    if addr == peer.address() {
        let (first, last) = peer.hosts();
        let other = if first == addr { last } else { first };
        return Err(format!(
            "--addr: {addr} is --peer's address, the kernel's side of the device; the stack \
             needs another address on {}/{}, e.g. {other}",
            peer.network(),
            peer.prefix_len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
