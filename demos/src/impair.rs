//! The command-line options that make a demo's network imperfect: `--loss 5%`, `--delay 50ms`,
//! `--rate 1mbit` and friends, applied by wrapping the TUN device in
//! [`Impair`](tunstack::device::Impair).
//!
//! The numbers are written as for Linux's `tc netem`: a percentage with or without its `%`
//! (`5` is 5%, not 500%), a time with its unit (`50ms`, `0.5s`), a rate in bits per second with
//! `bit`, `kbit`, `mbit` or `gbit` (or just `k`, `M`, `G`) after it.

use std::time::Duration;

use tunstack::device::impair::{ImpairConfig, Impairments, QueueLimit};

/// Which way the impairments apply, seen from the demo's stack.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImpairDirection {
    /// Both ways.
    #[default]
    Both,
    /// Only packets coming in to the demo (sent by the kernel side).
    In,
    /// Only packets the demo sends.
    Out,
}

/// Options that impair the demo's link on purpose, to watch what the protocols do about it.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ImpairOptions {
    /// Drop each packet with this probability, e.g. 5% (a bare 5 is 5% too, as in tc-netem).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, help_heading = "Impairments")]
    pub loss: Option<f64>,

    /// Delay every packet by this long (propagation delay), e.g. 50ms or 0.2s.
    #[arg(long, value_name = "TIME", value_parser = parse_time, help_heading = "Impairments")]
    pub delay: Option<Duration>,

    /// Vary the delay at random by up to this much either way, e.g. 10ms (this can reorder
    /// packets, as on real paths).
    #[arg(long, value_name = "TIME", value_parser = parse_time, help_heading = "Impairments")]
    pub jitter: Option<Duration>,

    /// Squeeze the link to this many bits per second, e.g. 10mbit, 512kbit, 1gbit or 10M:
    /// packets then queue up (queuing delay) and overflow (tail drop).
    #[arg(long, value_name = "RATE", value_parser = parse_rate, help_heading = "Impairments")]
    pub rate: Option<u64>,

    /// How many packets wait for the --rate bottleneck before new ones are dropped [default: 64].
    #[arg(
        long,
        value_name = "PACKETS",
        requires = "rate",
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Impairments"
    )]
    pub queue: Option<u64>,

    /// Send each packet twice with this probability, e.g. 1%.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, help_heading = "Impairments")]
    pub duplicate: Option<f64>,

    /// Hold each packet back behind up to 3 later ones with this probability, e.g. 2%.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, help_heading = "Impairments")]
    pub reorder: Option<f64>,

    /// Flip one random bit of each packet with this probability, e.g. 0.1% (the receiver's
    /// checksums catch it, and the packet is dropped there).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, help_heading = "Impairments")]
    pub corrupt: Option<f64>,

    /// Seed for the random choices above: the same seed makes the same choices for the same
    /// packets.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Impairments"
    )]
    pub seed: u64,

    /// Which way the impairments apply: both, in (to the demo) or out (from the demo).
    #[arg(
        long,
        value_name = "WAY",
        value_enum,
        default_value_t = ImpairDirection::Both,
        help_heading = "Impairments"
    )]
    pub impair_direction: ImpairDirection,
}

impl ImpairOptions {
    /// The configuration these options ask for; `None` when they ask for no impairment at all.
    pub fn config(&self) -> Option<ImpairConfig> {
        let defaults = Impairments::default();
        let impairments = Impairments {
            loss: self.loss.unwrap_or(0.0),
            delay: self.delay.unwrap_or(Duration::ZERO),
            jitter: self.jitter.unwrap_or(Duration::ZERO),
            rate: self.rate,
            queue_limit: match self.queue {
                Some(n) => QueueLimit::Packets(usize::try_from(n).unwrap_or(usize::MAX)),
                None => defaults.queue_limit,
            },
            duplicate: self.duplicate.unwrap_or(0.0),
            reorder: self.reorder.unwrap_or(0.0),
            corrupt: self.corrupt.unwrap_or(0.0),
            ..defaults
        };
        if impairments.is_perfect() {
            return None;
        }
        let config = match self.impair_direction {
            ImpairDirection::Both => ImpairConfig::both_ways(impairments),
            ImpairDirection::In => ImpairConfig::inbound_only(impairments),
            ImpairDirection::Out => ImpairConfig::outbound_only(impairments),
        };
        Some(config.with_seed(self.seed))
    }
}

/// Parses a time with its unit: `50ms`, `0.5s`, `200us` (or `µs`); from 0 to an hour.
///
/// A bare number is refused rather than guessed: `--delay 50` could mean 50 ms or 50 s.
pub fn parse_time(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (number, scale) = if let Some(n) = trimmed.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = trimmed.strip_suffix("us").or(trimmed.strip_suffix("µs")) {
        (n, 1e-6)
    } else if let Some(n) = trimmed.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(format!(
            "`{text}` needs a unit: write it like 50ms, 0.5s or 200us"
        ));
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a time like 50ms, 0.5s or 200us"))?;
    match Duration::try_from_secs_f64(value * scale) {
        Ok(time) if time <= Duration::from_secs(3600) => Ok(time),
        _ => Err(format!("`{text}` is not a time between 0 and an hour")),
    }
}

/// Parses a percentage: `5%`, `0.1%`, or a bare `5` (5%, as in tc-netem), from 0 to 100.
/// Returns it as a probability (0.05).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim());
    let value: f64 = number
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a percentage like 5% or 0.1%"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("`{text}` is not between 0% and 100%"));
    }
    Ok(value / 100.0)
}

/// Parses a rate in bits per second: `10mbit`, `512kbit`, `1gbit`, `800bit`, or `10M`, `512k`,
/// `1G` (units in any case, `/s` allowed after them); a bare number is bits per second.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let unit_start = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(unit_start);
    let unit = unit.trim();
    let unit = unit.strip_suffix("/s").unwrap_or(unit);
    let scale = match unit {
        "" | "bit" => 1.0,
        "k" | "kbit" => 1e3,
        "m" | "mbit" => 1e6,
        "g" | "gbit" => 1e9,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}`; write the rate in bits per second like \
                 10mbit, 512kbit, 1gbit or 10M"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a rate like 10mbit, 512kbit or 10M"))?;
    let bits = (value * scale).round();
    if !(1.0..=1e12).contains(&bits) {
        return Err(format!(
            "`{text}` is not a rate between 1 bit/s and 1000 Gbit/s"
        ));
    }
    // In range just above, so the conversion is exact.
    Ok(bits as u64)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        impair: ImpairOptions,
    }

    fn cli(args: &[&str]) -> Result<ImpairOptions, String> {
        Cli::try_parse_from(std::iter::once("demo").chain(args.iter().copied()))
            .map(|cli| cli.impair)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn percentages_with_or_without_the_sign() {
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert_eq!(parse_percent("5"), Ok(0.05));
        assert_eq!(parse_percent("0.1%"), Ok(0.001));
        assert_eq!(parse_percent("100%"), Ok(1.0));
        assert_eq!(parse_percent(" 0 % "), Ok(0.0));
        for bad in ["", "%", "five", "150%", "-1%", "NaN", "inf%", "5%%"] {
            assert!(parse_percent(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_percent("150%").unwrap_err(),
            "`150%` is not between 0% and 100%"
        );
    }

    #[test]
    fn times_with_their_unit() {
        assert_eq!(parse_time("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_time("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_time("200us"), Ok(Duration::from_micros(200)));
        assert_eq!(parse_time("200µs"), Ok(Duration::from_micros(200)));
        assert_eq!(parse_time("0ms"), Ok(Duration::ZERO));
        for bad in ["", "50", "ms", "fast", "-5ms", "2h", "3601s", "NaNs"] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rates_in_bits_per_second() {
        assert_eq!(parse_rate("10mbit"), Ok(10_000_000));
        assert_eq!(parse_rate("10Mbit/s"), Ok(10_000_000));
        assert_eq!(parse_rate("10M"), Ok(10_000_000));
        assert_eq!(parse_rate("512kbit"), Ok(512_000));
        assert_eq!(parse_rate("512k"), Ok(512_000));
        assert_eq!(parse_rate("1.5mbit"), Ok(1_500_000));
        assert_eq!(parse_rate("1gbit"), Ok(1_000_000_000));
        assert_eq!(parse_rate("9600"), Ok(9600));
        assert_eq!(parse_rate("800bit"), Ok(800));
        for bad in [
            "", "fast", "10mb", "10kbps", "0", "0.1bit", "-5M", "1.2.3M", "9999gbit",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad:?}");
        }
        assert!(parse_rate("10kbps")
            .unwrap_err()
            .contains("bits per second"));
    }

    #[test]
    fn no_option_means_no_impairment() {
        assert_eq!(cli(&[]).unwrap().config(), None);
        assert_eq!(
            cli(&["--loss", "0%", "--seed", "3"]).unwrap().config(),
            None
        );
    }

    #[test]
    fn options_become_a_configuration() {
        let options = cli(&[
            "--loss",
            "5%",
            "--delay",
            "50ms",
            "--jitter",
            "10ms",
            "--rate",
            "10mbit",
            "--queue",
            "32",
            "--duplicate",
            "1%",
            "--reorder",
            "2",
            "--corrupt",
            "0.1%",
            "--seed",
            "7",
        ])
        .unwrap();
        let config = options.config().unwrap();
        assert_eq!(config.outbound, config.inbound);
        let impairments = &config.outbound;
        assert_eq!(impairments.loss, 0.05);
        assert_eq!(impairments.delay, Duration::from_millis(50));
        assert_eq!(impairments.jitter, Duration::from_millis(10));
        assert_eq!(impairments.rate, Some(10_000_000));
        assert_eq!(impairments.queue_limit, QueueLimit::Packets(32));
        assert_eq!((impairments.duplicate, impairments.reorder), (0.01, 0.02));
        assert_eq!(impairments.corrupt, 0.001);
        assert_eq!(config.seed, 7);
        assert_eq!(
            config.to_string(),
            "loss 5%, duplicate 1%, corrupt 0.1%, rate 10 Mbit/s (queue 32 packets), \
             delay 50 ms ± 10 ms, reorder 2% (by up to 3 packets) both ways (seed 7)"
        );
    }

    #[test]
    fn one_direction_only() {
        let config = cli(&["--loss", "5", "--impair-direction", "out"])
            .unwrap()
            .config()
            .unwrap();
        assert_eq!(config.outbound.loss, 0.05);
        assert!(config.inbound.is_perfect());
        let config = cli(&["--delay", "1s", "--impair-direction", "in"])
            .unwrap()
            .config()
            .unwrap();
        assert!(config.outbound.is_perfect());
        assert_eq!(config.inbound.delay, Duration::from_secs(1));
    }

    #[test]
    fn mistakes_are_explained() {
        let err = cli(&["--loss", "150%"]).unwrap_err();
        assert!(err.contains("`150%` is not between 0% and 100%"), "{err}");
        let err = cli(&["--queue", "10"]).unwrap_err();
        assert!(err.contains("--rate"), "--queue needs --rate: {err}");
        let err = cli(&["--rate", "10mbit", "--queue", "0"]).unwrap_err();
        assert!(err.contains("--queue"), "{err}");
        let err = cli(&["--impair-direction", "up"]).unwrap_err();
        assert!(err.contains("both"), "{err}");
        let err = cli(&["--delay", "50"]).unwrap_err();
        assert!(err.contains("needs a unit"), "{err}");
    }
}
