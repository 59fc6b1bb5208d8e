//! The link layer: getting an IP packet to the next machine on the same wire.
//!
//! On a TUN device there is nothing to do here: the device carries bare IP packets. On an
//! Ethernet device (a TAP device, an Ethernet wire in memory) every packet travels inside a
//! frame addressed to a MAC address, and the host has to find that address first:
//!
//! - [`ethernet`]: the Ethernet II frame, its header and MAC addresses;
//! - [`arp`]: the Address Resolution Protocol (RFC 826), which asks "who has 10.77.0.1?" and
//!   learns the answer;
//! - [`ndp`]: IPv6's Neighbor Discovery (RFC 4861), ARP's counterpart: "who has fd77::1?" asked
//!   in ICMPv6 messages to a multicast group, and duplicate address detection (RFC 4862), which
//!   checks that nobody else on the link has our IPv6 addresses before we use them;
//! - [`neighbour`]: the cache of answers (`ip neigh` on Linux), shared by ARP and NDP, with its
//!   states and timers, and the packets that wait for an answer;
//! - `interface/`: the Ethernet interface the host runs on a device that carries frames: it
//!   picks each packet's next hop (the destination on our network, else the gateway), frames
//!   the packet for the next hop's MAC address, and unframes what comes in, answering ARP
//!   (`arp.rs`) and NDP (`ndp.rs`) itself.
//!
//! Like every layer in the core, the link layer has no I/O and no clock: ARP's and NDP's
//! retries and duplicate address detection's wait are deadlines that join the host's
//! [`poll_at`](crate::Host::poll_at), like TCP's timers.
//!
//! The devices that carry frames (TUN, TAP, the in-memory wire, captures) are in
//! [`crate::device`]: they move bytes, and this module gives them meaning.
//!
//! [`Reason`] is here too: why the stack sent a packet, which captures write as a frame comment.
pub mod arp;
pub mod ethernet;
pub(crate) mod interface;
pub mod ndp;
pub mod neighbour;
mod reason;

pub use reason::{ArpWhy, NdpWhy, Reason};
