//! Shell completions from clap_complete, used by a real bash.

use std::process::Command;

/// Sources `xvs completions bash` in bash and asks it to complete `words`
/// (the last one being typed); returns the candidates.
fn complete(words: &[&str]) -> Vec<String> {
    let xvs = env!("CARGO_BIN_EXE_xvs");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <('{xvs}' completions bash) || exit 3\n\
         COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n\
         _xvs xvs '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = quoted.join(" "),
        cword = words.len() - 1,
        line = words.join(" "),
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = Command::new("bash").arg("-c").arg(&script).output().expect("bash");
    assert!(out.status.success(), "bash: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect()
}

#[test]
fn bash_completes_commands_subcommands_and_options() {
    assert_eq!(complete(&["xvs", "fd"]), ["fdb"]);
    let fdb = complete(&["xvs", "fdb", ""]);
    for want in ["show", "add", "del", "flush", "moves", "--socket", "--json"] {
        assert!(fdb.iter().any(|c| c == want), "{want} not offered after `xvs fdb`: {fdb:?}");
    }
    let add = complete(&["xvs", "fdb", "add", "--"]);
    for want in ["--vlan", "--mac", "--port", "--bridge"] {
        assert!(add.iter().any(|c| c == want), "{want} not offered after `xvs fdb add`: {add:?}");
    }
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = Command::new(env!("CARGO_BIN_EXE_xvs")).args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_xvs")).args(["completions", "tcsh"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("possible values"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
