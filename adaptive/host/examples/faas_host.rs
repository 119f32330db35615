//! A FaaS host in a page: run a function's guest module invocation after
//! invocation, reset its heap between them, feed its input both ways, and
//! keep what its allocator learned for the next instance.
//!
//! ```sh
//! cargo run --example faas_host -p polyalloc-host            # this repository's adaptive guest
//! cargo run --example faas_host -p polyalloc-host -- my.wasm # any guest with the same exports
//! ```
//!
//! A guest for it has `polyalloc_adaptive::AdaptiveAlloc` as its global
//! allocator, `polyalloc_adaptive::guest_abi!`, and the workload exports
//! (`guest_alloc_buffer`, `run_churn`, … ; see `docs/wasm.md`).

use std::time::{Duration, Instant};

use polyalloc_host::guests::GuestKind;
use polyalloc_host::wasmtime::{Engine, Module};
use polyalloc_host::{Feed, Host, HostError};

fn main() -> Result<(), HostError> {
    // The engine and the compiled module are shared by every instance.
    let engine = Engine::default();
    let path = match std::env::args_os().nth(1) {
        Some(path) => path.into(),
        None => GuestKind::Adaptive.wasm_path()?,
    };
    let module = Module::from_file(&engine, &path)?;
    let mut host = Host::new(engine);

    let input = polyalloc_workloads::churn_input(3, 20_000);
    for instance in 1..=2 {
        // A new instance gets the function's stored record, if any.
        let mut guest = host.instantiate("churner", &module)?;
        // Each invocation owns nothing after it returns: a pure function,
        // whose run heap the reset empties.
        guest.set_stateful(false)?;
        let start = guest.stats()?.strategy;
        let mut time = [Duration::ZERO; 2];
        for i in 0..50 {
            let feed = [Feed::Copy, Feed::Shared][i % 2];
            let t = Instant::now();
            let output = guest.invoke("run_churn", &input, feed)?;
            time[i % 2] += t.elapsed();
            assert_eq!(output.len(), 16);
            guest.end_invocation()?;
        }
        let stats = guest.stats()?;
        println!(
            "instance {instance}: started on {:?}, now {:?} ({} invocations recorded, \
             earlier instances included); peak linear memory {} KiB; 25 calls fed by copy {:?}, 25 through the shared heap {:?}",
            start.map(|s| s.name()),
            stats.strategy.map(|s| s.name()),
            stats.invocations,
            guest.memory_size() / 1024,
            time[0],
            time[1],
        );
        // What the allocator learned goes to the next instance.
        host.keep_record("churner", &mut guest)?;
    }
    Ok(())
}
