//! Reading a capture file: pcap (what `tcpdump -w` writes) or pcapng (what our demos'
//! `--capture`, Wireshark and dumpcap write), with the pcap-file crate.
//!
//! Each packet starts with a link-layer header that depends on where it was captured; the
//! ladder takes off the ones a learner's captures have and keeps the IPv4 packet inside, or
//! the ARP packet (EtherType 0x0806), which travels in a frame with no IP around it:
//!
//! | link type | where it comes from | what comes before the IPv4 header |
//! |---|---|---|
//! | 101 `LINKTYPE_RAW` | tunstack's captures of a TUN device, `tcpdump -i tun0` | nothing (IPv6 packets too: version nibble 6) |
//! | 228 `LINKTYPE_IPV4` | tunstack's captures of a TUN device before IPv6 | nothing |
//! | 1 `LINKTYPE_ETHERNET` | tunstack's captures of a TAP device or an Ethernet wire, `tcpdump -i eth0`, `-i lo` | 14 bytes: MAC addresses, EtherType (kept: [`Frame::ethernet`]) |
//! | 113 `LINKTYPE_LINUX_SLL` | older `tcpdump -i any` | 16 bytes, protocol at 14 |
//! | 276 `LINKTYPE_LINUX_SLL2` | `tcpdump -i any` | 20 bytes, protocol at 0 |
//! | 0 `LINKTYPE_NULL` | macOS `tcpdump -i lo0` | 4 bytes: address family 2 for IPv4 |
//!
//! A file that ends in the middle of a packet (a capture still being written, or cut off) is read
//! up to there, with a warning.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, PcapError, TsResolution};

use tunstack::link::ethernet::header as ethernet;

use super::decode::{decode_arp, decode_ipv4, Content, Direction, Frame};

/// A capture file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureFile {
    /// `"pcap"` or `"pcapng"`.
    pub format: &'static str,
    /// The link types of its interfaces, e.g. `["raw IPv4 (228)"]`.
    pub link_types: Vec<String>,
    /// Its packets, in file order.
    pub frames: Vec<Frame>,
    /// What went wrong partway through, if anything (the frames before it are kept).
    pub warning: Option<String>,
}

/// Why a file could not be read at all.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// It is not a pcap or pcapng file, or its first header is broken.
    Format(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(err) => write!(f, "{err}"),
            ReadError::Format(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ReadError {}

/// The pcapng Section Header Block's type, the first four bytes of every pcapng file.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads the capture file at `path`.
pub fn read_file(path: &Path) -> Result<CaptureFile, ReadError> {
    let file = File::open(path).map_err(ReadError::Io)?;
    read_from(BufReader::new(file))
}

/// Reads a capture from `input`, which holds a whole pcap or pcapng file.
pub fn read_from(mut input: impl Read) -> Result<CaptureFile, ReadError> {
    let mut magic = [0u8; 4];
    input
        .read_exact(&mut magic)
        .map_err(|err| match err.kind() {
            io::ErrorKind::UnexpectedEof => {
                ReadError::Format("too short to be a pcap or pcapng file".to_string())
            }
            _ => ReadError::Io(err),
        })?;
    let input = io::Cursor::new(magic).chain(input);
    if magic == PCAPNG_MAGIC {
        read_pcapng(input)
    } else {
        read_pcap(input)
    }
}

/// Reads a pcap file: one global header (link type, time resolution), then packets.
fn read_pcap(input: impl Read) -> Result<CaptureFile, ReadError> {
    let mut reader = PcapReader::new(input).map_err(|err| {
        ReadError::Format(format!("not a pcap or pcapng file ({})", pcap_error(&err)))
    })?;
    let header = reader.header();
    let mut frames = Vec::new();
    let mut warning = None;
    // Raw packets, because pcap-file's checked packets reject an original length above the
    // snap length, which is what every packet of a `tcpdump -s 96` capture has.
    while let Some(packet) = reader.next_raw_packet() {
        let packet = match packet {
            Ok(packet) => packet,
            Err(err) => {
                warning = Some(ends_early(frames.len(), &err));
                break;
            }
        };
        let nanos = match header.ts_resolution {
            TsResolution::MicroSecond => u64::from(packet.ts_frac) * 1000,
            TsResolution::NanoSecond => u64::from(packet.ts_frac),
        };
        let time = Duration::from_secs(u64::from(packet.ts_sec)) + Duration::from_nanos(nanos);
        let link = link_layer(header.datalink, &packet.data);
        frames.push(Frame {
            number: frames.len() as u64 + 1,
            time,
            direction: link.direction,
            comment: None,
            ethernet: link.ethernet,
            content: link.content,
        });
    }
    Ok(CaptureFile {
        format: "pcap",
        link_types: vec![link_type_name(header.datalink)],
        frames,
        warning,
    })
}

/// Reads a pcapng file: blocks, of which Interface Description Blocks say each interface's link
/// type and time resolution, and Enhanced (or Simple) Packet Blocks hold the packets.
fn read_pcapng(input: impl Read) -> Result<CaptureFile, ReadError> {
    let mut reader = PcapNgReader::new(input)
        .map_err(|err| ReadError::Format(format!("not a pcapng file ({})", pcap_error(&err))))?;
    let mut frames = Vec::new();
    let mut link_types = Vec::new();
    let mut warning = None;
    let mut last_time = Duration::ZERO;
    while let Some(block) = reader.next_block() {
        // Owned, because the block borrows the reader, which is asked about interfaces below.
        let block = match block {
            Ok(block) => block.into_owned(),
            Err(err) => {
                warning = Some(ends_early(frames.len(), &err));
                break;
            }
        };
        let (interface_id, time, data, options) = match block {
            Block::InterfaceDescription(idb) => {
                let name = link_type_name(idb.linktype);
                if !link_types.contains(&name) {
                    link_types.push(name);
                }
                continue;
            }
            Block::EnhancedPacket(epb) => {
                let Some(idb) = reader.interfaces().get(epb.interface_id as usize) else {
                    warning = Some(format!(
                        "packet {} names interface {}, which the file does not describe; \
                         stopped there",
                        frames.len() + 1,
                        epb.interface_id
                    ));
                    break;
                };
                let time = epb_time(epb.timestamp, idb);
                (epb.interface_id, Some(time), epb.data, epb.options)
            }
            // Simple Packet Blocks have no timestamp and belong to the first interface.
            Block::SimplePacket(spb) => (0, None, spb.data, Vec::new()),
            _ => continue,
        };
        let Some(idb) = reader.interfaces().get(interface_id as usize) else {
            warning = Some("a packet comes before any interface is described".to_string());
            break;
        };
        let time = time.unwrap_or(last_time);
        last_time = time;
        let link = link_layer(idb.linktype, &data);
        let mut direction = link.direction;
        let mut comment = None;
        for option in options {
            match option {
                // The low two bits: 1 inbound, 2 outbound, 0 not known (pcapng 4.3.1).
                EnhancedPacketOption::Flags(flags) => match flags & 0b11 {
                    1 => direction = Some(Direction::Inbound),
                    2 => direction = Some(Direction::Outbound),
                    _ => {}
                },
                EnhancedPacketOption::Comment(text) if comment.is_none() => {
                    comment = Some(text.into_owned());
                }
                _ => {}
            }
        }
        frames.push(Frame {
            number: frames.len() as u64 + 1,
            time,
            direction,
            comment,
            ethernet: link.ethernet,
            content: link.content,
        });
    }
    Ok(CaptureFile {
        format: "pcapng",
        link_types,
        frames,
        warning,
    })
}

/// The real time of an Enhanced Packet Block.
///
/// pcap-file reads the timestamp's raw count as nanoseconds, whatever the interface's
/// `if_tsresol` says; the count is in units of 10^-6 s when the option is absent (most files
/// but ours), 10^-r s for `if_tsresol = r`, or 2^-r s when its top bit is set. Scale it here.
fn epb_time(raw: Duration, idb: &InterfaceDescriptionBlock) -> Duration {
    let units = raw.as_nanos();
    let resolution = idb
        .options
        .iter()
        .find_map(|option| match option {
            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
            _ => None,
        })
        .unwrap_or(6);
    let offset_secs = idb
        .options
        .iter()
        .find_map(|option| match option {
            InterfaceDescriptionOption::IfTsOffset(secs) => Some(*secs),
            _ => None,
        })
        .unwrap_or(0);
    let nanos: u128 = if resolution & 0x80 != 0 {
        let shift = u32::from(resolution & 0x7f).min(127);
        (units.saturating_mul(1_000_000_000)) >> shift
    } else if resolution <= 9 {
        units.saturating_mul(10u128.pow(u32::from(9 - resolution)))
    } else {
        units / 10u128.pow(u32::from(resolution - 9).min(38))
    };
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    let subsec = (nanos % 1_000_000_000) as u32;
    Duration::new(secs.saturating_add(offset_secs), subsec)
}

/// A packet with its link-layer header read.
struct Link {
    /// The direction the header tells (Linux cooked captures say whether the host sent it).
    direction: Option<Direction>,
    /// The Ethernet header, on an Ethernet capture.
    ethernet: Option<ethernet::Repr>,
    /// What is inside.
    content: Content,
}

impl Link {
    fn content(content: Content) -> Link {
        Link {
            direction: None,
            ethernet: None,
            content,
        }
    }
}

/// Takes the link-layer header off a packet and reads what is inside: IPv4 or ARP.
fn link_layer(link: DataLink, data: &[u8]) -> Link {
    let short = |what: &str| Link::content(Content::Unreadable(format!("{what} header cut short")));
    match link {
        DataLink::IPV4 | DataLink::RAW => Link::content(ipv4(data)),
        DataLink::ETHERNET => {
            // Destination and source MAC (6 + 6 bytes), then the EtherType, read with the
            // stack's codec; an 802.1Q VLAN tag (EtherType 0x8100) puts 4 more bytes before the
            // real one.
            let Ok(header) =
                ethernet::Frame::new_checked(data).and_then(|frame| ethernet::Repr::parse(&frame))
            else {
                return short("Ethernet");
            };
            let mut at = ethernet::HEADER_LEN - 2;
            loop {
                let Some(kind) = data.get(at..at + 2) else {
                    return short("Ethernet");
                };
                match u16::from_be_bytes([kind[0], kind[1]]) {
                    0x8100 | 0x88a8 => at += 4,
                    ethertype => {
                        return Link {
                            direction: None,
                            ethernet: Some(header),
                            content: ethertype_content(ethertype, &data[at + 2..]),
                        }
                    }
                }
            }
        }
        DataLink::LINUX_SLL => {
            // Packet type (2 bytes), ARPHRD type, address length, address (8), protocol.
            let (Some(kind), Some(protocol)) = (data.get(0..2), data.get(14..16)) else {
                return short("Linux cooked (SLL)");
            };
            let protocol = u16::from_be_bytes([protocol[0], protocol[1]]);
            Link {
                direction: sll_direction(u16::from_be_bytes([kind[0], kind[1]])),
                ethernet: None,
                content: ethertype_content(protocol, &data[16..]),
            }
        }
        DataLink::LINUX_SLL2 => {
            // Protocol (2), reserved (2), interface index (4), ARPHRD type (2), packet type (1),
            // address length (1), address (8).
            let (Some(protocol), Some(&kind)) = (data.get(0..2), data.get(10)) else {
                return short("Linux cooked (SLL2)");
            };
            if data.len() < 20 {
                return short("Linux cooked (SLL2)");
            }
            let protocol = u16::from_be_bytes([protocol[0], protocol[1]]);
            Link {
                direction: sll_direction(u16::from(kind)),
                ethernet: None,
                content: ethertype_content(protocol, &data[20..]),
            }
        }
        DataLink::NULL => {
            // The sender's address family, in the sender's byte order: 2 is AF_INET everywhere.
            let Some(family) = data.get(0..4) else {
                return short("BSD loopback");
            };
            let family = [family[0], family[1], family[2], family[3]];
            if u32::from_le_bytes(family) == 2 || u32::from_be_bytes(family) == 2 {
                Link::content(ipv4(&data[4..]))
            } else {
                Link::content(Content::Unreadable(
                    "not IPv4 (BSD loopback family)".to_string(),
                ))
            }
        }
        other => Link::content(Content::Unreadable(format!(
            "link type {} is not read here",
            link_type_name(other)
        ))),
    }
}

/// An IPv4 packet, read; or why not.
fn ipv4(bytes: &[u8]) -> Content {
    match decode_ipv4(bytes) {
        Ok(datagram) => Content::Ipv4(datagram),
        Err(why) => Content::Unreadable(why),
    }
}

/// The content after an EtherType (or a Linux cooked header's protocol field).
fn ethertype_content(ethertype: u16, rest: &[u8]) -> Content {
    match ethertype {
        0x0800 => ipv4(rest),
        0x0806 => match decode_arp(rest) {
            Ok(arp) => Content::Arp(arp),
            Err(why) => Content::Unreadable(why),
        },
        0x86dd => Content::Unreadable("IPv6 (not shown: the ladder reads IPv4)".to_string()),
        other => Content::Unreadable(format!("EtherType {other:#06x}, not IPv4")),
    }
}

/// The direction a Linux cooked capture's packet type says: 4 is "sent by us", 0 to 3 are
/// received (to us, broadcast, multicast, to another host).
fn sll_direction(packet_type: u16) -> Option<Direction> {
    match packet_type {
        0..=3 => Some(Direction::Inbound),
        4 => Some(Direction::Outbound),
        _ => None,
    }
}

/// A name for a link type, e.g. `"Ethernet (1)"`.
fn link_type_name(link: DataLink) -> String {
    let name = match link {
        DataLink::IPV4 => "raw IPv4",
        DataLink::RAW => "raw IP",
        DataLink::ETHERNET => "Ethernet",
        DataLink::LINUX_SLL => "Linux cooked",
        DataLink::LINUX_SLL2 => "Linux cooked v2",
        DataLink::NULL => "BSD loopback",
        _ => "link type",
    };
    format!("{name} ({})", u32::from(link))
}

/// The warning for a file that stops being readable after `frames` packets.
fn ends_early(frames: usize, err: &PcapError) -> String {
    format!(
        "the file ends or breaks after packet {frames} ({}): still being written, or cut off?",
        pcap_error(err)
    )
}

/// pcap-file's error, in words.
fn pcap_error(err: &PcapError) -> String {
    match err {
        PcapError::IoError(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
            "unexpected end of file".to_string()
        }
        other => other.to_string(),
    }
}
