//! The wasm guest comparison: the same workloads in guests on polyalloc's
//! allocators and on dlmalloc (std's default, measured twice: the A/A row),
//! talc and lol_alloc, run in wasmtime.
//!
//! ```sh
//! cargo run --release -p polyalloc-host --bin wasm-bench            # every workload
//! cargo run --release -p polyalloc-host --bin wasm-bench -- churn   # those whose name contains "churn"
//! cargo run --release -p polyalloc-host --bin wasm-bench -- request adaptive   # and only these allocators (dlmalloc stays: it is the base)
//! ```
//!
//! Per workload and allocator, medians: time per invocation on a reused instance
//! (the end of invocation included), the end of invocation alone, time with
//! a fresh instance (instantiation included), linear memory after 1 and
//! after 100 invocations, and the wasm/native ratio; then the same reused
//! invocations counted in wasm instructions (wasmtime's fuel, on an engine
//! of its own that meters it): figures that do not move with the machine's
//! load. Then the request handler fed by copy against the host-shared heap.
//! Every output is checked against the native build's. Markdown on stdout,
//! for docs/benchmarks.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use polyalloc_host::guests::GuestKind;
use polyalloc_host::wasmtime::{Config, Engine, Module};
use polyalloc_host::{Feed, Guest, Host, HostError};
use polyalloc_workloads as workloads;

/// Invocations on the reused instance (the memory column's "after 100").
const REUSED: usize = 100;
/// Fresh instances, each for one invocation.
const FRESH: usize = 10;

/// One workload: its export, its input for the `i`th invocation, and the
/// native function that must give the same output.
struct Workload {
    name: &'static str,
    export: &'static str,
    /// Kept across invocations (the cache), rather than pure.
    stateful: bool,
    inputs: Vec<Vec<u8>>,
}

impl Workload {
    fn input(&self, i: usize) -> &[u8] {
        &self.inputs[i % self.inputs.len()]
    }

    /// The native outputs of invocations `0..n` on one instance, and the
    /// mean native time per invocation.
    fn native(&self, n: usize) -> (Vec<Vec<u8>>, Duration) {
        let mut cache = workloads::Cache::new();
        let start = Instant::now();
        let outputs: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let input = self.input(i);
                let out = match self.export {
                    "run_churn" => workloads::churn(input),
                    "run_request" => workloads::request(input),
                    "run_pairs" => workloads::pairs(input),
                    "run_matrix" => workloads::matrix(input),
                    "run_cache" => cache.serve(input),
                    other => unreachable!("no native {other}"),
                };
                black_box(out.expect("the inputs are valid"))
            })
            .collect();
        (outputs, start.elapsed() / n as u32)
    }
}

fn workloads() -> Vec<Workload> {
    let one = |input| vec![input];
    vec![
        Workload {
            name: "pairs: 2,000 integers in JSON, O(n²) pairs, JSON out",
            export: "run_pairs",
            stateful: false,
            inputs: one(workloads::pairs_input(1, 2_000)),
        },
        Workload {
            name: "matrix: 300×300 multiply through JSON",
            export: "run_matrix",
            stateful: false,
            inputs: one(workloads::matrix_input(1, 300)),
        },
        Workload {
            name: "request: parse a ~150 KB order, maps and strings, JSON out",
            export: "run_request",
            stateful: false,
            inputs: one(workloads::request_input(1, 3_800)),
        },
        Workload {
            name: "churn: 20,000 seeded alloc/free/realloc",
            export: "run_churn",
            stateful: false,
            inputs: one(workloads::churn_input(1, 20_000)),
        },
        Workload {
            name: "cache: a stateful function, 64-entry cache kept across invocations",
            export: "run_cache",
            stateful: true,
            inputs: (0..97u32)
                .map(|i| workloads::cache_input((i * 7919) % 131))
                .collect(),
        },
    ]
}

/// One row's figures.
struct Row {
    label: String,
    reused: Duration,
    reset: Duration,
    fresh: Duration,
    memory_1: usize,
    memory_100: usize,
}

/// One row's counts: wasm instructions (fuel) per invocation on a reused
/// instance, its end of invocation included, and of the end alone; medians.
struct Counts {
    invocation: u64,
    reset: u64,
}

fn instantiate(host: &mut Host, module: &Module, w: &Workload) -> Guest {
    let mut guest = host.instantiate(w.export, module).expect("instantiate");
    guest.set_stateful(w.stateful).expect("set_stateful");
    guest
}

fn measure(
    host: &mut Host,
    kind: GuestKind,
    module: &Module,
    w: &Workload,
    expected: &[Vec<u8>],
) -> Result<Row, HostError> {
    // A reused instance: invocation after invocation, reset between them.
    let mut guest = instantiate(host, module, w);
    let (mut reused, mut reset, mut memory_1) = (Vec::new(), Vec::new(), 0);
    for (i, expected) in expected.iter().enumerate() {
        let start = Instant::now();
        let output = guest.invoke(w.export, w.input(i), Feed::Copy)?;
        let call = start.elapsed();
        guest.end_invocation()?;
        reused.push(start.elapsed());
        reset.push(start.elapsed() - call);
        assert_eq!(&output, expected, "{kind:?} {} invocation {i}", w.export);
        if i == 0 {
            memory_1 = guest.memory_size();
        }
    }
    let memory_100 = guest.memory_size();
    // What the adaptive allocator learned goes to the fresh instances.
    host.keep_record(w.export, &mut guest)?;
    drop(guest);
    // Fresh instances: instantiation and one invocation each.
    let mut fresh = Vec::new();
    for _ in 0..FRESH {
        let start = Instant::now();
        let mut guest = instantiate(host, module, w);
        let output = guest.invoke(w.export, w.input(0), Feed::Copy)?;
        fresh.push(start.elapsed());
        assert_eq!(output, expected[0], "{kind:?} {} fresh", w.export);
    }
    Ok(Row {
        label: String::new(),
        reused: median(reused),
        reset: median(reset),
        fresh: median(fresh),
        memory_1,
        memory_100,
    })
}

/// The reused-instance loop of [`measure`] on an engine that meters fuel:
/// the guest's own work, counted. The counts of the first invocations
/// include what the adaptive allocator does while it learns; the median is
/// the steady invocation, as for the times.
fn count(
    host: &mut Host,
    kind: GuestKind,
    module: &Module,
    w: &Workload,
    expected: &[Vec<u8>],
) -> Result<Counts, HostError> {
    let mut guest = instantiate(host, module, w);
    let used = |guest: &Guest| guest.fuel_used().expect("an engine that meters fuel");
    let (mut invocation, mut reset) = (Vec::new(), Vec::new());
    for (i, expected) in expected.iter().enumerate() {
        let start = used(&guest);
        let output = guest.invoke(w.export, w.input(i), Feed::Copy)?;
        let call = used(&guest);
        guest.end_invocation()?;
        let end = used(&guest);
        invocation.push(end - start);
        reset.push(end - call);
        assert_eq!(
            &output, expected,
            "{kind:?} {} counted invocation {i}",
            w.export
        );
    }
    Ok(Counts {
        invocation: median(invocation),
        reset: median(reset),
    })
}

/// The median: on a shared machine, one slow sample should not move a
/// figure.
fn median<T: Ord + Copy>(mut samples: Vec<T>) -> T {
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn kib(bytes: usize) -> String {
    format!("{}", bytes / 1024)
}

fn main() -> Result<(), HostError> {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let only = std::env::args().nth(2).unwrap_or_default();
    // The A/A pair: dlmalloc measured twice, as the honest error bar.
    let mut rows: Vec<(GuestKind, &str)> = vec![(GuestKind::Dlmalloc, "dlmalloc (A)")];
    rows.extend(GuestKind::ALL.iter().map(|&k| (k, k.name())));
    rows.extend([
        (GuestKind::Talc, "talc"),
        (GuestKind::LolAlloc, "lol_alloc"),
        (GuestKind::Dlmalloc, "dlmalloc (A/A)"),
    ]);
    // The first row is the base of every ratio: it stays whatever the
    // filter.
    let mut first = true;
    rows.retain(|&(_, label)| std::mem::take(&mut first) || label.contains(&only));
    // Optimised code, as a FaaS host runs it.
    let engine = Engine::default();
    // The same modules compiled again with fuel metering, for the counts.
    let metered = Engine::new(Config::new().consume_fuel(true))?;
    let mut modules = Vec::new();
    let mut metered_modules = Vec::new();
    for &(kind, _) in &rows {
        modules.push(Module::from_file(&engine, kind.wasm_path()?)?);
        metered_modules.push(Module::from_file(&metered, kind.wasm_path()?)?);
    }
    println!(
        "wasm guests in wasmtime (optimised), {REUSED} invocations on a reused instance, \
         {FRESH} fresh instances; median times per invocation in µs, memory in KiB\n"
    );
    for w in workloads().iter().filter(|w| w.name.contains(&filter)) {
        let (expected, native) = w.native(REUSED);
        println!("### {}\n", w.name);
        println!(
            "| allocator | reused | vs dlmalloc | of which reset | fresh | memory after 1 | after 100 | wasm/native | wasm instructions | vs dlmalloc | of which reset |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        // A warm-up, not shown: the first row measured would otherwise pay
        // for the process's first instances and pages.
        let (kind, _) = rows[0];
        measure(
            &mut Host::new(engine.clone()),
            kind,
            &modules[0],
            w,
            &expected,
        )?;
        let (mut base, mut base_count) = (None, None);
        for ((&(kind, label), module), metered_module) in
            rows.iter().zip(&modules).zip(&metered_modules)
        {
            // Each row starts with no record: a host of its own.
            let mut host = Host::new(engine.clone());
            let mut row = measure(&mut host, kind, module, w, &expected)?;
            row.label = label.to_owned();
            let counts = count(
                &mut Host::new(metered.clone()),
                kind,
                metered_module,
                w,
                &expected,
            )?;
            let base = *base.get_or_insert(row.reused);
            let base_count = *base_count.get_or_insert(counts.invocation);
            println!(
                "| {} | {} | {:.2} | {} | {} | {} | {} | {:.2} | {} | {:.3} | {} |",
                row.label,
                micros(row.reused),
                row.reused.as_secs_f64() / base.as_secs_f64(),
                micros(row.reset),
                micros(row.fresh),
                kib(row.memory_1),
                kib(row.memory_100),
                row.reused.as_secs_f64() / native.as_secs_f64(),
                counts.invocation,
                counts.invocation as f64 / base_count as f64,
                counts.reset,
            );
        }
        println!("\nnative: {} µs per invocation\n", micros(native));
    }
    if "request: copy against shared".contains(&filter) {
        copy_against_shared(&engine)?;
    }
    Ok(())
}

/// The request handler's input fed by copy into a guest buffer against
/// written in place through the host-shared heap.
fn copy_against_shared(engine: &Engine) -> Result<(), HostError> {
    let input = workloads::request_input(1, 3_800);
    let expected = workloads::request(&input).expect("valid input");
    println!(
        "### request: input by copy against the host-shared heap ({} KB)\n",
        input.len() / 1000
    );
    println!("| allocator | copy µs | shared µs | shared / copy |");
    println!("|---|---:|---:|---:|");
    for kind in [GuestKind::Bump, GuestKind::Adaptive, GuestKind::Dlmalloc] {
        let module = Module::from_file(engine, kind.wasm_path()?)?;
        let mut guest = Guest::new(engine, &module)?;
        guest.set_stateful(false)?;
        let mut time = [Vec::new(), Vec::new()];
        for i in 0..2 * REUSED {
            let feed = [Feed::Copy, Feed::Shared][i % 2];
            let start = Instant::now();
            let output = guest.invoke("run_request", &input, feed)?;
            guest.end_invocation()?;
            time[i % 2].push(start.elapsed());
            assert_eq!(output, expected, "{kind:?} {feed:?}");
        }
        let [copy, shared] = time.map(median);
        println!(
            "| {} | {} | {} | {:.2} |",
            kind.name(),
            micros(copy),
            micros(shared),
            shared.as_secs_f64() / copy.as_secs_f64()
        );
    }
    println!();
    Ok(())
}
