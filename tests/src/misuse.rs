//! Checking-mode death tests: each misuse is committed in a child process,
//! which must abort with the report naming it.
//!
//! An allocator built with its `checking` feature verifies every free and
//! every reuse of a freed block ([`polyalloc_core::checking`]). The test for
//! one misuse runs the test binary again as a child, restricted to that one
//! test and told by [`CHILD_VAR`] to commit the misuse on a fresh heap of
//! the candidate (through allocator-api2's `Allocator`, as a user would).
//! The parent then requires that the child was killed by `SIGABRT` and that
//! its standard error holds the report's words: `polyalloc checking
//! (<strategy>): <misuse>`. A child that finishes, or aborts with other
//! words, fails the test.
//!
//! [`misuse_tests!`](crate::misuse_tests) writes the five tests for a
//! candidate:
//!
//! ```ignore
//! polyalloc_conformance::misuse_tests!(slab: polyalloc_conformance::candidates::Slab, "slab");
//! ```
//!
//! The report must not allocate: a test binary can make
//! [`forbid_allocation`] true just before the faulting call, and its global
//! allocator abort with other words if it is asked for memory after that
//! (`tests/tests/checking.rs` does).

use core::sync::atomic::{AtomicBool, Ordering};
use std::alloc::Layout;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use allocator_api2::alloc::Allocator;
use polyalloc_core::LockedHeap;
pub use polyalloc_core::checking::Misuse;

use crate::Candidate;

/// The environment variable that tells a child which test's misuse to
/// commit (the test's full name).
pub const CHILD_VAR: &str = "POLYALLOC_MISUSE_CHILD";

/// Signal 6 on every unix polyalloc supports.
const SIGABRT: i32 = 6;

/// How long a child may run before it is taken as hung.
const LIMIT: Duration = Duration::from_secs(30);

/// Set just before the call that must report; a test binary's global
/// allocator reads it (see the module docs).
static FORBID: AtomicBool = AtomicBool::new(false);

/// Whether the global allocator of this test binary must refuse from now
/// on: set just before the faulting call.
pub fn forbid_allocation() -> bool {
    FORBID.load(Ordering::SeqCst)
}

/// Commits `misuse` on a fresh default-source heap of `C`. Returns only if
/// the heap did not report it.
pub fn commit<C: Candidate>(misuse: Misuse) {
    let heap = LockedHeap::with_heap(C::over_default());
    let a = &heap;
    let small = Layout::from_size_align(48, 8).unwrap();
    // A neighbour kept live throughout, so no free empties what the misused
    // block lies in.
    let keep = a.allocate(small).unwrap();
    let block = a.allocate(small).unwrap().cast::<u8>();
    let fault = || FORBID.store(true, Ordering::SeqCst);
    // Each arm breaks the `Allocator` contract on purpose: the heap is built
    // with its checking feature, which must stop the process at the
    // faulting call, before the heap does harm.
    match misuse {
        // SAFETY: not met on purpose (above); checking mode stops the
        // process at the faulting call.
        Misuse::DoubleFree => unsafe {
            a.deallocate(block, small);
            fault();
            a.deallocate(block, small);
        },
        // SAFETY: not met on purpose (above); checking mode stops the
        // process at the faulting call.
        Misuse::NotOwned => unsafe {
            let mut stack = [0u64; 16];
            let foreign = core::ptr::NonNull::new(stack.as_mut_ptr().cast::<u8>()).unwrap();
            fault();
            a.deallocate(foreign, small);
        },
        // SAFETY: not met on purpose (above); checking mode stops the
        // process at the faulting call.
        Misuse::Interior => unsafe {
            // One word in: inside the block, and on no boundary any
            // strategy's blocks start at (two words for buddy's smallest).
            fault();
            a.deallocate(block.add(size_of::<usize>()), small);
        },
        // SAFETY: not met on purpose (above); checking mode stops the
        // process at the faulting call.
        Misuse::WrongLayout => unsafe {
            let wrong = Layout::from_size_align(4096, 8).unwrap();
            fault();
            a.deallocate(block, wrong);
        },
        // SAFETY: not met on purpose (above); checking mode stops the
        // process at the faulting call.
        Misuse::WriteAfterFree => unsafe {
            a.deallocate(block, small);
            block.add(40).write(0x5A);
            fault();
            let again = a.allocate(small).unwrap();
            a.deallocate(again.cast(), small);
        },
        _ => unreachable!("a misuse this suite does not know"),
    }
    FORBID.store(false, Ordering::SeqCst);
    // SAFETY: `keep` is live, from `a`, with `small`.
    unsafe { a.deallocate(keep.cast(), small) };
}

/// The body of one death test, `name` being its full name (as the test
/// harness lists it): in the child, commits the misuse; in the parent,
/// runs the child and checks how it ended.
pub fn death_test<C: Candidate>(misuse: Misuse, strategy: &str, name: &str) {
    if std::env::var(CHILD_VAR).as_deref() == Ok(name) {
        commit::<C>(misuse);
        eprintln!("the heap did not report the misuse");
        std::process::exit(0);
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, name)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("{name}: the child ran past {LIMIT:?} (a hang instead of a report)");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let expected = format!("polyalloc checking ({strategy}): {}", misuse.message());
    assert!(
        stderr.contains(&expected),
        "{name}: expected the report {expected:?}; the child's stderr:\n{stderr}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(SIGABRT),
            "{name}: the child must abort; it ended with {status}"
        );
    }
}

/// Expands to a module of five death tests (double free, a pointer the
/// heap does not own, an interior pointer, a free with the wrong layout, a
/// write after free) for a candidate built with its `checking` feature;
/// `strategy` is the name its reports give. A strategy that cannot tell one
/// of them lists the ones it can, as `test_name: Misuse` pairs:
///
/// ```ignore
/// misuse_tests!(bump: Bump, "bump", [double_free: DoubleFree, not_owned: NotOwned]);
/// ```
#[macro_export]
macro_rules! misuse_tests {
    ($module:ident : $candidate:ty, $strategy:expr, [$($test:ident : $misuse:ident),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::__misuse_test_fns!($candidate, $strategy; $($test: $misuse),*);
        }
    };
    ($module:ident : $candidate:ty, $strategy:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::__misuse_test_fns!(
                $candidate, $strategy;
                double_free: DoubleFree,
                not_owned: NotOwned,
                interior_pointer: Interior,
                wrong_layout: WrongLayout,
                write_after_free: WriteAfterFree,
            );
        }
    };
}

/// Implementation detail of [`misuse_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __misuse_test_fns {
    ($candidate:ty, $strategy:expr; $($test:ident : $misuse:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                // The harness names a test by its path without the crate.
                let path = module_path!();
                let module = path.split_once("::").map_or("", |(_, rest)| rest);
                let name = format!("{}::{}", module, stringify!($test));
                $crate::misuse::death_test::<$candidate>(
                    $crate::misuse::Misuse::$misuse,
                    $strategy,
                    &name,
                );
            }
        )*
    };
}
