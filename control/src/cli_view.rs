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
    out
}
