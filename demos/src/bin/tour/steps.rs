//! The tour's steps: the course's story, one capture each.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tunstack::device::impair::{Match, Rule};
use tunstack::tcp::State;
use tunstack::{Stack, TcpListener, TcpStream, UdpSocket};

use crate::net::{net, Wire, CLIENT, DELAY, SERVER};

/// Milliseconds, with one decimal, for printing durations.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Prints a host's neighbour table as `ip neigh` lists it, and what it shows, in parentheses.
fn ip_neigh(who: &str, host: &Stack, note: &[&str]) {
    let table = host.neighbours();
    println!(
        "  {who}$ ip neigh{}",
        if table.is_empty() { "    (empty)" } else { "" }
    );
    for entry in &table {
        println!("    {entry}");
    }
    for (i, line) in note.iter().enumerate() {
        let open = if i == 0 { "(" } else { " " };
        let close = if i + 1 == note.len() { ")" } else { "" };
        println!("    {open}{line}{close}");
    }
}

/// Step 0: the link layer. On an Ethernet wire every packet travels in a frame addressed to a
/// MAC address; before its first packet to the server, the client asks for the server's with
/// ARP. Returns the capture and the frame number of the first IP packet.
pub async fn arp(dir: &Path) -> io::Result<(PathBuf, usize)> {
    let file = dir.join("00-arp.pcapng");
    let net = net(&file, Wire::ethernet())?;
    let mac = |host: &Stack| host.mac().map_or_else(String::new, |mac| mac.to_string());
    println!(
        "  This step's wire is Ethernet, as between two network cards: IP wraps each segment \
         into a\n  packet, and Ethernet wraps that into a frame, addressed to a MAC address \
         (a card's\n  hardware address), which the sender has to know first."
    );
    println!(
        "  client {CLIENT} is at {}, server {SERVER} at {}",
        mac(&net.client),
        mac(&net.server)
    );
    // Each host announces itself as it comes up (a gratuitous ARP); let both announcements pass.
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!(
        "  Each announced itself as it came up: a gratuitous ARP, to everyone (frames 1 and 2).\n"
    );
    ip_neigh(
        "client",
        &net.client,
        &["an announcement updates an entry the client already has; it makes none"],
    );
    println!(
        "\n  client$ ping {SERVER}: the packet is ready, but its frame needs the server's MAC \
         address"
    );
    let data: Vec<u8> = (0..56u8).collect();
    let pinger = net.client.clone();
    let first = tokio::spawn(async move { pinger.ping(SERVER, 1, &data).await });
    // The request is on its way; the answer takes a round trip.
    tokio::time::sleep(Duration::from_millis(1)).await;
    ip_neigh(
        "client",
        &net.client,
        &[&format!(
            "the client asked everyone \"who has {SERVER}?\", a broadcast; the ping waits"
        )],
    );
    let rtt = first.await.map_err(io::Error::other)??;
    println!(
        "  64 bytes from {SERVER}: icmp_seq=1 time={}  (a round trip for ARP, then the ping's)",
        ms(rtt)
    );
    let data: Vec<u8> = (0..56u8).collect();
    let rtt = net.client.ping(SERVER, 2, &data).await?;
    println!(
        "  64 bytes from {SERVER}: icmp_seq=2 time={}  (the MAC address is known now)\n",
        ms(rtt)
    );
    ip_neigh(
        "client",
        &net.client,
        &[&format!(
            "from the server's answer, \"{SERVER} is at {}\"",
            mac(&net.server)
        )],
    );
    ip_neigh(
        "server",
        &net.server,
        &[
            "from the client's request, so the server never asked; DELAY: not confirmed by an",
            "answer and in use, so the server checks it with a request of its own in 5 s",
        ],
    );
    println!(
        "\n  ARP never leaves the link: routers do not forward it. For a host on another \
         network, a\n  host ARPs for its router's MAC address and sends the frame there."
    );
    // Frames 1 and 2 are the announcements, 3 the request, 4 the reply, 5 the first ping.
    Ok((file, 5))
}

/// Step 1: ping, the internet layer's own round trip.
pub async fn ping(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("01-ping.pcapng");
    let net = net(&file, Wire::clean())?;
    println!("  {CLIENT} sends ICMP echo requests to {SERVER}; the server's IP layer answers.");
    println!("  The wire takes {} each way.\n", ms(DELAY));
    // 56 bytes of data, as Linux ping sends: with the 8-byte ICMP header, 64 bytes.
    let data: Vec<u8> = (0..56u8).collect();
    for seq in 1..=3u16 {
        let rtt = net.client.ping(SERVER, seq, &data).await?;
        println!("  64 bytes from {SERVER}: icmp_seq={seq} time={}", ms(rtt));
    }
    println!("\n  The round-trip time (RTT) is the delay there plus the delay back: latency.");
    Ok(file)
}

/// Step 2: a UDP datagram: the course's UDP server and client. Then the client closes its
/// socket, and the server's next datagram finds no one: the client's stack says so with an
/// ICMP port unreachable, which the capture (on the client's side) shows with its reason.
pub async fn udp(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("02-udp.pcapng");
    let net = net(&file, Wire::clean())?;
    // The course's UDP server: bind, recvfrom, reply to the sender's address. No accept().
    let server = UdpSocket::bind(&net.server, "0.0.0.0:9001").await?;
    let server_task = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        let (n, sender) = server.recv_from(&mut buf).await?;
        println!(
            "  server: got datagram from {sender}: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        server.send_to(b"Got your datagram!", sender).await?;
        io::Result::Ok((server, sender))
    });
    let client = UdpSocket::bind(&net.client, "0.0.0.0:0").await?;
    println!(
        "  client: bound to {}: port 0 asked for an ephemeral port (49152-65535)",
        client.local_addr()?
    );
    let message = b"Hello over UDP!";
    client.send_to(message, (SERVER, 9001)).await?;
    println!(
        "  on the wire: {} bytes of data + 8 (UDP header) + 20 (IPv4 header) = {} bytes",
        message.len(),
        message.len() + 28
    );
    let mut buf = [0u8; 4096];
    let (n, from) = client.recv_from(&mut buf).await?;
    println!(
        "  client: reply from {from}: {:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let (server, sender) = server_task.await.map_err(io::Error::other)??;
    // No connection: nothing tells the server that the client has gone, until a datagram
    // finds its port empty and the client's stack answers with ICMP port unreachable.
    drop(client);
    println!(
        "  client: closes its socket; port {} is free again",
        sender.port()
    );
    server.connect(sender).await?;
    server.send(b"still there?").await?;
    match server.recv(&mut buf).await {
        Err(err) => println!("  server: to {sender} -> {err}"),
        Ok(n) => println!("  server: unexpected {n}-byte reply from {sender}"),
    }
    println!(
        "\n  No connection, no handshake: one datagram out, one back. No goodbye either: the \
         server learned that the client had gone only from the ICMP error."
    );
    Ok(file)
}

/// Step 3: the TCP three-way handshake, and the course's measure_rtt.
pub async fn handshake(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("03-handshake.pcapng");
    let net = net(&file, Wire::clean())?;
    let listener = TcpListener::bind(&net.server, "0.0.0.0:9000").await?;
    let server = tokio::spawn(async move {
        // accept() returns a new socket for each connection; the listener keeps listening.
        for _ in 0..5 {
            let (conn, client) = listener.accept().await?;
            drop((conn, client));
        }
        io::Result::Ok(())
    });
    // measure_rtt: time connect() + close, five times.
    let mut samples = Vec::new();
    for i in 0..5 {
        let started = Instant::now();
        let conn = TcpStream::connect(&net.client, (SERVER, 9000)).await?;
        let elapsed = started.elapsed();
        if i == 0 {
            println!(
                "  connect() returned after {}: SYN →, ← SYN-ACK, and the client's ACK goes \
                 with no wait: one round trip.",
                ms(elapsed)
            );
            println!(
                "  The client's ephemeral port: {}",
                conn.local_addr()?.port()
            );
        }
        samples.push(elapsed.as_secs_f64() * 1000.0);
        drop(conn);
    }
    server.await.map_err(io::Error::other)??;
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(0.0, f64::max);
    let avg = samples.iter().sum::<f64>() / samples.len() as f64;
    println!("  RTT Stats: {{'min_ms': {min:.1}, 'avg_ms': {avg:.1}, 'max_ms': {max:.1}}}");
    Ok(file)
}

/// The tour's web server: answers one GET with a small page, on `listener`.
async fn serve_one_page(listener: TcpListener) -> io::Result<()> {
    let (mut conn, _) = listener.accept().await?;
    answer_one_get(&mut conn).await
}

/// Answers one GET on `conn` (a TCP connection, or TLS on one) with a small page, closes its
/// side and waits for the client's close, so that the close completes in the capture.
pub async fn answer_one_get<S>(conn: &mut S) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    // Read up to the blank line that ends the request's headers.
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let body = "<h1>Hello from tunstack</h1>\n";
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(response.as_bytes()).await?;
    conn.shutdown().await?;
    while conn.read(&mut buf).await? > 0 {}
    Ok(())
}

/// Step 4: an HTTP GET: a request, a response, over the connection the handshake opened.
pub async fn http_get(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("04-http-get.pcapng");
    let net = net(&file, Wire::clean())?;
    let listener = TcpListener::bind(&net.server, "0.0.0.0:80").await?;
    let server = tokio::spawn(serve_one_page(listener));
    let started = Instant::now();
    let mut conn = TcpStream::connect(&net.client, (SERVER, 80)).await?;
    let connected = started.elapsed();
    let request = format!("GET / HTTP/1.1\r\nHost: {SERVER}\r\nUser-Agent: tunstack-tour\r\n\r\n");
    conn.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).await?;
    let first_byte = started.elapsed();
    response.extend_from_slice(&buf[..n]);
    conn.read_to_end(&mut response).await?;
    let total = started.elapsed();
    drop(conn);
    server.await.map_err(io::Error::other)??;
    println!("  request:  {}", request.lines().next().unwrap_or(""));
    let text = String::from_utf8_lossy(&response);
    println!("  response: {}", text.lines().next().unwrap_or(""));
    println!(
        "  handshake {}, first byte of the response {}, all of it {}",
        ms(connected),
        ms(first_byte),
        ms(total)
    );
    println!("  (two round trips in all: one for the handshake, one for request and response)");
    Ok(file)
}

/// Step 5: a bulk transfer over a slow link that loses segments.
pub async fn lossy_transfer(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("05-lossy-transfer.pcapng");
    let rate = 10_000_000; // 10 Mbit/s
    let wire = Wire {
        rate: Some(rate),
        drops: vec![
            Rule::nth(Match::TcpData, 5),
            Rule::range(Match::TcpData, 14..=15),
        ],
        ..Wire::clean()
    };
    let net = net(&file, wire)?;
    let size = 100 * 1024;
    println!(
        "  The client uploads {} KiB over a 10 Mbit/s link ({} each way) that loses the 5th, \
         14th and 15th data segments.",
        size / 1024,
        ms(DELAY)
    );
    let listener = TcpListener::bind(&net.server, "0.0.0.0:5001").await?;
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await?;
        let mut got = Vec::new();
        conn.read_to_end(&mut got).await?;
        io::Result::Ok(got.len())
    });
    let started = Instant::now();
    let mut conn = TcpStream::connect(&net.client, (SERVER, 5001)).await?;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    conn.write_all(&data).await?;
    conn.shutdown().await?;
    let received = server.await.map_err(io::Error::other)??;
    let elapsed = started.elapsed();
    let info = conn.info()?;
    let stats = info.stats;
    println!(
        "  {received} bytes arrived, byte-exact, in {}; the link alone needs {}.",
        ms(elapsed),
        ms(Duration::from_secs_f64((size * 8) as f64 / rate as f64))
    );
    println!(
        "  retransmissions: {} (fast, after duplicate ACKs: {}; SACK holes: {}; timeouts: {})",
        stats.retransmissions,
        stats.fast_retransmissions,
        stats.sack_retransmissions,
        stats.timeouts
    );
    println!(
        "  throughput {:.1} Mbit/s of a 10 Mbit/s link: bandwidth is the pipe's width, \
         throughput what gets through it, latency and loss included.",
        (received * 8) as f64 / elapsed.as_secs_f64() / 1e6
    );
    println!(
        "  the client's view at the end: SRTT {}, RTO {}, congestion window {} bytes",
        ms(info.srtt.unwrap_or_default()),
        ms(info.rto),
        info.cwnd
    );
    let dropped = net.impaired.get().outbound.dropped_script;
    println!("  (the wire dropped {dropped} segments on purpose)");
    Ok(file)
}

/// Step 6: the close: FIN each way, and TIME-WAIT.
pub async fn close(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("06-close.pcapng");
    let net = net(&file, Wire::clean())?;
    let listener = TcpListener::bind(&net.server, "0.0.0.0:9000").await?;
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await?;
        let mut buf = [0u8; 64];
        // read() returns 0: the client's FIN. Then the server closes too.
        let n = conn.read(&mut buf).await?;
        println!("  server: read returned {n}: the client has closed its side");
        drop(conn);
        io::Result::Ok(())
    });
    let mut conn = TcpStream::connect(&net.client, (SERVER, 9000)).await?;
    conn.shutdown().await?;
    println!(
        "  client: shutdown() sent a FIN; the connection is {}",
        conn.info()?.state
    );
    server.await.map_err(io::Error::other)??;
    let mut buf = [0u8; 64];
    let n = conn.read(&mut buf).await?;
    println!(
        "  client: read returned {n}: the server closed too; the connection is {}",
        conn.info()?.state
    );
    drop(conn);
    // TIME-WAIT lasts 2 × MSL (60 s here): on the tour's virtual clock it passes at once.
    let started = Instant::now();
    while !net.client.tcp_connections().is_empty() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!(
        "  client: after {} s in TIME-WAIT (2 × MSL) the connection is {} and forgotten",
        started.elapsed().as_secs(),
        State::Closed
    );
    Ok(file)
}
