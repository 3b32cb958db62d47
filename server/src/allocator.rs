//! How the process's allocator gives memory back. glibc's malloc serves a request of 128 KiB or
//! more from its own `mmap` (returned to the system when freed), but each time such a block is
//! freed it raises that threshold to the block's size, up to 32 MiB: after the first sign-in has
//! freed argon2's 19 MiB, every later hash, every page render's big buffers and every catalog
//! reply's rows come from the heap arenas instead, and a freed arena keeps its pages. An idle
//! dashboard then holds 17–19 MiB of freed memory. Pinning the threshold at its default keeps
//! big blocks on `mmap`: `pgpanel bench`'s idle RSS with one target went from 41.0–42.1 MiB
//! (16.9–18.0 anonymous) to 31.6 MiB (7.7 anonymous).
//!
//! The same could be asked of every user through the environment; a call at start-up cannot be
//! forgotten. An operator's own `glibc.malloc.mmap_threshold` tunable wins.

/// The threshold glibc starts with (`DEFAULT_MMAP_THRESHOLD_MIN`), made fixed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Called first thing in `main`, before any thread starts (mallopt is not meant to race with
/// allocations on other threads).
pub fn return_big_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let operator_chose = std::env::var("GLIBC_TUNABLES")
            .is_ok_and(|tunables| tunables.contains("glibc.malloc.mmap_threshold"));
        if !operator_chose {
            // SAFETY: mallopt takes two integers and changes a setting of the allocator; it is
            // called before the process starts a second thread. It returns 0 when it refuses a
            // value, which leaves the allocator as it was (nothing to undo).
            #[allow(unsafe_code)]
            let _accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// A block past the pinned threshold is given back when freed: after freeing a 20 MiB
    /// block (which would raise glibc's dynamic threshold to 20 MiB), a second one of 20 MiB,
    /// filled and freed, leaves the resident size where it was.
    #[test]
    fn big_blocks_go_back_to_the_system_after_a_big_free() {
        super::return_big_blocks_to_the_system();
        let rss_kib = || crate::bench::rss_kib(std::process::id()).expect("VmRSS of this process");
        const SIZE: usize = 20 << 20;
        drop(std::hint::black_box(vec![1u8; SIZE]));
        let before = rss_kib();
        drop(std::hint::black_box(vec![1u8; SIZE]));
        let after = rss_kib();
        assert!(
            after < before + (SIZE as u64 / 1024) / 2,
            "a freed 20 MiB block stayed resident: {before} → {after} KiB"
        );
    }
}
