//! Numbers as a learner reads them in logs and banners: `5%`, `50 ms`, `10 Mbit/s`.

use std::fmt;
use std::time::Duration;

/// A probability shown as a percentage: `0.05` is `5%`, `0.001` is `0.1%`.
pub(super) struct Percent(pub f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", Trimmed(self.0 * 100.0))
    }
}

/// A duration in the unit that suits it: `250 µs`, `50 ms`, `1.5 s`.
pub(super) struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs_f64();
        if self.0.is_zero() {
            f.write_str("0")
        } else if self.0 < Duration::from_millis(1) {
            write!(f, "{} µs", Trimmed(secs * 1e6))
        } else if self.0 < Duration::from_secs(1) {
            write!(f, "{} ms", Trimmed(secs * 1e3))
        } else {
            write!(f, "{} s", Trimmed(secs))
        }
    }
}

/// A rate in bits per second, in the largest unit that keeps it at 1 or more: `10 Mbit/s`.
pub(super) struct Rate(pub u64);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self.0 as f64;
        let (value, unit) = match self.0 {
            1_000_000_000.. => (bits / 1e9, "Gbit/s"),
            1_000_000.. => (bits / 1e6, "Mbit/s"),
            1_000.. => (bits / 1e3, "kbit/s"),
            _ => (bits, "bit/s"),
        };
        write!(f, "{} {unit}", Trimmed(value))
    }
}

/// A number with at most three decimals and no trailing zeros: `5`, `0.1`, `12.345`.
struct Trimmed(f64);

impl fmt::Display for Trimmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.3}", self.0);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(Percent(0.05).to_string(), "5%");
        assert_eq!(Percent(0.001).to_string(), "0.1%");
        assert_eq!(Percent(1.0).to_string(), "100%");
        assert_eq!(Percent(0.0).to_string(), "0%");
        assert_eq!(Human(Duration::from_millis(50)).to_string(), "50 ms");
        assert_eq!(Human(Duration::from_micros(1500)).to_string(), "1.5 ms");
        assert_eq!(Human(Duration::from_micros(250)).to_string(), "250 µs");
        assert_eq!(Human(Duration::from_millis(2000)).to_string(), "2 s");
        assert_eq!(Human(Duration::ZERO).to_string(), "0");
        assert_eq!(Rate(10_000_000).to_string(), "10 Mbit/s");
        assert_eq!(Rate(1_500_000).to_string(), "1.5 Mbit/s");
        assert_eq!(Rate(64_000).to_string(), "64 kbit/s");
        assert_eq!(Rate(1_000_000_000).to_string(), "1 Gbit/s");
        assert_eq!(Rate(300).to_string(), "300 bit/s");
    }
}
