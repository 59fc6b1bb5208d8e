//! ARP, the Address Resolution Protocol ([RFC 826]): which MAC address goes with an IPv4
//! address on this link.
//!
//! To send an IP packet over Ethernet, a host needs the MAC address of the next hop (the
//! destination itself when it is on the same network, else the gateway). IP addresses do not
//! say it, so the host asks the whole link with a broadcast frame, and the host that has the
//! address answers, to the asker alone:
//!
//! ```text
//!   10.77.0.2 (02:00:00:77:00:02)                       10.77.0.1 (02:00:00:77:00:01)
//!          │                                                          │
//!          │  to ff:ff:ff:ff:ff:ff, ARP request                       │
//!          │  "who has 10.77.0.1? tell 10.77.0.2"                     │
//!          │  sender 02:00:00:77:00:02 / 10.77.0.2                    │
//!          │  target 00:00:00:00:00:00 / 10.77.0.1   (MAC unknown)    │
//!          │─────────────────────────────────────────────────────────>│ every host on the link
//!          │                                                          │ reads it; only 10.77.0.1
//!          │  to 02:00:00:77:00:02, ARP reply                         │ answers, and notes the
//!          │  "10.77.0.1 is at 02:00:00:77:00:01"                     │ asker's pair on the way
//!          │  sender 02:00:00:77:00:01 / 10.77.0.1                    │
//!          │  target 02:00:00:77:00:02 / 10.77.0.2                    │
//!          │<─────────────────────────────────────────────────────────│
//!          │                                                          │
//!   both now know each other: the IP packet that waited can go, framed to 02:00:00:77:00:01
//! ```
//!
//! Each host keeps the answers in a cache for a while (the neighbour table, `ip neigh` on
//! Linux), so it asks once, not for every packet. A request whose sender and target address are
//! the same is a *gratuitous* ARP: a host announcing its own address, or checking that nobody
//! else uses it ([RFC 5227]).
//!
//! The packet format is in [`header`]. An ARP packet travels directly in an Ethernet frame
//! (EtherType 0x0806, [`EtherType::Arp`](super::ethernet::EtherType::Arp)); it is not an IP
//! packet and never leaves the link.
//!
//! [RFC 826]: https://www.rfc-editor.org/rfc/rfc826
//! [RFC 5227]: https://www.rfc-editor.org/rfc/rfc5227

pub mod header;

pub use header::Operation;
