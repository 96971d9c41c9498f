//! `xvs`: run the switch, talk to a running one, or replay and trace offline.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xvs_config::Config;
use xvs_control::replay::{replay, ReplayInput};
use xvs_control::trace::{parse_hex, trace};

#[derive(Parser)]
#[command(name = "xvs", version, about = "xvs: a poll-mode userspace virtual switch on AF_XDP")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        #[arg(long, value_name = "PORT=FILE")]
        warmup: Vec<ReplayInput>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a config file and print it in canonical form.
    Check {
        /// Config file (default: the embedded default config).
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
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
        Command::Replay { config, inputs, out_dir } => {
            let config = load_config(&config)?;
            let summary = replay(&config, &inputs, &out_dir).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
            Ok(())
        }
        Command::Trace { config, in_port, frame, pcap, index, warmup, json } => {
            let config = load_config(&config)?;
            let bytes = match (frame, pcap) {
                (Some(hex), _) => parse_hex(&hex)?,
                (None, Some(path)) => {
                    let frames = xvs_control::pcapio::read_capture(&path).map_err(|e| e.to_string())?;
                    let n = frames.len();
                    frames.into_iter().nth(index).ok_or_else(|| format!("{}: has {n} frame(s), no index {index}", path.display()))?.data
                }
                (None, None) => return Err("give --frame HEX or --pcap FILE".into()),
            };
            let report = trace(&config, &in_port, &bytes, &warmup).map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report.json).unwrap_or_default());
            } else {
                for l in &report.lines {
                    println!("{l}");
                }
            }
            Ok(())
        }
        Command::Check { config } => {
            let config = load_config(&config)?;
            print!("{}", config.to_toml_string());
            Ok(())
        }
    }
}
