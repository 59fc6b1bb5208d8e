//! UDP output: wrap a payload in a UDP header, then hand it to IP.

use std::io;
use std::net::SocketAddrV4;

use tracing::debug;

use super::header::Repr;
use super::UdpLayer;
use crate::ip::header::{IpProtocol, HEADER_LEN as IP_HEADER_LEN};
use crate::ip::Ipv4Layer;
use crate::queue::PacketQueue;

/// The UDP header length.
const UDP_HEADER_LEN: usize = 8;

/// The largest payload a UDP datagram may carry at all: 65,535 bytes of IPv4 datagram less the
/// 20-byte IP and 8-byte UDP headers, as on Linux (`EMSGSIZE` above it).
pub const MAX_DATAGRAM_PAYLOAD: usize = 65_535 - IP_HEADER_LEN - UDP_HEADER_LEN;

impl UdpLayer {
    /// Builds and queues one datagram, in fragments when it is larger than the MTU allows.
    /// `Ok(false)` when the output queue has no room for it yet (the caller waits for room).
    pub(crate) fn send(
        &mut self,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        local_port: u16,
        to: SocketAddrV4,
        payload: &[u8],
    ) -> io::Result<bool> {
        if payload.len() > MAX_DATAGRAM_PAYLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte datagram is too long: UDP over IPv4 carries at most \
                     {MAX_DATAGRAM_PAYLOAD} bytes (65,535 less the 20-byte IP and 8-byte UDP \
                     headers)",
                    payload.len()
                ),
            ));
        }
        let packets = ip.packets_for(UDP_HEADER_LEN + payload.len());
        if packets.is_none_or(|n| n > out.capacity()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte datagram takes {packets:?} fragments on MTU {}, more than the \
                     output queue holds ({})",
                    payload.len(),
                    ip.mtu,
                    out.capacity()
                ),
            ));
        }
        let header = Repr {
            src_port: local_port,
            dst_port: to.port(),
            payload_len: payload.len(),
        };
        let (src, dst) = (ip.addr(), *to.ip());
        let queued = ip.send(
            out,
            dst,
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
