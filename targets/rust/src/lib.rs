//! lmalloc as Rust's global allocator.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: lmalloc::Lmalloc = lmalloc::Lmalloc;
//! ```
//!
//! Every `Box`, `Vec` and `String` then lives in an lmalloc block, and a free
//! with the wrong length (a `dealloc(ptr, len)` export called twice or with a
//! different `len`) is reported by lmalloc's misuse checks: `dealloc` frees
//! with `lm_free_sized`, which checks the length against the block.
//! Alignments up to 16 bytes are every lmalloc block's; larger ones go through
//! `lm_aligned_alloc`.
//!
//! No dependencies: the crate links the static library the CMake build makes
//! (`liblmalloc.a` for the target: wasm32 for `wasm32-unknown-unknown`,
//! native for the host), found on the linker's search path
//! (`-L native=<build folder>`, or `LMALLOC_LIB_DIR` for Cargo, see build.rs).
//! lmalloc is single-threaded: on a native target with threads, allocate from
//! one thread only.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

/// Every lmalloc block is aligned to this many bytes (`LM_ALIGNMENT`).
pub const ALIGNMENT: usize = 16;

/// `lm_stats_t`: eight 64-bit counters on every target.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub live_bytes: u64,
    pub live_blocks: u64,
    pub footprint: u64,
    pub peak_footprint: u64,
    pub grow_calls: u64,
    pub failed_allocs: u64,
    pub misuse_count: u64,
    pub metadata_bytes: u64,
}

#[link(name = "lmalloc", kind = "static")]
extern "C" {
    fn lm_malloc(size: usize) -> *mut u8;
    fn lm_calloc(count: usize, size: usize) -> *mut u8;
    fn lm_realloc(ptr: *mut u8, size: usize) -> *mut u8;
    fn lm_aligned_alloc(alignment: usize, size: usize) -> *mut u8;
    fn lm_free_sized(ptr: *mut u8, size: usize);
    fn lm_usable_size(ptr: *const u8) -> usize;
    fn lm_stats(out: *mut Stats);
    fn lm_check() -> usize;
}

/// The global allocator over lmalloc.
pub struct Lmalloc;

unsafe impl GlobalAlloc for Lmalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= ALIGNMENT {
            lm_malloc(layout.size())
        } else {
            lm_aligned_alloc(layout.align(), layout.size())
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        lm_free_sized(ptr, layout.size());
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= ALIGNMENT {
            return lm_calloc(1, layout.size());
        }
        let block = self.alloc(layout);
        if !block.is_null() {
            ptr::write_bytes(block, 0, layout.size());
        }
        block
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= ALIGNMENT {
            return lm_realloc(block, new_size);
        }
        // lm_realloc keeps 16-byte alignment only: move by hand.
        let moved = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
        if !moved.is_null() {
            ptr::copy_nonoverlapping(block, moved, core::cmp::min(layout.size(), new_size));
            self.dealloc(block, layout);
        }
        moved
    }
}

/// lm_stats(): live blocks and bytes, footprint, growth calls, misuse count.
pub fn stats() -> Stats {
    let mut out = Stats::default();
    unsafe { lm_stats(&mut out) };
    out
}

/// lm_check(): inconsistencies found walking the heap (0 = sound).
pub fn check() -> usize {
    unsafe { lm_check() }
}

/// lm_usable_size(): bytes usable in the block at `block` (at least what was asked).
///
/// # Safety
/// `block` must be a live block from this allocator (anything else is reported as misuse).
pub unsafe fn usable_size(block: *const u8) -> usize {
    lm_usable_size(block)
}
