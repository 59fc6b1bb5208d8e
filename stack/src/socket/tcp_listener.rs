//! [`TcpListener`]: a listening socket, shaped like `tokio::net::TcpListener`.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::tcp_stream::TcpStream;
use super::ToSocketAddr;
use crate::Stack;

/// A socket in LISTEN on a [`Stack`]: it accepts connections, each one a new [`TcpStream`].
///
/// ```no_run
/// # async fn demo(stack: tunstack::Stack) -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tunstack::TcpListener;
///
/// // The course's echo server, on our stack.
/// let listener = TcpListener::bind(&stack, "0.0.0.0:9000").await?;
/// loop {
///     let (mut conn, client) = listener.accept().await?;
///     println!("Connection from {client}");
///     tokio::spawn(async move {
///         let mut buf = [0u8; 1024];
///         let n = conn.read(&mut buf).await?;
///         conn.write_all(&buf[..n]).await
///     });
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct TcpListener {
    stack: Stack,
    port: u16,
    /// The address as bound, with the port chosen.
    local: SocketAddr,
    /// Bound with an IPv6 address: IPv4 clients show as `::ffff:a.b.c.d`, as on Linux.
    v6_family: bool,
}

impl TcpListener {
    /// Listens on `addr` (one of the stack's addresses, `0.0.0.0` for IPv4 clients, or `[::]`
    /// for IPv6 and IPv4 clients; port 0 picks a free ephemeral port) with the default backlog
    /// (128).
    ///
    /// Errors: `AddrInUse` when another listener has the port, `AddrNotAvailable` for an
    /// address that is not the stack's.
    pub async fn bind(stack: &Stack, addr: impl ToSocketAddr) -> io::Result<TcpListener> {
        Self::bind_with_backlog(stack, addr, None).await
    }

    /// Listens with a backlog: how many connections may be in their handshake or waiting for
    /// `accept` at once; SYNs beyond it are dropped (the client will send them again).
    pub async fn bind_with_backlog(
        stack: &Stack,
        addr: impl ToSocketAddr,
        backlog: impl Into<Option<usize>>,
    ) -> io::Result<TcpListener> {
        Self::bind_inner(stack, addr.to_socket_addr()?, false, backlog.into())
    }

    /// Listens on `[::]` (or another IPv6 address) for IPv6 clients only (`IPV6_V6ONLY`):
    /// IPv4 clients are refused, and another listener may take the port's IPv4 side... once
    /// ports are shared between families; today a port has one listener.
    pub async fn bind_v6_only(stack: &Stack, addr: impl ToSocketAddr) -> io::Result<TcpListener> {
        Self::bind_inner(stack, addr.to_socket_addr()?, true, None)
    }

    fn bind_inner(
        stack: &Stack,
        addr: SocketAddr,
        v6_only: bool,
        backlog: Option<usize>,
    ) -> io::Result<TcpListener> {
        let port = stack
            .shared()
            .lock_running()?
            .tcp_listen_with(addr, v6_only, backlog)?;
        Ok(TcpListener {
            stack: stack.clone(),
            port,
            local: SocketAddr::new(addr.ip(), port),
            v6_family: addr.is_ipv6(),
        })
    }

    /// Waits for the next connection whose handshake is complete; returns it and the
    /// client's address.
    ///
    /// Errors: the stack's error once it has stopped ([`Stack::stopped`]).
    ///
    /// Cancel safety: cancel safe; a connection is never lost by dropping the future.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection, as `tokio::net::TcpListener::poll_accept`.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let accepted = self
            .stack
            .shared()
            .lock_running()?
            .tcp_poll_accept(cx, self.port);
        accepted.map_ok(|(id, remote)| {
            (
                TcpStream::from_accepted(self.stack.clone(), id, self.v6_family),
                remote,
            )
        })
    }

    /// The address this listener is bound to, as bound (`0.0.0.0:80`, `[::]:80`), with the
    /// port chosen for port 0.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl Drop for TcpListener {
    /// Stops listening; connections not yet accepted are reset.
    fn drop(&mut self) {
        let shared = self.stack.shared();
        shared.lock().tcp_unlisten(self.port);
        shared.kick();
    }
}
