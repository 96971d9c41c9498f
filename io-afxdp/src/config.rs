//! Configuration of a port set: which interfaces and queues, ring sizes, and
//! how hard to try for zero-copy, native XDP and a shared UMEM.

use std::time::Duration;

use switch_core::pipeline::MAX_BURST;
use switch_core::types::PortId;

use crate::error::Error;
use crate::umem::{HugePages, FRAME_SIZE};
use crate::xdp::XdpMode;

/// One switch port backed by an interface, and the queues to open on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Interface name (in the calling thread's network namespace).
    pub iface: String,
    /// The switch port frames from this interface carry as `in_port`, and
    /// that `PortTx::send` addresses.
    pub port: PortId,
    /// Queue ids to bind; each gets its own AF_XDP socket.
    pub queues: Vec<u32>,
}

impl PortSpec {
    /// A port with a single queue 0.
    pub fn new(iface: impl Into<String>, port: PortId) -> PortSpec {
        PortSpec { iface: iface.into(), port, queues: vec![0] }
    }
}

/// Zero-copy policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ZeroCopy {
    /// Try zero-copy, fall back to copy mode when the driver refuses it
    /// (veth always does: EOPNOTSUPP).
    #[default]
    Try,
    /// Copy mode only.
    Off,
    /// Zero-copy or fail.
    Require,
}

/// How UMEMs are laid out over the ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UmemSharing {
    /// One UMEM for every socket, so forwarding never copies. A port whose
    /// sockets cannot join it (the kernel makes secondary sockets inherit the
    /// first socket's copy/zero-copy mode, which another driver may not
    /// support) falls back to a UMEM of its own, and frames crossing to or
    /// from it are copied and counted in `umem_copies`.
    #[default]
    Shared,
    /// One UMEM per port, always. Exercises the copy path; useful only for
    /// testing and comparison.
    PerPort,
}

/// Port set configuration. `Default` gives the values used by `xvs run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSetConfig {
    /// RX ring descriptors per socket (power of two).
    pub rx_ring: u32,
    /// TX ring descriptors per socket (power of two).
    pub tx_ring: u32,
    /// Fill ring entries per (interface, queue) (power of two).
    pub fill_ring: u32,
    /// Completion ring entries per (interface, queue) (power of two, at
    /// least `tx_ring`, so completions never hold transmission back).
    pub comp_ring: u32,
    /// Frames taken from an RX ring per burst (1..=MAX_BURST).
    pub batch_size: usize,
    /// UMEM chunks per (interface, queue). Must cover the fill ring plus
    /// frames in flight on TX and in the pipeline.
    pub frames_per_queue: u32,
    /// XDP hook for the redirect program.
    pub xdp_mode: XdpMode,
    /// Zero-copy policy.
    pub zero_copy: ZeroCopy,
    /// Huge page policy for the UMEM.
    pub hugepages: HugePages,
    /// UMEM layout.
    pub umem_sharing: UmemSharing,
    /// When a bind fails with EBUSY and we have no socket on that interface
    /// yet, detach whatever XDP program is attached (a leftover from a
    /// previous run) before retrying.
    pub detach_stale_xdp: bool,
    /// Extra bind attempts after EBUSY.
    pub bind_retries: u32,
    /// Delay before the first retry; doubles on each further one.
    pub bind_retry_delay: Duration,
    /// Most `sendto` kicks per TX queue per flush. Copy mode transmits at
    /// most 32 frames per kick, so this bounds the kernel work one flush does
    /// (8 × 32 = 256 frames) while anything left is kicked on the next loop.
    pub tx_kick_budget: u32,
}

impl Default for PortSetConfig {
    fn default() -> Self {
        PortSetConfig {
            rx_ring: 2048,
            tx_ring: 2048,
            fill_ring: 2048,
            comp_ring: 2048,
            batch_size: 32,
            frames_per_queue: 4096,
            xdp_mode: XdpMode::Auto,
            zero_copy: ZeroCopy::Try,
            hugepages: HugePages::Auto,
            umem_sharing: UmemSharing::Shared,
            detach_stale_xdp: true,
            bind_retries: 4,
            bind_retry_delay: Duration::from_millis(50),
            tx_kick_budget: 8,
        }
    }
}

impl PortSetConfig {
    /// Checks the configuration, naming the first bad field.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, v) in [
            ("rx_ring", self.rx_ring),
            ("tx_ring", self.tx_ring),
            ("fill_ring", self.fill_ring),
            ("comp_ring", self.comp_ring),
        ] {
            if !v.is_power_of_two() || !(64..=32768).contains(&v) {
                return Err(Error::Config(format!("{name} = {v}: must be a power of two in 64..=32768")));
            }
        }
        if self.batch_size == 0 || self.batch_size > MAX_BURST {
            return Err(Error::Config(format!("batch_size = {}: must be 1..={MAX_BURST}", self.batch_size)));
        }
        if self.comp_ring < self.tx_ring {
            return Err(Error::Config(format!(
                "comp_ring = {} is smaller than tx_ring = {}: the kernel would hold TX back waiting for completion slots",
                self.comp_ring, self.tx_ring
            )));
        }
        let min_frames = self.fill_ring as u64 + 2 * MAX_BURST as u64;
        if (self.frames_per_queue as u64) < min_frames {
            return Err(Error::Config(format!(
                "frames_per_queue = {} must be at least fill_ring + {} = {min_frames}",
                self.frames_per_queue,
                2 * MAX_BURST
            )));
        }
        if self.frames_per_queue as u64 * FRAME_SIZE as u64 > 1 << 34 {
            return Err(Error::Config(format!(
                "frames_per_queue = {} needs more than 16 GiB per queue",
                self.frames_per_queue
            )));
        }
        if self.tx_kick_budget == 0 {
            return Err(Error::Config("tx_kick_budget must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        PortSetConfig::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = PortSetConfig { tx_ring: 1000, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("tx_ring"), "{e}");
        let e = PortSetConfig { batch_size: MAX_BURST + 1, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("batch_size"), "{e}");
        let e = PortSetConfig { frames_per_queue: 2048, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("frames_per_queue"), "{e}");
        let e = PortSetConfig { comp_ring: 1024, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("comp_ring"), "{e}");
    }
}
