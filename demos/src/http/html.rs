//! The little HTML the server writes: escaping text, and the frame around every page.
//!
//! Pages are plain strings built with `write!`: no template engine, no JavaScript, a few lines
//! of CSS. Anything that came from the network (a request's headers, its path) goes through
//! [`escape`] before it lands in a page.

use std::fmt::Write;
use std::time::Duration;

/// Escapes `text` for HTML element content and attribute values: `&`, `<`, `>`, `"`, `'`.
///
/// ```
/// use tunstack_demos::http::html::escape;
/// assert_eq!(escape("<b>\"Tom\" & 'Jerry'</b>"),
///            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration in milliseconds with two decimals, e.g. `0.42 ms`.
pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// The boxes that show encapsulation: each layer's box sits inside the one below it.
const STYLE: &str = "
body { font-family: sans-serif; max-width: 60em; margin: 1em auto; padding: 0 1em;
       line-height: 1.4; color: #222; }
code, pre, td.num { font-family: monospace; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; }
.layer { border: 2px solid #888; border-radius: 4px; padding: 0.3em 0.8em; margin: 0.5em 0; }
.layer h3 { margin: 0.1em 0; font-size: 1em; }
.layer.tls { border-style: dashed; }
.link { background: #f4f4f4; } .ip { background: #e8f0fe; } .tcp { background: #e6f4ea; }
.http { background: #fef7e0; }
.note { color: #555; font-size: 0.9em; }
";

/// A whole page: `title` as the title and the first heading, `body` after it.
pub fn page(title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1024);
    let title = escape(title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_has_its_title_and_body_and_escapes_the_title() {
        let html = page("a < b", "<p>hello</p>");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>a &lt; b</title>"));
        assert!(html.contains("<h1>a &lt; b</h1>\n<p>hello</p>"));
    }

    #[test]
    fn milliseconds_with_two_decimals() {
        assert_eq!(ms(Duration::from_micros(420)), "0.42 ms");
        assert_eq!(ms(Duration::from_secs(1)), "1000.00 ms");
    }
}
