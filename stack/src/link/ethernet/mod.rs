//! Ethernet II framing: how a packet crosses one link between two interfaces.
//!
//! IP addresses name hosts across the internet; on one link (a cable, a switch, a Wi-Fi network,
//! a TAP device) the sender also has to say which interface takes the packet. Ethernet does it by
//! putting the packet in a *frame*: a 14-byte header with the destination and source MAC
//! addresses ([`MacAddr`]) and an EtherType that says what is inside ([`EtherType`]: IPv4, ARP,
//! IPv6). The receiver checks the destination (its own address, broadcast, or a group it joined),
//! strips the header and hands the payload to the protocol the EtherType names. Finding the MAC
//! address that goes with an IP address is [ARP](super::arp)'s job.
//!
//! ```text
//!  ┌──────────────────┬──────────────┬─────────────┬───────────────┬ ─ ─ ─ ─ ┐
//!  │ Ethernet header  │ IPv4 header  │ TCP header  │ data          │   FCS   │  one frame
//!  │ 14 bytes         │ 20 bytes     │ 20+ bytes   │               │ 4 bytes │
//!  └──────────────────┴──────────────┴─────────────┴───────────────┴ ─ ─ ─ ─ ┘
//!    link/ethernet/     ip/header.rs   tcp/header.rs  your bytes     the NIC's
//! ```
//!
//! The byte layout is in [`header`]; [`addr`] has the addresses.
//!
//! # What a TAP device and a capture leave out
//!
//! On a real cable a frame has more than the bytes this module reads and writes:
//!
//! - **The FCS** (frame check sequence), a CRC-32 over the header and payload, follows the
//!   payload. The sending NIC computes and appends it; the receiving NIC checks it, drops the
//!   frame if it is wrong, and strips it. Software on either side never sees it, so a TAP
//!   device neither wants nor delivers one, and pcap captures (tcpdump, Wireshark) normally do
//!   not show it. Nothing in this stack computes a CRC.
//! - **Padding.** Ethernet needs at least 64 bytes on the wire (so that a collision is noticed
//!   while the frame is still being sent): 14 header + 46 payload + 4 FCS. A NIC pads a shorter
//!   payload with zeros up to 46 bytes. A 28-byte ARP packet therefore arrives from a real NIC as
//!   a 60-byte frame (without its FCS). A TAP device does not need the minimum: Linux sends that
//!   ARP request as 42 bytes, and the kernel takes 42-byte frames from us.
//!
//! So this stack does not pad the frames it builds, and it accepts padded frames: the padding is
//! part of the payload as [`header::Frame::payload`] returns it, and the protocol inside reads
//! its own length and ignores the rest (IPv4 by its Total Length, ARP by its address lengths).
//!
//! A preamble and start-of-frame delimiter (8 bytes) and an inter-frame gap (12 bytes of
//! silence) also surround every frame on the wire; like the FCS, they are the hardware's.

pub mod addr;
pub mod header;

pub use addr::{MacAddr, ParseMacError};
pub use header::EtherType;
