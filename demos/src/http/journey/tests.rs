//! The page, for visits over IPv4 and IPv6, on TUN and on TAP.

use super::*;

use std::time::Duration;

use tunstack::link::neighbour::{NeighbourInfo, NeighbourState};
use tunstack::tcp::{Algorithm, ConnStats, Quad, State};

use crate::http::link::EthernetLink;

fn visit(timestamps: bool, request_bytes: u64) -> Visit {
    let info = ConnInfo {
        quad: Quad {
            local: "10.77.0.2:80".parse::<std::net::SocketAddr>().unwrap(),
            remote: "10.77.0.1:51234".parse::<std::net::SocketAddr>().unwrap(),
        },
        state: State::Established,
        srtt: Some(Duration::from_micros(420)),
        rttvar: Duration::from_micros(210),
        rto: Duration::from_millis(200),
        congestion: Algorithm::Cubic,
        in_recovery: false,
        sack: true,
        timestamps,
        cwnd: 14600,
        ssthresh: usize::MAX,
        bytes_in_flight: 0,
        peer_window: 64240,
        mss: 1460,
        stats: ConnStats::default(),
    };
    Visit {
        arrival: Arrival {
            info,
            request_bytes,
            number: 1,
        },
        request_line: "GET / HTTP/1.1".into(),
        headers: vec![("user-agent".into(), "<script>".into())],
        device: "tun0".into(),
        link: Link::Tun,
        tls: None,
        http_version: "HTTP/1.1".into(),
    }
}

/// `visit` on a TAP device, where the kernel at 10.77.0.1 is in our neighbour table.
fn tap_visit(timestamps: bool, request_bytes: u64) -> Visit {
    Visit {
        device: "tap0".into(),
        link: Link::Ethernet(EthernetLink {
            ours: "02:00:0a:4d:00:02".parse().unwrap(),
            ours_ip: "10.77.0.2".parse().unwrap(),
            sender: Some(NeighbourInfo {
                ip: "10.77.0.1".parse().unwrap(),
                mac: Some("9a:3c:5e:00:11:22".parse().unwrap()),
                state: NeighbourState::Reachable,
                waiting: 0,
            }),
            sender_ip: "10.77.0.1".parse().unwrap(),
            via_gateway: false,
        }),
        ..visit(timestamps, request_bytes)
    }
}

/// `visit` from fd77::1 over IPv6, on a TUN device: 20 bytes less of MSS than over IPv4,
/// for the longer IP header.
fn v6_visit(request_bytes: u64) -> Visit {
    let mut visit = visit(true, request_bytes);
    visit.arrival.info.quad = Quad {
        local: "[fd77::2]:80".parse().unwrap(),
        remote: "[fd77::1]:51234".parse().unwrap(),
    };
    visit.arrival.info.mss = 1440;
    visit
}

#[test]
fn the_page_names_the_tuple_and_every_header_size() {
    let html = page(&visit(true, 77));
    for text in [
        "<code>10.77.0.1:51234</code>",
        "<code>10.77.0.2:80</code>",
        "TCP 10.77.0.1:51234 &rarr; 10.77.0.2:80",
        "IPv4 header 20 bytes",
        "TCP header 32 bytes",
        "HTTP request: 77 bytes",
        "20 + 32 + 77 = 129 bytes",
        "0.42 ms",
        "14600 bytes (10.0 segments of 1460)",
        "href=\"/stats\"",
        "href=\"/bytes/1000000\"",
    ] {
        assert!(html.contains(text), "{text:?} missing:\n{html}");
    }
    assert!(html.contains("user-agent: &lt;script&gt;"), "escaped");
    assert!(!html.contains("<script>"));
}

#[test]
fn without_timestamps_the_tcp_header_is_20_bytes_and_big_requests_take_segments() {
    let html = page(&visit(false, 5000));
    assert!(html.contains("TCP header 20 bytes"), "{html}");
    assert!(
        html.contains("at least 4 segments of at most 1460 bytes"),
        "{html}"
    );
}

#[test]
fn on_tun_there_is_no_link_header() {
    let html = page(&visit(true, 77));
    assert!(html.contains("TUN device tun0: no link header"), "{html}");
    assert!(html.contains("a 14-byte header (MAC addresses) and a 4-byte checksum would wrap"));
    assert!(!html.contains("<td>Ethernet</td>"), "{html}");
}

#[test]
fn on_tap_the_page_shows_the_ethernet_header_with_both_mac_addresses() {
    let html = page(&tap_visit(true, 77));
    for text in [
        "Ethernet frame on TAP device tap0: Ethernet header 14 bytes",
        "<tr><th>destination MAC</th><td><code>02:00:0a:4d:00:02</code></td><td>ours",
        "<tr><th>source MAC</th><td><code>9a:3c:5e:00:11:22</code></td><td>yours",
        "10.77.0.1 lladdr 9a:3c:5e:00:11:22 REACHABLE",
        "<code>0x0800</code>",
        "<pre>02 00 0a 4d 00 02  9a 3c 5e 00 11 22  08 00</pre>",
        "who has 10.77.0.2? tell 10.77.0.1",
        "frame check sequence (FCS, a CRC-32 of the frame)",
        "have no FCS",
        "<tr><td>Ethernet</td><td class=\"num\">14 bytes</td>",
        "20 + 32 + 77 = 129 bytes, in an Ethernet frame of 14 + 129 = 143 bytes.",
        "Ethernet by the EtherType (0x0800 is IPv4), IPv4 by the protocol number",
    ] {
        assert!(html.contains(text), "{text:?} missing:\n{html}");
    }
    assert!(
        !html.contains("would wrap the packet here"),
        "TUN's sentence: {html}"
    );
    let big = page(&tap_visit(false, 5000));
    assert!(
        big.contains("each with its own Ethernet, IPv4 and TCP headers"),
        "{big}"
    );
}

#[test]
fn on_tap_an_unknown_sender_or_a_gateway_is_said_so() {
    let mut visit = tap_visit(true, 77);
    let Link::Ethernet(eth) = &mut visit.link else {
        unreachable!()
    };
    eth.sender = None;
    let html = page(&visit);
    assert!(
        html.contains("<tr><th>source MAC</th><td>unknown</td>"),
        "{html}"
    );
    assert!(
        html.contains("10.77.0.1 is not in our neighbour table right now"),
        "{html}"
    );
    assert!(
        !html.contains("<pre>02 00"),
        "no bytes without the source: {html}"
    );

    let mut visit = tap_visit(true, 77);
    let Link::Ethernet(eth) = &mut visit.link else {
        unreachable!()
    };
    eth.via_gateway = true;
    let html = page(&visit);
    assert!(html.contains("your router's, 10.77.0.1"), "{html}");
    assert!(html.contains("Your router found our MAC address"), "{html}");
}

#[test]
fn over_ipv6_the_page_shows_the_ipv6_header_in_place_of_the_ipv4_one() {
    let html = page(&v6_visit(77));
    for text in [
        "TCP [fd77::1]:51234 &rarr; [fd77::2]:80",
        "IPv6 packet fd77::1 &rarr; fd77::2, next header 6 (TCP): IPv6 header 40 bytes",
        "<tr><th>flow label</th>",
        "<tr><th>payload length</th><td>109</td>",
        "<tr><th>hop limit</th>",
        "one IPv6 packet of 40 + 32 + 77 = 149 bytes.",
        "<tr><td>IPv6</td><td class=\"num\">40 bytes</td>",
        "IPv6 by the next header (6 is TCP)",
    ] {
        assert!(html.contains(text), "{text:?} missing:\n{html}");
    }
    assert!(!html.contains("IPv4 packet") && !html.contains("IPv4 header"));
}

#[test]
fn on_tap_over_ipv6_the_frame_carries_0x86dd_and_neighbour_discovery_found_us() {
    let mut visit = tap_visit(true, 77);
    visit.arrival.info.quad = v6_visit(77).arrival.info.quad;
    let Link::Ethernet(eth) = &mut visit.link else {
        unreachable!()
    };
    eth.ours_ip = "fd77::2".parse().unwrap();
    eth.sender_ip = "fd77::1".parse().unwrap();
    eth.sender = None;
    let html = page(&visit);
    for text in [
        "<code>0x86DD</code></td><td>IPv6: what the frame carries",
        "neighbour solicitation for fd77::2",
        "solicited-node multicast group, ff02::1:ff00:2",
        "Ethernet by the EtherType (0x86DD is IPv6), IPv6 by the next header",
        "fd77::1 is not in our neighbour table right now",
    ] {
        assert!(html.contains(text), "{text:?} missing:\n{html}");
    }
}

#[test]
fn over_plain_http_the_tls_box_says_none() {
    let html = page(&visit(true, 77));
    for text in [
        "TLS: none: plain HTTP",
        "<tr><td>TLS</td><td class=\"num\">&mdash;</td><td>none: plain HTTP</td></tr>",
        "<tr><th>HTTP version</th><td>HTTP/1.1</td></tr>",
        "HTTP request: 77 bytes",
    ] {
        assert!(html.contains(text), "{text:?} missing:\n{html}");
    }
    // The TLS box sits inside TCP's, and HTTP's inside it.
    let tcp = html.find("class=\"layer tcp\"").unwrap();
    let tls = html.find("class=\"layer tls none\"").unwrap();
    let http = html.find("class=\"layer http\"").unwrap();
    assert!(tcp < tls && tls < http, "{html}");
}

#[test]
fn over_https_the_page_names_the_version_suite_and_alpn() {
    let mut visit = visit(true, 517);
    visit.tls = Some(crate::tls::Negotiated {
        version: "TLS 1.3".into(),
        cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
        alpn: Some("h2".into()),
    });
    visit.http_version = "HTTP/2".into();
    let html = page(&visit);
    for text in [
        "[TLS] TLS 1.3 records: 517 bytes (with the end of the handshake",
        "encrypted with TLS13_AES_128_GCM_SHA256",
        "ALPN chose <code>h2</code>",
        "<tr><th>TLS version</th><td>TLS 1.3</td></tr>",
        "<tr><th>cipher suite</th><td><code>TLS13_AES_128_GCM_SHA256</code></td></tr>",
        "<tr><th>ALPN protocol</th><td><code>h2</code></td></tr>",
        "<tr><th>HTTP version</th><td>HTTP/2</td></tr>",
        "[Layer 7] HTTP/2 request, decrypted",
        "your request, encrypted (517 bytes read)",
        "These 517 bytes came in several IPv4 packets: your ClientHello first",
    ] {
        assert!(html.contains(text), "{text:?} missing:\n{html}");
    }
    assert!(!html.contains("none: plain HTTP"), "{html}");
    // A later request on the connection carries no handshake.
    visit.arrival.number = 2;
    assert!(!page(&visit).contains("with the end of the handshake"));
}
