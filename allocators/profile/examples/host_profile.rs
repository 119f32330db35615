//! A host program profiled with `polyalloc-profile`: the free-list allocator
//! as the global allocator, wrapped by the profiler; it writes a DHAT file.
//!
//! ```sh
//! cargo run --release -p polyalloc-profile --features std --example host_profile -- dhat-heap.json
//! ```
//!
//! Then open `dh_view.html` (from Valgrind) and load `dhat-heap.json`.
//! `tests/host_file.rs` runs the same code and checks the file.

use polyalloc_freelist::FreeListAlloc;
use polyalloc_profile::Profiled;

#[global_allocator]
static ALLOC: Profiled<FreeListAlloc> = Profiled::new(FreeListAlloc::new());

/// Blocks [`ten_blocks`] allocates, and their size.
pub const BLOCKS: usize = 10;
/// The size of each.
pub const BLOCK_SIZE: usize = 1024;
/// The size of the one block [`peak`] allocates and frees.
pub const PEAK_SIZE: usize = 1 << 20;

/// Allocates exactly [`BLOCKS`] blocks of [`BLOCK_SIZE`] bytes, into `keep`
/// (which has room already).
// Boxed on purpose: each box is one block of the profile.
#[allow(clippy::vec_box)]
#[inline(never)]
pub fn ten_blocks(keep: &mut Vec<Box<[u8; BLOCK_SIZE]>>) {
    for i in 0..BLOCKS {
        keep.push(Box::new([i as u8; BLOCK_SIZE]));
    }
}

/// Allocates one block of [`PEAK_SIZE`] bytes, the program's peak, and
/// frees it.
#[inline(never)]
pub fn peak() -> u64 {
    let big = vec![1u8; PEAK_SIZE];
    std::hint::black_box(&big)
        .iter()
        .map(|&b| u64::from(b))
        .sum()
}

/// The workload, then the profile written to `path`.
pub fn run(path: &std::path::Path) -> std::io::Result<()> {
    let mut keep = Vec::with_capacity(BLOCKS);
    ten_blocks(&mut keep);
    assert_eq!(peak(), PEAK_SIZE as u64);
    // Churn that comes and goes, well below the peak.
    let words: Vec<String> = (0..200).map(|i| format!("word {i}")).collect();
    assert_eq!(words.len(), 200);
    drop(words);
    ALLOC.write_file(path)?;
    // `keep` is live at the end: its blocks are the profile's `eb`.
    assert_eq!(keep.len(), BLOCKS);
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "dhat-heap.json".into());
    run(path.as_ref())?;
    let s = ALLOC.summary();
    println!(
        "polyalloc-profile: {} bytes in {} blocks allocated; peak {} bytes in {} blocks; wrote {path}",
        s.total_bytes, s.total_blocks, s.max_bytes, s.max_blocks
    );
    Ok(())
}
