//! The pieces of the HTTP demo `http-server`.
//!
//! HTTP is the application layer of the course's "request's full journey": what a browser sends
//! once DNS, TCP and (for HTTPS) TLS have done their part. These modules hold what the demo's
//! `main` function would otherwise hide in its middle: [`tap`], which notes what the connection
//! looks like when a request's bytes arrive; [`journey`], the page that tells a visitor what
//! their request went through; [`stats_page`], the stack's counters as HTML and JSON ([`json`]
//! writes the latter); [`pattern`], the bytes of `/bytes/N`, made as they are sent; [`html`],
//! escaping and a page's frame.

pub mod html;
pub mod journey;
pub mod json;
pub mod pattern;
pub mod stats_page;
pub mod tap;
