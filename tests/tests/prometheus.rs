//! Prometheus against the real switch: `promtool check metrics` on what
//! `/metrics` serves, and a real Prometheus server (Debian's, started here
//! on loopback) scraping xvs on AF_XDP under traffic, whose `rate()` must
//! agree with what the sending host's kernel counted.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use xvs_tests::netns::{poll, serial, skip_unless_root, Background, PortMode, Topology, Xvs, XvsOptions};
use xvs_tests::{free_port, http_get};

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus server in the root namespace, killed when dropped.
struct Prometheus {
    child: Child,
    addr: String,
}

impl Prometheus {
    fn start(dir: &std::path::Path, target: &str) -> Prometheus {
        let addr = format!("127.0.0.1:{}", free_port());
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: xvs\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus (scripts/install-deps.sh installs it)");
        Prometheus { child, addr }
    }

    /// An instant query's first value, at `at` (seconds since the epoch).
    fn query(&self, expr: &str, at: f64) -> Option<f64> {
        let (status, body) =
            http_get(&self.addr, &format!("/api/v1/query?query={}&time={at:.3}", percent_encode(expr)));
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn epoch_secs() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs_f64()
}

fn tx_packets(h: &xvs_tests::netns::Host) -> u64 {
    h.run_ok(&["cat", "/sys/class/net/eth0/statistics/tx_packets"]).trim().parse().unwrap()
}

#[test]
fn prometheus_scrapes_the_switch_under_traffic() {
    if skip_unless_root("prometheus_scrapes_the_switch_under_traffic") {
        return;
    }
    let _serial = serial();
    let t0 = Instant::now();
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.9.0.1/24"))
        .host("h2", PortMode::Access(10), Some("10.9.0.2/24"))
        .build();
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    let metrics = format!("127.0.0.1:{}", free_port());
    let control_extra = format!("metrics_listen = \"{metrics}\"\n");
    let opts = XvsOptions { idle_backoff: false, control_extra, ..XvsOptions::default() };
    let xvs = Xvs::start(&topo, &opts);
    assert!(xvs.log_text().contains(&format!("metrics on http://{metrics}/metrics")), "{}", xvs.log_text());
    let (n, out) = h1.ping(h2.ip(), 3, &["-i", "0.2"]);
    assert_eq!(n, 3, "{out}");

    // The exposition format, checked by Prometheus' own linter.
    let (status, text) = http_get(&metrics, "/metrics");
    assert_eq!(status, 200, "{text}");
    let scrape = topo.dir().join("metrics.txt");
    std::fs::write(&scrape, &text).unwrap();
    let lint = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&scrape).unwrap())
        .output()
        .expect("promtool (scripts/install-deps.sh installs prometheus)");
    assert!(
        lint.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    assert!(text.contains("xvs_port_receive_packets_total{port=\"h1\"}"), "{text}");
    // docs/metrics.md lists exactly what the switch exports.
    let exported: BTreeSet<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).collect();
    let page = std::fs::read_to_string(xvs_tests::repo_root().join("docs/metrics.md")).unwrap();
    let documented: BTreeSet<&str> =
        page.lines().filter(|l| l.starts_with("| `xvs_")).filter_map(|l| l.split('`').nth(1)).collect();
    let undocumented: Vec<_> = exported.difference(&documented).collect();
    // Per-VNI series exist only with an overlay, and per-rule ones only
    // with flow rules, which this switch has not.
    let missing: Vec<_> = documented
        .difference(&exported)
        .filter(|m| !m.starts_with("xvs_vni_") && !m.starts_with("xvs_flow_rule_"))
        .collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "not in docs/metrics.md: {undocumented:?}; documented but not exported: {missing:?}"
    );

    // A real server scrapes every second while h1 sends 100 pings/s.
    let prom = Prometheus::start(topo.dir(), &metrics);
    let up = poll(Duration::from_secs(30), Duration::from_millis(500), || {
        (prom.query("up{job=\"xvs\"}", epoch_secs()) == Some(1.0)).then_some(())
    });
    assert!(
        up.is_some(),
        "prometheus never scraped xvs: {}",
        std::fs::read_to_string(topo.dir().join("prometheus.log")).unwrap_or_default()
    );
    let _ping =
        Background::spawn(h1, &["ping", "-q", "-i", "0.01", "-c", "3000", h2.ip()], &topo.dir().join("ping.log"));
    std::thread::sleep(Duration::from_secs(3));
    // The kernel's count of what h1 sent, over the window the query covers.
    const WINDOW: u64 = 15;
    let (sent0, at0) = (tx_packets(h1), epoch_secs());
    std::thread::sleep(Duration::from_secs(WINDOW));
    let (sent1, at1) = (tx_packets(h1), epoch_secs());
    let sent_rate = (sent1 - sent0) as f64 / (at1 - at0);
    // Let the last scrape of the window land before asking.
    std::thread::sleep(Duration::from_secs(2));
    let expr = format!("rate(xvs_port_receive_packets_total{{port=\"h1\"}}[{WINDOW}s])");
    let rate = prom.query(&expr, at1).unwrap_or_else(|| panic!("no answer to {expr}"));
    let ratio = rate / sent_rate;
    eprintln!(
        "prometheus_scrapes_the_switch_under_traffic: rate() {rate:.1}/s, h1 sent {sent_rate:.1}/s (ratio {ratio:.3}), {:.1} s in all",
        t0.elapsed().as_secs_f64()
    );
    assert!(sent_rate > 50.0, "h1 sent only {sent_rate:.1} packets/s");
    assert!((0.9..=1.1).contains(&ratio), "{expr} = {rate:.1}/s but h1 sent {sent_rate:.1}/s");
    // The shipped Grafana dashboard: Prometheus takes every query, and every
    // metric a query names is one xvs exports.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(xvs_tests::repo_root().join("docs/grafana/xvs-dashboard.json")).unwrap(),
    )
    .unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect();
    assert!(exprs.len() >= 10, "{dashboard}");
    for expr in &exprs {
        let names: Vec<&str> =
            expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("xvs_")).collect();
        assert!(!names.is_empty(), "a dashboard query uses no xvs metric: {expr}");
        for n in names {
            assert!(
                exported.contains(n) || documented.contains(n),
                "the dashboard queries {n}, which xvs does not export: {expr}"
            );
        }
        let concrete = expr.replace("$__rate_interval", "5s").replace("$instance", ".*");
        let (status, body) = http_get(&prom.addr, &format!("/api/v1/query?query={}", percent_encode(&concrete)));
        assert_eq!(status, 200, "Prometheus refused a dashboard query: {concrete}\n{body}");
    }
    // Drops by reason are there from zero, per worker.
    let drops = prom.query("sum(xvs_pipeline_drops_total{reason=\"truncated\"})", epoch_secs());
    assert_eq!(drops, Some(0.0));
    drop(xvs);
}
