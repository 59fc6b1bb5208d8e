//! What every demo shares: the command-line options for a TUN or TAP device (and for impairing
//! it on purpose), setting the device up, logging, and waiting for Ctrl-C.
//!
//! A demo puts our stack on one side of a TUN device and the Linux kernel on the other:
//!
//! ```text
//!   your shell (ping, nc, curl)            the demo program
//!   ┌───────────────────────────┐          ┌──────────────────────────┐
//!   │ Linux TCP/IP, 10.77.0.1   │◄── tun0 ─►│ tunstack, 10.77.0.2      │
//!   └───────────────────────────┘          └──────────────────────────┘
//! ```
//!
//! With `--tap` the device is a TAP device, `tap0`, and what crosses it is one layer lower:
//! Ethernet frames. The kernel then treats it as a network card, asks for our MAC address with
//! ARP before it sends us anything, and is our gateway (see [`TunOptions::tap`]).
//!
//! [`http`] holds the pieces of the two HTTP demos, `http-server` and `http-get`.

use std::future::Future;
pub mod encap;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use tunstack::device::impair::{ImpairConfig, ImpairStats, StatsHandle};
use tunstack::device::{Capture, Device, Impair, TunDevice};
use tunstack::link::ethernet::MacAddr;
use tunstack::{Config, Ipv4Cidr, Stack};

pub mod http;
mod impair;
pub mod ladder;

pub use impair::{parse_percent, parse_rate, parse_time, ImpairDirection, ImpairOptions};

/// Options every TUN demo takes: the device (TUN, or TAP with `--tap`), the two addresses, a
/// capture and impairments.
#[derive(clap::Args, Debug, Clone)]
pub struct TunOptions {
    /// Name of the device to create [default: tun0, or tap0 with --tap]. Choose another when
    /// the name is taken (by another program's device: OpenVPN's default is tun0 too).
    #[arg(long, value_name = "NAME")]
    pub tun: Option<String>,

    /// Make a TAP device instead of TUN: the kernel and our stack exchange Ethernet frames and
    /// find each other's MAC address with ARP (see `ip neigh`, `arping -I tap0 10.77.0.2`), and
    /// the capture has the frames. The kernel's side is our gateway too: packets for addresses
    /// off --peer's network go to it, which takes those that are its own (this machine's other
    /// addresses) and routes the rest if forwarding is on.
    #[arg(long)]
    pub tap: bool,

    /// Our MAC address on the TAP device: a unicast address (even first octet; 02 marks one
    /// made up locally), e.g. 02:aa:bb:cc:dd:ee [default: 02:00 and --addr's four bytes,
    /// 02:00:0a:4d:00:02 for 10.77.0.2]. Only with --tap: a TUN device carries bare IP
    /// packets, with no MAC addresses.
    #[arg(long, value_name = "MAC", requires = "tap", value_parser = parse_mac)]
    pub mac: Option<MacAddr>,

    /// The stack's own IPv4 address (the demo's side of the device): a host address on
    /// --peer's network other than the kernel's, not its network or broadcast address.
    #[arg(long, default_value = "10.77.0.2", value_name = "IP")]
    pub addr: Ipv4Addr,

    /// The kernel side's address and prefix, given to the device (the network both sides are on).
    #[arg(long, default_value = "10.77.0.1/24", value_name = "IP/PREFIX")]
    pub peer: Ipv4Cidr,

    /// Write every packet to this pcapng file (open it in Wireshark, even while the demo runs).
    /// With impairments, it records what crossed the device: a lost outbound packet is a gap.
    /// With --tap, every frame: Ethernet headers and ARP included.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,

    /// Loss, delay, a bottleneck...: see the "Impairments" options.
    #[command(flatten)]
    pub impair: ImpairOptions,
}

impl TunOptions {
    /// The device's name: `--tun NAME`, else `tun0`, or `tap0` with `--tap`.
    pub fn device_name(&self) -> &str {
        match (&self.tun, self.tap) {
            (Some(name), _) => name,
            (None, false) => "tun0",
            (None, true) => "tap0",
        }
    }

    /// What kind of device the options ask for, as the demos name it: "TUN" or "TAP".
    pub fn kind(&self) -> &'static str {
        if self.tap {
            "TAP"
        } else {
            "TUN"
        }
    }
}

/// Reads `--mac`: a MAC address that can be ours, that is one naming a single interface.
///
/// Refused with a sentence that says why and what would do: text that is not a MAC address
/// ([`MacAddr`]'s parser says what is wrong with it), a multicast address (the I/G bit, the
/// lowest bit of the first octet, is set: it names a group of interfaces, and the broadcast
/// address is one), and `00:00:00:00:00:00`, which means "no address" (an ARP request carries
/// it for the address it asks for). See [RFC 9542 section 2.1] for the two bits.
///
/// [RFC 9542 section 2.1]: https://www.rfc-editor.org/rfc/rfc9542#section-2.1
pub fn parse_mac(text: &str) -> Result<MacAddr, String> {
    let mac: MacAddr = text.trim().parse().map_err(|err| format!("{err}"))?;
    // The same address with the I/G bit cleared and the U/L bit set: unicast, made up locally.
    let mut octets = mac.octets();
    octets[0] = (octets[0] & !0x01) | 0x02;
    let unicast = MacAddr::new(octets);
    if mac.is_broadcast() {
        Err(format!(
            "{mac} is the broadcast address: frames to it go to every interface on the link, \
             and our address must name one; give a unicast address, e.g. 02:aa:bb:cc:dd:ee"
        ))
    } else if mac.is_multicast() {
        Err(format!(
            "{mac} is a multicast address (its first octet is odd: the I/G bit is set), which \
             names a group of interfaces, and our address must name one; give a unicast \
             address, e.g. {unicast} (that bit cleared, and the next one set: made up locally)"
        ))
    } else if mac == MacAddr::UNSPECIFIED {
        Err(format!(
            "{mac} means no address (an ARP request asks with it); give a unicast address, \
             e.g. 02:aa:bb:cc:dd:ee"
        ))
    } else {
        Ok(mac)
    }
}

/// A stack running on a TUN or TAP device, ready for sockets.
pub struct TunStack {
    /// The stack.
    pub stack: Stack,
    /// The device's name, as the kernel gave it.
    pub device: String,
    /// The kernel side's address and the network both sides are on (`--peer`).
    pub peer: Ipv4Cidr,
    /// The impairments on the device and their counters, when any were asked for.
    pub impaired: Option<(ImpairConfig, StatsHandle)>,
}

impl TunStack {
    /// Where the stack runs, for a demo's ready line: `on tun0 (kernel side 10.77.0.1/24)`, and
    /// on a TAP device with our MAC address after it: `on tap0 (kernel side 10.77.0.1/24), our
    /// MAC 02:00:0a:4d:00:02`.
    pub fn on_device(&self) -> String {
        let mut text = format!("on {} (kernel side {})", self.device, self.peer);
        if let Some(mac) = self.stack.mac() {
            text.push_str(&format!(", our MAC {mac}"));
        }
        text
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

/// Creates the TUN device (a TAP device with `--tap`), gives the kernel side its address,
/// brings it up and starts our stack on it. The error is one line, meant for the user.
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
    let name = opts.device_name();
    let kind = opts.kind();
    let opened = match opts.tap {
        true => TunDevice::open_tap(name),
        false => TunDevice::open(name),
    };
    let link = opened.map_err(|err| match err.kind() {
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
    })?;
    let device = link.name().to_string();
    link.configure(opts.peer, None)
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
    // the gateway only matter on Ethernet.
    let mut config = Config::new(addr);
    if opts.tap {
        if let Some(mac) = opts.mac {
            config.mac = mac;
        }
        config.gateway = Some(opts.peer.address());
    }
    Ok(TunStack {
        stack: Stack::new(link, config),
        device,
        peer: opts.peer,
        impaired,
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

/// Checks `--addr` (the stack's address) against `--peer` (the kernel's address and the
/// network) before any device is made. Both must be usable host addresses of the network: not
/// its network address, not its broadcast address (a /31 has neither, RFC 3021), and not each
/// other. A /32 is refused: it holds one host, and the two sides need an address each.
///
/// The error names the option, the address and what would do, e.g. "--addr: 10.77.0.255 is the
/// broadcast address of 10.77.0.0/24; usable host addresses are 10.77.0.1 to 10.77.0.254".
pub fn check_addresses(addr: Ipv4Addr, peer: Ipv4Cidr) -> Result<(), String> {
    if peer.prefix_len() == 32 {
        return Err(format!(
            "--peer: {peer} is a network of one host, and the kernel and the stack need an \
             address each: give a shorter prefix, e.g. {}/24 (or /31 for just the two)",
            peer.address()
        ));
    }
    peer.check_host(peer.address())
        .map_err(|err| format!("--peer: {err}"))?;
    peer.check_host(addr)
        .map_err(|err| format!("--addr: {err}"))?;
    if addr == peer.address() {
        let (first, last) = peer.hosts();
        let other = if first == addr { last } else { first };
        return Err(format!(
            "--addr: {addr} is --peer's address, the kernel's side of the device; the stack \
             needs another address on {}/{}, e.g. {other}",
            peer.network(),
            peer.prefix_len()
        ));
    }
    Ok(())
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
    fn addr_and_peer_must_be_two_usable_hosts_of_one_network() {
        let peer = |s: &str| s.parse::<Ipv4Cidr>().unwrap();
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(
            check_addresses(ip("10.77.0.2"), peer("10.77.0.1/24")),
            Ok(())
        );
        assert_eq!(
            check_addresses(ip("10.77.0.254"), peer("10.77.0.1/24")),
            Ok(())
        );
        // RFC 3021: a /31's two addresses are both hosts'.
        assert_eq!(
            check_addresses(ip("10.77.0.0"), peer("10.77.0.1/31")),
            Ok(())
        );
        for (addr, peer_, words) in [
            (
                "10.77.0.255",
                "10.77.0.1/24",
                "--addr: 10.77.0.255 is the broadcast address of 10.77.0.0/24; usable host \
                 addresses are 10.77.0.1 to 10.77.0.254",
            ),
            (
                "10.77.0.0",
                "10.77.0.1/24",
                "--addr: 10.77.0.0 is the network address of 10.77.0.0/24; usable host \
                 addresses are 10.77.0.1 to 10.77.0.254",
            ),
            (
                "10.78.0.2",
                "10.77.0.1/24",
                "--addr: 10.78.0.2 is not on 10.77.0.0/24; usable host addresses are \
                 10.77.0.1 to 10.77.0.254",
            ),
            (
                "10.77.0.2",
                "10.77.0.255/24",
                "--peer: 10.77.0.255 is the broadcast address of 10.77.0.0/24; usable host \
                 addresses are 10.77.0.1 to 10.77.0.254",
            ),
            (
                "10.77.0.2",
                "10.77.0.0/24",
                "--peer: 10.77.0.0 is the network address of 10.77.0.0/24; usable host \
                 addresses are 10.77.0.1 to 10.77.0.254",
            ),
            (
                "10.77.0.1",
                "10.77.0.1/24",
                "--addr: 10.77.0.1 is --peer's address, the kernel's side of the device; the \
                 stack needs another address on 10.77.0.0/24, e.g. 10.77.0.254",
            ),
            (
                "10.77.0.1",
                "10.77.0.1/32",
                "--peer: 10.77.0.1/32 is a network of one host, and the kernel and the stack \
                 need an address each: give a shorter prefix, e.g. 10.77.0.1/24 (or /31 for \
                 just the two)",
            ),
        ] {
            let err = check_addresses(ip(addr), peer(peer_)).unwrap_err();
            assert_eq!(err, words, "--addr {addr} --peer {peer_}");
        }
    }

    #[test]
    fn a_mac_must_name_one_interface() {
        assert_eq!(
            parse_mac("02:aa:bb:cc:dd:ee").map(|m| m.to_string()),
            Ok("02:aa:bb:cc:dd:ee".to_string())
        );
        // Globally administered unicast is an address too (a card's own, copied).
        assert!(parse_mac("00:16:3E:12:34:56").is_ok());
        for (bad, words) in [
            (
                "01:00:5e:00:00:01",
                "01:00:5e:00:00:01 is a multicast address (its first octet is odd: the I/G bit \
                 is set), which names a group of interfaces, and our address must name one; \
                 give a unicast address, e.g. 02:00:5e:00:00:01 (that bit cleared, and the \
                 next one set: made up locally)",
            ),
            (
                "ff:ff:ff:ff:ff:ff",
                "ff:ff:ff:ff:ff:ff is the broadcast address: frames to it go to every \
                 interface on the link, and our address must name one; give a unicast \
                 address, e.g. 02:aa:bb:cc:dd:ee",
            ),
            (
                "00:00:00:00:00:00",
                "00:00:00:00:00:00 means no address (an ARP request asks with it); give a \
                 unicast address, e.g. 02:aa:bb:cc:dd:ee",
            ),
            (
                "02:aa:bb:cc:dd",
                "`02:aa:bb:cc:dd` has 5 groups of hex digits; a MAC address has 6, like \
                 02:00:00:77:00:02",
            ),
        ] {
            assert_eq!(parse_mac(bad), Err(words.to_string()), "{bad}");
        }
    }

    #[test]
    fn the_device_is_tun0_or_tap0_unless_named() {
        use clap::Parser;
        #[derive(Parser)]
        struct Args {
            #[command(flatten)]
            tun: TunOptions,
        }
        let parse = |args: &[&str]| {
            let all = std::iter::once("demo").chain(args.iter().copied());
            Args::try_parse_from(all).map(|args| args.tun)
        };
        let tun = parse(&[]).unwrap();
        assert_eq!(
            (tun.device_name(), tun.kind(), tun.mac),
            ("tun0", "TUN", None)
        );
        let tap = parse(&["--tap"]).unwrap();
        assert_eq!((tap.device_name(), tap.kind()), ("tap0", "TAP"));
        let named = parse(&["--tap", "--tun", "lab0", "--mac", "02:aa:bb:cc:dd:ee"]).unwrap();
        assert_eq!(named.device_name(), "lab0");
        assert_eq!(
            named.mac.map(|m| m.to_string()).as_deref(),
            Some("02:aa:bb:cc:dd:ee")
        );
        // --mac without --tap: a TUN device has no MAC addresses to set.
        let err = parse(&["--mac", "02:aa:bb:cc:dd:ee"]).err().unwrap();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
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
