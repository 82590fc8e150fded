//! The process's memory, as the global allocator (mimalloc, see main.rs) keeps it.
//!
//! The workspace's only `unsafe` calls are here (the lint denies them everywhere else):
//! mimalloc's crate has no safe wrapper for them.

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (the crate names no constant).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed pages go back to the operating system 10 ms after they are freed instead of
/// mimalloc v3's 1 s (10 ms was v2's default): write bursts otherwise leave their peak
/// resident, while returning at once costs CPU on every free. `MIMALLOC_PURGE_DELAY` still
/// overrides it.
#[allow(unsafe_code)]
pub fn return_freed_pages_promptly() {
    // SAFETY: sets one of mimalloc's option values; a default only, so an option already set
    // from the environment keeps its value. Safe at any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 10) }
}

/// Hands memory that was freed back to the operating system now. mimalloc keeps freed pages
/// for reuse and returns them only on later allocator activity, so after a large release
/// (the local model unloaded) an idle process would otherwise keep its peak size.
#[cfg(feature = "local-embedder")]
#[allow(unsafe_code)]
pub fn release_freed_memory() {
    // SAFETY: mi_collect only walks mimalloc's own heaps; it is safe to call at any time,
    // from any thread, also when mimalloc is not the global allocator (tests).
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_set_to_ten_milliseconds() {
        // SAFETY: reads one of mimalloc's option values.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // mimalloc v3's default purge delay: the index names that option, not a neighbour.
        assert_eq!(get(), 1000);
        return_freed_pages_promptly();
        assert_eq!(get(), 10);
    }
}
