//! Step 8: DNS, the journey's first step: before the client can connect to `www.course.test`,
//! it asks a name server for the name's address. The server runs the course's zone
//! (`Zone::course`, what the `dns-server` demo serves) on its UDP port 53; the client's stub
//! resolver (what `dns-lookup` and `http-get` use) asks it, one datagram each way, and keeps
//! the answer for as long as its TTL says.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tunstack::{Stack, UdpSocket};
use tunstack_demos::dns::answer::{answer, Transport};
use tunstack_demos::dns::resolver::{Lookup, LookupError, Patience, Resolver};
use tunstack_demos::dns::{Name, Zone};

use crate::net::{net, Wire, SERVER};
use crate::steps::ms;

/// The tour's name server: answers every query on UDP port 53 from the course's zone.
async fn serve(stack: Stack) -> io::Result<()> {
    let zone = Zone::course(SERVER, None);
    let socket = UdpSocket::bind(&stack, "0.0.0.0:53").await?;
    let mut buf = vec![0u8; 2048];
    loop {
        let (len, from) = socket.recv_from(&mut buf).await?;
        if let Some(reply) = answer(&zone, &buf[..len], Transport::Udp) {
            socket.send_to(&reply.bytes, from).await?;
        }
    }
}

fn print(lookup: &Lookup) {
    let name = lookup.name.to_string();
    let addrs: Vec<String> = lookup.addrs().iter().map(|a| a.to_string()).collect();
    println!(
        "  {} → {} ({})    {}",
        name.trim_end_matches('.'),
        addrs.join(", "),
        ms(lookup.took),
        lookup.how()
    );
    for record in &lookup.records {
        println!("      {record}");
    }
}

/// Step 8: three lookups and one from the cache.
pub async fn dns(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("08-dns.pcapng");
    let net = net(&file, Wire::clean())?;
    let server = tokio::spawn(serve(net.server.clone()));
    let mut resolver = Resolver::new(
        &net.client,
        (SERVER, 53).into(),
        Patience::default(),
        Some(8),
    );
    let name = |text: &str| -> io::Result<Name> {
        text.parse()
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, format!("{err}")))
    };
    println!("  client$ the course's measure_dns_lookup('www.course.test'), asking {SERVER}:53");
    let www = name("www.course.test")?;
    print(&resolver.lookup_host(&www, false).await?);
    println!(
        "  One datagram each way: the query (12-byte header, the question) and the answer (the\n  \
         question again, then the record, with its TTL: keep this for 60 s)."
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("\n  5 s later, the same name again:");
    print(&resolver.lookup_host(&www, false).await?);
    println!(
        "  No packet: the answer came from the cache, its TTL counted down. A cache saves a\n  \
         round trip until the TTL runs out; then the next lookup asks again."
    );
    println!("\n  web.course.test, an alias:");
    print(
        &resolver
            .lookup_host(&name("web.course.test")?, false)
            .await?,
    );
    println!("\n  nope.course.test, a name the zone does not have:");
    let nope = name("nope.course.test")?;
    match resolver.lookup_host(&nope, false).await {
        Ok(lookup) => print(&lookup),
        Err(err @ LookupError::NoSuchName(_)) => println!("  DNS lookup failed: {err}"),
        Err(err) => return Err(err.into()),
    }
    println!(
        "  (the answer carries the zone's SOA record, so the resolver keeps the \"no\" too, for\n  \
         the SOA's minimum TTL: RFC 2308)"
    );
    server.abort();
    Ok(file)
}
