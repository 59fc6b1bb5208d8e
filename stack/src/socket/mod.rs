//! Sockets shaped like `tokio::net`: the application's side of the stack.
//!
//! A socket is a handle into the core (a port-table entry, a connection) plus the [`Stack`]
//! that owns it. Its async methods lock the core, do what they can, and otherwise leave a waker
//! for the core to call when a datagram arrives or room frees up.
//!
//! [`Stack`]: crate::Stack

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

pub mod tcp_listener;
pub mod tcp_stream;
pub mod udp;
mod udp_ready;

/// Anything that names one socket address, IPv4 or IPv6: `"10.77.0.2:7"`, `"[fd77::2]:7"`,
/// a `SocketAddr`, `SocketAddrV4` or `SocketAddrV6`, or an `(address, port)` pair: what
/// tokio's `ToSocketAddrs` takes for literal addresses.
///
/// Unlike `std::net::ToSocketAddrs` this never resolves a host name: the stack does not ask the
/// host's resolver behind the user's back, so a name is an error rather than a surprise lookup.
pub trait ToSocketAddr {
    /// The address, or an `InvalidInput` error saying why there is none.
    fn to_socket_addr(&self) -> io::Result<SocketAddr>;
}

/// An `IP_TTL` value as a header's byte: 1 to 255, as Linux takes it; 0 or more than 255 is
/// `InvalidInput`.
fn ttl_byte(ttl: u32) -> io::Result<u8> {
    match u8::try_from(ttl) {
        Ok(byte) if byte > 0 => Ok(byte),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TTL {ttl} is out of range: a TTL or hop limit is 1 to 255"),
        )),
    }
}

impl ToSocketAddr for SocketAddr {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(*self)
    }
}

impl ToSocketAddr for SocketAddrV4 {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(*self))
    }
}

impl ToSocketAddr for SocketAddrV6 {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V6(*self))
    }
}

impl ToSocketAddr for (IpAddr, u16) {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::new(self.0, self.1))
    }
}

impl ToSocketAddr for (Ipv4Addr, u16) {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(*self))
    }
}

impl ToSocketAddr for (Ipv6Addr, u16) {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(*self))
    }
}

impl ToSocketAddr for ([u8; 4], u16) {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(*self))
    }
}

impl ToSocketAddr for str {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        self.parse::<SocketAddr>().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`{self}` is not an address:port like 10.77.0.2:7 or [fd77::2]:7 (names are \
                     not resolved)"
                ),
            )
        })
    }
}

impl ToSocketAddr for String {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        self.as_str().to_socket_addr()
    }
}

impl<T: ToSocketAddr + ?Sized> ToSocketAddr for &T {
    fn to_socket_addr(&self) -> io::Result<SocketAddr> {
        (**self).to_socket_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_forms_and_explains_the_rest() {
        let want = SocketAddr::from(([10, 77, 0, 2], 7));
        assert_eq!("10.77.0.2:7".to_socket_addr().unwrap(), want);
        assert_eq!(String::from("10.77.0.2:7").to_socket_addr().unwrap(), want);
        assert_eq!(([10, 77, 0, 2], 7).to_socket_addr().unwrap(), want);
        assert_eq!(
            (Ipv4Addr::new(10, 77, 0, 2), 7).to_socket_addr().unwrap(),
            want
        );
        let v6: SocketAddr = "[fd77::2]:7".parse().unwrap();
        assert_eq!("[fd77::2]:7".to_socket_addr().unwrap(), v6);
        assert_eq!(
            (Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2), 7)
                .to_socket_addr()
                .unwrap(),
            v6
        );
        let err = "example.com:80".to_socket_addr().unwrap_err();
        assert!(err.to_string().contains("names are not resolved"));
        assert!(
            "fd77::2:7".to_socket_addr().is_err(),
            "an IPv6 address needs its brackets"
        );
    }
}
