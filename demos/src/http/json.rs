//! Just enough JSON to write the stack's counters: objects, arrays, strings, numbers, `null`.
//!
//! Written by hand rather than with serde, so that the stack needs no serialization
//! dependency and the JSON has the shape a reader wants (durations in milliseconds, drop
//! reasons by name), not the shape of the Rust types.
//!
//! ```
//! use tunstack_demos::http::json::{array, Object};
//!
//! let json = Object::new()
//!     .str("state", "ESTABLISHED")
//!     .u64("cwnd", 14600)
//!     .raw("ports", &array([80, 51234].map(|p| p.to_string())))
//!     .finish();
//! assert_eq!(json, r#"{"state":"ESTABLISHED","cwnd":14600,"ports":[80,51234]}"#);
//! ```

use std::fmt::Write;
use std::time::Duration;

/// A JSON object under construction; [`Object::finish`] closes it.
#[derive(Debug, Clone)]
pub struct Object {
    out: String,
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object {
            out: String::from("{"),
        }
    }

    /// Adds `key` with `value`, which must already be JSON (an object, an array, a number...).
    pub fn raw(mut self, key: &str, value: &str) -> Object {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        self.out.push_str(&string(key));
        self.out.push(':');
        self.out.push_str(value);
        self
    }

    /// Adds a string.
    pub fn str(self, key: &str, value: &str) -> Object {
        self.raw(key, &string(value))
    }

    /// Adds a whole number.
    pub fn u64(self, key: &str, value: u64) -> Object {
        self.raw(key, &value.to_string())
    }

    /// Adds `true` or `false`.
    pub fn bool(self, key: &str, value: bool) -> Object {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// Adds a duration as milliseconds with microsecond precision, or `null` for `None`.
    pub fn millis(self, key: &str, value: Option<Duration>) -> Object {
        match value {
            Some(d) => self.raw(key, &format!("{:.3}", d.as_secs_f64() * 1000.0)),
            None => self.raw(key, "null"),
        }
    }

    /// The object's JSON text.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

impl Default for Object {
    fn default() -> Self {
        Object::new()
    }
}

/// A JSON array of values that are already JSON.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}

/// `text` as a JSON string: quoted, with `"`, `\` and control characters escaped.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
        assert_eq!(string("10.77.0.2:80"), r#""10.77.0.2:80""#);
    }

    #[test]
    fn objects_nest_and_durations_are_milliseconds() {
        let inner = Object::new().bool("sack", true).finish();
        let json = Object::new()
            .millis("srtt_ms", Some(Duration::from_micros(1234)))
            .millis("none", None)
            .raw("inner", &inner)
            .raw("empty", &Object::new().finish())
            .raw("list", &array(Vec::new()))
            .finish();
        assert_eq!(
            json,
            r#"{"srtt_ms":1.234,"none":null,"inner":{"sack":true},"empty":{},"list":[]}"#
        );
    }
}
