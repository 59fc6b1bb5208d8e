//! Sockets shaped like `tokio::net`: the application's side of the stack.
//!
//! A socket is a handle into the core (a port-table entry, a connection) plus the [`Stack`]
//! that owns it. Its async methods lock the core, do what they can, and otherwise leave a waker
//! for the core to call when a datagram arrives or room frees up.
//!
//! [`Stack`]: crate::Stack

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

pub mod tcp_listener;
pub mod tcp_stream;
pub mod udp;
mod udp_ready;

/// Anything that names one IPv4 socket address: `"10.77.0.2:7"`, a `SocketAddr`, a
/// `SocketAddrV4`, or an `(address, port)` pair.
///
/// Unlike `std::net::ToSocketAddrs` this never resolves a host name: a stack with no DNS has
/// nobody to ask, so a name is an error rather than a surprise lookup through the host's resolver.
pub trait ToSocketAddrV4 {
    /// The address, or an `InvalidInput` error saying why there is none.
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4>;
}

fn ipv4_only(addr: IpAddr) -> io::Result<Ipv4Addr> {
    match addr {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(v6) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{v6} is an IPv6 address; tunstack speaks IPv4 only"),
        )),
    }
}

/// An `IP_TTL` value as a header's byte: 1 to 255, as Linux takes it; 0 or more than 255 is
/// `InvalidInput`.
fn ttl_byte(ttl: u32) -> io::Result<u8> {
    match u8::try_from(ttl) {
        Ok(byte) if byte > 0 => Ok(byte),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TTL {ttl} is out of range: an IPv4 TTL is 1 to 255"),
        )),
    }
}

impl ToSocketAddrV4 for SocketAddrV4 {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        Ok(*self)
    }
}

impl ToSocketAddrV4 for SocketAddr {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        Ok(SocketAddrV4::new(ipv4_only(self.ip())?, self.port()))
    }
}

impl ToSocketAddrV4 for (Ipv4Addr, u16) {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        Ok(SocketAddrV4::new(self.0, self.1))
    }
}

impl ToSocketAddrV4 for (IpAddr, u16) {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        Ok(SocketAddrV4::new(ipv4_only(self.0)?, self.1))
    }
}

impl ToSocketAddrV4 for ([u8; 4], u16) {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        Ok(SocketAddrV4::new(Ipv4Addr::from(self.0), self.1))
    }
}

impl ToSocketAddrV4 for str {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        self.parse::<SocketAddr>()
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "`{self}` is not an address:port like 10.77.0.2:7 (names are not resolved)"
                    ),
                )
            })?
            .to_socket_addr_v4()
    }
}

impl ToSocketAddrV4 for String {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        self.as_str().to_socket_addr_v4()
    }
}

impl<T: ToSocketAddrV4 + ?Sized> ToSocketAddrV4 for &T {
    fn to_socket_addr_v4(&self) -> io::Result<SocketAddrV4> {
        (**self).to_socket_addr_v4()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_forms_and_explains_the_rest() {
        let want = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 7);
        assert_eq!("10.77.0.2:7".to_socket_addr_v4().unwrap(), want);
        assert_eq!(
            String::from("10.77.0.2:7").to_socket_addr_v4().unwrap(),
            want
        );
        assert_eq!(([10, 77, 0, 2], 7).to_socket_addr_v4().unwrap(), want);
        assert_eq!(SocketAddr::V4(want).to_socket_addr_v4().unwrap(), want);
        let err = "example.com:80".to_socket_addr_v4().unwrap_err();
        assert!(err.to_string().contains("names are not resolved"));
        let err = "[::1]:80".to_socket_addr_v4().unwrap_err();
        assert!(err.to_string().contains("IPv4 only"));
    }
}
