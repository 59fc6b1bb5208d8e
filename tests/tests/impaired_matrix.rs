//! TCP on a bad network: 10 MiB, byte-exact, through every combination of random loss and one
//! other impairment, for every pairing of our stack and smoltcp.
//!
//! The matrix is loss × impairment × pairing:
//!
//! ```text
//!  loss         0, 1%, 5%, 20%
//!  impairment   none, duplicate 2%, reorder 5% (by up to 3 packets), corrupt 1% (one bit)
//!  pairing      ours → ours, ours → smoltcp, smoltcp → ours      (client → server)
//! ```
//!
//! with 5 ms of delay each way (a 10 ms round trip) in every cell, and the same impairments on
//! both directions: the data and the ACKs that come back. One test per cell and pairing, named
//! after them (`loss_5pct::reorder::smoltcp_to_ours`), so a failure says where.
//!
//! In each run the client connects, writes 10 MiB of a [`Pattern`] and shuts down; the server
//! reads to the end of the stream, checking every byte. So `ours_to_smoltcp` puts our sender
//! (retransmissions, congestion control, loss recovery) against smoltcp's receiver, and
//! `smoltcp_to_ours` puts smoltcp's sender against our receiver (reassembly, duplicate and
//! out-of-order segments, the ACKs and SACK blocks we send). Both stacks run as they come:
//! ours with CUBIC, SACK, timestamps and delayed ACKs, smoltcp without congestion control.
//!
//! Everything runs on tokio's paused clock: time moves only when every task waits, so a run
//! costs the CPU time of its packets, not the seconds of its timers, and repeats exactly. Each
//! run is bounded in virtual time by [`limit`], generous and derived from the loss rate; a
//! stalled connection fails instead of hanging.
//!
//! Every run prints what happened (visible with `--nocapture`): virtual time and goodput, our
//! connections' retransmissions by reason, timeouts and fast recoveries, and the impairments'
//! counters. `MATRIX_SEED=n` runs the whole matrix with another seed for the impairments.
//!
//! ```text
//! cargo test -p tunstack-tests --test impaired_matrix -- --nocapture
//! cargo test -p tunstack-tests --test impaired_matrix loss_20pct -- --nocapture
//! ```

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::{timeout, Instant};
use tunstack::device::impair::{ImpairConfig, ImpairStats, Impairments};
use tunstack::device::{memory, Impair, MemoryConfig};
use tunstack::tcp::ConnInfo;
use tunstack::Config;
use tunstack_tests::peer::{Kind, Peer};
use tunstack_tests::smol::SmolConfig;
use tunstack_tests::Pattern;

/// How much each run moves, client to server.
const BYTES: u64 = 10 * 1024 * 1024;
/// The delay each way, in every cell: a 10 ms round trip.
const DELAY: Duration = Duration::from_millis(5);
/// The client's address; the wire's impaired end is its.
const CLIENT: &str = "10.0.0.1/24";
/// The server's address.
const SERVER: &str = "10.0.0.2/24";
/// The server's port.
const PORT: u16 = 5001;
/// The impairments' seed when `MATRIX_SEED` does not give one.
const SEED: u64 = 1;

/// The matrix's second axis: what else the network does besides losing packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// Nothing else.
    None,
    /// 2% of packets arrive twice.
    Duplicate,
    /// 5% of packets are held back until up to 3 later ones have gone.
    Reorder,
    /// 1% of packets have one bit flipped (the checksums catch them: a loss in disguise).
    Corrupt,
}

/// Who runs each end; the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pairing {
    /// Our client, our server.
    OursToOurs,
    /// Our client, a smoltcp server.
    OursToSmol,
    /// A smoltcp client, our server.
    SmolToOurs,
}

impl Pairing {
    /// (client, server).
    fn kinds(self) -> (Kind, Kind) {
        match self {
            Pairing::OursToOurs => (Kind::Ours, Kind::Ours),
            Pairing::OursToSmol => (Kind::Ours, Kind::Smol),
            Pairing::SmolToOurs => (Kind::Smol, Kind::Ours),
        }
    }
}

/// The impairments of one cell, the same each way.
fn impairments(loss: f64, extra: Extra) -> Impairments {
    let mut impairments = Impairments {
        loss,
        delay: DELAY,
        ..Impairments::default()
    };
    match extra {
        Extra::None => {}
        Extra::Duplicate => impairments.duplicate = 0.02,
        Extra::Reorder => impairments.reorder = 0.05,
        Extra::Corrupt => impairments.corrupt = 0.01,
    }
    impairments
}

/// How long a run may take in virtual time: `100 s × (1 + 5000 p²)` for loss `p` each way.
///
/// A clean run needs under a second (the window is 256 KiB, the round trip 10 ms). With loss,
/// TCP's rate falls roughly as `1/√p` while fast recovery repairs the losses, and much faster
/// once losses in a row cost retransmission timeouts (200 ms at least, doubling each time): at
/// 20% each way, a segment and its ACK both get through only 64% of the time. The bound gives
/// 100 s without loss, 150 s at 1%, 1,350 s at 5% and 20,100 s at 20%. Over seeds 1 to 6 the
/// slowest runs took 9.4 s, 15.4 s, 70 s and 5,084 s: the bound leaves a margin of four or more
/// in every row, and still turns a connection that stalls for good into a failure, not a hang.
fn limit(loss: f64) -> Duration {
    Duration::from_secs_f64(100.0 * (1.0 + 5000.0 * loss * loss))
}

/// The impairments' seed: `MATRIX_SEED`, or [`SEED`].
fn seed() -> u64 {
    std::env::var("MATRIX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED)
}

/// Starts a `kind` stack on `link` at `cidr`, with each stack's defaults and fixed seeds.
fn start(kind: Kind, link: impl tunstack::device::Device, cidr: &str) -> Peer {
    let cidr = cidr.parse().expect("a valid CIDR");
    match kind {
        Kind::Ours => {
            let mut config = Config::new(cidr);
            config.seed = Some(7);
            config.tcp.msl = Duration::from_secs(1);
            Peer::ours(link, config)
        }
        Kind::Smol => Peer::smol(link, SmolConfig::new(cidr)),
    }
}

/// What one run saw.
struct Report {
    elapsed: Duration,
    /// Our connections: ("client"/"server", snapshot).
    ours: Vec<(&'static str, ConnInfo)>,
    impair: ImpairStats,
}

/// One cell of the matrix for one pairing: 10 MiB client → server, checked, within [`limit`].
async fn run(pairing: Pairing, loss: f64, extra: Extra) {
    let seed = seed();
    let config = ImpairConfig::both_ways(impairments(loss, extra)).with_seed(seed);
    let cell = format!("{pairing:?}, {config}");
    let limit = limit(loss);
    let report = match timeout(limit, transfer(pairing, config)).await {
        Ok(Ok(report)) => report,
        Ok(Err(err)) => panic!("{cell}: {err}"),
        Err(_) => panic!("{cell}: 10 MiB not delivered within {limit:?} of virtual time"),
    };
    print_report(&cell, &report);

    // The cell did what it says: the impairments happened, both ways.
    let (out, inb) = (report.impair.outbound, report.impair.inbound);
    if loss > 0.0 {
        assert!(
            out.dropped_loss > 0 && inb.dropped_loss > 0,
            "{cell}: no loss"
        );
    }
    let happened = match extra {
        Extra::None => true,
        Extra::Duplicate => out.duplicated > 0 && inb.duplicated > 0,
        Extra::Reorder => out.reordered > 0 && inb.reordered > 0,
        Extra::Corrupt => out.corrupted > 0 && inb.corrupted > 0,
    };
    assert!(
        happened,
        "{cell}: {extra:?} never happened\n{}",
        report.impair
    );
    // Our sender repairs every data loss it causes (a lost ACK needs no repair).
    if let Some((_, info)) = report.ours.iter().find(|(role, _)| *role == "client") {
        if out.dropped_loss > 0 || (extra == Extra::Corrupt && out.corrupted > 0) {
            assert!(info.stats.retransmissions > 0, "{cell}: losses, no resend");
        }
    }
}

/// Sets up the wire and the stacks, connects, moves [`BYTES`] and checks them; snapshots our
/// connections before anything closes.
async fn transfer(pairing: Pairing, config: ImpairConfig) -> io::Result<Report> {
    let (a, b) = memory::pair(MemoryConfig::default());
    // The client's end is impaired: its outbound side is the path to the server, its inbound
    // side the path back.
    let impaired = Impair::new(a, config)?;
    let impair = impaired.stats_handle();
    let (client_kind, server_kind) = pairing.kinds();
    let client = start(client_kind, impaired, CLIENT);
    let server = start(server_kind, b, SERVER);

    let started = Instant::now();
    let accept = server.listen(PORT).await?;
    let server_addr = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), PORT);
    let (mut tx, mut rx) = tokio::try_join!(client.connect(server_addr), accept)?;
    let pattern = Pattern::new(11);
    let send = async {
        pattern.write_to(&mut tx, BYTES).await?;
        tx.shutdown().await
    };
    let ((), received) = tokio::try_join!(send, pattern.read_and_check(&mut rx))?;
    let elapsed = started.elapsed();
    if received != BYTES {
        return Err(io::Error::other(format!(
            "the stream ended after {received} of {BYTES} bytes"
        )));
    }
    let mut ours = Vec::new();
    for (role, peer) in [("client", &client), ("server", &server)] {
        ours.extend(peer.our_connections().into_iter().map(|info| (role, info)));
    }
    Ok(Report {
        elapsed,
        ours,
        impair: impair.get(),
    })
}

/// Prints one run: time, goodput, our counters, the impairments'.
fn print_report(cell: &str, report: &Report) {
    let secs = report.elapsed.as_secs_f64();
    let mut text = format!(
        "{cell}\n  10 MiB in {secs:.2} s of virtual time: {:.2} Mbit/s of goodput\n",
        BYTES as f64 * 8.0 / secs / 1e6
    );
    for (role, info) in &report.ours {
        let s = info.stats;
        let after_timeout = s
            .retransmissions
            .saturating_sub(s.fast_retransmissions + s.sack_retransmissions);
        text += &format!(
            "  our {role}: {} segments out, {} in; retransmitted {} (fast {}, sack {}, after \
             timeout {}); {} timeouts ({} spurious); {} fast recoveries; {} duplicate ACKs in; \
             srtt {}, cwnd {}, ssthresh {}\n",
            s.segments_out,
            s.segments_in,
            s.retransmissions,
            s.fast_retransmissions,
            s.sack_retransmissions,
            after_timeout,
            s.timeouts,
            s.spurious_timeouts,
            s.fast_recoveries,
            s.duplicate_acks,
            info.srtt
                .map_or("-".to_string(), |srtt| format!("{srtt:?}")),
            info.cwnd,
            if info.ssthresh == usize::MAX {
                "-".to_string()
            } else {
                info.ssthresh.to_string()
            },
        );
    }
    // The table says "outbound" and "inbound" from the client's side.
    text += &report.impair.to_string();
    println!("{text}");
}

/// One cell: a module named after the second axis, one test per pairing.
macro_rules! cell {
    ($(#[$attr:meta])* $name:ident: $loss:expr, $extra:expr) => {
        mod $name {
            use crate::{run, Extra, Pairing};

            #[tokio::test(start_paused = true)]
            $(#[$attr])*
            async fn ours_to_ours() {
                run(Pairing::OursToOurs, $loss, $extra).await;
            }

            #[tokio::test(start_paused = true)]
            $(#[$attr])*
            async fn ours_to_smoltcp() {
                run(Pairing::OursToSmol, $loss, $extra).await;
            }

            #[tokio::test(start_paused = true)]
            $(#[$attr])*
            async fn smoltcp_to_ours() {
                run(Pairing::SmolToOurs, $loss, $extra).await;
            }
        }
    };
}

/// One row: a module named after the loss rate, one cell per second-axis impairment.
macro_rules! row {
    ($(#[$attr:meta])* $name:ident: $loss:expr) => {
        mod $name {
            cell!($(#[$attr])* none: $loss, Extra::None);
            cell!($(#[$attr])* duplicate: $loss, Extra::Duplicate);
            cell!($(#[$attr])* reorder: $loss, Extra::Reorder);
            cell!($(#[$attr])* corrupt: $loss, Extra::Corrupt);
        }
    };
}

row!(loss_0: 0.0);
row!(loss_1pct: 0.01);
row!(loss_5pct: 0.05);
row!(loss_20pct: 0.20);
