//! UMEM areas, the chunk layout, and how chunks map onto [`BufId`]s.
//!
//! # Frame layout
//!
//! Every UMEM in xvs is split into [`FRAME_SIZE`] (4096-byte) chunks, aligned
//! to their size, so the chunk holding any UMEM address is `addr & !4095`.
//!
//! ```text
//!  chunk base                                                   chunk base + 4096
//!  |<- XSK_FRAME_HEADROOM ->|<- XDP_PACKET_HEADROOM ->|<- packet ...          ->|
//!  |        256 B           |          256 B          |  up to 3584 B           |
//!                                                     ^ RX_HEAD = 512
//! ```
//!
//! * `XSK_FRAME_HEADROOM` is the UMEM's `frame_headroom`: the kernel never
//!   writes there.
//! * `XDP_PACKET_HEADROOM` is what the kernel reserves in front of every
//!   received packet for the XDP program (`bpf_xdp_adjust_head`). Once a
//!   frame has come out of the RX ring it is ours again, headroom included.
//! * So a received frame starts at offset [`RX_HEAD`] = 512, leaving 512
//!   bytes to push headers into. The largest outer header xvs plans to push
//!   is Geneve over IPv6 with 252 bytes of options,
//!   14 + 40 + 8 + 8 + 252 = 322 bytes; 512 covers that plus a VLAN tag with
//!   room to spare and keeps the packet start cache-line aligned.
//!
//! The kernel accepts a TX descriptor anywhere inside a chunk (aligned mode
//! only checks that `addr .. addr + len` does not cross the chunk end), so the
//! pipeline can transmit `TxFrame { head: head - 4, len: len + 4 }` after
//! writing a tag into the headroom, with no copy.
//!
//! # BufId encoding
//!
//! `BufId(tag | chunk_base)` where `chunk_base` is the chunk's offset in its
//! UMEM (a multiple of 4096, as the kernel sees it) and `tag = umem_index <<
//! 40`. With the default shared UMEM the tag is 0, so a `BufId` is literally
//! the UMEM address of the chunk, which is what `switch-core` documents.

use std::num::NonZeroU32;

use switch_core::port::BufId;
use xsk_rs::config::{FrameSize, QueueSize, UmemConfig};
use xsk_rs::umem::Umem;
use xsk_rs::FrameDesc;

use crate::error::Error;

/// Size of one UMEM chunk. A power of two, so that the chunk of an address is
/// found by masking.
pub const FRAME_SIZE: usize = 4096;
/// log2 of [`FRAME_SIZE`].
pub const FRAME_SHIFT: u32 = 12;
/// Headroom configured on the UMEM (`xsk_umem_config.frame_headroom`).
pub const XSK_FRAME_HEADROOM: usize = 256;
/// Headroom the kernel keeps in front of a received packet for XDP.
pub const XDP_PACKET_HEADROOM: usize = 256;
/// Offset of a received packet's first byte inside its chunk.
pub const RX_HEAD: usize = XSK_FRAME_HEADROOM + XDP_PACKET_HEADROOM;
/// Headroom the pool asks the pipeline to leave in front of frames it copies
/// into fresh chunks (same as on receive, so every frame looks alike).
pub const DEFAULT_HEADROOM: u16 = RX_HEAD as u16;
/// Bit position of the UMEM index inside a [`BufId`].
pub const UMEM_TAG_SHIFT: u32 = 40;
/// Mask selecting the UMEM offset part of a [`BufId`].
const OFFSET_MASK: u64 = (1u64 << UMEM_TAG_SHIFT) - 1;

const _: () = assert!(1usize << FRAME_SHIFT == FRAME_SIZE);
const _: () = assert!(RX_HEAD >= 322 + 4, "headroom must fit Geneve/IPv6 + 252 B options and a tag");

/// Splits a [`BufId`] into (UMEM index, chunk base offset).
#[inline]
pub fn decode_buf(buf: BufId) -> (usize, u64) {
    ((buf.0 >> UMEM_TAG_SHIFT) as usize, buf.0 & OFFSET_MASK)
}

/// Builds the [`BufId`] of the chunk at `chunk_base` in UMEM `umem_index`.
#[inline]
pub fn encode_buf(umem_index: usize, chunk_base: u64) -> BufId {
    debug_assert_eq!(chunk_base & (FRAME_SIZE as u64 - 1), 0);
    BufId(((umem_index as u64) << UMEM_TAG_SHIFT) | chunk_base)
}

/// What holds the memory of an area alive.
enum Backing {
    /// A real UMEM registered with the kernel. `descs[i]` is xsk-rs's
    /// descriptor for chunk `i`; we keep them because xsk-rs only lets fill
    /// ring entries be produced from `FrameDesc`s, which cannot be built from
    /// an address.
    Xsk { umem: Umem, descs: Vec<FrameDesc> },
    /// An anonymous mapping, for unit tests of the pool and copy logic.
    Anon { _map: memmap2::MmapMut },
}

/// One contiguous packet-buffer area divided into [`FRAME_SIZE`] chunks.
///
/// # Thread-safety
///
/// An area is shared (in an `Arc`) by every worker whose sockets use it, but
/// each chunk is owned by exactly one worker's `ChunkPool` at a time (chunk
/// ranges are handed out disjointly when the port set is split), so no two
/// threads ever touch the same bytes.
pub struct UmemArea {
    backing: Backing,
    /// Address of the first byte (stored as an integer so the struct stays
    /// `Send + Sync` without an unsafe impl; turned back into a pointer with
    /// the provenance exposed when the memory was handed to the kernel or
    /// allocator).
    base: usize,
    frames: u32,
    hugepages: bool,
}

impl std::fmt::Debug for UmemArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmemArea")
            .field("frames", &self.frames)
            .field("hugepages", &self.hugepages)
            .field("kernel", &matches!(self.backing, Backing::Xsk { .. }))
            .finish()
    }
}

/// Whether to back a UMEM with 2 MiB huge pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HugePages {
    /// Use them when some are reserved
    /// (`/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages` > 0), and fall
    /// back to normal pages if the mapping still fails.
    #[default]
    Auto,
    /// Require them.
    On,
    /// Never use them.
    Off,
}

/// Number of reserved 2 MiB huge pages, 0 when unknown.
pub fn reserved_hugepages() -> u64 {
    std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

impl UmemArea {
    /// Creates a kernel UMEM of `frames` chunks with the xvs layout.
    pub fn new_xsk(frames: u32, fill_size: u32, comp_size: u32, huge: HugePages) -> Result<UmemArea, Error> {
        let frame_count =
            NonZeroU32::new(frames).ok_or_else(|| Error::Config("UMEM needs at least one frame".into()))?;
        let config = UmemConfig::builder()
            .frame_size(FrameSize::new(FRAME_SIZE as u32).expect("4096 >= minimum chunk size"))
            .frame_headroom(XSK_FRAME_HEADROOM as u32)
            .fill_queue_size(QueueSize::new(fill_size).map_err(|e| Error::Config(format!("fill ring size: {e}")))?)
            .comp_queue_size(
                QueueSize::new(comp_size).map_err(|e| Error::Config(format!("completion ring size: {e}")))?,
            )
            .build()
            .map_err(|e| Error::Config(format!("UMEM layout: {e}")))?;
        debug_assert_eq!(config.xdp_headroom() as usize, XDP_PACKET_HEADROOM);

        let try_huge = match huge {
            HugePages::On => true,
            HugePages::Off => false,
            HugePages::Auto => reserved_hugepages() > 0,
        };
        let (umem, descs, used_huge) = match Umem::new(config, frame_count, try_huge) {
            Ok((u, d)) => (u, d, try_huge),
            Err(e) if try_huge && huge == HugePages::Auto => {
                log::warn!("hugepage UMEM of {frames} frames failed ({e}); using normal pages");
                let (u, d) = Umem::new(config, frame_count, false).map_err(|source| Error::Umem {
                    frames,
                    hugepages: false,
                    source,
                })?;
                (u, d, false)
            }
            Err(source) => return Err(Error::Umem { frames, hugepages: try_huge, source }),
        };
        if descs.len() != frames as usize || descs.first().map(|d| d.addr()) != Some(RX_HEAD) {
            return Err(Error::Config(format!(
                "xsk-rs laid frames out unexpectedly (first packet at {:?}, expected {RX_HEAD})",
                descs.first().map(|d| d.addr())
            )));
        }
        let mut d0 = descs[0];
        // SAFETY: `d0` describes chunk 0 of this UMEM and no socket exists
        // yet, so neither the kernel nor anyone else is using the chunk. We
        // only take the address of the headroom segment, which xsk-rs starts
        // at the chunk (and thus area) base.
        let base = unsafe { umem.headroom_mut(&mut d0) }.contents_mut().as_mut_ptr() as usize;
        Ok(UmemArea { backing: Backing::Xsk { umem, descs }, base, frames, hugepages: used_huge })
    }

    /// Creates an area in an anonymous mapping that behaves like a UMEM for
    /// everything but the kernel (used by unit tests of pool and copy logic).
    pub fn new_heap(frames: u32) -> UmemArea {
        assert!(frames > 0);
        let mut map =
            memmap2::MmapMut::map_anon(frames as usize * FRAME_SIZE).expect("anonymous mapping for a test UMEM");
        let base = map.as_mut_ptr() as usize;
        UmemArea { backing: Backing::Anon { _map: map }, base, frames, hugepages: false }
    }

    /// Number of chunks.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.frames as usize * FRAME_SIZE
    }

    /// Always false: an area has at least one chunk.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether the area ended up on huge pages.
    pub fn hugepages(&self) -> bool {
        self.hugepages
    }

    /// The xsk-rs UMEM, for binding sockets (None for heap areas).
    pub(crate) fn xsk(&self) -> Option<&Umem> {
        match &self.backing {
            Backing::Xsk { umem, .. } => Some(umem),
            Backing::Anon { .. } => None,
        }
    }

    /// xsk-rs's descriptor for the chunk at `chunk_base` (for the fill ring).
    #[inline]
    pub(crate) fn fill_desc(&self, chunk_base: u64) -> Option<FrameDesc> {
        match &self.backing {
            Backing::Xsk { descs, .. } => descs.get((chunk_base >> FRAME_SHIFT) as usize).copied(),
            Backing::Anon { .. } => None,
        }
    }

    /// True when `chunk_base` is the base of a chunk of this area.
    #[inline]
    pub fn is_chunk(&self, chunk_base: u64) -> bool {
        chunk_base & (FRAME_SIZE as u64 - 1) == 0 && chunk_base < self.len() as u64
    }

    /// Pointer to the first byte of the chunk at `chunk_base`.
    ///
    /// # Safety
    ///
    /// `chunk_base` must satisfy [`Self::is_chunk`], and the caller must own
    /// the chunk (no other thread and not the kernel may access it while the
    /// pointer is used).
    #[inline]
    pub(crate) unsafe fn chunk_ptr(&self, chunk_base: u64) -> *mut u8 {
        debug_assert!(self.is_chunk(chunk_base));
        // The area's pointer was handed to the kernel (XDP_UMEM_REG) or came
        // from mmap, so its provenance is exposed; rebuilding the pointer
        // from the integer address is the documented way back.
        (self.base + chunk_base as usize) as *mut u8
    }
}

/// The chunks of one UMEM that one worker owns, and which of them the
/// pipeline currently holds.
///
/// A chunk is always in exactly one place: this pool's free stack, the
/// pipeline's hands (bit set in `held`), or a kernel ring (fill, RX, TX or
/// completion). The `held` bitmap is what makes handing out `&mut [u8]` for a
/// `BufId` sound: only chunks the kernel does not own can be borrowed, and a
/// double `send`/`release` is caught instead of corrupting a ring.
pub(crate) struct ChunkPool {
    pub(crate) area: std::sync::Arc<UmemArea>,
    free: Vec<u64>,
    held: Vec<u64>,
}

impl ChunkPool {
    /// An empty pool over `area`.
    pub(crate) fn new(area: std::sync::Arc<UmemArea>) -> ChunkPool {
        let words = (area.frames() as usize).div_ceil(64);
        ChunkPool { free: Vec::with_capacity(area.frames() as usize), held: vec![0; words], area }
    }

    /// Adds chunks this worker now owns to the free stack.
    pub(crate) fn add_free(&mut self, chunks: impl IntoIterator<Item = u64>) {
        for c in chunks {
            debug_assert!(self.area.is_chunk(c));
            self.free.push(c);
        }
    }

    /// Number of free chunks.
    #[inline]
    pub(crate) fn free_len(&self) -> usize {
        self.free.len()
    }

    /// Pops a free chunk as xsk-rs's descriptor for it, for the fill ring
    /// (`None` when the stack is empty or the area has no kernel UMEM).
    #[inline]
    pub(crate) fn pop_free_desc(&mut self) -> Option<FrameDesc> {
        let c = *self.free.last()?;
        let d = self.area.fill_desc(c)?;
        self.free.pop();
        Some(d)
    }

    /// Returns a chunk to the free stack (from the completion ring, or a
    /// frame that could not be queued).
    #[inline]
    pub(crate) fn push_free(&mut self, chunk: u64) {
        self.free.push(chunk);
    }

    #[inline]
    fn bit(chunk: u64) -> (usize, u64) {
        let i = (chunk >> FRAME_SHIFT) as usize;
        (i / 64, 1u64 << (i % 64))
    }

    /// Marks a chunk as held by the pipeline. Returns false if it already was
    /// (the kernel handed back a chunk we never gave it).
    #[inline]
    pub(crate) fn mark_held(&mut self, chunk: u64) -> bool {
        let (w, m) = Self::bit(chunk);
        let was = self.held[w] & m != 0;
        self.held[w] |= m;
        !was
    }

    /// Clears the held bit. Returns false if the chunk was not held.
    #[inline]
    pub(crate) fn unmark_held(&mut self, chunk: u64) -> bool {
        let (w, m) = Self::bit(chunk);
        let was = self.held[w] & m != 0;
        self.held[w] &= !m;
        was
    }

    /// True when the pipeline holds the chunk.
    #[inline]
    pub(crate) fn is_held(&self, chunk: u64) -> bool {
        if !self.area.is_chunk(chunk) {
            return false;
        }
        let (w, m) = Self::bit(chunk);
        self.held[w] & m != 0
    }

    /// Allocates a chunk for the pipeline.
    #[inline]
    pub(crate) fn alloc(&mut self) -> Option<u64> {
        let c = self.free.pop()?;
        self.mark_held(c);
        Some(c)
    }

    /// Takes a chunk back from the pipeline. False when it was not held.
    #[inline]
    pub(crate) fn release(&mut self, chunk: u64) -> bool {
        if !self.area.is_chunk(chunk) || !self.unmark_held(chunk) {
            return false;
        }
        self.free.push(chunk);
        true
    }

    /// The whole chunk, read-only.
    ///
    /// # Panics
    ///
    /// When the pipeline does not hold `chunk`: handing out a view of a chunk
    /// the kernel may be writing would be a data race, and it always means
    /// the caller broke the ownership rule.
    #[inline]
    pub(crate) fn chunk(&self, chunk: u64) -> &[u8] {
        assert!(self.is_held(chunk), "BufId {chunk:#x} is not held by the pipeline");
        // SAFETY: `is_held` checked that the chunk lies in the area and that
        // this worker's pipeline owns it (it is in no kernel ring and no other
        // worker's pool), so nothing else reads or writes these 4096 bytes;
        // the borrow of `self` keeps `release`/`send` from giving it away
        // while the slice lives.
        unsafe { std::slice::from_raw_parts(self.area.chunk_ptr(chunk), FRAME_SIZE) }
    }

    /// Copies `len` bytes at `offset` from held chunk `from` to held chunk
    /// `to` (same offset). Panics like [`Self::chunk`], or when the range
    /// leaves the chunk.
    #[inline]
    pub(crate) fn copy_within_pool(&mut self, from: u64, to: u64, offset: usize, len: usize) {
        assert!(self.is_held(from) && self.is_held(to), "copy between chunks the pipeline does not hold");
        assert!(offset.checked_add(len).is_some_and(|e| e <= FRAME_SIZE), "copy range {offset}+{len} leaves the chunk");
        if from == to || len == 0 {
            return;
        }
        // SAFETY: both chunks are held by this worker's pipeline (so no one
        // else touches them), they are distinct chunks so the ranges do not
        // overlap, and `offset + len <= FRAME_SIZE` keeps both in bounds.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.area.chunk_ptr(from).add(offset),
                self.area.chunk_ptr(to).add(offset),
                len,
            );
        }
    }

    /// The whole chunk, writable. Panics like [`Self::chunk`].
    #[inline]
    pub(crate) fn chunk_mut(&mut self, chunk: u64) -> &mut [u8] {
        assert!(self.is_held(chunk), "BufId {chunk:#x} is not held by the pipeline");
        // SAFETY: as in `chunk`; `&mut self` makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.area.chunk_ptr(chunk), FRAME_SIZE) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn bufid_roundtrip_and_shared_umem_is_plain_address() {
        assert_eq!(encode_buf(0, 8192), BufId(8192));
        assert_eq!(decode_buf(BufId(8192)), (0, 8192));
        let b = encode_buf(3, 4096 * 7);
        assert_eq!(decode_buf(b), (3, 4096 * 7));
    }

    #[test]
    fn layout_constants_leave_room_for_geneve_v6() {
        assert_eq!(RX_HEAD, 512);
        const { assert!(RX_HEAD >= 14 + 40 + 8 + 8 + 252) };
        const { assert!(FRAME_SIZE - RX_HEAD >= 1518 + 4) };
    }

    #[test]
    fn pool_tracks_ownership() {
        let area = Arc::new(UmemArea::new_heap(4));
        let mut p = ChunkPool::new(area);
        p.add_free([0, 4096, 8192]);
        let c = p.alloc().unwrap();
        assert!(p.is_held(c));
        p.chunk_mut(c)[100] = 7;
        assert_eq!(p.chunk(c)[100], 7);
        assert!(p.release(c));
        assert!(!p.release(c), "double release is refused");
        assert!(!p.release(12345), "misaligned id is refused");
        assert!(!p.release(4096 * 99), "out of range id is refused");
        assert_eq!(p.free_len(), 3);
    }

    #[test]
    #[should_panic(expected = "not held")]
    fn borrowing_a_free_chunk_panics() {
        let area = Arc::new(UmemArea::new_heap(2));
        let mut p = ChunkPool::new(area);
        p.add_free([0]);
        let _ = p.chunk(0);
    }

    #[test]
    fn copy_within_pool_copies_the_range_only() {
        let area = Arc::new(UmemArea::new_heap(2));
        let mut p = ChunkPool::new(area);
        p.add_free([0, 4096]);
        let a = p.alloc().unwrap();
        let b = p.alloc().unwrap();
        p.chunk_mut(a).fill(9);
        p.copy_within_pool(a, b, 512, 64);
        assert!(p.chunk(b)[512..576].iter().all(|&x| x == 9));
        assert!(p.chunk(b)[..512].iter().all(|&x| x == 0));
        assert!(p.chunk(b)[576..].iter().all(|&x| x == 0));
    }

    #[test]
    #[should_panic(expected = "leaves the chunk")]
    fn copy_out_of_chunk_panics() {
        let area = Arc::new(UmemArea::new_heap(2));
        let mut p = ChunkPool::new(area);
        p.add_free([0, 4096]);
        let a = p.alloc().unwrap();
        let b = p.alloc().unwrap();
        p.copy_within_pool(a, b, 4000, 200);
    }

    #[test]
    fn heap_chunks_are_distinct_memory() {
        let area = Arc::new(UmemArea::new_heap(2));
        let mut p = ChunkPool::new(area);
        p.add_free([0, 4096]);
        let a = p.alloc().unwrap();
        let b = p.alloc().unwrap();
        p.chunk_mut(a).fill(1);
        p.chunk_mut(b).fill(2);
        assert!(p.chunk(a).iter().all(|&x| x == 1));
        assert!(p.chunk(b).iter().all(|&x| x == 2));
    }
}
