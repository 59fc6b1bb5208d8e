//! A Linux TUN device as a link.
