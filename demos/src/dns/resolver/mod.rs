//! A stub resolver: what `getaddrinfo` does when a name is not in `/etc/hosts`, on our own
//! sockets.
//!
//! A stub resolver does not find answers itself: it asks one name server (the "recursive
//! resolver" named in `/etc/resolv.conf`; here `--server`) and waits. The course's
//! `measure_dns_lookup` times exactly this. Each lookup:
//!
//! 1. looks in the [`cache`] first: an answer whose TTL has not run out costs no packet at all
//!    (the course's "~0 ms, from cache");
//! 2. sends one query in a UDP datagram, from a fresh socket (a new ephemeral port) with a
//!    random ID, and takes as the answer only a datagram from the server's address and port
//!    whose ID and question match: a forged answer has to guess both (RFC 5452 9.1); an ICMP
//!    "port unreachable" in return means nobody serves DNS there, and the lookup ends at once;
//! 3. when no answer comes in time, sends the query again, waiting twice as long each time with
//!    a little random jitter (the course's exponential backoff), up to a number of tries;
//! 4. when the answer comes back truncated (the TC bit: it did not fit the 512 bytes a UDP
//!    answer may have without EDNS), asks again over TCP, where the message has a two-byte
//!    length in front and may be up to 65,535 bytes (RFC 1035 4.2.2, RFC 7766 5).
//!
//! ```text
//!   resolver (10.77.0.2:54321)                       name server (10.77.0.1:53)
//!     │ ── query id=0x1c2f  www.course.test A ────────────► │
//!     │              (lost, or slow: wait 1 s)              │
//!     │ ── query id=0x1c2f  www.course.test A ────────────► │  again, after 1 s
//!     │ ◄──── answer id=0x1c2f  www.course.test A 10.77.0.2 │
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::time::{timeout_at, Instant};
use tunstack::{Stack, TcpStream, UdpSocket};

use crate::backoff_delay;
use crate::dns::tcp::{read_framed, write_framed};
use crate::dns::{Message, Name, RData, Rcode, Record, RecordType};

pub mod cache;
mod error;
mod lookup;

pub use cache::{Cache, Cached};
pub use error::LookupError;
pub use lookup::{Lookup, Via};

/// How patient a resolver is.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    /// How long to wait for the first query's answer; each retry waits twice as long as the
    /// one before, plus up to half again of random jitter.
    pub timeout: Duration,
    /// How many UDP queries to send before giving up.
    pub tries: u32,
}

impl Default for Patience {
    /// One second, then two, then four: glibc's resolver waits 5 s, twice; a shorter first
    /// wait shows the backoff sooner.
    fn default() -> Patience {
        Patience {
            timeout: Duration::from_secs(1),
            tries: 3,
        }
    }
}

/// A stub resolver on `stack`, asking `server`, with a cache.
pub struct Resolver {
    stack: Stack,
    server: SocketAddr,
    patience: Patience,
    cache: Cache,
    rng: fastrand::Rng,
}

impl Resolver {
    /// A resolver asking `server` (port 53 unless given) from `stack`; `seed` makes its
    /// query IDs and jitter repeat (tests, the tour); `None` draws them fresh.
    pub fn new(stack: &Stack, server: SocketAddr, patience: Patience, seed: Option<u64>) -> Self {
        Resolver {
            stack: stack.clone(),
            server,
            patience,
            cache: Cache::new(),
            rng: seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        }
    }

    /// The server it asks.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Looks `name` up for records of type `qtype`: from the cache when it holds an answer,
    /// otherwise from the server. NXDOMAIN and other errors are [`LookupError`]s; a name with
    /// no record of that type gives a [`Lookup`] with no records.
    pub async fn lookup(&mut self, name: &Name, qtype: RecordType) -> Result<Lookup, LookupError> {
        let started = Instant::now();
        let rng = fastrand::Rng::with_seed(self.rng.u64(..));
        let answer = self.answer(name, qtype, rng).await?;
        self.keep(name, qtype, &answer);
        finish(name, qtype, answer, started)
    }

    /// The addresses of `name`: its A records, and its AAAA records when `ipv6`. The two
    /// questions go out together, as glibc's `getaddrinfo` sends them for AF_UNSPEC, so the
    /// lookup costs one round trip, not two.
    pub async fn lookup_host(&mut self, name: &Name, ipv6: bool) -> Result<Lookup, LookupError> {
        if !ipv6 {
            return self.lookup(name, RecordType::A).await;
        }
        let started = Instant::now();
        let (rng4, rng6) = (
            fastrand::Rng::with_seed(self.rng.u64(..)),
            fastrand::Rng::with_seed(self.rng.u64(..)),
        );
        let (four, six) = tokio::join!(
            self.answer(name, RecordType::A, rng4),
            self.answer(name, RecordType::Aaaa, rng6)
        );
        for (qtype, answer) in [(RecordType::A, &four), (RecordType::Aaaa, &six)] {
            if let Ok(answer) = answer {
                self.keep(name, qtype, answer);
            }
        }
        let mut lookup = finish(name, RecordType::A, four?, started)?;
        let six = finish(name, RecordType::Aaaa, six?, started)?;
        lookup.steps.extend(six.steps);
        // The AAAA answer's own records: any CNAMEs in it are the A answer's again.
        let aaaa = six
            .records
            .into_iter()
            .filter(|r| r.rtype() == RecordType::Aaaa);
        lookup.records.extend(aaaa);
        Ok(lookup)
    }

    /// The answer to `name`/`qtype`, from the cache or from the server (`localhost` from
    /// nowhere). Takes `&self` so that two can be under way at once.
    async fn answer(
        &self,
        name: &Name,
        qtype: RecordType,
        mut rng: fastrand::Rng,
    ) -> Result<Answered, LookupError> {
        if is_localhost(name) {
            return Ok(Answered::new(
                Rcode::NoError,
                loopback(name, qtype),
                Via::Local,
            ));
        }
        if let Some(cached) = self.cache.get(name, qtype, Instant::now()) {
            let via = Via::Cache(cached.ttl_left);
            return Ok(Answered::new(cached.rcode, cached.records, via));
        }
        let id = rng.u16(..);
        let query = Message::query(id, name.clone(), qtype);
        let (response, tries) = self.ask_udp(&query, &mut rng).await?;
        let (response, via) = match response.header.truncated {
            false => (response, Via::Udp(tries)),
            true => (self.ask_tcp(&query).await?, Via::Tcp(tries)),
        };
        Ok(Answered {
            rcode: response.header.rcode,
            records: response.answers.clone(),
            via,
            response: Some(response),
        })
    }

    /// Keeps what came from the server in the cache.
    fn keep(&mut self, name: &Name, qtype: RecordType, answer: &Answered) {
        if let Some(response) = &answer.response {
            self.cache.put(name, qtype, response, Instant::now());
        }
    }

    /// Sends `query` over UDP until an answer comes, waiting longer each time.
    async fn ask_udp(
        &self,
        query: &Message,
        rng: &mut fastrand::Rng,
    ) -> Result<(Message, u32), LookupError> {
        let any: IpAddr = match self.server {
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        // A fresh socket, so a fresh ephemeral port, for each lookup (RFC 5452 9.2), connected
        // to the server: only its datagrams come in, and an ICMP port unreachable (nobody
        // there) comes back as "connection refused", as glibc's resolver sees it too.
        let socket = UdpSocket::bind(&self.stack, (any, 0)).await?;
        socket.connect(self.server).await?;
        let bytes = query.encode();
        let mut waited = Duration::ZERO;
        for retry in 0..self.patience.tries {
            socket.send(&bytes).await?;
            let wait = backoff_delay(self.patience.timeout, retry, rng);
            waited += wait;
            if let Some(response) = self
                .answer_on(&socket, query, Instant::now() + wait)
                .await?
            {
                return Ok((response, retry + 1));
            }
            tracing::debug!(server = %self.server, retry, "no answer in {wait:?}: asking again");
        }
        Err(LookupError::TimedOut {
            server: self.server,
            tries: self.patience.tries,
            waited,
        })
    }

    /// Waits until `deadline` for the answer to `query` on `socket`, passing over datagrams
    /// that are not it (another ID or question, not a response, not DNS).
    async fn answer_on(
        &self,
        socket: &UdpSocket,
        query: &Message,
        deadline: Instant,
    ) -> Result<Option<Message>, LookupError> {
        let mut buf = vec![0u8; 65_536];
        loop {
            let len = match timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => return Ok(None),
                Ok(Ok(len)) => len,
                Ok(Err(err)) if err.kind() == io::ErrorKind::ConnectionRefused => {
                    return Err(LookupError::Unreachable(self.server));
                }
                Ok(Err(err)) => return Err(err.into()),
            };
            match Message::parse(&buf[..len.min(buf.len())]) {
                Ok(response) if answers(&response, query) => return Ok(Some(response)),
                Ok(_) => tracing::debug!("an answer to another query: passed over"),
                Err(err) => tracing::debug!("not a DNS message ({err}): passed over"),
            }
        }
    }

    /// Sends `query` over TCP (RFC 7766): connect, the message with its length, the answer
    /// with its length.
    async fn ask_tcp(&self, query: &Message) -> Result<Message, LookupError> {
        let wait = self
            .patience
            .timeout
            .saturating_mul(self.patience.tries.max(1));
        let exchange = async {
            let mut stream = TcpStream::connect(&self.stack, self.server).await?;
            write_framed(&mut stream, &query.encode()).await?;
            let answer = read_framed(&mut stream).await?;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            answer.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed before answering",
                )
            })
        };
        let bytes =
            tokio::time::timeout(wait, exchange)
                .await
                .map_err(|_| LookupError::TimedOut {
                    server: self.server,
                    tries: 1,
                    waited: wait,
                })??;
        let response = Message::parse(&bytes).map_err(LookupError::BadAnswer)?;
        if !answers(&response, query) {
            return Err(LookupError::Mismatch);
        }
        Ok(response)
    }
}

/// A name server's address as a user gives it: `10.77.0.1` or `fd77::1` (port 53), or with a
/// port, `10.77.0.1:5353` or `[fd77::1]:5353`. For clap's `value_parser`.
pub fn parse_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("`{text}` is not an address like 10.77.0.1 or [fd77::1]:53"))
}

/// Whether `name` is `localhost` or a name under it, which a resolver answers itself with the
/// loopback address and never sends to a server (RFC 6761 6.3).
fn is_localhost(name: &Name) -> bool {
    name.labels()
        .last()
        .is_some_and(|label| label.eq_ignore_ascii_case(b"localhost"))
}

/// The loopback address of `qtype`'s version, as a record of `name` (the TTL is nobody's).
fn loopback(name: &Name, qtype: RecordType) -> Vec<Record> {
    let data = match qtype {
        RecordType::A => RData::A(Ipv4Addr::LOCALHOST),
        RecordType::Aaaa => RData::Aaaa(Ipv6Addr::LOCALHOST),
        _ => return Vec::new(),
    };
    vec![Record {
        name: name.clone(),
        class: crate::dns::CLASS_IN,
        ttl: 0,
        data,
    }]
}

/// Whether `response` answers `query`: a response, with the query's ID and question.
fn answers(response: &Message, query: &Message) -> bool {
    response.header.response
        && response.header.id == query.header.id
        && response.questions == query.questions
}

/// What one question got: the response code, the answer's records, how it came, and the
/// response itself when it came from the server (for the cache).
struct Answered {
    rcode: Rcode,
    records: Vec<Record>,
    via: Via,
    response: Option<Message>,
}

impl Answered {
    fn new(rcode: Rcode, records: Vec<Record>, via: Via) -> Answered {
        Answered {
            rcode,
            records,
            via,
            response: None,
        }
    }
}

/// A lookup's outcome from what its question got.
fn finish(
    name: &Name,
    qtype: RecordType,
    answer: Answered,
    started: Instant,
) -> Result<Lookup, LookupError> {
    match answer.rcode {
        Rcode::NoError => Ok(Lookup {
            name: name.clone(),
            qtype,
            records: answer.records,
            took: started.elapsed(),
            via: answer.via,
            steps: vec![(qtype, answer.via)],
        }),
        Rcode::NxDomain => Err(LookupError::NoSuchName(name.clone())),
        other => Err(LookupError::Server(other)),
    }
}

#[cfg(test)]
mod tests;
