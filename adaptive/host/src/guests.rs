//! This repository's guest modules (`adaptive/host/guests/`), built for
//! `wasm32-unknown-unknown` on first use, for tests, benchmarks and the
//! example.
//!
//! [`build`] runs `cargo build --release --locked --target
//! wasm32-unknown-unknown` on the guest workspace once per process, into
//! `wasm-guests/` under the target directory the calling binary was built
//! in, with the environment an outer cargo leaves behind (its target
//! directory, flags, wrappers, jobserver) cleared so that nothing meant for
//! the host build leaks into the guest build. Cargo's own lock keeps
//! concurrent test binaries from building at once; a fresh build is a
//! no-op.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use wasmtime::{Config, Engine, Module, OptLevel};

use crate::HostError;

/// The wasm target the guests are built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// A guest module: the same workloads on each of polyalloc's allocators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GuestKind {
    /// `polyalloc_bump::BumpAlloc`.
    Bump,
    /// `polyalloc_buddy::BuddyAlloc`.
    Buddy,
    /// `polyalloc_slab::SlabAlloc`.
    Slab,
    /// `polyalloc_freelist::FreeListAlloc`.
    FreeList,
    /// `polyalloc_adaptive::AdaptiveAlloc`, with the adaptive guest ABI.
    Adaptive,
    /// std's default allocator (dlmalloc): the baseline of the benchmarks.
    Dlmalloc,
    /// talc (`TalckWasm`), a peer.
    Talc,
    /// lol_alloc's free-list allocator, a peer.
    LolAlloc,
    /// `AdaptiveAlloc` under `polyalloc_profile::Profiled` in tag mode: not
    /// the workloads but a small known program (`init`, `handle`) whose
    /// profile the host pulls out (docs/profiling.md).
    Profiled,
}

impl GuestKind {
    /// Every guest on a polyalloc allocator.
    pub const ALL: [GuestKind; 5] = [
        GuestKind::Bump,
        GuestKind::Buddy,
        GuestKind::Slab,
        GuestKind::FreeList,
        GuestKind::Adaptive,
    ];

    /// The guests on the allocators the benchmarks compare with (their
    /// `polyalloc_reset` drops the workload state, but cannot reset the
    /// heap).
    pub const PEERS: [GuestKind; 3] = [GuestKind::Dlmalloc, GuestKind::Talc, GuestKind::LolAlloc];

    /// The guest crate's folder name under `adaptive/host/guests/`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bump => "bump",
            Self::Buddy => "buddy",
            Self::Slab => "slab",
            Self::FreeList => "freelist",
            Self::Adaptive => "adaptive",
            Self::Dlmalloc => "dlmalloc",
            Self::Talc => "talc",
            Self::LolAlloc => "lol_alloc",
            Self::Profiled => "profiled",
        }
    }

    /// The built module's path (building the guests first if this process
    /// has not).
    pub fn wasm_path(self) -> Result<PathBuf, HostError> {
        let dir = build()?;
        Ok(dir.join(format!("guest_{}.wasm", self.name())))
    }
}

/// The guest workspace's manifest.
#[must_use]
pub fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/Cargo.toml")
}

/// The target directory the running binary was built in: the nearest
/// folder above it that cargo marked with `CACHEDIR.TAG`, or the
/// workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// Whether an inherited variable must not reach the guest build: what an
/// outer cargo set for the host build (target directory, flags, wrappers
/// such as clippy's, the jobserver, the package's own variables). Cargo's
/// home, registry, network and terminal settings pass.
fn cleared(name: &OsString) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    const KEEP: [&str; 6] = [
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    const CLEAR: [&str; 7] = [
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC",
        "MAKEFLAGS",
        "MFLAGS",
        "__CARGO_FIX_PLZ",
    ];
    (name.starts_with("CARGO_") && !KEEP.iter().any(|k| name.starts_with(k)))
        || CLEAR.contains(&name)
}

/// Builds every guest (once per process) and returns the folder that holds
/// the `.wasm` files.
pub fn build() -> Result<&'static Path, HostError> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target_dir = target_dir().join("wasm-guests");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut command = Command::new(cargo);
            for (name, _) in std::env::vars_os() {
                if cleared(&name) {
                    command.env_remove(name);
                }
            }
            let output = command
                .args(["build", "--release", "--locked", "--target", TARGET])
                .arg("--manifest-path")
                .arg(manifest())
                .arg("--target-dir")
                .arg(&target_dir)
                .output()
                .map_err(|e| format!("could not run cargo: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "building the wasm guests failed ({}):\n{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            Ok(target_dir.join(TARGET).join("release"))
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(|e| HostError::Wasm(wasmtime::format_err!("{e}")))
}

/// One engine per process, set to compile quickly: the guests are
/// compiled without Cranelift's optimisations, which tests do not need.
/// (Benchmarks make their own with the default configuration.)
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.cranelift_opt_level(OptLevel::None);
        Engine::new(&config).expect("the default configuration plus an opt level is valid")
    })
}

/// `kind`'s module compiled on [`engine`], once per process.
pub fn module(kind: GuestKind) -> Result<Module, HostError> {
    static MODULES: [OnceLock<Result<Module, String>>; 9] = [const { OnceLock::new() }; 9];
    let slot = &MODULES[kind as usize];
    slot.get_or_init(|| {
        let path = kind.wasm_path().map_err(|e| e.to_string())?;
        compile(&path).map_err(|e| format!("{}: {e}", path.display()))
    })
    .clone()
    .map_err(|e| HostError::Wasm(wasmtime::format_err!("{e}")))
}

/// Compiles the module at `wasm`, or loads the copy compiled by an earlier
/// process (`.cwasm` beside it, no older than the module). Compiling a
/// guest takes seconds in a debug build of wasmtime; loading, milliseconds.
fn compile(wasm: &Path) -> wasmtime::Result<Module> {
    let cached = wasm.with_extension("cwasm");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if let (Some(compiled), Some(source)) = (modified(&cached), modified(wasm))
        && compiled >= source
    {
        // SAFETY: the file is one `Module::serialize` wrote below, in this
        // build's own target directory; wasmtime checks that its version
        // and settings match the engine's and refuses it otherwise, and
        // then the module is compiled afresh.
        if let Ok(module) = unsafe { Module::deserialize_file(engine(), &cached) } {
            return Ok(module);
        }
    }
    let module = Module::from_file(engine(), wasm)?;
    // A failed write only costs the next process a compile: a temporary
    // file renamed into place, so no process reads half a file.
    let partial = cached.with_extension(format!("cwasm.{}", std::process::id()));
    if module
        .serialize()
        .and_then(|bytes| Ok(std::fs::write(&partial, bytes)?))
        .is_ok()
    {
        let _ = std::fs::rename(&partial, &cached);
    }
    Ok(module)
}
