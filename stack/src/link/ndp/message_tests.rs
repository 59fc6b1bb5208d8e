//! Reading and building NDP packets: Linux's frames, and each check of RFC 4861 7.1.

use super::*;
use crate::ip::ipv6::HEADER_LEN;
use crate::link::ethernet::header as ethernet;
use crate::link::ndp::linux_frames::{self as linux, bytes};

const KERNEL: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const US: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const KERNEL_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x983c, 0xff, 0xfe00, 0x11);
/// ff02::1:ff00:1 and ff02::1:ff00:2.
const GROUP_1: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1);
const GROUP_2: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
const KERNEL_MAC: MacAddr = MacAddr::new([0x9a, 0x3c, 0, 0, 0, 0x11]);
const OUR_MAC: MacAddr = MacAddr::new([0x02, 0, 0x0a, 0x4d, 0, 0x02]);

/// The IPv6 packet inside a frame written in hex.
fn packet(hex: &str) -> Vec<u8> {
    bytes(hex)[ethernet::HEADER_LEN..].to_vec()
}

fn message(src: Ipv6Addr, dst: Ipv6Addr, ndp: Ndp) -> Message {
    Message { src, dst, ndp }
}

fn solicit(target: Ipv6Addr, source_mac: Option<MacAddr>) -> Ndp {
    Ndp::Solicit { target, source_mac }
}

fn advert(solicited: bool, target: Ipv6Addr, target_mac: Option<MacAddr>) -> Ndp {
    Ndp::Advert {
        solicited,
        override_: true,
        router: false,
        target,
        target_mac,
    }
}

#[test]
fn reads_what_linux_sends() {
    let read_hex = |hex| read(&packet(hex));
    let dad = message(Ipv6Addr::UNSPECIFIED, GROUP_1, solicit(KERNEL, None));
    assert_eq!(
        read_hex(linux::DAD_NS),
        Some(Ok(dad)),
        "the nonce option is skipped"
    );
    let ns = message(KERNEL, GROUP_2, solicit(US, Some(KERNEL_MAC)));
    assert_eq!(read_hex(linux::NS), Some(Ok(ns)));
    let probe = message(KERNEL_LL, US, solicit(US, Some(KERNEL_MAC)));
    assert_eq!(read_hex(linux::PROBE), Some(Ok(probe)));
    let na = message(KERNEL, US, advert(true, KERNEL, Some(KERNEL_MAC)));
    assert_eq!(read_hex(linux::NA), Some(Ok(na)));
    let defend = message(KERNEL, ALL_NODES, advert(false, KERNEL, Some(KERNEL_MAC)));
    assert_eq!(read_hex(linux::DAD_NA), Some(Ok(defend)));
    assert_eq!(
        ns.ndp.to_string(),
        "ICMPv6 neighbor solicitation who has fd77::2 tell 9a:3c:00:00:00:11"
    );
}

/// What we build is byte for byte what the kernel accepted from us, and what it sends itself.
#[test]
fn builds_what_linux_accepts_and_sends() {
    let ns = solicit(KERNEL, Some(OUR_MAC)).emit(US, GROUP_1);
    assert_eq!(ns, packet(linux::OUR_NS));
    let dad = solicit(KERNEL, None).emit(Ipv6Addr::UNSPECIFIED, GROUP_1);
    assert_eq!(dad, packet(linux::OUR_DAD_NS));
    let na = advert(true, KERNEL, Some(KERNEL_MAC)).emit(KERNEL, US);
    assert_eq!(na, packet(linux::NA));
    let defend = advert(false, KERNEL, Some(KERNEL_MAC)).emit(KERNEL, ALL_NODES);
    assert_eq!(defend, packet(linux::DAD_NA));
    let probe = solicit(US, Some(KERNEL_MAC)).emit(KERNEL_LL, US);
    assert_eq!(probe, packet(linux::PROBE));
}

/// A packet from `src` to `dst` with Hop Limit `hop_limit`, carrying `icmp` with its checksum
/// filled in: for building messages that break one rule and pass every other.
fn with(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, mut icmp: Vec<u8>) -> Vec<u8> {
    if icmp.len() >= 8 {
        icmpv6::Packet::new_unchecked(&mut icmp[..]).fill_checksum(src, dst);
    }
    let header = ipv6::Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: NextHeader::Protocol(IpProtocol::Icmpv6),
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
        payload_len: icmp.len(),
    };
    let mut packet = vec![0; HEADER_LEN];
    header.emit(&mut packet);
    packet.extend_from_slice(&icmp);
    packet
}

/// The ICMPv6 part of the kernel's solicitation for fd77::2, to edit.
fn ns_icmp() -> Vec<u8> {
    packet(linux::NS)[HEADER_LEN..].to_vec()
}

/// Checks that `icmp` from `src` to `dst`, Hop Limit 255, is dropped for `reason`.
fn drops(what: &str, (src, dst): (Ipv6Addr, Ipv6Addr), icmp: Vec<u8>, reason: DropReason) {
    assert_eq!(
        read(&with(src, dst, 255, icmp)),
        Some(Err(reason)),
        "{what}"
    );
}

/// Checks that `icmp` from `src` to `dst`, Hop Limit 255, is read.
fn reads((src, dst): (Ipv6Addr, Ipv6Addr), icmp: Vec<u8>) -> bool {
    matches!(read(&with(src, dst, 255, icmp)), Some(Ok(_)))
}

/// `icmp` with byte `at` set to `value`.
fn edit(mut icmp: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    icmp[at] = value;
    icmp
}

/// RFC 4861 7.1.1: each rule for a solicitation broken alone, and the reason the drop is
/// counted under; the same message with every rule kept is read.
#[test]
fn every_check_of_rfc_4861_7_1_1_drops() {
    use DropReason as R;
    let ns = (KERNEL, GROUP_2);
    for hop_limit in [254, 64, 1, 0] {
        let packet = with(KERNEL, GROUP_2, hop_limit, ns_icmp());
        assert_eq!(read(&packet), Some(Err(R::NotFromLink)));
    }
    let mut bad_sum = packet(linux::NS);
    bad_sum[HEADER_LEN + 2] ^= 0x01;
    assert_eq!(read(&bad_sum), Some(Err(R::BadChecksum)));
    drops("code 1", ns, edit(ns_icmp(), 1, 1), R::Invalid);
    drops("20 bytes", ns, ns_icmp()[..20].to_vec(), R::Truncated);
    let mut multicast_target = ns_icmp();
    multicast_target[8..24].copy_from_slice(&GROUP_2.octets());
    drops("multicast target", ns, multicast_target, R::Invalid);
    let mut zero_option = ns_icmp();
    zero_option.extend_from_slice(&[14, 0, 0, 0, 0, 0, 0, 0]);
    drops("option length 0", ns, zero_option, R::BadOption);
    drops("option too long", ns, edit(ns_icmp(), 25, 2), R::Truncated);
    drops(
        "multicast source",
        (GROUP_1, GROUP_2),
        ns_icmp(),
        R::BadSource,
    );
    assert!(reads(ns, ns_icmp()));
}

/// RFC 4861 7.1.1, duplicate address detection: a solicitation from `::` goes to a
/// solicited-node group, without a source MAC address.
#[test]
fn a_solicitation_from_the_unspecified_address_follows_its_rules() {
    use DropReason as R;
    let any = Ipv6Addr::UNSPECIFIED;
    let dad_icmp = || ns_icmp()[..24].to_vec();
    drops("to a unicast address", (any, US), dad_icmp(), R::Invalid);
    drops("to all nodes", (any, ALL_NODES), dad_icmp(), R::Invalid);
    drops("with a source MAC", (any, GROUP_2), ns_icmp(), R::Invalid);
    assert!(reads((any, GROUP_2), dad_icmp()));
}

/// RFC 4861 7.1.2: the rules for an advertisement.
#[test]
fn every_check_of_rfc_4861_7_1_2_drops() {
    use DropReason as R;
    let na_icmp = || packet(linux::NA)[HEADER_LEN..].to_vec();
    let na = (KERNEL, US);
    let packet = with(KERNEL, US, 254, na_icmp());
    assert_eq!(read(&packet), Some(Err(R::NotFromLink)));
    drops("code 3", na, edit(na_icmp(), 1, 3), R::Invalid);
    drops("20 bytes", na, na_icmp()[..20].to_vec(), R::Truncated);
    let mut multicast_target = na_icmp();
    multicast_target[8..24].copy_from_slice(&ALL_NODES.octets());
    drops("multicast target", na, multicast_target, R::Invalid);
    drops(
        "solicited, to all nodes",
        (KERNEL, ALL_NODES),
        na_icmp(),
        R::Invalid,
    );
    // Unsolicited, it may go to all nodes.
    assert!(reads((KERNEL, ALL_NODES), edit(na_icmp(), 4, 0x20)));
    assert!(reads(na, na_icmp()));
}

/// Only NS and NA directly after the fixed header are the link layer's; the rest goes up.
#[test]
fn every_other_packet_goes_up() {
    let echo = vec![128, 0, 0, 0, 0, 1, 0, 1, b'h', b'i'];
    let router_solicit = vec![133, 0, 0, 0, 0, 0, 0, 0];
    for icmp in [echo, router_solicit, Vec::new()] {
        assert_eq!(read(&with(KERNEL, US, 255, icmp)), None);
    }
    // UDP, or a Hop-by-Hop header in front of the solicitation.
    let mut udp = with(KERNEL, US, 255, ns_icmp());
    udp[6] = 17;
    assert_eq!(read(&udp), None);
    let mut hop_by_hop = with(KERNEL, US, 255, ns_icmp());
    hop_by_hop[6] = 0;
    assert_eq!(read(&hop_by_hop), None);
    // Not IPv6, or a header the IP layer will refuse.
    assert_eq!(read(&[0x45, 0, 0, 20]), None);
    assert_eq!(read(&packet(linux::NS)[..39]), None);
    assert_eq!(read(&[]), None);
    // Ethernet padding after the packet is not part of the message.
    let mut padded = packet(linux::NS);
    padded.extend_from_slice(&[0; 6]);
    assert!(matches!(read(&padded), Some(Ok(_))));
}

proptest::proptest! {
    /// Any bytes behind a valid IPv6 header that says ICMPv6: reading never panics, and what
    /// is read builds back into a packet that reads the same.
    #[test]
    fn arbitrary_messages_never_panic(
        icmp in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        kind in proptest::prop_oneof![proptest::prelude::Just(135u8), proptest::prelude::Just(136)],
        hop_limit in proptest::prop_oneof![proptest::prelude::Just(255u8), proptest::prelude::any::<u8>()],
    ) {
        let mut icmp = icmp;
        if let Some(first) = icmp.first_mut() {
            *first = kind;
        }
        let packet = with(KERNEL, GROUP_2, hop_limit, icmp);
        if let Some(Ok(message)) = read(&packet) {
            let again = message.ndp.emit(message.src, message.dst);
            proptest::prop_assert_eq!(read(&again), Some(Ok(message)));
        }
    }
}
