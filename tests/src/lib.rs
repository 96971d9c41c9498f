//! Helpers shared by the functional tests: frame builders, locating the
//! `xvs` binary, and golden-file comparison.

use std::path::{Path, PathBuf};
use std::process::Command;

use switch_core::MacAddr;

pub mod netns;

/// A locally administered unicast MAC `02:00:00:00:hi:lo`.
pub fn mac(n: u16) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, (n >> 8) as u8, n as u8])
}

/// An untagged Ethernet frame padded to 60 bytes.
pub fn eth(dst: MacAddr, src: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// Inserts a tag (TPID, TCI) after the addresses of `frame`.
pub fn push_tag(mut frame: Vec<u8>, tpid: u16, tci: u16) -> Vec<u8> {
    let t = tpid.to_be_bytes();
    let c = tci.to_be_bytes();
    frame.splice(12..12, [t[0], t[1], c[0], c[1]]);
    frame
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Path of the `xvs` binary of this build. The first call in a test process
/// runs `cargo build` for it (a no-op when it is up to date), because
/// `cargo test -p xvs-tests` alone does not rebuild another package's binary
/// and a stale one would test old code.
pub fn xvs_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            // Test executables live in target/<profile>/deps/.
            let exe = std::env::current_exe().unwrap_or_default();
            let profile_dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
            let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cmd.args(["build", "--quiet", "-p", "xvs-control", "--bin", "xvs"]).current_dir(repo_root());
            if profile_dir.ends_with("release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(status.success(), "cargo build of xvs failed");
            profile_dir.join("xvs")
        })
        .clone()
}

/// A free loopback TCP port: bound, read and released. The tests that use
/// one run serially, so nothing takes it in between.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xvs-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// Compares `actual` with the golden file `tests/golden/<name>`; with
/// `XVS_BLESS=1` in the environment, rewrites the golden file instead.
pub fn check_golden(name: &str, actual: &str) {
    let path = repo_root().join("tests/golden").join(name);
    if std::env::var_os("XVS_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).ok();
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {}; run with XVS_BLESS=1", path.display()));
    assert_eq!(actual, expected, "golden {} differs (rerun with XVS_BLESS=1 after checking the diff)", path.display());
}

/// True if `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map(|o| o.status.success()).unwrap_or(false)
}

/// A GET over HTTP/1.1 to `addr` on loopback: (status, body).
pub fn http_get(addr: &str, target: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = match std::net::TcpStream::connect(addr) {
        Ok(s) => s,
        Err(_) => return (0, String::new()),
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let _ = write!(s, "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    // Prometheus answers its API in chunks.
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.into() };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
