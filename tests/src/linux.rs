//! The kernel's side of a test: Linux sockets and `ping`, inside a namespace.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use tunstack::link::netns::NetNs;

use crate::output_within;

/// How long a Linux socket from [`linux_udp`] waits in a read or write.
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

/// Runs Linux's `ping -c COUNT EXTRA... DST` inside `ns` and returns what it printed.
///
/// Quick and bounded: 0.2 s between requests, at most 1 s for each reply, 5 s for the whole run
/// (and the process is killed after 10).
///
/// # Panics
///
/// Unless every request got its reply ("COUNT packets transmitted, COUNT received"): it is an
/// assertion, with ping's output in the message.
pub fn linux_ping(ns: &NetNs, dst: Ipv4Addr, count: u32, extra: &[&str]) -> String {
    let count_arg = count.to_string();
    let dst = dst.to_string();
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
