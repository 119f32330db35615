//! What can go wrong between a host and its guest.

use core::fmt;

use polyalloc_adaptive::shared::SharedError;

/// A failure of a host operation. The guest instance is left as it was
/// unless the variant says otherwise.
#[derive(Debug)]
pub enum HostError {
    /// wasmtime failed: instantiation, a missing or mistyped export, or a
    /// trap in the guest ([`HostError::trap`] tells which trap). After a
    /// trap the instance may hold leaked blocks; a pure guest's next
    /// [`end_invocation`](crate::Guest::end_invocation) reclaims them.
    Wasm(wasmtime::Error),
    /// The guest's allocator could not give a buffer of `len` bytes.
    GuestOutOfMemory {
        /// Bytes asked for.
        len: usize,
    },
    /// A guest export answered with an error code.
    Refused {
        /// The export.
        export: String,
        /// Its code.
        code: i64,
    },
    /// The guest refused a record: `polyalloc_load_record`'s code (see
    /// `polyalloc_adaptive::abi_error_code`).
    Record {
        /// The code the guest returned.
        code: i32,
    },
    /// A range outside the guest's memory.
    OutOfBounds {
        /// Offset asked for.
        offset: u64,
        /// Length asked for.
        len: u64,
        /// The memory's size in bytes.
        memory: usize,
    },
    /// The host-shared heap refused a request.
    Shared(SharedError),
    /// The guest exports no region for the host-shared heap.
    NoSharedRegion,
}

impl HostError {
    /// The trap that ended a guest call, if that is what happened.
    #[must_use]
    pub fn trap(&self) -> Option<wasmtime::Trap> {
        match self {
            Self::Wasm(e) => e.downcast_ref::<wasmtime::Trap>().copied(),
            _ => None,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wasm(e) => write!(f, "wasmtime: {e}"),
            Self::GuestOutOfMemory { len } => {
                write!(f, "the guest's allocator could not give {len} bytes")
            }
            Self::Refused { export, code } => write!(f, "guest export `{export}` returned {code}"),
            Self::Record { code } => {
                let why = match code {
                    -1 => "truncated",
                    -2 => "too long",
                    -3 => "foreign",
                    -4 => "unsupported version",
                    -5 => "corrupt",
                    -6 => "invalid",
                    _ => "unknown code",
                };
                write!(f, "the guest refused the record: {why} ({code})")
            }
            Self::OutOfBounds {
                offset,
                len,
                memory,
            } => write!(
                f,
                "{len} bytes at {offset:#x} are outside the guest's {memory}-byte memory"
            ),
            Self::Shared(e) => write!(f, "{e}"),
            Self::NoSharedRegion => write!(f, "the guest exports no host-shared region"),
        }
    }
}

impl std::error::Error for HostError {}

impl From<wasmtime::Error> for HostError {
    fn from(e: wasmtime::Error) -> Self {
        Self::Wasm(e)
    }
}

impl From<SharedError> for HostError {
    fn from(e: SharedError) -> Self {
        Self::Shared(e)
    }
}
