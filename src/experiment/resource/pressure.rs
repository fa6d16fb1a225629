//! The memory pressure (`shakedown stress memory`, run as a child of the runner): allocate,
//! write every page so the kernel backs it, hold it, release it by exiting.

use std::time::Duration;

/// The page size assumed for touching: writing one byte every 4 KiB backs every page (a
/// larger page is touched several times, harmlessly).
const PAGE: usize = 4096;

/// Allocate `bytes`, touch every page, say `ready` on stdout, hold them for `for_`.
///
/// # Errors
/// The allocation was refused (the message says how much).
pub fn run(bytes: u64, for_: Duration) -> Result<(), String> {
    let n = usize::try_from(bytes).map_err(|_| format!("{bytes} bytes do not fit in memory"))?;
    let mut block: Vec<u8> = Vec::new();
    block
        .try_reserve_exact(n)
        .map_err(|e| format!("cannot allocate {}: {e}", super::host::mib(bytes)))?;
    block.resize(n, 0);
    for i in (0..n).step_by(PAGE) {
        block[i] = 1;
    }
    std::hint::black_box(&block);
    super::stress::say_ready();
    std::thread::sleep(for_);
    std::hint::black_box(&block);
    Ok(())
}
