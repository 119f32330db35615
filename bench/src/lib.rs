//! Benchmarks of the polyalloc allocators against their peers.
//!
//! The crate has three front ends over one set of parts:
//!
//! - `cargo run --release -p polyalloc-bench`: the comparison run
//!   (`src/main.rs`): three groups, the bump allocators, the general-purpose
//!   ones and the power-of-two (buddy) ones, each workload against every
//!   contestant of its group, interleaved, several rounds, reported as
//!   ratios against the peers measured in the same run, with an A/A row as
//!   the error bar, and (general and power-of-two groups) the peak bytes
//!   each reserved from the OS; plus the `matrix` measurement of where
//!   blocks are placed ([`matrix`]);
//! - `cargo bench -p polyalloc-bench --bench bump`: criterion
//!   micro-benchmarks of single operations (`benches/bump.rs`);
//! - `bash bench/callgrind.sh`: instructions per operation under valgrind's
//!   callgrind (`src/bin/instr.rs`), the figure that does not move with the
//!   machine's load.
//!
//! The comparison run also has a part where each allocator is the
//! process's global allocator, in a child process per run ([`host`]).
//!
//! The parts:
//!
//! - [`contestants`]: the allocators, each behind the one small
//!   [`Contestant`] trait, and the list of each group
//!   ([`contestants::general`] for the general-purpose one,
//!   [`contestants::buddy`] for the power-of-two one);
//! - [`group`]: the three groups, and what each compares against what;
//! - [`backing`]: memory from the OS for the general-purpose and
//!   power-of-two contestants, counted the same way for each;
//! - [`requested`]: the bytes a workload has live in requests, the other
//!   side of the fragmentation figure;
//! - [`adapters`]: allocator-api2 `Allocator` views used by the workloads that
//!   build collections (`Vec::new_in`, `Box::new_in`);
//! - [`workloads`]: what is measured, written once, generic over the
//!   contestant;
//! - [`matrix`]: a naive matrix multiply over rows allocated by a
//!   contestant, timed apart from the allocation;
//! - [`host`]: the host workloads (larson, xmalloc, cache-scratch, ...) and
//!   the global allocator that runs them on the allocator a child process
//!   is started with.
//!
//! To add an allocator: implement [`Contestant`] for it and add one line to
//! its group's list ([`contestants::for_each`],
//! [`contestants::general::for_each`] or [`contestants::buddy::for_each`]).
//! To add a workload: add a variant to [`Workload`] and its function in
//! `workloads.rs`, `workloads/general.rs` or `workloads/buddy.rs`.

pub mod adapters;
pub mod backing;
pub mod contestants;
pub mod group;
pub mod host;
pub mod matrix;
pub mod requested;
pub mod workloads;

pub use contestants::Contestant;
pub use group::Group;
pub use workloads::Workload;
