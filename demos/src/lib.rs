//! What every demo shares: the command-line options for a TUN or TAP device (and for impairing
//! it on purpose), setting the device up, logging, and waiting for Ctrl-C.
//!
//! A demo puts our stack on one side of a TUN device and the Linux kernel on the other, each
//! with an IPv4 and an IPv6 address (dual stack; `--no-ipv6` for IPv4 alone):
//!
//! ```text
//!   your shell (ping, nc, curl)            the demo program
//!   ┌───────────────────────────┐           ┌──────────────────────────┐
//!   │ Linux TCP/IP, 10.77.0.1   │◄── tun0 ─►│ tunstack, 10.77.0.2      │
//!   │               fd77::1     │           │           fd77::2        │
//!   └───────────────────────────┘           └──────────────────────────┘
//! ```
//!
//! With `--tap` the device is a TAP device, `tap0`, and what crosses it is one layer lower:
//! Ethernet frames. The kernel then treats it as a network card, asks for our MAC address with
//! ARP before it sends us anything, and is our gateway (see [`TunOptions::tap`]).
//!
//! [`http`] holds the pieces of the two HTTP demos, `http-server` and `http-get`; [`dns`] the DNS
//! message codec (RFC 1035, written by hand) and what `dns-server` answers with it.

use std::future::Future;
pub mod encap;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tunstack::device::impair::{ImpairConfig, ImpairStats, StatsHandle};
use tunstack::device::{Capture, Device, Impair, Medium, TunDevice};
use tunstack::{Config, Ipv4Cidr, Ipv6Cidr, Stack};

pub mod dns;
pub mod http;
mod impair;
pub mod ladder;
mod options;
pub mod tls;

pub use impair::{parse_percent, parse_rate, parse_time, ImpairDirection, ImpairOptions};
pub use options::{
    check_addresses, check_addresses6, parse_mac, TunOptions, DEFAULT_ADDR6, DEFAULT_PEER6,
};

/// A stack running on a TUN or TAP device, ready for sockets.
pub struct TunStack {
    /// The stack.
    pub stack: Stack,
    /// The device's name, as the kernel gave it.
    pub device: String,
    /// The kernel side's address and the network both sides are on (`--peer`).
    pub peer: Ipv4Cidr,
    /// The kernel side's IPv6 address and network (`--peer6`); `None` when IPv6 is off.
    pub peer6: Option<Ipv6Cidr>,
    /// The impairments on the device and their counters, when any were asked for.
    pub impaired: Option<(ImpairConfig, StatsHandle)>,
}

impl TunStack {
    /// Where the stack runs, for a demo's ready line: `on tun0 (kernel side 10.77.0.1/24 and
    /// fd77::1/64)`, without the IPv6 address when IPv6 is off, and on a TAP device with our MAC
    /// address after it: `on tap0 (kernel side 10.77.0.1/24), our MAC 02:00:0a:4d:00:02`.
    pub fn on_device(&self) -> String {
        let mut text = format!("on {} (kernel side {}", self.device, self.peer);
        if let Some(peer6) = self.peer6 {
            text.push_str(&format!(" and {peer6}"));
        }
        text.push(')');
        if let Some(mac) = self.stack.mac() {
            text.push_str(&format!(", our MAC {mac}"));
        }
        text
    }

    /// Our addresses, IPv4 first: `10.77.0.2 and fd77::2`, or `10.77.0.2` with IPv6 off.
    pub fn our_addrs(&self) -> String {
        let addr = self.stack.addr();
        match self.stack.addr6() {
            Some(addr6) => format!("{addr} and {addr6}"),
            None => addr.to_string(),
        }
    }

    /// Our addresses with a port, as a client writes them: `10.77.0.2:7 and [fd77::2]:7`
    /// (an IPv6 address in brackets, so that its colons are not taken for the port's).
    pub fn our_endpoints(&self, port: u16) -> String {
        let addr = self.stack.addr();
        match self.stack.addr6() {
            Some(addr6) => format!("{addr}:{port} and [{addr6}]:{port}"),
            None => format!("{addr}:{port}"),
        }
    }

    /// Our address of `to`'s version, with `port`: what a client's packets to `to` come from,
    /// e.g. `10.77.0.2:51234`, or `[fd77::2]:51234` toward an IPv6 address.
    pub fn our_endpoint_toward(&self, to: IpAddr, port: u16) -> std::net::SocketAddr {
        match (to, self.stack.addr6()) {
            (IpAddr::V6(_), Some(addr6)) => (addr6, port).into(),
            _ => (self.stack.addr(), port).into(),
        }
    }

    /// Where a server listens to take clients of every IP version the stack speaks: `::` (the
    /// IPv6 "any address", which takes IPv4 clients too, as on Linux: they show as
    /// `[::ffff:10.77.0.1]:port`) with IPv6 on, `0.0.0.0` without.
    pub fn any_addr(&self) -> IpAddr {
        match self.peer6 {
            Some(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    /// A line for the ready banner, e.g. "impairments: loss 5%, delay 50 ms both ways (seed 0)";
    /// `None` when the device is not impaired.
    pub fn impairments_line(&self) -> Option<String> {
        let (config, _) = self.impaired.as_ref()?;
        Some(format!("impairments: {config}"))
    }

    /// What the impairments have done so far, when the device is impaired.
    pub fn impair_stats(&self) -> Option<ImpairStats> {
        self.impaired.as_ref().map(|(_, stats)| stats.get())
    }
}

/// Sets up logging for a demo: `info` by default, `RUST_LOG` to see more (e.g.
/// `RUST_LOG=tunstack=debug` shows every packet wrapped and unwrapped, layer by layer).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Creates the TUN device (a TAP device with `--tap`), gives the kernel side its addresses
/// (IPv4, and IPv6 unless it is off: see [`TunOptions::ipv6`]), brings it up and starts our
/// stack on it, with both addresses too. The error is one line, meant for the user.
///
/// On TAP the stack also gets its MAC address (`--mac`, or [`Config::mac_for`] our address)
/// and the kernel's side as its gateway: the kernel is the only other host on the link, and a
/// router, so an address off the network is reached through it (or reported unreachable by
/// it), as on a host whose default route points at the router next door.
///
/// With `--capture`, the device is wrapped in a [`Capture`]; with impairments, in an [`Impair`]
/// outside that, so the capture shows what crossed the device (`Impair<Capture<TunDevice>>`).
/// The capture's link type follows the device: raw IP on TUN, Ethernet on TAP.
pub fn start_on_tun(program: &str, opts: &TunOptions) -> Result<TunStack, String> {
    check_addresses(opts.addr, opts.peer).map_err(|err| format!("{program}: {err}"))?;
    let ipv6 = opts.ipv6();
    if let Some((addr6, peer6)) = ipv6 {
        check_addresses6(addr6, peer6).map_err(|err| format!("{program}: {err}"))?;
    }
    let link = open_device(program, opts)?;
    let device = link.name().to_string();
    link.configure(opts.peer, ipv6.map(|(_, peer6)| peer6))
        .map_err(|err| format!("{program}: setting up {device}: {err}"))?;
    let addr = Ipv4Cidr::new(opts.addr, opts.peer.prefix_len())
        .ok_or_else(|| format!("{program}: bad prefix length"))?;
    let link: Box<dyn Device> = match &opts.capture {
        Some(path) => Box::new(
            Capture::create(link, path, &device)
                .map_err(|err| format!("{program}: cannot write {}: {err}", path.display()))?,
        ),
        None => Box::new(link),
    };
    let (link, impaired): (Box<dyn Device>, _) = match opts.impair.config() {
        Some(config) => {
            let impair = Impair::new(link, config.clone())
                .map_err(|err| format!("{program}: impairments: {err}"))?;
            let stats = impair.stats_handle();
            (Box::new(impair), Some((config, stats)))
        }
        None => (link, None),
    };
    // Stack::new takes the medium (bare IP or Ethernet) from the device; the MAC address and
    // the gateways only matter on Ethernet.
    let mut config = Config::new(addr);
    if let Some((addr6, _)) = ipv6 {
        config = config.with_ipv6(addr6);
    }
    if opts.tap {
        if let Some(mac) = opts.mac {
            config.mac = mac;
        }
        config.gateway = Some(opts.peer.address());
        config.gateway6 = ipv6.map(|(_, peer6)| peer6.address());
    }
    Ok(TunStack {
        stack: Stack::new(link, config),
        device,
        peer: opts.peer,
        peer6: ipv6.map(|(_, peer6)| peer6),
        impaired,
    })
}

/// Creates the TUN or TAP device the options name; the error says what to do about it.
fn open_device(program: &str, opts: &TunOptions) -> Result<TunDevice, String> {
    let name = opts.device_name();
    let kind = opts.kind();
    let medium = if opts.tap {
        Medium::Ethernet
    } else {
        Medium::Ip
    };
    let opened = match (opts.offload, opts.tap) {
        (true, _) if opts.big_tcp => {
            TunDevice::open_offload(name, medium).map(|d| d.with_big_tcp())
        }
        (true, _) => TunDevice::open_offload(name, medium),
        (false, true) => TunDevice::open_tap(name),
        (false, false) => TunDevice::open(name),
    };
    opened.map_err(|err| match err.kind() {
        std::io::ErrorKind::PermissionDenied => {
            format!("{program}: creating a {kind} device needs CAP_NET_ADMIN: run it with sudo")
        }
        // The name is taken (by another program's device, or another kind of interface), or
        // not a name Linux takes; the error ends in "choose another name", and this is how.
        std::io::ErrorKind::ResourceBusy | std::io::ErrorKind::InvalidInput => {
            format!(
                "{program}: {err} with --tun NAME, e.g. --tun {}",
                other_name(opts.tap, name)
            )
        }
        _ => format!("{program}: {err}"),
    })
}

/// A device name to suggest when `taken` cannot be had: one of ours that is not it.
fn other_name(tap: bool, taken: &str) -> &'static str {
    let (first, second) = match tap {
        false => ("tunstack0", "tunstack1"),
        true => ("tapstack0", "tapstack1"),
    };
    if taken == first {
        second
    } else {
        first
    }
}

/// Prints `message` and exits with status 1: how demos report a set-up error.
pub fn exit_with(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}

/// Starts listening for Ctrl-C (SIGINT) and SIGTERM now, and returns a future that completes
/// when either arrives.
///
/// Call it once, before the demo says it is ready, and keep the future across loop iterations
/// (`tokio::pin!`, then `&mut shutdown` in `select!`): a signal is only seen by a listener that
/// exists when it arrives, so a listener made anew in each iteration misses a Ctrl-C that comes
/// while the loop body runs, and the demo does not stop. A signal whose listener cannot be set
/// up keeps its default action, which ends the process.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, Signal, SignalKind};

    async fn next(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            _ = next(interrupt) => {}
            _ = next(terminate) => {}
        }
    }
}

/// How a server demo ends once its loop is over: prints `{program}: {summary}` and the
/// counters (the stack's and the impairments'), after the reason if the stack stopped on its own
/// (`failure`, from [`Stack::stopped`]: e.g. "tcp-echo: the link went down: tun0 was deleted
/// (...)"). Returns the exit code: success after Ctrl-C, failure when the stack stopped.
pub fn exit_server(
    program: &str,
    net: &TunStack,
    failure: Option<std::io::Error>,
    summary: &str,
) -> std::process::ExitCode {
    if let Some(err) = &failure {
        eprintln!("{program}: {err}");
    }
    eprintln!("{program}: {summary}\n{}", net.stack.stats());
    if let Some(stats) = net.impair_stats() {
        eprintln!("{stats}");
    }
    match failure {
        Some(_) => std::process::ExitCode::FAILURE,
        None => std::process::ExitCode::SUCCESS,
    }
}

/// Waits up to `limit` until each of the stack's TCP connections is gone, CLOSED or in
/// TIME-WAIT: their closing handshakes are over. A client calls it before it exits, because
/// closing a stream only starts the close (our FIN goes out, the peer's comes back later), and
/// the device and the stack disappear with the process. Returns whether they all finished.
pub async fn wait_for_closes(stack: &Stack, limit: Duration) -> bool {
    use tunstack::tcp::State;
    let done = || {
        stack
            .tcp_connections()
            .iter()
            .all(|c| matches!(c.state, State::Closed | State::TimeWait))
    };
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// How long a client waits, when its work is done, for its connections to finish closing.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Runs a client demo's `work` until it ends, `shutdown` (Ctrl-C) comes or the stack stops
/// ([`Stack::stopped`]: its device was deleted); then lets its TCP connections finish closing
/// (up to 2 s: see [`wait_for_closes`]), prints the stack's counters and the impairments', and
/// returns the exit code: success, failure (the error printed first), or 130 after Ctrl-C, as a
/// shell reports a program stopped by SIGINT. `shutdown` is made before the demo says it is
/// ready, so that no Ctrl-C can come before it listens.
pub async fn finish_client(
    program: &str,
    net: &TunStack,
    shutdown: impl Future<Output = ()>,
    work: impl Future<Output = std::io::Result<()>>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let code = tokio::select! {
        biased;
        // First: when the stack stops, `work` fails too, with less to say.
        err = net.stack.stopped() => {
            eprintln!("{program}: {err}");
            ExitCode::FAILURE
        }
        result = work => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("{program}: {err}");
                ExitCode::FAILURE
            }
        },
        _ = shutdown => {
            eprintln!("{program}: interrupted");
            ExitCode::from(130)
        }
    };
    // A stopped stack has failed its connections: there is nothing to wait for.
    if net.stack.error().is_none() && !wait_for_closes(&net.stack, CLOSE_WAIT).await {
        eprintln!("{program}: not every connection finished closing; leaving anyway");
    }
    eprintln!("{program}: done\n{}", net.stack.stats());
    if let Some(stats) = net.impair_stats() {
        eprintln!("{stats}");
    }
    code
}

/// Milliseconds, for printing a duration as the course does (`elapsed * 1000`).
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The course's retry schedule (`call_with_retry`): before retry number `retry` (from 0), wait
/// `base * 2^retry` (0.5 s, 1 s, 2 s, 4 s... for a base of 0.5 s), plus a random jitter of up to
/// half of that, so that clients that failed together do not all retry together.
pub fn backoff_delay(base: Duration, retry: u32, rng: &mut fastrand::Rng) -> Duration {
    let backoff = base.saturating_mul(2u32.saturating_pow(retry));
    backoff.saturating_add(backoff.mul_f64(rng.f64() * 0.5))
}

/// Parses a duration given on the command line: seconds (`1`, `0.25`, `2s`) or milliseconds
/// (`200ms`). It must be positive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.strip_suffix("ms") {
        Some(number) => (number, 1e-3),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 1, 0.5, 2s or 200ms"))?;
    match Duration::try_from_secs_f64(value * unit) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!("`{text}` is not a positive duration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_with_up_to_half_again_of_jitter() {
        let mut rng = fastrand::Rng::with_seed(1);
        let base = Duration::from_millis(500);
        for (retry, secs) in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)] {
            for _ in 0..100 {
                let delay = backoff_delay(base, retry, &mut rng).as_secs_f64();
                assert!(
                    (secs..=secs * 1.5).contains(&delay),
                    "retry {retry}: {delay} s"
                );
            }
        }
        let far = backoff_delay(base, 200, &mut rng);
        assert!(far >= Duration::from_secs(3600), "saturates, no overflow");
    }

    #[tokio::test]
    async fn a_signal_that_comes_before_the_wait_is_not_lost() {
        let shutdown = shutdown_signal();
        // Ctrl-C while the demo is busy elsewhere (echoing a datagram), not yet awaiting.
        // SAFETY: raise(3) takes an integer; the listener above has replaced the default action.
        assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
        tokio::time::timeout(Duration::from_secs(5), shutdown)
            .await
            .expect("the earlier SIGINT ends the wait");
    }

    #[test]
    fn a_suggested_name_is_not_the_taken_one() {
        assert_eq!(other_name(false, "tun0"), "tunstack0");
        assert_eq!(other_name(false, "tunstack0"), "tunstack1");
        assert_eq!(other_name(true, "tap0"), "tapstack0");
        assert_eq!(other_name(true, "tapstack0"), "tapstack1");
    }

    #[test]
    fn durations_in_seconds_or_milliseconds() {
        assert_eq!(parse_duration("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        for bad in ["", "soon", "0", "-1", "1h", "NaN", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
