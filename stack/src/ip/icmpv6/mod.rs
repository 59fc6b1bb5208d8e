//! ICMPv6 ([RFC 4443]): IPv6's control messages, and neighbour discovery ([RFC 4861]).
//!
//! ICMPv6 does what ICMPv4 does for IPv4 — echo (ping) and the errors a node reports
//! (destination unreachable, time exceeded, parameter problem) — with two changes and one
//! addition:
//!
//! - **Packet Too Big** is a message of its own (type 2), since IPv6 routers never fragment:
//!   it carries the next link's MTU for path MTU discovery ([RFC 8201]).
//! - **The checksum covers a pseudo-header** of IPv6 addresses ([RFC 8200 section 8.1]), as UDP
//!   and TCP do; ICMPv4's covered the message only. So parsing and emitting take the source and
//!   destination addresses.
//! - **Neighbour discovery** (NDP) replaces ARP: a host finds the link-layer address of a
//!   neighbour by sending it a Neighbor Solicitation (to a multicast group derived from the
//!   address it asks about) and gets a Neighbor Advertisement back. They are ICMPv6 messages,
//!   not a protocol of their own beside IP as ARP is, with options such as the link-layer
//!   address of the sender or of the target.
//!
//! [`header`] reads and writes these messages; `layer.rs` answers and sends them.
//!
//! [RFC 4443]: https://www.rfc-editor.org/rfc/rfc4443
//! [RFC 4861]: https://www.rfc-editor.org/rfc/rfc4861
//! [RFC 8200 section 8.1]: https://www.rfc-editor.org/rfc/rfc8200#section-8.1
//! [RFC 8201]: https://www.rfc-editor.org/rfc/rfc8201

mod codes;
mod eligible;
pub mod header;
pub(crate) mod layer;
mod ndp_option;

pub use header::{
    quote, DstUnreachable, Packet, ParamProblem, Repr, TimeExceeded, HEADER_LEN, MAX_INVOKING_LEN,
    MIN_MTU, NDP_LEN,
};
