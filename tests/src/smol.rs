//! [`SmolStack`]: smoltcp as an independent TCP peer, in this process, on one end of one of our devices ([`OurDevice`]).
//!
//! Interop tests and benchmarks put our stack on one end of an in-memory wire
//! ([`tunstack::device::memory`]) and [smoltcp] 0.14 on the other. The wire carries bare IP or
//! Ethernet frames ([`MemoryConfig::medium`](tunstack::device::MemoryConfig::medium)), and
//! smoltcp's interface takes the device's medium: on Ethernet it has a MAC address
//! ([`SmolConfig::mac`]) and its own neighbour cache, and the two stacks find each other by ARP,
//! which [`SmolStack::arp_stats`] and [`SmolStack::neighbours`] show. smoltcp is a sans-IO stack like
//! our core: an [`Interface`] is driven by calling [`Interface::poll`] with the time and a
//! [`smoltcp::phy::Device`], and says when it next wants to be called ([`Interface::poll_at`]).
//! This module gives it what our [`Stack`](tunstack::Stack) has: one tokio task that owns it,
//! and socket handles shaped like tokio's.
//!
//! ```text
//!   test code: SmolListener::accept, SmolStream::connect, AsyncRead / AsyncWrite
//!        │  lock, recv_slice / send_slice / close, kick the task
//!        ▼
//!   ┌────────────────────── one tokio task (the "driver") ───────────────────────┐
//!   │  Interface::poll(now, device, sockets)      now = tokio's clock - start    │
//!   │  device: a smoltcp Device over ours, for one pass (receive = poll_recv,    │
//!   │          transmit = poll_send), so a packet is copied once each way        │
//!   │  sleep until: a packet arrives, a socket call kicks, or poll_at comes      │
//!   └────────────────────────────────────────────────────────────────────────────┘
//!        │
//!   MemoryDevice (or Capture<MemoryDevice>, or any of ours)  ◄──── wire ────►  our Stack
//! ```
//!
//! The clock is tokio's: under `#[tokio::test(start_paused = true)]` smoltcp's timers (delayed
//! ACK, retransmission, TIME-WAIT) run on virtual time, as ours do, and a run repeats exactly.
//!
//! smoltcp's socket model differs from BSD sockets in ways the API keeps visible:
//!
//! - a listening socket *becomes* the connection: [`SmolListener::accept`] takes the listener
//!   and returns the one connection it got (there is no backlog; a second SYN is reset);
//! - TIME-WAIT lasts a fixed 10 s; a socket a handle was dropped from finishes closing in the
//!   background and is removed once CLOSED;
//! - a socket has one waker for reading and one for writing. One task may read while another
//!   writes (e.g. after [`tokio::io::split`]), but [`SmolStream::closed`] waits with the
//!   reading waker, so do not call it while another task reads the same stream.
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tunstack::device::{memory, MemoryConfig};
//! use tunstack::{Config, TcpListener};
//! use tunstack_tests::smol::{SmolConfig, SmolStack, SmolStream};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let (a, b) = memory::pair(MemoryConfig::default());
//! let ours = tunstack::Stack::new(a, Config::new("10.0.0.1/24".parse().unwrap()));
//! let smol = SmolStack::new(b, SmolConfig::new("10.0.0.2/24".parse().unwrap()));
//!
//! let listener = TcpListener::bind(&ours, "0.0.0.0:7").await?;
//! let to: std::net::SocketAddr = "10.0.0.1:7".parse().unwrap();
//! let mut client = SmolStream::connect(&smol, to).await?;
//! let (mut server, _) = listener.accept().await?;
//! client.write_all(b"hello from smoltcp").await?;
//! client.shutdown().await?; // FIN
//! let mut got = Vec::new();
//! server.read_to_end(&mut got).await?;
//! assert_eq!(got, b"hello from smoltcp");
//! # Ok(())
//! # }
//! ```
//!
//! [smoltcp]: https://docs.rs/smoltcp/0.14

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tunstack::device::{Device as OurDevice, Medium as OurMedium};
use tunstack::link::ethernet::MacAddr;
use tunstack::{Ipv4Cidr, Ipv6Cidr};

mod ethernet;

use ethernet::FrameLog;
pub use ethernet::SmolArpStats;
pub use smoltcp::socket::tcp::{CongestionControl, State as SmolState};

/// How many packets one pass of the driver takes from the link before it sends, so that a
/// flood in one direction does not starve the other (our driver does the same).
const RX_BATCH: usize = 64;

/// The first ephemeral port (IANA's range, 49152..=65535).
const EPHEMERAL_FIRST: u16 = 49152;

/// How a [`SmolStack`] is set up.
#[derive(Debug, Clone)]
pub struct SmolConfig {
    /// smoltcp's address and the network it is on, e.g. `10.0.0.2/24`.
    pub addr: Ipv4Cidr,
    /// Each TCP socket's transmit buffer, in bytes.
    pub send_buffer: usize,
    /// Each TCP socket's receive buffer, in bytes: the largest window it offers (at most 1 GiB).
    pub recv_buffer: usize,
    /// Seed for smoltcp's random numbers (initial sequence numbers) and our choice of ephemeral
    /// ports: a fixed seed makes a run repeat exactly.
    pub seed: u64,
    /// Congestion control for new sockets. smoltcp's default is
    /// [`CongestionControl::None`]: it sends as much as the peer's window allows.
    pub congestion: CongestionControl,
    /// smoltcp's MAC address, on a device that carries Ethernet frames (unused on bare IP).
    pub mac: MacAddr,
    /// smoltcp's IPv6 address, when it speaks IPv6 too (its `proto-ipv6`).
    pub addr6: Option<Ipv6Cidr>,
}

impl SmolConfig {
    /// A configuration for `addr`: 256 KiB buffers each way (our `TcpConfig`'s default), seed
    /// 1, no congestion control (smoltcp's default), and the MAC address our stack would take
    /// for `addr` ([`tunstack::Config::mac_for`]: `02:00` and the address's four bytes).
    pub fn new(addr: Ipv4Cidr) -> SmolConfig {
        SmolConfig {
            addr,
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            seed: 1,
            congestion: CongestionControl::None,
            mac: tunstack::Config::mac_for(addr.address()),
            addr6: None,
        }
    }

    /// This configuration with an IPv6 address as well.
    pub fn with_ipv6(mut self, addr6: Ipv6Cidr) -> SmolConfig {
        self.addr6 = Some(addr6);
        self
    }
}

/// What the driver task and the handles share.
struct Shared {
    core: Mutex<Core>,
    /// tokio's clock at smoltcp's time zero.
    start: tokio::time::Instant,
    /// Set by handles when they changed a socket; cleared by the driver.
    kicked: AtomicBool,
    /// Set when the last [`SmolStack`] handle (and so every socket handle) is gone.
    closed: AtomicBool,
    driver: Mutex<Option<Waker>>,
    /// Packets the link refused with an error (never expected on a memory wire).
    link_errors: AtomicU64,
}

/// smoltcp's state, behind the lock.
struct Core {
    iface: Interface,
    sockets: SocketSet<'static>,
    config: SmolConfig,
    /// Sockets whose handle was dropped: removed once they reach CLOSED.
    orphans: Vec<SocketHandle>,
    next_port: u16,
    /// What the device carries.
    medium: OurMedium,
    /// ARP and the neighbours, as read from the frames that passed (Ethernet only).
    frames: FrameLog,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// smoltcp's time now: tokio's clock since the stack started.
    fn now(&self) -> smoltcp::time::Instant {
        let elapsed = tokio::time::Instant::now() - self.start;
        smoltcp::time::Instant::from_micros(i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
    }

    /// The tokio instant for smoltcp's `at`.
    fn to_tokio(&self, at: smoltcp::time::Instant) -> tokio::time::Instant {
        let micros = u64::try_from(at.total_micros()).unwrap_or(0);
        self.start + Duration::from_micros(micros)
    }

    /// Wakes the driver: a socket changed and smoltcp should be polled.
    fn kick(&self) {
        self.kicked.store(true, Ordering::Release);
        let waker = self
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Core {
    fn new_socket(&self) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0; self.config.recv_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0; self.config.send_buffer]);
        let mut socket = tcp::Socket::new(rx, tx);
        socket.set_congestion_control(self.config.congestion);
        socket
    }

    fn socket(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    /// A local port no socket uses, from a seeded walk through the ephemeral range.
    fn ephemeral_port(&mut self) -> io::Result<u16> {
        let span = u16::MAX - EPHEMERAL_FIRST + 1;
        for _ in 0..span {
            let port = self.next_port;
            self.next_port = EPHEMERAL_FIRST + (port - EPHEMERAL_FIRST + 1) % span;
            let taken = self.sockets.iter().any(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(s) => {
                    s.local_endpoint().map(|e| e.port) == Some(port)
                        || s.listen_endpoint().port == port
                }
                #[allow(unreachable_patterns)]
                _ => false,
            });
            if !taken {
                return Ok(port);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "every ephemeral port is in use",
        ))
    }

    /// Removes orphaned sockets that are CLOSED and owe the peer nothing (an aborted socket
    /// keeps its endpoint until its RST is sent).
    fn reap(&mut self) {
        let sockets = &mut self.sockets;
        self.orphans.retain(|&handle| {
            let socket = sockets.get::<tcp::Socket>(handle);
            let done = socket.state() == tcp::State::Closed && socket.remote_endpoint().is_none();
            if done {
                sockets.remove(handle);
            }
            !done
        });
    }
}

/// The handle that keeps a [`SmolStack`] running; the driver stops when the last one is
/// dropped and every socket is closed.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.kick();
    }
}

/// A smoltcp [`Interface`] (one IPv4 address; medium IP or Ethernet, as the device's) on one of our devices ([`OurDevice`]), driven by a tokio task.
///
/// Cheap to clone; every clone and every socket keeps it running. Make sockets with
/// [`SmolStack::listen`] and [`SmolStream::connect`].
#[derive(Clone)]
pub struct SmolStack {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for SmolStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolStack")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

impl SmolStack {
    /// Starts smoltcp on `link`: spawns its driver task on the current tokio runtime. The
    /// interface's medium and IP MTU are the link's; on Ethernet its MAC address is
    /// `config.mac`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like `tokio::spawn`.
    pub fn new<L: OurDevice>(mut link: L, config: SmolConfig) -> SmolStack {
        let start = tokio::time::Instant::now();
        let medium = link.medium();
        // A frame is the IP packet and the medium's header.
        let frame_len = link.mtu() + medium.header_len();
        let hardware = match medium {
            OurMedium::Ip => HardwareAddress::Ip,
            OurMedium::Ethernet => HardwareAddress::Ethernet(EthernetAddress(config.mac.octets())),
        };
        let mut iface_config = IfaceConfig::new(hardware);
        iface_config.random_seed = config.seed;
        // The interface only asks the device for its capabilities here.
        let mut cx = Context::from_waker(Waker::noop());
        let (mut tx, mut backlog, mut frames) = (Vec::new(), VecDeque::new(), FrameLog::default());
        let mut device = LinkDevice::new(
            &mut link,
            &mut cx,
            &mut [],
            &mut tx,
            &mut backlog,
            &mut frames,
        );
        let mut iface = Interface::new(
            iface_config,
            &mut device,
            smoltcp::time::Instant::from_micros(0),
        );
        let (addr, addr6) = (config.addr, config.addr6);
        iface.update_ip_addrs(|addrs| {
            // Two addresses fit smoltcp's default address list.
            let _ = addrs.push(IpCidr::new(
                IpAddress::Ipv4(addr.address()),
                addr.prefix_len(),
            ));
            if let Some(addr6) = addr6 {
                let _ = addrs.push(IpCidr::new(
                    IpAddress::Ipv6(addr6.address()),
                    addr6.prefix_len(),
                ));
            }
        });
        let span = u64::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        let offset = u16::try_from(config.seed % span).unwrap_or(0);
        let shared = Arc::new(Shared {
            core: Mutex::new(Core {
                iface,
                sockets: SocketSet::new(Vec::new()),
                config,
                orphans: Vec::new(),
                next_port: EPHEMERAL_FIRST + offset,
                medium,
                frames,
            }),
            start,
            kicked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            driver: Mutex::new(None),
            link_errors: AtomicU64::new(0),
        });
        tokio::spawn(Driver {
            shared: shared.clone(),
            link,
            rx: vec![0; frame_len],
            tx: vec![0; frame_len],
            backlog: VecDeque::new(),
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
        });
        SmolStack {
            handle: Arc::new(Handle { shared }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// smoltcp's IPv4 address.
    pub fn addr(&self) -> Ipv4Addr {
        self.shared().lock().config.addr.address()
    }

    /// smoltcp's IPv6 address, when it has one.
    pub fn addr6(&self) -> Option<Ipv6Addr> {
        self.shared().lock().config.addr6.map(|a| a.address())
    }

    /// The state of every TCP socket smoltcp still has, including those whose handles were
    /// dropped and that are finishing their close (FIN-WAIT, TIME-WAIT...).
    pub fn tcp_states(&self) -> Vec<SmolState> {
        let core = self.shared().lock();
        core.sockets
            .iter()
            .filter_map(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(s) => Some(s.state()),
                #[allow(unreachable_patterns)]
                _ => None,
            })
            .collect()
    }

    /// What the device carries: bare IP, or Ethernet frames.
    pub fn medium(&self) -> OurMedium {
        self.shared().lock().medium
    }

    /// smoltcp's MAC address, on a device that carries Ethernet frames; `None` on bare IP.
    pub fn mac(&self) -> Option<MacAddr> {
        let core = self.shared().lock();
        (core.medium == OurMedium::Ethernet).then_some(core.config.mac)
    }

    /// The ARP packets smoltcp sent and received, as they crossed the wire (smoltcp counts
    /// none itself); all zero on bare IP.
    pub fn arp_stats(&self) -> SmolArpStats {
        self.shared().lock().frames.arp
    }

    /// smoltcp's neighbours as its frames show them: for each IPv4 address smoltcp sent a
    /// unicast frame to, the MAC address of the last one, which is what its neighbour cache
    /// answered (smoltcp 0.14 does not let its cache be read). Sorted by address; empty on
    /// bare IP.
    pub fn neighbours(&self) -> Vec<(Ipv4Addr, MacAddr)> {
        let core = self.shared().lock();
        core.frames
            .neighbours
            .iter()
            .map(|(&ip, &mac)| (ip, mac))
            .collect()
    }

    /// Packets the link refused with an error; 0 on a healthy link.
    pub fn link_errors(&self) -> u64 {
        self.shared().link_errors.load(Ordering::Relaxed)
    }

    /// Opens a TCP socket in LISTEN on `port` (on smoltcp's address).
    ///
    /// Errors: `AddrInUse` when another socket listens on or uses the port, `InvalidInput` for
    /// port 0.
    pub fn listen(&self, port: u16) -> io::Result<SmolListener> {
        let shared = self.shared();
        let mut core = shared.lock();
        let in_use = core.sockets.iter().any(|(_, s)| match s {
            smoltcp::socket::Socket::Tcp(s) => {
                s.listen_endpoint().port == port || s.local_endpoint().map(|e| e.port) == Some(port)
            }
            #[allow(unreachable_patterns)]
            _ => false,
        });
        if in_use {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("smoltcp: TCP port {port} is in use"),
            ));
        }
        let mut socket = core.new_socket();
        socket
            .listen(port)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err.to_string()))?;
        let handle = core.sockets.add(socket);
        Ok(SmolListener {
            socket: Socket {
                stack: self.clone(),
                handle,
            },
        })
    }
}

/// One smoltcp socket, owned by a handle; dropping it closes the socket gracefully (FIN) and
/// leaves it to the driver to remove once CLOSED.
struct Socket {
    stack: SmolStack,
    handle: SocketHandle,
}

impl Socket {
    /// Runs `f` on the socket, then kicks the driver so that smoltcp acts on what `f` did.
    fn with<R>(&self, f: impl FnOnce(&mut tcp::Socket<'static>) -> R) -> R {
        let shared = self.stack.shared();
        let result = f(shared.lock().socket(self.handle));
        shared.kick();
        result
    }

    /// Looks at the socket without kicking the driver.
    fn peek<R>(&self, f: impl FnOnce(&tcp::Socket<'static>) -> R) -> R {
        f(self.stack.shared().lock().socket(self.handle))
    }

    /// Waits until `ready` gives an answer for the socket's state; in the meantime the task
    /// is woken (with the socket's read waker) whenever the state changes.
    fn poll_state<R>(
        &self,
        cx: &mut Context<'_>,
        ready: impl FnOnce(tcp::State) -> Option<R>,
    ) -> Poll<R> {
        let mut core = self.stack.shared().lock();
        let socket = core.socket(self.handle);
        match ready(socket.state()) {
            Some(result) => Poll::Ready(result),
            None => {
                socket.register_recv_waker(cx.waker());
                Poll::Pending
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let shared = self.stack.shared();
        let mut core = shared.lock();
        let socket = core.socket(self.handle);
        match socket.state() {
            // Nobody will accept a half-open connection: reset it.
            tcp::State::SynReceived => socket.abort(),
            _ => socket.close(),
        }
        core.orphans.push(self.handle);
        drop(core);
        shared.kick();
    }
}

/// A smoltcp socket in LISTEN, waiting for one connection; see [`SmolStack::listen`].
pub struct SmolListener {
    socket: Socket,
}

impl std::fmt::Debug for SmolListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolListener").finish_non_exhaustive()
    }
}

impl SmolListener {
    /// Waits for the listener's connection to finish its handshake and returns it: the
    /// listening socket becomes the connection, so this consumes the listener.
    ///
    /// A connection reset during its handshake puts smoltcp back in LISTEN, and the wait goes
    /// on. Cancel safety: dropping the future drops the listener (and resets a half-open
    /// connection).
    pub async fn accept(self) -> io::Result<SmolStream> {
        let socket = self.socket;
        poll_fn(|cx| {
            socket.poll_state(cx, |state| match state {
                tcp::State::Listen | tcp::State::SynReceived => None,
                tcp::State::Closed => Some(Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "smoltcp: the listening socket closed",
                ))),
                _ => Some(Ok(())),
            })
        })
        .await?;
        Ok(SmolStream::new(socket))
    }
}

/// A TCP connection on a [`SmolStack`]: smoltcp's end of a byte stream.
///
/// Read and write it with tokio's `AsyncReadExt` / `AsyncWriteExt` (`write_all`,
/// `read_to_end`, `shutdown` for a FIN), as our [`tunstack::TcpStream`]. Dropping it closes
/// gracefully; [`SmolStream::abort`] resets instead.
pub struct SmolStream {
    socket: Socket,
    /// The peer's FIN was read: reads return 0 from now on, whatever smoltcp's state.
    eof: bool,
    /// We shut down writing.
    shut: bool,
}

impl std::fmt::Debug for SmolStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolStream")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl SmolStream {
    fn new(socket: Socket) -> SmolStream {
        SmolStream {
            socket,
            eof: false,
            shut: false,
        }
    }

    /// Opens a connection from smoltcp to `remote`, from an ephemeral port.
    ///
    /// Errors: `ConnectionRefused` when the peer answers the SYN with a reset. smoltcp sends
    /// the SYN again for as long as no answer comes: bound the call with `tokio::time::timeout`.
    ///
    /// Cancel safety: dropping the future abandons the attempt.
    pub async fn connect(
        stack: &SmolStack,
        remote: impl Into<SocketAddr>,
    ) -> io::Result<SmolStream> {
        let remote: SocketAddr = remote.into();
        let shared = stack.shared();
        let handle = {
            let mut core = shared.lock();
            let port = core.ephemeral_port()?;
            let mut socket = core.new_socket();
            socket
                .connect(core.iface.context(), IpEndpoint::from(remote), port)
                .map_err(|err| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("smoltcp: cannot connect to {remote}: {err}"),
                    )
                })?;
            core.sockets.add(socket)
        };
        shared.kick();
        let socket = Socket {
            stack: stack.clone(),
            handle,
        };
        poll_fn(|cx| {
            socket.poll_state(cx, |state| match state {
                tcp::State::SynSent | tcp::State::SynReceived => None,
                tcp::State::Closed => Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("smoltcp: {remote} refused the connection"),
                ))),
                _ => Some(Ok(())),
            })
        })
        .await?;
        Ok(SmolStream::new(socket))
    }

    /// smoltcp's state for this connection.
    pub fn state(&self) -> SmolState {
        self.socket.peek(tcp::Socket::state)
    }

    /// smoltcp's address and port; `NotConnected` once the connection is closed.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        endpoint(self.socket.peek(tcp::Socket::local_endpoint))
    }

    /// The peer's address and port; `NotConnected` once the connection is closed.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        endpoint(self.socket.peek(tcp::Socket::remote_endpoint))
    }

    /// Waits until the connection is CLOSED: after TIME-WAIT (10 s in smoltcp) when smoltcp
    /// closed first, after the peer's ACK of our FIN in LAST-ACK when the peer did, at once
    /// after a reset.
    ///
    /// Uses the socket's read waker: do not call it while another task reads this stream.
    pub async fn closed(&self) {
        poll_fn(|cx| {
            self.socket
                .poll_state(cx, |state| (state == tcp::State::Closed).then_some(()))
        })
        .await;
    }

    /// Closes at once with a reset: unsent data is discarded and the peer sees
    /// `ConnectionReset`.
    pub fn abort(self) {
        self.socket.with(tcp::Socket::abort);
    }

    /// The error for a read or write on a socket smoltcp has closed.
    fn closed_error(&self, writing: bool) -> io::Error {
        let state = self.state();
        if writing && self.shut {
            io::Error::new(io::ErrorKind::BrokenPipe, "smoltcp: write after shutdown")
        } else if state == tcp::State::Closed {
            io::Error::new(
                io::ErrorKind::ConnectionReset,
                "smoltcp: the connection was reset",
            )
        } else {
            io::Error::new(
                io::ErrorKind::NotConnected,
                format!("smoltcp: not possible in state {state}"),
            )
        }
    }
}

fn endpoint(endpoint: Option<IpEndpoint>) -> io::Result<SocketAddr> {
    match endpoint {
        Some(IpEndpoint { addr, port }) => Ok(SocketAddr::new(addr.into(), port)),
        None => Err(io::Error::new(
            io::ErrorKind::NotConnected,
            "smoltcp: the socket has no endpoint",
        )),
    }
}

impl AsyncRead for SmolStream {
    /// Reads what smoltcp has received in order; 0 bytes once the peer's FIN was reached.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.eof || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let shared = this.socket.stack.shared();
        let mut core = shared.lock();
        let socket = core.socket(this.socket.handle);
        match socket.recv_slice(buf.initialize_unfilled()) {
            Ok(0) => {
                socket.register_recv_waker(cx.waker());
                Poll::Pending
            }
            Ok(n) => {
                buf.advance(n);
                drop(core);
                // The window opened: smoltcp may want to say so.
                shared.kick();
                Poll::Ready(Ok(()))
            }
            Err(tcp::RecvError::Finished) => {
                this.eof = true;
                Poll::Ready(Ok(()))
            }
            Err(tcp::RecvError::InvalidState) => {
                drop(core);
                Poll::Ready(Err(this.closed_error(false)))
            }
        }
    }
}

impl AsyncWrite for SmolStream {
    /// Copies into smoltcp's transmit buffer; waits while it is full.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let shared = this.socket.stack.shared();
        let mut core = shared.lock();
        let socket = core.socket(this.socket.handle);
        match socket.send_slice(buf) {
            Ok(0) => {
                socket.register_send_waker(cx.waker());
                Poll::Pending
            }
            Ok(n) => {
                drop(core);
                shared.kick();
                Poll::Ready(Ok(n))
            }
            Err(tcp::SendError::InvalidState) => {
                drop(core);
                Poll::Ready(Err(this.closed_error(true)))
            }
        }
    }

    /// Nothing to do: written data is in smoltcp's hands.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down writing (smoltcp's `close`): a FIN follows the buffered data. Reading goes
    /// on (a half-close).
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.shut = true;
        this.socket.with(tcp::Socket::close);
        Poll::Ready(Ok(()))
    }
}

/// smoltcp's view of the link for one pass of the driver: a [`Device`] whose `receive` is
/// [`OurDevice::poll_recv`] and whose `transmit` is [`OurDevice::poll_send`], with the driver task's
/// [`Context`], so a packet is copied once on its way in and once on its way out.
struct LinkDevice<'a, 'c, L> {
    link: &'a mut L,
    cx: &'a mut Context<'c>,
    /// Where a received packet lands; at least the MTU.
    rx: &'a mut [u8],
    /// Where smoltcp builds a packet to send.
    tx: &'a mut Vec<u8>,
    /// Packets the link could not take yet (`Pending`), oldest first.
    backlog: &'a mut VecDeque<Vec<u8>>,
    /// Where the frames that pass are read, on Ethernet.
    frames: &'a mut FrameLog,
    /// How many more packets this pass may receive.
    rx_budget: usize,
    /// A link error that ends the driver.
    fatal: Option<io::Error>,
    /// Packets the link refused with an error.
    errors: u64,
}

impl<'a, 'c, L: OurDevice> LinkDevice<'a, 'c, L> {
    fn new(
        link: &'a mut L,
        cx: &'a mut Context<'c>,
        rx: &'a mut [u8],
        tx: &'a mut Vec<u8>,
        backlog: &'a mut VecDeque<Vec<u8>>,
        frames: &'a mut FrameLog,
    ) -> Self {
        LinkDevice {
            link,
            cx,
            rx,
            tx,
            backlog,
            frames,
            rx_budget: RX_BATCH,
            fatal: None,
            errors: 0,
        }
    }

    /// Sends what the link refused before; whether the backlog is now empty.
    fn flush_backlog(&mut self) -> bool {
        while let Some(packet) = self.backlog.front() {
            match self.link.poll_send(self.cx, packet, None) {
                Poll::Ready(result) => {
                    if let Err(err) = result {
                        note_send_error(err, &mut self.fatal, &mut self.errors);
                    }
                    self.backlog.pop_front();
                }
                Poll::Pending => return false,
            }
        }
        true
    }
}

/// Keeps a fatal send error, counts the others (the packet is lost, as on a real link).
fn note_send_error(err: io::Error, fatal: &mut Option<io::Error>, errors: &mut u64) {
    *errors += 1;
    if is_fatal(&err) && fatal.is_none() {
        *fatal = Some(err);
    }
}

/// Errors after which a link will never work again (as our driver decides).
fn is_fatal(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::NotConnected | io::ErrorKind::UnexpectedEof
    )
}

/// A received packet, for smoltcp to read.
struct RxToken<'a> {
    packet: &'a [u8],
}

impl smoltcp::phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.packet)
    }
}

/// Room for one packet to send; the packet goes to the link when smoltcp has written it.
struct TxToken<'a, 'c, L> {
    link: &'a mut L,
    cx: &'a mut Context<'c>,
    tx: &'a mut Vec<u8>,
    backlog: &'a mut VecDeque<Vec<u8>>,
    frames: &'a mut FrameLog,
    fatal: &'a mut Option<io::Error>,
    errors: &'a mut u64,
}

impl<L: OurDevice> smoltcp::phy::TxToken for TxToken<'_, '_, L> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if self.tx.len() < len {
            self.tx.resize(len, 0);
        }
        let packet = &mut self.tx[..len];
        let result = f(packet);
        self.frames.sent(self.link.medium(), packet);
        // Keep the order: behind a backlog, a packet waits its turn.
        if !self.backlog.is_empty() {
            self.backlog.push_back(packet.to_vec());
            return result;
        }
        match self.link.poll_send(self.cx, packet, None) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(err)) => note_send_error(err, self.fatal, self.errors),
            Poll::Pending => self.backlog.push_back(packet.to_vec()),
        }
        result
    }
}

impl<'c, L: OurDevice> Device for LinkDevice<'_, 'c, L> {
    type RxToken<'b>
        = RxToken<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = TxToken<'b, 'c, L>
    where
        Self: 'b;

    fn receive(
        &mut self,
        _timestamp: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.rx_budget == 0 || self.fatal.is_some() {
            return None;
        }
        let len = loop {
            match self.link.poll_recv(self.cx, self.rx) {
                Poll::Ready(Ok(len)) => break len,
                Poll::Ready(Err(err)) if is_fatal(&err) => {
                    self.fatal = Some(err);
                    return None;
                }
                // A packet the link could not deliver (e.g. too long): skip it.
                Poll::Ready(Err(_)) => self.errors += 1,
                Poll::Pending => return None,
            }
        };
        self.rx_budget -= 1;
        let LinkDevice {
            link,
            cx,
            rx,
            tx,
            backlog,
            frames,
            fatal,
            errors,
            ..
        } = self;
        frames.received(link.medium(), &rx[..len]);
        Some((
            RxToken { packet: &rx[..len] },
            TxToken {
                link,
                cx,
                tx,
                backlog,
                frames,
                fatal,
                errors,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        if self.fatal.is_some() || !self.flush_backlog() {
            return None;
        }
        Some(TxToken {
            link: self.link,
            cx: self.cx,
            tx: self.tx,
            backlog: self.backlog,
            frames: self.frames,
            fatal: &mut self.fatal,
            errors: &mut self.errors,
        })
    }

    /// The medium is the link's. smoltcp's `max_transmission_unit` is the largest thing the
    /// device carries: on Ethernet the whole frame without FCS, the IP MTU plus the 14-byte
    /// header (smoltcp's `ip_mtu()` takes the header off again). Our [`OurDevice::mtu`] is the
    /// IP MTU on either medium, as `ip link` shows it, so both stacks agree on the largest IP
    /// packet, and so on the MSS.
    fn capabilities(&self) -> DeviceCapabilities {
        let medium = self.link.medium();
        let mut caps = DeviceCapabilities::default();
        caps.medium = match medium {
            OurMedium::Ip => Medium::Ip,
            OurMedium::Ethernet => Medium::Ethernet,
        };
        caps.max_transmission_unit = self.link.mtu() + medium.header_len();
        caps
    }
}

/// The task that owns the link and polls smoltcp.
struct Driver<L> {
    shared: Arc<Shared>,
    link: L,
    rx: Vec<u8>,
    tx: Vec<u8>,
    backlog: VecDeque<Vec<u8>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<L: OurDevice> Driver<L> {
    /// One pass: let smoltcp receive (a batch) and send, then arm the timer for its next
    /// deadline. Returns whether another pass should follow at once, or the link's fatal
    /// error.
    fn pass(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        let shared = self.shared.clone();
        let now = shared.now();
        let mut core = shared.lock();
        let Core {
            iface,
            sockets,
            frames,
            ..
        } = &mut *core;
        let mut device = LinkDevice::new(
            &mut self.link,
            cx,
            &mut self.rx,
            &mut self.tx,
            &mut self.backlog,
            frames,
        );
        iface.poll(now, &mut device, sockets);
        let more_to_receive = device.rx_budget == 0;
        let (fatal, errors) = (device.fatal.take(), device.errors);
        if errors > 0 {
            shared.link_errors.fetch_add(errors, Ordering::Relaxed);
        }
        if let Some(err) = fatal {
            return Err(err);
        }
        let poll_at = iface.poll_at(now, sockets);
        core.reap();
        drop(core);

        let mut timer_due = false;
        if let Some(at) = poll_at {
            let deadline = shared.to_tokio(at);
            if self.sleep.deadline() != deadline {
                self.sleep.as_mut().reset(deadline);
            }
            if self.sleep.as_mut().poll(cx).is_ready() {
                self.sleep
                    .as_mut()
                    .reset(deadline + Duration::from_secs(3600));
                timer_due = true;
            }
        }
        Ok(more_to_receive || timer_due)
    }
}

// The link is only used through `&mut` and the timer is boxed: nothing relies on an address.
impl<L> Unpin for Driver<L> {}

impl<L: OurDevice> Future for Driver<L> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        *this
            .shared
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        // A bounded number of passes, then yield so other tasks on this thread get a turn.
        for _ in 0..16 {
            this.shared.kicked.store(false, Ordering::Release);
            match this.pass(cx) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(_) => return Poll::Ready(()), // the wire is gone
            }
            if this.shared.kicked.load(Ordering::Acquire) {
                continue;
            }
            if this.shared.closed.load(Ordering::Acquire)
                && this.shared.lock().sockets.iter().next().is_none()
            {
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// One connection from our stack to smoltcp listening on `port`: our end and smoltcp's.
pub async fn ours_connects(
    ours: &tunstack::Stack,
    smol: &SmolStack,
    port: u16,
) -> (tunstack::TcpStream, SmolStream) {
    let listener = smol.listen(port).expect("smoltcp listens");
    let accepted = tokio::spawn(listener.accept());
    let ours = tunstack::TcpStream::connect(ours, (smol.addr(), port))
        .await
        .expect("our connect");
    let smol = accepted
        .await
        .expect("the accept task")
        .expect("smoltcp accepts");
    (ours, smol)
}

/// One connection from smoltcp to our stack listening on `port`: our end and smoltcp's. The
/// address our listener saw is smoltcp's end.
pub async fn smol_connects(
    ours: &tunstack::Stack,
    smol: &SmolStack,
    port: u16,
) -> (tunstack::TcpStream, SmolStream) {
    let listener = tunstack::TcpListener::bind(ours, (Ipv4Addr::UNSPECIFIED, port))
        .await
        .expect("our listener");
    let smol = SmolStream::connect(smol, SocketAddrV4::new(ours.addr(), port))
        .await
        .expect("smoltcp's connect");
    let (ours, from) = listener.accept().await.expect("our accept");
    assert_eq!(smol.local_addr().ok(), Some(from));
    (ours, smol)
}
