//! Step 7: IPv6 beside IPv4. Both hosts have an address of each version on one wire (dual
//! stack); the client pings the server over IPv6, then sends the same datagram over IPv4 and
//! over IPv6, and the tour puts the two IP headers side by side, read back from the capture.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use tunstack::ip::header as ipv4;
use tunstack::ip::ipv6;
use tunstack::UdpSocket;
use tunstack_demos::encap;

use crate::net::{net, Wire, CLIENT, CLIENT6, SERVER, SERVER6};

/// The datagram both versions carry.
const MESSAGE: &[u8] = b"Hello over UDP!";

/// The UDP header's length (RFC 768).
const UDP_HEADER: usize = 8;

/// Step 7: ping over IPv6, and one datagram over each version.
pub async fn ipv6(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("07-ipv6.pcapng");
    let net = net(&file, Wire::dual())?;
    println!(
        "  Both hosts now have two addresses on the same wire, one of each version (dual \
         stack):\n  client {CLIENT} and {CLIENT6}, server {SERVER} and {SERVER6}.\n  IPv4 \
         addresses are 32 bits; IPv6 addresses are 128, written in eight groups of four\n  hex \
         digits, with `::` for a run of zero groups:\n  fd77::2 is \
         fd77:0000:0000:0000:0000:0000:0000:0002.\n"
    );
    println!(
        "  client$ ping -6 {SERVER6}: ICMPv6 echo, the same round trip over the other version"
    );
    let data: Vec<u8> = (0..56u8).collect();
    for seq in 1..=2u16 {
        let rtt = net.client.ping(SERVER6, seq, &data).await?;
        println!(
            "  64 bytes from {SERVER6}: icmp_seq={seq} time={:.1} ms",
            rtt.as_secs_f64() * 1000.0
        );
    }
    udp_both_ways(&net).await?;
    compare_headers(&file);
    Ok(file)
}

/// The course's UDP server on `[::]`, and a client of each version sending it the same bytes.
async fn udp_both_ways(net: &crate::net::Net) -> io::Result<()> {
    // One socket for both versions: an IPv4 sender shows mapped into IPv6's addresses.
    let server = UdpSocket::bind(&net.server, "[::]:9001").await?;
    println!(
        "\n  server: bound to {}: IPv6's \"any address\", which takes IPv4 datagrams too",
        server.local_addr()?
    );
    let to: [(SocketAddr, &str); 2] = [
        ((SERVER, 9001).into(), "0.0.0.0:0"),
        ((SERVER6, 9001).into(), "[::]:0"),
    ];
    let mut buf = [0u8; 2048];
    for (dst, any) in to {
        let client = UdpSocket::bind(&net.client, any).await?;
        client.send_to(MESSAGE, dst).await?;
        let (n, sender) = server.recv_from(&mut buf).await?;
        println!(
            "  server: got {n} bytes from {sender}{}",
            match sender.ip() {
                IpAddr::V6(ip) if ip.to_ipv4_mapped().is_some() =>
                    " (an IPv4 client, its address mapped into IPv6's)",
                _ => "",
            }
        );
        server.send_to(b"Got your datagram!", sender).await?;
        let (n, from) = client.recv_from(&mut buf).await?;
        println!("  client: reply from {from}: {n} bytes");
    }
    Ok(())
}

/// A frame of the capture: its number (from 1) and its bytes.
type Frame = (usize, Vec<u8>);

/// The client's first datagram of each version in the capture, IPv4's and IPv6's.
fn first_datagrams(file: &Path) -> (Option<Frame>, Option<Frame>) {
    const UDP: u8 = 17;
    let (mut v4, mut v6) = (None, None);
    let mut number = 1;
    while let Some((_, bytes)) = encap::frame_of_capture(file, number) {
        let udp4 = ipv4::Packet::new_checked(&bytes[..])
            .is_ok_and(|p| bytes[0] >> 4 == 4 && u8::from(p.protocol()) == UDP);
        let udp6 = ipv6::Packet::new_checked(&bytes[..])
            .is_ok_and(|p| bytes[0] >> 4 == 6 && u8::from(p.next_header()) == UDP);
        if udp4 && v4.is_none() {
            v4 = Some((number, bytes));
        } else if udp6 && v6.is_none() {
            v6 = Some((number, bytes));
        }
        number += 1;
    }
    (v4, v6)
}

/// Prints the two datagrams' IP headers side by side, as the codecs read them back.
fn compare_headers(file: &Path) {
    let (Some((n4, bytes4)), Some((n6, bytes6))) = first_datagrams(file) else {
        println!("  (the capture lacks a datagram of each version)");
        return;
    };
    let (Ok(p4), Ok(p6)) = (
        ipv4::Packet::new_checked(&bytes4[..]),
        ipv6::Packet::new_checked(&bytes6[..]),
    ) else {
        return;
    };
    println!(
        "\n  The same {} bytes of data to the same port, over each version: the two IP headers,\n  \
         as read back from the capture (frames {n4} and {n6}):\n",
        MESSAGE.len()
    );
    let row = |field: &str, a: String, b: String| println!("    {field:<18}{a:<32}{b}");
    row(
        "",
        format!("IPv4 (frame {n4})"),
        format!("IPv6 (frame {n6})"),
    );
    for (field, a, b) in header_rows(&p4, &p6) {
        row(field, a, b);
    }
    println!(
        "\n  IPv6 keeps what every packet needs and moves the rest out: no header checksum (the \
         UDP\n  and TCP checksums cover the addresses anyway), no fragmentation fields (an \
         extension\n  header, added by the sender only), no options. So the header has one \
         size, 40 bytes,\n  twice IPv4's 20, most of it the two 128-bit addresses."
    );
}

/// The rows of the comparison: the field, IPv4's value, IPv6's.
fn header_rows(
    p4: &ipv4::Packet<&[u8]>,
    p6: &ipv6::Packet<&[u8]>,
) -> Vec<(&'static str, String, String)> {
    let on_the_wire = |header: usize| {
        let total = header + UDP_HEADER + MESSAGE.len();
        format!(
            "{header} + {UDP_HEADER} + {} = {total} bytes",
            MESSAGE.len()
        )
    };
    let flags = match (p4.dont_fragment(), p4.more_fragments()) {
        (true, _) => "DF",
        (false, true) => "MF",
        (false, false) => "none",
    };
    vec![
        ("version", "4".into(), "6".into()),
        (
            "header length",
            format!("{} bytes (IHL {})", p4.header_len(), p4.header_len() / 4),
            format!("{} bytes, always", ipv6::HEADER_LEN),
        ),
        (
            "class",
            format!("TOS {:#04x}", p4.tos()),
            format!("traffic class {:#04x}", p6.traffic_class()),
        ),
        (
            "flow label",
            "-".into(),
            format!("{:#07x}", p6.flow_label()),
        ),
        (
            "length",
            format!("total {} (header too)", p4.total_len()),
            format!("payload {} (after the header)", p6.payload_len()),
        ),
        (
            "fragmenting",
            format!(
                "id {:#06x}, {flags}, offset {}",
                p4.ident(),
                p4.fragment_offset()
            ),
            "- (an extension header)".into(),
        ),
        (
            "TTL / hop limit",
            format!("TTL {}", p4.ttl()),
            format!("hop limit {}", p6.hop_limit()),
        ),
        (
            "protocol",
            format!("protocol {} (UDP)", u8::from(p4.protocol())),
            format!("next header {} (UDP)", u8::from(p6.next_header())),
        ),
        (
            "checksum",
            format!("{:#06x}", p4.checksum()),
            "- (none)".into(),
        ),
        (
            "source",
            p4.src_addr().to_string(),
            p6.src_addr().to_string(),
        ),
        (
            "destination",
            p4.dst_addr().to_string(),
            p6.dst_addr().to_string(),
        ),
        (
            "on the wire",
            on_the_wire(p4.header_len()),
            on_the_wire(ipv6::HEADER_LEN),
        ),
    ]
}
