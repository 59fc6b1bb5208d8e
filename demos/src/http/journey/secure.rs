//! The page's TLS parts: the box between TCP and HTTP, its row in the table of headers, and
//! what the handshake settled on. Without `--tls` the box is still there, and says "none".
//!
//! A TLS 1.3 record ([RFC 8446 section 5.2]) wraps the HTTP bytes like this, so what TCP carried
//! for a request over HTTPS is its TLS records, not the request itself:
//!
//! ```text
//!   0        1        2        3        4        5
//!   +--------+--------+--------+--------+--------+------------------------------+--------+
//!   |  type  |  legacy version |     length      | encrypted: the HTTP bytes,   | tag    |
//!   |  (23)  |    (0x0303)     |                 | then the real content type   | (16 B) |
//!   +--------+--------+--------+--------+--------+------------------------------+--------+
//! ```
//!
//! [RFC 8446 section 5.2]: https://www.rfc-editor.org/rfc/rfc8446#section-5.2

use std::fmt::Write;

use crate::tls::Negotiated;

/// A TLS record's header: content type, legacy version, length ([RFC 8446 section 5.1]).
///
/// [RFC 8446 section 5.1]: https://www.rfc-editor.org/rfc/rfc8446#section-5.1
pub const RECORD_HEADER: usize = 5;

/// What TLS 1.3 adds inside a record with an AEAD cipher: the inner content type (1 byte) and
/// the authentication tag (16 bytes) ([RFC 8446 section 5.2]).
///
/// [RFC 8446 section 5.2]: https://www.rfc-editor.org/rfc/rfc8446#section-5.2
pub const RECORD_OVERHEAD: usize = 1 + 16;

/// The TLS box's opening, with its heading and a note; the HTTP box goes inside it.
pub fn box_head(tls: Option<&Negotiated>, read: u64, number: u64) -> String {
    match tls {
        Some(tls) => {
            let handshake = match number {
                1 => " (with the end of the handshake: this is the connection's first request)",
                _ => "",
            };
            format!(
                "<div class=\"layer tls\"><h3>[TLS] {} records: {read} bytes{handshake}, \
                 encrypted with {}</h3>\n<p class=\"note\">Each record: a {RECORD_HEADER}-byte \
                 header, the encrypted bytes and {RECORD_OVERHEAD} more (the real content type, \
                 and the tag that proves nobody changed them). {}</p>\n",
                tls.version,
                tls.cipher_suite,
                alpn_note(tls)
            )
        }
        None => "<div class=\"layer tls none\"><h3>TLS: none: plain HTTP</h3>\n\
                 <p class=\"note\">Nothing between TCP and HTTP encrypts this request: anyone on \
                 the path can read it, and change it. Over https:// (a server started with \
                 <code>--tls</code>) TLS would sit here.</p>\n"
            .to_string(),
    }
}

/// What ALPN did, for the TLS box's note.
fn alpn_note(tls: &Negotiated) -> String {
    match &tls.alpn {
        Some(alpn) => format!(
            "Inside the handshake, ALPN chose <code>{alpn}</code>: your client offered it, and \
             the server speaks it."
        ),
        None => "Your client offered no protocol the server speaks (ALPN), so it is \
                 HTTP/1.1."
            .to_string(),
    }
}

/// The table row for TLS, between TCP's and HTTP's.
pub fn table_row(tls: Option<&Negotiated>, read: u64) -> String {
    match tls {
        Some(_) => format!(
            "<tr><td>TLS</td><td class=\"num\">{RECORD_HEADER} + {RECORD_OVERHEAD} bytes a \
             record</td><td>your request, encrypted ({read} bytes read)</td></tr>\n"
        ),
        None => "<tr><td>TLS</td><td class=\"num\">&mdash;</td><td>none: plain HTTP</td></tr>\n"
            .to_string(),
    }
}

/// The section that says what TLS negotiated and which HTTP served the request.
pub fn section(out: &mut String, tls: Option<&Negotiated>, http_version: &str) {
    let _ = writeln!(
        out,
        "<h2>Your connection's security, and its HTTP</h2>\n<table>"
    );
    let rows: Vec<(&str, String)> = match tls {
        Some(tls) => vec![
            ("TLS version", tls.version.clone()),
            ("cipher suite", format!("<code>{}</code>", tls.cipher_suite)),
            (
                "ALPN protocol",
                tls.alpn
                    .as_ref()
                    .map_or_else(|| "none".to_string(), |a| format!("<code>{a}</code>")),
            ),
        ],
        None => vec![("TLS", "none: plain HTTP".to_string())],
    };
    for (name, value) in rows {
        let _ = writeln!(out, "<tr><th>{name}</th><td>{value}</td></tr>");
    }
    let _ = writeln!(
        out,
        "<tr><th>HTTP version</th><td>{http_version}</td></tr>\n</table>"
    );
    let _ = writeln!(
        out,
        "<p class=\"note\">{}</p>",
        match tls {
            Some(_) =>
                "TLS 1.3 takes one round trip after TCP's handshake: your ClientHello, with \
                 its key share, and the server's answer (ServerHello, then its certificate and \
                 Finished, already encrypted). Your request went out with your Finished.",
            None =>
                "Without TLS, the request follows TCP's handshake at once: no round trip for \
                 keys, and no privacy either.",
        }
    );
}

/// `HTTP/2` or `HTTP/1.1` (or 1.0, 0.9, 3), as a person writes it.
pub fn http_version_name(version: hyper::Version) -> &'static str {
    match version {
        hyper::Version::HTTP_09 => "HTTP/0.9",
        hyper::Version::HTTP_10 => "HTTP/1.0",
        hyper::Version::HTTP_11 => "HTTP/1.1",
        hyper::Version::HTTP_2 => "HTTP/2",
        hyper::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP (a version hyper does not name)",
    }
}
