//! The internet layer: IPv4 ([RFC 791]) and its control messages, ICMP ([RFC 792]).
//!
//! [RFC 791]: https://www.rfc-editor.org/rfc/rfc791
//! [RFC 792]: https://www.rfc-editor.org/rfc/rfc792

pub mod addr;
pub mod checksum;
pub mod header;
pub mod icmp;

pub use addr::Ipv4Cidr;
pub use header::IpProtocol;
