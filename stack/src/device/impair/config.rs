//! What an [`Impair`](super::Impair) does to each direction, and how it is said in one line.

use std::fmt;
use std::io;
use std::time::Duration;

use super::fmt::{Human, Percent, Rate};
use super::script::Rule;

/// The longest delay, jitter or reorder timeout: an hour is already no network at all, and the
/// bound keeps every deadline far from the clock's limits.
const MAX_TIME: Duration = Duration::from_secs(3600);

/// The impairments of both directions, and the seed of every random choice.
///
/// "Outbound" is what the wrapped stack sends, "inbound" what it receives. The same seed and the
/// same packets give the same decisions on every run.
///
/// ```
/// use std::time::Duration;
/// use tunstack::device::impair::{ImpairConfig, Impairments};
///
/// let config = ImpairConfig::both_ways(Impairments {
///     loss: 0.05,
///     delay: Duration::from_millis(50),
///     ..Impairments::default()
/// })
/// .with_seed(7);
/// assert_eq!(config.to_string(), "loss 5%, delay 50 ms both ways (seed 7)");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImpairConfig {
    /// What happens to the packets the wrapped stack sends.
    pub outbound: Impairments,
    /// What happens to the packets the wrapped stack receives.
    pub inbound: Impairments,
    /// Seeds every random choice: loss, duplication, reordering, corruption, jitter and
    /// probability rules each draw from their own stream, per direction, so that turning one
    /// on does not change the choices of another.
    pub seed: u64,
}

impl ImpairConfig {
    /// The same impairments in both directions, seed 0.
    pub fn both_ways(impairments: Impairments) -> ImpairConfig {
        ImpairConfig {
            outbound: impairments.clone(),
            inbound: impairments,
            seed: 0,
        }
    }

    /// Impairs only what the wrapped stack sends, seed 0.
    pub fn outbound_only(impairments: Impairments) -> ImpairConfig {
        ImpairConfig {
            outbound: impairments,
            ..ImpairConfig::default()
        }
    }

    /// Impairs only what the wrapped stack receives, seed 0.
    pub fn inbound_only(impairments: Impairments) -> ImpairConfig {
        ImpairConfig {
            inbound: impairments,
            ..ImpairConfig::default()
        }
    }

    /// The same configuration with another seed.
    pub fn with_seed(mut self, seed: u64) -> ImpairConfig {
        self.seed = seed;
        self
    }

    /// Whether neither direction is impaired.
    pub fn is_perfect(&self) -> bool {
        self.outbound.is_perfect() && self.inbound.is_perfect()
    }

    /// Checks every setting; the error says which one is wrong.
    pub fn check(&self) -> io::Result<()> {
        for (name, impairments) in [("outbound", &self.outbound), ("inbound", &self.inbound)] {
            impairments.check().map_err(|err| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: {err}"))
            })?;
        }
        Ok(())
    }
}

/// One line: "loss 5% both ways (seed 7)", or each direction when they differ.
impl fmt::Display for ImpairConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.outbound == self.inbound {
            write!(f, "{} both ways", self.outbound)?;
        } else {
            write!(f, "outbound: {}; inbound: {}", self.outbound, self.inbound)?;
        }
        write!(f, " (seed {})", self.seed)
    }
}

/// What happens to the packets of one direction. The default is a perfect link.
///
/// A packet meets the impairments in this order (the order of the fields):
///
/// ```text
///  script ─► loss ─► duplicate ─► for each copy: corrupt ─► rate (queue) ─► delay ± jitter ─► reorder
///  (drop)    (drop)  (2 copies)                  (1 bit)    (tail drop)     (hold)             (hold back)
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Impairments {
    /// Scripted drops: a packet that any rule picks is dropped.
    pub script: Vec<Rule>,
    /// The probability of dropping each packet (0.0 to 1.0).
    pub loss: f64,
    /// The probability of sending a packet twice: the copy follows the original.
    pub duplicate: f64,
    /// The probability of flipping one random bit of a packet, anywhere in it. The receiver's
    /// checksums catch every such packet: the IPv4 header checksum covers the IP header, and
    /// the ICMP, UDP and TCP checksums cover the rest (UDP and TCP with a pseudo-header that
    /// repeats the addresses). The one exception is harmless: a UDP checksum field with a single
    /// bit set that loses it reads 0, "no checksum" ([RFC 768]), and the datagram is delivered,
    /// its data intact.
    ///
    /// [RFC 768]: https://www.rfc-editor.org/rfc/rfc768
    pub corrupt: f64,
    /// The bottleneck's rate in bits per second (`None`: no limit). Each packet takes
    /// `len × 8 / rate` to go through, one after another, so a burst queues up: queuing delay.
    pub rate: Option<u64>,
    /// How much the bottleneck's queue holds, counting the packet going through; a packet that
    /// does not fit is dropped (tail drop). Used only with `rate`.
    pub queue_limit: QueueLimit,
    /// How long every packet takes to cross, after the bottleneck: propagation delay (at most
    /// an hour).
    pub delay: Duration,
    /// A random extra delay, uniform in ±`jitter` around `delay` and never below zero.
    pub jitter: Duration,
    /// Keeps packets in order despite jitter: a packet never leaves before the one before it.
    /// Off by default, as in Linux's netem: jitter reorders packets, as real paths sometimes do.
    pub keep_order: bool,
    /// The probability of holding a packet back until 1 to `reorder_depth` later packets have
    /// gone (or `reorder_timeout` has passed, if they do not come).
    pub reorder: f64,
    /// How many later packets a held-back packet lets go first, at most (at least 1).
    pub reorder_depth: u32,
    /// The longest a held-back packet waits for the packets that should overtake it.
    pub reorder_timeout: Duration,
}

impl Default for Impairments {
    fn default() -> Self {
        Impairments {
            script: Vec::new(),
            loss: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            rate: None,
            queue_limit: QueueLimit::Packets(64),
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            keep_order: false,
            reorder: 0.0,
            reorder_depth: 3,
            reorder_timeout: Duration::from_millis(10),
        }
    }
}

impl Impairments {
    /// Whether packets go through untouched.
    pub fn is_perfect(&self) -> bool {
        self.script.is_empty()
            && self.loss == 0.0
            && self.duplicate == 0.0
            && self.corrupt == 0.0
            && self.rate.is_none()
            && self.delay.is_zero()
            && self.jitter.is_zero()
            && self.reorder == 0.0
    }

    /// Why these settings cannot be used, if they cannot.
    pub(super) fn check(&self) -> Result<(), String> {
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "{name} is a probability between 0 and 1 (0% to 100%), not {p}"
                ));
            }
        }
        for (name, time) in [
            ("delay", self.delay),
            ("jitter", self.jitter),
            ("reorder_timeout", self.reorder_timeout),
        ] {
            if time > MAX_TIME {
                return Err(format!("{name} is at most an hour, not {}", Human(time)));
            }
        }
        if self.rate == Some(0) {
            return Err("a rate of 0 bit/s carries nothing".into());
        }
        if self.rate.is_some() && self.queue_limit.is_zero() {
            return Err("the bottleneck's queue must hold at least one packet".into());
        }
        if self.reorder > 0.0 && self.reorder_depth == 0 {
            return Err("reorder_depth must be at least 1".into());
        }
        self.script.iter().try_for_each(Rule::check)
    }
}

/// The settings that are on, e.g. "loss 5%, delay 50 ms ± 10 ms, rate 10 Mbit/s (queue 64
/// packets)"; "no impairment" when there is none.
impl fmt::Display for Impairments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match self.script.len() {
            0 => {}
            1 => parts.push(format!("drop {}", self.script[0])),
            n => parts.push(format!("{n} scripted drop rules")),
        }
        if self.loss > 0.0 {
            parts.push(format!("loss {}", Percent(self.loss)));
        }
        if self.duplicate > 0.0 {
            parts.push(format!("duplicate {}", Percent(self.duplicate)));
        }
        if self.corrupt > 0.0 {
            parts.push(format!("corrupt {}", Percent(self.corrupt)));
        }
        if let Some(rate) = self.rate {
            parts.push(format!("rate {} (queue {})", Rate(rate), self.queue_limit));
        }
        if !self.delay.is_zero() || !self.jitter.is_zero() {
            let mut part = format!("delay {}", Human(self.delay));
            if !self.jitter.is_zero() {
                part += &format!(" ± {}", Human(self.jitter));
                if self.keep_order {
                    part += " in order";
                }
            }
            parts.push(part);
        }
        if self.reorder > 0.0 {
            parts.push(format!(
                "reorder {} (by up to {} packets)",
                Percent(self.reorder),
                self.reorder_depth
            ));
        }
        if parts.is_empty() {
            f.write_str("no impairment")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// How much the bottleneck's queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueLimit {
    /// At most this many packets (like Linux's `txqueuelen`).
    Packets(usize),
    /// At most this many bytes.
    Bytes(usize),
}

impl QueueLimit {
    fn is_zero(self) -> bool {
        matches!(self, QueueLimit::Packets(0) | QueueLimit::Bytes(0))
    }
}

impl fmt::Display for QueueLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueLimit::Packets(n) => write!(f, "{n} packets"),
            QueueLimit::Bytes(n) => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::impair::Match;

    #[test]
    fn one_line_says_what_is_on() {
        assert_eq!(Impairments::default().to_string(), "no impairment");
        let all = Impairments {
            script: vec![Rule::nth(Match::TcpData, 3)],
            loss: 0.05,
            duplicate: 0.01,
            corrupt: 0.001,
            rate: Some(10_000_000),
            delay: Duration::from_millis(50),
            jitter: Duration::from_millis(10),
            reorder: 0.02,
            ..Impairments::default()
        };
        assert_eq!(
            all.to_string(),
            "drop the 3rd TCP data segment, loss 5%, duplicate 1%, corrupt 0.1%, \
             rate 10 Mbit/s (queue 64 packets), delay 50 ms ± 10 ms, reorder 2% (by up to 3 packets)"
        );
        let config = ImpairConfig::outbound_only(Impairments {
            loss: 0.5,
            ..Impairments::default()
        });
        assert_eq!(
            config.to_string(),
            "outbound: loss 50%; inbound: no impairment (seed 0)"
        );
    }

    #[test]
    fn bad_settings_are_refused_with_the_direction_named() {
        let config = ImpairConfig::inbound_only(Impairments {
            loss: 1.5,
            ..Impairments::default()
        });
        let err = config.check().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().starts_with("inbound: loss"), "{err}");
        for bad in [
            Impairments {
                corrupt: f64::NAN,
                ..Impairments::default()
            },
            Impairments {
                rate: Some(0),
                ..Impairments::default()
            },
            Impairments {
                rate: Some(1000),
                queue_limit: QueueLimit::Bytes(0),
                ..Impairments::default()
            },
            Impairments {
                reorder: 0.1,
                reorder_depth: 0,
                ..Impairments::default()
            },
            Impairments {
                script: vec![Rule::nth(Match::Any, 0)],
                ..Impairments::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(ImpairConfig::default().check().is_ok());
        assert!(ImpairConfig::default().is_perfect());
    }
}
