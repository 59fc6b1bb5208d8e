//! # tunstack: a TCP/IP stack written to be read
//!
//! tunstack is a userspace TCP/IP stack (IPv4 and IPv6 side by side, ICMP and ICMPv6, UDP,
//! TCP) that runs on a Linux TUN or TAP device, so the Linux kernel and its tools (`ping`,
//! `nc`, `curl`, a browser) can talk to servers built on it, and on an in-memory wire, so two
//! stacks can talk inside one process. Its sockets are shaped like `tokio::net`, and take
//! addresses of either version (`"10.77.0.2:7"`, `"[fd77::2]:7"`).
//!
//! ## The map
//!
//! Each layer of the TCP/IP model is a folder; a packet's way through the stack is a way through
//! the folders:
//!
//! ```text
//!  application      your code: tokio-style sockets         socket/  (UdpSocket, ...)
//!  ─────────────────────────────────────────────────────────────────────────────────────
//!  transport        ports, datagrams, streams              udp/   tcp/
//!  ─────────────────────────────────────────────────────────────────────────────────────
//!  internet         addresses, TTL, ICMP; IPv6, ICMPv6,    ip/    ip/icmp/
//!                   fragments, path MTU                    ip/ipv6/ ip/icmpv6/
//!  ─────────────────────────────────────────────────────────────────────────────────────
//!  link             frames, MAC addresses, ARP             link/  (Ethernet, ARP)
//!                   devices: bytes in and out              device/ (TUN, TAP, memory wire,
//!                                                                  capture, impairments)
//! ```
//!
//! Going down, each layer puts its header in front of what the layer above gave it
//! (encapsulation); going up, each layer checks and strips its own header and hands the rest up
//! (demultiplexing by protocol number, then by port):
//!
//! ```text
//!  ┌──────────────┬─────────────┬──────────────────────┐
//!  │ IPv4 header  │ UDP header  │ data                 │   one packet on the link
//!  │ 20 bytes     │ 8 bytes     │                      │
//!  └──────────────┴─────────────┴──────────────────────┘
//!    ip/header.rs   udp/header.rs  your bytes
//! ```
//!
//! ## Reading order
//!
//! 1. [`ip::checksum`] and [`ip::header`]: what an IPv4 packet looks like, byte by byte.
//! 2. [`ip`] input and output: checking a packet, unwrapping it, and wrapping one; then
//!    [`ip::fragment`] and [`ip::pmtu`]: packets larger than a link, and paths narrower than
//!    ours.
//! 3. [`ip::icmp`]: echo (ping) and the errors that say "nobody here".
//! 4. [`ip::ipv6`] and [`ip::icmpv6`]: the same for IPv6, 128-bit addresses and extension
//!    headers; [`ip::addr6`] for link-local addresses. UDP and TCP are written once over both.
//! 5. [`udp`]: ports and datagrams.
//! 6. [`tcp`]: the byte stream: [`tcp::header`] and [`tcp::seq`], the [`tcp::state`] diagram,
//!    then the connection's control block, its input ("segment arrives", RFC 9293's numbered
//!    steps), its output and its timers; [`tcp::rto`] for the retransmission timeout.
//! 7. [`host`]: the core that ties the layers together, with time passed in as an argument.
//! 8. [`Stack`]: the one async task that moves packets between the link and the core.
//! 9. [`socket`]: the sockets an application uses ([`UdpSocket`], [`TcpListener`],
//!    [`TcpStream`]), shaped like tokio's.
//! 10. [`link`]: Ethernet frames and ARP, for devices that carry frames.
//! 11. [`device`]: TUN and TAP, the in-memory wire, the capture that Wireshark reads, and
//!     [`device::impair`], which makes the network lose, delay and throttle packets on purpose.
//!
//! Set `RUST_LOG=tunstack=debug` to watch each layer wrap and unwrap every packet.
#![warn(missing_docs)]

pub mod device;
mod driver;
pub mod host;
pub mod ip;
pub mod link;
pub mod ports;
mod queue;
pub mod socket;
pub mod stats;
pub mod tcp;
pub mod time;
pub mod udp;
pub mod wire;

pub use driver::Stack;
pub use host::{Config, Host};
pub use ip::{Ipv4Cidr, Ipv6Cidr};
pub use socket::tcp_listener::TcpListener;
pub use socket::tcp_stream::TcpStream;
pub use socket::udp::UdpSocket;
pub use socket::ToSocketAddr;
pub use stats::Stats;
