//! Who may reach a running switch's control API: root on the Unix socket,
//! a caller with the token on the loopback TCP listener, and nobody else.
//! A real unprivileged user (`nobody`, through `runuser`) tries both.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use std::time::Duration;

use xvs_tests::netns::{output, poll, serial, skip_unless_root, Background, PortMode, Topology, Xvs, XvsOptions};
use xvs_tests::{free_port, xvs_bin};

const TOKEN: &str = "9b1c6f0e4a7d2358c0ffee0123456789";

/// h1 and h2 in VLAN 10.
fn two_hosts() -> Topology {
    Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.9.0.1/24"))
        .host("h2", PortMode::Access(10), Some("10.9.0.2/24"))
        .build()
}

/// Runs `args` as user `nobody`.
fn as_nobody(args: &[&str]) -> std::process::Output {
    output(Command::new("runuser").args(["-u", "nobody", "--"]).args(args))
}

/// One GET of `/v1/health` on loopback `port` through bash's /dev/tcp, as
/// `nobody`, with `auth` as the Authorization header: the status line.
fn health_as_nobody(port: u16, auth: Option<&str>) -> String {
    let auth = auth.map(|a| format!("Authorization: {a}\\r\\n")).unwrap_or_default();
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET /v1/health HTTP/1.1\\r\\nHost: x\\r\\n{auth}Connection: close\\r\\n\\r\\n' >&3 && head -n1 <&3"
    );
    let out = as_nobody(&["bash", "-c", &script]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A copy of the xvs binary that `nobody` may execute (the build tree may
/// not be reachable for other users).
fn public_xvs(dir: &Path) -> String {
    let dst = dir.join("xvs");
    std::fs::copy(xvs_bin(), &dst).expect("copy xvs");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).unwrap();
    dst.display().to_string()
}

#[test]
fn an_unprivileged_user_cannot_reach_the_api() {
    if skip_unless_root("an_unprivileged_user_cannot_reach_the_api") {
        return;
    }
    let _serial = serial();
    let topo = two_hosts();
    let token_file = topo.dir().join("api-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let control_extra = format!("api_listen = \"127.0.0.1:{port}\"\napi_token_file = \"{}\"\n", token_file.display());
    let xvs = Xvs::start(&topo, &XvsOptions { control_extra, ..XvsOptions::default() });
    let bin = public_xvs(topo.dir());

    // Positive controls: nobody can run the binary, and root reaches the API.
    let v = as_nobody(&[&bin, "--version"]);
    assert!(v.status.success(), "nobody cannot run {bin}: {}", String::from_utf8_lossy(&v.stderr));
    assert!(xvs.cli(&["stats"]).status.success());
    assert!(health_as_nobody(port, Some(&format!("Bearer {TOKEN}"))).starts_with("HTTP/1.1 200"));

    // The Unix socket is root's: nobody's CLI is refused, with a clear error.
    let socket = xvs.socket.display().to_string();
    let out = as_nobody(&[&bin, "stats", "--socket", &socket]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody reached the control socket: {}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains("cannot reach xvs") && err.contains("Permission denied"), "{err}");
    // Nor can nobody read the token.
    assert!(!as_nobody(&["cat", &token_file.display().to_string()]).status.success());
    // The TCP listener: 401 without the token or with a wrong one.
    for auth in [None, Some("Bearer guess"), Some("Bearer ")] {
        let status = health_as_nobody(port, auth);
        assert!(status.starts_with("HTTP/1.1 401"), "{auth:?}: {status:?}");
    }
}

#[test]
fn a_token_file_others_may_read_is_refused() {
    let dir = xvs_tests::scratch_dir("token-mode");
    let token_file = dir.join("api-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = dir.join("xvs.toml");
    std::fs::write(
        &config,
        format!(
            "[[port]]\nname = \"p1\"\ninterface = \"xvs-none0\"\nmode = \"access\"\nvlan = 10\n\n[control]\nsocket = \"{}\"\napi_listen = \"127.0.0.1:1\"\napi_token_file = \"{}\"\n",
            dir.join("s.sock").display(),
            token_file.display()
        ),
    )
    .unwrap();
    let out = output(Command::new(xvs_bin()).args(["run", "-c"]).arg(&config));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("its mode is 644, so others may read it; chmod 600 it"), "{err}");
    // A short token is refused as well.
    std::fs::write(&token_file, "short\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = output(Command::new(xvs_bin()).args(["run", "-c"]).arg(&config));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shorter than 16 characters"), "{err}");
}

/// The CLI against a running switch: listings with their filters, errors
/// with a non-zero exit, and a clear message once the switch is gone.
#[test]
fn the_cli_lists_filters_and_fails_clearly() {
    if skip_unless_root("the_cli_lists_filters_and_fails_clearly") {
        return;
    }
    let _serial = serial();
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.9.0.1/24"))
        .host("h2", PortMode::Access(10), Some("10.9.0.2/24"))
        .host("h3", PortMode::Access(20), Some("10.9.0.3/24"))
        .build();
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    let mut xvs = Xvs::start(&topo, &XvsOptions::default());
    let (n, out) = h1.ping(h2.ip(), 2, &["-i", "0.2"]);
    assert_eq!(n, 2, "{out}");
    let out = xvs.cli(&["fdb", "add", "--vlan", "20", "--mac", "02:00:00:00:aa:01", "--port", "h3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let count = |args: &[&str]| xvs.json(&[&["fdb", "show"], args].concat())["count"].as_u64();
    assert_eq!(count(&[]), Some(3));
    assert_eq!(count(&["--type", "static"]), Some(1));
    assert_eq!(count(&["--type", "dynamic", "--vlan", "10"]), Some(2));
    assert_eq!(count(&["--mac", &h1.mac]), Some(1));

    let bridges = xvs.json(&["bridge", "list"]);
    let domains = bridges["bridges"][0]["domains"].as_array().unwrap();
    let vlan = |v: u64| domains.iter().find(|d| d["vlan"] == v).unwrap_or_else(|| panic!("{bridges}"));
    assert_eq!((vlan(10)["fdb_entries"].as_u64(), vlan(20)["static_entries"].as_u64()), (Some(2), Some(1)));
    let table = String::from_utf8_lossy(&xvs.cli(&["bridge", "list"]).stdout).into_owned();
    assert!(table.contains("h1 h2") && table.contains("2 (0 static)"), "{table}");
    let version = String::from_utf8_lossy(&xvs.cli(&["version"]).stdout).into_owned();
    assert!(version.contains(&format!("xvs {} (running for", env!("CARGO_PKG_VERSION"))), "{version}");

    // A live trace sees what the switch learned: h1 -> h2 goes to h2 alone,
    // and a frame from h1 to a MAC nobody has floods VLAN 10.
    let frame = |dst: &str| format!("{}{}0800{}", dst.replace(':', ""), h1.mac.replace(':', ""), "00".repeat(46));
    let traced = |dst: &str| {
        let out = xvs.cli(&["trace", "--live", "--in-port", "h1", "--frame", &frame(dst)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let to_h2 = traced(&h2.mac);
    assert!(to_h2.contains("Verdict: forwarded to h2"), "{to_h2}");
    let unknown = traced("02:00:00:00:77:77");
    assert!(unknown.contains("Verdict: flooded to 1 port(s): h2"), "{unknown}");
    let out = xvs.cli(&["trace", "--live", "--in-port", "h7", "--frame", &frame(&h2.mac)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(r#"xvs: in_port: no port named "h7""#));

    // The running config is the file's canonical form.
    let shown = xvs.cli(&["config", "show"]);
    let checked = output(Command::new(xvs_bin()).args(["check", "-c"]).arg(&xvs.config));
    assert!(shown.status.success() && checked.status.success());
    assert_eq!(String::from_utf8_lossy(&shown.stdout), String::from_utf8_lossy(&checked.stdout));

    // A wrong request: exit 1 and the API's message, naming the field.
    let out = xvs.cli(&["fdb", "show", "--port", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), r#"xvs: port: no port named "nope""#);
    let out = xvs.cli(&["fdb", "show", "--vni", "100"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "xvs: vni: no VNI 100 is configured");

    // The switch gone: exit 1 and what to check.
    xvs.stop();
    let out = xvs.cli(&["stats"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("cannot reach xvs at") && err.contains("is `xvs run` running?"), "{err}");
}

/// `xvs top` in a real terminal (tmux) while h1 pings h2 every 10 ms: the
/// view redraws with h1's rate and the worker's busy share.
#[test]
fn top_shows_live_rates_in_a_terminal() {
    if skip_unless_root("top_shows_live_rates_in_a_terminal") {
        return;
    }
    let _serial = serial();
    let topo = two_hosts();
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, ..XvsOptions::default() });
    let _ping = Background::spawn(h1, &["ping", "-q", "-i", "0.01", h2.ip()], &topo.dir().join("ping.log"));
    let session = format!("xvs-top-{}", std::process::id());
    let top = format!("{} top --socket {} --interval 0.5", xvs_bin().display(), xvs.socket.display());
    let started =
        output(Command::new("tmux").args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "40", &top]));
    assert!(started.status.success(), "tmux: {}", String::from_utf8_lossy(&started.stderr));
    // Until the view shows h1 receiving the pings (or 10 s pass).
    let screen = poll(Duration::from_secs(10), Duration::from_millis(500), || {
        let pane = output(Command::new("tmux").args(["capture-pane", "-p", "-t", &session]));
        let text = String::from_utf8_lossy(&pane.stdout).into_owned();
        let h1_pps = text
            .lines()
            .find(|l| l.starts_with("h1 "))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok());
        h1_pps.filter(|&r| r > 30.0).map(|_| text)
    });
    let _ = output(Command::new("tmux").args(["kill-session", "-t", &session]));
    let screen = screen.expect("xvs top never showed h1 receiving ~100 pings/s");
    assert!(screen.starts_with("xvs top: uptime"), "{screen}");
    let worker = screen.lines().find(|l| l.starts_with("0 ")).unwrap_or_else(|| panic!("{screen}"));
    assert!(worker.contains('%'), "no busy share for worker 0: {screen}");
    eprintln!("top_shows_live_rates_in_a_terminal:\n{screen}");
}

/// Hot reload under traffic: `xvs config reload` and SIGHUP apply a changed
/// static entry while h1 pings h2 every 10 ms, and not one ping is lost. A
/// change that adds a port is refused, naming it, and the switch keeps
/// forwarding on the config it runs.
#[test]
fn reload_under_traffic_loses_nothing() {
    if skip_unless_root("reload_under_traffic_loses_nothing") {
        return;
    }
    let _serial = serial();
    let topo = two_hosts();
    let (h1, h2) = (topo.host("h1"), topo.host("h2"));
    let xvs = Xvs::start(&topo, &XvsOptions { idle_backoff: false, ..XvsOptions::default() });
    let (n, out) = h1.ping(h2.ip(), 2, &["-i", "0.2"]);
    assert_eq!(n, 2, "{out}");
    let base = std::fs::read_to_string(&xvs.config).unwrap();
    let with_static = format!("{base}\n[[fdb.static]]\nvlan = 10\nmac = \"02:00:00:00:5a:5a\"\nport = \"h2\"\n");
    let statics = || xvs.json(&["fdb", "show", "--type", "static"])["count"].as_u64();

    let ping_log = topo.dir().join("reload-ping.log");
    let mut ping = Background::spawn(h1, &["ping", "-q", "-i", "0.01", "-c", "400", h2.ip()], &ping_log);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&xvs.config, &with_static).unwrap();
    let out = xvs.cli(&["config", "reload"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "reloaded: 1 static entries added, 0 removed");
    assert_eq!(statics(), Some(1));
    std::thread::sleep(Duration::from_millis(500));
    // SIGHUP takes it out again.
    std::fs::write(&xvs.config, &base).unwrap();
    xvs_tests::netns::signal(xvs.pid().unwrap(), libc::SIGHUP);
    let gone = poll(Duration::from_secs(5), Duration::from_millis(100), || (statics() == Some(0)).then_some(()));
    assert!(gone.is_some(), "SIGHUP did not reload: {}", xvs.log_text());
    assert!(xvs.log_text().contains("SIGHUP: "), "{}", xvs.log_text());
    // A new port needs a restart.
    let new_port =
        format!("{base}\n[[port]]\nname = \"h9\"\ninterface = \"xvs-nothere\"\nmode = \"access\"\nvlan = 10\n");
    std::fs::write(&xvs.config, new_port).unwrap();
    let out = xvs.cli(&["config", "reload"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains(r#"added ["h9"]"#) && err.contains("restart xvs to apply it"), "{err}");

    let status = xvs_tests::netns::wait_timeout(&mut ping.child, Duration::from_secs(20));
    assert!(status.is_some(), "ping did not finish");
    let summary = std::fs::read_to_string(&ping_log).unwrap();
    let received = xvs_tests::netns::parse_received(&summary);
    eprintln!("reload_under_traffic_loses_nothing: {received}/400 pings answered across two reloads");
    assert_eq!(received, 400, "pings lost across the reloads: {summary}");
}
