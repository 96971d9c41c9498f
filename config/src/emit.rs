//! Writes a [`Config`] back as canonical TOML (every key spelled out,
//! defaults included), so `xvs` can show the effective configuration and
//! tests can check that parsing and writing round-trip.

use std::fmt::Write;

use switch_core::bridge::PortMode;

use crate::Config;

/// A TOML basic string with the necessary escapes.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn to_toml(c: &Config) -> String {
    // Writing into a String cannot fail, so the fmt results are ignored.
    let mut o = String::new();
    let _ = write_all(c, &mut o);
    o
}

fn write_all(c: &Config, o: &mut String) -> std::fmt::Result {
    writeln!(o, "[switch]")?;
    writeln!(o, "batch_size = {}", c.switch.batch_size)?;

    let d = &c.dataplane;
    writeln!(o, "\n[dataplane]")?;
    writeln!(o, "xdp_mode = {}", quote(d.xdp_mode.as_str()))?;
    writeln!(o, "zero_copy = {}", quote(d.zero_copy.as_str()))?;
    writeln!(o, "hugepages = {}", quote(d.hugepages.as_str()))?;
    writeln!(o, "frames = {}", d.frames)?;
    writeln!(o, "rx_ring = {}", d.rx_ring)?;
    writeln!(o, "tx_ring = {}", d.tx_ring)?;
    writeln!(o, "fill_ring = {}", d.fill_ring)?;
    writeln!(o, "comp_ring = {}", d.comp_ring)?;
    let cpus: Vec<String> = d.worker_cpus.iter().map(|c| c.to_string()).collect();
    writeln!(o, "worker_cpus = [{}]", cpus.join(", "))?;
    writeln!(o, "idle_backoff = {}", d.idle_backoff)?;
    writeln!(o, "busy_poll = {}", d.busy_poll)?;

    let f = &c.spec.fdb;
    writeln!(o, "\n[fdb]")?;
    writeln!(o, "aging_secs = {}", f.aging_secs)?;
    writeln!(o, "max_entries = {}", f.max_entries)?;
    if let Some(n) = f.max_per_domain {
        writeln!(o, "max_per_domain = {n}")?;
    }
    writeln!(o, "move_max = {}", f.move_max)?;
    writeln!(o, "move_window_secs = {}", f.move_window_secs)?;
    writeln!(o, "move_hold_secs = {}", f.move_hold_secs)?;
    let bridge_name = |i: usize| c.spec.bridges.get(i).map_or("", |b| b.name.as_str());
    for s in &f.static_macs {
        writeln!(o, "\n[[fdb.static]]")?;
        writeln!(o, "bridge = {}", quote(bridge_name(s.bridge)))?;
        writeln!(o, "vlan = {}", s.vlan)?;
        writeln!(o, "mac = {}", quote(&s.mac.to_string()))?;
        writeln!(o, "port = {}", quote(c.spec.ports.get(s.port).map_or("", |p| p.name.as_str())))?;
    }

    for b in &c.spec.bridges {
        writeln!(o, "\n[[bridge]]")?;
        writeln!(o, "name = {}", quote(&b.name))?;
    }

    for (i, p) in c.spec.ports.iter().enumerate() {
        writeln!(o, "\n[[port]]")?;
        writeln!(o, "name = {}", quote(&p.name))?;
        if let Some(ifname) = &p.interface {
            writeln!(o, "interface = {}", quote(ifname))?;
        }
        // An underlay port belongs to no bridge, and may not say one.
        if p.mode != PortMode::Underlay {
            writeln!(o, "bridge = {}", quote(bridge_name(p.bridge)))?;
        }
        match &p.mode {
            PortMode::Access { vlan } => {
                writeln!(o, "mode = \"access\"")?;
                writeln!(o, "vlan = {vlan}")?;
            }
            PortMode::Trunk { allowed, native, native_tagged, tpid } => {
                writeln!(o, "mode = \"trunk\"")?;
                writeln!(o, "allowed_vlans = {}", quote(&allowed.to_ranges_string()))?;
                if let Some(n) = native {
                    writeln!(o, "native_vlan = {n}")?;
                }
                writeln!(o, "native_tagged = {native_tagged}")?;
                let tpid = match tpid {
                    0x8100 => "802.1q".to_string(),
                    0x88a8 => "802.1ad".to_string(),
                    other => format!("{other:#06x}"),
                };
                writeln!(o, "tpid = {}", quote(&tpid))?;
            }
            PortMode::Dot1qTunnel { s_vlan } => {
                writeln!(o, "mode = \"dot1q-tunnel\"")?;
                writeln!(o, "s_vlan = {s_vlan}")?;
            }
            PortMode::Underlay => writeln!(o, "mode = \"underlay\"")?,
        }
        if let Some(n) = p.mtu {
            writeln!(o, "mtu = {n}")?;
        }
        if let Some(n) = p.mac_limit {
            writeln!(o, "mac_limit = {n}")?;
        }
        let queues = c.ports.get(i).map_or(1, |r| r.queues);
        writeln!(o, "queues = {queues}")?;
    }

    let port_name = |i: usize| c.spec.ports.get(i).map_or("", |p| p.name.as_str());
    let ov = &c.spec.overlay;
    for v in &ov.vteps {
        writeln!(o, "\n[[vtep]]")?;
        writeln!(o, "name = {}", quote(&v.name))?;
        writeln!(o, "port = {}", quote(port_name(v.port)))?;
        writeln!(o, "address = {}", quote(&format!("{}/{}", v.address, v.prefix_len)))?;
        if let Some(gw) = v.gateway {
            writeln!(o, "gateway = {}", quote(&gw.to_string()))?;
        }
        if let Some(m) = v.mac {
            writeln!(o, "mac = {}", quote(&m.to_string()))?;
        }
        if let Some(m) = v.nexthop_mac {
            writeln!(o, "nexthop_mac = {}", quote(&m.to_string()))?;
        }
        writeln!(o, "udp_port = {}", v.udp_port)?;
        writeln!(o, "geneve_port = {}", v.geneve_port)?;
        writeln!(o, "ttl = {}", v.ttl)?;
        match v.dscp {
            Some(d) => writeln!(o, "dscp = {d}")?,
            None => writeln!(o, "dscp = \"inherit\"")?,
        }
        writeln!(o, "udp_checksum = {}", v.udp_checksum)?;
        writeln!(o, "verify_udp_checksum = {}", v.verify_udp_checksum)?;
        writeln!(o, "src_port_range = {}", quote(&format!("{}-{}", v.src_ports.0, v.src_ports.1)))?;
        writeln!(o, "mtu = {}", v.mtu)?;
        writeln!(o, "neighbor_refresh_secs = {}", v.neighbor_refresh_secs)?;
    }
    let addresses = |list: &[std::net::IpAddr]| {
        let items: Vec<String> = list.iter().map(|a| quote(&a.to_string())).collect();
        format!("[{}]", items.join(", "))
    };
    for n in &ov.vnis {
        writeln!(o, "\n[[vni]]")?;
        writeln!(o, "vni = {}", n.vni)?;
        writeln!(o, "vtep = {}", quote(ov.vteps.get(n.vtep).map_or("", |v| v.name.as_str())))?;
        writeln!(o, "bridge = {}", quote(bridge_name(n.bridge)))?;
        writeln!(o, "vlan = {}", n.vlan)?;
        let encap = match n.encap {
            switch_core::overlay::Encap::Vxlan => "vxlan",
            switch_core::overlay::Encap::Geneve => "geneve",
        };
        writeln!(o, "encap = {}", quote(encap))?;
        if let Some(g) = n.group {
            writeln!(o, "group = {}", quote(&g.to_string()))?;
        }
        writeln!(o, "learning = {}", !n.no_learning)?;
        let inner_vlan = match n.inner_vlan {
            switch_core::overlay::InnerVlan::Drop => "drop",
            switch_core::overlay::InnerVlan::Strip => "strip",
        };
        writeln!(o, "inner_vlan = {}", quote(inner_vlan))?;
        writeln!(o, "remotes = {}", addresses(&n.remotes))?;
        writeln!(o, "allowed_remotes = {}", addresses(&n.allowed))?;
        if let Some((net, len)) = n.arp_suppression {
            writeln!(o, "arp_suppression = {}", quote(&format!("{net}/{len}")))?;
        }
        for (ip, mac) in &n.arp_static {
            writeln!(o, "\n[[vni.arp]]")?;
            writeln!(o, "ip = {}", quote(&ip.to_string()))?;
            writeln!(o, "mac = {}", quote(&mac.to_string()))?;
        }
        for s in &n.static_macs {
            writeln!(o, "\n[[vni.static]]")?;
            writeln!(o, "mac = {}", quote(&s.mac.to_string()))?;
            writeln!(o, "remote = {}", quote(&s.remote.to_string()))?;
        }
        for g in &n.geneve_options {
            writeln!(o, "\n[[vni.option]]")?;
            writeln!(o, "class = {}", g.class)?;
            writeln!(o, "type = {}", g.option_type)?;
            let hex: String = g.data.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(o, "data = {}", quote(&format!("0x{hex}")))?;
        }
    }

    for g in &ov.gateways {
        writeln!(o, "\n[[gateway]]")?;
        writeln!(o, "bridge = {}", quote(bridge_name(g.bridge)))?;
        writeln!(o, "vlan = {}", g.vlan)?;
        writeln!(o, "address = {}", quote(&format!("{}/{}", g.address, g.prefix_len)))?;
        if let Some(m) = g.mac {
            writeln!(o, "mac = {}", quote(&m.to_string()))?;
        }
        for (ip, mac) in &g.neighbors {
            writeln!(o, "\n[[gateway.neighbor]]")?;
            writeln!(o, "ip = {}", quote(&ip.to_string()))?;
            writeln!(o, "mac = {}", quote(&mac.to_string()))?;
        }
    }
    for r in &ov.routes {
        writeln!(o, "\n[[route]]")?;
        writeln!(o, "prefix = {}", quote(&format!("{}/{}", r.prefix, r.prefix_len)))?;
        writeln!(o, "via = {}", quote(&r.via.to_string()))?;
        writeln!(o, "vtep = {}", quote(ov.vteps.get(r.vtep).map_or("", |v| v.name.as_str())))?;
    }

    for f in &c.flows {
        writeln!(o, "\n[[flow]]")?;
        if let Some(id) = f.id {
            writeln!(o, "id = {id}")?;
        }
        writeln!(o, "port = {}", quote(f.rule.table.port()))?;
        writeln!(o, "direction = \"ingress\"")?;
        writeln!(o, "priority = {}", f.rule.priority)?;
        writeln!(o, "match = {}", quote(&f.rule.matches.to_string()))?;
        writeln!(o, "actions = {}", quote(&f.rule.actions.to_string()))?;
    }
    writeln!(o, "\n[control]")?;
    writeln!(o, "socket = {}", quote(&c.control.socket.to_string_lossy()))?;
    if let Some(a) = c.control.api_listen {
        writeln!(o, "api_listen = {}", quote(&a.to_string()))?;
    }
    if let Some(f) = &c.control.api_token_file {
        writeln!(o, "api_token_file = {}", quote(&f.to_string_lossy()))?;
    }
    if let Some(a) = c.control.metrics_listen {
        writeln!(o, "metrics_listen = {}", quote(&a.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
        let v: toml::Table = toml::from_str(&format!("k = {}", quote("x\"\\\t\u{7f}y"))).unwrap();
        assert_eq!(v["k"].as_str(), Some("x\"\\\t\u{7f}y"));
    }
}
