//! [`HttpUrl`]: an `http://` or `https://` URL, split into what a request needs.
//!
//! The course's "what happens when you type a URL" starts with DNS turning the URL's host name
//! into an address; a URL may also name the address itself:
//!
//! ```text
//!   https://www.course.test:8443/notes/hello.txt?lang=en#top
//!   ─────   ─────────────── ──── ──────────────────────── ────
//!   scheme  host            port request target           fragment: stays in the browser,
//!   (http:  (a name, for    (80  (path and query: goes    never sent
//!   no TLS; DNS; or an      or   into the request line)
//!   https:  address:        443
//!   TLS)    10.77.0.1)      if none)
//! ```
//!
//! An IPv6 host goes in brackets, so that the colons inside it are not taken for the one
//! before the port ([RFC 3986 section 3.2.2]): `http://[fd77::1]:8000/`. The `Host` header
//! keeps the brackets too: `Host: [fd77::1]:8000`.
//!
//! [RFC 3986 section 3.2.2]: https://www.rfc-editor.org/rfc/rfc3986#section-3.2.2

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// A parsed `http://HOST[:PORT][/PATH][?QUERY]` URL.
///
/// ```
/// use tunstack_demos::http::url::{Host, HttpUrl};
///
/// let url: HttpUrl = "http://10.77.0.1:8000/hello.txt#top".parse().unwrap();
/// assert_eq!(url.addr().unwrap().to_string(), "10.77.0.1:8000");
/// assert_eq!(url.target, "/hello.txt");
/// assert_eq!(url.host_header(), "10.77.0.1:8000");
///
/// let url: HttpUrl = "http://[fd77::1]:8000/".parse().unwrap();
/// assert_eq!(url.addr().unwrap().to_string(), "[fd77::1]:8000");
/// assert_eq!(url.host_header(), "[fd77::1]:8000");
///
/// let url: HttpUrl = "https://WWW.course.test/x".parse().unwrap();
/// assert_eq!(url.host, Host::Name("www.course.test".to_string()));
/// assert_eq!(url.addr(), None); // a name: DNS first
/// assert_eq!((url.port, url.host_header()), (443, "www.course.test".to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// The server: a name to look up, or an address.
    pub host: Host,
    /// The port: the scheme's default, 80 or 443, unless the URL names one.
    pub port: u16,
    /// The request target: the path and query, at least `/`.
    pub target: String,
}

/// A URL's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A name, in lower case (names are case-insensitive, RFC 4343), for DNS to turn into an
    /// address.
    Name(String),
    /// An address, IPv4 or IPv6.
    Addr(IpAddr),
}

impl fmt::Display for Host {
    /// As a URL writes it: a name, an IPv4 address, or an IPv6 address in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Addr(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Addr(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// A URL's scheme: how to talk to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP straight on TCP.
    Http,
    /// HTTP inside TLS, on TCP ([RFC 9110 section 4.2.2]).
    ///
    /// [RFC 9110 section 4.2.2]: https://www.rfc-editor.org/rfc/rfc9110#section-4.2.2
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port when the URL names none: 80 for http, 443 for https.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl HttpUrl {
    /// The server's address and port when the URL names an address; `None` for a name, which
    /// DNS must turn into one first.
    pub fn addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Addr(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }

    /// The host and the port, always: `www.course.test:443`, `[fd77::1]:8000`.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The `Host` header's value (HTTP/2's `:authority`): the host (an IPv6 address in
    /// brackets), and the port unless it is the scheme's default.
    pub fn host_header(&self) -> String {
        let host = self.host.to_string();
        match self.port {
            port if port == self.scheme.default_port() => host,
            port => format!("{host}:{port}"),
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.name(),
            self.host_header(),
            self.target
        )
    }
}

impl FromStr for HttpUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<HttpUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{url}` is not a URL like http://10.77.0.1:8000/"))?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            return Err(format!("`{url}`: only http:// and https:// URLs"));
        };
        // The authority ends where the path, the query or the fragment begins.
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        let rest = rest.split('#').next().unwrap_or("");
        let (host, port) = host_and_port(url, authority, scheme.default_port())?;
        if rest.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(format!(
                "`{url}`: a URL has no spaces or control characters (write a space as %20)"
            ));
        }
        let target = match rest.chars().next() {
            None => "/".to_string(),
            Some('?') => format!("/{rest}"),
            Some(_) => rest.to_string(),
        };
        Ok(HttpUrl {
            scheme,
            host,
            port,
            target,
        })
    }
}

/// Reads the URL's authority: `www.course.test`, `10.77.0.1:8000`, `[fd77::1]` or
/// `[fd77::1]:8000`.
fn host_and_port(url: &str, authority: &str, default: u16) -> Result<(Host, u16), String> {
    let (ip, port) = if let Some(inside) = authority.strip_prefix('[') {
        let (host, after) = inside.split_once(']').ok_or_else(|| {
            format!("`{url}`: a `[` without its `]`: an IPv6 host is written [fd77::1]")
        })?;
        let ip = host.parse::<Ipv6Addr>().map_err(|_| {
            format!("`{url}`: `{host}` in brackets is not an IPv6 address like fd77::1")
        })?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                format!("`{url}`: after `]` comes the port, as in [fd77::1]:8000")
            })?),
        };
        (Host::Addr(IpAddr::V6(ip)), port)
    } else if authority.matches(':').count() > 1 {
        return Err(format!(
            "`{url}`: an IPv6 host goes in brackets, so that its colons are not taken for the \
             port's, e.g. http://[fd77::1]:8000/"
        ));
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        (name_or_ipv4(url, host)?, port)
    };
    let port = match port {
        None => default,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("`{url}`: `{port}` is not a port (1-65535)"))?,
    };
    Ok((ip, port))
}

/// A host that is not in brackets: an IPv4 address, or a name made of labels of letters,
/// digits and hyphens (RFC 1123 2.1), each 1 to 63 characters, 253 in all.
fn name_or_ipv4(url: &str, host: &str) -> Result<Host, String> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Addr(IpAddr::V4(ip)));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let numeric = name
        .rsplit('.')
        .next()
        .is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()));
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) || numeric {
        return Err(format!(
            "`{url}`: `{host}` is neither a host name like www.course.test nor an address like \
             10.77.0.1 or [fd77::1]"
        ));
    }
    Ok(Host::Name(name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> (String, String, String) {
        let url: HttpUrl = url.parse().unwrap();
        (url.authority(), url.target.clone(), url.host_header())
    }

    #[test]
    fn host_port_and_target() {
        let own = |a: &str, t: &str, h: &str| (a.to_string(), t.to_string(), h.to_string());
        assert_eq!(
            parse("http://10.77.0.1:8000/a/b.txt?x=1&y=2#frag"),
            own("10.77.0.1:8000", "/a/b.txt?x=1&y=2", "10.77.0.1:8000")
        );
        assert_eq!(
            parse("http://10.77.0.2"),
            own("10.77.0.2:80", "/", "10.77.0.2")
        );
        assert_eq!(
            parse("HTTP://10.77.0.2:80?q"),
            own("10.77.0.2:80", "/?q", "10.77.0.2")
        );
        assert_eq!(
            parse("http://10.77.0.2/#top"),
            own("10.77.0.2:80", "/", "10.77.0.2")
        );
        assert_eq!(
            parse("http://[fd77::1]:8000/a?b"),
            own("[fd77::1]:8000", "/a?b", "[fd77::1]:8000")
        );
        assert_eq!(
            parse("http://[FD77:0::2]"),
            own("[fd77::2]:80", "/", "[fd77::2]")
        );
    }

    #[test]
    fn what_it_refuses_and_why() {
        for (url, why) in [
            ("10.77.0.1/", "is not a URL"),
            ("ftp://10.77.0.1/", "only http:// and https://"),
            ("http://user@10.77.0.1/", "neither a host name"),
            ("http://under_score.test/", "neither a host name"),
            ("http://-x.test/", "neither a host name"),
            ("http://a..b/", "neither a host name"),
            ("http://10.77.0.300/", "neither a host name"),
            ("http://:80/", "neither a host name"),
            ("http://fd77::1/", "goes in brackets"),
            ("http://[fd77::1/", "without its `]`"),
            ("http://[10.77.0.1]/", "not an IPv6 address"),
            ("http://[fe80::1%tun0]/", "not an IPv6 address"),
            ("http://[fd77::1]8000/", "after `]` comes the port"),
            ("http://[fd77::1]:0/", "not a port"),
            ("http://10.77.0.1:0/", "not a port"),
            ("http://10.77.0.1:99999/", "not a port"),
            ("http://10.77.0.1/a b", "no spaces"),
        ] {
            let err = url.parse::<HttpUrl>().unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn names_are_kept_for_dns_in_lower_case() {
        assert_eq!(
            parse("https://WWW.Course.Test./a"),
            (
                "www.course.test:443".to_string(),
                "/a".to_string(),
                "www.course.test".to_string()
            )
        );
        let url: HttpUrl = "http://localhost:8000/".parse().unwrap();
        assert_eq!(url.host, Host::Name("localhost".to_string()));
        assert_eq!(url.addr(), None);
        assert_eq!(url.to_string(), "http://localhost:8000/");
    }

    #[test]
    fn display_gives_the_url_back() {
        let url: HttpUrl = "http://10.77.0.1:8000/x?y#z".parse().unwrap();
        assert_eq!(url.to_string(), "http://10.77.0.1:8000/x?y");
        let url: HttpUrl = "http://[fd77::2]/".parse().unwrap();
        assert_eq!(url.to_string(), "http://[fd77::2]/");
        let url: HttpUrl = "HTTPS://10.77.0.1:443/a".parse().unwrap();
        assert_eq!(url.to_string(), "https://10.77.0.1/a");
        let url: HttpUrl = "https://[fd77::1]:8443".parse().unwrap();
        assert_eq!(url.to_string(), "https://[fd77::1]:8443/");
    }

    #[test]
    fn https_defaults_to_port_443_and_keeps_other_ports() {
        let url: HttpUrl = "https://10.77.0.1/x".parse().unwrap();
        assert_eq!(url.scheme, Scheme::Https);
        assert_eq!(url.addr().map(|a| a.port()), Some(443));
        assert_eq!(url.host_header(), "10.77.0.1");
        let url: HttpUrl = "https://10.77.0.1:80/".parse().unwrap();
        assert_eq!(url.host_header(), "10.77.0.1:80");
        let url: HttpUrl = "http://10.77.0.1:443/".parse().unwrap();
        assert_eq!(url.scheme, Scheme::Http);
        assert_eq!(url.host_header(), "10.77.0.1:443");
    }
}
