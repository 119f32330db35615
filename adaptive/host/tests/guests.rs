//! Real guests in wasmtime: every allocator against the native build of the
//! same workloads, memory across invocations, out-of-memory, records and
//! the host-shared heap.
//!
//! The first test to run builds the guests (`polyalloc_host::guests`).

use polyalloc_adaptive::{RECORD_LEN, Reason, Strategy};
use polyalloc_host::guests::{self, GuestKind};
use polyalloc_host::{Feed, Guest, Host, HostError};
use polyalloc_workloads as workloads;

const FEEDS: [Feed; 2] = [Feed::Copy, Feed::Shared];

fn instance(kind: GuestKind) -> Guest {
    let module = guests::module(kind).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    Guest::new(guests::engine(), &module).unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

/// A workload export, its inputs, and the native function.
type Case = (
    &'static str,
    Vec<Vec<u8>>,
    fn(&[u8]) -> Result<Vec<u8>, workloads::InputError>,
);

fn pure_cases() -> Vec<Case> {
    vec![
        (
            "run_churn",
            vec![
                workloads::churn_input(1, 0),
                workloads::churn_input(7, 500),
                workloads::churn_input(42, 5_000),
            ],
            workloads::churn,
        ),
        (
            "run_request",
            vec![
                workloads::request_input(1, 0),
                workloads::request_input(3, 40),
                workloads::request_input(9, 400),
            ],
            workloads::request,
        ),
        (
            "run_pairs",
            vec![workloads::pairs_input(2, 0), workloads::pairs_input(4, 60)],
            workloads::pairs,
        ),
        (
            "run_matrix",
            vec![
                workloads::matrix_input(2, 1),
                workloads::matrix_input(6, 12),
            ],
            workloads::matrix,
        ),
        (
            "run_fill",
            vec![workloads::fill_input(0), workloads::fill_input(300_000)],
            workloads::fill,
        ),
    ]
}

#[test]
fn every_allocator_matches_native_output() {
    for kind in GuestKind::ALL {
        let mut guest = instance(kind);
        for (export, inputs, native) in pure_cases() {
            for input in &inputs {
                let expected = native(input).unwrap();
                for feed in FEEDS {
                    let got = guest.invoke(export, input, feed).unwrap();
                    assert_eq!(got, expected, "{kind:?} {export} fed by {feed:?}");
                    guest.end_invocation().unwrap();
                }
            }
        }
        // A refused input is an error code, not a trap.
        let err = guest.invoke("run_request", b"not json", Feed::Copy);
        assert!(
            matches!(err, Err(HostError::Refused { code: -1, .. })),
            "{kind:?}: {err:?}"
        );
    }
}

#[test]
fn stateful_cache_matches_native_across_invocations() {
    let keys: Vec<u32> = (0..300u32).map(|i| (i * 7919) % 97).collect();
    for kind in GuestKind::ALL {
        let mut guest = instance(kind);
        guest.set_stateful(true).unwrap();
        let mut cache = workloads::Cache::new();
        for (i, &key) in keys.iter().enumerate() {
            let input = workloads::cache_input(key);
            let got = guest.invoke("run_cache", &input, FEEDS[i % 2]).unwrap();
            assert_eq!(got, cache.serve(&input).unwrap(), "{kind:?} request {i}");
            guest.end_invocation().unwrap();
        }
        assert!(cache.len() <= workloads::CACHE_CAPACITY);
    }
}

#[test]
fn pure_guest_drops_its_state_at_each_reset() {
    for kind in GuestKind::ALL {
        let mut guest = instance(kind);
        guest.set_stateful(false).unwrap();
        for key in [5u32, 5, 6, 5] {
            let input = workloads::cache_input(key);
            // A pure function starts every invocation with a fresh cache.
            let expected = workloads::Cache::new().serve(&input).unwrap();
            let got = guest.invoke("run_cache", &input, Feed::Copy).unwrap();
            assert_eq!(got, expected, "{kind:?} key {key}");
            guest.end_invocation().unwrap();
        }
    }
}

/// Peak linear memory after the first invocations and after 1,000.
fn memory_over_invocations(kind: GuestKind, reset: bool, invocations: usize) -> (usize, usize) {
    let mut guest = instance(kind);
    guest.set_stateful(!reset).unwrap();
    let churn = workloads::churn_input(11, 400);
    let request = workloads::request_input(5, 30);
    let mut early = 0;
    for i in 0..invocations {
        let (export, input) = if i % 2 == 0 {
            ("run_churn", &churn)
        } else {
            ("run_request", &request)
        };
        guest.invoke(export, input, FEEDS[i % 3 % 2]).unwrap();
        guest.end_invocation().unwrap();
        if i == 9 {
            early = guest.memory_size();
        }
    }
    (early, guest.memory_size())
}

#[test]
fn memory_stays_flat_over_1000_invocations_with_reset() {
    for kind in GuestKind::ALL {
        let (early, last) = memory_over_invocations(kind, true, 1_000);
        assert_eq!(
            early, last,
            "{kind:?}: linear memory grew from {early} to {last} bytes"
        );
    }
    // Without the reset, bump keeps every invocation's blocks: the test
    // above would see it.
    let (early, last) = memory_over_invocations(GuestKind::Bump, false, 200);
    assert!(last > early, "bump without reset: {early} then {last}");
}

#[test]
fn out_of_memory_is_a_clean_failure() {
    const LIMIT: usize = 8 << 20;
    for kind in GuestKind::ALL {
        let module = guests::module(kind).unwrap();
        let mut guest = Guest::with_memory_limit(guests::engine(), &module, LIMIT).unwrap();
        guest.set_stateful(false).unwrap();
        // An input buffer the heap cannot give: an error code.
        let err = guest.copy_in(&vec![0; LIMIT]);
        assert!(
            matches!(err, Err(HostError::GuestOutOfMemory { .. })),
            "{kind:?}: {err:?}"
        );
        // A workload that asks for too much: the allocator fails, the
        // guest's runtime aborts, the host sees a trap.
        let err = guest
            .invoke("run_fill", &workloads::fill_input(16 << 20), Feed::Copy)
            .unwrap_err();
        assert!(err.trap().is_some(), "{kind:?}: {err}");
        assert!(guest.memory_size() <= LIMIT);
        // The heap is still sound: after the end of the invocation, smaller
        // requests work and give the native answers.
        guest.end_invocation().unwrap();
        for (export, inputs, native) in pure_cases() {
            for input in &inputs {
                let got = guest.invoke(export, input, Feed::Copy).unwrap();
                assert_eq!(got, native(input).unwrap(), "{kind:?} {export} after OOM");
                guest.end_invocation().unwrap();
            }
        }
    }
}

/// Enough out-of-order frees to move the adaptive heap off bump.
fn heavy_churn() -> Vec<u8> {
    workloads::churn_input(3, 20_000)
}

#[test]
fn record_makes_the_next_instance_start_in_the_recorded_strategy() {
    let module = guests::module(GuestKind::Adaptive).unwrap();
    let mut host = Host::new(guests::engine().clone());
    let mut first = host.instantiate("churner", &module).unwrap();
    assert_eq!(first.stats().unwrap().strategy, Some(Strategy::Bump));
    first
        .invoke("run_churn", &heavy_churn(), Feed::Copy)
        .unwrap();
    first.end_invocation().unwrap();
    let learned = first.stats().unwrap().strategy;
    assert!(
        learned.is_some_and(|s| s != Strategy::Bump),
        "the churn should leave bump: {learned:?}"
    );
    host.keep_record("churner", &mut first).unwrap();
    assert_eq!(
        host.records().get("churner").map(<[u8]>::len),
        Some(RECORD_LEN)
    );

    // The next instance starts there before running anything.
    let mut next = host.instantiate("churner", &module).unwrap();
    assert_eq!(next.stats().unwrap().strategy, learned);
    let record = next.record().unwrap().unwrap();
    assert_eq!(record[5], learned.unwrap() as u8, "strategy code");
    assert_eq!(record[6], Reason::Record as u8, "reason code");
    // And serves the same output.
    let output = next
        .invoke("run_churn", &heavy_churn(), Feed::Copy)
        .unwrap();
    assert_eq!(output, workloads::churn(&heavy_churn()).unwrap());

    // Another function has no record: it starts on bump.
    let mut other = host.instantiate("other", &module).unwrap();
    assert_eq!(other.stats().unwrap().strategy, Some(Strategy::Bump));
}

#[test]
fn refused_record_leaves_the_guest_at_its_defaults() {
    let module = guests::module(GuestKind::Adaptive).unwrap();
    let mut host = Host::new(guests::engine().clone());
    let mut guest = host.instantiate("f", &module).unwrap();
    let mut record = guest.record().unwrap().unwrap();
    record[20] ^= 1;
    let err = guest.load_record(&record).unwrap_err();
    assert!(matches!(err, HostError::Record { code: -5 }), "{err}");
    host.records_mut().put("f", record);
    let mut next = host.instantiate("f", &module).unwrap();
    assert!(
        host.records().get("f").is_none(),
        "the corrupt record is dropped"
    );
    assert_eq!(next.stats().unwrap().strategy, Some(Strategy::Bump));
}

#[test]
fn shared_heap_input_survives_memory_growth() {
    let mut guest = instance(GuestKind::Adaptive);
    let region = guest
        .shared_heap()
        .expect("the guest exports a region")
        .region();
    let request = workloads::request_input(8, 60);
    let expected = workloads::request(&request).unwrap();
    let before = guest.memory_size();
    assert_eq!(
        guest.invoke("run_request", &request, Feed::Shared).unwrap(),
        expected
    );
    // Grow the memory (wasmtime may move it); the region's offsets hold.
    guest
        .invoke("run_fill", &workloads::fill_input(4 << 20), Feed::Copy)
        .unwrap();
    assert!(guest.memory_size() > before);
    assert_eq!(
        guest.invoke("run_request", &request, Feed::Shared).unwrap(),
        expected
    );
    assert_eq!(guest.shared_heap().unwrap().region(), region);
    // The block written last is where the guest read it, inside the region.
    let heap = guest.shared_heap().unwrap();
    assert_eq!(
        heap.blocks_live(),
        0,
        "the input block was freed after the call"
    );
    guest.end_invocation().unwrap();
}

#[test]
fn memory_reads_are_bounds_checked() {
    let mut guest = instance(GuestKind::Bump);
    let size = guest.memory_size() as u32;
    assert!(matches!(
        guest.read(size - 4, 8),
        Err(HostError::OutOfBounds { .. })
    ));
    assert!(guest.write(size, &[1]).is_err());
    guest.write(size - 4, &[1, 2, 3, 4]).unwrap();
    assert_eq!(guest.read(size - 4, 4).unwrap(), [1, 2, 3, 4]);
    assert!(guest.call::<(), ()>("no_such_export", ()).is_err());
}

/// Bytes of initialised data a module carries (its data section).
fn data_bytes(kind: GuestKind) -> usize {
    let path = kind.wasm_path().unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut total = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::DataSection(reader) = payload.expect("a valid module") {
            for segment in reader {
                total += segment.expect("a valid data segment").data.len();
            }
        }
    }
    total
}

/// Every polyalloc allocator's `static` starts as zero bytes, so it lies in
/// the module's zero-filled memory instead of its data section: a guest
/// carries no more data than the same guest on dlmalloc, but for a few
/// constant tables (slab's size classes, the adaptive guest ABI's). The
/// adaptive heap is about 11 KB on wasm32, every byte of it in the module
/// while a few of its words started non-zero.
#[test]
fn allocator_statics_add_no_data() {
    let baseline = data_bytes(GuestKind::Dlmalloc);
    for kind in GuestKind::ALL {
        let data = data_bytes(kind);
        assert!(
            data <= baseline + 2048,
            "{kind:?}: {data} bytes of data, dlmalloc's guest {baseline}: its allocator's \
             static starts with non-zero bytes"
        );
    }
}

/// `Guest::fuel_used`: `None` on an engine that does not meter fuel; on one
/// that does, a count that grows with the guest's work and is the same for
/// the same invocation on two instances (what makes the benchmark's
/// instruction counts steady).
#[test]
fn fuel_counts_the_guests_work_the_same_every_time() {
    assert_eq!(instance(GuestKind::FreeList).fuel_used(), None);

    let mut config = polyalloc_host::wasmtime::Config::new();
    config.consume_fuel(true);
    let engine = polyalloc_host::wasmtime::Engine::new(&config).unwrap();
    let path = GuestKind::FreeList.wasm_path().unwrap();
    let module = polyalloc_host::wasmtime::Module::from_file(&engine, path).unwrap();
    let run = |ops: u32| {
        let mut guest = Guest::new(&engine, &module).unwrap();
        guest.set_stateful(false).unwrap();
        let before = guest.fuel_used().expect("a metered engine counts");
        let input = workloads::churn_input(3, ops);
        let output = guest.invoke("run_churn", &input, Feed::Copy).unwrap();
        assert_eq!(output, workloads::churn(&input).unwrap());
        guest.fuel_used().unwrap() - before
    };
    let (small, again, large) = (run(200), run(200), run(2_000));
    assert!(small > 0, "an invocation burns fuel");
    assert_eq!(small, again, "the same invocation counts the same");
    assert!(
        large > 5 * small,
        "ten times the operations: {small} then {large}"
    );
}
