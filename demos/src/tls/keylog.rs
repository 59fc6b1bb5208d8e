//! [`KeyLogFile`]: the session secrets of every TLS connection, written where Wireshark reads
//! them, so that a capture of encrypted traffic can be decrypted after the fact.
//!
//! The format is the NSS key log format that browsers write when `SSLKEYLOGFILE` is set: one
//! line per secret,
//!
//! ```text
//!   CLIENT_HANDSHAKE_TRAFFIC_SECRET 5f3a...(client random, 64 hex digits) 9c1e...(the secret)
//!   SERVER_HANDSHAKE_TRAFFIC_SECRET 5f3a... 77b0...
//!   CLIENT_TRAFFIC_SECRET_0 5f3a... 01d4...
//!   SERVER_TRAFFIC_SECRET_0 5f3a... e8a2...
//!   EXPORTER_SECRET 5f3a... 3b6f...
//! ```
//!
//! The client random (from the ClientHello, in clear in the capture) tells Wireshark which
//! connection a line belongs to. In Wireshark: Edit → Preferences → Protocols → TLS →
//! "(Pre)-Master-Secret log filename"; with tshark: `-o tls.keylog_file:FILE`.
//!
//! Anyone with this file can read the traffic it covers: it is for captures made to learn from.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// A [`rustls::KeyLog`] that appends every secret to a file, one line each, flushed as it is
/// written (a capture read while the server still runs finds every connection's secrets).
#[derive(Debug)]
pub struct KeyLogFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl KeyLogFile {
    /// Creates (or empties) the file at `path`.
    pub fn create(path: &Path) -> io::Result<KeyLogFile> {
        Ok(KeyLogFile {
            path: path.to_path_buf(),
            file: Mutex::new(File::create(path)?),
        })
    }

    /// Where the secrets go.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One line of the key log: the label, the client random and the secret, both in hex.
pub fn line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    let mut text =
        String::with_capacity(label.len() + 2 * (client_random.len() + secret.len()) + 3);
    text.push_str(label);
    for part in [client_random, secret] {
        text.push(' ');
        for byte in part {
            let _ = write!(text, "{byte:02x}");
        }
    }
    text.push('\n');
    text
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = line(label, client_random, secret);
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // A key log that cannot be written costs the capture its decryption, not the
        // connection: say so and go on.
        if let Err(err) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            tracing::warn!("key log {}: {err}", self.path.display());
        }
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}
