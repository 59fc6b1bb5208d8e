//! Why a lookup failed, in words a learner can act on.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::dns::{DnsError, Name, Rcode};

/// Why a lookup failed.
#[derive(Debug)]
pub enum LookupError {
    /// The server says the name does not exist (NXDOMAIN, RFC 1035 4.1.1 rcode 3).
    NoSuchName(Name),
    /// The server answered with another error: SERVFAIL, REFUSED, FORMERR, NOTIMP...
    Server(Rcode),
    /// No answer came to any of the tries.
    TimedOut {
        /// The server asked.
        server: SocketAddr,
        /// How many queries went out.
        tries: u32,
        /// How long the lookup waited in all.
        waited: Duration,
    },
    /// Nobody serves DNS at the server's address and port: it answered with ICMP "port
    /// unreachable".
    Unreachable(SocketAddr),
    /// The answer over TCP could not be read.
    BadAnswer(DnsError),
    /// The answer over TCP was not for our query.
    Mismatch,
    /// A socket error (the stack stopped, the connection was refused...).
    Io(io::Error),
}

impl From<io::Error> for LookupError {
    fn from(err: io::Error) -> LookupError {
        LookupError::Io(err)
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NoSuchName(name) => write!(f, "{name} does not exist (NXDOMAIN)"),
            LookupError::Server(Rcode::Refused) => {
                write!(
                    f,
                    "the server refused (REFUSED): it does not answer for that name"
                )
            }
            LookupError::Server(rcode) => write!(f, "the server answered {rcode}"),
            LookupError::TimedOut {
                server,
                tries,
                waited,
            } => write!(
                f,
                "no answer from {server} to {tries} {} in {:.1} s (is a name server running \
                 there?)",
                if *tries == 1 { "query" } else { "queries" },
                waited.as_secs_f64()
            ),
            LookupError::Unreachable(server) => write!(
                f,
                "nothing serves DNS at {server}: it answered with ICMP port unreachable (start \
                 a name server there, or give another with --server/--dns)"
            ),
            LookupError::BadAnswer(err) => write!(f, "the answer over TCP is not DNS: {err}"),
            LookupError::Mismatch => write!(f, "the answer over TCP is for another query"),
            LookupError::Io(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for LookupError {}

impl From<LookupError> for io::Error {
    fn from(err: LookupError) -> io::Error {
        let kind = match &err {
            LookupError::NoSuchName(_) => io::ErrorKind::NotFound,
            LookupError::TimedOut { .. } => io::ErrorKind::TimedOut,
            LookupError::Unreachable(_) => io::ErrorKind::ConnectionRefused,
            LookupError::Io(err) => err.kind(),
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err.to_string())
    }
}
