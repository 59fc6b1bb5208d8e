//! The link layer: getting an IP packet to the next machine on the same wire.
//!
//! On a TUN device there is nothing to do here: the device carries bare IP packets. On an
//! Ethernet device (a TAP device, an Ethernet wire in memory) every packet travels inside a
//! frame addressed to a MAC address, and the host has to find that address first:
//!
//! - [`ethernet`]: the Ethernet II frame, its header and MAC addresses;
//! - [`arp`]: the Address Resolution Protocol (RFC 826), which asks "who has 10.77.0.1?" and
//!   learns the answer;
//! - [`neighbour`]: the cache of answers (`ip neigh` on Linux), with its states and timers, and
//!   the packets that wait for an answer;
//! - `interface.rs`: the Ethernet interface the host runs on a device that carries frames: it
//!   picks each packet's next hop (the destination on our network, else the gateway), frames
//!   the packet for the next hop's MAC address, and unframes what comes in.
//!
//! Like every layer in the core, the link layer has no I/O and no clock: ARP's retries are
//! deadlines that join the host's [`poll_at`](crate::Host::poll_at), like TCP's timers.
//!
//! The devices that carry frames (TUN, TAP, the in-memory wire, captures) are in
//! [`crate::device`]: they move bytes, and this module gives them meaning.
//!
//! [`Reason`] is here too: why the stack sent a packet, which captures write as a frame comment.
pub mod arp;
pub mod ethernet;
pub(crate) mod interface;
pub mod neighbour;
mod reason;

pub use reason::{ArpWhy, Reason};
