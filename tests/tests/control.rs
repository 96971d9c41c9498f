//! Who may reach a running switch's control API: root on the Unix socket,
//! a caller with the token on the loopback TCP listener, and nobody else.
//! A real unprivileged user (`nobody`, through `runuser`) tries both.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use xvs_tests::netns::{output, serial, skip_unless_root, PortMode, Topology, Xvs, XvsOptions};
use xvs_tests::xvs_bin;

const TOKEN: &str = "9b1c6f0e4a7d2358c0ffee0123456789";

/// A free loopback TCP port (bound and released; the tests run serially).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
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
    let topo = Topology::builder()
        .host("h1", PortMode::Access(10), Some("10.9.0.1/24"))
        .host("h2", PortMode::Access(10), Some("10.9.0.2/24"))
        .build();
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
