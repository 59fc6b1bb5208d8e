//! ICMP ([RFC 792]): echo requests and replies, and the error messages of the internet layer.
//!
//! [RFC 792]: https://www.rfc-editor.org/rfc/rfc792

pub mod header;

pub use header::{DstUnreachable, TimeExceeded};
