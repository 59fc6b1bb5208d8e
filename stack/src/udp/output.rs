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

/// The largest payload one datagram may carry on a link with this MTU: the IP and UDP headers
/// take 28 bytes (1472 on Ethernet's 1500). The stack does not fragment, so a larger datagram is
/// refused rather than sent in pieces.
pub fn max_payload(mtu: usize) -> usize {
    mtu.saturating_sub(IP_HEADER_LEN + UDP_HEADER_LEN)
}

impl UdpLayer {
    /// Builds and queues one datagram. `Ok(false)` when the output queue is full (the caller
    /// waits for room).
    pub(crate) fn send(
        &mut self,
        ip: &mut Ipv4Layer,
        out: &mut PacketQueue,
        mtu: usize,
        local_port: u16,
        to: SocketAddrV4,
        payload: &[u8],
    ) -> io::Result<bool> {
        let max = max_payload(mtu);
        if payload.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte datagram does not fit the link: MTU {mtu} leaves {max} bytes \
                     after the 20-byte IP and 8-byte UDP headers (this stack does not fragment)",
                    payload.len()
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
