//! Records kept per function across instances.

use std::collections::HashMap;

use wasmtime::{Engine, Module};

use crate::{Guest, HostError};

/// Each function's last adaptive record, by function name: what the
/// allocator learned, handed to the function's next instance. In memory
/// here; a runtime would persist the bytes (244 per function) with the
/// function's other metadata.
#[derive(Clone, Debug, Default)]
pub struct RecordStore {
    records: HashMap<String, Vec<u8>>,
}

impl RecordStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The record stored for `function`.
    #[must_use]
    pub fn get(&self, function: &str) -> Option<&[u8]> {
        self.records.get(function).map(Vec::as_slice)
    }

    /// Stores `record` for `function`, replacing the previous one.
    pub fn put(&mut self, function: &str, record: Vec<u8>) {
        self.records.insert(function.to_owned(), record);
    }

    /// Forgets `function`'s record (a refused one, say).
    pub fn remove(&mut self, function: &str) -> Option<Vec<u8>> {
        self.records.remove(function)
    }

    /// Functions with a record.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no function has a record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// A host: an engine and the records of the functions it runs.
pub struct Host {
    engine: Engine,
    records: RecordStore,
}

impl Host {
    /// A host on `engine` with no records yet.
    #[must_use]
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            records: RecordStore::new(),
        }
    }

    /// The engine guests are instantiated on.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The records kept so far.
    #[must_use]
    pub fn records(&self) -> &RecordStore {
        &self.records
    }

    /// The records, writable (to load persisted ones, say).
    pub fn records_mut(&mut self) -> &mut RecordStore {
        &mut self.records
    }

    /// Instantiates `module` for `function` and hands it the function's
    /// stored record, if there is one and the guest has the adaptive guest
    /// ABI. A record the guest refuses is dropped from the store (the guest
    /// starts at its defaults) rather than failing the instantiation.
    pub fn instantiate(&mut self, function: &str, module: &Module) -> Result<Guest, HostError> {
        let mut guest = Guest::new(&self.engine, module)?;
        if let Some(record) = self.records.get(function)
            && guest.has_export("polyalloc_load_record")
        {
            let record = record.to_vec();
            match guest.load_record(&record) {
                Ok(()) => {}
                Err(HostError::Record { .. }) => {
                    self.records.remove(function);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(guest)
    }

    /// Stores `guest`'s record for `function` (a guest without the adaptive
    /// guest ABI has none: nothing is stored). Call it when an instance is
    /// retired, or after any invocation.
    pub fn keep_record(&mut self, function: &str, guest: &mut Guest) -> Result<(), HostError> {
        if let Some(record) = guest.record()? {
            self.records.put(function, record);
        }
        Ok(())
    }
}
