//! Both versions of IP behind one face, for the transports.
//!
//! UDP and TCP are written once: they name their peer by a [`std::net::IpAddr`] and ask this
//! layer to put the right header in front of their segment, 20 bytes of IPv4 or 40 of IPv6.
//! The one thing a transport must know of the version is in its checksum: the pseudo-header
//! has the addresses of the version in use ([`crate::ip::checksum::pseudo_header_ip`]).

use std::net::IpAddr;

use super::header::{IpProtocol, HEADER_LEN as V4_HEADER_LEN};
use super::ipv6::fragment;
use super::ipv6::layer::Ipv6Layer;
use super::ipv6::HEADER_LEN as V6_HEADER_LEN;
use super::pmtu::PathMtus;
use super::Ipv4Layer;
use crate::device::Offloads;
use crate::link::Reason;
use crate::queue::PacketQueue;

/// The internet layer of a host: IPv4 always, IPv6 when configured.
#[derive(Debug)]
pub(crate) struct IpLayer {
    /// IPv4.
    pub(crate) v4: Ipv4Layer,
    /// IPv6, when the host has an IPv6 address.
    pub(crate) v6: Option<Ipv6Layer>,
    /// What each destination's path carries, when less than our link.
    pub(crate) pmtu: PathMtus,
    /// The jobs the device beneath does for us: TCP asks how large a segment may be, and
    /// whether to leave its checksum partial.
    pub(crate) offloads: Offloads,
    /// On a device without TSO, TCP may still build a segment of several, as a *train* of
    /// whole segments that the driver cuts apart before the device (Linux's GSO): one pass
    /// through TCP for up to 64 KiB, and the same segments on the wire. Off for a host that
    /// has no driver to cut them ([`Host::new`](crate::host::Host::new) on its own).
    pub(crate) trains: bool,
}

impl IpLayer {
    /// The length of the IP header in front of a packet to `dst`.
    pub(crate) const fn header_len(dst: IpAddr) -> usize {
        match dst {
            IpAddr::V4(_) => V4_HEADER_LEN,
            IpAddr::V6(_) => V6_HEADER_LEN,
        }
    }

    /// The link's MTU.
    pub(crate) fn mtu(&self) -> usize {
        self.v4.mtu
    }

    /// The largest TCP segment's data that fits the path to `dst`: its path MTU less the IP
    /// header and a TCP header without options.
    pub(crate) fn path_mss(&self, dst: IpAddr) -> usize {
        self.pmtu
            .get(dst)
            .saturating_sub(Self::header_len(dst) + 20)
    }

    /// Our source address for a packet to `dst`: our IPv4 address, or the IPv6 address of the
    /// right scope; `None` when we have no usable address of that version.
    pub(crate) fn src_for(&self, dst: IpAddr) -> Option<IpAddr> {
        match dst {
            IpAddr::V4(_) => Some(IpAddr::V4(self.v4.addr())),
            IpAddr::V6(dst) => self.v6.as_ref()?.src_for(dst).map(IpAddr::V6),
        }
    }

    /// Whether `addr` is one of our usable addresses.
    pub(crate) fn is_ours(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(addr) => addr == self.v4.addr(),
            IpAddr::V6(addr) => self.v6.as_ref().is_some_and(|v6| v6.is_ours(addr)),
        }
    }

    /// Runs `send` with `ttl` as the TTL or Hop Limit of the packets it builds (a socket's
    /// `IP_TTL` or `IPV6_UNICAST_HOPS`), then goes back to the default; `None` keeps it.
    pub(crate) fn with_ttl<R>(&mut self, ttl: Option<u8>, send: impl FnOnce(&mut Self) -> R) -> R {
        let Some(ttl) = ttl else {
            return send(self);
        };
        let v4 = std::mem::replace(&mut self.v4.ttl, ttl);
        let v6 = self
            .v6
            .as_mut()
            .map(|v6| std::mem::replace(&mut v6.hop_limit, ttl));
        let result = send(self);
        self.v4.ttl = v4;
        if let (Some(layer), Some(hop_limit)) = (self.v6.as_mut(), v6) {
            layer.hop_limit = hop_limit;
        }
        result
    }

    /// Writes the IP header from `src` to `dst` in front of a payload of `payload_len` bytes
    /// that is already in `packet` after [`IpLayer::header_len`] bytes. The two addresses are of
    /// one version (the transport's connection has them so).
    pub(crate) fn wrap(
        &mut self,
        packet: &mut [u8],
        (src, dst): (IpAddr, IpAddr),
        protocol: IpProtocol,
        payload_len: usize,
    ) {
        match (src, dst, self.v6.as_mut()) {
            (IpAddr::V6(src), IpAddr::V6(dst), Some(v6)) => {
                let header = v6.header((src, dst), protocol, payload_len);
                v6.wrap(packet, &header);
            }
            (_, IpAddr::V4(dst), _) => {
                let header = self.v4.next_header(dst, protocol, payload_len);
                self.v4.wrap(packet, &header);
            }
            _ => {}
        }
    }

    /// Counts the `n` packets more that a burst just wrapped to `dst` goes out as, once cut
    /// into segments, and moves the IPv4 Identification counter past them: each segment is
    /// numbered from the burst's own.
    pub(crate) fn sent_more(&mut self, dst: IpAddr, n: usize) {
        match (dst, self.v6.as_mut()) {
            (IpAddr::V4(_), _) => {
                self.v4.next_ident = self.v4.next_ident.wrapping_add(n as u16);
                self.v4.stats.sent += n as u64;
            }
            (IpAddr::V6(_), Some(v6)) => v6.stats.sent += n as u64,
            (IpAddr::V6(_), None) => {}
        }
    }

    /// How many packets a datagram of `payload_len` bytes to `dst` takes; `None` when it
    /// cannot go at all.
    pub(crate) fn packets_for(&self, dst: IpAddr, payload_len: usize) -> Option<usize> {
        match dst {
            IpAddr::V4(_) => self
                .v4
                .packets_within(payload_len, self.pmtu.get(dst).min(self.v4.mtu)),
            IpAddr::V6(_) => {
                let path = self.pmtu.get(dst).min(self.v6.as_ref()?.mtu);
                if super::ipv6::HEADER_LEN + payload_len <= path {
                    return Some(1);
                }
                let pieces = fragment::plan(payload_len, path).len();
                (pieces > 0).then_some(pieces)
            }
        }
    }

    /// Builds a packet from `src` to `dst` and queues it for the link (in fragments when it is
    /// larger than the MTU): `fill` writes the transport's `payload_len` bytes, then the IP
    /// header goes in front. Returns `false`, sending nothing, when it cannot go (no room in
    /// the queue; see [`IpLayer::packets_for`]).
    pub(crate) fn send(
        &mut self,
        out: &mut PacketQueue,
        (src, dst): (IpAddr, IpAddr),
        protocol: IpProtocol,
        payload_len: usize,
        why: Option<Reason>,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        match (src, dst, self.v6.as_mut()) {
            (IpAddr::V6(src), IpAddr::V6(v6_dst), Some(v6)) => {
                let path = self.pmtu.get(dst).min(v6.mtu);
                let link = std::mem::replace(&mut v6.mtu, path);
                let sent = v6.send(out, (src, v6_dst), protocol, payload_len, why, fill);
                v6.mtu = link;
                sent
            }
            (_, IpAddr::V4(v4_dst), _) => self.within_path(dst, |v4| {
                v4.send(out, v4_dst, protocol, payload_len, why, fill)
            }),
            _ => false,
        }
    }

    /// Runs `send` on IPv4 with the MTU of the path to `dst` (fragments are cut to it).
    fn within_path<R>(&mut self, dst: IpAddr, send: impl FnOnce(&mut Ipv4Layer) -> R) -> R {
        let path = self.pmtu.get(dst);
        let narrowest = path.min(self.v4.mtu);
        let link = std::mem::replace(&mut self.v4.mtu, narrowest);
        let result = send(&mut self.v4);
        self.v4.mtu = link;
        result
    }
}
