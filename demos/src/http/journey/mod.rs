//! The index page: what the visitor's own request went through on its way in.
//!
//! The course traces "a request's full journey" from the browser down through the layers and
//! back up on the server. This page is the server's half of that trace, for the request that
//! asked for it: the connection's 5-tuple, each layer's header as tunstack unwrapped it (link,
//! IPv4, TCP, HTTP), and what TCP knew about the connection at that moment (its RTT estimate,
//! congestion window and retransmissions). The link's box is [`super::link`]'s: nothing on a
//! TUN device, the Ethernet header with both MAC addresses on a TAP device.

use std::fmt::Write;

use tunstack::tcp::ConnInfo;

use super::html::{escape, ms, page as html_page};
use super::link::{self, Link, ETHERNET_HEADER};
use super::tap::Arrival;

/// The IPv4 header without options, the only kind Linux sends (RFC 791).
pub const IPV4_HEADER: usize = 20;
/// The TCP header without options (RFC 9293 3.1).
pub const TCP_HEADER: usize = 20;
/// The timestamp option as Linux sends it on every segment once both sides agreed on
/// timestamps: two NOPs for alignment, then kind, length, TSval and TSecr (RFC 7323).
pub const TIMESTAMP_OPTION: usize = 12;

/// What the page needs to know about one request.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The tap's notes: the connection when the request arrived, its size, its number.
    pub arrival: Arrival,
    /// The request line, e.g. `GET / HTTP/1.1`.
    pub request_line: String,
    /// The request's headers, names and values, in the order hyper keeps them.
    pub headers: Vec<(String, String)>,
    /// The TUN or TAP device the request came through.
    pub device: String,
    /// What wrapped the request's packets on that device: nothing (TUN), or Ethernet (TAP).
    pub link: Link,
}

/// The TCP header size of the peer's data segments on this connection: with timestamps on
/// both sides, every segment carries them.
pub fn tcp_header_len(info: &ConnInfo) -> usize {
    TCP_HEADER + if info.timestamps { TIMESTAMP_OPTION } else { 0 }
}

/// The whole page for `visit`.
pub fn page(visit: &Visit) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>You asked for <code>{}</code>. Here is how that request got here: the course's \
         &ldquo;request's full journey&rdquo;, on your own connection. This server runs on \
         tunstack, a TCP/IP stack in user space, which unwrapped every layer below HTTP \
         itself.</p>",
        escape(&visit.request_line)
    );
    tuple_section(&mut body, visit);
    layers_section(&mut body, visit);
    tcp_section(&mut body, &visit.arrival.info);
    links_section(&mut body);
    html_page("What your request went through", &body)
}

/// The 5-tuple: protocol, their address and port, ours.
fn tuple_section(out: &mut String, visit: &Visit) {
    let quad = visit.arrival.info.quad;
    let number = visit.arrival.number;
    let _ = writeln!(
        out,
        "<h2>Your connection: the 5-tuple</h2>\n<table>\n\
         <tr><th>protocol</th><td>TCP</td></tr>\n\
         <tr><th>your address:port</th><td><code>{}</code></td></tr>\n\
         <tr><th>our address:port</th><td><code>{}</code></td></tr>\n</table>\n\
         <p>In one line: <code>TCP {} &rarr; {}</code>. Your port, {}, is ephemeral: your \
         system picked it for this connection. This is request {number} on the connection; \
         HTTP/1.1 keeps it open (keep-alive), so a reload usually comes back on the same \
         5-tuple as request {}.</p>",
        quad.remote,
        quad.local,
        quad.remote,
        quad.local,
        quad.remote.port(),
        number + 1,
    );
}

/// The nested boxes: each layer inside the one below it, with its header's size.
fn layers_section(out: &mut String, visit: &Visit) {
    let info = &visit.arrival.info;
    let quad = info.quad;
    let tcp_header = tcp_header_len(info);
    let options = if info.timestamps {
        format!(
            "{TCP_HEADER} bytes fixed + {TIMESTAMP_OPTION} bytes of options (NOP, NOP, \
             timestamps: both sides offered them in the handshake, so every segment carries \
             them)"
        )
    } else {
        format!("{TCP_HEADER} bytes, no options")
    };
    let request_bytes = visit.arrival.request_bytes;
    let link_head = link::box_head(&visit.link, &visit.device);
    let _ = writeln!(
        out,
        "<h2>On the way in, layer by layer</h2>\n\
         <div class=\"layer link\">{link_head}\
         <div class=\"layer ip\"><h3>[Layer 3] IPv4 packet {} &rarr; {}, protocol 6 (TCP): \
         IPv4 header {IPV4_HEADER} bytes</h3>\n\
         <div class=\"layer tcp\"><h3>[Layer 4] TCP segment, port {} &rarr; {}: TCP header \
         {tcp_header} bytes</h3>\n<p class=\"note\">{options}</p>\n\
         <div class=\"layer http\"><h3>[Layer 7] HTTP request: {request_bytes} bytes</h3>\n\
         <pre>{}</pre>\n</div></div></div></div>",
        quad.remote.ip(),
        quad.local.ip(),
        quad.remote.port(),
        quad.local.port(),
        request_text(visit),
    );
    let payload = info.mss.saturating_sub(tcp_header - TCP_HEADER).max(1) as u64;
    let on_the_wire = IPV4_HEADER as u64 + tcp_header as u64 + request_bytes;
    let link_header = visit.link.header_len();
    let fit = match (request_bytes <= payload, &visit.link) {
        (true, Link::Tun) => format!(
            "It fits in one segment (at most {payload} bytes of data each, the MSS less the \
             options), so it most likely came as one IPv4 packet of {IPV4_HEADER} + \
             {tcp_header} + {request_bytes} = {on_the_wire} bytes."
        ),
        (true, Link::Ethernet(_)) => format!(
            "It fits in one segment (at most {payload} bytes of data each, the MSS less the \
             options), so it most likely came as one IPv4 packet of {IPV4_HEADER} + \
             {tcp_header} + {request_bytes} = {on_the_wire} bytes, in an Ethernet frame of \
             {link_header} + {on_the_wire} = {} bytes.",
            link_header as u64 + on_the_wire
        ),
        (false, link) => format!(
            "It takes at least {} segments of at most {payload} bytes of data each (the MSS \
             less the options), each with its own {}IPv4 and TCP headers.",
            request_bytes.div_ceil(payload),
            match link {
                Link::Tun => "",
                Link::Ethernet(_) => "Ethernet, ",
            }
        ),
    };
    let ethernet_row = match visit.link {
        Link::Tun => String::new(),
        Link::Ethernet(_) => format!(
            "<tr><td>Ethernet</td><td class=\"num\">{ETHERNET_HEADER} bytes</td><td>the IPv4 \
             packet</td></tr>\n"
        ),
    };
    let _ = writeln!(
        out,
        "<table>\n<tr><th>layer</th><th>header</th><th>what it carried</th></tr>\n\
         {ethernet_row}<tr><td>IPv4</td><td class=\"num\">{IPV4_HEADER} bytes</td><td>the TCP segment</td></tr>\n\
         <tr><td>TCP</td><td class=\"num\">{tcp_header} bytes</td><td>your request's bytes</td></tr>\n\
         <tr><td>HTTP</td><td class=\"num\">&mdash;</td><td>request: {request_bytes} bytes</td></tr>\n\
         </table>\n<p>{fit} Going up, each layer checked its header, removed it and handed the \
         rest to the layer above: {}IP by the protocol number (6 is TCP), TCP by the port \
         ({}), and the HTTP server read what remained.</p>",
        match visit.link {
            Link::Tun => "",
            Link::Ethernet(_) => "Ethernet by the EtherType (0x0800 is IPv4), ",
        },
        quad.local.port()
    );
}

/// The request's head as the server parsed it: the request line and the headers (names in
/// lower case, as HTTP/1.1 treats them: case does not matter).
fn request_text(visit: &Visit) -> String {
    let mut text = escape(&visit.request_line);
    text.push('\n');
    for (name, value) in &visit.headers {
        let _ = writeln!(text, "{}: {}", escape(name), escape(value));
    }
    text
}

/// What TCP knew about the connection when the request's bytes were read.
fn tcp_section(out: &mut String, info: &ConnInfo) {
    let srtt = info.srtt.map_or_else(|| "not measured yet".to_string(), ms);
    let segments = info.cwnd as f64 / info.mss.max(1) as f64;
    let ssthresh = if info.ssthresh == usize::MAX {
        "unlimited (no loss yet)".to_string()
    } else {
        format!("{} bytes", info.ssthresh)
    };
    let s = &info.stats;
    let rows = [
        ("state", info.state.name().to_string()),
        ("SRTT (smoothed round-trip time)", srtt),
        ("RTTVAR (its variation)", ms(info.rttvar)),
        (
            "RTO (retransmission timeout)",
            format!(
                "{} (SRTT + 4 &times; RTTVAR, at least the minimum)",
                ms(info.rto)
            ),
        ),
        (
            "cwnd (congestion window)",
            format!(
                "{} bytes ({segments:.1} segments of {})",
                info.cwnd, info.mss
            ),
        ),
        ("ssthresh (slow-start threshold)", ssthresh),
        ("congestion control", info.congestion.to_string()),
        (
            "retransmissions so far",
            format!(
                "{} segments sent again ({} by fast retransmit, {} to fill SACK holes, {} tail \
                 loss probes; the retransmission timer expired {} times)",
                s.retransmissions,
                s.fast_retransmissions,
                s.sack_retransmissions,
                s.tail_loss_probes,
                s.timeouts
            ),
        ),
        (
            "segments",
            format!("{} in, {} out", s.segments_in, s.segments_out),
        ),
        ("MSS", format!("{} bytes", info.mss)),
        (
            "options agreed",
            format!(
                "SACK {}, timestamps {}",
                yes_no(info.sack),
                yes_no(info.timestamps)
            ),
        ),
    ];
    let _ = writeln!(
        out,
        "<h2>Your connection, as TCP saw it</h2>\n<p class=\"note\">A snapshot taken when your \
         request's bytes were read from the connection.</p>\n<table>"
    );
    for (name, value) in rows {
        let _ = writeln!(out, "<tr><th>{name}</th><td>{value}</td></tr>");
    }
    let _ = writeln!(out, "</table>");
}

fn yes_no(on: bool) -> &'static str {
    if on {
        "yes"
    } else {
        "no"
    }
}

fn links_section(out: &mut String) {
    let _ = writeln!(
        out,
        "<h2>More</h2>\n<ul>\n\
         <li><a href=\"/stats\">/stats</a>: every layer's counters and every TCP connection \
         (<a href=\"/stats.json\">/stats.json</a>, the same as JSON)</li>\n\
         <li><a href=\"/bytes/1000000\">/bytes/1000000</a>: a million bytes, made as they are \
         sent (any size up to 1 GiB: <code>/bytes/N</code>). Come back and reload this page \
         on the same connection: the congestion window has grown.</li>\n</ul>"
    );
}

#[cfg(test)]
mod tests {
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
            "Ethernet by the EtherType (0x0800 is IPv4), IP by the protocol number",
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
}
