//! The transport layer's reliable byte stream: TCP ([RFC 9293]).
//!
//! [RFC 9293]: https://www.rfc-editor.org/rfc/rfc9293

pub mod flags;
pub mod header;
pub mod options;
pub mod seq;

pub use flags::Flags;
pub use options::{SackBlock, SackBlocks, TcpOption, Timestamps};
pub use seq::SeqNumber;
