//! A host with IPv6 on an Ethernet device, on virtual time, against smoltcp::wire: the
//! Neighbor Discovery frames it sends are what smoltcp's parser reads as valid NDP (Hop Limit
//! 255, checksums, options), and it answers the solicitations smoltcp writes.
//!
//! The link layer's own unit tests compare the same frames byte for byte with the Linux
//! kernel's (`stack/src/link/ndp/linux_frames.rs`); this suite is the independent parser, and
//! goes through the host's public API (`Config::addr6`, `Host::receive`, `Host::transmit`,
//! `Host::stats`).

use std::net::{IpAddr, Ipv6Addr};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet, Icmpv6Repr,
    IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};
use tunstack::device::Medium;
use tunstack::link::neighbour::NeighbourState;
use tunstack::time::Instant;
use tunstack::{Config, Host, Ipv6Cidr};

const US: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const PEER: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
/// ff02::1:ff00:2, our solicited-node group.
const OUR_GROUP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const PEER_MAC: EthernetAddress = EthernetAddress([0x9a, 0x3c, 0, 0, 0, 0x11]);

fn host() -> Host {
    let mut config = Config::new("10.77.0.2/24".parse().unwrap())
        .with_ipv6(Ipv6Cidr::new(US, 64).expect("a /64"));
    config.medium = Medium::Ethernet;
    config.seed = Some(1);
    Host::new(config)
}

fn our_mac(host: &Host) -> EthernetAddress {
    EthernetAddress(host.mac().expect("on Ethernet").octets())
}

/// Every frame the host sends at `now`.
fn drain(host: &mut Host, now: Instant) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut buf = Vec::new();
    while host.transmit(now, &mut buf).is_some() {
        frames.push(std::mem::take(&mut buf));
    }
    frames
}

/// An NDP frame as smoltcp reads it: the Ethernet header, the IPv6 header, and the message.
struct Read<'a> {
    eth: EthernetRepr,
    ip: Ipv6Repr,
    ndp: NdiscRepr<'a>,
}

fn read(frame: &[u8]) -> Read<'_> {
    let eth = EthernetFrame::new_checked(frame).expect("an Ethernet frame");
    let eth_repr = EthernetRepr::parse(&eth).unwrap();
    assert_eq!(eth_repr.ethertype, EthernetProtocol::Ipv6);
    let packet = Ipv6Packet::new_checked(eth.payload()).expect("an IPv6 packet");
    let ip = Ipv6Repr::parse(&packet).unwrap();
    assert_eq!((ip.next_header, ip.hop_limit), (IpProtocol::Icmpv6, 255));
    let icmp = Icmpv6Packet::new_checked(packet.payload()).unwrap();
    let caps = ChecksumCapabilities::default();
    let repr = Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &icmp, &caps).expect("valid");
    let Icmpv6Repr::Ndisc(ndp) = repr else {
        panic!("not NDP: {repr:?}");
    };
    Read {
        eth: eth_repr,
        ip,
        ndp,
    }
}

/// A frame from the peer carrying `ndp` from `src` to `dst`, written by smoltcp.
fn smol_frame(src: Ipv6Addr, dst: Ipv6Addr, dst_mac: EthernetAddress, ndp: NdiscRepr) -> Vec<u8> {
    let icmp = Icmpv6Repr::Ndisc(ndp);
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.buffer_len(),
        hop_limit: 255,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv6,
    };
    let mut bytes = vec![0; eth.buffer_len() + ip.buffer_len() + icmp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut bytes[..]);
    eth.emit(&mut frame);
    let mut packet = Ipv6Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet);
    let caps = ChecksumCapabilities::default();
    let mut message = Icmpv6Packet::new_unchecked(packet.payload_mut());
    icmp.emit(&src, &dst, &mut message, &caps);
    bytes
}

fn lladdr(mac: EthernetAddress) -> Option<RawHardwareAddress> {
    Some(RawHardwareAddress::from_bytes(&mac.0))
}

#[test]
fn duplicate_address_detection_is_what_smoltcp_reads_as_valid() {
    let mut host = host();
    let frames = drain(&mut host, Instant::ZERO);
    assert_eq!(
        frames.len(),
        3,
        "gratuitous ARP, then a check per IPv6 address"
    );
    let link_local: Ipv6Addr = "fe80::aff:fe4d:2".parse().unwrap();
    for (frame, target) in frames[1..].iter().zip([link_local, US]) {
        let read = read(frame);
        assert_eq!(read.ip.src_addr, Ipv6Addr::UNSPECIFIED);
        let o = target.octets();
        let group = Ipv6Addr::from([
            0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
        ]);
        assert_eq!(read.ip.dst_addr, group);
        assert_eq!(
            read.eth.dst_addr,
            EthernetAddress([0x33, 0x33, 0xff, o[13], o[14], o[15]])
        );
        let solicit = NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: None,
        };
        assert_eq!(read.ndp, solicit);
    }
    assert_eq!(host.poll_at(), Some(Instant::from_secs(1)));
    assert!(drain(&mut host, Instant::from_secs(1)).is_empty());
    let stats = host.stats();
    assert_eq!((stats.dad.checked, stats.dad.passed), (2, 2));
    assert_eq!(stats.ndp.sent, 2);
}

#[test]
fn answers_smoltcps_solicitations() {
    let mut host = host();
    drain(&mut host, Instant::ZERO);
    let now = Instant::from_secs(1);
    drain(&mut host, now);
    let us_mac = our_mac(&host);

    // "Who has fd77::2?" to our solicited-node group: a solicited answer, to the asker.
    let ask = NdiscRepr::NeighborSolicit {
        target_addr: US,
        lladdr: lladdr(PEER_MAC),
    };
    let group_mac = EthernetAddress([0x33, 0x33, 0xff, 0, 0, 2]);
    host.receive(now, &smol_frame(PEER, OUR_GROUP, group_mac, ask));
    let frames = drain(&mut host, now);
    assert_eq!(frames.len(), 1);
    let answer = read(&frames[0]);
    assert_eq!(
        (answer.eth.src_addr, answer.eth.dst_addr),
        (us_mac, PEER_MAC)
    );
    assert_eq!((answer.ip.src_addr, answer.ip.dst_addr), (US, PEER));
    let advert = NdiscRepr::NeighborAdvert {
        flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
        target_addr: US,
        lladdr: lladdr(us_mac),
    };
    assert_eq!(answer.ndp, advert);
    let table = host.neighbours(now);
    assert_eq!(table[0].ip, IpAddr::V6(PEER));
    assert_eq!(table[0].state, NeighbourState::Stale);

    // The same question from :: (smoltcp's peer checking fd77::2): the answer goes to all nodes.
    let check = NdiscRepr::NeighborSolicit {
        target_addr: US,
        lladdr: None,
    };
    host.receive(
        now,
        &smol_frame(Ipv6Addr::UNSPECIFIED, OUR_GROUP, group_mac, check),
    );
    let frames = drain(&mut host, now);
    let defence = read(&frames[0]);
    assert_eq!(
        defence.eth.dst_addr,
        EthernetAddress([0x33, 0x33, 0, 0, 0, 1])
    );
    assert_eq!((defence.ip.src_addr, defence.ip.dst_addr), (US, ALL_NODES));
    let advert = NdiscRepr::NeighborAdvert {
        flags: NdiscNeighborFlags::OVERRIDE,
        target_addr: US,
        lladdr: lladdr(us_mac),
    };
    assert_eq!(defence.ndp, advert);

    let stats = host.stats();
    assert_eq!(
        (stats.ndp.received, stats.ndp.delivered, stats.ndp.sent),
        (2, 2, 4)
    );
    let layers: Vec<&str> = stats.layers().into_iter().map(|(name, _)| name).collect();
    assert_eq!(layers, ["eth", "arp", "ndp", "ip", "icmp", "udp", "tcp"]);
    assert!(
        stats
            .to_string()
            .contains("duplicate address detection: 2 addresses checked, 2 taken, 0 duplicates"),
        "{stats}"
    );
}
