//! The `mypay` binary: everything is in the library; this only runs the command line.

/// mimalloc instead of the C library's allocator: an import allocates a row's fields on its reader
/// thread and frees them on its writer thread, which glibc's per-thread arenas make costly. Built
/// without transparent huge pages (`no_thp`): they kept the idle server at 20 MB instead of 13.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mypay::run()
}
