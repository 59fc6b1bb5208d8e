//! [`HttpUrl`]: an `http://` URL with a numeric IPv4 host, split into what a request needs.
//!
//! The course's "what happens when you type a URL" starts with DNS turning a name into an
//! address. This demo has no DNS, so the host is already an address:
//!
//! ```text
//!   http://10.77.0.1:8000/notes/hello.txt?lang=en#top
//!   ───── ───────── ──── ──────────────────────── ────
//!   scheme  host    port  request target            fragment: stays in the browser,
//!   (http:  (no DNS (80    (path and query: goes     never sent
//!   no TLS) here)   if     into the request line)
//!                   none)
//! ```

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
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
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The server's address and port (80 unless the URL names one).
    pub addr: SocketAddrV4,
    /// The request target: the path and query, at least `/`.
    pub target: String,
}

impl HttpUrl {
    /// The `Host` header's value: the address, and the port unless it is 80.
    pub fn host_header(&self) -> String {
        if self.addr.port() == 80 {
            self.addr.ip().to_string()
        } else {
            self.addr.to_string()
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.target)
    }
}

impl FromStr for HttpUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<HttpUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{url}` is not a URL like http://10.77.0.1:8000/"))?;
        if scheme.eq_ignore_ascii_case("https") {
            return Err(format!(
                "`{url}`: https needs TLS, which this demo does not speak; use http://"
            ));
        }
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(format!("`{url}`: only http:// URLs"));
        }
        // The authority ends where the path, the query or the fragment begins.
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        let rest = rest.split('#').next().unwrap_or("");
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{url}`: `{port}` is not a port (1-65535)"))?;
                (host, port)
            }
            None => (authority, 80),
        };
        let ip = host.parse::<Ipv4Addr>().map_err(|_| {
            format!(
                "`{url}`: the host must be a numeric IPv4 address like 10.77.0.1, not \
                 `{host}`: this demo does no DNS lookups"
            )
        })?;
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
            addr: SocketAddrV4::new(ip, port),
            target,
        })
    }
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
    }

    #[test]
    fn what_it_refuses_and_why() {
        for (url, why) in [
            ("10.77.0.1/", "is not a URL"),
            ("https://10.77.0.1/", "TLS"),
            ("ftp://10.77.0.1/", "only http://"),
            ("http://example.com/", "no DNS"),
            ("http://[::1]:80/", "numeric IPv4"),
            ("http://user@10.77.0.1/", "numeric IPv4"),
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
    }
}
