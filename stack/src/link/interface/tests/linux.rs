//! Against the Linux kernel's frames (`link/ndp/linux_frames.rs`): what it sends, we answer
//! with the bytes it would send in our place; what we send is what it accepted.

use super::*;
use crate::link::ndp::linux_frames::{self as linux, bytes};
use crate::stats::DropReason;

/// The frames we must send, byte for byte: Linux's own layout with our addresses (its NA to
/// us, turned around), checksums computed apart from this code.
const NA_TO_KERNEL: &str = "9a3c0000001102000a4d000286dd6000000000203aff\
    fd770000000000000000000000000002fd770000000000000000000000000001\
    880010e860000000fd770000000000000000000000000002\
    020102000a4d0002";
const NA_TO_PROBE: &str = "9a3c0000001102000a4d000286dd6000000000203aff\
    fd770000000000000000000000000002fe80000000000000983c00fffe000011\
    8800789260000000fd770000000000000000000000000002\
    020102000a4d0002";
const NA_DEFENCE: &str = "33330000000102000a4d000286dd6000000000203aff\
    fd770000000000000000000000000002ff020000000000000000000000000001\
    88004f5d20000000fd770000000000000000000000000002\
    020102000a4d0002";
const OUR_DAD_FOR_FD77_2: &str = "3333ff00000202000a4d000286dd6000000000183aff\
    00000000000000000000000000000000ff0200000000000000000001ff000002\
    87007d2c00000000fd770000000000000000000000000002";

/// The one frame `a` sends after taking `frame` in.
fn answer(a: &mut EthernetInterface, frame: &str) -> Vec<u8> {
    assert_eq!(
        a.receive(at(0), &bytes(frame)),
        None,
        "NDP is not handed up"
    );
    let mut sent = drain(a, at(0));
    assert_eq!(sent.len(), 1, "{sent:#?}");
    sent.remove(0).bytes
}

#[test]
fn answers_the_kernels_solicitations_as_the_kernel_would() {
    let mut a = a(0);
    drain(&mut a, at(0));
    assert_eq!(answer(&mut a, linux::NS), bytes(NA_TO_KERNEL));
    let table = a.neighbours.table(at(0));
    assert_eq!(
        table[0].to_string(),
        "fd77::1 lladdr 9a:3c:00:00:00:11 STALE"
    );
    // Its probe, from its link-local address, is answered there.
    assert_eq!(answer(&mut a, linux::PROBE), bytes(NA_TO_PROBE));
    // Someone checking whether fd77::2 is free: the answer goes to all nodes.
    let check = Ndp::Solicit {
        target: A6,
        source_mac: None,
    };
    let group = crate::ip::addr6::solicited_node(A6);
    let check = frame(
        B_MAC,
        MacAddr::ipv6_multicast(group),
        &check.emit(Ipv6Addr::UNSPECIFIED, group),
    );
    assert_eq!(a.receive(at(0), &check), None);
    assert_eq!(drain(&mut a, at(0)).remove(0).bytes, bytes(NA_DEFENCE));
    // Its check of its own address is none of ours.
    assert_eq!(a.receive(at(0), &bytes(linux::DAD_NS)), None);
    assert!(drain(&mut a, at(0)).is_empty());
    assert_eq!(a.ndp_stats.dropped.get(DropReason::NotForUs), 1);
    assert_eq!((a.ndp_stats.received, a.ndp_stats.delivered), (4, 3));
}

#[test]
fn asks_the_kernel_as_the_kernel_accepted() {
    let mut a = a(0);
    drain(&mut a, at(0));
    assert!(send(&mut a, at(0), packet(A6, B6, 7)).is_none());
    let sent = drain(&mut a, at(0));
    assert_eq!(sent[0].bytes, bytes(linux::OUR_NS));
    // The kernel's answer releases the packet, to its MAC address.
    assert_eq!(a.receive(at(5), &bytes(linux::NA)), None);
    let released = drain(&mut a, at(5));
    assert_eq!(released.len(), 1);
    assert_eq!(
        (released[0].to, released[0].ethertype),
        (B_MAC, EtherType::Ipv6)
    );
    assert_eq!(released[0].bytes[14..], packet(A6, B6, 7)[..]);
    assert_eq!(state(&a, at(5), B6), Some(NeighbourState::Reachable));
}

#[test]
fn checks_its_addresses_as_the_kernel_accepted() {
    let mut a = a(1);
    let sent = drain(&mut a, at(0));
    assert_eq!(sent[2].bytes, bytes(OUR_DAD_FOR_FD77_2));

    // Our host configured with the kernel's fd77::1: the kernel's defence makes it a duplicate.
    let mut clash = interface(A_MAC, "10.77.0.2/24", B6, 1);
    let sent = drain(&mut clash, at(0));
    assert_eq!(sent[2].bytes, bytes(linux::OUR_DAD_NS));
    assert_eq!(clash.receive(at(1), &bytes(linux::DAD_NA)), None);
    drain(&mut clash, at(1000));
    assert!(!clash.ipv6_usable(B6));
    assert_eq!(clash.dad_stats().duplicates, 1);

    // And the kernel checking fd77::1 while we do: both give it up.
    let mut clash = interface(A_MAC, "10.77.0.2/24", B6, 1);
    drain(&mut clash, at(0));
    assert_eq!(clash.receive(at(1), &bytes(linux::DAD_NS)), None);
    assert!(drain(&mut clash, at(1)).is_empty(), "no answer to a check");
    drain(&mut clash, at(1000));
    assert!(!clash.ipv6_usable(B6));
}
