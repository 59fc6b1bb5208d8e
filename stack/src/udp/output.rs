//! UDP output: wrap a payload in a UDP header, then hand it to IP.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tracing::debug;

use super::header::Repr;
use super::UdpLayer;
use crate::ip::header::{IpProtocol, HEADER_LEN as IP_HEADER_LEN};
use crate::ip::layer::IpLayer;
use crate::queue::PacketQueue;

/// The UDP header length.
const UDP_HEADER_LEN: usize = 8;

/// The largest payload a UDP datagram may carry at all over IPv4: 65,535 bytes of IPv4 datagram
/// less the 20-byte IP and 8-byte UDP headers, as on Linux (`EMSGSIZE` above it).
pub const MAX_DATAGRAM_PAYLOAD: usize = 65_535 - IP_HEADER_LEN - UDP_HEADER_LEN;

/// The largest over IPv6: its Payload Length of 65,535 counts no fixed header, only the 8-byte
/// UDP header (jumbograms, RFC 2675, are not sent).
pub const MAX_DATAGRAM_PAYLOAD_V6: usize = 65_535 - UDP_HEADER_LEN;

impl UdpLayer {
    /// Builds and queues one datagram from `src` (port `local_port`; an address of ours, or
    /// unspecified to let the IP layer choose), in fragments when it is larger than the MTU
    /// allows. `Ok(false)` when the output queue has no room for it yet (the caller waits for
    /// room).
    pub(crate) fn send(
        &mut self,
        ip: &mut IpLayer,
        out: &mut PacketQueue,
        (src, local_port): (IpAddr, u16),
        to: SocketAddr,
        payload: &[u8],
    ) -> io::Result<bool> {
        let dst = to.ip();
        let (max, why) = if dst.is_ipv6() {
            (
                MAX_DATAGRAM_PAYLOAD_V6,
                "over IPv6 (65,535 less the 8-byte UDP header)",
            )
        } else {
            (
                MAX_DATAGRAM_PAYLOAD,
                "over IPv4 (65,535 less the 20-byte IP and 8-byte UDP headers)",
            )
        };
        if payload.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte datagram is too long: UDP carries at most {max} bytes {why}",
                    payload.len()
                ),
            ));
        }
        let src = match src {
            src if !src.is_unspecified() => src,
            _ => ip.src_for(dst).ok_or_else(|| no_source(dst))?,
        };
        let packets = ip.packets_for(dst, UDP_HEADER_LEN + payload.len());
        if packets.is_none_or(|n| n > out.capacity()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte datagram takes {packets:?} fragments on MTU {}, more than the \
                     output queue holds ({})",
                    payload.len(),
                    ip.mtu(),
                    out.capacity()
                ),
            ));
        }
        let header = Repr {
            src_port: local_port,
            dst_port: to.port(),
            payload_len: payload.len(),
        };
        let queued = ip.send(
            out,
            (src, dst),
            IpProtocol::Udp,
            header.buffer_len(),
            None,
            |segment| {
                // The data first, then the header in front of it: the checksum covers both.
                segment[UDP_HEADER_LEN..].copy_from_slice(payload);
                header.emit(segment, src, dst);
                debug!("udp: wrap {} bytes -> {header}", payload.len());
            },
        );
        if queued {
            self.stats.sent += 1;
        }
        Ok(queued)
    }
}

/// The error for a datagram to `dst` when we have no address of its version.
fn no_source(dst: IpAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::NetworkUnreachable,
        format!("cannot send to {dst}: this stack has no IPv6 address (IPv6 is off)"),
    )
}
