//! Memory primitives for the dataplane: the two things `switch-core` needs
//! from the hardware and the OS that safe Rust cannot express.
//!
//! * [`prefetch`]: ask the CPU to start loading a cache line now, so a batch
//!   of frames can overlap its cache misses (DPDK's `rte_prefetch0`). A plain
//!   load can stand in for it, but it holds a reorder-buffer slot until the
//!   data arrives, which caps how many misses are in flight at once.
//! * [`HugeZeroed`]: a zero-initialised slice in its own anonymous mapping,
//!   aligned to 2 MiB and advised to use transparent huge pages. A 16 MiB FDB
//!   on 4 KiB pages needs 4096 TLB entries, far more than any core has, so
//!   every random lookup also pays a page walk (two-dimensional, and much
//!   slower, under a hypervisor); on 2 MiB pages it needs 8.
//!
//! This is the only crate besides `io-afxdp` with `unsafe` code, kept to three
//! blocks (the prefetch, the slice view and the wrapped index, which lets a
//! hash table replace a bounds check with an AND) and the `Send`/`Sync` impls,
//! each with its `SAFETY` argument. `switch-core` keeps
//! `#![forbid(unsafe_code)]` and uses these through safe APIs.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64};

/// Hints the CPU to bring the cache line holding `*r` into every cache level.
/// Never faults, never changes what any load or store observes; a no-op on
/// targets without a prefetch instruction here.
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 has no architectural effect (it cannot fault, even
    // on an invalid address, and does not modify memory), and SSE, which
    // provides it, is part of the x86_64 baseline, so the target feature the
    // intrinsic requires is always present.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((r as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Types for which the all-zero bit pattern is a valid value, so a slice of
/// them can live in fresh anonymous memory. Sealed: implemented here for the
/// atomics the dataplane's tables are made of.
pub trait ZeroValid: sealed::Sealed + Sync + Send + Sized {
    /// The value whose bits are all zero.
    fn zero() -> Self;
    /// Stores zero into the value's first word (to fault its page in).
    fn store_zero(&self);
}

mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for AtomicU64 {}
impl ZeroValid for AtomicU64 {
    fn zero() -> Self {
        AtomicU64::new(0)
    }
    fn store_zero(&self) {
        self.store(0, core::sync::atomic::Ordering::Relaxed);
    }
}

impl sealed::Sealed for AtomicU32 {}
impl ZeroValid for AtomicU32 {
    fn zero() -> Self {
        AtomicU32::new(0)
    }
    fn store_zero(&self) {
        self.store(0, core::sync::atomic::Ordering::Relaxed);
    }
}

impl<const N: usize> sealed::Sealed for [AtomicU64; N] {}
impl<const N: usize> ZeroValid for [AtomicU64; N] {
    fn zero() -> Self {
        core::array::from_fn(|_| AtomicU64::new(0))
    }
    fn store_zero(&self) {
        if let Some(w) = self.first() {
            w.store(0, core::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Size and alignment of a transparent huge page on x86_64 and aarch64 (4K
/// granule).
pub const HUGE_PAGE: usize = 2 << 20;

/// Where a [`HugeZeroed`] got its memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// An anonymous mapping advised to use transparent huge pages (the
    /// kernel may still give small pages, e.g. when THP is disabled).
    Mapped {
        /// The kernel accepted `MADV_HUGEPAGE` for the range.
        huge_advised: bool,
    },
    /// The heap (the mapping failed, or the slice is smaller than a huge
    /// page, where a mapping would only waste memory).
    Heap,
}

/// A fixed-length, zero-initialised `[T]` that owns its memory. See the crate
/// docs for why it is mapped rather than allocated.
pub struct HugeZeroed<T: ZeroValid> {
    ptr: NonNull<T>,
    len: usize,
    /// The largest power of two not above `len`, minus one: `i & wrap_mask`
    /// is below `len` for every `i`.
    wrap_mask: usize,
    backing: Backing,
    // Keeps the mapping alive; `ptr` points into it (or into `heap`).
    _map: Option<memmap2::MmapMut>,
    _heap: Option<Box<[T]>>,
}

// SAFETY: `HugeZeroed<T>` owns its elements exactly as `Box<[T]>` does (the
// pointer is never shared with anything else), and `T: Send + Sync` by the
// `ZeroValid` bound, so sending or sharing it is as safe as for `Box<[T]>`.
unsafe impl<T: ZeroValid> Send for HugeZeroed<T> {}
// SAFETY: see `Send`: only `&[T]` is ever handed out through `&self`.
unsafe impl<T: ZeroValid> Sync for HugeZeroed<T> {}

impl<T: ZeroValid> HugeZeroed<T> {
    /// `len` zeroed elements. Large slices are mapped on a 2 MiB boundary
    /// with `MADV_HUGEPAGE`, and every page is touched once here so the
    /// dataplane never takes a page fault on it.
    ///
    /// Panics if `len` is 0 (so that [`HugeZeroed::wrapped`] always has an
    /// element to return) or the size overflows `usize`.
    pub fn new(len: usize) -> HugeZeroed<T> {
        assert!(len > 0, "HugeZeroed needs at least one element");
        let bytes = len.checked_mul(core::mem::size_of::<T>()).expect("HugeZeroed size overflows usize");
        if bytes >= HUGE_PAGE {
            if let Some(h) = Self::mapped(len, bytes) {
                return h;
            }
        }
        let mut heap: Box<[T]> = (0..len).map(|_| T::zero()).collect();
        let ptr = NonNull::new(heap.as_mut_ptr()).unwrap_or(NonNull::dangling());
        HugeZeroed { ptr, len, wrap_mask: wrap_mask(len), backing: Backing::Heap, _map: None, _heap: Some(heap) }
    }

    fn mapped(len: usize, bytes: usize) -> Option<HugeZeroed<T>> {
        // One extra huge page of slack, so the slice can start on a 2 MiB
        // boundary (the kernel only backs aligned 2 MiB ranges with THP).
        let mut map = memmap2::MmapMut::map_anon(bytes + HUGE_PAGE).ok()?;
        let huge_advised = advise_huge(&map);
        let base = map.as_mut_ptr();
        let offset = base.align_offset(HUGE_PAGE.max(core::mem::align_of::<T>()));
        if offset + bytes > map.len() {
            return None;
        }
        // In bounds (`offset + bytes <= map.len()`) and aligned for `T` (see
        // `align_offset`); `as_slice` relies on both.
        let ptr = NonNull::new(base.wrapping_add(offset).cast::<T>())?;
        let h = HugeZeroed {
            ptr,
            len,
            wrap_mask: wrap_mask(len),
            backing: Backing::Mapped { huge_advised },
            _map: Some(map),
            _heap: None,
        };
        h.prefault();
        Some(h)
    }

    /// Writes one byte of each 4 KiB page with the value it already holds
    /// (zero), through the `[T]` view, so the kernel faults every page in
    /// now.
    fn prefault(&self) {
        let per_page = (4096 / core::mem::size_of::<T>().max(1)).max(1);
        for e in self.as_slice().iter().step_by(per_page) {
            e.store_zero();
        }
    }

    /// The elements.
    #[inline(always)]
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `ptr` points to `len` initialised (all-zero bits are a
        // valid `T` by `ZeroValid`) elements inside memory this value owns
        // and keeps alive; no `&mut` to them exists while `&self` does.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The element at `i & m`, where `m + 1` is the largest power of two not
    /// above the length: for a power-of-two length (a hash table's), element
    /// `i` modulo the length. In bounds for every `i` by construction, so a
    /// hash-table probe costs one AND instead of a compare and a branch.
    #[inline(always)]
    pub fn wrapped(&self, i: usize) -> &T {
        let i = i & self.wrap_mask;
        debug_assert!(i < self.len);
        // SAFETY: `wrap_mask < len` (see `wrap_mask()`; `len > 0` is checked
        // in `new`), so `i & wrap_mask < len`: an element of the slice
        // `as_slice` describes.
        unsafe { &*self.ptr.as_ptr().add(i) }
    }

    /// Where the memory came from.
    pub fn backing(&self) -> Backing {
        self.backing
    }
}

impl<T: ZeroValid> core::ops::Deref for HugeZeroed<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: ZeroValid> core::fmt::Debug for HugeZeroed<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HugeZeroed").field("len", &self.len).field("backing", &self.backing).finish()
    }
}

/// The largest power of two not above `len` (at least 1), minus one.
fn wrap_mask(len: usize) -> usize {
    let pow2 = if len.is_power_of_two() { len } else { len.next_power_of_two() >> 1 };
    pow2.max(1) - 1
}

#[cfg(target_os = "linux")]
fn advise_huge(map: &memmap2::MmapMut) -> bool {
    map.advise(memmap2::Advice::HugePage).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_map: &memmap2::MmapMut) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::Ordering::Relaxed;

    #[test]
    fn small_slices_live_on_the_heap_and_are_zero() {
        let h = HugeZeroed::<[AtomicU64; 2]>::new(100);
        assert_eq!(h.backing(), Backing::Heap);
        assert_eq!(h.len(), 100);
        assert!(h.iter().all(|p| p[0].load(Relaxed) == 0 && p[1].load(Relaxed) == 0));
        h[99][1].store(7, Relaxed);
        assert_eq!(h[99][1].load(Relaxed), 7);
    }

    #[test]
    fn large_slices_are_mapped_on_a_huge_page_boundary() {
        let len = 3 * HUGE_PAGE / 16 + 5;
        let h = HugeZeroed::<[AtomicU64; 2]>::new(len);
        assert!(matches!(h.backing(), Backing::Mapped { .. }), "{h:?}");
        assert_eq!(h.as_ptr() as usize % HUGE_PAGE, 0);
        assert_eq!(h.len(), len);
        assert!(h.iter().all(|p| p[0].load(Relaxed) == 0));
        h[len - 1][0].store(u64::MAX, Relaxed);
        assert_eq!(h[len - 1][0].load(Relaxed), u64::MAX);
        let words = HugeZeroed::<AtomicU64>::new(HUGE_PAGE / 8);
        assert_eq!(words.iter().map(|w| w.load(Relaxed)).sum::<u64>(), 0);
    }

    #[test]
    fn wrapped_stays_in_bounds_and_wraps_power_of_two_lengths() {
        for len in [1usize, 2, 3, 5, 8, 100, 128, 129] {
            let h = HugeZeroed::<AtomicU64>::new(len);
            for (i, e) in h.iter().enumerate() {
                e.store(i as u64, Relaxed);
            }
            for i in [0, 1, len - 1, len, len + 1, usize::MAX / 2, usize::MAX] {
                let v = h.wrapped(i).load(Relaxed) as usize;
                assert!(v < len, "len {len} i {i}");
                if len.is_power_of_two() {
                    assert_eq!(v, i % len, "len {len} i {i}");
                }
            }
        }
        let big = HugeZeroed::<[AtomicU64; 2]>::new(HUGE_PAGE / 16 * 2);
        big[5][0].store(9, Relaxed);
        assert_eq!(big.wrapped(big.len() + 5)[0].load(Relaxed), 9);
    }

    #[test]
    #[should_panic(expected = "at least one element")]
    fn empty_is_refused() {
        HugeZeroed::<AtomicU64>::new(0);
    }

    #[test]
    fn prefetch_is_harmless() {
        let v = [1u64, 2, 3];
        prefetch(&v[1]);
        prefetch(&v);
        assert_eq!(v, [1, 2, 3]);
    }
}
