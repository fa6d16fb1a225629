//! The memory pressure (`shakedown stress memory`, run as a child of the runner): allocate,
//! write every page so the kernel backs it, hold it, release it by exiting.

use std::time::Duration;

/// The page size assumed for touching: writing one byte every 4 KiB backs every page (a
/// larger page is touched several times, harmlessly).
const PAGE: usize = 4096;

/// Allocate `bytes`, touch every page, say `ready` on stdout, hold them for `for_`. The block
/// comes zeroed from the allocator (untouched pages cost nothing yet); writing one byte per page
/// makes the kernel back each one. A refused allocation aborts the process with the
/// allocator's message on stderr, which the runner reports.
///
/// # Errors
/// `bytes` does not fit this platform's address space.
pub fn run(bytes: u64, for_: Duration) -> Result<(), String> {
    let n = usize::try_from(bytes).map_err(|_| format!("{bytes} bytes do not fit in memory"))?;
    let mut block = vec![0u8; n];
    for i in (0..n).step_by(PAGE) {
        block[i] = 1;
    }
    std::hint::black_box(&block);
    super::stress::say_ready();
    std::thread::sleep(for_);
    std::hint::black_box(&block);
    Ok(())
}
