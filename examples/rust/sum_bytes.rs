// The classic bare-ABI example on lmalloc: a cdylib for wasm32-unknown-unknown
// with no wasm-bindgen, whose heap is lmalloc (the crate in targets/rust as
// the global allocator). JavaScript drives it through three exports:
//   alloc(len) -> ptr        null for 0, else std's allocator, align 1
//   dealloc(ptr, len)        no-op for null or 0; frees with the length, so a
//                            second dealloc is reported by lmalloc by name
//   sum_bytes(ptr, len) -> u32
// Misuse reports reach JS through the module's lmalloc.report import.
use std::alloc::{alloc as std_alloc, dealloc as std_dealloc, Layout};

// Built with `--cfg std_alloc` it keeps Rust's own allocator: the benchmark
// suite's baseline for this client (bench/clients).
#[cfg(not(std_alloc))]
#[global_allocator]
static GLOBAL: lmalloc::Lmalloc = lmalloc::Lmalloc;

#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    if len == 0 {
        return std::ptr::null_mut();
    }
    match Layout::from_size_align(len, 1) {
        Ok(layout) => unsafe { std_alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// # Safety
/// `ptr` must come from `alloc(len)` with the same `len` (lmalloc reports it otherwise).
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len == 0 {
        return;
    }
    std_dealloc(ptr, Layout::from_size_align_unchecked(len, 1));
}

/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn sum_bytes(ptr: *const u8, len: usize) -> u32 {
    std::slice::from_raw_parts(ptr, len).iter().map(|&byte| u32::from(byte)).sum()
}
