//! The journey's first step for a URL that names a host: DNS, through our stub resolver.

use std::io;
use std::net::SocketAddr;

use tunstack::Stack;
use tunstack_demos::dns::resolver::{Lookup, Patience, Resolver};
use tunstack_demos::dns::Name;
use tunstack_demos::http::url::Host;
use tunstack_demos::millis;

use crate::Args;

/// The journey's first step: the URL's host name turned into an address by our stub resolver
/// asking `dns` (A, and AAAA with IPv6 on, as getaddrinfo does; the first address given is
/// used). A URL that names an address needs no lookup.
pub async fn resolve(
    stack: &Stack,
    args: &Args,
    dns: SocketAddr,
) -> io::Result<(SocketAddr, Option<Lookup>)> {
    let name = match &args.url.host {
        Host::Addr(ip) => return Ok((SocketAddr::new(*ip, args.url.port), None)),
        Host::Name(name) => name,
    };
    let name: Name = name
        .parse()
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: {err}")))?;
    let mut resolver = Resolver::new(stack, dns, Patience::default(), None);
    let lookup = resolver
        .lookup_host(&name, stack.addr6().is_some())
        .await
        .map_err(|err| {
            io::Error::new(io::ErrorKind::NotFound, format!("DNS lookup failed: {err}"))
        })?;
    let Some(ip) = lookup.addrs().first().copied() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("DNS lookup failed: {} has no address", args.url.host),
        ));
    };
    if ip.is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is {ip}, the loopback address: this machine's own, which a TUN device \
                 does not reach; name the kernel side instead (e.g. 10.77.0.1)",
                args.url.host
            ),
        ));
    }
    let addrs: Vec<String> = lookup.addrs().iter().map(|a| a.to_string()).collect();
    println!(
        "DNS: {} → {} ({:.2} ms, {}; asked {dns})",
        args.url.host,
        addrs.join(", "),
        millis(lookup.took),
        lookup.how()
    );
    Ok((SocketAddr::new(ip, args.url.port), Some(lookup)))
}
