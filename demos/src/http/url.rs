//! [`HttpUrl`]: an `http://` or `https://` URL with a numeric host, IPv4 or IPv6, split into
//! what a request needs.
//!
//! The course's "what happens when you type a URL" starts with DNS turning a name into an
//! address. This demo has no DNS, so the host is already an address:
//!
//! ```text
//!   http://10.77.0.1:8000/notes/hello.txt?lang=en#top
//!   ───── ───────── ──── ──────────────────────── ────
//!   scheme  host    port  request target            fragment: stays in the browser,
//!   (http:  (no DNS (80    (path and query: goes     never sent
//!   no TLS; here)   if     into the request line)
//!   https:          none;
//!   TLS)            https:
//!                   443)
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
/// use tunstack_demos::http::url::HttpUrl;
///
/// let url: HttpUrl = "http://10.77.0.1:8000/hello.txt#top".parse().unwrap();
/// assert_eq!(url.addr.to_string(), "10.77.0.1:8000");
/// assert_eq!(url.target, "/hello.txt");
/// assert_eq!(url.host_header(), "10.77.0.1:8000");
/// assert!("http://example.com/".parse::<HttpUrl>().is_err()); // no DNS here
///
/// let url: HttpUrl = "http://[fd77::1]:8000/".parse().unwrap();
/// assert_eq!(url.addr.to_string(), "[fd77::1]:8000");
/// assert_eq!(url.host_header(), "[fd77::1]:8000");
///
/// let url: HttpUrl = "https://10.77.0.1/x".parse().unwrap();
/// assert_eq!(url.addr.to_string(), "10.77.0.1:443");
/// assert_eq!(url.host_header(), "10.77.0.1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// The server's address and port (the scheme's default, 80 or 443, unless the URL names
    /// one).
    pub addr: SocketAddr,
    /// The request target: the path and query, at least `/`.
    pub target: String,
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
    /// The `Host` header's value (HTTP/2's `:authority`): the address (an IPv6 one in
    /// brackets), and the port unless it is the scheme's default.
    pub fn host_header(&self) -> String {
        let host = match self.addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        match self.addr.port() {
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
        let (ip, port) = host_and_port(url, authority, scheme.default_port())?;
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
            addr: SocketAddr::new(ip, port),
            target,
        })
    }
}

/// Reads the URL's authority: `10.77.0.1`, `10.77.0.1:8000`, `[fd77::1]` or `[fd77::1]:8000`.
fn host_and_port(url: &str, authority: &str, default: u16) -> Result<(IpAddr, u16), String> {
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
        (IpAddr::V6(ip), port)
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
        let ip = host.parse::<Ipv4Addr>().map_err(|_| {
            format!(
                "`{url}`: the host must be a numeric address like 10.77.0.1 or [fd77::1], \
                 not `{host}`: this demo does no DNS lookups"
            )
        })?;
        (IpAddr::V4(ip), port)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> (String, String, String) {
        let url: HttpUrl = url.parse().unwrap();
        (url.addr.to_string(), url.target.clone(), url.host_header())
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
            ("https://example.com/", "no DNS"),
            ("http://example.com/", "no DNS"),
            ("http://user@10.77.0.1/", "numeric address"),
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
        assert_eq!(url.addr.port(), 443);
        assert_eq!(url.host_header(), "10.77.0.1");
        let url: HttpUrl = "https://10.77.0.1:80/".parse().unwrap();
        assert_eq!(url.host_header(), "10.77.0.1:80");
        let url: HttpUrl = "http://10.77.0.1:443/".parse().unwrap();
        assert_eq!(url.scheme, Scheme::Http);
        assert_eq!(url.host_header(), "10.77.0.1:443");
    }
}
