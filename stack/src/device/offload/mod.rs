//! Offloads: work a device does for the stack, and what the two tell each other about a packet.
//!
//! A network card does two jobs for the kernel that would otherwise cost a pass over every
//! byte: it fills in the TCP checksum (*checksum offload*), and it cuts one large TCP segment
//! into segments of one MSS each (*TCP segmentation offload*, TSO). The kernel keeps both jobs
//! for the last moment, and when the "card" is a TUN device that lets it, it leaves them to the
//! program on the other end. Opened with `IFF_VNET_HDR` and told with `TUNSETOFFLOAD` which jobs
//! we take ([`TunDevice::open_offload`](super::TunDevice::open_offload)), the device then
//! carries:
//!
//! - **super-packets**: one IP packet with up to 64 KiB of TCP data, which stands for many
//!   segments of `gso_size` bytes each. The kernel sends us its writes that way (generic
//!   segmentation offload, GSO), and cuts ours into MSS-sized segments for its own TCP, as a
//!   card does on the wire;
//! - **partial checksums**: the checksum field holds only the pseudo-header's sum, and the
//!   header says where the rest of the sum starts; whoever hands the packet to a real wire
//!   completes it. Between two programs in one machine the bytes were never on a wire, so nobody
//!   needs to: the kernel trusts such a packet as it trusts its own.
//!
//! Every read and every write on such a device starts with a virtio-net header, the one virtual
//! machines use to talk to their host's network (virtio 1.2 section 5.1.6, `struct
//! virtio_net_hdr`, its legacy 10-byte form, in the host's byte order):
//!
//! ```text
//!  0        7 8       15 16                   31
//! +----------+----------+----------------------+
//! |  flags   | gso_type |       hdr_len        |   flags: NEEDS_CSUM 1, DATA_VALID 2
//! +----------+----------+----------------------+   gso_type: NONE 0, TCPV4 1, TCPV6 4
//! |      gso_size       |      csum_start      |     (ECN 0x80 added: the CWR rule)
//! +---------------------+----------------------+   hdr_len: link + IP + TCP header bytes
//! |     csum_offset     |  the packet (or frame) follows
//! +---------------------+
//! ```
//!
//! `NEEDS_CSUM`: complete the checksum: sum from `csum_start` to the end, store the complement
//! at `csum_start + csum_offset`. `DATA_VALID`: the checksum was verified already.
//! `gso_type` other than NONE: this is a super-packet, to be cut into segments of `gso_size`.
//!
//! The stack sees none of this header: a device reads it into a [`PacketInfo`] and writes one
//! back out of it. What the device can do is its [`Offloads`].
//!
//! What changes on the wire, and in a capture: with offloads, the capture of a bulk transfer
//! shows packets of up to 64 KiB, each a whole burst of segments, as `tcpdump` shows on any host
//! whose card does TSO, and our TCP checksums in it are partial (Wireshark says so only if asked
//! to check them). The course's captures keep the default, MSS-sized segments.
//!
//! **BIG TCP** ([`Offloads::big_tcp`], [`TunDevice::with_big_tcp`](super::TunDevice::with_big_tcp)):
//! an IPv4 packet's Total Length is 16 bits, so no super-packet holds more than 64 KiB, and
//! every 64 KiB costs a device write, an skb and an ACK on the other side. Linux (6.3 on) lets
//! a super-packet be longer and says so with a Total Length of 0: its length is the buffer's
//! (`iph_totlen`). It never meets a wire as such, since it is cut into MSS-sized segments first
//! or delivered whole inside the machine. With it our TCP hands the kernel IPv4 bursts of up to
//! [`BIG_TCP_MAX`] bytes. Only our way: the kernel's TUN device takes no more than 64 KiB per
//! packet to send (its `tso_max_size`), so the bursts it sends us stay that size; IPv6 bursts
//! stay 64 KiB too (longer ones need RFC 2675's jumbo option). Wireshark reads a Total Length
//! of 0 as "presumed to be because of TCP segmentation offload" and takes the frame's length.

use std::fmt;
use std::io;

use crate::ip::checksum;

mod segment;
pub use segment::{segment, segment_parts, split};

/// The length of the legacy virtio-net header in front of every packet ([module docs](self)).
pub const VNET_HEADER_LEN: usize = 10;

/// The largest packet a device with TSO hands over or takes, link header included: an IP
/// packet whose length field is full (65,535 bytes; IPv6's payload length leaves 40 more for
/// its header) in an Ethernet frame.
pub const MAX_SUPER_PACKET: usize = 65_535 + 40 + 14;

/// The longest IPv4 packet TCP hands a device with [`Offloads::big_tcp`]: 192 KiB, three
/// times what Total Length can say (Linux's own BIG TCP sizes are of this order; its docs
/// suggest 185,000 bytes). Longer bursts would gain little more and need bigger allocations
/// of the kernel for each.
pub const BIG_TCP_MAX: usize = 192 * 1024;

/// `flags`: the checksum is partial; complete it from `csum_start`.
const NEEDS_CSUM: u8 = 1;
/// `flags`: the checksum was verified.
const DATA_VALID: u8 = 2;
/// `gso_type` values.
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const GSO_ECN: u8 = 0x80;

/// The jobs a device does for the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offloads {
    /// The device completes a TCP checksum left partial ([`Checksum::Partial`]), and may hand
    /// us packets whose checksum it vouches for.
    pub checksum: bool,
    /// The device cuts a TCP segment longer than its `gso_size` into segments of that size
    /// (TSO), and may hand us such super-packets (GSO): packets of up to
    /// [`MAX_SUPER_PACKET`] bytes, whatever the MTU.
    pub tso: bool,
    /// With [`Offloads::tso`], the device also takes IPv4 super-packets longer than Total
    /// Length can say, up to [`BIG_TCP_MAX`] bytes, their Total Length 0 (Linux's BIG TCP; see
    /// the [module docs](self)). It hands us none such.
    pub big_tcp: bool,
}

impl Offloads {
    /// No offloads: every packet fits the MTU and carries a whole checksum.
    pub const NONE: Offloads = Offloads {
        checksum: false,
        tso: false,
        big_tcp: false,
    };

    /// Both: checksums and TSO, as a Linux TUN device opened with offloads does them (not BIG
    /// TCP, which is asked for apart).
    pub const ALL: Offloads = Offloads {
        checksum: true,
        tso: true,
        big_tcp: false,
    };

    /// The largest packet (frame, on Ethernet) the device hands over: the MTU and the link
    /// header, or a super-packet with TSO.
    pub fn largest_packet(&self, mtu: usize, link_header: usize) -> usize {
        if self.tso {
            MAX_SUPER_PACKET.max(mtu + link_header)
        } else {
            mtu + link_header
        }
    }

    /// The largest packet (frame, on Ethernet) the device takes from us: as
    /// [`Offloads::largest_packet`], or with BIG TCP an IPv4 super-packet of [`BIG_TCP_MAX`]
    /// bytes.
    pub fn largest_sent(&self, mtu: usize, link_header: usize) -> usize {
        match self.tso && self.big_tcp {
            true => BIG_TCP_MAX + link_header,
            false => self.largest_packet(mtu, link_header),
        }
    }

    /// The longest packet (frame, on Ethernet) the device takes from us with `info`: a
    /// super-packet ([`Offloads::largest_sent`]) when `info` asks for segmentation, else one
    /// that fits the MTU.
    pub fn largest_for(&self, info: &PacketInfo, mtu: usize, link_header: usize) -> usize {
        match info.gso {
            Some(_) => self.largest_sent(mtu, link_header),
            None => mtu + link_header,
        }
    }

    /// The longest IP packet, header included, TCP may hand the device as one super-packet
    /// to `v6` or IPv4: what the IP length field can say, or [`BIG_TCP_MAX`] for IPv4 with BIG
    /// TCP. (For IPv6 the payload length leaves out the 40-byte header; 65,535 is kept for
    /// both, as Linux sizes its bursts.)
    pub fn longest_burst_packet(&self, v6: bool) -> usize {
        match self.tso && self.big_tcp && !v6 {
            true => BIG_TCP_MAX,
            false => usize::from(u16::MAX),
        }
    }
}

/// The state of a packet's transport checksum (TCP or UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksum {
    /// Whole, as on any wire: a receiver verifies it.
    #[default]
    Complete,
    /// Partial (`NEEDS_CSUM`): the field holds the pseudo-header's sum. Sum the packet from
    /// byte `start` to its end and store the complement at `start + offset` to complete it.
    /// A packet that came this way never crossed a wire: a receiver need not verify it.
    Partial {
        /// Where the checksummed part starts: the transport header.
        start: u16,
        /// Where the field is, from `start`: 16 for TCP, 6 for UDP.
        offset: u16,
    },
    /// Verified by the device (`DATA_VALID`).
    Verified,
}

/// A super-packet: one TCP segment that stands for several (TSO on the way out, GSO on the
/// way in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gso {
    /// The bytes of data in each segment but the last: the MSS less the options.
    pub size: u16,
    /// The link, IP and TCP headers' length, repeated in front of every segment.
    pub header_len: u16,
    /// IPv6 (TCPV6) rather than IPv4 (TCPV4).
    pub v6: bool,
    /// The ECN flag: the segments follow RFC 3168's rule for CWR (only the first carries it).
    pub ecn: bool,
}

/// What a device and the stack tell each other about one packet, besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketInfo {
    /// The transport checksum's state.
    pub checksum: Checksum,
    /// Set for a super-packet.
    pub gso: Option<Gso>,
}

impl PacketInfo {
    /// A plain packet: whole checksum, no more than the MTU.
    pub const PLAIN: PacketInfo = PacketInfo {
        checksum: Checksum::Complete,
        gso: None,
    };

    /// Whether the transport checksum can be taken on the device's word, without verifying it.
    pub fn checksum_trusted(&self) -> bool {
        !matches!(self.checksum, Checksum::Complete)
    }

    /// How many segments a `len`-byte packet stands for on a wire.
    pub fn segments(&self, len: usize) -> usize {
        match self.gso {
            Some(gso) if gso.size > 0 => {
                let data = len.saturating_sub(usize::from(gso.header_len));
                data.div_ceil(usize::from(gso.size)).max(1)
            }
            _ => 1,
        }
    }

    /// Reads a virtio-net header.
    ///
    /// Errors: a header too short, a GSO type other than TCP (UDP fragmentation offload is
    /// never turned on), a GSO size of zero, or a checksum position outside the packet of
    /// `packet_len` bytes that follows.
    pub fn from_vnet_header(header: &[u8], packet_len: usize) -> Result<PacketInfo, VnetError> {
        let [flags, gso_type, h0, h1, s0, s1, c0, c1, o0, o1, ..] = *header else {
            return Err(VnetError::Truncated);
        };
        let (header_len, size) = (u16::from_ne_bytes([h0, h1]), u16::from_ne_bytes([s0, s1]));
        let (start, offset) = (u16::from_ne_bytes([c0, c1]), u16::from_ne_bytes([o0, o1]));
        let checksum = if flags & NEEDS_CSUM != 0 {
            if usize::from(start) + usize::from(offset) + 2 > packet_len {
                return Err(VnetError::ChecksumOutside { start, offset });
            }
            Checksum::Partial { start, offset }
        } else if flags & DATA_VALID != 0 {
            Checksum::Verified
        } else {
            Checksum::Complete
        };
        let v6 = match gso_type & !GSO_ECN {
            GSO_NONE => {
                return Ok(PacketInfo {
                    checksum,
                    gso: None,
                })
            }
            GSO_TCPV4 => false,
            GSO_TCPV6 => true,
            other => return Err(VnetError::GsoType(other)),
        };
        if size == 0 {
            return Err(VnetError::GsoSize);
        }
        let gso = Gso {
            size,
            header_len,
            v6,
            ecn: gso_type & GSO_ECN != 0,
        };
        Ok(PacketInfo {
            checksum,
            gso: Some(gso),
        })
    }

    /// Writes the virtio-net header that says this to the device.
    pub fn to_vnet_header(&self) -> [u8; VNET_HEADER_LEN] {
        let (flags, start, offset) = match self.checksum {
            Checksum::Complete => (0, 0, 0),
            Checksum::Partial { start, offset } => (NEEDS_CSUM, start, offset),
            Checksum::Verified => (DATA_VALID, 0, 0),
        };
        let (gso_type, header_len, size) = match self.gso {
            None => (GSO_NONE, 0, 0),
            Some(gso) => {
                let kind = if gso.v6 { GSO_TCPV6 } else { GSO_TCPV4 };
                let ecn = if gso.ecn { GSO_ECN } else { 0 };
                (kind | ecn, gso.header_len, gso.size)
            }
        };
        let mut header = [0; VNET_HEADER_LEN];
        header[0] = flags;
        header[1] = gso_type;
        header[2..4].copy_from_slice(&header_len.to_ne_bytes());
        header[4..6].copy_from_slice(&size.to_ne_bytes());
        header[6..8].copy_from_slice(&start.to_ne_bytes());
        header[8..10].copy_from_slice(&offset.to_ne_bytes());
        header
    }

    /// The same packet moved `by` bytes further into its buffer (an Ethernet header was put in
    /// front): the offsets inside it grow.
    pub fn shifted(self, by: u16) -> PacketInfo {
        let checksum = match self.checksum {
            Checksum::Partial { start, offset } => Checksum::Partial {
                start: start.saturating_add(by),
                offset,
            },
            other => other,
        };
        let gso = self.gso.map(|gso| Gso {
            header_len: gso.header_len.saturating_add(by),
            ..gso
        });
        PacketInfo { checksum, gso }
    }
}

/// Completes a partial checksum in `packet`, as a device does for `NEEDS_CSUM`: sums from
/// `start` to the end and stores the complement at `start + offset`. Returns `false`, leaving
/// the packet alone, when that position is outside the packet.
pub fn complete_checksum(packet: &mut [u8], start: u16, offset: u16) -> bool {
    let (start, at) = (usize::from(start), usize::from(start) + usize::from(offset));
    if at + 2 > packet.len() {
        return false;
    }
    // The field holds the pseudo-header's sum, so the sum over it and the rest is the whole sum.
    let sum = checksum::finish(checksum::add(0, &packet[start..]));
    packet[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

/// A virtio-net header that cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VnetError {
    /// Fewer than [`VNET_HEADER_LEN`] bytes.
    Truncated,
    /// A GSO type we did not ask for (the value).
    GsoType(u8),
    /// A super-packet with segments of 0 bytes.
    GsoSize,
    /// The checksum to complete lies outside the packet.
    ChecksumOutside {
        /// `csum_start`.
        start: u16,
        /// `csum_offset`.
        offset: u16,
    },
}

impl fmt::Display for VnetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VnetError::Truncated => write!(f, "virtio-net header shorter than 10 bytes"),
            VnetError::GsoType(t) => write!(f, "virtio-net header: GSO type {t:#x} not asked for"),
            VnetError::GsoSize => write!(f, "virtio-net header: GSO with segments of 0 bytes"),
            VnetError::ChecksumOutside { start, offset } => write!(
                f,
                "virtio-net header: checksum at {start}+{offset} is outside the packet"
            ),
        }
    }
}

impl std::error::Error for VnetError {}

impl From<VnetError> for io::Error {
    fn from(err: VnetError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

#[cfg(test)]
pub(crate) mod tests;
