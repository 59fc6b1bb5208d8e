//! Loss on the kernel's side of `tun0`: [`KernelLoss`], a firewall rule that loses a share of
//! what the kernel sends to the device, at random, as a network would.
//!
//! Our [`Impair`](tunstack::device::Impair) loses what our stack sends; this loses what the
//! kernel sends, with the kernel's own packet filter, inside the test's namespace. Two details
//! decide whether that is a loss the kernel's TCP has to recover from, or not:
//!
//! - **The verdict.** A plain `drop` in the output hook is no loss at all for TCP: the send
//!   fails with `EPERM`, so the kernel knows, keeps the segment and sends it later, without
//!   counting a retransmission (`linux_lossy.rs` shows it: hundreds of drops, next to no
//!   retransmissions). Handing the packet to a netfilter queue that no program listens on loses
//!   it silently: to the sender, the packet left. So the rule says `queue` (nftables) or
//!   `NFQUEUE` (iptables), and nothing reads the queue ([`Verdict`]).
//! - **The size of what is dropped.** The kernel's TCP hands the IP layer segments of up to
//!   64 KiB at a time (GSO: generic segmentation offload), cut into packets only at the device,
//!   after the filter. One random drop would lose dozens of packets at once. The device's
//!   `gso_max_segs` is set to 1, so every segment goes through the filter on its own. (It must be
//!   set before the connection opens: a socket reads it when it learns its route.)
//!
//! The rules, by hand:
//!
//! ```text
//! ip link set dev tun0 gso_max_segs 1
//! nft add table inet lossy
//! nft add chain inet lossy out '{ type filter hook output priority 0; }'
//! nft add rule inet lossy out oifname "tun0" numgen random mod 100 < 5 counter queue num 7
//! ```
//!
//! or, where nftables has no `queue` (a kernel without `CONFIG_NFT_QUEUE`, as on the project's
//! machines) or `nft` is missing:
//!
//! ```text
//! iptables -A OUTPUT -o tun0 -m statistic --mode random --probability 0.05 -j NFQUEUE --queue-num 7
//! ```
//!
//! The rule's counter says how many packets it lost.

use std::fmt;
use std::io;
use std::process::Output;
use std::time::Duration;

use tunstack::device::netns::NetNs;

use crate::{output_within, DEVICE};

/// How long one `nft`, `iptables` or `ip` command may take.
const FIREWALL_LIMIT: Duration = Duration::from_secs(10);

/// The nftables table that holds the rule.
const TABLE: &str = "lossy";

/// The netfilter queue the lost packets go to. Nothing listens on it.
const QUEUE: &str = "7";

/// Which firewall front end loses the packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firewall {
    /// `nft`, with a table `inet lossy` of its own.
    Nftables,
    /// `iptables`, with one rule appended to the `OUTPUT` chain.
    Iptables,
}

/// A rule inside a namespace that loses `percent`% of the packets the kernel sends to `tun0`,
/// at random and without the kernel knowing; see the module documentation. It goes with the
/// namespace.
///
/// ```no_run
/// use tunstack_tests::{KernelLoss, TunNet};
///
/// # fn main() -> std::io::Result<()> {
/// let net = TunNet::start("example-kernel-loss")?;
/// let loss = KernelLoss::install(net.ns(), 5)?; // before any connection opens
/// // ... a transfer ...
/// println!("{loss}: {} packets lost", loss.dropped(net.ns())?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelLoss {
    firewall: Firewall,
    verdict: Verdict,
    percent: u8,
}

/// What the rule does with the packets it picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hands them to a netfilter queue that nothing reads: lost, and the sender is not told,
    /// as on a network. The default.
    Queue,
    /// Drops them, and the sender's send fails with `EPERM`: the kernel's TCP knows, and sends
    /// the segment later; nothing was lost on the way.
    Drop,
}

impl KernelLoss {
    /// Sets `tun0`'s `gso_max_segs` to 1 and installs the rule in `ns`, with nftables, or with
    /// iptables if `nft` is missing or has no `queue`: [`Verdict::Queue`], a loss. Connections
    /// opened before this call still send 64 KiB at a time, and lose them whole.
    ///
    /// Errors: `percent` over 100 (`InvalidInput`), `ip link` failed, or neither front end
    /// could add the rule (the message has both errors).
    pub fn install(ns: &NetNs, percent: u8) -> io::Result<KernelLoss> {
        KernelLoss::install_verdict(ns, percent, Verdict::Queue)
    }

    /// [`KernelLoss::install`] with the verdict given: [`Verdict::Drop`] shows what a plain
    /// firewall drop does to the kernel's own TCP.
    pub fn install_verdict(ns: &NetNs, percent: u8, verdict: Verdict) -> io::Result<KernelLoss> {
        if percent > 100 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a loss of {percent}% is not a percentage"),
            ));
        }
        run(
            ns,
            "ip",
            &["link", "set", "dev", DEVICE, "gso_max_segs", "1"],
        )?;
        let nft_err = match install_nft(ns, percent, verdict) {
            Ok(()) => {
                return Ok(KernelLoss {
                    firewall: Firewall::Nftables,
                    verdict,
                    percent,
                })
            }
            Err(err) => err,
        };
        // The half-made table, if any, goes: the iptables rule must be the only one.
        let _ = run(ns, "nft", &["delete", "table", "inet", TABLE]);
        let probability = format!("{:.2}", f64::from(percent) / 100.0);
        let mut rule = vec![
            "-w",
            "-A",
            "OUTPUT",
            "-o",
            DEVICE,
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &probability,
            "-j",
        ];
        rule.extend_from_slice(match verdict {
            Verdict::Queue => &["NFQUEUE", "--queue-num", QUEUE][..],
            Verdict::Drop => &["DROP"][..],
        });
        match run(ns, "iptables", &rule) {
            Ok(_) => Ok(KernelLoss {
                firewall: Firewall::Iptables,
                verdict,
                percent,
            }),
            Err(ipt_err) => Err(io::Error::other(format!(
                "no firewall rule for the kernel's loss: nft: {nft_err}; iptables: {ipt_err}"
            ))),
        }
    }

    /// Which front end holds the rule.
    pub fn firewall(&self) -> Firewall {
        self.firewall
    }

    /// What the rule does with the packets it picks.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The share of the kernel's packets that the rule loses, in percent.
    pub fn percent(&self) -> u8 {
        self.percent
    }

    /// How many packets the rule has lost so far, from its counter.
    pub fn dropped(&self, ns: &NetNs) -> io::Result<u64> {
        let output = match self.firewall {
            Firewall::Nftables => run(ns, "nft", &["list", "chain", "inet", TABLE, "out"])?,
            Firewall::Iptables => run(ns, "iptables", &["-w", "-L", "OUTPUT", "-v", "-x", "-n"])?,
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let found = match self.firewall {
            Firewall::Nftables => nft_counter(&text),
            Firewall::Iptables => iptables_counter(&text),
        };
        found.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no counter for the lost packets in:\n{text}"),
            )
        })
    }
}

/// "iptables: 5% of what the kernel sends to tun0 lost" (or "dropped").
impl fmt::Display for KernelLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.firewall {
            Firewall::Nftables => "nftables",
            Firewall::Iptables => "iptables",
        };
        let fate = match self.verdict {
            Verdict::Queue => "lost",
            Verdict::Drop => "dropped",
        };
        write!(
            f,
            "{name}: {}% of what the kernel sends to {DEVICE} {fate}",
            self.percent
        )
    }
}

/// The table, its output chain and the rule, with a counter.
fn install_nft(ns: &NetNs, percent: u8, verdict: Verdict) -> io::Result<()> {
    run(ns, "nft", &["add", "table", "inet", TABLE])?;
    run(
        ns,
        "nft",
        &[
            "add",
            "chain",
            "inet",
            TABLE,
            "out",
            "{ type filter hook output priority 0; }",
        ],
    )?;
    let limit = percent.to_string();
    let mut rule = vec![
        "add", "rule", "inet", TABLE, "out", "oifname", DEVICE, "numgen", "random", "mod", "100",
        "<", &limit, "counter",
    ];
    rule.extend_from_slice(match verdict {
        Verdict::Queue => &["queue", "num", QUEUE][..],
        Verdict::Drop => &["drop"][..],
    });
    run(ns, "nft", &rule)?;
    Ok(())
}

/// Runs `program args...` inside `ns`; an error unless it exits with success.
fn run(ns: &NetNs, program: &str, args: &[&str]) -> io::Result<Output> {
    let output = output_within(&mut ns.exec(program, args), FIREWALL_LIMIT)?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{program} {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output)
}

/// The packet count of the rule's counter in `nft list chain`: "... counter packets 42 bytes
/// 61234 queue to 7" (or "... drop").
fn nft_counter(listing: &str) -> Option<u64> {
    let line = listing
        .lines()
        .find(|line| line.contains("counter packets"))?;
    let mut words = line.split_whitespace();
    words.find(|&word| word == "packets")?;
    words.next()?.parse().ok()
}

/// The packet count of the rule in `iptables -L OUTPUT -v -x -n`: its first column.
fn iptables_counter(listing: &str) -> Option<u64> {
    let line = listing.lines().find(|line| line.contains("statistic"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counters() {
        let nft = "table inet lossy {\n\tchain out {\n\t\ttype filter hook output priority \
                   filter; policy accept;\n\t\toifname \"tun0\" numgen random mod 100 < 5 \
                   counter packets 42 bytes 61234 queue to 7\n\t}\n}\n";
        assert_eq!(nft_counter(nft), Some(42));
        let ipt = "Chain OUTPUT (policy ACCEPT 900 packets, 1000 bytes)\n    \
                   pkts      bytes target     prot opt in     out     source  destination\n      \
                   17    25000 NFQUEUE    0    --  *      tun0    0.0.0.0/0  0.0.0.0/0  \
                   statistic mode random probability 0.05000000000 NFQUEUE num 7\n";
        assert_eq!(iptables_counter(ipt), Some(17));
        assert_eq!(nft_counter("table inet lossy {}"), None);
        let nft_drop = "oifname \"tun0\" numgen random mod 100 < 5 counter packets 3 bytes 9 drop";
        assert_eq!(nft_counter(nft_drop), Some(3));
    }
}
