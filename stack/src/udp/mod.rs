//! The transport layer's datagram service: UDP ([RFC 768]).
//!
//! [RFC 768]: https://www.rfc-editor.org/rfc/rfc768

pub mod header;
