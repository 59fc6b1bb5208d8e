//! The index page: what the visitor's own request went through on its way in.
//!
//! The course traces "a request's full journey" from the browser down through the layers and
//! back up on the server. This page is the server's half of that trace, for the request that
//! asked for it: the connection's 5-tuple, each layer's header as tunstack unwrapped it (link,
//! IPv4 or IPv6, TCP, HTTP), and what TCP knew about the connection at that moment (its RTT
//! estimate, congestion window and retransmissions). The link's box is [`super::link`]'s:
//! nothing on a TUN device, the Ethernet header with both MAC addresses on a TAP device; the
//! IP box is [`super::ip`]'s: the IPv4 or the IPv6 header, whichever the visitor's packets had;
//! the TLS box, between TCP and HTTP, is [`secure`]'s: the records that carried the request over
//! https, or "none" over plain HTTP.

use std::fmt::Write;

use tunstack::tcp::ConnInfo;

use super::html::{escape, ms, page as html_page};
use super::ip;
use super::link::{self, Link, ETHERNET_HEADER};
use super::tap::Arrival;
use crate::tls::Negotiated;

pub mod secure;

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
    /// What the connection's TLS handshake negotiated; `None` for plain HTTP.
    pub tls: Option<Negotiated>,
    /// The HTTP version that served the request, e.g. `HTTP/2` ([`secure::http_version_name`]).
    pub http_version: String,
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
    secure::section(&mut body, visit.tls.as_ref(), &visit.http_version);
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
         {} keeps it open (keep-alive), so a reload usually comes back on the same \
         5-tuple as request {}.</p>",
        quad.remote,
        quad.local,
        quad.remote,
        quad.local,
        quad.remote.port(),
        match visit.http_version.as_str() {
            "HTTP/2" => "HTTP/2 carries every request on one connection and",
            version => version,
        },
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
    let payload = info.mss.saturating_sub(tcp_header - TCP_HEADER).max(1) as u64;
    // The segment's length, when the request came in one: the IP header's length field.
    // Not so for a TLS connection's first request: its bytes include the ClientHello.
    let tls_handshake = visit.tls.is_some() && visit.arrival.number == 1;
    let one_segment =
        (request_bytes <= payload && !tls_handshake).then_some(tcp_header as u64 + request_bytes);
    let link_head = link::box_head(&visit.link, &visit.device);
    let ip_head = ip::box_head(quad.remote.ip(), quad.local.ip(), one_segment);
    let tls_head = secure::box_head(visit.tls.as_ref(), request_bytes, visit.arrival.number);
    // Over TLS the tap counted encrypted records: the HTTP request's own size is not known here.
    let http_head = match visit.tls {
        Some(_) => format!("{} request, decrypted", visit.http_version),
        None => format!("HTTP request: {request_bytes} bytes"),
    };
    let _ = writeln!(
        out,
        "<h2>On the way in, layer by layer</h2>\n\
         <div class=\"layer link\">{link_head}\
         <div class=\"layer ip\">{ip_head}\
         <div class=\"layer tcp\"><h3>[Layer 4] TCP segment, port {} &rarr; {}: TCP header \
         {tcp_header} bytes</h3>\n<p class=\"note\">{options}</p>\n\
         {tls_head}<div class=\"layer http\"><h3>[Layer 7] {http_head}</h3>\n\
         <pre>{}</pre>\n</div></div></div></div></div>",
        quad.remote.port(),
        quad.local.port(),
        request_text(visit),
    );
    let summary = sizes_summary(visit, tcp_header, payload);
    let _ = writeln!(out, "{summary}");
}

/// The header sizes as a table, and how many packets the request took.
fn sizes_summary(visit: &Visit, tcp_header: usize, payload: u64) -> String {
    let visitor = visit.arrival.info.quad.remote.ip();
    let version = ip::version_name(visitor);
    let ip_header = ip::header_len(visitor);
    let request_bytes = visit.arrival.request_bytes;
    let on_the_wire = ip_header as u64 + tcp_header as u64 + request_bytes;
    let link_header = visit.link.header_len();
    let one_packet = format!(
        "It fits in one segment (at most {payload} bytes of data each, the MSS less the \
         options), so it most likely came as one {version} packet of {ip_header} + \
         {tcp_header} + {request_bytes} = {on_the_wire} bytes"
    );
    let fit = match (request_bytes <= payload, &visit.link) {
        // The first read on a TLS connection holds the ClientHello and the client's Finished
        // too, which came in packets of their own, a round trip apart.
        _ if visit.tls.is_some() && visit.arrival.number == 1 => format!(
            "These {request_bytes} bytes came in several {version} packets: your ClientHello \
             first, then, a round trip later, your Finished and the request."
        ),
        (true, Link::Tun) => format!("{one_packet}."),
        (true, Link::Ethernet(_)) => format!(
            "{one_packet}, in an Ethernet frame of {link_header} + {on_the_wire} = {} bytes.",
            link_header as u64 + on_the_wire
        ),
        (false, link) => format!(
            "It takes at least {} segments of at most {payload} bytes of data each (the MSS \
             less the options), each with its own {}{version} and TCP headers.",
            request_bytes.div_ceil(payload),
            match link {
                Link::Tun => "",
                Link::Ethernet(_) => "Ethernet, ",
            }
        ),
    };
    let (ethernet_row, ethernet_step) = match visit.link {
        Link::Tun => (String::new(), String::new()),
        Link::Ethernet(_) => (
            format!(
                "<tr><td>Ethernet</td><td class=\"num\">{ETHERNET_HEADER} bytes</td><td>the \
                 {version} packet</td></tr>\n"
            ),
            format!(
                "Ethernet by the EtherType ({} is {version}), ",
                link::ethertype_of(visitor)
            ),
        ),
    };
    let tls_row = secure::table_row(visit.tls.as_ref(), request_bytes);
    let http_carried = match visit.tls {
        Some(_) => format!("the {} request, once TLS decrypted it", visit.http_version),
        None => format!("request: {request_bytes} bytes"),
    };
    format!(
        "<table>\n<tr><th>layer</th><th>header</th><th>what it carried</th></tr>\n\
         {ethernet_row}<tr><td>{version}</td><td class=\"num\">{ip_header} bytes</td><td>the TCP segment</td></tr>\n\
         <tr><td>TCP</td><td class=\"num\">{tcp_header} bytes</td><td>your request's bytes</td></tr>\n\
         {tls_row}<tr><td>HTTP</td><td class=\"num\">&mdash;</td><td>{http_carried}</td></tr>\n\
         </table>\n<p>{fit} Going up, each layer checked its header, removed it and handed the \
         rest to the layer above: {ethernet_step}{version} by the {} (6 is TCP), TCP by the port \
         ({}), and the HTTP server read what remained.</p>",
        ip::protocol_field(visitor),
        visit.arrival.info.quad.local.port()
    )
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
mod tests;
