use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use super::*;

use crate::device::netns::{can_use_tun, skip_or_fail, NetNs};
use crate::device::testing::{
    icmp_echo_request, icmpv6_echo_request, recv, send, tshark_fields, tshark_problems, TempFile,
};
use crate::device::Capture;
use crate::ip::checksum;
use crate::ip::header::{IpProtocol, Packet, Repr};

/// The kernel's address on the TUN network, and the one the stack would use.
const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// The same two, on the IPv6 network fd77::/64.
const KERNEL6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const STACK6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);

#[test]
fn rejects_a_name_linux_would_cut_short() {
    let err = TunDevice::open("sixteen-bytes-00").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("longer than 15 bytes"), "{err}");
}

#[test]
fn open_errors_say_what_to_do() {
    let err = open_error("tun0", io::Error::from_raw_os_error(libc::EPERM));
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
    let err = open_error("tun0", io::Error::from_raw_os_error(libc::ENOENT));
    assert!(err.to_string().contains("modprobe tun"), "{err}");
    let err = open_error("tun0", io::Error::from_raw_os_error(libc::EBUSY));
    assert_eq!(err.kind(), io::ErrorKind::ResourceBusy);
    assert!(err.to_string().starts_with("tun0 is in use"), "{err}");
}

/// A name that is taken: by a TUN device another descriptor holds (`tun0` is OpenVPN's
/// default too), or by an interface of another kind (here a TAP device). Either way the error names the device
/// and says to choose another name. Inside a namespace made for the test.
#[test]
fn a_taken_name_says_which_device_and_what_to_do() {
    if let Err(why) = can_use_tun() {
        skip_or_fail(&why);
        return;
    }
    let ns = NetNs::create("tunstack-link-taken").unwrap();
    run_in(&ns, async {
        let _held = TunDevice::open("tun0").unwrap();
        let err = TunDevice::open("tun0").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ResourceBusy, "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with("tun0 is in use by another program"),
            "{text}"
        );
        assert!(text.contains("choose another name"), "{text}");

        // A TAP device (Ethernet frames, not IP packets): the tun module makes it, so
        // no other module is needed.
        let tap = ["tuntap", "add", "dev", "taken0", "mode", "tap"];
        let mut added = ns.exec("ip", &tap);
        assert!(added.output().unwrap().status.success());
        let text = TunDevice::open("taken0").unwrap_err().to_string();
        assert!(
            text.starts_with("taken0 exists and is another kind of device"),
            "{text}"
        );
        assert!(text.contains("choose another name"), "{text}");
    });
}

/// The kernel is the peer: it sends us a UDP datagram through the device, and answers the
/// echo request we write into it. All of it inside a namespace made for this test, and
/// recorded through a `Capture` that tshark then reads.
#[test]
fn the_kernel_talks_to_us_in_a_fresh_namespace() {
    if let Err(why) = can_use_tun() {
        skip_or_fail(&why);
        return;
    }
    let file = TempFile::new("tun-capture");
    let ns = NetNs::create("tunstack-link").unwrap();
    run_in(&ns, kernel_exchange(&ns, file.path()));

    let fields = [
        "frame.packet_flags_direction",
        "frame.interface_name",
        "ip.src",
        "ip.dst",
        "ip.checksum.status",
        "udp.dstport",
        "udp.checksum.status",
        "icmp.type",
        "icmp.checksum.status",
    ];
    let Some(frames) = tshark_fields(file.path(), &fields) else {
        return;
    };
    // The kernel's packets and ours, every checksum good (status 1), nothing else: with
    // IPv6 off, the kernel sends nothing unasked.
    assert_eq!(
        frames,
        [
            "0x00000001|tun0|10.77.0.1|10.77.0.2|1|9|1||",
            "0x00000002|tun0|10.77.0.2|10.77.0.1|1|||8|1",
            "0x00000001|tun0|10.77.0.1|10.77.0.2|1|||0|1",
        ]
    );
    let flagged = tshark_problems(file.path()).unwrap_or_default();
    assert!(flagged.is_empty(), "tshark flags: {flagged:?}");
}

/// `ip link del tun0` under an open device: every read and write then fails with a
/// `NetworkDown` error that says so, which stops a stack on it.
#[test]
fn a_deleted_device_says_it_is_gone() {
    if let Err(why) = can_use_tun() {
        eprintln!("skipped: {why}");
        return;
    }
    let ns = NetNs::create("tunstack-link-del").unwrap();
    run_in(&ns, async {
        let mut tun = TunDevice::open("tun0").unwrap();
        tun.configure("10.77.0.1/24".parse().unwrap(), None)
            .unwrap();
        let deleted = ns.exec("ip", &["link", "del", "tun0"]).status();
        assert!(deleted.unwrap().success());
        let mut buf = vec![0; tun.mtu()];
        let wait = Duration::from_secs(5);
        let err = tokio::time::timeout(wait, recv(&mut tun, &mut buf))
            .await
            .expect("the read fails at once")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NetworkDown);
        assert!(err.to_string().starts_with("tun0 was deleted ("), "{err}");
        let request = icmp_echo_request(STACK, KERNEL, 1, 1, b"late");
        let err = send(&mut tun, &request).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NetworkDown);
    });
}

async fn kernel_exchange(ns: &NetNs, capture: &Path) {
    let tun = TunDevice::open("tun0").unwrap();
    assert_eq!((tun.name(), tun.mtu()), ("tun0", 1500));
    tun.configure("10.77.0.1/24".parse().unwrap(), None)
        .unwrap();
    let output = ns
        .exec("ip", &["-o", "addr", "show", "dev", "tun0"])
        .output();
    let addrs = String::from_utf8(output.unwrap().stdout).unwrap();
    assert!(addrs.contains("inet 10.77.0.1/24"), "{addrs}");
    assert!(!addrs.contains("inet6"), "IPv6 is off: {addrs}");
    let output = ns
        .exec("ip", &["-o", "link", "show", "dev", "tun0"])
        .output();
    let link = String::from_utf8(output.unwrap().stdout).unwrap();
    assert!(link.contains(" qlen 10000"), "{link}");
    let mut tun = Capture::create(tun, capture, "tun0").unwrap();

    // Kernel → stack: a datagram from an ordinary socket, created in the namespace too.
    let socket = std::net::UdpSocket::bind((KERNEL, 0)).unwrap();
    socket.send_to(b"to the stack", (STACK, 9)).unwrap();
    let mut buf = vec![0; tun.mtu()];
    let len = next_packet(&mut tun, &mut buf, IpProtocol::Udp).await;
    let packet = Packet::new_checked(&buf[..len]).unwrap();
    assert_eq!((packet.src_addr(), packet.dst_addr()), (KERNEL, STACK));
    let udp = packet.payload();
    assert_eq!(&udp[2..4], &9u16.to_be_bytes(), "destination port");
    assert_eq!(&udp[8..], b"to the stack");

    // Stack → kernel: an echo request, and the kernel's echo reply (RFC 792: type 0).
    let request = icmp_echo_request(STACK, KERNEL, 0x7475, 1, b"ping over tun");
    send(&mut tun, &request).await.unwrap();
    let len = next_packet(&mut tun, &mut buf, IpProtocol::Icmp).await;
    let packet = Packet::new_checked(&buf[..len]).unwrap();
    assert_eq!((packet.src_addr(), packet.dst_addr()), (KERNEL, STACK));
    let icmp = packet.payload();
    assert_eq!(icmp[0], 0, "echo reply");
    assert_eq!(checksum::checksum(icmp), 0);
    assert_eq!(
        &icmp[4..],
        &request[header_len(&request) + 4..],
        "same id, seq, data"
    );

    let err = send(&mut tun, &[0; 1501]).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        tun.packets_written(),
        3,
        "the refused packet is not recorded"
    );
}

fn header_len(packet: &[u8]) -> usize {
    Packet::new_checked(packet).unwrap().header_len()
}

/// Receives until a valid IPv4 packet of `protocol` arrives, within five seconds; returns its
/// length. Any non-IPv4 packet fails the test: the device is configured with IPv6 off.
async fn next_packet(tun: &mut impl Device, buf: &mut [u8], protocol: IpProtocol) -> usize {
    let wait = async {
        loop {
            let len = recv(tun, buf).await.unwrap();
            let packet = Packet::new_checked(&buf[..len]).expect("an IPv4 packet");
            let repr = Repr::parse(&packet).unwrap();
            if repr.protocol == protocol {
                return len;
            }
            eprintln!("(skipping {repr})");
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("no {protocol} packet from the kernel within 5 s"))
}

/// With IPv6 on, the kernel talks to us over IPv6 through the same device: a datagram to
/// fd77::2, and an answer to our echo request. And it says nothing unasked: no router
/// solicitation (with router discovery on, the first goes out as the link comes up).
#[test]
fn the_kernel_talks_ipv6_to_us_and_nothing_more() {
    if let Err(why) = can_use_tun() {
        skip_or_fail(&why);
        return;
    }
    let file = TempFile::new("tun-capture-v6");
    let ns = NetNs::create("tunstack-link-v6").unwrap();
    run_in(&ns, kernel_exchange_v6(&ns, file.path()));

    let fields = [
        "frame.packet_flags_direction",
        "ipv6.src",
        "ipv6.dst",
        "udp.dstport",
        "udp.checksum.status",
        "icmpv6.type",
        "icmpv6.checksum.status",
    ];
    let Some(frames) = tshark_fields(file.path(), &fields) else {
        return;
    };
    assert_eq!(
        frames,
        [
            "0x00000001|fd77::1|fd77::2|9|1||",
            "0x00000002|fd77::2|fd77::1|||128|1",
            "0x00000001|fd77::1|fd77::2|||129|1",
        ]
    );
    let flagged = tshark_problems(file.path()).unwrap_or_default();
    assert!(flagged.is_empty(), "tshark flags: {flagged:?}");
}

/// Reads the output of `ip args...` run inside `ns`.
fn ip_in(ns: &NetNs, args: &[&str]) -> String {
    let output = ns.exec("ip", args).output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

async fn kernel_exchange_v6(ns: &NetNs, capture: &Path) {
    let tun = TunDevice::open("tun0").unwrap();
    let peer6 = "fd77::1/64".parse().unwrap();
    tun.configure("10.77.0.1/24".parse().unwrap(), Some(peer6))
        .unwrap();
    let addrs = ip_in(ns, &["-o", "addr", "show", "dev", "tun0"]);
    assert!(addrs.contains("inet 10.77.0.1/24"), "{addrs}");
    assert!(
        addrs.contains("inet6 fd77::1/64 scope global nodad"),
        "{addrs}"
    );
    let route = ip_in(ns, &["-6", "route", "get", "fd77::2"]);
    assert!(route.contains(" dev tun0 "), "{route}");
    for (setting, value) in [("accept_ra", "0"), ("autoconf", "0"), ("disable_ipv6", "0")] {
        let path = format!("/proc/sys/net/ipv6/conf/tun0/{setting}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            value,
            "{path}"
        );
    }
    let mut tun = Capture::create(tun, capture, "tun0").unwrap();
    let mut buf = vec![0; tun.mtu()];

    // Nothing unasked: a router solicitation would come at once.
    let quiet = tokio::time::timeout(Duration::from_millis(300), recv(&mut tun, &mut buf)).await;
    assert!(quiet.is_err(), "the kernel sent {quiet:?}");

    // Kernel → stack: a datagram from an IPv6 socket.
    let socket = std::net::UdpSocket::bind((KERNEL6, 0)).unwrap();
    socket.send_to(b"to the stack", (STACK6, 9)).unwrap();
    let len = next_packet6(&mut tun, &mut buf).await;
    let packet = crate::ip::ipv6::Packet::new_checked(&buf[..len]).unwrap();
    assert_eq!((packet.src_addr(), packet.dst_addr()), (KERNEL6, STACK6));
    assert_eq!(u8::from(packet.next_header()), 17, "UDP");
    assert_eq!(&packet.payload()[8..], b"to the stack");

    // Stack → kernel: an echo request, and the kernel's echo reply (RFC 4443: type 129).
    let request = icmpv6_echo_request(STACK6, KERNEL6, 0x7475, 1, b"ping6 over tun");
    send(&mut tun, &request).await.unwrap();
    let len = next_packet6(&mut tun, &mut buf).await;
    let packet = crate::ip::ipv6::Packet::new_checked(&buf[..len]).unwrap();
    assert_eq!((packet.src_addr(), packet.dst_addr()), (KERNEL6, STACK6));
    let icmp = packet.payload();
    assert_eq!(icmp[0], 129, "echo reply");
    assert_eq!(&icmp[4..], &request[40 + 4..], "same id, seq, data");
}

/// Receives the next packet within five seconds, which must be IPv6; returns its length.
async fn next_packet6(tun: &mut impl Device, buf: &mut [u8]) -> usize {
    let len = tokio::time::timeout(Duration::from_secs(5), recv(tun, buf))
        .await
        .expect("a packet from the kernel within 5 s")
        .unwrap();
    assert_eq!(buf[0] >> 4, 6, "an IPv6 packet: {:02x?}", &buf[..len]);
    len
}

/// Runs `future` on a current-thread runtime, on a thread inside `ns`.
fn run_in(ns: &NetNs, future: impl Future<Output = ()> + Send) {
    ns.run(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(future);
    })
    .unwrap();
}

#[test]
fn a_kernel_release_reads_as_its_major_and_minor_version() {
    assert_eq!(sys::parse_version("6.18.44-fc-v1300"), Some((6, 18)));
    assert_eq!(sys::parse_version("5.15.0-91-generic"), Some((5, 15)));
    assert_eq!(sys::parse_version("6.3"), Some((6, 3)));
    assert_eq!(sys::parse_version("linux"), None);
    assert_eq!(sys::parse_version("6"), None);
    assert!(sys::kernel_version().is_some(), "this machine's own");
}
