//! [`Peer`]: a TCP stack on one end of a link, ours or smoltcp, behind one interface.
//!
//! The suites and benchmarks that run one scenario over every pairing (ours→ours,
//! ours→smoltcp, smoltcp→ours, smoltcp→smoltcp) write it once against [`Peer`] and [`Conn`]:
//! [`Peer::listen`] and [`Peer::connect`] give boxed connections that read and write like
//! `tokio::net::TcpStream`, whichever stack is underneath.
//!
//! ```
//! use tunstack::device::{memory, MemoryConfig};
//! use tunstack::Config;
//! use tunstack_tests::peer::Peer;
//! use tunstack_tests::smol::SmolConfig;
//! use tunstack_tests::Pattern;
//! use tokio::io::AsyncWriteExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let (a, b) = memory::pair(MemoryConfig::default());
//! let client = Peer::ours(a, Config::new("10.0.0.1/24".parse().unwrap()));
//! let server = Peer::smol(b, SmolConfig::new("10.0.0.2/24".parse().unwrap()));
//! let accept = server.listen(80).await?;
//! let (mut tx, mut rx) = tokio::try_join!(client.connect("10.0.0.2:80".parse().unwrap()), accept)?;
//! let pattern = Pattern::new(1);
//! let send = async {
//!     pattern.write_to(&mut tx, 100_000).await?;
//!     tx.shutdown().await
//! };
//! let (_, received) = tokio::try_join!(send, pattern.read_and_check(&mut rx))?;
//! assert_eq!(received, 100_000);
//! assert_eq!(client.our_connections().len(), 1);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tunstack::device::Device;
use tunstack::tcp::ConnInfo;
use tunstack::{Config, Stack, TcpListener, TcpStream};

use crate::smol::{SmolConfig, SmolStack, SmolStream};

/// Which stack runs an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Our [`Stack`].
    Ours,
    /// smoltcp, as a [`SmolStack`].
    Smol,
}

impl Kind {
    /// `"ours"` or `"smoltcp"`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Smol => "smoltcp",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One end of a TCP connection, whichever stack runs it: a byte stream to read and write.
pub trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// A pending accept of one connection, from [`Peer::listen`].
pub type Accept = Pin<Box<dyn Future<Output = io::Result<Box<dyn Conn>>> + Send>>;

/// A TCP stack on one end of a link: ours or smoltcp.
#[derive(Debug, Clone)]
pub enum Peer {
    /// Our stack.
    Ours(Stack),
    /// smoltcp.
    Smol(SmolStack),
}

impl Peer {
    /// Starts our stack on `link`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn ours(link: impl Device, config: Config) -> Peer {
        Peer::Ours(Stack::new(link, config))
    }

    /// Starts smoltcp on `link`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn smol(link: impl Device, config: SmolConfig) -> Peer {
        Peer::Smol(SmolStack::new(link, config))
    }

    /// Which stack this is.
    pub fn kind(&self) -> Kind {
        match self {
            Peer::Ours(_) => Kind::Ours,
            Peer::Smol(_) => Kind::Smol,
        }
    }

    /// Listens on `port`; the returned future accepts one connection (smoltcp's listener
    /// takes only one).
    ///
    /// Errors: `AddrInUse` if something listens there already.
    pub async fn listen(&self, port: u16) -> io::Result<Accept> {
        Ok(match self {
            Peer::Ours(stack) => {
                let listener = TcpListener::bind(stack, (Ipv4Addr::UNSPECIFIED, port)).await?;
                Box::pin(async move {
                    let (stream, _) = listener.accept().await?;
                    Ok(Box::new(stream) as Box<dyn Conn>)
                })
            }
            Peer::Smol(stack) => {
                let listener = stack.listen(port)?;
                Box::pin(async move { Ok(Box::new(listener.accept().await?) as Box<dyn Conn>) })
            }
        })
    }

    /// Opens a connection to `addr`.
    ///
    /// Errors: as the stack's own connect (`ConnectionRefused`, `TimedOut`, ...).
    ///
    /// Cancel safety: dropping the future abandons the attempt.
    pub async fn connect(&self, addr: SocketAddrV4) -> io::Result<Box<dyn Conn>> {
        Ok(match self {
            Peer::Ours(stack) => Box::new(TcpStream::connect(stack, addr).await?),
            Peer::Smol(stack) => Box::new(SmolStream::connect(stack, addr).await?),
        })
    }

    /// Snapshots of our stack's TCP connections (state, RTT, window, counters); none for
    /// smoltcp, which does not count these.
    pub fn our_connections(&self) -> Vec<ConnInfo> {
        match self {
            Peer::Ours(stack) => stack.tcp_connections(),
            Peer::Smol(_) => Vec::new(),
        }
    }
}
