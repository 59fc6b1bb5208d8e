//! The options' parsing and checks.

use std::net::Ipv4Addr;

use super::*;

#[test]
fn addr_and_peer_must_be_two_usable_hosts_of_one_network() {
    let peer = |s: &str| s.parse::<Ipv4Cidr>().unwrap();
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    assert_eq!(
        check_addresses(ip("10.77.0.2"), peer("10.77.0.1/24")),
        Ok(())
    );
    assert_eq!(
        check_addresses(ip("10.77.0.254"), peer("10.77.0.1/24")),
        Ok(())
    );
    // RFC 3021: a /31's two addresses are both hosts'.
    assert_eq!(
        check_addresses(ip("10.77.0.0"), peer("10.77.0.1/31")),
        Ok(())
    );
    for (addr, peer_, words) in [
        (
            "10.77.0.255",
            "10.77.0.1/24",
            "--addr: 10.77.0.255 is the broadcast address of 10.77.0.0/24; usable host \
             addresses are 10.77.0.1 to 10.77.0.254",
        ),
        (
            "10.77.0.0",
            "10.77.0.1/24",
            "--addr: 10.77.0.0 is the network address of 10.77.0.0/24; usable host \
             addresses are 10.77.0.1 to 10.77.0.254",
        ),
        (
            "10.78.0.2",
            "10.77.0.1/24",
            "--addr: 10.78.0.2 is not on 10.77.0.0/24; usable host addresses are \
             10.77.0.1 to 10.77.0.254",
        ),
        (
            "10.77.0.2",
            "10.77.0.255/24",
            "--peer: 10.77.0.255 is the broadcast address of 10.77.0.0/24; usable host \
             addresses are 10.77.0.1 to 10.77.0.254",
        ),
        (
            "10.77.0.2",
            "10.77.0.0/24",
            "--peer: 10.77.0.0 is the network address of 10.77.0.0/24; usable host \
             addresses are 10.77.0.1 to 10.77.0.254",
        ),
        (
            "10.77.0.1",
            "10.77.0.1/24",
            "--addr: 10.77.0.1 is --peer's address, the kernel's side of the device; the \
             stack needs another address on 10.77.0.0/24, e.g. 10.77.0.254",
        ),
        (
            "10.77.0.1",
            "10.77.0.1/32",
            "--peer: 10.77.0.1/32 is a network of one host, and the kernel and the stack \
             need an address each: give a shorter prefix, e.g. 10.77.0.1/24 (or /31 for \
             just the two)",
        ),
    ] {
        let err = check_addresses(ip(addr), peer(peer_)).unwrap_err();
        assert_eq!(err, words, "--addr {addr} --peer {peer_}");
    }
}

#[test]
fn a_mac_must_name_one_interface() {
    assert_eq!(
        parse_mac("02:aa:bb:cc:dd:ee").map(|m| m.to_string()),
        Ok("02:aa:bb:cc:dd:ee".to_string())
    );
    // Globally administered unicast is an address too (a card's own, copied).
    assert!(parse_mac("00:16:3E:12:34:56").is_ok());
    for (bad, words) in [
        (
            "01:00:5e:00:00:01",
            "01:00:5e:00:00:01 is a multicast address (its first octet is odd: the I/G bit \
             is set), which names a group of interfaces, and our address must name one; \
             give a unicast address, e.g. 02:00:5e:00:00:01 (that bit cleared, and the \
             next one set: made up locally)",
        ),
        (
            "ff:ff:ff:ff:ff:ff",
            "ff:ff:ff:ff:ff:ff is the broadcast address: frames to it go to every \
             interface on the link, and our address must name one; give a unicast \
             address, e.g. 02:aa:bb:cc:dd:ee",
        ),
        (
            "00:00:00:00:00:00",
            "00:00:00:00:00:00 means no address (an ARP request asks with it); give a \
             unicast address, e.g. 02:aa:bb:cc:dd:ee",
        ),
        (
            "02:aa:bb:cc:dd",
            "`02:aa:bb:cc:dd` has 5 groups of hex digits; a MAC address has 6, like \
             02:00:00:77:00:02",
        ),
    ] {
        assert_eq!(parse_mac(bad), Err(words.to_string()), "{bad}");
    }
}

/// The options as a demo's command line gives them.
fn parse(args: &[&str]) -> Result<TunOptions, clap::Error> {
    use clap::Parser;
    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        tun: TunOptions,
    }
    let all = std::iter::once("demo").chain(args.iter().copied());
    Args::try_parse_from(all).map(|args| args.tun)
}

#[test]
fn offloads_are_off_unless_asked_for() {
    assert!(!parse(&[]).unwrap().offload);
    assert!(parse(&["--offload"]).unwrap().offload);
    assert!(parse(&["--tap", "--offload"]).unwrap().offload);
    assert!(!parse(&["--offload"]).unwrap().big_tcp);
    assert!(parse(&["--offload", "--big-tcp"]).unwrap().big_tcp);
    assert!(
        parse(&["--big-tcp"]).is_err(),
        "BIG TCP rides on the offloads"
    );
}

#[test]
fn the_device_is_tun0_or_tap0_unless_named() {
    let tun = parse(&[]).unwrap();
    assert_eq!(
        (tun.device_name(), tun.kind(), tun.mac),
        ("tun0", "TUN", None)
    );
    let tap = parse(&["--tap"]).unwrap();
    assert_eq!((tap.device_name(), tap.kind()), ("tap0", "TAP"));
    let named = parse(&["--tap", "--tun", "lab0", "--mac", "02:aa:bb:cc:dd:ee"]).unwrap();
    assert_eq!(named.device_name(), "lab0");
    assert_eq!(
        named.mac.map(|m| m.to_string()).as_deref(),
        Some("02:aa:bb:cc:dd:ee")
    );
    // --mac without --tap: a TUN device has no MAC addresses to set.
    let err = parse(&["--mac", "02:aa:bb:cc:dd:ee"]).err().unwrap();
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
}

#[test]
fn dual_stack_on_tun_and_tap_unless_turned_off() {
    let ipv6 = |args: &[&str]| {
        parse(args)
            .unwrap()
            .ipv6()
            .map(|(ours, kernel)| (ours.to_string(), kernel.to_string()))
    };
    let defaults = Some(("fd77::2/64".to_string(), "fd77::1/64".to_string()));
    assert_eq!(ipv6(&[]), defaults);
    assert_eq!(ipv6(&["--no-ipv6"]), None);
    // TAP too: the stack answers neighbour solicitations.
    assert_eq!(ipv6(&["--tap"]), defaults);
    assert_eq!(ipv6(&["--tap", "--no-ipv6"]), None);
    assert_eq!(ipv6(&["--tap", "--addr6", "fd77::2/64"]), defaults);
    assert_eq!(
        ipv6(&["--addr6", "fd88::20/64", "--peer6", "fd88::10/64"]),
        Some(("fd88::20/64".to_string(), "fd88::10/64".to_string()))
    );
    // --no-ipv6 with an IPv6 address: one of the two is a mistake.
    let err = parse(&["--no-ipv6", "--addr6", "fd77::2/64"])
        .err()
        .unwrap();
    assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    let err = parse(&["--addr6", "10.77.0.2/24"]).err().unwrap();
    assert!(err.to_string().contains("not an IPv6 address"), "{err}");
}
