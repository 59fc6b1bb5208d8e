//! [`TunNet`]: our stack and the Linux kernel on the two ends of a TUN device, in a network
//! namespace made for one test.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tokio::runtime::Runtime;
use tunstack::device::impair::{ImpairConfig, ImpairStats, StatsHandle};
use tunstack::device::netns::NetNs;
use tunstack::device::{Capture, Impair, Medium, TunDevice};
use tunstack::tcp::{ConnInfo, State};
use tunstack::{Config, Ipv4Cidr, Ipv6Cidr, Stack};

use crate::{
    TempFile, DEVICE, KERNEL, KERNEL6, PREFIX_LEN, PREFIX_LEN6, STACK, STACK6, TAP_DEVICE,
};

/// How long [`TunNet::block_on`] lets a test's async code run before giving up on it.
const BLOCK_ON_LIMIT: Duration = Duration::from_secs(30);

/// How long stopping waits for tasks still running on the stack's runtime.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);

/// Our stack at 10.77.0.2/24 and the Linux kernel at 10.77.0.1/24, on the two ends of `tun0`,
/// in a network namespace of their own, with every packet recorded to a pcapng file.
///
/// The stack runs on a multi-threaded tokio runtime whose threads were started inside the
/// namespace. Test code runs there too: [`TunNet::block_on`] runs async code (our sockets) and
/// [`TunNet::run`] plain code (Linux sockets) on a thread that has entered the namespace, so a
/// socket made there belongs to it, whichever thread uses it later.
///
/// Dropping a `TunNet` (also while a failed test unwinds) stops the stack, removes the namespace
/// with the device in it, and deletes the capture file.
///
/// ```
/// use tunstack::UdpSocket;
/// use tunstack_tests::{tshark_check, TunNet, KERNEL};
///
/// # fn main() -> std::io::Result<()> {
/// if !tunstack_tests::tun_tests_can_run() {
///     return Ok(());
/// }
/// let mut net = TunNet::start("example")?;
/// let linux = net.linux_udp((KERNEL, 0))?; // a kernel socket, inside the namespace
/// let to = linux.local_addr()?;
/// net.block_on(async {
///     let ours = UdpSocket::bind(net.stack(), "0.0.0.0:0").await?;
///     ours.send_to(b"hello", to).await
/// })??;
/// let mut buf = [0; 16];
/// let (n, from) = linux.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from.ip()), (&b"hello"[..], tunstack_tests::STACK.into()));
/// net.stop();
/// let frames = tshark_check(net.capture_path());
/// assert_eq!(frames.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TunNet {
    stack: Stack,
    /// Bare IP on `tun0`, or Ethernet on `tap0`.
    medium: Medium,
    /// The counters of the impairments between our stack and the device, if any.
    impair: Option<StatsHandle>,
    /// `None` once stopped.
    runtime: Option<Runtime>,
    // Dropped in this order, after `Drop::drop` has stopped the runtime (which closes the device
    // and the capture file): the namespace, then the file.
    ns: NetNs,
    capture: TempFile,
}

/// How [`TunNet`] opens its device.
#[derive(Debug, Clone, Copy)]
enum Offload {
    /// No offloads: MSS-sized packets, whole checksums.
    None,
    /// [`TunDevice::open_offload`].
    All,
    /// [`TunDevice::open_offload`], then [`TunDevice::with_big_tcp`].
    BigTcp,
}

impl TunNet {
    /// Creates the namespace `tunstack-<label>-<pid>-<n>` and, inside it, `tun0` with the kernel
    /// at 10.77.0.1/24 (IPv6 off, its tail loss probe off: see the comment in `start_link`), a
    /// capture of the device to a temporary pcapng file, and our stack at 10.77.0.2/24 with the
    /// default [`Config`], except that our tail loss probe is off too.
    ///
    /// This is for the clean-link suites, which check that nothing is ever resent. A probe
    /// fires when no ACK comes for 10 ms or two round trips. With a hundred Linux clients on a
    /// loaded machine, their ACKs can come later than that, and the probe then resends data
    /// that was never lost. The kernel answers such a copy, once it is in TIME-WAIT, with a
    /// duplicate ACK, and we answer that with a reset. The retransmission timer stays on, as
    /// for the kernel; the lossy suites, which use [`TunNet::start_impaired`], keep the probe.
    ///
    /// Needs what [`crate::tun_tests_can_run`] checks for.
    pub fn start(label: &str) -> io::Result<TunNet> {
        let addr = Ipv4Cidr::new(STACK, PREFIX_LEN).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "bad test network prefix")
        })?;
        let mut config = Config::new(addr);
        config.tcp.tail_loss_probes = false;
        TunNet::start_with(label, config)
    }

    /// Like [`TunNet::start`], with IPv6 on both sides too: the kernel at fd77::1/64 and our
    /// stack at fd77::2/64 ([`KERNEL6`], [`STACK6`]) beside their IPv4 addresses, on one
    /// `tun0`. The kernel is configured not to look for routers, so nothing but the test's own
    /// traffic crosses the device (see [`TunDevice::configure`]).
    pub fn start_dual(label: &str) -> io::Result<TunNet> {
        let addr = Ipv4Cidr::new(STACK, PREFIX_LEN).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "bad test network prefix")
        })?;
        let addr6 = Ipv6Cidr::new(STACK6, PREFIX_LEN6).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "bad IPv6 test network prefix")
        })?;
        let mut config = Config::new(addr).with_ipv6(addr6);
        config.tcp.tail_loss_probes = false;
        TunNet::start_with(label, config)
    }

    /// Like [`TunNet::start`], with the stack configured by `config` (its address should be on
    /// 10.77.0.0/24 for the kernel to reach it). With IPv6 on in `config` (`addr6`, which should
    /// be on fd77::/64), the kernel gets [`KERNEL6`] too.
    pub fn start_with(label: &str, config: Config) -> io::Result<TunNet> {
        TunNet::start_link(label, config, None)
    }

    /// Like [`TunNet::start`], on a TAP device (`tap0`) instead: the kernel and our stack
    /// exchange Ethernet frames, and find each other's MAC address with ARP. The capture's link
    /// type is Ethernet. The kernel at 10.77.0.1 is our stack's gateway.
    pub fn start_tap(label: &str) -> io::Result<TunNet> {
        let addr = Ipv4Cidr::new(STACK, PREFIX_LEN).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "bad test network prefix")
        })?;
        let mut config = Config::new(addr);
        config.tcp.tail_loss_probes = false;
        config.gateway = Some(KERNEL);
        TunNet::start_tap_with(label, config)
    }

    /// Like [`TunNet::start_tap`], with IPv6 on both sides too, as [`TunNet::start_dual`] does
    /// on TUN: the kernel at fd77::1/64 and our stack at fd77::2/64 on `tap0`, finding each
    /// other's MAC address with neighbour discovery (RFC 4861). The kernel at fd77::1 is our
    /// IPv6 gateway too.
    ///
    /// Our IPv6 addresses are usable only once duplicate address detection has passed, a
    /// second after start (RFC 4862 section 5.4): call [`TunNet::wait_for_dad`] before the
    /// first IPv6 packet.
    ///
    /// The kernel's side speaks on the link by itself: it checks its own link-local address
    /// (a neighbour solicitation from `::`) and reports the multicast groups it joins (MLDv2
    /// reports, ICMPv6 type 143, to ff02::16), a few frames in the first seconds. They are left
    /// on, as on any Ethernet link (no setting turns the reports off): tests that count frames
    /// count those of the traffic they check.
    pub fn start_tap_dual(label: &str) -> io::Result<TunNet> {
        let addr = Ipv4Cidr::new(STACK, PREFIX_LEN).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "bad test network prefix")
        })?;
        let addr6 = Ipv6Cidr::new(STACK6, PREFIX_LEN6).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "bad IPv6 test network prefix")
        })?;
        let mut config = Config::new(addr).with_ipv6(addr6);
        config.tcp.tail_loss_probes = false;
        config.gateway = Some(KERNEL);
        config.gateway6 = Some(KERNEL6);
        TunNet::start_tap_with(label, config)
    }

    /// Waits up to `limit` until duplicate address detection has decided on each of our IPv6
    /// addresses (RFC 4862 section 5.4; a second after start, with the default
    /// [`tunstack::link::neighbour::NeighbourConfig::dad_transmits`]), and returns how many
    /// were taken. Errors with `TimedOut` if it has not, and with `AddrInUse` if one of them
    /// turned out to be another host's.
    pub fn wait_for_dad(&self, limit: Duration) -> io::Result<u64> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let dad = self.stack.stats().dad;
            if dad.duplicates > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("duplicate address detection found a duplicate: {dad:?}"),
                ));
            }
            if dad.checked > 0 && dad.passed == dad.checked {
                return Ok(dad.passed);
            }
            if std::time::Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("duplicate address detection not done after {limit:?}: {dad:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Like [`TunNet::start_tap`], with the stack configured by `config`.
    pub fn start_tap_with(label: &str, config: Config) -> io::Result<TunNet> {
        TunNet::start_on(label, config, None, Medium::Ethernet, Offload::None)
    }

    /// The device's name: `tun0`, or `tap0` for a net made by [`TunNet::start_tap`].
    pub fn device(&self) -> &'static str {
        match self.medium {
            Medium::Ip => DEVICE,
            Medium::Ethernet => TAP_DEVICE,
        }
    }

    /// Like [`TunNet::start_with`], with [`Impair`] between our stack and the capture:
    /// `Impair<Capture<TunDevice>>`. Its outbound impairments act on what our stack sends, its
    /// inbound ones on what the kernel sent; [`TunNet::impair_stats`] counts what they did.
    ///
    /// The capture sits beneath the impairments, so it records what crossed `tun0`, as
    /// `tcpdump` on the device would: a segment our stack sent and the impairments dropped is
    /// not in it (a gap, then Wireshark's retransmission), while a segment the kernel sent is
    /// in it even when the inbound impairments then drop it before our stack sees it.
    ///
    /// ```no_run
    /// use tunstack::device::impair::{ImpairConfig, Impairments};
    /// use tunstack_tests::{TunNet, STACK};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let loss = ImpairConfig::outbound_only(Impairments {
    ///     loss: 0.05,
    ///     ..Impairments::default()
    /// })
    /// .with_seed(1);
    /// let config = tunstack::Config::new(tunstack::Ipv4Cidr::new(STACK, 24).unwrap());
    /// let net = TunNet::start_impaired("example-lossy", config, loss)?;
    /// // ... a transfer ...
    /// println!("{}", net.impair_stats().unwrap());
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_impaired(
        label: &str,
        config: Config,
        impairments: ImpairConfig,
    ) -> io::Result<TunNet> {
        TunNet::start_link(label, config, Some(impairments))
    }

    /// Makes the namespace, the device, the capture and the stack: [`TunNet::start_with`], with
    /// the impairments wrapped around the capture when there are some.
    fn start_link(
        label: &str,
        config: Config,
        impairments: Option<ImpairConfig>,
    ) -> io::Result<TunNet> {
        TunNet::start_on(label, config, impairments, Medium::Ip, Offload::None)
    }

    /// Like [`TunNet::start_with`] (or [`TunNet::start_tap_with`], for
    /// [`Medium::Ethernet`]), with the device opened with offloads
    /// ([`TunDevice::open_offload`]): the kernel and our stack exchange super-packets of up to
    /// 64 KiB with partial checksums, and the capture records them as they cross. With
    /// `impairments`, [`Impair`] sits between our stack and the capture, as in
    /// [`TunNet::start_impaired`].
    pub fn start_offload(
        label: &str,
        config: Config,
        medium: Medium,
        impairments: Option<ImpairConfig>,
    ) -> io::Result<TunNet> {
        TunNet::start_on(label, config, impairments, medium, Offload::All)
    }

    /// Like [`TunNet::start_offload`], with BIG TCP too ([`TunDevice::with_big_tcp`]): our
    /// IPv4 super-packets may be longer than 64 KiB, their Total Length 0.
    pub fn start_big_tcp(
        label: &str,
        config: Config,
        medium: Medium,
        impairments: Option<ImpairConfig>,
    ) -> io::Result<TunNet> {
        TunNet::start_on(label, config, impairments, medium, Offload::BigTcp)
    }

    /// Makes the namespace, a TUN device (or a TAP device, for [`Medium::Ethernet`]), with
    /// the `offload` asked for, the capture and the stack.
    fn start_on(
        label: &str,
        config: Config,
        impairments: Option<ImpairConfig>,
        medium: Medium,
        offload: Offload,
    ) -> io::Result<TunNet> {
        let device = match medium {
            Medium::Ip => DEVICE,
            Medium::Ethernet => TAP_DEVICE,
        };
        let capture = TempFile::new(label);
        let ns = NetNs::create(&format!("tunstack-{label}"))?;
        let peer = Ipv4Cidr::new(KERNEL, PREFIX_LEN).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "bad test network prefix")
        })?;
        // The kernel's side speaks IPv6 when ours does.
        let peer6 = match config.addr6 {
            Some(_) => Some(Ipv6Cidr::new(KERNEL6, PREFIX_LEN6).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "bad IPv6 test network prefix")
            })?),
            None => None,
        };
        let path = capture.path();
        let (runtime, stack, impair) = ns.run(|| -> io::Result<_> {
            // The loopback interface, for tests that want 127.0.0.1 inside the namespace.
            let status = Command::new("ip")
                .args(["link", "set", "dev", "lo", "up"])
                .status()?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "`ip link set dev lo up` failed ({status})"
                )));
            }
            // The kernel's tail loss probe (RFC 8985 TLP) fires 2 × SRTT + 2 ms after its last
            // segment goes unacknowledged: a few milliseconds on this sub-millisecond link. A
            // userspace stack answering a burst of hundreds of packets one by one (a hundred
            // clients at once, in a debug build, while other tests run) can take longer than
            // that, and the probe shows in the capture as a retransmission nothing was lost for.
            // The suites check that our stack causes no retransmission, so the probe is off in
            // their namespaces (this namespace only: `tcp_early_retrans` is per namespace).
            // Fast retransmit and the retransmission timer stay on.
            std::fs::write("/proc/sys/net/ipv4/tcp_early_retrans", "0")?;
            // Worker threads start here, so they are in the namespace too.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(format!("tunnet-{label}"))
                .enable_all()
                .build()?;
            let (stack, impair) = runtime.block_on(async {
                let tun = match (medium, offload) {
                    (_, Offload::All) => TunDevice::open_offload(device, medium)?,
                    (_, Offload::BigTcp) => TunDevice::open_offload(device, medium)?.with_big_tcp(),
                    (Medium::Ip, Offload::None) => TunDevice::open(device)?,
                    (Medium::Ethernet, Offload::None) => TunDevice::open_tap(device)?,
                };
                tun.configure(peer, peer6)?;
                let link = Capture::create(tun, path, device)?;
                Ok::<_, io::Error>(match impairments {
                    None => (Stack::new(link, config), None),
                    Some(impairments) => {
                        let link = Impair::new(link, impairments)?;
                        let counters = link.stats_handle();
                        (Stack::new(link, config), Some(counters))
                    }
                })
            })?;
            Ok((runtime, stack, impair))
        })??;
        Ok(TunNet {
            stack,
            medium,
            impair,
            runtime: Some(runtime),
            ns,
            capture,
        })
    }

    /// Our stack, for creating sockets on it (inside [`TunNet::block_on`]).
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Starts the course's UDP echo server on our stack, bound to `addr` (`0.0.0.0:7`, or
    /// `[::]:7` for both versions): every datagram back to its sender, until the net stops.
    ///
    /// # Panics
    ///
    /// When the port cannot be bound, or the namespace cannot be entered.
    pub fn start_udp_echo(&self, addr: &str) {
        let stack = self.stack();
        self.block_on(async {
            let socket = tunstack::UdpSocket::bind(stack, addr)
                .await
                .unwrap_or_else(|err| panic!("bind {addr}: {err}"));
            tokio::spawn(async move {
                let mut buf = vec![0; 65_536];
                while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                    let _ = socket.send_to(&buf[..n], from).await;
                }
            });
        })
        .unwrap_or_else(|err| panic!("{err}"));
    }

    /// What the impairments have done so far, per direction; `None` unless the net was made by
    /// [`TunNet::start_impaired`].
    pub fn impair_stats(&self) -> Option<ImpairStats> {
        self.impair.as_ref().map(StatsHandle::get)
    }

    /// The namespace.
    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// The pcapng file every packet on `tun0` goes to. It is complete after [`TunNet::stop`].
    pub fn capture_path(&self) -> &Path {
        self.capture.path()
    }

    /// Runs `future` to completion on a thread inside the namespace, on the stack's runtime:
    /// `tokio::spawn`, `tokio::time` and our sockets work in it, and the std sockets it creates
    /// are Linux sockets in the namespace. Blocking calls in `future` itself do not hold up the
    /// stack, whose driver runs on the runtime's worker threads.
    ///
    /// A panic in `future` reaches the caller. Errors: the namespace cannot be entered, the net
    /// was stopped, or `future` has not finished after 30 s (`TimedOut`).
    pub fn block_on<F>(&self, future: F) -> io::Result<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        self.block_on_within(BLOCK_ON_LIMIT, future)
    }

    /// [`TunNet::block_on`] with another time limit than 30 s, for a test that knows it takes
    /// longer (a transfer through a lossy link).
    pub fn block_on_within<F>(&self, limit: Duration, future: F) -> io::Result<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the TunNet was stopped"))?;
        let limited = async { tokio::time::timeout(limit, future).await };
        self.ns.run(|| runtime.block_on(limited))?.map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the test's async code ran for more than {limit:?}"),
            )
        })
    }

    /// Runs `f` on a thread inside the namespace and returns what it returns: for making Linux
    /// sockets (`std::net`) and starting Linux-side threads there.
    pub fn run<F, R>(&self, f: F) -> io::Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        self.ns.run(f)
    }

    /// A Linux UDP socket bound to `addr` inside the namespace, e.g. `(KERNEL, 0)`, with
    /// 3-second timeouts: see [`crate::linux_udp`].
    pub fn linux_udp(&self, addr: impl Into<SocketAddr>) -> io::Result<std::net::UdpSocket> {
        crate::linux_udp(&self.ns, addr)
    }

    /// A Linux TCP connection to `addr` from inside the namespace, with 3-second timeouts: see
    /// [`crate::linux_tcp_connect`].
    pub fn linux_tcp_connect(&self, addr: impl Into<SocketAddr>) -> io::Result<TcpStream> {
        crate::linux_tcp_connect(&self.ns, addr)
    }

    /// A Linux TCP listener on `addr` inside the namespace, e.g. `(KERNEL, 0)`: see
    /// [`crate::linux_tcp_listener`].
    pub fn linux_tcp_listener(&self, addr: impl Into<SocketAddr>) -> io::Result<TcpListener> {
        crate::linux_tcp_listener(&self.ns, addr)
    }

    /// A command that runs `program args...` inside the namespace (`ip netns exec`); run it with
    /// [`crate::output_within`] so that it cannot hang the test.
    pub fn exec(&self, program: &str, args: &[&str]) -> Command {
        self.ns.exec(program, args)
    }

    /// Waits up to `limit` until each of our stack's TCP connections is gone, CLOSED or in
    /// TIME-WAIT: no handshake, transfer or close still under way. After that every segment of
    /// their closing handshakes has passed the device (so it is in the capture), and stopping
    /// the stack cuts nothing short. The error lists the connections that were not done.
    pub fn wait_for_tcp_closes(&self, limit: Duration) -> Result<(), Vec<ConnInfo>> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let busy: Vec<ConnInfo> = self
                .stack
                .tcp_connections()
                .into_iter()
                .filter(|c| !matches!(c.state, State::Closed | State::TimeWait))
                .collect();
            if busy.is_empty() {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(busy);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the stack: shuts its runtime down (waiting up to 2 s for tasks still running),
    /// which ends the driver task and with it closes the TUN device and the capture file. The
    /// capture is then complete; the namespace stays until the `TunNet` is dropped.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(SHUTDOWN_LIMIT);
        }
    }
}

impl Drop for TunNet {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;
    use std::sync::Mutex;

    use super::*;
    use crate::{output_within, tun_tests_can_run};

    /// The calling thread's network namespace, by inode: equal inodes, same namespace.
    fn current_namespace() -> u64 {
        std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
    }

    fn namespace_listed(name: &str) -> bool {
        let list = output_within(
            Command::new("ip").args(["netns", "list"]),
            Duration::from_secs(5),
        )
        .unwrap();
        String::from_utf8_lossy(&list.stdout)
            .lines()
            .any(|line| line.split_whitespace().next() == Some(name))
    }

    #[test]
    fn test_code_runs_inside_the_namespace_and_drop_removes_it() {
        if !tun_tests_can_run() {
            return;
        }
        let host = current_namespace();
        let net = TunNet::start("tunnet-inside").unwrap();
        let inside = net.run(current_namespace).unwrap();
        assert_ne!(inside, host);
        let seen = net
            .block_on(async {
                let worker = tokio::spawn(async { current_namespace() });
                let blocking = tokio::task::spawn_blocking(current_namespace);
                [
                    current_namespace(),
                    worker.await.unwrap(),
                    blocking.await.unwrap(),
                ]
            })
            .unwrap();
        assert_eq!(
            seen, [inside; 3],
            "block_on, a spawned task, a blocking task"
        );
        assert_eq!(current_namespace(), host, "the test's own thread stays out");

        let addrs = output_within(
            &mut net.exec("ip", &["-o", "addr", "show", "dev", DEVICE]),
            Duration::from_secs(5),
        )
        .unwrap();
        let addrs = String::from_utf8_lossy(&addrs.stdout);
        assert!(addrs.contains("inet 10.77.0.1/24"), "{addrs}");
        let linux = net.linux_udp((KERNEL, 0)).unwrap();
        assert_eq!(linux.local_addr().unwrap().ip(), KERNEL);

        let name = net.ns().name().to_owned();
        let capture = net.capture_path().to_owned();
        assert!(namespace_listed(&name));
        assert!(capture.exists());
        drop(net);
        assert!(!namespace_listed(&name), "{name} is gone");
        assert!(!capture.exists(), "{} is gone", capture.display());
    }

    #[test]
    fn a_failing_test_cleans_up_too() {
        if !tun_tests_can_run() {
            return;
        }
        let left = Mutex::new(None);
        let result = std::panic::catch_unwind(|| {
            let net = TunNet::start("tunnet-panic").unwrap();
            *left.lock().unwrap() =
                Some((net.ns().name().to_owned(), net.capture_path().to_owned()));
            net.block_on(async { panic!("an assertion failed") })
        });
        assert!(result.is_err(), "the panic reaches the test");
        let (name, capture) = left.lock().unwrap().take().unwrap();
        assert!(!namespace_listed(&name), "{name} is gone");
        assert!(!capture.exists(), "{} is gone", capture.display());
    }

    #[test]
    fn a_stopped_net_says_so() {
        if !tun_tests_can_run() {
            return;
        }
        let mut net = TunNet::start("tunnet-stopped").unwrap();
        net.stop();
        let err = net.block_on(async {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
    }
}
