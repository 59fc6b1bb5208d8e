//! tunstack: an async userspace TCP/IP stack, written to be read.
#![warn(missing_docs)]

pub mod ip;
pub mod link;
pub mod tcp;
pub mod time;
pub mod udp;
pub mod wire;
