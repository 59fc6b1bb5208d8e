//! [`TcpListener`]: a listening socket, shaped like `tokio::net::TcpListener`.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::task::{Context, Poll};

use super::tcp_stream::TcpStream;
use super::ToSocketAddrV4;
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
}

impl TcpListener {
    /// Listens on `addr` (the stack's address or `0.0.0.0`; port 0 picks a free ephemeral
    /// port) with the default backlog (128).
    ///
    /// Errors: `AddrInUse` when another listener has the port.
    pub async fn bind(stack: &Stack, addr: impl ToSocketAddrV4) -> io::Result<TcpListener> {
        Self::bind_with_backlog(stack, addr, None).await
    }

    /// Listens with a backlog: how many connections may be in their handshake or waiting for
    /// `accept` at once; SYNs beyond it are dropped (the client will send them again).
    pub async fn bind_with_backlog(
        stack: &Stack,
        addr: impl ToSocketAddrV4,
        backlog: impl Into<Option<usize>>,
    ) -> io::Result<TcpListener> {
        let addr = addr.to_socket_addr_v4()?;
        let port = stack
            .shared()
            .lock_running()?
            .tcp_listen(addr, backlog.into())?;
        Ok(TcpListener {
            stack: stack.clone(),
            port,
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
                TcpStream::from_accepted(self.stack.clone(), id),
                remote.into(),
            )
        })
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddrV4::new(self.stack.addr(), self.port).into())
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
