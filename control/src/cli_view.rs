//! Tables the CLI prints from API JSON.

use serde_json::Value;

/// Left-aligned columns sized to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.len());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s =
            cells.iter().enumerate().map(|(i, c)| format!("{:<w$}", c, w = widths[i])).collect::<Vec<_>>().join("  ");
        s.truncate(s.trim_end().len());
        s + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out += &line(r.clone());
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// `xvs fdb show`.
pub fn fdb_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    vec![s(&e["bridge"]), s(&e["vlan"]), s(&e["mac"]), s(&e["port"]), s(&e["type"]), s(&e["age_secs"])]
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = table(&["BRIDGE", "VLAN", "MAC", "PORT", "TYPE", "AGE"], &rows);
    out += &format!("{} entries\n", rows.len());
    out
}

/// `xvs fdb moves`.
pub fn moves_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v["moves"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    vec![
                        s(&m["at"]),
                        s(&m["domain"]),
                        s(&m["mac"]),
                        s(&m["from"]),
                        s(&m["to"]),
                        if m["dampened"] == true { "dampened".into() } else { "moved".into() },
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    table(&["AT", "DOMAIN", "MAC", "FROM", "TO", "RESULT"], &rows)
}

/// `xvs arp show`.
pub fn arp_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    vec![s(&e["vni"]), s(&e["domain"]), s(&e["ip"]), s(&e["mac"]), s(&e["type"]), s(&e["age_secs"])]
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{}ARP suppression: {} answered, {} misses, {} snooped\n",
        table(&["VNI", "DOMAIN", "IP", "MAC", "TYPE", "AGE"], &rows),
        s(&v["answered"]),
        s(&v["misses"]),
        s(&v["snooped"])
    )
}

/// `xvs flow list`.
pub fn flows_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v["flows"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    vec![
                        s(&f["id"]),
                        s(&f["table"]),
                        s(&f["priority"]),
                        s(&f["match"]),
                        s(&f["actions"]),
                        s(&f["origin"]),
                        s(&f["packets"]),
                        s(&f["bytes"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let cache = &v["cache"];
    format!(
        "{}flow cache: {} hits, {} misses\n",
        table(&["ID", "TABLE", "PRIORITY", "MATCH", "ACTIONS", "ORIGIN", "PACKETS", "BYTES"], &rows),
        s(&cache["hits"]),
        s(&cache["misses"])
    )
}

/// `xvs port list`.
pub fn ports_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    vec![
                        s(&p["name"]),
                        s(&p["interface"]),
                        s(&p["mode"]),
                        s(&p["vlans"]),
                        s(&p["fdb_entries"]),
                        s(&p["rx_packets"]),
                        s(&p["tx_packets"]),
                        s(&p["afxdp"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    table(&["PORT", "INTERFACE", "MODE", "VLANS", "MACS", "RX_PKTS", "TX_PKTS", "AF_XDP"], &rows)
}

/// `xvs bridge list`: one row per domain.
pub fn bridges_table(v: &Value) -> String {
    let mut rows = Vec::new();
    for b in v["bridges"].as_array().into_iter().flatten() {
        for d in b["domains"].as_array().into_iter().flatten() {
            let join = |key: &str, f: &dyn Fn(&Value) -> String| {
                let items: Vec<String> = d[key].as_array().into_iter().flatten().map(f).collect();
                if items.is_empty() {
                    "-".to_string()
                } else {
                    items.join(" ")
                }
            };
            let members = join("members", &|m| match m["sends"].as_str() {
                Some("untagged") => s(&m["port"]),
                _ => format!("{}(t)", s(&m["port"])),
            });
            let statics = d["static_entries"].as_u64().unwrap_or(0);
            rows.push(vec![
                s(&b["name"]),
                s(&d["vlan"]),
                join("vnis", &s),
                members,
                format!("{} ({statics} static)", s(&d["fdb_entries"])),
            ]);
        }
    }
    table(&["BRIDGE", "VLAN", "VNIS", "MEMBERS ((t): tagged)", "MACS"], &rows)
}

/// `xvs tunnel list`.
pub fn tunnels_table(v: &Value) -> String {
    let list = |key: &str| v[key].as_array().cloned().unwrap_or_default();
    let hop = |h: &Value| {
        let state = match (h["mac"].as_str(), h["static"].as_bool()) {
            (Some(m), Some(true)) => format!("{m} (static)"),
            (Some(m), _) => m.to_string(),
            (None, _) => "unresolved (ARP sent)".into(),
        };
        format!("{} {state}", s(&h["ip"]))
    };
    let vteps: Vec<Vec<String>> = list("vteps")
        .iter()
        .map(|t| {
            let hops: Vec<String> = t["next_hops"].as_array().map(|a| a.iter().map(hop).collect()).unwrap_or_default();
            vec![s(&t["name"]), s(&t["address"]), s(&t["port"]), s(&t["mac"]), hops.join(", ")]
        })
        .collect();
    let mut out = table(&["VTEP", "ADDRESS", "PORT", "MAC", "NEXT HOPS"], &vteps);
    let tunnels: Vec<Vec<String>> = list("tunnels")
        .iter()
        .map(|t| {
            vec![
                s(&t["name"]),
                s(&t["encap"]),
                s(&t["vni"]),
                s(&t["vlan"]),
                s(&t["remote"]),
                if t["flood"].as_bool() == Some(true) { "yes".into() } else { "no".into() },
                hop(&t["next_hop"]),
                s(&t["rx_packets"]),
                s(&t["tx_packets"]),
            ]
        })
        .collect();
    out += "\n";
    out += &table(&["TUNNEL", "ENCAP", "VNI", "VLAN", "REMOTE", "FLOOD", "NEXT HOP", "RX_PKTS", "TX_PKTS"], &tunnels);
    let gateways: Vec<Vec<String>> = list("gateways")
        .iter()
        .map(|g| {
            let hosts: Vec<String> = g["hosts"]
                .as_array()
                .map(|a| a.iter().map(|h| format!("{} {}", s(&h["ip"]), s(&h["mac"]))).collect())
                .unwrap_or_default();
            vec![s(&g["bridge"]), s(&g["vlan"]), s(&g["address"]), s(&g["mac"]), hosts.join(", ")]
        })
        .collect();
    if !gateways.is_empty() {
        out += "\n";
        out += &table(&["BRIDGE", "VLAN", "GATEWAY", "MAC", "HOSTS"], &gateways);
    }
    let routes: Vec<Vec<String>> = list("routes")
        .iter()
        .map(|r| vec![s(&r["prefix"]), s(&r["via"]), s(&r["vtep"]), hop(&r["next_hop"])])
        .collect();
    if !routes.is_empty() {
        out += "\n";
        out += &table(&["ROUTE", "VIA", "VTEP", "NEXT HOP"], &routes);
    }
    out
}

/// `xvs stats`.
pub fn stats_text(v: &Value) -> String {
    let mut out = format!("uptime {} s\n\n", s(&v["uptime_secs"]));
    let ports: Vec<Vec<String>> = v["ports"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, p)| {
                    vec![
                        name.clone(),
                        s(&p["rx_packets"]),
                        s(&p["rx_bytes"]),
                        s(&p["tx_packets"]),
                        s(&p["tx_bytes"]),
                        s(&p["tx_ring_full"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    out += &table(&["PORT", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "TX_RING_FULL"], &ports);
    out += "\npipeline\n";
    let kv = |o: &Value| -> Vec<Vec<String>> {
        o.as_object().map(|m| m.iter().map(|(k, v)| vec![format!("  {k}"), s(v)]).collect()).unwrap_or_default()
    };
    out += &table(&["  COUNTER", "VALUE"], &kv(&v["pipeline"]));
    let drops: Vec<Vec<String>> = kv(&v["drops"]).into_iter().filter(|r| r[1] != "0").collect();
    out += "\ndrops (non-zero)\n";
    out += &table(&["  REASON", "COUNT"], &drops);
    out += "\nfdb\n";
    out += &table(&["  COUNTER", "VALUE"], &kv(&v["fdb"]));
    let sums = |key: &str, first: &str| -> Vec<Vec<String>> {
        v["overlay"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        let mut row = vec![format!("  {}", s(&o[first]))];
                        row.extend(switch_core::pipeline::TUNNEL_COUNTERS.iter().map(|k| s(&o[*k])));
                        row
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    if v["overlay"].is_object() {
        let vnis: Vec<Vec<String>> = sums("vnis", "vni");
        let heads = ["RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "RX_DROPS", "TX_DROPS"];
        out += "\noverlay: per VNI\n";
        out += &table(&[&["  VNI"][..], &heads].concat(), &vnis);
        out += "\noverlay: per VTEP\n";
        out += &table(&[&["  VTEP"][..], &heads].concat(), &sums("vteps", "vtep"));
    }
    out
}

/// `xvs top`: rates between two `/v1/stats` answers taken `secs` apart:
/// per port, per worker (busy share of its poll loops, mean burst) and the
/// drops that grew.
pub fn top_view(prev: &Value, cur: &Value, secs: f64) -> String {
    let secs = secs.max(1e-3);
    let delta = |a: &Value, b: &Value| b.as_u64().unwrap_or(0).saturating_sub(a.as_u64().unwrap_or(0)) as f64;
    let rate = |a: &Value, b: &Value| delta(a, b) / secs;
    let mut out = format!("xvs top: uptime {} s, every {secs:.1} s (Ctrl-C to quit)\n\n", s(&cur["uptime_secs"]));
    let ports: Vec<Vec<String>> = cur["ports"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, p)| {
                    let q = &prev["ports"][name];
                    vec![
                        name.clone(),
                        format!("{:.0}", rate(&q["rx_packets"], &p["rx_packets"])),
                        format!("{:.3}", 8.0 * rate(&q["rx_bytes"], &p["rx_bytes"]) / 1e6),
                        format!("{:.0}", rate(&q["tx_packets"], &p["tx_packets"])),
                        format!("{:.3}", 8.0 * rate(&q["tx_bytes"], &p["tx_bytes"]) / 1e6),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    out += &table(&["PORT", "RX_PPS", "RX_MBPS", "TX_PPS", "TX_MBPS"], &ports);
    let workers = cur["workers"].as_array().cloned().unwrap_or_default();
    let loops = cur["dataplane"]["workers"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = workers
        .iter()
        .enumerate()
        .map(|(w, c)| {
            let p = &prev["workers"][w];
            let (l, pl) = (loops.get(w).cloned().unwrap_or_default(), &prev["dataplane"]["workers"][w]);
            let all = delta(&pl["loops"], &l["loops"]);
            let busy = all - delta(&pl["idle_loops"], &l["idle_loops"]);
            let batches = delta(&p["batches"], &c["batches"]);
            let share = if all > 0.0 { format!("{:.2}%", 100.0 * busy / all) } else { "-".into() };
            let burst = if batches > 0.0 {
                format!("{:.1}", delta(&p["packets"], &c["packets"]) / batches)
            } else {
                "-".into()
            };
            vec![w.to_string(), format!("{:.0}", rate(&p["packets"], &c["packets"])), share, burst]
        })
        .collect();
    out += "\n";
    out += &table(&["WORKER", "PPS", "BUSY", "BURST"], &rows);
    let drops: Vec<Vec<String>> = cur["drops"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(reason, n)| (reason, rate(&prev["drops"][reason], n)))
                .filter(|(_, r)| *r > 0.0)
                .map(|(reason, r)| vec![reason.clone(), format!("{r:.1}")])
                .collect()
        })
        .unwrap_or_default();
    out += "\n";
    if drops.is_empty() {
        out += "no drops\n";
    } else {
        out += &table(&["DROP REASON", "PER_SEC"], &drops);
    }
    out
}

#[cfg(test)]
mod top_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn top_shows_rates_busy_share_burst_and_growing_drops() {
        let prev = json!({
            "uptime_secs": 10,
            "ports": {"h1": {"rx_packets": 100, "rx_bytes": 6400, "tx_packets": 0, "tx_bytes": 0}},
            "workers": [{"packets": 100, "batches": 10}],
            "dataplane": {"workers": [{"loops": 1000, "idle_loops": 900}]},
            "drops": {"truncated": 5, "same_segment": 0},
        });
        let cur = json!({
            "uptime_secs": 12,
            "ports": {"h1": {"rx_packets": 300, "rx_bytes": 19200, "tx_packets": 40, "tx_bytes": 2560}},
            "workers": [{"packets": 300, "batches": 30}],
            "dataplane": {"workers": [{"loops": 2000, "idle_loops": 1650}]},
            "drops": {"truncated": 5, "same_segment": 4},
        });
        let text = top_view(&prev, &cur, 2.0);
        let h1 = text.lines().find(|l| l.starts_with("h1")).expect(&text);
        let cells: Vec<&str> = h1.split_whitespace().collect();
        assert_eq!(cells, ["h1", "100", "0.051", "20", "0.010"], "{text}");
        let w0 = text.lines().find(|l| l.starts_with('0')).expect(&text);
        assert_eq!(w0.split_whitespace().collect::<Vec<_>>(), ["0", "100", "25.00%", "10.0"], "{text}");
        assert!(text.contains("same_segment") && text.contains("2.0") && !text.contains("truncated"), "{text}");
    }
}
