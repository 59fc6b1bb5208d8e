//! How a host is set up: its addresses, its link, and the limits of each layer.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::device::{Medium, Offloads};
use crate::ip::fragment::ReassemblyConfig;
use crate::ip::icmp::RateLimit;
use crate::ip::{Ipv4Cidr, Ipv6Cidr, DEFAULT_TTL};
use crate::link::ethernet::MacAddr;
use crate::link::neighbour::NeighbourConfig;
use crate::tcp::TcpConfig;

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our address and the network it is on, e.g. `10.77.0.2/24`.
    pub addr: Ipv4Cidr,
    /// Our IPv6 address and its network, e.g. `fd77::2/64`; `None`: IPv6 is off. With it on we
    /// also have a link-local address, fe80:: and an identifier from [`Config::mac`]
    /// ([`crate::ip::addr6::link_local_for`]).
    pub addr6: Option<Ipv6Cidr>,
    /// Where IPv6 packets for addresses off our networks go, on an Ethernet device (like
    /// [`Config::gateway`]).
    pub gateway6: Option<Ipv6Addr>,
    /// The link's MTU: the largest IP packet we send or expect.
    pub mtu: usize,
    /// Time to Live of the packets we send.
    pub ttl: u8,
    /// Seed for everything random (ephemeral ports, the first IP Identification, ...). `None`
    /// seeds from the system; a fixed seed makes a run repeat exactly, which tests and the tour
    /// rely on.
    pub seed: Option<u64>,
    /// How many ICMP errors we may send.
    pub icmp_rate_limit: RateLimit,
    /// How many datagrams each UDP socket queues before it drops.
    pub udp_recv_queue: usize,
    /// How many ready packets wait for the link before senders have to wait.
    pub out_queue: usize,
    /// TCP's settings.
    pub tcp: TcpConfig,
    /// What the device carries: bare IP, or Ethernet frames (then the host frames its packets
    /// and runs ARP). [`Stack::new`](crate::Stack::new) takes it from the device.
    pub medium: Medium,
    /// The jobs the device does for us ([`crate::device::offload`]): with TSO, TCP sends
    /// segments of up to 64 KiB for the device to cut; with checksum offload, it leaves their
    /// checksums partial. [`Stack::new`](crate::Stack::new) takes them from the device.
    pub offloads: Offloads,
    /// Segmentation in software (Linux's GSO), on by default: on a device without TSO, TCP
    /// sends up to 64 KiB of whole segments as one *train*, and the driver cuts it into the
    /// segments the wire would have carried anyway, with their headers and checksums, before
    /// the device (and its capture) sees them. The same packets as without it, for a fraction
    /// of TCP's work per segment: a train goes only while no other connection has something
    /// to send, as those take turns segment by segment. It takes the driver ([`Stack::new`](crate::Stack::new)): a
    /// [`Host`](crate::host::Host) driven by hand sends one segment per packet, unless it
    /// asks for trains ([`Host::set_trains`](crate::host::Host::set_trains)) and cuts them.
    pub gso: bool,
    /// Our MAC address, on an Ethernet device. [`Config::new`] makes a locally administered
    /// one from the IPv4 address: `02:00` and the address's four bytes (10.77.0.2 is
    /// 02:00:0a:4d:00:02), unique on a link where the addresses are.
    pub mac: MacAddr,
    /// Where packets for addresses off our network go, on an Ethernet device: a router on our
    /// network. `None`: only our network is reachable; a packet for anywhere else is dropped and
    /// its sender told "network unreachable". (On a TUN device every packet goes to the kernel,
    /// which routes it.)
    pub gateway: Option<Ipv4Addr>,
    /// The neighbour cache's bounds and timers (ARP).
    pub neighbours: NeighbourConfig,
    /// IPv4 reassembly's limits: 30 s, 4 MiB for all datagrams, 64 fragments each.
    pub reassembly: ReassemblyConfig,
    /// IPv6 reassembly's limits: 60 s ([RFC 8200 section 4.5]), 4 MiB, 64 fragments each.
    ///
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    pub reassembly6: ReassemblyConfig,
}

impl Config {
    /// A configuration for address `addr` with defaults for everything else: MTU 1500, TTL
    /// 64, Linux's ICMP rate limit, 256 datagrams per UDP socket, 256 queued packets.
    pub fn new(addr: Ipv4Cidr) -> Config {
        Config {
            addr,
            addr6: None,
            gateway6: None,
            mtu: 1500,
            ttl: DEFAULT_TTL,
            seed: None,
            icmp_rate_limit: RateLimit::default(),
            udp_recv_queue: 256,
            out_queue: 256,
            tcp: TcpConfig::default(),
            medium: Medium::Ip,
            offloads: Offloads::NONE,
            gso: true,
            mac: Config::mac_for(addr.address()),
            gateway: None,
            neighbours: NeighbourConfig::default(),
            reassembly: ReassemblyConfig::default(),
            reassembly6: crate::ip::ipv6::fragment::REASSEMBLY_CONFIG,
        }
    }

    /// This configuration with IPv6 on, at `addr6` (and a link-local address).
    pub fn with_ipv6(mut self, addr6: Ipv6Cidr) -> Config {
        self.addr6 = Some(addr6);
        self
    }

    /// The MAC address [`Config::new`] gives `addr`: `02:00` (locally administered, unicast)
    /// followed by the address's four bytes.
    pub fn mac_for(addr: Ipv4Addr) -> MacAddr {
        let [a, b, c, d] = addr.octets();
        MacAddr::new([0x02, 0x00, a, b, c, d])
    }
}
