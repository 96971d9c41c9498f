//! `xvs`: run the switch, talk to a running one, or replay and trace offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hyper::Method;
use xvs_config::Config;
use xvs_control::api::client::{call, with_query};
use xvs_control::cli_view;
use xvs_control::command::{
    EntryType, FdbAdd, FdbDelete, FdbFilter, FdbQuery, FlowAdd, FlowEntry, FlowReplace, TraceRequest,
};
use xvs_control::flows::FlowStore;
use xvs_control::replay::{replay, ReplayInput};
use xvs_control::trace::{parse_hex, trace};

/// A request without a body.
const NO_BODY: Option<&()> = None;

#[derive(Parser)]
#[command(name = "xvs", version, about = "xvs: a poll-mode userspace virtual switch on AF_XDP")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the switch on its AF_XDP ports (needs root).
    Run {
        /// Config file (default: the embedded default config).
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Show or change the forwarding database of a running switch.
    Fdb {
        #[command(subcommand)]
        action: FdbAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// The ARP suppression tables of a running switch.
    Arp {
        #[command(subcommand)]
        action: ArpAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// Show or change the flow rules (ACL, mirror) of a running switch.
    Flow {
        #[command(subcommand)]
        action: FlowAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// List the ports of a running switch.
    Port {
        #[command(subcommand)]
        action: PortAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// The bridges and domains of a running switch.
    Bridge {
        #[command(subcommand)]
        action: BridgeAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// The config a running switch runs on.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// A live view of a running switch: port rates, worker busy share and
    /// burst, growing drops; refreshed every interval.
    Top {
        /// Seconds between refreshes.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Stop after this many refreshes (default: until Ctrl-C).
        #[arg(long)]
        count: Option<u64>,
        #[command(flatten)]
        conn: Conn,
    },
    /// The versions of this CLI and of the running switch.
    Version {
        #[command(flatten)]
        conn: Conn,
    },
    /// VTEPs, their next hops, and the tunnels of a running switch.
    Tunnel {
        #[command(subcommand)]
        action: TunnelAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// Counters of a running switch.
    Stats {
        #[command(flatten)]
        conn: Conn,
    },
    /// Run the pipeline offline over pcap input, one capture per port.
    Replay {
        /// Config file (default: the embedded default config).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// PORT=FILE: frames received on PORT (repeatable).
        #[arg(long = "in", value_name = "PORT=FILE", required = true)]
        inputs: Vec<ReplayInput>,
        /// Where to write one pcap per port and summary.json.
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Show the path one frame takes through the pipeline.
    Trace {
        /// Config file (default: the embedded default config).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Port the frame arrives on.
        #[arg(long)]
        in_port: String,
        /// The frame, in hex.
        #[arg(long, conflicts_with = "pcap", required_unless_present = "pcap")]
        frame: Option<String>,
        /// Take the frame from a capture instead.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Which frame of --pcap (0-based).
        #[arg(long, default_value_t = 0)]
        index: usize,
        /// PORT=FILE captures replayed first, to populate the FDB.
        #[arg(long, value_name = "PORT=FILE", conflicts_with = "live")]
        warmup: Vec<ReplayInput>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Trace through the running switch's current tables (its FDB, its
        /// next hops), on its control thread; the workers are not involved.
        #[arg(long, conflicts_with = "config")]
        live: bool,
        /// With --live: the running switch's control socket.
        #[arg(long, default_value = "/run/xvs/xvs.sock", requires = "live")]
        socket: PathBuf,
    },
    /// Print a shell completion script: `source <(xvs completions bash)`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Check a config file and print it in canonical form.
    Check {
        /// Config file (default: the embedded default config).
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

/// How the CLI reaches a running switch.
#[derive(clap::Args)]
struct Conn {
    /// Control socket of the running switch.
    #[arg(long, global = true, default_value = "/run/xvs/xvs.sock")]
    socket: PathBuf,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum FdbAction {
    /// List entries.
    Show {
        /// Only this bridge.
        #[arg(long)]
        bridge: Option<String>,
        /// Only this VLAN.
        #[arg(long)]
        vlan: Option<u16>,
        /// Only the domain this VNI is bridged to.
        #[arg(long)]
        vni: Option<u32>,
        /// Only this port.
        #[arg(long)]
        port: Option<String>,
        /// Only this MAC.
        #[arg(long)]
        mac: Option<String>,
        /// Only static or only dynamic entries.
        #[arg(long = "type", value_enum)]
        kind: Option<EntryType>,
    },
    /// Add a static entry.
    Add {
        /// Bridge (optional with a single bridge).
        #[arg(long)]
        bridge: Option<String>,
        /// VLAN.
        #[arg(long)]
        vlan: u16,
        /// MAC address.
        #[arg(long)]
        mac: String,
        /// Port.
        #[arg(long)]
        port: String,
    },
    /// Remove an entry.
    Del {
        /// Bridge (optional with a single bridge).
        #[arg(long)]
        bridge: Option<String>,
        /// VLAN.
        #[arg(long)]
        vlan: u16,
        /// MAC address.
        #[arg(long)]
        mac: String,
    },
    /// Remove dynamic entries (all, or of one VLAN and/or port).
    Flush {
        /// Bridge (optional with a single bridge).
        #[arg(long)]
        bridge: Option<String>,
        /// VLAN.
        #[arg(long)]
        vlan: Option<u16>,
        /// The domain this VNI is bridged to.
        #[arg(long)]
        vni: Option<u32>,
        /// Port.
        #[arg(long)]
        port: Option<String>,
    },
    /// Recent MAC moves.
    Moves,
}

#[derive(Subcommand)]
enum ArpAction {
    /// Every IP → MAC binding of the domains with ARP suppression.
    Show,
}

#[derive(Subcommand)]
enum FlowAction {
    /// Every rule with its counters, and the flow cache's hits and misses.
    List,
    /// Add a rule to the ingress table of a port.
    Add {
        /// The port whose received frames the rule sees.
        #[arg(long)]
        port: String,
        /// Higher wins (default 32768).
        #[arg(long)]
        priority: Option<u16>,
        /// The match, like `tcp,tp_dst=22` (default: every frame).
        #[arg(long = "match", default_value = "")]
        matches: String,
        /// The actions, like `drop`, `output:p2` or `mirror:p3,allow`.
        #[arg(long)]
        actions: String,
    },
    /// Remove a rule.
    Del {
        /// Its id (`xvs flow list`).
        id: u32,
    },
    /// Replace the whole ingress table of a port in one step.
    Replace {
        /// The port.
        #[arg(long)]
        port: String,
        /// A rule, as `priority=N match=... actions=...` (repeatable; none
        /// empties the table).
        #[arg(long = "rule")]
        rules: Vec<String>,
    },
}

/// `priority=N match=M actions=A`, in any order; `priority` and `match` may
/// be left out.
fn parse_rule_arg(text: &str) -> Result<FlowEntry, String> {
    let mut e = FlowEntry { priority: None, matches: String::new(), actions: String::new() };
    for part in text.split_whitespace() {
        match part.split_once('=') {
            Some(("priority", v)) => {
                e.priority = Some(v.parse().map_err(|_| format!("--rule {text:?}: priority {v:?} is not 0-65535"))?)
            }
            Some(("match", v)) => e.matches = v.to_string(),
            Some(("actions", v)) => e.actions = v.to_string(),
            _ => return Err(format!("--rule {text:?}: expected priority=N match=... actions=..., found {part:?}")),
        }
    }
    if e.actions.is_empty() {
        return Err(format!("--rule {text:?}: no actions=..."));
    }
    Ok(e)
}

fn flow(conn: &Conn, action: FlowAction) -> Result<(), String> {
    let sock: &Path = &conn.socket;
    match action {
        FlowAction::List => {
            let v = call(sock, Method::GET, "/v1/flows", NO_BODY)?;
            print_result(conn, &v, cli_view::flows_table);
        }
        FlowAction::Add { port, priority, matches, actions } => {
            let v = call(sock, Method::POST, "/v1/flows", Some(&FlowAdd { port, priority, matches, actions }))?;
            print_result(conn, &v, |v| format!("added rule {}\n", v["added"]["id"]));
        }
        FlowAction::Del { id } => {
            let v = call(sock, Method::DELETE, &format!("/v1/flows/{id}"), NO_BODY)?;
            print_result(conn, &v, |v| format!("removed rule {}\n", v["removed"]));
        }
        FlowAction::Replace { port, rules } => {
            let rules = FlowReplace { rules: rules.iter().map(|r| parse_rule_arg(r)).collect::<Result<_, _>>()? };
            let v = call(sock, Method::PUT, &format!("/v1/flows/ingress/{port}"), Some(&rules))?;
            print_result(conn, &v, |v| format!("{}: rules {}\n", v["table"].as_str().unwrap_or(""), v["ids"]));
        }
    }
    Ok(())
}

#[derive(Subcommand)]
enum PortAction {
    /// Ports, their VLAN modes and counters.
    List,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print it in canonical form (what `xvs check` prints for a file).
    Show,
    /// Re-read the file `xvs run -c` was given and apply it without
    /// restarting the workers (as SIGHUP does); a change of ports, VLANs,
    /// VNIs or start-up settings is refused and needs a restart.
    Reload,
}

#[derive(Subcommand)]
enum BridgeAction {
    /// Bridges, their VLANs and VNIs, member ports and MAC counts.
    List,
}

#[derive(Subcommand)]
enum TunnelAction {
    /// VTEPs with their next hops' ARP state, then one line per tunnel (VNI
    /// and remote VTEP) with its counters.
    List,
}

fn print_result(conn: &Conn, value: &serde_json::Value, table: impl Fn(&serde_json::Value) -> String) {
    if conn.json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        print!("{}", table(value));
    }
}

fn fdb(conn: &Conn, action: FdbAction) -> Result<(), String> {
    let sock: &Path = &conn.socket;
    match action {
        FdbAction::Show { bridge, vlan, vni, port, mac, kind } => {
            let query = FdbQuery { bridge, vlan, vni, port, mac, kind };
            let v = call(sock, Method::GET, &with_query("/v1/fdb", &query)?, NO_BODY)?;
            print_result(conn, &v, cli_view::fdb_table);
        }
        FdbAction::Add { bridge, vlan, mac, port } => {
            let v = call(sock, Method::POST, "/v1/fdb", Some(&FdbAdd { bridge, vlan, mac, port }))?;
            print_result(conn, &v, |v| {
                format!(
                    "added {} on {} in {}\n",
                    v["added"]["mac"].as_str().unwrap_or(""),
                    v["added"]["port"].as_str().unwrap_or(""),
                    v["added"]["domain"].as_str().unwrap_or("")
                )
            });
        }
        FdbAction::Del { bridge, vlan, mac } => {
            let target = with_query("/v1/fdb", &FdbDelete { bridge, vlan, mac })?;
            let v = call(sock, Method::DELETE, &target, NO_BODY)?;
            print_result(conn, &v, |v| format!("removed {}\n", v["removed"].as_str().unwrap_or("")));
        }
        FdbAction::Flush { bridge, vlan, vni, port } => {
            let v = call(sock, Method::POST, "/v1/fdb/flush", Some(&FdbFilter { bridge, vlan, vni, port }))?;
            print_result(conn, &v, |v| format!("flushed {} entries\n", v["flushed"]));
        }
        FdbAction::Moves => {
            let v = call(sock, Method::GET, "/v1/fdb/moves", NO_BODY)?;
            print_result(conn, &v, cli_view::moves_table);
        }
    }
    Ok(())
}

/// `xvs top`: redraws the view every `interval` seconds.
fn top(conn: &Conn, interval: f64, count: Option<u64>) -> Result<(), String> {
    if !(0.1..=3600.0).contains(&interval) {
        return Err(format!("--interval {interval}: give 0.1 to 3600 seconds"));
    }
    let mut prev = call(&conn.socket, Method::GET, "/v1/stats", NO_BODY)?;
    let mut at = std::time::Instant::now();
    for _ in 0..count.unwrap_or(u64::MAX) {
        std::thread::sleep(std::time::Duration::from_secs_f64(interval));
        let cur = call(&conn.socket, Method::GET, "/v1/stats", NO_BODY)?;
        let now = std::time::Instant::now();
        // Home and clear, as top(1) does, so the view redraws in place.
        print!("\x1b[H\x1b[2J{}", cli_view::top_view(&prev, &cur, (now - at).as_secs_f64()));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        (prev, at) = (cur, now);
    }
    Ok(())
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).format_target(false).init();
}

fn load_config(path: &Option<PathBuf>) -> Result<Config, String> {
    match path {
        Some(p) => Config::load(p).map_err(|e| e.to_string()),
        None => Ok(Config::embedded_default()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xvs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Run { config: path } => {
            init_logging();
            let config = load_config(&path)?;
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("signal handler: {e}"))?;
            }
            let source = path.as_deref();
            xvs_control::daemon::run(&config, source, stop, || {}).map_err(|e| e.to_string())
        }
        Command::Fdb { action, conn } => fdb(&conn, action),
        Command::Flow { action, conn } => flow(&conn, action),
        Command::Arp { action: ArpAction::Show, conn } => {
            let v = call(&conn.socket, Method::GET, "/v1/arp", NO_BODY)?;
            print_result(&conn, &v, cli_view::arp_table);
            Ok(())
        }
        Command::Port { action: PortAction::List, conn } => {
            let v = call(&conn.socket, Method::GET, "/v1/ports", NO_BODY)?;
            print_result(&conn, &v, cli_view::ports_table);
            Ok(())
        }
        Command::Bridge { action: BridgeAction::List, conn } => {
            let v = call(&conn.socket, Method::GET, "/v1/bridges", NO_BODY)?;
            print_result(&conn, &v, cli_view::bridges_table);
            Ok(())
        }
        Command::Config { action: ConfigAction::Reload, conn } => {
            let v = call(&conn.socket, Method::POST, "/v1/config/reload", NO_BODY)?;
            print_result(&conn, &v, |v| match v["reloaded"].as_bool() {
                Some(true) => {
                    format!("reloaded: {} static entries added, {} removed\n", v["static_added"], v["static_removed"])
                }
                _ => format!("not reloaded: {}\n", v["why"].as_str().unwrap_or("")),
            });
            Ok(())
        }
        Command::Config { action: ConfigAction::Show, conn } => {
            let v = call(&conn.socket, Method::GET, "/v1/config", NO_BODY)?;
            print_result(&conn, &v, |v| v["toml"].as_str().unwrap_or_default().to_string());
            Ok(())
        }
        Command::Top { interval, count, conn } => top(&conn, interval, count),
        Command::Version { conn } => {
            let v = call(&conn.socket, Method::GET, "/v1/version", NO_BODY)?;
            let both = serde_json::json!({ "cli": env!("CARGO_PKG_VERSION"), "switch": v });
            print_result(&conn, &both, |b| {
                format!(
                    "xvs {} (CLI)\nxvs {} (running for {} s)\n",
                    b["cli"].as_str().unwrap_or(""),
                    b["switch"]["version"].as_str().unwrap_or("?"),
                    b["switch"]["uptime_secs"]
                )
            });
            Ok(())
        }
        Command::Tunnel { action: TunnelAction::List, conn } => {
            let v = call(&conn.socket, Method::GET, "/v1/tunnels", NO_BODY)?;
            print_result(&conn, &v, cli_view::tunnels_table);
            Ok(())
        }
        Command::Stats { conn } => {
            let v = call(&conn.socket, Method::GET, "/v1/stats", NO_BODY)?;
            print_result(&conn, &v, cli_view::stats_text);
            Ok(())
        }
        Command::Replay { config, inputs, out_dir } => {
            let config = load_config(&config)?;
            let summary = replay(&config, &inputs, &out_dir).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
            Ok(())
        }
        Command::Trace { config, in_port, frame, pcap, index, warmup, json, live, socket } => {
            let bytes = match (frame, pcap) {
                (Some(hex), _) => parse_hex(&hex)?,
                (None, Some(path)) => {
                    let frames = xvs_control::pcapio::read_capture(&path).map_err(|e| e.to_string())?;
                    let n = frames.len();
                    frames
                        .into_iter()
                        .nth(index)
                        .ok_or_else(|| format!("{}: has {n} frame(s), no index {index}", path.display()))?
                        .data
                }
                (None, None) => return Err("give --frame HEX or --pcap FILE".into()),
            };
            let (lines, value) = if live {
                let request = TraceRequest { in_port, frame: xvs_control::trace::hex(&bytes) };
                let v = call(&socket, Method::POST, "/v1/trace", Some(&request))?;
                let lines = v["lines"].as_array().into_iter().flatten().filter_map(|l| l.as_str().map(str::to_string));
                (lines.collect(), v)
            } else {
                let config = load_config(&config)?;
                let report = trace(&config, &in_port, &bytes, &warmup).map_err(|e| e.to_string())?;
                (report.lines, report.json)
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else {
                for l in &lines {
                    println!("{l}");
                }
            }
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "xvs",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Check { config } => {
            let config = load_config(&config)?;
            // The rules also compile against the ports (no tunnel port as a
            // mirror or output), as `xvs run` will.
            let plan = switch_core::bridge::ForwardingPlan::compile(&config.spec).map_err(|e| e.to_string())?;
            FlowStore::from_config(&config.flows).apply(&plan).map_err(|e| format!("flow {e}"))?;
            print!("{}", config.to_toml_string());
            Ok(())
        }
    }
}
