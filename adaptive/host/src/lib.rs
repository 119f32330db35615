//! A wasmtime host for polyalloc guests.
//!
//! What a FaaS runtime does with a polyalloc guest, on the `wasmtime`
//! crate, small enough to copy:
//!
//! - [`Guest`] is one instance: call any export ([`Guest::call`]), read and
//!   write its memory by offsets ([`Guest::read`], [`Guest::write`]), pull
//!   out an output a guest packed as `addr << 32 | len`
//!   ([`Guest::take_output`]), and drive the allocator through the guest ABI
//!   ([`Guest::end_invocation`], [`Guest::record`], [`Guest::load_record`],
//!   [`Guest::stats`]).
//! - Input goes in two ways ([`Feed`]): copied into a buffer the guest
//!   allocates, or written straight into the region the guest sets aside
//!   for the host, managed from here as a
//!   [`SharedHeap`](polyalloc_adaptive::shared::SharedHeap) by offsets (a
//!   runtime may move guest memory when it grows it).
//! - [`Host`] keeps each function's adaptive record in a [`RecordStore`]
//!   and hands it to the function's next instance.
//! - [`guests`] builds this repository's guest modules for
//!   `wasm32-unknown-unknown` (once per process) for tests and benchmarks.
//!
//! ```no_run
//! use polyalloc_host::{Feed, Host, guests::{self, GuestKind}};
//!
//! let mut host = Host::new(guests::engine().clone());
//! let module = guests::module(GuestKind::Adaptive)?;
//! let mut guest = host.instantiate("orders", &module)?;
//! guest.set_stateful(false)?;
//! let input = polyalloc_workloads::request_input(1, 50);
//! for _ in 0..3 {
//!     let output = guest.invoke("run_request", &input, Feed::Shared)?;
//!     assert!(output.starts_with(b"{"));
//!     guest.end_invocation()?;
//! }
//! host.keep_record("orders", &mut guest)?;
//! # Ok::<(), polyalloc_host::HostError>(())
//! ```

mod error;
mod guest;
pub mod guests;
mod records;

pub use error::HostError;
pub use guest::{Feed, Guest, GuestStats};
pub use records::{Host, RecordStore};

/// Re-exported so a host names the same wasmtime version as this crate.
pub use wasmtime;
