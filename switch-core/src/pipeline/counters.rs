//! Per-worker counters: single writer, any number of readers.
//!
//! Each worker owns one [`WorkerCounters`] (cache-line aligned, so two
//! workers never write the same line). The worker adds with a relaxed load
//! and store, which on x86 is a plain `add` to memory: no lock prefix, because
//! nobody else writes. The control thread reads with relaxed loads and sums
//! across workers.
//!
//! The `worker_counters!` list below is the one source of the set: the
//! struct, its snapshot, the sum and the exported names all come from it.

use std::sync::atomic::{AtomicU64, Ordering};

use super::DropReason;

/// A single-writer counter.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker may call this.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// Current value, from any thread.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

macro_rules! worker_counters {
    ($( $(#[doc = $doc:literal])* $name:ident, )*) => {
        /// Everything one worker's pipeline counts.
        #[derive(Debug)]
        #[repr(align(128))]
        pub struct WorkerCounters {
            /// Frames dropped, by [`DropReason::index`].
            pub drops: [Counter; DropReason::COUNT],
            $( $(#[doc = $doc])* pub $name: Counter, )*
            /// Per tunnel port, by its index among the tunnels (port id
            /// minus the plan's `first_tunnel`): room for every port id.
            pub tunnels: Box<[TunnelCounters]>,
            /// Per flow rule, by its id: the frames it matched.
            pub rules: Box<[RuleCounters]>,
            /// Per VTEP (by its index in the overlay plan): frames dropped on
            /// its underlay port by the underlay stage, whatever the reason
            /// (an unknown VNI or source as well as a bad inner frame).
            pub vtep_rx_drops: Box<[Counter]>,
        }

        impl Default for WorkerCounters {
            fn default() -> Self {
                WorkerCounters {
                    drops: core::array::from_fn(|_| Counter::default()),
                    $( $name: Counter::default(), )*
                    tunnels: (0..crate::bridge::MAX_PORTS).map(|_| TunnelCounters::default()).collect(),
                    rules: (0..crate::flow::MAX_RULES).map(|_| RuleCounters::default()).collect(),
                    vtep_rx_drops: (0..crate::bridge::MAX_PORTS).map(|_| Counter::default()).collect(),
                }
            }
        }

        impl WorkerCounters {
            /// A plain-value copy, for summing and printing.
            pub fn snapshot(&self) -> CounterSnapshot {
                CounterSnapshot {
                    drops: core::array::from_fn(|i| self.drops[i].get()),
                    $( $name: self.$name.get(), )*
                }
            }
        }

        /// Plain values of a [`WorkerCounters`], summable across workers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct CounterSnapshot {
            /// Frames dropped, by [`DropReason::index`].
            pub drops: [u64; DropReason::COUNT],
            $( $(#[doc = $doc])* pub $name: u64, )*
        }

        impl Default for CounterSnapshot {
            fn default() -> Self {
                CounterSnapshot { drops: [0; DropReason::COUNT], $( $name: 0, )* }
            }
        }

        impl CounterSnapshot {
            /// Number of non-drop counters.
            pub const NAMED: usize = [$(stringify!($name),)*].len();

            /// Adds another worker's values.
            pub fn accumulate(&mut self, o: &CounterSnapshot) {
                for (a, b) in self.drops.iter_mut().zip(o.drops.iter()) {
                    *a += b;
                }
                $( self.$name += o.$name; )*
            }

            /// The non-drop counters' doc comments, in [`Self::named`]'s order.
            pub const HELP: [&'static str; Self::NAMED] = [$( concat!($($doc, "\n",)*), )*];

            /// The non-drop counters as (name, value), for exporters.
            pub fn named(&self) -> [(&'static str, u64); Self::NAMED] {
                [$( (stringify!($name), self.$name), )*]
            }
        }
    };
}

worker_counters! {
    /// Frames received into the pipeline.
    packets,
    /// Batches processed.
    batches,
    /// Frames sent to a single known port.
    forwarded,
    /// Frames flooded (counted once per frame).
    flooded,
    /// Copies made while flooding.
    flood_copies,
    /// Unicast frames flooded because the destination was not learned.
    unknown_unicast,
    /// Learn events queued for the FDB writer.
    learn_events,
    /// Learn events lost because the queue was full.
    learn_queue_full,
    /// Learn-cache resets after an FDB generation change.
    learn_cache_resets,
    /// Frames the underlay stage took (untagged, on a VTEP's port).
    underlay_received,
    /// Inner frames decapsulated from VXLAN.
    decapsulated,
    /// Frames encapsulated towards a remote VTEP.
    encapsulated,
    /// ARP replies and ICMP echo replies sent for a VTEP's address.
    underlay_replies,
    /// Underlay frames for the VTEP itself that need no answer (ARP
    /// replies and announcements).
    underlay_absorbed,
    /// Next-hop MACs learned or changed from ARP.
    neighbor_updates,
    /// Next-hop MACs forgotten: unanswered for the VTEP's
    /// `neighbor_refresh_secs` plus 5 s of requests.
    neighbor_expiries,
    /// ARP requests (IPv6: neighbour solicitations) sent for unresolved next
    /// hops, and for resolved ones due for a refresh.
    arp_requests,
    /// IGMP reports sent for the multicast groups VTEPs joined.
    igmp_reports,
    /// ARP replies and ICMP errors gateways sent to their domains' hosts.
    gateway_replies,
    /// Frames to a gateway with nothing to route or answer (broadcasts
    /// other than ARP for it, ARP replies).
    gateway_absorbed,
    /// Hosts' MACs gateways learned or changed from ARP.
    host_updates,
    /// ICMP "fragmentation needed" answers to packets too big for the
    /// overlay (path MTU discovery).
    pmtu_answers,
    /// Frames of a port with flow rules whose verdict the worker's flow
    /// cache held.
    flow_cache_hits,
    /// Frames of a port with flow rules that the classifier had to look up.
    flow_cache_misses,
    /// Frames a flow rule's `output` action sent instead of switching.
    flow_outputs,
    /// Copies a flow rule's `mirror` action sent.
    mirror_copies,
    /// ARP requests xvs answered for a known host of a domain with ARP
    /// suppression, instead of flooding them.
    arp_suppressed,
    /// ARP requests in such a domain for an address xvs did not know:
    /// flooded as before.
    arp_suppress_misses,
    /// Hosts' IP → MAC bindings learned or changed from snooped ARP.
    arp_snooped,
}

impl WorkerCounters {
    /// Counts one drop.
    #[inline]
    pub fn drop(&self, reason: DropReason) {
        self.drops[reason.index()].add(1);
    }

    /// Tunnel `i`'s counters (`None` past the port space).
    #[inline]
    pub fn tunnel(&self, i: usize) -> Option<&TunnelCounters> {
        self.tunnels.get(i)
    }
}

/// What one worker's frames matched one flow rule: frames and bytes as
/// received.
#[derive(Default, Debug)]
pub struct RuleCounters {
    /// Frames.
    pub packets: Counter,
    /// Their bytes.
    pub bytes: Counter,
}

/// What one worker decapsulated from and encapsulated to one tunnel port
/// (a VNI and remote VTEP), in inner frames and their bytes.
#[derive(Default, Debug)]
pub struct TunnelCounters {
    /// Inner frames received from the remote.
    pub rx_packets: Counter,
    /// Their bytes.
    pub rx_bytes: Counter,
    /// Inner frames sent to the remote.
    pub tx_packets: Counter,
    /// Their bytes.
    pub tx_bytes: Counter,
    /// Packets from the remote dropped once their tunnel was known (a bad
    /// inner frame, RFC 6040's CE over Not-ECT).
    pub rx_drops: Counter,
    /// Frames for the remote that could not be sent encapsulated (too big,
    /// next hop unresolved, split horizon).
    pub tx_drops: Counter,
}

/// The names of [`TunnelCounters::get`]'s values, in order.
pub const TUNNEL_COUNTERS: [&str; 6] = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "rx_drops", "tx_drops"];

impl TunnelCounters {
    /// Plain values, named by [`TUNNEL_COUNTERS`].
    pub fn get(&self) -> [u64; 6] {
        [
            self.rx_packets.get(),
            self.rx_bytes.get(),
            self.tx_packets.get(),
            self.tx_bytes.get(),
            self.rx_drops.get(),
            self.tx_drops.get(),
        ]
    }
}

impl CounterSnapshot {
    /// Drops for one reason.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops[reason.index()]
    }

    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sum_and_names_cover_every_counter() {
        let c = WorkerCounters::default();
        c.packets.add(3);
        c.arp_requests.add(2);
        c.drop(DropReason::EncapTooBig);
        let mut total = c.snapshot();
        total.accumulate(&c.snapshot());
        assert_eq!((total.packets, total.arp_requests, total.drops_for(DropReason::EncapTooBig)), (6, 4, 2));
        let named = total.named();
        assert_eq!(named.len(), CounterSnapshot::NAMED);
        assert_eq!(named.first(), Some(&("packets", 6)));
        assert!(named.contains(&("arp_requests", 4)));
    }
}
