//! The pieces of the two HTTP demos, `http-server` and `http-get`.
//!
//! HTTP is the application layer of the course's "request's full journey": what a browser sends
//! once DNS, TCP and (for HTTPS) TLS have done their part. These modules hold what the demos'
//! `main` functions would otherwise hide in their middle:
//!
//! - for the server (hyper on our `TcpStream`): [`tap`], which notes what the connection looks
//!   like when a request's bytes arrive; [`journey`], the page that tells a visitor what their
//!   request went through, with [`link`] for its outermost box (the Ethernet header, on a TAP
//!   device) and [`ip`] for the IPv4 or IPv6 header inside it; [`stats_page`], the stack's counters as HTML and JSON ([`json`]
//!   writes the latter); [`pattern`], the bytes of `/bytes/N`, made as they are sent; [`html`],
//!   escaping and a page's frame.
//! - for the client (HTTP/1.1 written by hand): [`url`], which reads `http://10.77.0.1:8000/x`,
//!   `http://[fd77::1]:8000/x` and `https://10.77.0.1:8443/x`; [`response`], which reads a
//!   response's head and finds where its body ends; [`timeline`], the journey's steps with
//!   their times and round trips.
//!
//! The TLS both use for https is in [`crate::tls`]; the page's TLS box is [`journey::secure`].

pub mod html;
pub mod ip;
pub mod journey;
pub mod json;
pub mod link;
pub mod pattern;
pub mod response;
pub mod stats_page;
pub mod tap;
pub mod timeline;
pub mod url;
