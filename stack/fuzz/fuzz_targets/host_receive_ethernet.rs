//! The Ethernet receive path and the ARP state machine: frames into [`Host::receive`] of a host
//! at 10.77.0.2/24 on an Ethernet device, time passing, connections opened to neighbours that
//! may or may not answer, and every frame out of [`Host::transmit`] checked with our own parsers.
//!
//! Random bytes are rarely a frame for us that carries a well-formed ARP packet or an IPv4
//! packet with right checksums, so each input is a list of records, and a record says what to
//! make of its bytes:
//!
//! ```text
//! input   := setup:u8 record*
//! record  := op:u8 who:u8 len:u8 bytes[len]        (a short last record takes the rest)
//!
//! setup   bit  0     a gateway, 10.77.0.1 (else addresses off our network have no route)
//!         bits 1-3   the neighbour cache's capacity: 1 to 8 entries
//!         bits 4-5   packets waiting per neighbour: 1 to 4 (8 in all)
//!
//! op      bits 0-2   what the record is:
//!                    0  a raw frame: the bytes as they are
//!                    1  an IPv4 packet from neighbour `who` to us, in a frame to our MAC
//!                       (bit 3: to broadcast); bits 4-5 the protocol (ICMP, UDP, TCP, the
//!                       input's); bit 6: keep the input's source address (maybe off-link).
//!                       Version, lengths and checksums are made right.
//!                    2  an ARP request from `who` for our address (bit 3: for the address in
//!                       the bytes), broadcast (bit 4: to our MAC)
//!                    3  an ARP reply from `who` to us (bit 3: the sender's MAC from the bytes)
//!                    4  an ARP packet whose operation and addresses all come from the bytes,
//!                       broadcast (bit 3: to our MAC)
//!                    5  time passes: `who` × 2^(bits 3-5) ms (up to 33 s), or (bit 6) up to
//!                       the host's next deadline
//!                    6  the application connects to `who` (bit 3: to 192.0.2.`who`, off our
//!                       network) on the port in the bytes
//!                    7  the application listens on the port in the bytes
//!         bit  7     the host's frames stay queued after this record (else they are sent)
//!
//! who     bits 0-4   the neighbour: 10.77.0.(who + 1) (10.77.0.2, ours, is a neighbour
//!                    claiming our address)
//!         bits 5-7   its MAC address: 02:10:00:00:0v:nn for v = 0..6 (a neighbour whose card
//!                    changed), or 7: a multicast address, which no card may send from
//! ```
//!
//! What is checked, besides "no panic": every frame the host sends is a whole Ethernet frame
//! from our MAC address, within the MTU; ARP from us is about our address, and a reply goes to
//! the asker; an IPv4 frame is a packet from us with a right header checksum, sent to a MAC
//! address that the input claimed for the packet's next hop (or broadcast and multicast
//! addresses for those destinations); the neighbour table never holds more entries than its
//! capacity, nor more waiting packets than its bounds, nor an address the input never claimed;
//! and once the host has sent what it had, its next deadline is in the future.
//!
//! Set `TUNSTACK_FUZZ_LOG=1` (and `RUST_LOG=tunstack=debug`) to see the stack's trace when
//! replaying an input; each input then ends with a line of the neighbour cache's counters.
#![no_main]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tunstack::device::Medium;
use tunstack::ip::header::{self as ip, IpProtocol};
use tunstack::ip::icmp::header as icmp;
use tunstack::link::arp::header::{self as arp, Operation};
use tunstack::link::ethernet::header::{self as ethernet, EtherType, Frame};
use tunstack::link::ethernet::MacAddr;
use tunstack::link::neighbour::NeighbourConfig;
use tunstack::time::Instant;
use tunstack::{tcp, udp, Config, Host, Ipv4Cidr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 255);
/// Packets waiting for all neighbours together.
const PENDING_TOTAL: usize = 8;

/// What the input has told the host: every (IP, MAC) pair an ARP packet claimed.
struct Claims {
    pairs: HashSet<(Ipv4Addr, MacAddr)>,
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, mut rest)) = data.split_first() else {
        return;
    };
    logging();
    let mut config = Config::new(Ipv4Cidr::new(US, 24).expect("a /24"));
    config.seed = Some(0x7457_0a4d_0002);
    config.medium = Medium::Ethernet;
    config.gateway = (setup & 0x01 != 0).then_some(GATEWAY);
    config.neighbours = NeighbourConfig {
        capacity: 1 + usize::from(setup >> 1 & 0x07),
        pending_per_neighbour: 1 + usize::from(setup >> 4 & 0x03),
        pending_total: PENDING_TOTAL,
        ..NeighbourConfig::default()
    };
    let limits = config.neighbours.clone();
    let gateway = config.gateway;
    let mtu = config.mtu;
    let mut host = Host::new(config);
    let us_mac = host.mac().expect("an Ethernet host has a MAC address");
    let mut claims = Claims {
        pairs: HashSet::new(),
    };
    let mut now = Instant::ZERO;
    let mut out = Vec::new();

    while let [op, who, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (bytes, after) = tail.split_at(len);
        rest = after;
        let (op, who) = (*op, *who);
        match op & 0x07 {
            0 => host.receive(now, bytes),
            1 => host.receive(now, &ipv4_frame(op, who, bytes, us_mac)),
            2 => {
                let target = if op & 0x08 != 0 { ip_from(bytes) } else { US };
                let dst = if op & 0x10 != 0 {
                    us_mac
                } else {
                    MacAddr::BROADCAST
                };
                let (sender_ip, sender_mac) = neighbour(who);
                let request = arp::Repr {
                    operation: Operation::Request,
                    sender_mac,
                    sender_ip,
                    target_mac: MacAddr::UNSPECIFIED,
                    target_ip: target,
                };
                host.receive(now, &arp_frame(dst, &request, &mut claims));
            }
            3 => {
                let (sender_ip, mut sender_mac) = neighbour(who);
                if op & 0x08 != 0 {
                    sender_mac = mac_from(bytes);
                }
                let reply = arp::Repr {
                    operation: Operation::Reply,
                    sender_mac,
                    sender_ip,
                    target_mac: us_mac,
                    target_ip: US,
                };
                host.receive(now, &arp_frame(us_mac, &reply, &mut claims));
            }
            4 => {
                let mut fields = bytes.iter().copied().chain(std::iter::repeat(0));
                let mut take = |n: usize| fields.by_ref().take(n).collect::<Vec<u8>>();
                let operation = Operation::from(u16::from(take(1)[0] & 0x03));
                let sender_mac = MacAddr::new(take(6).try_into().expect("6 bytes"));
                let sender_ip = ip_from(&take(4));
                let target_mac = MacAddr::new(take(6).try_into().expect("6 bytes"));
                let target_ip = ip_from(&take(4));
                let repr = arp::Repr {
                    operation,
                    sender_mac,
                    sender_ip,
                    target_mac,
                    target_ip,
                };
                let dst = if op & 0x08 != 0 {
                    us_mac
                } else {
                    MacAddr::BROADCAST
                };
                host.receive(now, &arp_frame(dst, &repr, &mut claims));
            }
            5 => {
                if op & 0x40 != 0 {
                    if let Some(at) = host.poll_at() {
                        now = now.max(at);
                    }
                } else {
                    let ms = u64::from(who) << (op >> 3 & 0x07);
                    now += Duration::from_millis(ms);
                }
            }
            6 => {
                let ip = if op & 0x08 != 0 {
                    Ipv4Addr::new(192, 0, 2, who)
                } else {
                    neighbour(who).0
                };
                let _ = host.tcp_connect(now, SocketAddrV4::new(ip, port_from(bytes)));
            }
            _ => {
                let _ = host.tcp_listen(SocketAddrV4::new(US, port_from(bytes)), Some(4));
            }
        }
        if op & 0x80 == 0 {
            while let Some(_why) = host.transmit(now, &mut out) {
                check_sent(&out, us_mac, mtu, gateway, &claims);
            }
            if let Some(at) = host.poll_at() {
                assert!(
                    at > now,
                    "a deadline at {at} is due at {now} after transmit"
                );
            }
        }
        check_table(&host, now, &limits, &claims);
    }
    if logging() {
        let stats = host.stats();
        eprintln!("neighbours: {:?}", stats.neighbours);
        eprintln!("arp: {:?}", stats.arp);
    }
});

/// Whether `TUNSTACK_FUZZ_LOG` is set: then the stack's trace goes to stderr (filtered by
/// `RUST_LOG`), and each input ends with the neighbour cache's and ARP's counters.
fn logging() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let on = std::env::var_os("TUNSTACK_FUZZ_LOG").is_some();
        if on {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_writer(std::io::stderr)
                .init();
        }
        on
    })
}

/// Neighbour `who`: its address on our network and its MAC address.
fn neighbour(who: u8) -> (Ipv4Addr, MacAddr) {
    let n = who & 0x1f;
    let ip = Ipv4Addr::new(10, 77, 0, n + 1);
    let mac = match who >> 5 {
        7 => MacAddr::new([0x01, 0x00, 0x5e, 0x00, 0x00, n]),
        v => MacAddr::new([0x02, 0x10, 0x00, 0x00, v, n]),
    };
    (ip, mac)
}

fn ip_from(bytes: &[u8]) -> Ipv4Addr {
    let mut octets = [0; 4];
    for (o, b) in octets.iter_mut().zip(bytes) {
        *o = *b;
    }
    Ipv4Addr::from(octets)
}

fn mac_from(bytes: &[u8]) -> MacAddr {
    let mut octets = [0; 6];
    for (o, b) in octets.iter_mut().zip(bytes) {
        *o = *b;
    }
    MacAddr::new(octets)
}

fn port_from(bytes: &[u8]) -> u16 {
    match bytes {
        [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
        [lo] => u16::from(*lo),
        [] => 80,
    }
}

/// An ARP packet in a frame to `dst`, from the packet's sender; the claim is remembered.
fn arp_frame(dst: MacAddr, repr: &arp::Repr, claims: &mut Claims) -> Vec<u8> {
    claims.pairs.insert((repr.sender_ip, repr.sender_mac));
    let mut frame = vec![0; ethernet::HEADER_LEN + arp::HEADER_LEN];
    ethernet::Repr {
        dst_addr: dst,
        src_addr: repr.sender_mac,
        ethertype: EtherType::Arp,
    }
    .emit(&mut frame);
    repr.emit(&mut frame[ethernet::HEADER_LEN..]);
    frame
}

/// An IPv4 packet from neighbour `who` (or the input's source) to us, made well-formed, in a
/// frame from the neighbour's MAC address to ours (or broadcast).
fn ipv4_frame(op: u8, who: u8, bytes: &[u8], us_mac: MacAddr) -> Vec<u8> {
    let (neighbour_ip, neighbour_mac) = neighbour(who);
    let mut packet = bytes.to_vec();
    if packet.len() < ip::HEADER_LEN {
        packet.resize(ip::HEADER_LEN, 0);
    }
    packet[0] = 0x45;
    match op >> 4 & 0x03 {
        0 => packet[9] = 1,
        1 => packet[9] = 17,
        2 => packet[9] = 6,
        _ => {}
    }
    packet[6] &= 0x40; // not a fragment
    packet[7] = 0;
    if packet[8] == 0 {
        packet[8] = 64;
    }
    let src = if op & 0x40 != 0 {
        Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15])
    } else {
        neighbour_ip
    };
    packet[12..16].copy_from_slice(&src.octets());
    packet[16..20].copy_from_slice(&US.octets());
    let total_len = packet.len() as u16;
    packet[2..4].copy_from_slice(&total_len.to_be_bytes());
    let segment = &mut packet[ip::HEADER_LEN..];
    match IpProtocol::from(packet_protocol(bytes, op)) {
        IpProtocol::Icmp if segment.len() >= icmp::HEADER_LEN => {
            icmp::Packet::new_unchecked(&mut *segment).fill_checksum();
        }
        IpProtocol::Udp if segment.len() >= udp::header::HEADER_LEN => {
            let len = segment.len() as u16;
            let mut datagram = udp::header::Packet::new_unchecked(&mut *segment);
            datagram.set_len(len);
            datagram.fill_checksum(src, US);
        }
        IpProtocol::Tcp if segment.len() >= tcp::header::HEADER_LEN => {
            tcp::header::Packet::new_unchecked(&mut *segment).fill_checksum(src, US);
        }
        _ => {}
    }
    ip::Packet::new_unchecked(&mut packet[..]).fill_checksum();

    let dst = if op & 0x08 != 0 {
        MacAddr::BROADCAST
    } else {
        us_mac
    };
    let mut frame = vec![0; ethernet::HEADER_LEN];
    ethernet::Repr {
        dst_addr: dst,
        src_addr: neighbour_mac,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut frame);
    frame.extend_from_slice(&packet);
    frame
}

/// The protocol byte [`ipv4_frame`] ends up with.
fn packet_protocol(bytes: &[u8], op: u8) -> u8 {
    match op >> 4 & 0x03 {
        0 => 1,
        1 => 17,
        2 => 6,
        _ => bytes.get(9).copied().unwrap_or(0),
    }
}

/// A frame the host sent: see the module documentation.
fn check_sent(
    bytes: &[u8],
    us_mac: MacAddr,
    mtu: usize,
    gateway: Option<Ipv4Addr>,
    claims: &Claims,
) {
    assert!(
        bytes.len() <= mtu + ethernet::HEADER_LEN,
        "a {}-byte frame over the MTU of {mtu}",
        bytes.len()
    );
    let frame = Frame::new_checked(bytes).expect("a whole Ethernet header");
    let header = ethernet::Repr::parse(&frame).expect("an Ethernet header");
    assert_eq!(header.src_addr, us_mac, "frames come from our MAC address");
    match header.ethertype {
        EtherType::Arp => {
            let packet = arp::Packet::new_checked(frame.payload()).expect("a whole ARP packet");
            let repr = arp::Repr::parse(&packet).expect("ARP for IPv4 over Ethernet");
            assert_eq!((repr.sender_ip, repr.sender_mac), (US, us_mac), "{repr}");
            match repr.operation {
                Operation::Reply => {
                    assert_eq!(
                        header.dst_addr, repr.target_mac,
                        "a reply goes to the asker"
                    );
                    assert!(repr.target_mac.is_unicast(), "{repr}");
                }
                Operation::Request => {
                    let probe = claims.pairs.contains(&(repr.target_ip, header.dst_addr));
                    assert!(
                        header.dst_addr.is_broadcast() || probe,
                        "a request goes to everyone, or probes a claimed address: {repr} to {}",
                        header.dst_addr
                    );
                }
                Operation::Unknown(n) => panic!("we sent ARP operation {n}"),
            }
        }
        EtherType::Ipv4 => {
            let packet = ip::Packet::new_checked(frame.payload()).expect("a whole IPv4 packet");
            let repr = ip::Repr::parse(&packet).expect("with a right checksum");
            assert_eq!(repr.src_addr, US);
            assert_eq!(usize::from(packet.total_len()), frame.payload().len());
            let dst = repr.dst_addr;
            let to = header.dst_addr;
            if dst.is_broadcast() || dst == BROADCAST {
                assert!(to.is_broadcast(), "{dst} framed to {to}");
            } else if dst.is_multicast() {
                assert_eq!(to, MacAddr::ipv4_multicast(dst));
            } else {
                let on_link = Ipv4Cidr::new(US, 24).expect("a /24").contains(dst);
                let hop = if on_link {
                    dst
                } else {
                    gateway.expect("a route")
                };
                assert!(
                    claims.pairs.contains(&(hop, to)),
                    "a packet for {dst} framed to {to}, which nobody claimed for {hop}"
                );
            }
        }
        other => panic!("we sent EtherType {other}"),
    }
}

/// The neighbour table stays within its bounds, and holds only what the input claimed.
fn check_table(host: &Host, now: Instant, limits: &NeighbourConfig, claims: &Claims) {
    let table = host.neighbours(now);
    assert!(
        table.len() <= limits.capacity,
        "{} entries, capacity {}",
        table.len(),
        limits.capacity
    );
    let mut waiting = 0;
    for entry in &table {
        assert!(entry.waiting <= limits.pending_per_neighbour, "{entry}");
        waiting += entry.waiting;
        if let Some(mac) = entry.mac {
            let IpAddr::V4(ip) = entry.ip else {
                panic!("{entry}: an IPv6 neighbour on a host without IPv6");
            };
            assert!(claims.pairs.contains(&(ip, mac)), "{entry}: never claimed");
            assert!(mac.is_unicast(), "{entry}");
            assert_ne!(entry.ip, US, "{entry}");
        }
    }
    assert!(waiting <= PENDING_TOTAL, "{waiting} packets waiting");
}
