//! `/stats` and `/stats.json`: every layer's counters ([`Stack::stats`]) and every TCP
//! connection's snapshot ([`Stack::tcp_connections`]), as an HTML page and as JSON.
//!
//! Both come from the same lists of names below, so they show the same numbers.
//!
//! [`Stack::stats`]: tunstack::Stack::stats
//! [`Stack::tcp_connections`]: tunstack::Stack::tcp_connections

use std::fmt::Write;

use tunstack::stats::{DropReason, Stats};
use tunstack::tcp::{ConnInfo, ConnStats};

use super::html::{escape, ms, page};
use super::json::{array, Object};

/// A connection's counters, with the names `/stats.json` uses.
fn counters(s: &ConnStats) -> [(&'static str, u64); 21] {
    [
        ("segments_in", s.segments_in),
        ("segments_out", s.segments_out),
        ("retransmissions", s.retransmissions),
        ("fast_retransmissions", s.fast_retransmissions),
        ("sack_retransmissions", s.sack_retransmissions),
        ("timeouts", s.timeouts),
        ("spurious_timeouts", s.spurious_timeouts),
        ("lost_retransmissions", s.lost_retransmissions),
        ("tail_loss_probes", s.tail_loss_probes),
        ("tail_losses_repaired", s.tail_losses_repaired),
        ("unneeded_tail_probes", s.unneeded_tail_probes),
        ("fast_recoveries", s.fast_recoveries),
        ("undone_recoveries", s.undone_recoveries),
        ("duplicate_acks", s.duplicate_acks),
        ("dsacks_sent", s.dsacks_sent),
        ("dsacks_received", s.dsacks_received),
        ("sacked_bytes", s.sacked_bytes),
        ("window_probes", s.window_probes),
        ("keepalive_probes", s.keepalive_probes),
        ("bytes_written", s.bytes_written),
        ("bytes_read", s.bytes_read),
    ]
}

/// The slow-start threshold, `None` while it is unlimited (no loss yet).
fn ssthresh(info: &ConnInfo) -> Option<usize> {
    (info.ssthresh != usize::MAX).then_some(info.ssthresh)
}

/// `/stats.json`: `{"layers": {"ip": {...}, ...}, "tcp_connections": [{...}, ...]}`.
pub fn json(stats: &Stats, connections: &[ConnInfo]) -> String {
    let mut layers_json = Object::new();
    for (name, layer) in stats.layers() {
        let mut dropped = Object::new().u64("total", layer.dropped.total());
        for reason in DropReason::ALL {
            dropped = dropped.u64(reason.as_str(), layer.dropped.get(reason));
        }
        let layer_json = Object::new()
            .u64("received", layer.received)
            .u64("delivered", layer.delivered)
            .u64("sent", layer.sent)
            .raw("dropped", &dropped.finish());
        layers_json = layers_json.raw(name, &layer_json.finish());
    }
    let connections = connections.iter().map(connection_json);
    Object::new()
        .raw("layers", &layers_json.finish())
        .raw("tcp_connections", &array(connections))
        .finish()
}

fn connection_json(info: &ConnInfo) -> String {
    let mut counters_json = Object::new();
    for (name, value) in counters(&info.stats) {
        counters_json = counters_json.u64(name, value);
    }
    Object::new()
        .str("local", &info.quad.local.to_string())
        .str("remote", &info.quad.remote.to_string())
        .str("state", info.state.name())
        .millis("srtt_ms", info.srtt)
        .millis("rttvar_ms", Some(info.rttvar))
        .millis("rto_ms", Some(info.rto))
        .str("congestion", &info.congestion.to_string())
        .bool("in_recovery", info.in_recovery)
        .bool("sack", info.sack)
        .bool("timestamps", info.timestamps)
        .u64("cwnd", info.cwnd as u64)
        .raw(
            "ssthresh",
            &ssthresh(info).map_or_else(|| "null".to_string(), |n| n.to_string()),
        )
        .u64("bytes_in_flight", info.bytes_in_flight as u64)
        .u64("peer_window", info.peer_window as u64)
        .u64("mss", info.mss as u64)
        .raw("stats", &counters_json.finish())
        .finish()
}

/// `/stats`: three tables: the layers, their drops by reason, the TCP connections.
pub fn html(stats: &Stats, connections: &[ConnInfo]) -> String {
    let mut body = String::from(
        "<p>The stack's counters, from the link up (reload to update; \
         <a href=\"/stats.json\">/stats.json</a> has the same as JSON, \
         <a href=\"/\">/</a> tells you about your own request).</p>\n\
         <h2>Packets per layer</h2>\n<table>\n<tr><th>layer</th><th>received</th>\
         <th>delivered</th><th>sent</th><th>dropped</th></tr>\n",
    );
    for (name, layer) in stats.layers() {
        let _ = writeln!(
            body,
            "<tr><th>{name}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            layer.received,
            layer.delivered,
            layer.sent,
            layer.dropped.total()
        );
    }
    body.push_str("</table>\n<h2>Drops by reason</h2>\n<table>\n<tr><th>reason</th>");
    for (name, _) in stats.layers() {
        let _ = write!(body, "<th>{name}</th>");
    }
    body.push_str("</tr>\n");
    for reason in DropReason::ALL {
        let _ = write!(body, "<tr><th>{}</th>", reason.as_str());
        for (_, layer) in stats.layers() {
            let _ = write!(body, "<td class=\"num\">{}</td>", layer.dropped.get(reason));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n");
    connections_table(&mut body, connections);
    page("tunstack: counters", &body)
}

fn connections_table(out: &mut String, connections: &[ConnInfo]) {
    let _ = writeln!(
        out,
        "<h2>TCP connections ({})</h2>\n<table>\n<tr><th>ours</th><th>theirs</th>\
         <th>state</th><th>SRTT</th><th>RTTVAR</th><th>RTO</th><th>cwnd</th>\
         <th>ssthresh</th><th>in flight</th><th>peer window</th><th>MSS</th>\
         <th>options</th><th>counters</th></tr>",
        connections.len()
    );
    for info in connections {
        let srtt = info.srtt.map_or_else(|| "-".to_string(), ms);
        let ssthresh = ssthresh(info).map_or_else(|| "-".to_string(), |n| n.to_string());
        let recovery = if info.in_recovery {
            ", in recovery"
        } else {
            ""
        };
        let options = format!(
            "{}{}{}{recovery}",
            info.congestion,
            if info.sack { ", SACK" } else { "" },
            if info.timestamps { ", timestamps" } else { "" },
        );
        let counters: Vec<String> = counters(&info.stats)
            .iter()
            .map(|(name, value)| format!("{name} {value}"))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{srtt}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{ssthresh}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td class=\"note\">{}</td></tr>",
            info.quad.local,
            info.quad.remote,
            info.state.name(),
            ms(info.rttvar),
            ms(info.rto),
            info.cwnd,
            info.bytes_in_flight,
            info.peer_window,
            info.mss,
            escape(&options),
            counters.join(", "),
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_every_layer_and_every_drop_reason() {
        let json = json(&Stats::default(), &[]);
        assert!(json.starts_with(r#"{"layers":{"ip":{"received":0,"delivered":0,"sent":0,"#));
        assert!(json.ends_with(r#""tcp_connections":[]}"#), "{json}");
        for reason in DropReason::ALL {
            assert_eq!(
                json.matches(&format!("\"{}\":0", reason.as_str())).count(),
                4
            );
        }
    }

    #[test]
    fn html_has_a_row_per_layer_and_reason() {
        let html = html(&Stats::default(), &[]);
        for row in ["<th>ip</th>", "<th>tcp</th>", "<th>bad_checksum</th>"] {
            assert!(html.contains(row), "{row}");
        }
        assert!(html.contains("TCP connections (0)"));
        assert!(!html.contains("<th>arp</th>"), "no link rows on TUN");
    }

    #[test]
    fn on_ethernet_the_link_layers_come_first() {
        let mut stats = Stats::default();
        stats.ethernet.received = 3;
        stats.arp.sent = 1;
        let html = html(&stats, &[]);
        let at = |row: &str| html.find(row).unwrap_or_else(|| panic!("{row}"));
        assert!(at("<th>eth</th>") < at("<th>arp</th>"));
        assert!(at("<th>arp</th>") < at("<th>ip</th>"));
        let json = json(&stats, &[]);
        assert!(
            json.starts_with(r#"{"layers":{"eth":{"received":3,"#),
            "{json}"
        );
        assert!(json.contains(r#""arp":{"received":0,"delivered":0,"sent":1,"#));
    }
}
