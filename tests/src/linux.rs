//! The kernel's side of a test: Linux sockets and `ping`, inside a namespace.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use tunstack::device::netns::NetNs;

use crate::output_within;

/// How long a Linux socket from [`linux_udp`] or [`linux_tcp_connect`] waits in a read or write
/// (and the latter in its handshake).
const SOCKET_TIMEOUT: Duration = Duration::from_secs(3);

/// A Linux UDP socket bound to `addr` inside `ns`, e.g. `(KERNEL, 0)` or `([0, 0, 0, 0], 9001)`,
/// with 3-second read and write timeouts so that a lost datagram fails a test instead of hanging
/// it. The socket stays in the namespace whichever thread uses it.
pub fn linux_udp(ns: &NetNs, addr: impl Into<SocketAddr>) -> io::Result<UdpSocket> {
    let addr = addr.into();
    let socket = ns.run(|| UdpSocket::bind(addr))??;
    socket.set_read_timeout(Some(SOCKET_TIMEOUT))?;
    socket.set_write_timeout(Some(SOCKET_TIMEOUT))?;
    Ok(socket)
}

/// `socket.recv_from(buf)`, again when a signal interrupted it. A socket with a read timeout
/// (all of [`linux_udp`]'s) is not restarted after a signal whatever the handler asks
/// (`signal(7)`), and a test process may be stopped and resumed by the machine it runs on,
/// which interrupts it too: that is not the datagram missing.
pub fn recv_from(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    again(|| socket.recv_from(buf))
}

/// `socket.recv(buf)` on a connected socket, again when a signal interrupted it (see
/// [`recv_from`]).
pub fn recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
    again(|| socket.recv(buf))
}

/// `reader.read(buf)` on a blocking reader (a Linux TCP socket, a pipe), again when a signal
/// interrupted it (see [`recv_from`]). `read_exact` and `read_to_end` do this themselves.
pub fn read(reader: &mut impl std::io::Read, buf: &mut [u8]) -> io::Result<usize> {
    again(|| reader.read(buf))
}

/// `call`, made again for as long as a signal interrupts it.
fn again<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// A Linux TCP connection to `addr`, opened from inside `ns` (the handshake waits at most 3
/// seconds), with 3-second read and write timeouts, so that a stalled transfer fails a test
/// instead of hanging it. Errors as `connect(2)`'s: `ConnectionRefused` when a reset answers.
pub fn linux_tcp_connect(ns: &NetNs, addr: impl Into<SocketAddr>) -> io::Result<TcpStream> {
    let addr = addr.into();
    let stream = ns.run(|| TcpStream::connect_timeout(&addr, SOCKET_TIMEOUT))??;
    stream.set_read_timeout(Some(SOCKET_TIMEOUT))?;
    stream.set_write_timeout(Some(SOCKET_TIMEOUT))?;
    Ok(stream)
}

/// A Linux TCP listener on `addr` inside `ns`, e.g. `(KERNEL, 0)` or `([0, 0, 0, 0], 9000)`
/// (`0.0.0.0` works before the TUN device and its address exist). `accept` blocks for as long
/// as no client comes: accept on a thread the test does not wait on forever, or set the
/// listener non-blocking.
pub fn linux_tcp_listener(ns: &NetNs, addr: impl Into<SocketAddr>) -> io::Result<TcpListener> {
    let addr = addr.into();
    ns.run(|| TcpListener::bind(addr))?
}

/// Waits up to `limit` for a connection on `listener` (made by [`linux_tcp_listener`]) and
/// returns it, with 3-second read and write timeouts; `TimedOut` when no client came. Leaves
/// the listener non-blocking.
pub fn accept_within(
    listener: &TcpListener,
    limit: Duration,
) -> io::Result<(TcpStream, SocketAddr)> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                stream.set_nonblocking(false)?;
                stream.set_read_timeout(Some(SOCKET_TIMEOUT))?;
                stream.set_write_timeout(Some(SOCKET_TIMEOUT))?;
                return Ok((stream, peer));
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no connection within {limit:?}"),
                    ));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(err) => return Err(err),
        }
    }
}

/// Runs Linux's `ping -c COUNT EXTRA... DST` inside `ns` and returns what it printed. An IPv6
/// `dst` is pinged with ICMPv6 (`ping` picks the version from the address, as `ping -6` does).
///
/// Quick and bounded: 0.2 s between requests, at most 1 s for each reply, 5 s for the whole run
/// (and the process is killed after 10).
///
/// # Panics
///
/// Unless every request got its reply ("COUNT packets transmitted, COUNT received"): it is an
/// assertion, with ping's output in the message.
pub fn linux_ping(ns: &NetNs, dst: impl Into<IpAddr>, count: u32, extra: &[&str]) -> String {
    let count_arg = count.to_string();
    let dst = dst.into().to_string();
    let mut args = vec!["-c", &count_arg, "-i", "0.2", "-W", "1", "-w", "5", "-n"];
    args.extend_from_slice(extra);
    args.push(&dst);
    let output = match output_within(&mut ns.exec("ping", &args), Duration::from_secs(10)) {
        Ok(output) => output,
        Err(err) => panic!("ping {args:?}: {err}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary = format!("{count} packets transmitted, {count} received");
    assert!(
        output.status.success() && stdout.contains(&summary),
        "ping {args:?} ({}):\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Sets an integer socket option (`setsockopt(level, name, value)`) on a Linux socket.
pub fn set_socket_option(
    socket: &impl std::os::fd::AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call, and the value is a c_int of the size given.
    let status = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
