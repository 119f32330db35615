//! One guest instance and what a host does with it.
//!
//! The host keeps no pointer into guest memory: wasmtime may move a memory
//! when it grows it, so every access takes the memory's bytes afresh and
//! works by offsets.

use polyalloc_adaptive::abi::STATS_WORDS;
use polyalloc_adaptive::shared::SharedHeap;
use polyalloc_adaptive::{RECORD_LEN, Strategy};
use wasmtime::{
    Engine, Instance, Memory, Module, Store, StoreLimits, StoreLimitsBuilder, WasmParams,
    WasmResults,
};

use crate::HostError;

/// How [`Guest::invoke`] hands input to the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// The usual way: `guest_alloc_buffer` gives a block of the guest's
    /// heap, the host copies the input into it, and frees it after the call.
    Copy,
    /// The host-shared heap: the host writes the input into the region the
    /// guest set aside, without calling into the guest; the block is freed
    /// on the host side after the call.
    Shared,
}

/// The guest ABI's statistics (`polyalloc_stats`): the adaptive heap's
/// counters over the function's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestStats {
    /// Successful allocations.
    pub allocations: u64,
    /// Successful frees.
    pub deallocations: u64,
    /// Frees the serving strategy could not reuse.
    pub failed_deallocations: u64,
    /// Resizes done in place.
    pub reallocations: u64,
    /// Bytes requested.
    pub bytes_allocated: u64,
    /// The most bytes live at once.
    pub peak_bytes_live: u64,
    /// Bytes live now.
    pub bytes_live: u64,
    /// Bytes reserved from linear memory.
    pub bytes_reserved: u64,
    /// The strategy serving the run phase (`None` for a code this host does
    /// not know).
    pub strategy: Option<Strategy>,
    /// Invocations ended.
    pub invocations: u64,
}

/// One instance of a guest module, its store and its memory, and the
/// host-shared heap over the region the guest exports (if it does).
pub struct Guest {
    store: Store<StoreLimits>,
    instance: Instance,
    memory: Memory,
    shared: Option<SharedHeap>,
}

impl Guest {
    /// Instantiates `module` (no imports) with no limit on its memory but
    /// the module's own.
    pub fn new(engine: &Engine, module: &Module) -> Result<Self, HostError> {
        Self::with_limits(engine, module, StoreLimits::default())
    }

    /// Instantiates `module` with its linear memory capped at `bytes`: a
    /// `memory.grow` past it fails, and the guest's allocator sees an
    /// out-of-memory.
    pub fn with_memory_limit(
        engine: &Engine,
        module: &Module,
        bytes: usize,
    ) -> Result<Self, HostError> {
        let limits = StoreLimitsBuilder::new().memory_size(bytes).build();
        Self::with_limits(engine, module, limits)
    }

    /// Instantiates `module` under `limits`. The module must export its
    /// memory as `memory` (Rust guests do).
    pub fn with_limits(
        engine: &Engine,
        module: &Module,
        limits: StoreLimits,
    ) -> Result<Self, HostError> {
        let mut store = Store::new(engine, limits);
        store.limiter(|limits| limits);
        // An engine that meters fuel (`Config::consume_fuel`) starts every
        // store empty, which would trap the first instruction: fill it, so
        // that `fuel_used` counts and nothing runs out. Elsewhere this is
        // an error, and nothing to do.
        let _ = store.set_fuel(u64::MAX);
        let instance = Instance::new(&mut store, module, &[])?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| wasmtime::format_err!("the guest exports no `memory`"))?;
        let mut guest = Self {
            store,
            instance,
            memory,
            shared: None,
        };
        if guest.has_export("polyalloc_shared_region") {
            let start: u32 = guest.call("polyalloc_shared_region", ())?;
            let len: u32 = guest.call("polyalloc_shared_region_len", ())?;
            let end = start.checked_add(len).ok_or(HostError::OutOfBounds {
                offset: start.into(),
                len: len.into(),
                memory: guest.memory_size(),
            })?;
            guest.check(start.into(), len.into())?;
            guest.shared = Some(SharedHeap::new(start..end));
        }
        Ok(guest)
    }

    /// Whether the guest exports `name`.
    pub fn has_export(&mut self, name: &str) -> bool {
        self.instance.get_export(&mut self.store, name).is_some()
    }

    /// Calls the export `name` with `params` (a tuple of `i32`, `u32`, `i64`
    /// …; `()` for none) and returns its results. A trap comes back as
    /// [`HostError::Wasm`] ([`HostError::trap`] names it).
    pub fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> Result<R, HostError> {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)?;
        Ok(func.call(&mut self.store, params)?)
    }

    /// The guest's memory as it is now (valid until the next call into the
    /// guest, which may grow and move it).
    pub fn memory(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    /// The guest's memory, writable (see [`memory`](Self::memory)).
    pub fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    /// The fuel this instance has burnt since it was made, when its engine
    /// meters fuel (`wasmtime::Config::consume_fuel`); `None` otherwise.
    ///
    /// Wasmtime charges one unit for most wasm instructions the guest runs
    /// (none for `nop`, `drop`, `block`, `loop` and `end`; one for a bulk
    /// `memory.copy` or `memory.fill` whatever its length), so the
    /// difference across a call is a count of the guest's work that does
    /// not move with the machine's load: what the benchmarks use for steady
    /// figures, as callgrind's instruction counts are for native code.
    pub fn fuel_used(&self) -> Option<u64> {
        self.store.get_fuel().ok().map(|left| u64::MAX - left)
    }

    /// The guest's linear memory size in bytes. Linear memory never shrinks,
    /// so this is also its peak.
    pub fn memory_size(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    fn check(&self, offset: u64, len: u64) -> Result<std::ops::Range<usize>, HostError> {
        let memory = self.memory_size();
        let end = offset.checked_add(len);
        match end {
            Some(end) if end <= memory as u64 => Ok(offset as usize..end as usize),
            _ => Err(HostError::OutOfBounds {
                offset,
                len,
                memory,
            }),
        }
    }

    /// A copy of `len` bytes at `offset` in guest memory.
    pub fn read(&self, offset: u32, len: u32) -> Result<Vec<u8>, HostError> {
        let range = self.check(offset.into(), len.into())?;
        Ok(self.memory()[range].to_vec())
    }

    /// Writes `bytes` at `offset` in guest memory.
    pub fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), HostError> {
        let range = self.check(offset.into(), bytes.len() as u64)?;
        self.memory_mut()[range].copy_from_slice(bytes);
        Ok(())
    }

    /// Copies `bytes` into a buffer from the guest's heap
    /// (`guest_alloc_buffer`) and returns its offset; the guest frees it
    /// with [`free`](Self::free), or a pure guest's end of invocation
    /// forgets it.
    pub fn copy_in(&mut self, bytes: &[u8]) -> Result<u32, HostError> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| HostError::GuestOutOfMemory { len: bytes.len() })?;
        let at: u32 = self.call("guest_alloc_buffer", len)?;
        if at == 0 {
            return Err(HostError::GuestOutOfMemory { len: bytes.len() });
        }
        if !bytes.is_empty() {
            self.write(at, bytes)?;
        }
        Ok(at)
    }

    /// Frees a buffer or an output of `len` bytes at `offset` in the guest's
    /// heap (`guest_free_buffer`).
    pub fn free(&mut self, offset: u32, len: u32) -> Result<(), HostError> {
        self.call("guest_free_buffer", (offset, len))
    }

    /// Reads an output the export `export` returned packed as
    /// `addr << 32 | len` and frees it in the guest (if the guest exports
    /// `guest_free_buffer`). A negative value is the export's error code.
    pub fn take_output(&mut self, export: &str, packed: i64) -> Result<Vec<u8>, HostError> {
        if packed < 0 {
            return Err(HostError::Refused {
                export: export.to_owned(),
                code: packed,
            });
        }
        let (addr, len) = ((packed >> 32) as u32, packed as u32);
        let output = self.read(addr, len)?;
        if self.has_export("guest_free_buffer") {
            self.free(addr, len)?;
        }
        Ok(output)
    }

    /// One call of a workload export `(addr, len) -> i64` on `input`, fed
    /// as `feed` says; returns the output. The input's block is freed after
    /// the call; the invocation is not ended (see
    /// [`end_invocation`](Self::end_invocation)).
    pub fn invoke(&mut self, export: &str, input: &[u8], feed: Feed) -> Result<Vec<u8>, HostError> {
        let len = input.len() as u32;
        let at = match feed {
            Feed::Copy => self.copy_in(input)?,
            Feed::Shared => {
                let shared = self.shared.as_mut().ok_or(HostError::NoSharedRegion)?;
                shared.write(self.memory.data_mut(&mut self.store), input, 16)?
            }
        };
        let packed: i64 = self.call(export, (at, len))?;
        let output = self.take_output(export, packed);
        match feed {
            Feed::Copy => self.free(at, len)?,
            Feed::Shared => {
                if let Some(shared) = self.shared.as_mut() {
                    shared.free(at)?;
                }
            }
        }
        output
    }

    /// The host-shared heap over the guest's region, if it exports one.
    pub fn shared_heap(&self) -> Option<&SharedHeap> {
        self.shared.as_ref()
    }

    /// Ends an invocation: the guest's `polyalloc_reset` (a pure guest's run
    /// heap is emptied, a stateful one's kept) and the host-shared heap's
    /// reset.
    pub fn end_invocation(&mut self) -> Result<(), HostError> {
        self.call::<(), ()>("polyalloc_reset", ())?;
        if let Some(shared) = self.shared.as_mut() {
            shared.reset();
        }
        Ok(())
    }

    /// Marks the function stateful (its heap kept across invocations) or
    /// pure (`polyalloc_set_stateful`).
    pub fn set_stateful(&mut self, stateful: bool) -> Result<(), HostError> {
        self.call("polyalloc_set_stateful", i32::from(stateful))
    }

    /// The adaptive allocator's record (`polyalloc_record`), or `None` for a
    /// guest without the adaptive guest ABI.
    pub fn record(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        if !self.has_export("polyalloc_record") {
            return Ok(None);
        }
        let at: u32 = self.call("polyalloc_record", ())?;
        self.read(at, RECORD_LEN as u32).map(Some)
    }

    /// Hands a stored record to the guest (`polyalloc_buffer`, then
    /// `polyalloc_load_record`); a refused record leaves the guest at its
    /// defaults and comes back as [`HostError::Record`].
    pub fn load_record(&mut self, record: &[u8]) -> Result<(), HostError> {
        let at: u32 = self.call("polyalloc_buffer", ())?;
        let room: u32 = self.call("polyalloc_buffer_len", ())?;
        let len = record.len().min(room as usize);
        self.write(at, &record[..len])?;
        // Longer than the buffer: let the guest say so by its own code.
        let code: i32 = self.call("polyalloc_load_record", record.len() as u32)?;
        match code {
            0 => Ok(()),
            code => Err(HostError::Record { code }),
        }
    }

    /// The allocation profile of a guest profiled by `polyalloc-profile`
    /// (its `guest_abi!`): the DHAT JSON the guest builds in its memory on
    /// `polyalloc_profile_write`, copied out from `polyalloc_profile_ptr`.
    /// Write it to a file and open it in DHAT's viewer
    /// (docs/profiling.md).
    pub fn profile(&mut self) -> Result<Vec<u8>, HostError> {
        let len: u32 = self.call("polyalloc_profile_write", ())?;
        let at: u32 = self.call("polyalloc_profile_ptr", ())?;
        self.read(at, len)
    }

    /// The adaptive allocator's statistics (`polyalloc_stats`).
    pub fn stats(&mut self) -> Result<GuestStats, HostError> {
        let at: u32 = self.call("polyalloc_stats", ())?;
        let bytes = self.read(at, (STATS_WORDS * 8) as u32)?;
        let mut words = bytes
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
        let mut next = || words.next().unwrap_or(0);
        Ok(GuestStats {
            allocations: next(),
            deallocations: next(),
            failed_deallocations: next(),
            reallocations: next(),
            bytes_allocated: next(),
            peak_bytes_live: next(),
            bytes_live: next(),
            bytes_reserved: next(),
            strategy: u8::try_from(next()).ok().and_then(Strategy::from_code),
            invocations: next(),
        })
    }
}
