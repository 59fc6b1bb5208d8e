//! Path MTU discovery against the Linux kernel as a router (RFC 1191 for IPv4, RFC 8201 for
//! IPv6): our 1500-byte segments meet a narrower veth hop, the kernel reports its MTU, our
//! segments shrink and 1 MiB arrives intact ([`tunstack_tests::pmtu`] tells the set-up).
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.

use tunstack_tests::pmtu::{through_a_narrow_hop, Path6Or4};
use tunstack_tests::{tun_tests_can_run, TunNet};

#[test]
fn fragmentation_needed_from_a_linux_router_shrinks_our_segments() {
    if !tun_tests_can_run() {
        return;
    }
    let mut net = TunNet::start("pmtu").unwrap();
    through_a_narrow_hop(
        &mut net,
        Path6Or4 {
            mtu: 1000,
            far: "10.88.0.2",
            near_setup: &["addr add 10.88.0.1/24 dev vnear"],
            far_setup: &[
                "addr add 10.88.0.2/24 dev vfar",
                "route add default via 10.88.0.1",
            ],
            forwarding: "net.ipv4.ip_forward=1",
            filter: "ip",
            fields: ("ip.src", "ip.len"),
            length_offset: 0,
            error: ("icmp.type", "3", "icmp.mtu"),
            error_info: "Fragmentation needed",
            us: "10.77.0.2",
        },
    );
}

/// The addresses are added `nodad`: usable at once, without duplicate address detection's
/// second.
#[test]
fn packet_too_big_from_a_linux_router_shrinks_our_segments() {
    if !tun_tests_can_run() {
        return;
    }
    let mut net = TunNet::start_dual("pmtu6").unwrap();
    through_a_narrow_hop(
        &mut net,
        Path6Or4 {
            mtu: 1280,
            far: "fd88::2",
            near_setup: &["-6 addr add fd88::1/64 dev vnear nodad"],
            far_setup: &[
                "-6 addr add fd88::2/64 dev vfar nodad",
                "-6 route add default via fd88::1",
            ],
            forwarding: "net.ipv6.conf.all.forwarding=1",
            filter: "ipv6",
            fields: ("ipv6.src", "ipv6.plen"),
            length_offset: 40,
            error: ("icmpv6.type", "2", "icmpv6.mtu"),
            error_info: "Packet Too Big",
            us: "fd77::2",
        },
    );
}
