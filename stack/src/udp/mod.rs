//! UDP ([RFC 768]): datagrams, delivered by port.
//!
//! UDP adds ports and a checksum to IP and nothing else: no connection, no ordering, no
//! retransmission. A datagram goes to the socket bound to its destination port, or, when there
//! is none, is answered with an ICMP port unreachable. Each socket's receive queue is bounded;
//! when it is full, new datagrams are dropped and counted, as Linux does when a socket's
//! receive buffer is full.
//!
//! [RFC 768]: https://www.rfc-editor.org/rfc/rfc768

pub mod header;
pub(crate) mod input;
pub(crate) mod output;
pub(crate) mod socket;

pub(crate) use socket::UdpLayer;
