//! TCP against the Linux kernel over a TUN device that loses 5% of the packets each way.
//!
//! Each test gets a network namespace of its own ([`TunNet::start_impaired`]): our stack at
//! 10.77.0.2 behind an [`Impair`](tunstack::device::Impair) that loses 5% of what it sends, and
//! the kernel at 10.77.0.1 with a firewall rule ([`KernelLoss`]) that loses 5% of what it sends
//! to `tun0`. 20 MiB cross, byte-exact: from a Linux client to our server, from our client to a
//! Linux server, and both ways at once on one connection. Then three witnesses must agree that
//! TCP had work to do:
//!
//! - our stack's counters (`TcpStream::info().stats`): retransmissions, fast and SACK
//!   retransmissions, timeouts;
//! - the kernel's counters (`nstat`, before and after): `TcpRetransSegs` and friends;
//! - the capture of what crossed `tun0` (beneath our `Impair`: what our stack sent and lost is
//!   not in it, what the kernel sent and lost never reached the device): Wireshark's analysis
//!   finds retransmissions, and still no malformed packet and no bad checksum
//!   ([`tshark_tcp_check_lossy`]).
//!
//! Each test prints its figures (run with `--nocapture` to see them). Our client's transfers
//! take tens of seconds, most of it waiting for retransmission timeouts (some 200 of them for
//! 20 MiB, where Linux sending through the same loss has a handful at most). The two causes
//! found so far, losses our stack sees in Linux's SACK blocks and does not act on, are in
//! `tcp_sack_loss_detection.rs`. Others are losses no ACK can reveal (a retransmission lost
//! again, a loss among the last segments in flight), which Linux finds with RACK and tail loss
//! probes (RFC 8985) and our stack only with its timer.
//!
//! The last test shows why the kernel's losses go through a netfilter queue: a plain firewall
//! `drop` is reported to the kernel's TCP, which sends the segment again without taking it for
//! a loss.
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), `/dev/net/tun`, iptables or nftables, and
//! `nstat`; without the first two each test prints `skipped: <why>` and passes, except under
//! CI, which must run them.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddrV4};
use std::thread;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tunstack::device::impair::{ImpairConfig, ImpairStats, Impairments};
use tunstack::tcp::ConnStats;
use tunstack::{Config, Ipv4Cidr, TcpListener, TcpStream};
use tunstack_tests::{
    accept_within, tshark_tcp_check_lossy, tun_tests_can_run, Direction, KernelLoss, Nstat,
    Pattern, TcpCapture, TunNet, Verdict, KERNEL, PREFIX_LEN, STACK,
};

/// How much goes across, each way that carries data.
const BULK: u64 = 20 << 20;

/// The share of each side's packets that is lost, in percent.
const LOSS_PERCENT: u8 = 5;

/// How long one read, write or handshake may wait. A segment lost again and again waits for
/// the retransmission timer, which doubles each time (200 ms, 400 ms, 800 ms, ...).
const WAIT: Duration = Duration::from_secs(10);

/// How long a whole transfer may take.
const TRANSFER: Duration = Duration::from_secs(150);

/// How long the stack may take to finish its closing handshakes (a lost FIN waits for a timer).
const CLOSES: Duration = Duration::from_secs(10);

/// The port of our server.
const PORT: u16 = 9000;

/// The kernel's counters each test reports.
const KERNEL_COUNTERS: &[&str] = &[
    "TcpRetransSegs",
    "TcpExtTCPLostRetransmit",
    "TcpExtTCPFastRetrans",
    "TcpExtTCPSackRecovery",
    "TcpExtTCPSackRecoveryFail",
    "TcpExtTCPTimeouts",
    "TcpExtTCPSpuriousRTOs",
    "TcpExtTCPDSACKOldSent",
    "TcpExtTCPDSACKRecv",
    "TcpExtTCPDSACKUndo",
    "TcpExtTCPOFOQueue",
];

/// A TunNet whose Impair loses 5% of what our stack sends, with a firewall rule that loses 5%
/// of what the kernel sends; `None` (after printing why) when TUN tests cannot run here.
fn start(label: &str, seed: u64) -> Option<(TunNet, KernelLoss)> {
    if !tun_tests_can_run() {
        return None;
    }
    let mut config = Config::new(Ipv4Cidr::new(STACK, PREFIX_LEN).unwrap());
    config.seed = Some(seed);
    let loss = ImpairConfig::outbound_only(Impairments {
        loss: f64::from(LOSS_PERCENT) / 100.0,
        ..Impairments::default()
    })
    .with_seed(seed);
    let net = TunNet::start_impaired(label, config, loss).unwrap();
    // Before any connection opens: see KernelLoss::install.
    let kernel_loss = KernelLoss::install(net.ns(), LOSS_PERCENT).unwrap();
    Some((net, kernel_loss))
}

/// What one lossy transfer showed, from every side.
struct Figures {
    what: &'static str,
    /// Payload bytes that crossed, both ways together.
    bytes: u64,
    elapsed: Duration,
    ours: ConnStats,
    impair: ImpairStats,
    kernel_loss: KernelLoss,
    kernel_dropped: u64,
    kernel: Nstat,
    capture: TcpCapture,
}

impl Figures {
    /// Reads the kernel's counters and every side's figures after a transfer; waits for our
    /// side's closing handshakes, stops the stack and checks the capture. `conn` is our end of
    /// the connection; its counters are read once it has closed (so that the FIN's
    /// retransmissions count too), or just before, if it is gone by then.
    #[allow(clippy::too_many_arguments)]
    fn collect(
        what: &'static str,
        bytes: u64,
        elapsed: Duration,
        mut net: TunNet,
        kernel_loss: KernelLoss,
        before: &Nstat,
        conn: TcpStream,
    ) -> Figures {
        let last = conn
            .info()
            .expect("the connection is there while its handle is");
        if let Err(busy) = net.wait_for_tcp_closes(CLOSES) {
            panic!("connections still not closed after {CLOSES:?}: {busy:#?}");
        }
        let ours = conn.info().map_or(last.stats, |info| info.stats);
        drop(conn);
        let kernel = Nstat::read(net.ns()).unwrap().since(before);
        let kernel_dropped = kernel_loss.dropped(net.ns()).unwrap();
        let impair = net.impair_stats().unwrap();
        net.stop();
        let capture = tshark_tcp_check_lossy(net.capture_path());
        let figures = Figures {
            what,
            bytes,
            elapsed,
            ours,
            impair,
            kernel_loss,
            kernel_dropped,
            kernel,
            capture,
        };
        figures.report();
        figures
    }

    /// Prints everything, for the notes: `--nocapture` shows it.
    fn report(&self) {
        let rate = self.bytes as f64 / self.elapsed.as_secs_f64() / 1e6;
        let ours = &self.ours;
        eprintln!(
            "{}: {} MiB in {:.2} s = {rate:.2} MB/s, through {LOSS_PERCENT}% loss each way\n\
             our Impair (what our stack sent, and lost):\n{}\
             {}: {} packets\n\
             our stack: {} segments out, {} retransmissions ({} fast, {} SACK), {} timeouts \
             ({} spurious), {} fast recoveries ({} undone), {} duplicate ACKs in, {} D-SACKs out, \
             {} D-SACKs in\n\
             the kernel (nstat, growth during the test):\n{}\
             the capture (tshark):\n{}",
            self.what,
            self.bytes >> 20,
            self.elapsed.as_secs_f64(),
            self.impair,
            self.kernel_loss,
            self.kernel_dropped,
            ours.segments_out,
            ours.retransmissions,
            ours.fast_retransmissions,
            ours.sack_retransmissions,
            ours.timeouts,
            ours.spurious_timeouts,
            ours.fast_recoveries,
            ours.undone_recoveries,
            ours.duplicate_acks,
            ours.dsacks_sent,
            ours.dsacks_received,
            self.kernel.show(KERNEL_COUNTERS),
            self.capture.analysis_table(),
        );
    }

    /// Checks what every test checks: one connection, with at least `linux_sent` and
    /// `we_sent` payload bytes each way in the capture (more with the retransmissions), a FIN
    /// each way and no reset; both sides lost packets; and every witness of a side that sent
    /// data saw it retransmit.
    fn check(&self, linux_sent: u64, we_sent: u64) {
        let [conversation] = &self.capture.conversations[..] else {
            panic!("one connection: {:#?}", self.capture.conversations);
        };
        let (from_linux, from_us) = match conversation.client_direction {
            Some(Direction::Inbound) => (
                conversation.bytes_from_client,
                conversation.bytes_from_server,
            ),
            _ => (
                conversation.bytes_from_server,
                conversation.bytes_from_client,
            ),
        };
        assert!(
            from_linux >= linux_sent && from_us >= we_sent,
            "{conversation}: fewer bytes than were sent"
        );
        assert_eq!(conversation.resets, 0, "{conversation}");
        assert!(
            conversation.fins_from_client >= 1 && conversation.fins_from_server >= 1,
            "{conversation}: a FIN each way"
        );
        assert!(self.impair.outbound.dropped_loss > 0, "{}", self.impair);
        assert!(self.kernel_dropped > 0, "{}: none lost", self.kernel_loss);
        let retransmitted =
            |direction| self.capture.count("tcp.analysis.retransmission", direction);
        if linux_sent > 0 {
            assert!(self.kernel.get("TcpRetransSegs") > 0, "{}", self.kernel);
            assert!(
                retransmitted(Direction::Inbound) > 0,
                "Linux, in the capture"
            );
            // Linux found its losses with the SACK blocks of our ACKs.
            assert!(
                self.kernel.get("TcpExtTCPSackRecovery") > 0,
                "{}",
                self.kernel
            );
            // And it read our D-SACK blocks: data it sent twice (RFC 2883). A few of our ACKs
            // are lost on the way, but not every one that carried a D-SACK.
            if self.ours.dsacks_sent >= 10 {
                assert!(
                    self.kernel.get("TcpExtTCPDSACKRecv") > 0,
                    "{} D-SACKs sent; {}",
                    self.ours.dsacks_sent,
                    self.kernel
                );
            }
        }
        if we_sent > 0 {
            let ours = &self.ours;
            assert!(ours.retransmissions > 0, "{ours:?}");
            assert!(
                ours.fast_retransmissions + ours.sack_retransmissions > 0,
                "losses found by ACKs, not only by the timer: {ours:?}"
            );
            assert!(
                retransmitted(Direction::Outbound) > 0,
                "ours, in the capture"
            );
            // Linux saw the holes our losses left, and held what came after them.
            assert!(self.kernel.get("TcpExtTCPOFOQueue") > 0, "{}", self.kernel);
        }
    }
}

/// A Linux client sends 20 MiB to our server: the kernel's data and our ACKs go through loss.
#[test]
fn a_linux_client_sends_20_mib_to_our_server_through_5_percent_loss_each_way() {
    let Some((net, kernel_loss)) = start("lossy-linux-client", 11) else {
        return;
    };
    let stack = net.stack();
    let listener = net
        .block_on(TcpListener::bind(stack, ([0, 0, 0, 0], PORT)))
        .unwrap()
        .unwrap();
    let before = Nstat::read(net.ns()).unwrap();
    let started = Instant::now();
    let mut linux = net.linux_tcp_connect((STACK, PORT)).unwrap();
    linux.set_read_timeout(Some(WAIT)).unwrap();
    linux.set_write_timeout(Some(WAIT)).unwrap();
    // Sends the bulk, shuts down writing, then waits for our FIN.
    let sender = thread::spawn(move || -> io::Result<()> {
        Pattern::new(1).write_blocking(&mut linux, BULK)?;
        linux.shutdown(Shutdown::Write)?;
        let mut rest = Vec::new();
        linux.read_to_end(&mut rest)?;
        assert!(rest.is_empty(), "we sent nothing: {} bytes", rest.len());
        Ok(())
    });
    let (received, conn) = net
        .block_on_within(TRANSFER, async {
            let (mut conn, _) = timeout(WAIT, listener.accept()).await??;
            let received = Pattern::new(1).read_and_check(&mut conn).await?;
            conn.shutdown().await?;
            io::Result::Ok((received, conn))
        })
        .unwrap()
        .unwrap();
    sender.join().unwrap().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(received, BULK, "every byte, in order, once");

    let what = "Linux client -> our server";
    let figures = Figures::collect(what, BULK, elapsed, net, kernel_loss, &before, conn);
    figures.check(BULK, 0);
}

/// Our client sends 20 MiB to a Linux server: our data and the kernel's ACKs go through loss.
#[test]
fn our_client_sends_20_mib_to_a_linux_server_through_5_percent_loss_each_way() {
    let Some((net, kernel_loss)) = start("lossy-our-client", 12) else {
        return;
    };
    let listener = net.linux_tcp_listener((KERNEL, 0)).unwrap();
    let server = SocketAddrV4::new(KERNEL, listener.local_addr().unwrap().port());
    let before = Nstat::read(net.ns()).unwrap();
    // Reads and checks everything until our FIN, then closes.
    let receiver = thread::spawn(move || -> io::Result<u64> {
        let (mut conn, _client) = accept_within(&listener, WAIT)?;
        conn.set_read_timeout(Some(WAIT))?;
        Pattern::new(2).read_and_check_blocking(&mut conn)
    });
    let stack = net.stack();
    let started = Instant::now();
    let conn = net
        .block_on_within(TRANSFER, async {
            let mut ours = timeout(WAIT, TcpStream::connect(stack, server)).await??;
            Pattern::new(2).write_to(&mut ours, BULK).await?;
            ours.shutdown().await?;
            // The server's FIN, after it has read everything.
            let mut buf = [0; 16];
            let n = timeout(WAIT, ours.read(&mut buf)).await??;
            assert_eq!(n, 0, "the server sends nothing");
            io::Result::Ok(ours)
        })
        .unwrap()
        .unwrap();
    let received = receiver.join().unwrap().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(received, BULK, "every byte, in order, once");

    let what = "our client -> Linux server";
    let figures = Figures::collect(what, BULK, elapsed, net, kernel_loss, &before, conn);
    figures.check(0, BULK);
}

/// A Linux client and our server send each other 20 MiB at once on one connection: every
/// segment either way carries data and the ACK of the other way's, and both senders recover
/// from loss while both receivers hold segments that came after a hole.
#[test]
fn linux_and_our_stack_send_each_other_20_mib_at_once_through_5_percent_loss_each_way() {
    let Some((net, kernel_loss)) = start("lossy-both-ways", 13) else {
        return;
    };
    let stack = net.stack();
    let listener = net
        .block_on(TcpListener::bind(stack, ([0, 0, 0, 0], PORT)))
        .unwrap()
        .unwrap();
    let before = Nstat::read(net.ns()).unwrap();
    let started = Instant::now();
    let mut linux = net.linux_tcp_connect((STACK, PORT)).unwrap();
    linux.set_read_timeout(Some(WAIT)).unwrap();
    linux.set_write_timeout(Some(WAIT)).unwrap();
    let mut linux_reader = linux.try_clone().unwrap();
    let linux_writer = thread::spawn(move || -> io::Result<()> {
        Pattern::new(3).write_blocking(&mut linux, BULK)?;
        linux.shutdown(Shutdown::Write)
    });
    let linux_reader =
        thread::spawn(move || Pattern::new(4).read_and_check_blocking(&mut linux_reader));
    let (received, conn) = net
        .block_on_within(TRANSFER, async {
            let (mut conn, _) = timeout(WAIT, listener.accept()).await??;
            let (to_linux, from_linux) = (Pattern::new(4), Pattern::new(3));
            let (mut read, mut write) = conn.split();
            let send = async {
                to_linux.write_to(&mut write, BULK).await?;
                write.shutdown().await
            };
            let (_, received) = tokio::try_join!(send, from_linux.read_and_check(&mut read))?;
            io::Result::Ok((received, conn))
        })
        .unwrap()
        .unwrap();
    linux_writer.join().unwrap().unwrap();
    let linux_received = linux_reader.join().unwrap().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        (received, linux_received),
        (BULK, BULK),
        "every byte, in order, once, each way"
    );

    let what = "Linux client <-> our server, both ways at once";
    let figures = Figures::collect(what, 2 * BULK, elapsed, net, kernel_loss, &before, conn);
    figures.check(BULK, BULK);
}

/// Why the kernel's side loses packets through a netfilter queue and not with a plain `drop`:
/// a Linux client sends 20 MiB to our server while a firewall rule drops 5% of what the kernel
/// sends to `tun0` (nothing else is lost). The kernel's TCP is told of every drop (`EPERM`),
/// keeps the segment and sends it later: hundreds of drops, and next to no retransmissions in
/// its counters or in the capture.
#[test]
fn a_firewall_drop_is_no_loss_to_the_kernels_tcp() {
    if !tun_tests_can_run() {
        return;
    }
    let net = TunNet::start("lossy-firewall-drop").unwrap();
    let drop_rule = KernelLoss::install_verdict(net.ns(), LOSS_PERCENT, Verdict::Drop).unwrap();
    let stack = net.stack();
    let listener = net
        .block_on(TcpListener::bind(stack, ([0, 0, 0, 0], PORT)))
        .unwrap()
        .unwrap();
    let before = Nstat::read(net.ns()).unwrap();
    let mut linux = net.linux_tcp_connect((STACK, PORT)).unwrap();
    linux.set_write_timeout(Some(WAIT)).unwrap();
    let sender = thread::spawn(move || -> io::Result<()> {
        Pattern::new(5).write_blocking(&mut linux, BULK)?;
        linux.shutdown(Shutdown::Both)
    });
    let received = net
        .block_on_within(TRANSFER, async {
            let (mut conn, _) = timeout(WAIT, listener.accept()).await??;
            Pattern::new(5).read_and_check(&mut conn).await
        })
        .unwrap()
        .unwrap();
    sender.join().unwrap().unwrap();
    assert_eq!(received, BULK, "every byte, in order, once");
    let kernel = Nstat::read(net.ns()).unwrap().since(&before);
    let dropped = drop_rule.dropped(net.ns()).unwrap();
    let retransmitted = kernel.get("TcpRetransSegs");
    eprintln!(
        "{drop_rule}: {dropped} packets; the kernel retransmitted {retransmitted} segments\n{}",
        kernel.show(KERNEL_COUNTERS)
    );
    assert!(dropped > 100, "{drop_rule}: only {dropped} packets");
    assert!(
        retransmitted * 10 < dropped,
        "{retransmitted} retransmissions for {dropped} drops: the kernel took them for losses"
    );
}
