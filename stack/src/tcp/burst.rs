//! Several segments in one packet, cut apart below TCP: a *burst* for a device with TSO, which
//! cuts it, or a *train* for the driver to cut when the device has none (software GSO,
//! [`Config::gso`](crate::host::Config::gso)).
//!
//! A train holds only the whole segments that would have gone one by one at this moment, so
//! the wire sees the very same segments; the saving is in passing through TCP and IP once for
//! up to 45 of them. A burst is sized the way Linux sizes its TSO bursts, and Nagle's rule and
//! the unsent limit count in bursts (`tcp_tso_should_defer`).

use std::net::IpAddr;

use super::connection::Connection;
use super::header::Repr;
use super::options::MAX_OPTIONS_LEN;
use crate::device::offload::{Checksum, Gso, PacketInfo};
use crate::ip::layer::IpLayer;

/// How much data one packet may carry, to be cut into segments of [`Connection::segment_size`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Burst {
    /// The device cuts it (TSO): a burst of up to this many bytes, and Nagle's rule and the
    /// unsent limit count in bursts (`tcp_tso_should_defer`).
    Device(usize),
    /// The driver cuts it (a train, [`IpLayer::trains`]): up to this many bytes of whole
    /// segments, each of which would have gone on its own just the same.
    Train(usize),
}

impl Connection {
    /// How much the next packet to `dst` may carry: a burst with TSO, a train when the driver
    /// cuts them and `trains` allows (no other connection waits its turn), else one segment.
    pub(super) fn burst_for(&self, ip: &IpLayer, dst: IpAddr, trains: bool) -> Option<Burst> {
        let ip_len = IpLayer::header_len(dst);
        if ip.offloads.tso {
            let longest = ip.offloads.longest_burst_packet(dst.is_ipv6());
            Some(Burst::Device(self.burst_size(ip_len, longest)))
        } else if ip.trains && trains {
            Some(Burst::Train(self.burst_size(ip_len, usize::from(u16::MAX))))
        } else {
            None
        }
    }

    /// The most data one packet carries: as many whole segments as fit an IP packet of
    /// `longest` bytes (65,535, or more with BIG TCP) with the largest TCP header, at least
    /// one. It is cut into segments of [`Connection::segment_size`] (Linux sizes its bursts
    /// the same way, in whole segments, so that none but the last on the wire is small).
    fn burst_size(&self, ip_len: usize, longest: usize) -> usize {
        let segment = self.segment_size();
        let room = longest.saturating_sub(ip_len + 20 + MAX_OPTIONS_LEN);
        segment * (room / segment).max(1)
    }

    /// What the device is to do for a segment with `header` behind an IP header of `ip_len`
    /// bytes, planned in segments of `segment` bytes: with checksum offload, complete its
    /// checksum (left partial); if it holds more than one segment, cut it (TSO). A train
    /// asks the same of the driver, which cuts it before the device and completes the
    /// checksums.
    ///
    /// `segment` is the size the packet was planned with, not asked again: building the
    /// header takes a pending D-SACK, after which [`Connection::segment_size`] is larger.
    pub(super) fn offload_info(
        &self,
        ip: &IpLayer,
        header: &Repr,
        (ip_len, segment): (usize, usize),
    ) -> PacketInfo {
        let mut info = PacketInfo::PLAIN;
        // Only a burst or a train holds more than one; without TSO it is a train.
        let several = header.payload_len > segment;
        if ip.offloads.checksum || (several && !ip.offloads.tso) {
            info.checksum = Checksum::Partial {
                start: ip_len as u16,
                offset: 16,
            };
        }
        if several {
            info.gso = Some(Gso {
                size: segment as u16,
                header_len: (ip_len + header.header_len()) as u16,
                v6: self.quad.remote.is_ipv6(),
                ecn: false,
            });
        }
        info
    }

    /// A burst of `len` bytes from SND.NXT, cut short before its first segment that would
    /// begin in data the peer has SACKed. That happens only when going over the window again
    /// after a timeout; segment by segment, each one after such data is skipped (see
    /// `Connection::data_segment`), so a burst does not carry it either.
    pub(super) fn burst_before_sacked(&self, len: usize, segment: usize) -> usize {
        let nxt = self.snd.nxt;
        match self.rec.scoreboard.next_hole(nxt, nxt + len) {
            Some((_, hole_end)) => len.min((hole_end - nxt).div_ceil(segment) * segment),
            None => len,
        }
    }
}
