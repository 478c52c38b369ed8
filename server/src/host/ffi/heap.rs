//! The two heaps of the process: mimalloc's, which the host allocates from
//! (the executable's global allocator), and the C library's, which plugins
//! and [`super::call::PluginMem`] allocate from.

use std::ffi::c_long;

/// mimalloc's `mi_option_arena_reserve` (in KiB): not among the constants
/// the crate exports, since mimalloc keeps option numbers out of its
/// stable API. It is 23 in mimalloc 2 and 3; the integration test
/// `ops_lifecycle::the_heap_reserves_address_space_in_small_steps` fails if a
/// new mimalloc moves it.
const ARENA_RESERVE: libmimalloc_sys::mi_option_t = 23;
/// What the host asks for instead of the default, 1 GiB.
const ARENA_RESERVE_KIB: c_long = 64 * 1024;

/// Makes mimalloc reserve address space 64 MiB at a time instead of 1 GiB.
///
/// Each reservation (an arena) starts with bitmaps sized for all of it,
/// and mimalloc touches them as it uses the arena: for the default 1 GiB
/// that was about 150 KiB of a server's idle RSS, a quarter of its heap.
/// mimalloc makes each later reservation larger than the one before, so a
/// busy server still needs only a few.
///
/// mimalloc makes its first reservation in its own constructor, before
/// `main`, so this is a constructor too, with a priority that runs it
/// before mimalloc's (which has none when gcc builds it, 101 when clang
/// does; lower numbers run first, and unnumbered ones last). It sets the
/// option's default: `MIMALLOC_ARENA_RESERVE` in the environment still
/// decides, as it does for any program using mimalloc.
extern "C" fn reserve_arenas_in_small_steps() {
    // SAFETY: mi_option_set_default writes one entry of mimalloc's option
    // table; any option number below `_mi_option_last` is valid, and it is
    // only not thread safe, which holds here: constructors run on the main
    // thread before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set_default(ARENA_RESERVE, ARENA_RESERVE_KIB) }
}

// SAFETY: `.init_array.NNNNN` holds pointers to `extern "C" fn()` that the
// loader calls once, in priority order, before `main`; this is one, and it
// calls nothing but mimalloc's option setter.
#[used]
#[link_section = ".init_array.00100"]
static RESERVE_ARENAS_IN_SMALL_STEPS: extern "C" fn() = reserve_arenas_in_small_steps;

/// How much address space mimalloc reserves at a time, in KiB. Called
/// from `main`, which also keeps the constructor above in the executable
/// (the linker may leave out a library's static that nothing refers to).
pub fn arena_reserve_kib() -> c_long {
    std::hint::black_box(&RESERVE_ARENAS_IN_SMALL_STEPS);
    // SAFETY: as above; by now mimalloc is initialised and the option table
    // is only read.
    unsafe { libmimalloc_sys::mi_option_get(ARENA_RESERVE) }
}

/// Gives freed heap memory back to the system (glibc `malloc_trim`), as
/// lwsws does once a minute. The host itself allocates with mimalloc, which
/// returns freed memory on its own; this trims the C library's heap, where
/// plugins (and [`super::call::PluginMem`]) allocate, so their bursts do
/// not keep RSS up.
pub(crate) fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has
    // no preconditions and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
