//! The kernel's network counters inside a namespace, as `nstat` shows them: [`Nstat`].
//!
//! Linux counts what its TCP does, per network namespace, in `/proc/net/snmp` and
//! `/proc/net/netstat`; `nstat` prints them one per line (`TcpRetransSegs 12 0.0`). A test reads
//! them before and after a transfer and takes the difference ([`Nstat::since`]), so counters of
//! anything else that ran in the namespace do not count.
//!
//! The ones a test of loss recovery looks at:
//!
//! | counter | what the kernel counts |
//! |---|---|
//! | `TcpRetransSegs` | segments it sent again, for any reason |
//! | `TcpExtTCPLostRetransmit` | retransmissions that were lost too, and sent once more |
//! | `TcpExtTCPSackRecovery` | recoveries started with SACK's help |
//! | `TcpExtTCPSackRecoveryFail`, `TcpExtTCPRenoFailures` | recoveries that ended in a timeout |
//! | `TcpExtTCPTimeouts` | retransmission timer expiries |
//! | `TcpExtTCPFastRetrans` | fast retransmissions |
//! | `TcpExtTCPRetransFail` | retransmissions the kernel could not hand to the device |
//! | `TcpExtTCPOFOQueue` | segments it received out of order (after a gap) and queued |
//! | `TcpExtTCPSACKReorder` | reordering that SACK showed |
//! | `TcpExtTCPDSACKRecv` | duplicate segments the peer reported (D-SACK): spurious retransmissions |
//! | `TcpExtTCPDSACKOldSent` | D-SACKs it sent: data below its cumulative ACK arrived again |
//! | `TcpExtTCPKeepAlive` | keep-alive probes it sent |
//! | `TcpExtTCPDSACKUndo` | recoveries it undid because D-SACKs showed every resend needless |

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::time::Duration;

use tunstack::device::netns::NetNs;

use crate::output_within;

/// How long `nstat` may take.
const NSTAT_LIMIT: Duration = Duration::from_secs(10);

/// A snapshot of the kernel's network counters in one namespace, by `nstat`'s names.
///
/// ```no_run
/// use tunstack_tests::{Nstat, TunNet};
///
/// # fn main() -> std::io::Result<()> {
/// let net = TunNet::start("example-nstat")?;
/// let before = Nstat::read(net.ns())?;
/// // ... a transfer ...
/// let during = Nstat::read(net.ns())?.since(&before);
/// println!("the kernel retransmitted {} segments", during.get("TcpRetransSegs"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nstat {
    counters: BTreeMap<String, u64>,
}

impl Nstat {
    /// Runs `nstat -asz` (every counter's absolute value, zeros too, without reading or writing
    /// nstat's history file) inside `ns` and parses what it prints.
    ///
    /// Errors: nstat is missing (it comes with iproute2), fails, takes over 10 s, or prints
    /// nothing readable.
    pub fn read(ns: &NetNs) -> io::Result<Nstat> {
        let mut command = ns.exec("nstat", &["-asz"]);
        // Neither the history of another namespace nor a daemon's: this namespace's counters.
        command.env("NSTAT_HISTORY", "/dev/null");
        let output = output_within(&mut command, NSTAT_LIMIT)?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "nstat -asz in {} failed ({}): {}",
                ns.name(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let nstat = Nstat::parse(&String::from_utf8_lossy(&output.stdout));
        if nstat.counters.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "nstat printed no counters",
            ));
        }
        Ok(nstat)
    }

    /// Parses nstat's output: `NAME VALUE RATE` per line, after a `#kernel` header.
    pub fn parse(text: &str) -> Nstat {
        let counters = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let name = words.next()?;
                let value = words.next()?.parse().ok()?;
                Some((name.to_owned(), value))
            })
            .collect();
        Nstat { counters }
    }

    /// A counter's value; 0 for one this kernel does not have.
    pub fn get(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// How much each counter grew since `before` (counters only go up; one that went down, or
    /// wrapped, reads 0).
    pub fn since(&self, before: &Nstat) -> Nstat {
        let counters = self
            .counters
            .iter()
            .map(|(name, &value)| (name.clone(), value.saturating_sub(before.get(name))))
            .collect();
        Nstat { counters }
    }

    /// The named counters with their values, one `NAME VALUE` per line, for a test's report.
    pub fn show(&self, names: &[&str]) -> String {
        names
            .iter()
            .map(|name| format!("{name:<28} {:>8}\n", self.get(name)))
            .collect()
    }
}

/// Every counter that is not zero, one per line.
impl fmt::Display for Nstat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.counters {
            if *value != 0 {
                writeln!(f, "{name:<28} {value:>8}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "#kernel\n\
        IpInReceives                    120                0.0\n\
        TcpRetransSegs                  7                  0.0\n\
        TcpExtTCPSackRecovery           2                  0.0\n";

    #[test]
    fn parses_names_and_values() {
        let nstat = Nstat::parse(SAMPLE);
        assert_eq!(nstat.get("TcpRetransSegs"), 7);
        assert_eq!(nstat.get("TcpExtTCPSackRecovery"), 2);
        assert_eq!(nstat.get("TcpExtNoSuchCounter"), 0);
    }

    #[test]
    fn since_is_the_growth() {
        let before = Nstat::parse(SAMPLE);
        let after = Nstat::parse("TcpRetransSegs 10 0.0\nIpInReceives 100 0.0\n");
        let grown = after.since(&before);
        assert_eq!(grown.get("TcpRetransSegs"), 3);
        assert_eq!(grown.get("IpInReceives"), 0, "went down: 0");
        assert_eq!(
            grown.to_string(),
            format!("{:<28} {:>8}\n", "TcpRetransSegs", 3)
        );
    }
}
