//! Helpers the link tests share: awaiting a link, counting wake-ups, building real packets.
//!
//! The packets are built by hand here, from the RFC layouts, so that the link tests do not depend
//! on the UDP and ICMP codecs they may one day carry.

use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::netns::skip_or_fail;
use super::Device;
use crate::ip::checksum;
use crate::ip::header::{self, IpProtocol};

/// Receives one packet, waiting as long as it takes.
pub async fn recv<L: Device>(link: &mut L, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| link.poll_recv(cx, buf)).await
}

/// Sends one packet without a comment.
pub async fn send<L: Device>(link: &mut L, packet: &[u8]) -> io::Result<()> {
    poll_fn(|cx| link.poll_send(cx, packet, None)).await
}

/// A waker that counts how often it is woken.
pub struct WakeCounter(AtomicUsize);

impl WakeCounter {
    pub fn new() -> Arc<WakeCounter> {
        Arc::new(WakeCounter(AtomicUsize::new(0)))
    }

    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A file path under the temporary directory, unique to this process and call, removed on drop.
pub struct TempFile(PathBuf);

impl TempFile {
    pub fn new(label: &str) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("tunstack-{label}-{}-{n}.tmp.pcapng", std::process::id());
        TempFile(std::env::temp_dir().join(name))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs tshark on the capture at `path`, with IP and UDP checksum validation on, and returns
/// its output lines; `None` if tshark cannot run, after [`skip_or_fail`] said why (the test then
/// skips; under CI it fails).
pub fn tshark(path: &Path, args: &[&str]) -> Option<Vec<String>> {
    let mut command = Command::new("tshark");
    // Wireshark's defaults, not the user's profile: a personal preference must not change what
    // the test sees. A directory that does not exist holds no preferences.
    let no_profile = std::env::temp_dir().join("tunstack-no-wireshark-profile");
    command.env("WIRESHARK_CONFIG_DIR", no_profile);
    command.arg("-r").arg(path);
    command.args(["-o", "ip.check_checksum:TRUE"]);
    command.args(["-o", "udp.check_checksum:TRUE"]);
    let output = match command.args(args).output() {
        Ok(output) => output,
        Err(err) => {
            skip_or_fail(&format!(
                "cannot run tshark ({err}); install it (Debian: tshark)"
            ));
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tshark failed: {stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    Some(stdout.lines().map(str::to_owned).collect())
}

/// The given fields of every frame, one line per frame, separated by `|`.
pub fn tshark_fields(path: &Path, fields: &[&str]) -> Option<Vec<String>> {
    let mut args = vec!["-T", "fields", "-E", "separator=|"];
    for field in fields {
        args.extend(["-e", field]);
    }
    tshark(path, &args)
}

/// The frames Wireshark finds malformed or flags with a warning or an error (a bad checksum is
/// an error): an empty list is a clean capture.
pub fn tshark_problems(path: &Path) -> Option<Vec<String>> {
    tshark(
        path,
        &["-Y", "_ws.malformed || _ws.expert.severity >= warning"],
    )
}

/// An IPv4 packet around `payload`, TTL 64, DF set.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = header::Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        ttl: 64,
        tos: 0,
        ident: 0x1234,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
        payload_len: payload.len(),
    };
    let mut packet = vec![0; repr.total_len()];
    repr.emit(&mut packet);
    packet[header::HEADER_LEN..].copy_from_slice(payload);
    packet
}

/// A UDP datagram ([RFC 768]) in an IPv4 packet, with a correct checksum.
///
/// [RFC 768]: https://www.rfc-editor.org/rfc/rfc768
pub fn udp_packet(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut udp = Vec::with_capacity(len);
    udp.extend_from_slice(&src.1.to_be_bytes());
    udp.extend_from_slice(&dst.1.to_be_bytes());
    udp.extend_from_slice(&(len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let sum = checksum::pseudo_header(src.0, dst.0, IpProtocol::Udp.into(), len as u16);
    // A computed zero is sent as all ones: zero means "no checksum" in UDP.
    let sum = match checksum::finish(checksum::add(sum, &udp)) {
        0 => 0xffff,
        s => s,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    ipv4(src.0, dst.0, IpProtocol::Udp, &udp)
}

/// An ICMP echo request ([RFC 792]: type 8, code 0) in an IPv4 packet.
///
/// [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
pub fn icmp_echo_request(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&ident.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(data);
    let sum = checksum::checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    ipv4(src, dst, IpProtocol::Icmp, &icmp)
}

/// An ICMPv6 echo request ([RFC 4443 section 4.1]: type 128, code 0) in an IPv6 packet
/// (RFC 8200: the 40-byte fixed header, next header 58, hop limit 64), its checksum over the
/// pseudo-header as RFC 4443 section 2.3 says.
///
/// [RFC 4443 section 4.1]: https://www.rfc-editor.org/rfc/rfc4443#section-4.1
pub fn icmpv6_echo_request(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    const ICMPV6: u8 = 58;
    let mut icmp = vec![128, 0, 0, 0];
    icmp.extend_from_slice(&ident.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(data);
    let len = icmp.len() as u16;
    let sum = checksum::pseudo_header_v6(src, dst, ICMPV6, u32::from(len));
    let sum = checksum::finish(checksum::add(sum, &icmp));
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    // Version 6, traffic class and flow label 0; payload length; next header; hop limit.
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&len.to_be_bytes());
    packet.extend_from_slice(&[ICMPV6, 64]);
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(&icmp);
    packet
}

#[test]
fn built_packets_verify() {
    let a = Ipv4Addr::new(10, 77, 0, 1);
    let b = Ipv4Addr::new(10, 77, 0, 2);
    let udp = udp_packet((a, 5000), (b, 9), b"hi");
    let packet = header::Packet::new_checked(&udp[..]).unwrap();
    let repr = header::Repr::parse(&packet).unwrap();
    assert_eq!(repr.protocol, IpProtocol::Udp);
    let pseudo = checksum::pseudo_header(a, b, 17, packet.payload().len() as u16);
    assert_eq!(checksum::finish(checksum::add(pseudo, packet.payload())), 0);
    let ping = icmp_echo_request(b, a, 1, 1, b"abc");
    let packet = header::Packet::new_checked(&ping[..]).unwrap();
    assert!(header::Repr::parse(&packet).is_ok());
    assert_eq!(checksum::checksum(packet.payload()), 0);
    let (a6, b6): (Ipv6Addr, Ipv6Addr) = ("fd77::1".parse().unwrap(), "fd77::2".parse().unwrap());
    let ping6 = icmpv6_echo_request(b6, a6, 1, 1, b"abc");
    let packet = crate::ip::ipv6::Packet::new_checked(&ping6[..]).unwrap();
    let icmp = crate::ip::icmpv6::header::Packet::new_checked(packet.payload()).unwrap();
    assert!(icmp.verify_checksum(b6, a6));
    assert_eq!((icmp.msg_type(), icmp.echo_seq_no()), (128, 1));
}
