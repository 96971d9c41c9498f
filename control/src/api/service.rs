//! The control thread's state and request handling.

use std::sync::Arc;

use switch_core::Nanos;

use arc_swap::ArcSwap;
use serde_json::{json, Value};
use switch_core::bridge::plan::IngressRule;
use switch_core::bridge::{EgressTag, ForwardingPlan};
use switch_core::fdb::{FdbWriter, LearnQueue};
use switch_core::pipeline::{CounterSnapshot, WorkerCounters, TUNNEL_COUNTERS};
use switch_core::{BdId, MacAddr, PortId};

use crate::command::{ApiError, Command, EntryType, FdbAdd, FdbDelete, FdbFilter, FdbQuery, Reply};
use crate::flows::FlowStore;
use crate::views;
use std::collections::HashMap;
use switch_core::flow::{FlowRule, FlowTable};

/// A rule of the API, parsed, or a 400 naming the field.
fn flow_rule(port: &str, priority: Option<u16>, matches: &str, actions: &str) -> Result<FlowRule, ApiError> {
    Ok(FlowRule {
        table: FlowTable::Ingress(port.to_string()),
        priority: priority.unwrap_or(switch_core::flow::DEFAULT_PRIORITY),
        matches: matches
            .parse()
            .map_err(|e: switch_core::flow::SpecError| ApiError::bad_request(format!("match: {e}")))?,
        actions: actions
            .parse()
            .map_err(|e: switch_core::flow::SpecError| ApiError::bad_request(format!("actions: {e}")))?,
    })
}

/// What the I/O backend reports, so the control plane does not depend on
/// AF_XDP (tests plug in an in-memory backend).
pub trait DataplaneStats: Send {
    /// Counters of port `index` (rx/tx packets and bytes, drops...).
    fn port(&self, index: usize) -> serde_json::Map<String, Value>;
    /// Backend-wide details: bind mode, UMEM, queues, workers.
    fn details(&self) -> Value;
    /// Port `index`'s received and sent packets and bytes:
    /// `[rx_packets, rx_bytes, tx_packets, tx_bytes]`.
    fn port_totals(&self, _index: usize) -> [u64; 4] {
        [0; 4]
    }
    /// Every queue's counters.
    fn queues(&self) -> Vec<io_afxdp::QueueSnapshot> {
        Vec::new()
    }
    /// Per worker: (worker, poll loops, loops that found nothing).
    fn worker_loops(&self) -> Vec<(usize, u64, u64)> {
        Vec::new()
    }
}

/// How the control plane reloads: the file, and the daemon's step from a
/// config to the spec it compiles.
pub struct Reloader {
    /// The config file `xvs run -c` was given.
    pub source: std::path::PathBuf,
    /// Fills in what comes from the interfaces (VTEP MACs, port MTUs).
    pub resolve: Box<ResolveSpec>,
}

/// A config's compiled spec with the interfaces' facts filled in, or why not.
pub type ResolveSpec = dyn Fn(&xvs_config::Config) -> Result<switch_core::bridge::SwitchSpec, String> + Send;

/// One VNI's tunnel counters towards one local VTEP, summed over its
/// remotes and the workers.
pub struct VniTotals {
    /// The VNI.
    pub vni: u32,
    /// The local VTEP's name.
    pub vtep: String,
    /// Named by [`TUNNEL_COUNTERS`].
    pub counters: [u64; 6],
}

/// A backend with nothing to report.
pub struct NoDataplane;

impl DataplaneStats for NoDataplane {
    fn port(&self, _index: usize) -> serde_json::Map<String, Value> {
        serde_json::Map::new()
    }
    fn details(&self) -> Value {
        Value::Null
    }
}

/// The control thread's state: the FDB writer, the learn queues it drains,
/// the published plan, and the counters it aggregates.
pub struct ControlPlane {
    /// The plan workers read (published RCU-style).
    pub plan: Arc<ArcSwap<ForwardingPlan>>,
    /// The single FDB writer.
    pub writer: FdbWriter,
    /// One learn queue per worker.
    pub queues: Vec<Arc<LearnQueue>>,
    /// One counter block per worker.
    pub counters: Vec<Arc<WorkerCounters>>,
    /// Backend counters.
    pub dataplane: Box<dyn DataplaneStats>,
    /// Port interfaces, by index (for listing).
    pub interfaces: Vec<Option<String>>,
    /// The running config.
    config: xvs_config::Config,
    /// Where a reload reads the config from, and how it turns it into the
    /// spec `xvs run` compiles (the VTEP MACs and port MTUs it reads from
    /// the interfaces); `None` when the switch runs on the embedded default.
    reload: Option<Reloader>,
    clock: Box<dyn Fn() -> Nanos + Send>,
    /// The second (workers' clock) of the last aging pass.
    last_pass: Option<u32>,
    /// The flow rules, as the published plan has them compiled.
    flows: FlowStore,
    /// Per rule id, its counters' sums when the id was given to its
    /// current rule: an id can be reused, and its new rule counts from 0.
    rule_base: HashMap<u32, [u64; 2]>,
}

/// Learn events applied per housekeeping pass, so a learning storm cannot
/// starve API requests.
const DRAIN_BUDGET: usize = 1 << 16;

impl ControlPlane {
    /// Assembles the control plane. `clock` must be the clock the workers
    /// pass to the pipeline, so FDB ages agree.
    pub fn new(
        plan: Arc<ArcSwap<ForwardingPlan>>,
        writer: FdbWriter,
        queues: Vec<Arc<LearnQueue>>,
        counters: Vec<Arc<WorkerCounters>>,
        dataplane: Box<dyn DataplaneStats>,
        config: &xvs_config::Config,
        clock: Box<dyn Fn() -> Nanos + Send>,
    ) -> ControlPlane {
        let interfaces = config.ports.iter().map(|p| p.interface.clone()).collect();
        let flows = FlowStore::from_config(&config.flows);
        // The caller's plan carries the same rules when it came from
        // `FlowStore::from_config(..).apply`, as `xvs run`'s does; compiling
        // them again makes sure of it.
        match flows.apply(&plan.load()) {
            Ok(p) => plan.store(Arc::new(p)),
            Err(e) => log::error!("flow {e}: the config's rules are not in force"),
        }
        let config = config.clone();
        ControlPlane {
            plan,
            writer,
            queues,
            counters,
            dataplane,
            interfaces,
            config,
            reload: None,
            clock,
            last_pass: None,
            flows,
            rule_base: HashMap::new(),
        }
    }

    /// Lets `xvs config reload` and SIGHUP re-read `source`.
    pub fn with_reload(mut self, reload: Reloader) -> ControlPlane {
        self.reload = Some(reload);
        self
    }

    /// Re-reads the config file and applies it if its ids are unchanged
    /// (see [`crate::reload`]); otherwise refuses and keeps the running one.
    pub fn reload(&mut self) -> Reply {
        let Some(r) = &self.reload else {
            return Err(ApiError::bad_request(
                "this switch runs on the embedded default config: there is no file to reload",
            ));
        };
        let path = r.source.display().to_string();
        let new = xvs_config::Config::load(&r.source)
            .map_err(|e| ApiError::bad_request(format!("{path}: {e}; the running config stays in force")))?;
        let refused = |e: String| ApiError::bad_request(format!("{path}: {e}; the running config stays in force"));
        // The ids come from the config alone; what the interfaces fill in
        // (MACs, MTUs) comes after the check, which the ports pass first.
        let shape = ForwardingPlan::compile(&new.spec).map_err(|e| refused(e.to_string()))?;
        let old = self.plan.load_full();
        if let Some(why) = crate::reload::restart_needed(&self.config, &new, &old, &shape) {
            return Err(ApiError {
                status: 409,
                message: format!("{path}: {why}: restart xvs to apply it; the running config stays in force"),
            });
        }
        let plan = ForwardingPlan::compile(&(r.resolve)(&new).map_err(refused)?).map_err(|e| refused(e.to_string()))?;
        let flows = self.flows.with_config(&new.flows);
        let plan = flows.apply(&plan).map_err(|e| refused(format!("flow {e}")))?;
        if new == self.config {
            return Ok(json!({ "reloaded": false, "why": "the config is unchanged" }));
        }
        plan.adopt_state(&old);
        let keep: std::collections::HashSet<(BdId, MacAddr)> = plan.statics.iter().map(|s| (s.bd, s.mac)).collect();
        let mut removed = 0;
        for s in old.statics.iter().filter(|s| !keep.contains(&(s.bd, s.mac))) {
            if self.writer.get(s.bd, s.mac).is_some_and(|e| e.is_static) && self.writer.remove(s.bd, s.mac) {
                removed += 1;
            }
        }
        // Counted after the removals, so only what set_plan adds counts.
        let before = self.writer.stats().static_entries;
        self.writer.set_plan(&plan);
        let added = self.writer.stats().static_entries - before;
        self.plan.store(Arc::new(plan));
        self.adopt_flows(flows);
        self.config = new;
        log::info!("config reloaded from {path}: {added} static entries added, {removed} removed");
        Ok(json!({ "reloaded": true, "static_added": added, "static_removed": removed, "flows": self.flows.len() }))
    }

    /// Seconds on the workers' clock.
    pub fn now_secs(&self) -> u32 {
        (self.clock)().as_secs_u32()
    }

    /// One housekeeping pass: apply learn events, age once a second.
    /// Returns the number of learn events applied.
    pub fn housekeeping(&mut self) -> usize {
        let n = self.writer.drain(&self.queues, DRAIN_BUDGET);
        // One pass per second of the workers' clock, on its boundaries, so
        // passes do not drift and skip a second. A longer gap means this
        // thread stalled: hold removals until workers can report what the
        // late pass marks stale (see `FdbWriter::hold_removals`).
        let now = self.now_secs();
        if self.last_pass != Some(now) {
            if let Some(last) = self.last_pass.filter(|&last| now > last + 1) {
                log::warn!("FDB aging passes missed between seconds {last} and {now}: removals held");
                self.writer.hold_removals(now);
            }
            self.last_pass = Some(now);
            self.writer.age(now);
            // Snooped ARP bindings age like MACs.
            let plan = self.plan.load();
            for sup in plan.overlay.iter().flat_map(|ov| ov.suppression.iter()) {
                sup.hosts.age(now, self.writer.aging_secs());
            }
        }
        n
    }

    /// Sum of every worker's pipeline counters.
    pub fn totals(&self) -> CounterSnapshot {
        let mut t = CounterSnapshot::default();
        for c in &self.counters {
            t.accumulate(&c.snapshot());
        }
        t
    }

    /// Executes one command. Nothing here knows HTTP: the server maps routes
    /// to commands and replies to responses.
    pub fn execute(&mut self, command: Command) -> Reply {
        match command {
            Command::FdbShow(f) => self.fdb_show(&f),
            Command::FdbAdd(a) => self.fdb_add(&a),
            Command::FdbDelete(d) => self.fdb_delete(&d),
            Command::FdbFlush(f) => self.fdb_flush(&f),
            Command::FdbMoves => {
                let plan = self.plan.load();
                Ok(json!({ "moves": views::move_rows(&plan, self.writer.recent_moves()) }))
            }
            Command::Ports => Ok(self.ports()),
            Command::Bridges => Ok(self.bridges()),
            Command::Stats => Ok(self.stats()),
            Command::Tunnels => Ok(self.tunnels()),
            Command::Version => Ok(json!({
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_secs": self.now_secs(),
            })),
            Command::Health => Ok(json!({ "status": "ok" })),
            Command::ConfigShow => Ok(json!({ "toml": self.config.to_toml_string() })),
            Command::ConfigReload => self.reload(),
            Command::ArpShow => Ok(self.arp_show()),
            Command::FlowList => Ok(self.flow_list()),
            Command::FlowAdd(a) => {
                let rule = flow_rule(&a.port, a.priority, &a.matches, &a.actions)?;
                let mut store = self.flows.clone();
                let id = store.add(rule).map_err(ApiError::bad_request)?;
                self.publish_flows(store)?;
                Ok(json!({ "added": self.flow_row(id) }))
            }
            Command::FlowDelete(id) => {
                let mut store = self.flows.clone();
                if store.delete(id).is_none() {
                    return Err(ApiError::not_found(format!("no flow rule has id {id}")));
                }
                self.publish_flows(store)?;
                Ok(json!({ "removed": id }))
            }
            Command::FlowReplace { port, rules } => {
                let table = FlowTable::Ingress(port.clone());
                let rules = rules
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        flow_rule(&port, r.priority, &r.matches, &r.actions)
                            .map_err(|e| ApiError::bad_request(format!("rules[{i}].{}", e.message)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let mut store = self.flows.clone();
                let ids = store.replace_table(&table, rules).map_err(ApiError::bad_request)?;
                self.publish_flows(store)?;
                Ok(json!({ "table": table.to_string(), "ids": ids }))
            }
            Command::Trace(t) => {
                let frame =
                    crate::trace::parse_hex(&t.frame).map_err(|e| ApiError::bad_request(format!("frame: {e}")))?;
                let plan = self.plan.load();
                let now = (self.clock)();
                let aging = self.writer.aging_secs();
                let report = crate::trace::trace_live(&plan, self.writer.table(), aging, now, &t.in_port, &frame)
                    .map_err(ApiError::bad_request)?;
                let mut v = report.json;
                v["lines"] = json!(report.lines);
                Ok(v)
            }
        }
    }

    /// Compiles `store` against the running plan and publishes both in one
    /// snapshot; refuses (and changes nothing) when a rule does not compile.
    fn publish_flows(&mut self, store: FlowStore) -> Result<(), ApiError> {
        let plan = store.apply(&self.plan.load()).map_err(|e| ApiError::bad_request(e.0))?;
        self.plan.store(Arc::new(plan));
        self.adopt_flows(store);
        Ok(())
    }

    /// Makes `store` the running rules, starting the counters of every id
    /// whose rule is new from what the workers have counted so far.
    fn adopt_flows(&mut self, store: FlowStore) {
        for (id, s) in store.iter() {
            if self.flows.get(id) != Some(s) {
                let now = self.rule_sums(id);
                self.rule_base.insert(id, now);
            }
        }
        self.flows = store;
    }

    /// Rule slot `id`'s packets and bytes, summed over the workers.
    fn rule_sums(&self, id: u32) -> [u64; 2] {
        self.counters
            .iter()
            .filter_map(|c| c.rules.get(id as usize))
            .fold([0, 0], |[p, b], r| [p + r.packets.get(), b + r.bytes.get()])
    }

    /// Rule `id`'s packets and bytes since it got its id.
    pub fn rule_counts(&self, id: u32) -> [u64; 2] {
        let [p, b] = self.rule_sums(id);
        let [p0, b0] = self.rule_base.get(&id).copied().unwrap_or_default();
        [p.wrapping_sub(p0), b.wrapping_sub(b0)]
    }

    /// The running rules, by id.
    pub fn flows(&self) -> &FlowStore {
        &self.flows
    }

    fn flow_row(&self, id: u32) -> Value {
        let Some(s) = self.flows.get(id) else { return Value::Null };
        let [packets, bytes] = self.rule_counts(id);
        json!({
            "id": id,
            "table": s.rule.table.to_string(),
            "priority": s.rule.priority,
            "match": s.rule.matches.to_string(),
            "actions": s.rule.actions.to_string(),
            "origin": s.origin,
            "packets": packets,
            "bytes": bytes,
        })
    }

    /// Every binding of every domain with ARP suppression.
    fn arp_show(&self) -> Value {
        let plan = self.plan.load();
        let now = self.now_secs();
        let mut rows = Vec::new();
        for sup in plan.overlay.iter().flat_map(|ov| ov.suppression.iter()) {
            for (ip, mac, pinned) in sup.hosts.entries() {
                rows.push(json!({
                    "vni": sup.vni,
                    "domain": plan.domain_name(sup.bd),
                    "ip": ip.to_string(),
                    "mac": mac.to_string(),
                    "type": if pinned { "static" } else { "dynamic" },
                    "age_secs": if pinned { Value::Null } else { json!(sup.hosts.age_of(ip, now)) },
                }));
            }
        }
        let t = self.totals();
        json!({
            "count": rows.len(),
            "entries": rows,
            "answered": t.arp_suppressed,
            "misses": t.arp_suppress_misses,
            "snooped": t.arp_snooped,
        })
    }

    fn flow_list(&self) -> Value {
        let rows: Vec<Value> = self.flows.iter().map(|(id, _)| self.flow_row(id)).collect();
        let t = self.totals();
        json!({
            "count": rows.len(),
            "flows": rows,
            "cache": { "hits": t.flow_cache_hits, "misses": t.flow_cache_misses },
        })
    }

    /// Resolves `bridge`/`vlan` arguments into a domain. `bridge` may be
    /// omitted when there is only one.
    fn domain(&self, plan: &ForwardingPlan, bridge: Option<&str>, vlan: Option<u16>) -> Result<Option<BdId>, ApiError> {
        let Some(vid) = vlan else {
            return match bridge {
                Some(_) => Err(ApiError::bad_request("bridge: given without vlan")),
                None => Ok(None),
            };
        };
        let b = match bridge {
            Some(name) => plan
                .bridge_index(name)
                .ok_or_else(|| ApiError::bad_request(format!("bridge: no bridge named {name:?}")))?,
            None if plan.bridges.len() == 1 => 0,
            None => return Err(ApiError::bad_request("bridge: several bridges, say which")),
        };
        plan.domain(b, vid).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!("vlan: VLAN {vid} is not used on bridge {:?}", plan.bridges[b]))
        })
    }

    /// A filter's domain: from `bridge`/`vlan`, or from `vni` (the domain
    /// the VNI is bridged to); both given must agree.
    fn filter_domain(&self, plan: &ForwardingPlan, f: &FdbFilter) -> Result<Option<BdId>, ApiError> {
        let by_vlan = self.domain(plan, f.bridge.as_deref(), f.vlan)?;
        let Some(vni) = f.vni else { return Ok(by_vlan) };
        let bd = plan
            .overlay
            .as_deref()
            .and_then(|ov| ov.tunnels.iter().find(|t| t.vni == vni))
            .map(|t| t.bd)
            .ok_or_else(|| ApiError::bad_request(format!("vni: no VNI {vni} is configured")))?;
        match by_vlan {
            Some(d) if d != bd => Err(ApiError::bad_request(format!(
                "vni: VNI {vni} is bridged to {}, not {}",
                plan.domain_name(bd),
                plan.domain_name(d)
            ))),
            _ => Ok(Some(bd)),
        }
    }

    fn port(&self, plan: &ForwardingPlan, name: Option<&str>) -> Result<Option<PortId>, ApiError> {
        match name {
            None => Ok(None),
            Some(n) => {
                plan.port_id(n).map(Some).ok_or_else(|| ApiError::bad_request(format!("port: no port named {n:?}")))
            }
        }
    }

    fn fdb_show(&self, q: &FdbQuery) -> Reply {
        let plan = self.plan.load();
        let bd = self.filter_domain(&plan, &q.filter())?;
        let port = self.port(&plan, q.port.as_deref())?;
        let mac = q.mac.as_deref().map(parse_mac).transpose()?;
        let is_static = q.kind.map(|k| k == EntryType::Static);
        let entries: Vec<_> = self
            .writer
            .entries()
            .into_iter()
            .filter(|e| bd.is_none_or(|b| e.bd == b) && port.is_none_or(|p| e.port == p))
            .filter(|e| mac.is_none_or(|m| e.mac == m) && is_static.is_none_or(|s| e.is_static == s))
            .collect();
        let rows = views::fdb_rows(&plan, &entries, self.now_secs());
        Ok(json!({ "entries": rows, "count": rows.len() }))
    }

    fn fdb_add(&mut self, a: &FdbAdd) -> Reply {
        let plan = self.plan.load_full();
        let mac = parse_mac(&a.mac)?;
        if mac.is_multicast() || mac.is_zero() {
            return Err(ApiError::bad_request(format!("mac: {mac} is not unicast; static entries must be")));
        }
        let bd = self
            .domain(&plan, a.bridge.as_deref(), Some(a.vlan))?
            .ok_or_else(|| ApiError::bad_request("vlan: required"))?;
        let port = self.port(&plan, Some(&a.port))?.ok_or_else(|| ApiError::bad_request("port: required"))?;
        if plan.ports[port.index()].egress.get(bd.index()).copied().unwrap_or_default() == EgressTag::NotMember {
            return Err(ApiError::bad_request(format!(
                "port: {:?} is not a member of {}",
                plan.ports[port.index()].name,
                plan.domain_name(bd)
            )));
        }
        if !self.writer.add_static(bd, mac, port) {
            // Every slot within reach of the key's home is taken: with the
            // keyed hash at half load, practically never.
            return Err(ApiError {
                status: 507,
                message: format!("no FDB slot for {mac} in {} (counted in refused_chain_full)", plan.domain_name(bd)),
            });
        }
        Ok(
            json!({ "added": { "domain": plan.domain_name(bd), "mac": mac.to_string(), "port": plan.ports[port.index()].name } }),
        )
    }

    fn fdb_delete(&mut self, d: &FdbDelete) -> Reply {
        let plan = self.plan.load_full();
        let mac = parse_mac(&d.mac)?;
        let bd = self
            .domain(&plan, d.bridge.as_deref(), Some(d.vlan))?
            .ok_or_else(|| ApiError::bad_request("vlan: required"))?;
        if self.writer.remove(bd, mac) {
            Ok(json!({ "removed": mac.to_string() }))
        } else {
            Err(ApiError::not_found(format!("{mac} is not in {}", plan.domain_name(bd))))
        }
    }

    fn fdb_flush(&mut self, f: &FdbFilter) -> Reply {
        let plan = self.plan.load_full();
        let bd = self.filter_domain(&plan, f)?;
        let port = self.port(&plan, f.port.as_deref())?;
        let n = self.writer.flush(bd, port);
        Ok(json!({ "flushed": n }))
    }

    /// `GET /v1/bridges`: each bridge's domains, their VNIs, member ports
    /// and how each sends the domain, and their FDB entries.
    fn bridges(&self) -> Value {
        let plan = self.plan.load();
        let tunnels = plan.overlay.as_deref().map(|ov| ov.tunnels.as_slice()).unwrap_or_default();
        let bridges: Vec<Value> = plan
            .bridges
            .iter()
            .enumerate()
            .map(|(b, name)| {
                let domains: Vec<Value> = plan
                    .domains
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(_, d)| d.bridge == b)
                    .map(|(i, d)| {
                        let bd = BdId(i as u16);
                        let mut vnis: Vec<u32> = tunnels.iter().filter(|t| t.bd == bd).map(|t| t.vni).collect();
                        vnis.dedup();
                        let members: Vec<Value> = plan
                            .ports
                            .iter()
                            .filter_map(|p| {
                                let sends = match p.egress.get(i).copied().unwrap_or_default() {
                                    EgressTag::NotMember => return None,
                                    EgressTag::Untagged => "untagged".to_string(),
                                    EgressTag::Tagged { tpid, vid } => format!("tagged {vid} (tpid 0x{tpid:04x})"),
                                };
                                Some(json!({ "port": p.name, "sends": sends }))
                            })
                            .collect();
                        let (entries, statics) = self.writer.domain_entries(bd);
                        json!({
                            "vlan": d.vlan.0,
                            "vnis": vnis,
                            "members": members,
                            "fdb_entries": entries,
                            "static_entries": statics,
                        })
                    })
                    .collect();
                json!({ "name": name, "domains": domains })
            })
            .collect();
        json!({ "bridges": bridges })
    }

    fn ports(&self) -> Value {
        let plan = self.plan.load();
        let counts = self.writer.port_counts();
        let ports: Vec<Value> = plan
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (mode, vlans) = describe_mode(&plan, p);
                let mut o = serde_json::Map::new();
                o.insert("name".into(), p.name.clone().into());
                o.insert("interface".into(), self.interfaces.get(i).cloned().flatten().into());
                o.insert("bridge".into(), plan.bridges[p.bridge].clone().into());
                o.insert("mode".into(), mode.into());
                o.insert("vlans".into(), vlans.into());
                o.insert("fdb_entries".into(), counts.get(i).copied().unwrap_or(0).into());
                o.extend(self.dataplane.port(i));
                if let Some(t) = plan.overlay.as_deref().and_then(|ov| i.checked_sub(ov.first_tunnel.into())) {
                    o.extend(tunnel_counter_map(self.tunnel_totals(t)));
                }
                Value::Object(o)
            })
            .collect();
        json!({ "ports": ports })
    }

    fn stats(&self) -> Value {
        let t = self.totals();
        let workers: Vec<Value> =
            self.counters.iter().map(|c| Value::Object(views::counter_map(&c.snapshot()))).collect();
        let plan = self.plan.load();
        let first_tunnel = usize::from(plan.first_tunnel);
        let ports: serde_json::Map<String, Value> = plan
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let counters = match i.checked_sub(first_tunnel) {
                    Some(t) => tunnel_counter_map(self.tunnel_totals(t)),
                    None => self.dataplane.port(i),
                };
                (p.name.clone(), Value::Object(counters))
            })
            .collect();
        json!({
                "uptime_secs": self.now_secs(),
                "pipeline": views::counter_map(&t),
                "drops": views::drop_map(&t),
                "workers": workers,
                "fdb": views::fdb_stats_json(&self.writer.stats()),
                "ports": ports,
                "overlay": self.overlay_stats(&plan),
                "dataplane": self.dataplane.details(),
        })
    }

    /// Tunnel `i`'s counters summed over the workers, named by
    /// [`TUNNEL_COUNTERS`].
    pub fn tunnel_totals(&self, i: usize) -> [u64; 6] {
        let mut sum = [0u64; 6];
        for c in &self.counters {
            if let Some(t) = c.tunnel(i) {
                for (s, v) in sum.iter_mut().zip(t.get()) {
                    *s += v;
                }
            }
        }
        sum
    }

    /// Per-VNI sums of the tunnel counters, in the plan's tunnel order.
    pub fn vni_totals(&self, plan: &ForwardingPlan) -> Vec<VniTotals> {
        let Some(ov) = plan.overlay.as_deref() else { return Vec::new() };
        let mut vnis: Vec<VniTotals> = Vec::new();
        for (i, t) in ov.tunnels.iter().enumerate() {
            let c = self.tunnel_totals(i);
            let vtep = &ov.vteps[usize::from(t.vtep)].name;
            match vnis.iter_mut().find(|v| v.vni == t.vni && v.vtep == *vtep) {
                Some(v) => v.counters.iter_mut().zip(c).for_each(|(s, v)| *s += v),
                None => vnis.push(VniTotals { vni: t.vni, vtep: vtep.clone(), counters: c }),
            }
        }
        vnis
    }

    /// Per-VNI and per-VTEP sums of the tunnel counters (`null` without an
    /// overlay).
    fn overlay_stats(&self, plan: &ForwardingPlan) -> Value {
        let Some(ov) = plan.overlay.as_deref() else { return Value::Null };
        let mut vteps: Vec<[u64; 6]> = vec![[0; 6]; ov.vteps.len()];
        for (i, t) in ov.tunnels.iter().enumerate() {
            if let Some(sum) = vteps.get_mut(usize::from(t.vtep)) {
                sum.iter_mut().zip(self.tunnel_totals(i)).for_each(|(s, v)| *s += v);
            }
        }
        let vnis: Vec<Value> = self
            .vni_totals(plan)
            .into_iter()
            .map(|v| {
                let mut o = tunnel_counter_map(v.counters);
                o.insert("vni".into(), v.vni.into());
                o.insert("vtep".into(), v.vtep.into());
                Value::Object(o)
            })
            .collect();
        let vteps: Vec<Value> = ov
            .vteps
            .iter()
            .zip(vteps)
            .enumerate()
            .map(|(i, (v, mut c))| {
                // A VTEP's rx drops are every drop on its port, also those
                // no tunnel was named for (an unknown VNI or source).
                c[4] = self.counters.iter().filter_map(|w| w.vtep_rx_drops.get(i)).map(|d| d.get()).sum();
                let mut o = tunnel_counter_map(c);
                o.insert("vtep".into(), v.name.clone().into());
                Value::Object(o)
            })
            .collect();
        json!({ "vnis": vnis, "vteps": vteps })
    }

    /// `GET /v1/tunnels`: the VTEPs with their next hops' resolution
    /// state, and every tunnel port with its counters.
    fn tunnels(&self) -> Value {
        let plan = self.plan.load();
        let Some(ov) = plan.overlay.as_deref() else {
            return json!({ "vteps": [], "tunnels": [], "gateways": [], "routes": [] });
        };
        let now = self.now_secs();
        let hop = |i: u16| {
            let n = ov.neighbors.entries.get(usize::from(i));
            json!({
                "ip": n.map(|n| n.ip.to_string()),
                "mac": ov.neighbors.mac(i).map(|m| m.to_string()),
                "static": n.is_some_and(|n| n.is_static),
                "heard_secs_ago": ov.neighbors.age(i, now),
            })
        };
        let vteps: Vec<Value> = ov
            .vteps
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let hops: Vec<Value> = (0..ov.neighbors.entries.len() as u16)
                    .filter(|h| ov.neighbors.entries[usize::from(*h)].vtep == i as u16)
                    .map(hop)
                    .collect();
                json!({
                    "name": v.name,
                    "port": plan.ports[v.port.index()].name,
                    "address": format!("{}/{}", v.address, v.prefix_len),
                    "mac": v.mac.to_string(),
                    "gateway": v.gateway.map(|g| g.to_string()),
                    "udp_port": v.udp_port,
                    "geneve_port": v.geneve_port,
                    "mtu": v.mtu,
                    "next_hops": hops,
                })
            })
            .collect();
        let tunnels: Vec<Value> = ov
            .tunnels
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut o = serde_json::Map::new();
                o.insert("name".into(), t.name.clone().into());
                o.insert("vtep".into(), ov.vteps[usize::from(t.vtep)].name.clone().into());
                o.insert("vni".into(), t.vni.into());
                let encap = match t.encap {
                    switch_core::overlay::Encap::Vxlan => "vxlan",
                    switch_core::overlay::Encap::Geneve => "geneve",
                };
                o.insert("encap".into(), encap.into());
                o.insert("remote".into(), t.remote.to_string().into());
                o.insert("vlan".into(), plan.domains[t.bd.index()].vlan.0.into());
                o.insert("bridge".into(), plan.bridges[plan.domains[t.bd.index()].bridge].clone().into());
                o.insert("flood".into(), t.flood.into());
                o.insert("next_hop".into(), hop(t.nexthop));
                o.extend(tunnel_counter_map(self.tunnel_totals(i)));
                Value::Object(o)
            })
            .collect();
        let gateways: Vec<Value> = ov
            .gateways
            .iter()
            .map(|g| {
                let d = &plan.domains[g.bd.index()];
                let hosts: Vec<Value> = g
                    .hosts
                    .entries()
                    .into_iter()
                    .map(|(ip, mac, pinned)| json!({ "ip": ip.to_string(), "mac": mac.to_string(), "static": pinned }))
                    .collect();
                json!({
                    "bridge": plan.bridges[d.bridge],
                    "vlan": d.vlan.0,
                    "address": format!("{}/{}", g.address, g.prefix_len),
                    "mac": g.mac.to_string(),
                    "hosts": hosts,
                })
            })
            .collect();
        let routes: Vec<Value> = ov
            .routes
            .iter()
            .map(|r| {
                json!({
                    "prefix": format!("{}/{}", std::net::Ipv4Addr::from(r.net), r.len),
                    "via": r.via.to_string(),
                    "vtep": ov.vteps[usize::from(r.vtep)].name,
                    "next_hop": hop(r.nexthop),
                })
            })
            .collect();
        json!({ "vteps": vteps, "tunnels": tunnels, "gateways": gateways, "routes": routes })
    }
}

/// Parses the `mac` field of a request.
fn parse_mac(text: &str) -> Result<MacAddr, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("mac: {text:?} is not a MAC address like 02:00:00:00:00:01")))
}

/// Tunnel counters as JSON fields.
fn tunnel_counter_map(c: [u64; 6]) -> serde_json::Map<String, Value> {
    TUNNEL_COUNTERS.iter().zip(c).map(|(k, v)| (k.to_string(), v.into())).collect()
}

/// A port's mode and VLANs in words, for listings.
pub fn describe_mode(plan: &ForwardingPlan, p: &switch_core::bridge::plan::PortPlan) -> (String, String) {
    let mut tagged = Vec::new();
    let mut untagged = Vec::new();
    for (bd, tag) in p.egress.iter().enumerate() {
        let vlan = plan.domains[bd].vlan.0;
        match tag {
            EgressTag::Untagged => untagged.push(vlan),
            EgressTag::Tagged { .. } => tagged.push(vlan),
            EgressTag::NotMember => {}
        }
    }
    let list = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    if let Some(ov) = plan.overlay.as_deref() {
        let id = plan.port_id(&p.name).unwrap_or(PortId(u16::MAX));
        if let Some(t) = ov.tunnel(id) {
            let mode = match t.encap {
                switch_core::overlay::Encap::Vxlan => "vxlan",
                switch_core::overlay::Encap::Geneve => "geneve",
            };
            return (mode.into(), format!("vni {} remote {} vlan {}", t.vni, t.remote, list(&untagged)));
        }
        if let Some(g) = ov.gateway(id) {
            return ("gateway".into(), format!("{}/{} vlan {}", g.address, g.prefix_len, list(&untagged)));
        }
        if let Some((_, v)) = ov.vtep_of_port(id) {
            return ("underlay".into(), format!("vtep {} {}/{}", v.name, v.address, v.prefix_len));
        }
    }
    match p.ingress {
        IngressRule::Tunnel { .. } => ("dot1q-tunnel".into(), format!("s-vlan {}", list(&untagged))),
        IngressRule::Vlan { tpid, .. }
            if tagged.is_empty() && untagged.len() == 1 && p.vid_to_bd.iter().all(|b| *b == BdId::NONE) =>
        {
            let _ = tpid;
            ("access".into(), list(&untagged))
        }
        IngressRule::Vlan { tpid, .. } => {
            let native = if untagged.is_empty() { String::new() } else { format!(" native {}", list(&untagged)) };
            (format!("trunk (tpid 0x{tpid:04x})"), format!("tagged {}{native}", list(&tagged)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::TraceRequest;
    use switch_core::fdb::{FdbKey, LearnEvent};

    fn control() -> ControlPlane {
        control_with(xvs_config::Config::embedded_default(), Box::new(|| Nanos::from_secs(100)))
    }

    fn control_with(config: xvs_config::Config, clock: Box<dyn Fn() -> Nanos + Send>) -> ControlPlane {
        let plan = Arc::new(ForwardingPlan::compile(&config.spec).unwrap());
        let writer = FdbWriter::new(&config.spec.fdb, &plan);
        let q = Arc::new(LearnQueue::new(64));
        ControlPlane::new(
            Arc::new(ArcSwap::new(plan)),
            writer,
            vec![q],
            vec![Arc::new(WorkerCounters::default())],
            Box::new(NoDataplane),
            &config,
            clock,
        )
    }

    /// Aging passes follow the workers' clock, one per second; after a gap
    /// (this thread stalled) removals wait a refresh interval plus 2 s, so
    /// the workers can report what the late pass marks stale.
    #[test]
    fn aging_passes_follow_the_clock_and_hold_removals_after_a_gap() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let mut config = xvs_config::Config::embedded_default();
        config.spec.fdb.aging_secs = 4;
        let secs = Arc::new(AtomicU64::new(100));
        let clock = secs.clone();
        let mut c = control_with(config, Box::new(move || Nanos::from_secs(clock.load(Ordering::Relaxed))));
        let bd = c.plan.load_full().domain(0, 10).unwrap();
        let learn = |c: &mut ControlPlane, n: u8, at: u32| {
            c.queues[0].push(LearnEvent { key: FdbKey::new(bd, MacAddr([2, 0, 0, 0, 0, n])), port: PortId(0), at });
            c.housekeeping();
        };
        learn(&mut c, 1, 100);
        // Seconds in a row: an entry goes once idle for the aging time.
        for now in 101..=104 {
            secs.store(now, Ordering::Relaxed);
            c.housekeeping();
            c.housekeeping(); // the same second: no second pass
        }
        assert_eq!(c.writer.stats().aged, 1, "aged at 104 after passes every second");
        learn(&mut c, 2, 104);
        // A stall: the next pass comes at 110. Removals wait until 113.
        for now in [110, 111, 112] {
            secs.store(now, Ordering::Relaxed);
            c.housekeeping();
            assert_eq!(c.writer.stats().aged, 1, "removed at {now}, inside the hold");
        }
        secs.store(113, Ordering::Relaxed);
        c.housekeeping();
        assert_eq!(c.writer.stats().aged, 2);
    }

    fn ok(c: &mut ControlPlane, command: Command) -> Value {
        c.execute(command).unwrap_or_else(|e| panic!("{e}"))
    }

    fn status(c: &mut ControlPlane, command: Command) -> u16 {
        c.execute(command).map_or_else(|e| e.status, |_| 200)
    }

    fn filter(vlan: Option<u16>, port: Option<&str>) -> FdbQuery {
        FdbQuery { vlan, port: port.map(str::to_string), ..FdbQuery::default() }
    }

    #[test]
    fn learned_entries_are_listed_with_names_and_ages() {
        let mut c = control();
        let plan = c.plan.load_full();
        let bd = plan.domain(0, 10).unwrap();
        c.queues[0].push(LearnEvent {
            key: FdbKey::new(bd, "02:00:00:00:00:01".parse().unwrap()),
            port: PortId(0),
            at: 90,
        });
        assert_eq!(c.housekeeping(), 1);
        let v = ok(&mut c, Command::FdbShow(FdbQuery::default()));
        assert_eq!(v["count"], 1);
        assert_eq!(v["entries"][0]["port"], "h1");
        assert_eq!(v["entries"][0]["vlan"], 10);
        assert_eq!(v["entries"][0]["age_secs"], 10);
        // Filters.
        assert_eq!(ok(&mut c, Command::FdbShow(filter(Some(20), None)))["count"], 0);
        assert_eq!(ok(&mut c, Command::FdbShow(filter(None, Some("h1"))))["count"], 1);
        let e = c.execute(Command::FdbShow(filter(None, Some("nope")))).unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (400, r#"port: no port named "nope""#));
        let e = c.execute(Command::FdbShow(filter(Some(99), None))).unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (400, r#"vlan: VLAN 99 is not used on bridge "br0""#));
    }

    /// A live trace follows the current FDB, and what it runs cannot change
    /// the tables: an ARP reply from the VTEP's next hop resolves nothing
    /// the workers see, and the traced source is not learned.
    #[test]
    fn live_trace_reads_the_tables_and_changes_nothing() {
        let mut c = control();
        let plan = c.plan.load_full();
        let bd = plan.domain(0, 10).unwrap();
        c.queues[0].push(LearnEvent { key: FdbKey::new(bd, MacAddr([2, 0, 0, 0, 0, 2])), port: PortId(1), at: 99 });
        c.housekeeping();
        let trace = |c: &mut ControlPlane, in_port: &str, frame: &[u8]| {
            let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
            c.execute(Command::Trace(TraceRequest { in_port: in_port.into(), frame: hex }))
        };
        let mut unicast = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        unicast.resize(60, 0);
        let v = trace(&mut c, "h1", &unicast).unwrap();
        assert_eq!(v["verdict"], "forwarded to h2", "{v}");
        assert!(v["lines"][0].as_str().unwrap().starts_with("Frame: 60 bytes received on port h1"), "{v}");
        assert_eq!(c.writer.entries().len(), 1, "the traced source was learned");

        let ov = plan.overlay.as_deref().unwrap();
        let (vtep, hop) = (ov.vteps[0].mac.0, [2, 0, 0, 0, 0, 0x99]);
        let mut arp = [
            &vtep[..],
            &hop,
            &[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2],
            &hop,
            &[192, 168, 100, 2],
            &vtep,
            &[192, 168, 100, 1],
        ]
        .concat();
        arp.resize(60, 0);
        let v = trace(&mut c, "uplink", &arp).unwrap();
        assert!(!v["steps"].as_array().unwrap().is_empty(), "{v}");
        assert_eq!(ov.neighbors.mac(0), None, "a traced ARP reply resolved the live next hop: {v}");

        let e = trace(&mut c, "h9", &unicast).unwrap_err();
        assert!(e.message.starts_with(r#"in_port: no port named "h9""#), "{e}");
        let e = c.execute(Command::Trace(TraceRequest { in_port: "h1".into(), frame: "0g".into() })).unwrap_err();
        assert_eq!(e.message, r#"frame: not hex: "0g""#);
        assert!(trace(&mut c, "h1", &[2; 10]).is_err(), "a 10-byte frame was traced");
    }

    /// A reload applies a change that keeps the ids, keeps learned entries,
    /// and refuses (409, naming it) a change that does not, or a bad file,
    /// with the running config kept.
    #[test]
    fn reload_applies_what_keeps_the_ids_and_refuses_the_rest() {
        let dir = std::env::temp_dir().join(format!("xvs-reload-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("xvs.toml");
        let base = include_str!("../../../config/default.toml");
        std::fs::write(&path, base).unwrap();
        let config = xvs_config::Config::load(&path).unwrap();
        let identity = |c: &xvs_config::Config| Ok(c.spec.clone());
        let mut c = control_with(config, Box::new(|| Nanos::from_secs(100)))
            .with_reload(Reloader { source: path.clone(), resolve: Box::new(identity) });
        let bd = c.plan.load_full().domain(0, 10).unwrap();
        c.queues[0].push(LearnEvent { key: FdbKey::new(bd, MacAddr([2, 0, 0, 0, 0, 1])), port: PortId(0), at: 99 });
        c.housekeeping();

        assert_eq!(c.reload().unwrap()["reloaded"], false, "an unchanged file");
        let with_static = "\n[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:00:5a\"\nport = \"h2\"\n";
        std::fs::write(&path, format!("{base}{with_static}")).unwrap();
        let v = c.reload().unwrap();
        assert_eq!((v["reloaded"].as_bool(), v["static_added"].as_u64()), (Some(true), Some(1)), "{v}");
        let kinds: Vec<bool> = c.writer.entries().iter().map(|e| e.is_static).collect();
        assert_eq!(kinds.len(), 2, "the learned entry and the new static one: {kinds:?}");
        assert!(ok(&mut c, Command::ConfigShow)["toml"].as_str().unwrap().contains("02:00:00:00:00:5a"));

        // A new port changes the ids: refused, and nothing changes.
        let new_port = "\n[[port]]\nname = \"h5\"\ninterface = \"xvs-h5\"\nmode = \"access\"\nvlan = 10\n";
        std::fs::write(&path, format!("{base}{with_static}{new_port}")).unwrap();
        let e = c.reload().unwrap_err();
        assert_eq!(e.status, 409, "{e}");
        assert!(
            e.message.contains(r#"added ["h5"]"#) && e.message.ends_with("the running config stays in force"),
            "{e}"
        );
        assert_eq!(c.plan.load().ports.iter().filter(|p| p.name == "h5").count(), 0);
        // Removing the static entry again takes it out of the FDB.
        std::fs::write(&path, base).unwrap();
        let v = c.reload().unwrap();
        assert_eq!((v["static_removed"].as_u64(), v["static_added"].as_u64()), (Some(1), Some(0)), "{v}");
        assert_eq!(c.writer.entries().len(), 1);
        // A bad file: its error, and the config stays.
        std::fs::write(&path, format!("{base}\n[fdb]\nagin_secs = 3\n")).unwrap();
        let e = c.reload().unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("the running config stays in force"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn static_add_delete_and_flush() {
        let mut c = control();
        let add = |c: &mut ControlPlane, vlan: u16, mac: &str, port: &str| {
            let a = FdbAdd { bridge: None, vlan, mac: mac.into(), port: port.into() };
            c.execute(Command::FdbAdd(a)).map_err(|e| (e.status, e.message))
        };
        assert!(add(&mut c, 10, "02:00:00:00:00:09", "h2").is_ok());
        // Wrong VLAN for the port, multicast MAC, bad MAC, unknown port.
        let refused = [
            (20, "02:00:00:00:00:09", "h2", r#"port: "h2" is not a member of br0/20"#),
            (10, "01:00:00:00:00:09", "h2", "mac: 01:00:00:00:00:09 is not unicast; static entries must be"),
            (10, "zz", "h2", r#"mac: "zz" is not a MAC address like 02:00:00:00:00:01"#),
            (10, "02:00:00:00:00:09", "h9", r#"port: no port named "h9""#),
        ];
        for (vlan, mac, port, why) in refused {
            assert_eq!(add(&mut c, vlan, mac, port), Err((400, why.to_string())));
        }
        let v = ok(&mut c, Command::FdbShow(FdbQuery::default()));
        assert_eq!(v["entries"][0]["type"], "static");
        // Filters by type, MAC and VNI (VNI 100 is bridged to VLAN 10).
        let count = |c: &mut ControlPlane, q: FdbQuery| ok(c, Command::FdbShow(q))["count"].as_u64();
        let q = |f: fn(&mut FdbQuery)| {
            let mut q = FdbQuery::default();
            f(&mut q);
            q
        };
        assert_eq!(count(&mut c, q(|q| q.kind = Some(EntryType::Static))), Some(1));
        assert_eq!(count(&mut c, q(|q| q.kind = Some(EntryType::Dynamic))), Some(0));
        assert_eq!(count(&mut c, q(|q| q.mac = Some("02:00:00:00:00:09".into()))), Some(1));
        assert_eq!(count(&mut c, q(|q| q.mac = Some("02:00:00:00:00:08".into()))), Some(0));
        assert_eq!(count(&mut c, q(|q| q.vni = Some(100))), Some(1));
        let e = c.execute(Command::FdbShow(q(|q| q.vni = Some(7)))).unwrap_err();
        assert_eq!(e.message, "vni: no VNI 7 is configured");
        let e = c.execute(Command::FdbShow(q(|q| (q.vni, q.vlan) = (Some(100), Some(20))))).unwrap_err();
        assert_eq!(e.message, "vni: VNI 100 is bridged to br0/10, not br0/20");
        // Flush keeps statics.
        assert_eq!(ok(&mut c, Command::FdbFlush(FdbFilter::default()))["flushed"], 0);
        let del = Command::FdbDelete(FdbDelete { bridge: None, vlan: 10, mac: "02:00:00:00:00:09".into() });
        assert_eq!(status(&mut c, del.clone()), 200);
        assert_eq!(status(&mut c, del), 404);
    }

    #[test]
    fn ports_stats_version_and_health() {
        let mut c = control();
        let v = ok(&mut c, Command::Ports);
        assert_eq!(v["ports"][2]["name"], "h3");
        assert_eq!(v["ports"][2]["mode"], "access");
        assert_eq!(v["ports"][2]["vlans"], "20");
        assert_eq!(v["ports"][2]["interface"], "xvs-h3");
        let v = ok(&mut c, Command::Stats);
        assert_eq!(v["drops"]["truncated"], 0);
        assert_eq!(v["uptime_secs"], 100);
        assert_eq!(ok(&mut c, Command::Version)["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(ok(&mut c, Command::Health)["status"], "ok");
        let toml = ok(&mut c, Command::ConfigShow)["toml"].as_str().unwrap().to_string();
        assert_eq!(toml, xvs_config::Config::embedded_default().to_toml_string());
        let v = ok(&mut c, Command::Bridges);
        let vlan10 = &v["bridges"][0]["domains"][0];
        assert_eq!((vlan10["vlan"].as_u64(), vlan10["vnis"][0].as_u64()), (Some(10), Some(100)), "{v}");
        let members: Vec<&str> =
            vlan10["members"].as_array().unwrap().iter().filter_map(|m| m["port"].as_str()).collect();
        assert!(members.contains(&"h1") && members.contains(&"h2") && !members.contains(&"h3"), "{members:?}");
        assert_eq!(vlan10["members"][0]["sends"], "untagged");
        let text = crate::cli_view::bridges_table(&v);
        assert!(text.lines().any(|l| l.starts_with("br0") && l.contains(" 10 ") && l.contains("100")), "{text}");
    }

    #[test]
    fn tunnels_list_next_hops_and_counters() {
        let mut c = control();
        c.counters[0].tunnel(0).unwrap().tx_packets.add(3);
        c.counters[0].tunnel(0).unwrap().rx_bytes.add(640);
        let v = ok(&mut c, Command::Tunnels);
        assert_eq!(v["vteps"][0]["name"], "vtep0");
        assert_eq!(v["vteps"][0]["address"], "192.168.100.1/24");
        assert_eq!(
            v["vteps"][0]["next_hops"][0],
            json!({"ip": "192.168.100.2", "mac": null, "static": false, "heard_secs_ago": null})
        );
        let t = &v["tunnels"][0];
        assert_eq!(
            (t["name"].as_str(), t["encap"].as_str(), t["vni"].as_u64()),
            (Some("vxlan100@192.168.100.2"), Some("vxlan"), Some(100))
        );
        assert_eq!(
            (t["vlan"].as_u64(), t["tx_packets"].as_u64(), t["rx_bytes"].as_u64()),
            (Some(10), Some(3), Some(640))
        );
        // A next hop resolved by ARP shows its MAC.
        let plan = c.plan.load_full();
        let ov = plan.overlay.as_deref().unwrap();
        ov.neighbors.resolve(0, MacAddr([2, 0, 0, 0, 0, 0x99]), c.now_secs());
        let v = ok(&mut c, Command::Tunnels);
        assert_eq!(v["tunnels"][0]["next_hop"]["mac"], "02:00:00:00:00:99");
        assert!(v["vteps"][0]["next_hops"][0]["heard_secs_ago"].as_u64().is_some_and(|s| s <= 1), "{v}");
        // The same counters in the port list and the per-VNI/VTEP stats.
        let v = ok(&mut c, Command::Ports);
        assert_eq!(v["ports"][5]["mode"], "vxlan");
        assert_eq!(v["ports"][5]["tx_packets"], 3);
        assert_eq!(v["ports"][4]["mode"], "underlay");
        let v = ok(&mut c, Command::Stats);
        assert_eq!(v["overlay"]["vnis"][0]["vni"], 100);
        assert_eq!(v["overlay"]["vnis"][0]["tx_packets"], 3);
        assert_eq!(v["overlay"]["vteps"][0]["rx_bytes"], 640);
        assert_eq!(v["ports"]["vxlan100@192.168.100.2"]["tx_packets"], 3);
        // Drops: the tunnel's tx drops sum into its VNI and VTEP; a VTEP's
        // rx drops are every drop on its port.
        c.counters[0].tunnel(0).unwrap().tx_drops.add(2);
        c.counters[0].tunnel(0).unwrap().rx_drops.add(1);
        c.counters[0].vtep_rx_drops[0].add(5);
        let v = ok(&mut c, Command::Stats);
        let (vni, vtep) = (&v["overlay"]["vnis"][0], &v["overlay"]["vteps"][0]);
        assert_eq!((vni["rx_drops"].as_u64(), vni["tx_drops"].as_u64()), (Some(1), Some(2)), "{vni}");
        assert_eq!((vtep["rx_drops"].as_u64(), vtep["tx_drops"].as_u64()), (Some(5), Some(2)), "{vtep}");
        let text = crate::cli_view::stats_text(&v);
        assert!(text.contains("RX_DROPS") && text.contains("TX_DROPS"), "{text}");
        let text = crate::cli_view::tunnels_table(&ok(&mut c, Command::Tunnels));
        assert!(text.contains("vxlan100@192.168.100.2") && text.contains("02:00:00:00:00:99"), "{text}");
    }

    #[test]
    fn flow_rules_add_list_replace_delete_and_count() {
        use crate::command::{FlowAdd, FlowEntry, FlowReplace};
        let mut c = control();
        let port = c.plan.load().ports[0].name.clone();
        let add = |m: &str, a: &str| {
            Command::FlowAdd(FlowAdd { port: port.clone(), priority: Some(10), matches: m.into(), actions: a.into() })
        };
        let v = ok(&mut c, add("tcp,tp_dst=5201", "drop"));
        let id = v["added"]["id"].as_u64().unwrap() as u32;
        assert_eq!(id, crate::flows::API_FIRST);
        assert_eq!(v["added"]["match"], "tcp,tp_dst=5201");
        assert!(c.plan.load().flows.is_some(), "published with the plan");
        // The workers' counts show under the rule.
        c.counters[0].rules[id as usize].packets.add(3);
        c.counters[0].rules[id as usize].bytes.add(180);
        let v = ok(&mut c, Command::FlowList);
        assert_eq!((v["count"].as_u64(), v["flows"][0]["packets"].as_u64()), (Some(1), Some(3)));
        // Bad requests name the field, and change nothing.
        let e = c.execute(add("tp_dst=1", "drop")).unwrap_err();
        assert!(e.status == 400 && e.message.starts_with("match: tp_src and tp_dst need"), "{e}");
        let e = c.execute(add("", "output:nowhere")).unwrap_err();
        assert!(e.message.contains("no port named \"nowhere\""), "{e}");
        assert_eq!(ok(&mut c, Command::FlowList)["count"], 1);
        // Delete, then the id's next rule counts from zero.
        assert_eq!(ok(&mut c, Command::FlowDelete(id))["removed"], id);
        assert_eq!(c.execute(Command::FlowDelete(id)).unwrap_err().status, 404);
        assert!(c.plan.load().flows.is_none());
        let v = ok(&mut c, add("udp", "allow"));
        assert_eq!((v["added"]["id"].as_u64(), v["added"]["packets"].as_u64()), (Some(id as u64), Some(0)));
        // Replace swaps the whole table in one plan.
        let rules = FlowReplace {
            rules: vec![
                FlowEntry { priority: None, matches: "arp".into(), actions: "allow".into() },
                FlowEntry { priority: Some(1), matches: "".into(), actions: "drop".into() },
            ],
        };
        let v = ok(&mut c, Command::FlowReplace { port: port.clone(), rules });
        assert_eq!(v["ids"].as_array().map(|a| a.len()), Some(2));
        let v = ok(&mut c, Command::FlowList);
        assert_eq!(v["count"], 2);
        assert_eq!(v["flows"][0]["priority"], 32768);
        let bad = FlowReplace {
            rules: vec![FlowEntry { priority: None, matches: "colour=red".into(), actions: "drop".into() }],
        };
        let e = c.execute(Command::FlowReplace { port, rules: bad }).unwrap_err();
        assert!(e.message.starts_with("rules[0].match: unknown match field"), "{e}");
        assert_eq!(ok(&mut c, Command::FlowList)["count"], 2, "a refused replace keeps the table");
    }
}
