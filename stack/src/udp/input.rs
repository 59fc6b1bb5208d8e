//! UDP input: check a datagram and hand it to the socket bound to its port.

use std::net::{IpAddr, SocketAddr};

use tracing::debug;

use super::header::{Packet, Repr};
use super::UdpLayer;
use crate::ip::error::IcmpError;
use crate::stats::DropReason;

/// What became of a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Queued on a socket.
    Delivered,
    /// Dropped (malformed, or the socket's queue was full) and counted.
    Dropped,
    /// No socket takes it: the sender should hear ICMP port unreachable.
    NoSocket,
}

impl UdpLayer {
    /// Handles one UDP datagram (the IP payload) from `src` to `dst`; `trusted`: the device
    /// vouches for its checksum.
    pub(crate) fn receive(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        segment: &[u8],
        trusted: bool,
    ) -> Delivery {
        self.stats.received += 1;
        let packet = match Packet::new_checked(segment) {
            Ok(packet) => packet,
            Err(err) => {
                debug!(%src, %err, "udp: drop malformed datagram");
                self.stats.dropped.add(err.into());
                return Delivery::Dropped;
            }
        };
        // The checksum covers the pseudo-header: a datagram meant for another address fails it.
        let parsed = match trusted {
            true => Ok(Repr::parse_trusted(&packet)),
            false => Repr::parse(&packet, src, dst),
        };
        let header = match parsed {
            Ok(header) => header,
            Err(err) => {
                debug!(%src, %err, "udp: drop datagram");
                self.stats.dropped.add(err.into());
                return Delivery::Dropped;
            }
        };
        let from = SocketAddr::new(src, header.src_port);
        debug!(
            "udp: unwrap {header} -> {} bytes for port {}",
            header.payload_len, header.dst_port
        );
        let Some(socket) = self
            .socket_on_port(header.dst_port)
            .filter(|socket| socket.accepts(from, dst))
        else {
            debug!(port = header.dst_port, "udp: no socket takes this datagram");
            self.stats.dropped.add(DropReason::NoSocket);
            return Delivery::NoSocket;
        };
        if socket.push(from, packet.payload()) {
            self.stats.delivered += 1;
            Delivery::Delivered
        } else {
            debug!(
                port = header.dst_port,
                "udp: receive queue full, datagram dropped"
            );
            self.stats.dropped.add(DropReason::QueueFull);
            Delivery::Dropped
        }
    }

    /// Passes an ICMP error about a datagram we sent to the socket that sent it. As on Linux,
    /// only a connected socket hears of it (an unconnected one could not tell which of its
    /// peers the error is about).
    pub(crate) fn icmp_error(&mut self, error: &IcmpError) {
        let Some(socket) = self.socket_on_port(error.local.port()) else {
            return;
        };
        if socket.remote != Some(error.remote) {
            return;
        }
        // Time exceeded, too big: only hints for a datagram socket.
        let Some(kind) = error.problem.kind() else {
            return;
        };
        debug!(
            port = error.local.port(),
            ?kind,
            "udp: ICMP error for a connected socket"
        );
        socket.set_error(kind);
    }
}
