//! Reading and writing capture files for `xvs replay` and `xvs trace`.
//!
//! Input may be classic pcap or pcapng (what tcpdump and tshark write by
//! default); output is classic pcap with Ethernet link type, which every
//! tool reads.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::{Block, PcapNgReader};

/// Why a capture could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PcapIoError {
    /// The file could not be opened or created.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a valid pcap/pcapng capture.
    #[error("{path}: not a readable pcap or pcapng file: {detail}")]
    Format {
        /// File.
        path: PathBuf,
        /// Cause.
        detail: String,
    },
}

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// Capture timestamp.
    pub ts: Duration,
    /// Frame bytes.
    pub data: Vec<u8>,
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads every frame of a pcap or pcapng file.
pub fn read_capture(path: &Path) -> Result<Vec<Captured>, PcapIoError> {
    let io_err = |source| PcapIoError::Io { path: path.to_path_buf(), source };
    let fmt_err = |e: pcap_file::PcapError| PcapIoError::Format { path: path.to_path_buf(), detail: e.to_string() };
    let mut file = File::open(path).map_err(io_err)?;
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let mut out = Vec::new();
    if n == 4 && magic == PCAPNG_MAGIC {
        let mut r = PcapNgReader::new(BufReader::new(file)).map_err(fmt_err)?;
        while let Some(block) = r.next_block() {
            match block.map_err(fmt_err)? {
                Block::EnhancedPacket(p) => out.push(Captured { ts: p.timestamp, data: p.data.into_owned() }),
                Block::SimplePacket(p) => out.push(Captured { ts: Duration::ZERO, data: p.data.into_owned() }),
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(BufReader::new(file)).map_err(fmt_err)?;
        while let Some(p) = r.next_packet() {
            let p = p.map_err(fmt_err)?;
            out.push(Captured { ts: p.timestamp, data: p.data.into_owned() });
        }
    }
    Ok(out)
}

/// Writes frames to a classic pcap file (Ethernet link type).
pub fn write_capture(path: &Path, frames: &[Captured]) -> Result<(), PcapIoError> {
    let io_err = |source| PcapIoError::Io { path: path.to_path_buf(), source };
    let fmt_err = |e: pcap_file::PcapError| PcapIoError::Format { path: path.to_path_buf(), detail: e.to_string() };
    let file = File::create(path).map_err(io_err)?;
    let mut w = PcapWriter::new(BufWriter::new(file)).map_err(fmt_err)?;
    for f in frames {
        w.write_packet(&PcapPacket::new(f.ts, f.data.len() as u32, &f.data)).map_err(fmt_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let dir = std::env::temp_dir().join(format!("xvs-pcapio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.pcap");
        let frames = vec![
            Captured { ts: Duration::from_micros(1_500_000), data: vec![1; 60] },
            Captured { ts: Duration::from_micros(2_000_001), data: vec![2; 1514] },
        ];
        write_capture(&p, &frames).unwrap();
        assert_eq!(read_capture(&p).unwrap(), frames);
        std::fs::write(&p, b"not a pcap at all").unwrap();
        assert!(matches!(read_capture(&p), Err(PcapIoError::Format { .. })));
        assert!(matches!(read_capture(&dir.join("missing.pcap")), Err(PcapIoError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
