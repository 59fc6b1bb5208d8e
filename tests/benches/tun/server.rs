//! The servers the TUN bench compares, each in namespaces of its own, and what each does on a
//! workload's connection.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tunstack::device::netns::NetNs;
use tunstack::device::{Medium, TunDevice};
use tunstack::{Config, Ipv4Cidr, Stack, TcpListener, TcpStream};
use tunstack_tests::peer::Conn;
use tunstack_tests::smol::{SmolConfig, SmolStack};
use tunstack_tests::{DEVICE, KERNEL, PREFIX_LEN, STACK};

use crate::client::{self, Workload};

/// The kernel server's address on the veth pair, and the client's.
const VETH_SERVER: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
const VETH_CLIENT: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
/// The server's read size.
const READ_SIZE: usize = 256 * 1024;

/// A server the bench measures. Each is one entry of [`SERVERS`], and one arm in
/// [`Server::name`] and in [`Server::start`] (or `on_tun`, for a stack on a TUN device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Our stack on a TUN device.
    Ours,
    /// Our stack on a TUN device opened with offloads ([`TunDevice::open_offload`]): TSO,
    /// GSO and checksum offload, as the demos' `--offload`.
    OursOffload,
    /// smoltcp on a TUN device ([`SmolStack`]).
    Smol,
    /// The Linux kernel's own sockets, the client in another namespace, over a veth pair.
    Kernel,
}

/// The servers, in the table's order.
pub const SERVERS: [Server; 4] = [
    Server::Ours,
    Server::OursOffload,
    Server::Smol,
    Server::Kernel,
];

impl Server {
    /// The column's title.
    pub fn name(self) -> &'static str {
        match self {
            Server::Ours => "ours",
            Server::OursOffload => "ours-offload",
            Server::Smol => "smoltcp",
            Server::Kernel => "kernel/veth",
        }
    }

    /// Makes the namespaces and the link, and starts the server on a runtime whose threads
    /// are in the server's namespace; our stack and smoltcp with `buffer` bytes to send and
    /// to receive per connection, or their defaults; the kernel's TCP in every namespace with
    /// the `congestion` control algorithm, or the machine's default; with `big_tcp`, our
    /// offload device sends BIG TCP super-packets ([`TunDevice::with_big_tcp`]).
    pub fn start(
        self,
        multi_thread: bool,
        buffer: Option<usize>,
        congestion: Option<&str>,
        big_tcp: bool,
    ) -> io::Result<Bed> {
        let ns = NetNs::create("tunstack-bench-tun")?;
        sh(&ns, "ip", &["link", "set", "dev", "lo", "up"])?;
        set_congestion(&ns, congestion)?;
        let runtime = ns.run(|| runtime(multi_thread))??;
        let (listening, client_ns) = match self {
            Server::Ours | Server::OursOffload | Server::Smol => {
                (on_tun(self, &ns, &runtime, buffer, big_tcp)?, None)
            }
            Server::Kernel => {
                let client = veth(&ns)?;
                set_congestion(&client, congestion)?;
                (Listening::Kernel(VETH_SERVER), Some(client))
            }
        };
        Ok(Bed {
            runtime: Some(runtime),
            listening,
            client_ns,
            ns,
            next_port: 5000,
            zero_copy: false,
            pin: false,
        })
    }
}

/// Inside `ns`: `tun0` with the kernel at 10.77.0.1/24, and `server` (our stack or smoltcp) at
/// 10.77.0.2 on it, with its default configuration (256 KiB buffers each way for both) but
/// for `buffer`.
fn on_tun(
    server: Server,
    ns: &NetNs,
    runtime: &Runtime,
    buffer: Option<usize>,
    big_tcp: bool,
) -> io::Result<Listening> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "bad test network prefix");
    let kernel = Ipv4Cidr::new(KERNEL, PREFIX_LEN).ok_or_else(bad)?;
    let addr = Ipv4Cidr::new(STACK, PREFIX_LEN).ok_or_else(bad)?;
    ns.run(|| {
        runtime.block_on(async {
            let tun = match server {
                Server::OursOffload if big_tcp => {
                    TunDevice::open_offload(DEVICE, Medium::Ip)?.with_big_tcp()
                }
                Server::OursOffload => TunDevice::open_offload(DEVICE, Medium::Ip)?,
                _ => TunDevice::open(DEVICE)?,
            };
            tun.configure(kernel, None)?;
            Ok(match server {
                Server::Ours | Server::OursOffload => {
                    let mut config = Config::new(addr);
                    if let Some(bytes) = buffer {
                        (config.tcp.send_buffer, config.tcp.recv_buffer) = (bytes, bytes);
                    }
                    Listening::Ours(Stack::new(tun, config))
                }
                Server::Smol => {
                    let mut config = SmolConfig::new(addr);
                    if let Some(bytes) = buffer {
                        (config.send_buffer, config.recv_buffer) = (bytes, bytes);
                    }
                    Listening::Smol(SmolStack::new(tun, config))
                }
                Server::Kernel => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "the kernel's server runs over veth, not on TUN",
                    ))
                }
            })
        })
    })?
}

/// A tokio runtime: current-thread, or multi-thread with two workers (this machine's cores).
fn runtime(multi_thread: bool) -> io::Result<Runtime> {
    if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
}

/// A second namespace for the client, joined to `ns` by a veth pair: the server's end
/// 10.78.0.2/24 in `ns`, the client's 10.78.0.1/24. The pair is made inside `ns`, so nothing
/// is ever created in the host's namespace.
fn veth(ns: &NetNs) -> io::Result<NetNs> {
    let client = NetNs::create("tunstack-bench-veth")?;
    sh(&client, "ip", &["link", "set", "dev", "lo", "up"])?;
    let link = [
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ];
    sh(ns, "ip", &[&link[..], &["netns", client.name()]].concat())?;
    for (ns, dev, addr) in [(ns, "veth0", VETH_SERVER), (&client, "veth1", VETH_CLIENT)] {
        let cidr = format!("{addr}/24");
        sh(ns, "ip", &["addr", "add", &cidr, "dev", dev])?;
        sh(ns, "ip", &["link", "set", "dev", dev, "up"])?;
    }
    Ok(client)
}

/// Makes the kernel's TCP in `ns` use the `congestion` control algorithm (a namespace starts
/// with the machine's default, which may pace its sending, as BBR does).
fn set_congestion(ns: &NetNs, congestion: Option<&str>) -> io::Result<()> {
    match congestion {
        Some(name) => {
            let setting = format!("net.ipv4.tcp_congestion_control={name}");
            sh(ns, "sysctl", &["-q", "-w", &setting])
        }
        None => Ok(()),
    }
}

/// The congestion control algorithm the kernel's TCP uses in a new namespace with
/// `congestion` asked for: that one, or the machine's default.
pub fn congestion_in_use(congestion: Option<&str>) -> String {
    match congestion {
        Some(name) => name.to_string(),
        None => std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
            .map(|name| format!("{} (the machine's default)", name.trim()))
            .unwrap_or_else(|err| format!("unknown ({err})")),
    }
}

/// Keeps the calling thread, and the threads it starts from now on, on CPU `cpu` only.
fn pin_to(cpu: usize) -> io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes within it (cpu < 1024).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size given; 0 is the calling thread.
    let done = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    match done {
        0 => Ok(()),
        _ => Err(io::Error::other(format!(
            "cannot pin to CPU {cpu}: {}",
            io::Error::last_os_error()
        ))),
    }
}

/// Runs a command inside `ns`, failing if it does.
fn sh(ns: &NetNs, program: &str, args: &[&str]) -> io::Result<()> {
    let status = ns.exec(program, args).status()?;
    if !status.success() {
        return Err(io::Error::other(format!("{program} {args:?}: {status}")));
    }
    Ok(())
}

/// The server that listens: our stack, smoltcp, or the kernel at an address.
enum Listening {
    Ours(Stack),
    Smol(SmolStack),
    Kernel(Ipv4Addr),
}

/// One server, running, with the namespaces it and its client live in.
pub struct Bed {
    /// `None` once stopped.
    runtime: Option<Runtime>,
    listening: Listening,
    /// The client's namespace, when it is not the server's (the kernel over veth).
    client_ns: Option<NetNs>,
    // Dropped after the runtime is shut down (which closes the TUN device).
    ns: NetNs,
    /// Every workload gets a fresh port: smoltcp listens on a port only while no connection
    /// uses it.
    next_port: u16,
    /// Whether our stack sends bulk server→Linux with [`TcpStream::write_chunk`] and reads bulk
    /// Linux→server with [`TcpStream::read_chunk`] (`--zero-copy`).
    pub zero_copy: bool,
    /// Whether the server's thread runs on CPU 0 only and the client's threads on CPU 1 only
    /// (`--pin`).
    pub pin: bool,
}

impl Bed {
    /// The server's address.
    fn addr(&self) -> Ipv4Addr {
        match self.listening {
            Listening::Kernel(addr) => addr,
            _ => STACK,
        }
    }

    /// Runs `workload` once: the server listens, a Linux client thread connects from its
    /// namespace and does its part, the server does its own; returns what the client measured.
    pub fn run(
        &mut self,
        workload: Workload,
        bytes: u64,
        ping_for: Duration,
        limit: Duration,
    ) -> io::Result<client::Measured> {
        let port = self.next_port;
        self.next_port += 1;
        let to = SocketAddr::V4(SocketAddrV4::new(self.addr(), port));
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| io::Error::other("stopped"))?;
        let client_ns = self.client_ns.as_ref().unwrap_or(&self.ns);
        let listening = &self.listening;
        let (zero_copy, pin) = (self.zero_copy, self.pin);
        self.ns.run(|| {
            if pin {
                pin_to(0)?;
            }
            runtime.block_on(async {
                let accept = listen(listening, port).await?;
                let client = client_ns.run(|| {
                    std::thread::spawn(move || {
                        if pin {
                            pin_to(1)?;
                        }
                        client::run(workload, to, bytes, ping_for)
                    })
                })?;
                let served = tokio::time::timeout(limit, async {
                    match accept.await? {
                        Accepted::Ours(stream) if zero_copy && workload == Workload::Down => {
                            serve_down_zero_copy(stream, bytes).await
                        }
                        Accepted::Ours(stream) if zero_copy && workload == Workload::Up => {
                            serve_up_zero_copy(stream).await
                        }
                        Accepted::Ours(stream) => serve(workload, Box::new(stream), bytes).await,
                        Accepted::Other(conn) => serve(workload, conn, bytes).await,
                    }
                })
                .await;
                let measured = tokio::task::spawn_blocking(move || client.join())
                    .await
                    .map_err(io::Error::other)?
                    .map_err(|_| io::Error::other("the client panicked"))?;
                let served = served
                    .unwrap_or_else(|_| Err(io::Error::other(format!("not done after {limit:?}"))));
                match (served, measured) {
                    (Ok(()), measured) => measured,
                    (Err(server), Ok(_)) => Err(server),
                    (Err(server), Err(client)) => Err(io::Error::new(
                        server.kind(),
                        format!("server: {server}; client: {client}"),
                    )),
                }
            })
        })?
    }

    /// Stops the server (shutting its runtime down closes the TUN device); the namespaces go
    /// when the bed is dropped.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A connection the server accepted: ours (which can also write without a copy), or
/// smoltcp's or the kernel's.
enum Accepted {
    Ours(TcpStream),
    Other(Box<dyn Conn>),
}

/// Listens on `port`; the returned future accepts one connection, with Nagle's algorithm off
/// where the stack has the switch (smoltcp's sockets keep theirs, which holds back only a
/// small segment while data is unacknowledged).
async fn listen(
    listening: &Listening,
    port: u16,
) -> io::Result<std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<Accepted>>>>> {
    Ok(match listening {
        Listening::Ours(stack) => {
            let listener = TcpListener::bind(stack, (Ipv4Addr::UNSPECIFIED, port)).await?;
            Box::pin(async move {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Accepted::Ours(stream))
            })
        }
        Listening::Smol(stack) => {
            let listener = stack.listen(port)?;
            Box::pin(async move { Ok(Accepted::Other(Box::new(listener.accept().await?))) })
        }
        Listening::Kernel(addr) => {
            let listener = tokio::net::TcpListener::bind((*addr, port)).await?;
            Box::pin(async move {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Accepted::Other(Box::new(stream)))
            })
        }
    })
}

/// The server's part of `workload`, the same code on every stack. It reads to the client's
/// end of the stream before it returns, so the connection closes after every byte is through.
async fn serve(workload: Workload, mut conn: Box<dyn Conn>, bytes: u64) -> io::Result<()> {
    let mut buf = vec![0; READ_SIZE];
    match workload {
        Workload::Echo | Workload::PingPong => {
            // tokio's copy reads on while a write waits (up to its buffer). With a strict
            // read-then-write loop, smoltcp's echo of 32 MiB stalled in both of two runs (the
            // client's reads timed out after 20 s); ours and the kernel's did not.
            let (mut from, mut to) = tokio::io::split(conn);
            tokio::io::copy(&mut from, &mut to).await?;
            to.shutdown().await?;
            return Ok(());
        }
        Workload::Up => {
            let mut count = 0u64;
            loop {
                let n = conn.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                count += n as u64;
            }
            conn.write_all(&count.to_be_bytes()).await?;
        }
        Workload::Down => {
            let asked = read_asked(&mut conn, bytes).await?;
            client::pattern().write_to(&mut conn, asked).await?;
        }
    }
    finish(&mut conn).await
}

/// Bulk server→Linux on our stack without a copy: the pattern's own memory is handed to the
/// send buffer ([`TcpStream::write_chunk`]) and goes to the device from there.
async fn serve_down_zero_copy(mut stream: TcpStream, bytes: u64) -> io::Result<()> {
    let asked = read_asked(&mut stream, bytes).await?;
    for chunk in client::pattern().shared_chunks(asked) {
        stream.write_chunk(chunk).await?;
    }
    finish(&mut stream).await
}

/// Bulk Linux→server on our stack without a copy: the bytes are read as they lie in their
/// packets ([`TcpStream::read_chunk`]) and counted, as the copying server counts them.
async fn serve_up_zero_copy(mut stream: TcpStream) -> io::Result<()> {
    let mut count = 0u64;
    while let Some(chunk) = stream.read_chunk(READ_SIZE).await? {
        count += chunk.len() as u64;
    }
    stream.write_all(&count.to_be_bytes()).await?;
    finish(&mut stream).await
}

/// Reads how many bytes the client asks for, which must be `bytes`.
async fn read_asked(conn: &mut (impl AsyncReadExt + Unpin), bytes: u64) -> io::Result<u64> {
    let mut asked = [0; 8];
    conn.read_exact(&mut asked).await?;
    let asked = u64::from_be_bytes(asked);
    if asked != bytes {
        return Err(io::Error::other(format!("asked for {asked}, not {bytes}")));
    }
    Ok(asked)
}

/// Shuts down writing and reads to the client's end of the stream, so that the connection
/// closes after every byte is through.
async fn finish(conn: &mut (impl Conn + ?Sized)) -> io::Result<()> {
    conn.shutdown().await?;
    let mut buf = vec![0; READ_SIZE];
    while conn.read(&mut buf).await? > 0 {}
    Ok(())
}
