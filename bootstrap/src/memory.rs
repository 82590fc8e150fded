//! The process's memory, as the global allocator (mimalloc, see main.rs) keeps it.

/// Hands memory that was freed back to the operating system now. mimalloc keeps freed pages
/// for reuse and returns them only on later allocator activity, so after a large release
/// (the local model unloaded) an idle process would otherwise keep its peak size.
// The one `unsafe` of the workspace (the lint denies it everywhere else): mimalloc's crate has
// no safe wrapper for this call.
#[allow(unsafe_code)]
pub fn release_freed_memory() {
    // SAFETY: mi_collect only walks mimalloc's own heaps; it is safe to call at any time,
    // from any thread, also when mimalloc is not the global allocator (tests).
    unsafe { libmimalloc_sys::mi_collect(true) }
}
