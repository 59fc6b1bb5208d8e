//! dns-lookup: the course's `measure_dns_lookup`, on our own stack.
//!
//! The course times `socket.getaddrinfo(hostname, 80)`: the question "what is this name's
//! address?" put to the system's resolver, which asks a name server unless it already knows.
//! This demo is that resolver, a stub resolver on our UDP sockets
//! (`tunstack_demos::dns::resolver`), asking a name server on the kernel's side of the TUN
//! device, and it prints each lookup as the course does, with how the answer came:
//!
//! ```text
//! www.course.test → 10.77.0.1, fd77::1 (0.52ms)    over UDP, 1 query each for A and AAAA
//! www.course.test → 10.77.0.1, fd77::1 (0.05ms)    from the cache, TTL 59 s left (for A and AAAA)
//! localhost → 127.0.0.1, ::1 (0.00ms)    never leaves the machine: localhost is this host
//! ```
//!
//! Each name is looked up `--repeat` times, `--interval` apart: the second lookup comes from
//! the cache, until the answer's TTL runs out. A query that gets no answer is sent again after
//! a wait that doubles each time (`--timeout`, `--tries`); an answer too big for a UDP datagram
//! comes back truncated, and the lookup asks again over TCP.
//!
//! ```text
//! # a name server on the kernel side: dnsmasq, answering for course.test from its own records
//! dnsmasq --no-daemon --no-resolv --no-hosts --port 53 --listen-address 10.77.0.1 \
//!     --bind-dynamic --local-ttl 60 --host-record www.course.test,10.77.0.1 &
//! sudo dns-lookup www.course.test nope.course.test localhost
//! ```

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tunstack_demos::dns::resolver::{parse_server, Lookup, LookupError, Patience, Resolver};
use tunstack_demos::dns::{Name, RecordType};
use tunstack_demos::{
    exit_with, finish_client, init_logging, millis, parse_duration, shutdown_signal, start_on_tun,
    TunOptions,
};

/// A DNS stub resolver on tunstack: times lookups as the course's measure_dns_lookup does.
///
/// Creates a TUN device (TAP with --tap; the kernel side gets --peer and --peer6, our stack
/// --addr and --addr6) and asks the name server at --server (the kernel side, port 53, by
/// default) for each NAME's addresses (A, and AAAA when IPv6 is on, as getaddrinfo does), or
/// for --type records, printing each answer, how long it took and how it came: over UDP, over
/// TCP after a truncated answer, or from the cache. Needs CAP_NET_ADMIN (run it with sudo).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "A name server must listen on the kernel side (the TUN device and its \
                  addresses only appear when dns-lookup starts, so let it bind them as they \
                  come), e.g. dnsmasq answering for www.course.test:\n  \
                  dnsmasq --no-daemon --no-resolv --no-hosts --listen-address 10.77.0.1 \
                  --bind-dynamic --local-ttl 60 --host-record www.course.test,10.77.0.1\n\
                  Then, in another shell: sudo dns-lookup www.course.test\n\
                  Or our own name server on a second device: see dns-server --help."
)]
struct Args {
    #[command(flatten)]
    tun: TunOptions,

    /// The names to look up.
    #[arg(default_value = "www.course.test", value_name = "NAME")]
    names: Vec<Name>,

    /// The name server to ask: an address, with a port if not 53 (`10.77.0.1`, `fd77::1`,
    /// `10.77.0.1:5353`, `[fd77::1]:5353`); the kernel side's IPv4 address by default.
    #[arg(long, value_name = "ADDR", value_parser = parse_server)]
    server: Option<SocketAddr>,

    /// Ask for records of this type (A, AAAA, CNAME, TXT, NS, SOA, MX...) instead of the
    /// addresses.
    #[arg(long = "type", value_name = "TYPE")]
    qtype: Option<RecordType>,

    /// How many times to look each name up: the first goes to the server, the others come
    /// from the cache while the answer's TTL lasts.
    #[arg(long, default_value_t = 2, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,

    /// How long to wait between one round of lookups and the next (e.g. past a TTL: 61s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    interval: Option<Duration>,

    /// How long to wait for the first query's answer; each retry waits twice as long, plus
    /// up to half again of random jitter.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration)]
    timeout: Duration,

    /// How many queries to send over UDP before giving up.
    #[arg(long, default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10))]
    tries: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    let server = args
        .server
        .unwrap_or_else(|| SocketAddr::new(args.tun.peer.address().into(), 53));
    args.tun
        .check_reachable("--server", server.ip())
        .unwrap_or_else(|err| exit_with(&format!("dns-lookup: {err}")));
    let net = start_on_tun("dns-lookup", &args.tun).unwrap_or_else(|err| exit_with(&err));
    let shutdown = shutdown_signal();
    if let Err(err) = net.stack.addresses_ready().await {
        exit_with(&format!("dns-lookup: {err}"));
    }
    println!(
        "dns-lookup ready: {} {}, asking the name server at {server}",
        net.our_addrs(),
        net.on_device()
    );
    println!(
        "try: dns-lookup www.course.test localhost --repeat 3; a name server must listen on \
         {server} (see --help)"
    );
    if let Some(line) = net.impairments_line() {
        println!("{line}");
    }
    let patience = Patience {
        timeout: args.timeout,
        tries: args.tries,
    };
    let mut resolver = Resolver::new(&net.stack, server, patience, None);
    let ipv6 = net.stack.addr6().is_some();
    finish_client("dns-lookup", &net, shutdown, async {
        let failed = run(&mut resolver, &args, ipv6).await;
        match failed {
            0 => Ok(()),
            n => Err(std::io::Error::other(format!("{n} lookups failed"))),
        }
    })
    .await
}

/// Every round of lookups; returns how many failed.
async fn run(resolver: &mut Resolver, args: &Args, ipv6: bool) -> u32 {
    let mut failed = 0;
    for round in 0..args.repeat {
        if round > 0 {
            if let Some(interval) = args.interval {
                println!("(waiting {:.1} s)", interval.as_secs_f64());
                tokio::time::sleep(interval).await;
            }
        }
        for name in &args.names {
            let result = match args.qtype {
                Some(qtype) => resolver.lookup(name, qtype).await,
                None => resolver.lookup_host(name, ipv6).await,
            };
            match result {
                Ok(lookup) => print_lookup(&lookup, args.qtype.is_some()),
                Err(err) => {
                    failed += 1;
                    print_failure(name, &err);
                }
            }
        }
    }
    failed
}

/// The course's line, `name → address (ms)`, then how the answer came; with --type, the
/// records themselves.
fn print_lookup(lookup: &Lookup, records: bool) {
    let name = lookup.name.to_string();
    let name = name.trim_end_matches('.');
    let took = format!("({:.2}ms)", millis(lookup.took));
    let shown = match records {
        true => lookup
            .records
            .iter()
            .filter(|record| record.rtype() == lookup.qtype)
            .map(|record| record.data.to_string())
            .collect::<Vec<_>>(),
        false => lookup.addrs().iter().map(IpAddr::to_string).collect(),
    };
    let value = match shown.is_empty() {
        true => format!("no {} record", lookup.qtype),
        false => shown.join(", "),
    };
    let canonical = lookup.canonical_name();
    let alias = match *canonical != lookup.name {
        true => format!(" (an alias: CNAME {canonical})"),
        false => String::new(),
    };
    println!("{name} → {value} {took}    {}{alias}", lookup.how());
}

fn print_failure(name: &Name, err: &LookupError) {
    let name = name.to_string();
    println!("DNS lookup failed: {}: {err}", name.trim_end_matches('.'));
}
