//! The index page's IP box: the header of the visitor's IP packet, IPv4 or IPv6, field by field.
//!
//! The server listens on `[::]`, so a visitor may come over either version, and the page shows
//! the header its packets really had. The two carry the same things, laid out differently:
//!
//! ```text
//!  IPv4 (RFC 791): 20 bytes without options        IPv6 (RFC 8200): always 40 bytes
//!  ┌───┬───┬──────┬─────────────┐                  ┌───┬─────────┬──────────────────┐
//!  │ 4 │IHL│ DSCP │ total length│                  │ 6 │ traffic │ flow label       │
//!  ├───┴───┴──────┼──┬──────────┤                  │   │ class   │ (20 bits)        │
//!  │ identification │fl│ fragment │                ├───┴─────────┼──────────┬───────┤
//!  ├──────┬─────────┼──┴──────────┤                │ payload     │ next     │ hop   │
//!  │ TTL  │protocol │ checksum    │                │ length      │ header   │ limit │
//!  ├──────┴─────────┴─────────────┤                ├─────────────┴──────────┴───────┤
//!  │ source address (32 bits)     │                │ source address (128 bits)      │
//!  │ destination address (32 bits)│                │ destination address (128 bits) │
//!  └──────────────────────────────┘                └────────────────────────────────┘
//! ```
//!
//! IPv6 dropped the header checksum (TCP's covers the addresses anyway, through its
//! pseudo-header), the fragmentation fields (moved to an extension header that only the sender
//! adds) and the options (extension headers too): so its header has a fixed size, and a router
//! reads it without computing anything. TTL became the hop limit, for what it counts.
//!
//! Like the Ethernet frame in [`super::link`], the packet itself is gone by the time the page
//! is made: the values shown are those the connection tells (addresses, protocol, lengths);
//! the others say what the field is for.

use std::fmt::Write;
use std::net::{IpAddr, Ipv6Addr};

/// The IPv4 header without options, the only kind Linux sends (RFC 791).
pub const IPV4_HEADER: usize = 20;

/// The IPv6 fixed header: always 40 bytes, options go in extension headers (RFC 8200).
pub const IPV6_HEADER: usize = 40;

/// The IP header's length for a packet from `visitor`: 20 bytes for IPv4, 40 for IPv6.
pub fn header_len(visitor: IpAddr) -> usize {
    match visitor {
        IpAddr::V4(_) => IPV4_HEADER,
        IpAddr::V6(_) => IPV6_HEADER,
    }
}

/// `"IPv4"` or `"IPv6"`: the version of `visitor`'s packets.
pub fn version_name(visitor: IpAddr) -> &'static str {
    match visitor {
        IpAddr::V4(_) => "IPv4",
        IpAddr::V6(_) => "IPv6",
    }
}

/// How the layer below IP finds TCP in the packet: IPv4's protocol field or IPv6's next
/// header, both 6 for TCP.
pub fn protocol_field(visitor: IpAddr) -> &'static str {
    match visitor {
        IpAddr::V4(_) => "protocol number",
        IpAddr::V6(_) => "next header",
    }
}

/// The IP box's heading and header table, for a packet from `src` to `dst` carrying
/// `payload` bytes (the TCP segment: its header and data), when that is known (a request that
/// fit in one segment). The caller opens the box, nests the TCP box inside and closes it.
pub fn box_head(src: IpAddr, dst: IpAddr, payload: Option<u64>) -> String {
    let version = version_name(src);
    let len = header_len(src);
    let field = protocol_field(src);
    let mut out = format!(
        "<h3>[Layer 3] {version} packet {src} &rarr; {dst}, {field} 6 (TCP): {version} header \
         {len} bytes</h3>\n<table>\n<tr><th>field</th><th>value</th><th>what it is</th></tr>\n"
    );
    let rows = match (src, dst) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => ipv6_rows(src, dst, payload),
        _ => ipv4_rows(src, dst, payload),
    };
    for (name, value, what) in rows {
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td>{value}</td><td>{what}</td></tr>"
        );
    }
    out.push_str("</table>\n");
    out.push_str(match src {
        IpAddr::V4(_) => {
            "<p class=\"note\">IPv4 addresses are 32 bits, written as four numbers from 0 to \
             255 (octets). The values a dash stands for were in your packet, but the stack \
             does not keep them once the packet is read.</p>\n"
        }
        IpAddr::V6(_) => {
            "<p class=\"note\">IPv6 addresses are 128 bits, written in eight groups of four \
             hexadecimal digits separated by colons; <code>::</code> is shorthand for a run of \
             zero groups. The header has no checksum (TCP's checksum covers both addresses), no \
             fragmentation fields and no options (extension headers carry those, after it): so \
             it is always 40 bytes, twice IPv4's 20, mostly for the longer addresses. The \
             values a dash stands for were in your packet, but the stack does not keep them \
             once the packet is read.</p>\n"
        }
    });
    out
}

/// One row of a header table: the field, its value (HTML), what it is (HTML).
type Row = (&'static str, String, String);

/// The IPv4 header's fields (RFC 791 section 3.1).
fn ipv4_rows(src: IpAddr, dst: IpAddr, payload: Option<u64>) -> Vec<Row> {
    let total = payload.map_or_else(dash, |p| (p + IPV4_HEADER as u64).to_string());
    vec![
        ("version", "4".into(), "IP version 4".into()),
        (
            "IHL",
            "5".into(),
            "header length in 4-byte words: 20 bytes, no options".into(),
        ),
        (
            "DSCP, ECN",
            dash(),
            "traffic class and congestion marks; 0 unless marked".into(),
        ),
        (
            "total length",
            total,
            "the whole packet, header included".into(),
        ),
        (
            "identification, flags, fragment offset",
            dash(),
            "for fragments; Linux sets Don't Fragment on TCP".into(),
        ),
        (
            "TTL",
            dash(),
            "time to live: each router takes one off, and drops the packet at 0 (64 from \
             Linux)"
                .into(),
        ),
        (
            "protocol",
            "6".into(),
            "TCP: what the packet carries".into(),
        ),
        (
            "header checksum",
            dash(),
            "over the header only; each router computes it again, as the TTL changes".into(),
        ),
        ("source address", code(src), "yours".into()),
        ("destination address", code(dst), "ours".into()),
    ]
}

/// The IPv6 header's fields (RFC 8200 section 3).
fn ipv6_rows(src: Ipv6Addr, dst: Ipv6Addr, payload: Option<u64>) -> Vec<Row> {
    vec![
        ("version", "6".into(), "IP version 6".into()),
        (
            "traffic class",
            dash(),
            "DSCP and ECN, as in IPv4; 0 unless marked".into(),
        ),
        (
            "flow label",
            dash(),
            "20 bits naming the flow: Linux picks one per connection (RFC 6437), so that \
             routers can keep its packets on one path"
                .into(),
        ),
        (
            "payload length",
            payload.map_or_else(dash, |p| p.to_string()),
            "what follows the 40-byte header: here the TCP segment (IPv4's total length \
             counted the header too)"
                .into(),
        ),
        (
            "next header",
            "6".into(),
            "TCP: IPv4's protocol field, renamed because an extension header may come first".into(),
        ),
        (
            "hop limit",
            dash(),
            "IPv4's TTL, renamed for what it counts: each router takes one off (64 from Linux)"
                .into(),
        ),
        ("source address", full(src), "yours".into()),
        ("destination address", full(dst), "ours".into()),
    ]
}

/// `<code>addr</code>`.
fn code(addr: impl std::fmt::Display) -> String {
    format!("<code>{addr}</code>")
}

/// An IPv6 address as written, then in full: `fd77::1` and
/// `fd77:0000:0000:0000:0000:0000:0000:0001`.
fn full(addr: Ipv6Addr) -> String {
    let groups: Vec<String> = addr.segments().iter().map(|g| format!("{g:04x}")).collect();
    format!(
        "<code>{addr}</code><br><code>{}</code> in full",
        groups.join(":")
    )
}

/// What the page shows for a value it does not have.
fn dash() -> String {
    "&mdash;".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_header_is_20_bytes_with_a_protocol_and_a_ttl() {
        let html = box_head(
            "10.77.0.1".parse().unwrap(),
            "10.77.0.2".parse().unwrap(),
            Some(109),
        );
        for text in [
            "IPv4 packet 10.77.0.1 &rarr; 10.77.0.2, protocol number 6 (TCP): IPv4 header 20 \
             bytes",
            "<tr><th>total length</th><td>129</td>",
            "<tr><th>TTL</th>",
            "<tr><th>protocol</th><td>6</td>",
            "<tr><th>source address</th><td><code>10.77.0.1</code></td><td>yours",
            "32 bits",
        ] {
            assert!(html.contains(text), "{text:?} missing:\n{html}");
        }
        assert!(!html.contains("hop limit"), "{html}");
    }

    #[test]
    fn an_ipv6_header_is_40_bytes_with_a_flow_label_and_a_hop_limit() {
        let html = box_head(
            "fd77::1".parse().unwrap(),
            "fd77::2".parse().unwrap(),
            Some(109),
        );
        for text in [
            "IPv6 packet fd77::1 &rarr; fd77::2, next header 6 (TCP): IPv6 header 40 bytes",
            "<tr><th>version</th><td>6</td>",
            "<tr><th>traffic class</th>",
            "<tr><th>flow label</th>",
            "<tr><th>payload length</th><td>109</td>",
            "<tr><th>next header</th><td>6</td>",
            "<tr><th>hop limit</th>",
            "<code>fd77::1</code><br><code>fd77:0000:0000:0000:0000:0000:0000:0001</code>",
            "128 bits, written in eight groups of four hexadecimal digits",
            "no checksum",
        ] {
            assert!(html.contains(text), "{text:?} missing:\n{html}");
        }
        assert!(!html.contains("TTL</th>"), "{html}");
        let unknown = box_head("fd77::1".parse().unwrap(), "fd77::2".parse().unwrap(), None);
        assert!(unknown.contains("<tr><th>payload length</th><td>&mdash;</td>"));
    }
}
