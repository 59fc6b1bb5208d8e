//! The tour's network: two hosts on one wire, the client's side captured.
//!
//! ```text
//!   client 10.77.0.1                                          server 10.77.0.2
//!   ┌───────┐   ┌─────────┐   ┌──────────────────────┐         ┌───────┐
//!   │ Stack │───│ Capture │───│ Impair: delay, loss… │═ wire ══│ Stack │
//!   └───────┘   └─────────┘   └──────────────────────┘         └───────┘
//! ```
//!
//! The wire carries bare IP packets, as a TUN device does, except in the first step, where it
//! is an Ethernet cable: each host has a MAC address (`Config::mac_for`: `02:00` and its IPv4
//! address), wraps its packets in frames, and finds the other's MAC address with ARP. In the
//! IPv6 step each host has an IPv6 address too (fd77::1, fd77::2): dual stack, as the course
//! calls it, both versions on one wire.
//!
//! The capture sits between the client's stack and the impairments, where a capture on the
//! client's network card would be: it records every packet the client sends, including those
//! the network then loses, and every packet that reaches it.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use tunstack::device::impair::{ImpairConfig, Impairments, Rule, StatsHandle};
use tunstack::device::{memory, Capture, Device, Impair, Medium, MemoryConfig};
use tunstack::{Config, Ipv4Cidr, Ipv6Cidr, Stack};

/// The client's address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The server's address.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// The client's IPv6 address, in the IPv6 step.
pub const CLIENT6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
/// The server's IPv6 address, in the IPv6 step.
pub const SERVER6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
/// The one-way delay of the wire: a 20 ms round trip, a city-to-city path.
pub const DELAY: Duration = Duration::from_millis(10);
/// Captures carry this date as their start (2026-01-01 00:00:00 UTC), so that a run writes
/// the same bytes as the last one.
pub const EPOCH: Duration = Duration::from_secs(1_767_225_600);

/// How the wire behaves in one step.
pub struct Wire {
    /// The bottleneck rate in bits per second, if any.
    pub rate: Option<u64>,
    /// Packets from the client that the wire loses on purpose.
    pub drops: Vec<Rule>,
    /// What it carries: bare IP packets, as a TUN device does (every step but the first), or
    /// Ethernet frames, which the hosts address to each other's MAC address, found by ARP.
    pub medium: Medium,
    /// Whether the hosts have IPv6 addresses too, beside their IPv4 ones.
    pub ipv6: bool,
}

impl Wire {
    /// A clean wire with a 20 ms round trip, carrying bare IP packets.
    pub fn clean() -> Wire {
        Wire {
            rate: None,
            drops: Vec::new(),
            medium: Medium::Ip,
            ipv6: false,
        }
    }

    /// A clean wire whose hosts speak IPv4 and IPv6 (dual stack).
    pub fn dual() -> Wire {
        Wire {
            ipv6: true,
            ..Wire::clean()
        }
    }

    /// A clean Ethernet wire with a 20 ms round trip: a cable between two network cards.
    pub fn ethernet() -> Wire {
        Wire {
            medium: Medium::Ethernet,
            ..Wire::clean()
        }
    }
}

/// Two hosts on a wire.
pub struct Net {
    pub client: Stack,
    pub server: Stack,
    /// What the impairments did.
    pub impaired: StatsHandle,
}

/// `addr/24`: both hosts are on 10.77.0.0/24.
const fn cidr(addr: Ipv4Addr) -> Ipv4Cidr {
    match Ipv4Cidr::new(addr, 24) {
        Some(cidr) => cidr,
        None => panic!("24 is a valid prefix length"),
    }
}

/// `addr/64`: both hosts are on fd77::/64.
const fn cidr6(addr: Ipv6Addr) -> Ipv6Cidr {
    match Ipv6Cidr::new(addr, 64) {
        Some(cidr) => cidr,
        None => panic!("64 is a valid prefix length"),
    }
}

/// A fresh pair of hosts whose wire behaves as `wire` says, the client's side captured to
/// `capture`.
pub fn net(capture: &Path, wire: Wire) -> io::Result<Net> {
    let (client_end, server_end) = memory::pair(MemoryConfig {
        medium: wire.medium,
        ..MemoryConfig::default()
    });
    let outbound = Impairments {
        delay: DELAY,
        rate: wire.rate,
        script: wire.drops,
        ..Impairments::default()
    };
    let inbound = Impairments {
        delay: DELAY,
        rate: wire.rate,
        ..Impairments::default()
    };
    let impaired = Impair::new(
        client_end,
        ImpairConfig {
            outbound,
            inbound,
            seed: 1,
        },
    )?;
    let counters = impaired.stats_handle();
    let client_link = Capture::create(impaired, capture, "client")?.with_epoch(EPOCH);
    let mut client_config = Config::new(cidr(CLIENT));
    client_config.seed = Some(1);
    let mut server_config = Config::new(cidr(SERVER));
    server_config.seed = Some(2);
    if wire.ipv6 {
        client_config = client_config.with_ipv6(cidr6(CLIENT6));
        server_config = server_config.with_ipv6(cidr6(SERVER6));
    }
    Ok(Net {
        client: Stack::new(Box::new(client_link) as Box<dyn Device>, client_config),
        server: Stack::new(server_end, server_config),
        impaired: counters,
    })
}
