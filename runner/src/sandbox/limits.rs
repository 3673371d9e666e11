//! Every limit a core instance runs under, set where its store is created so
//! that no store exists without them.

use wasmtime::{StoreLimits, StoreLimitsBuilder};

/// Largest linear memory a core instance may grow to. The core holds one
/// config, one plan or one batch of log lines at a time; 64 MiB is far above
/// that and far below what would hurt the host.
pub const MAX_MEMORY_BYTES: usize = 64 << 20;

/// Fuel (roughly, wasm instructions) every call gets before its input is
/// counted. Measured: validate, plan and render each use well under 10
/// million; a runaway loop burns this in a fraction of a second.
pub const BASE_CALL_FUEL: u64 = 200_000_000;

/// Extra fuel per byte of input, so that a large batch of log lines is not
/// cut short while a runaway call on small input still stops quickly.
pub const FUEL_PER_INPUT_BYTE: u64 = 2_000;

/// Core instances, memories and tables a component may create. Its core
/// module plus wit-component's adapter shims need a handful.
const MAX_INSTANCES: usize = 16;
const MAX_TABLES: usize = 16;
const MAX_MEMORIES: usize = 4;

/// The host state of a core store: only its resource limits, as the core
/// is granted no capability that would need more.
pub struct StoreState {
    /// Memory, table and instance caps checked by wasmtime on every growth.
    pub limits: StoreLimits,
}

impl StoreState {
    /// The state every core store starts with.
    pub fn limited() -> Self {
        Self {
            limits: StoreLimitsBuilder::new()
                .memory_size(MAX_MEMORY_BYTES)
                .instances(MAX_INSTANCES)
                .tables(MAX_TABLES)
                .memories(MAX_MEMORIES)
                .trap_on_grow_failure(true)
                .build(),
        }
    }
}

/// The fuel a call with `input_bytes` of input gets.
pub fn call_fuel(input_bytes: usize) -> u64 {
    BASE_CALL_FUEL.saturating_add((input_bytes as u64).saturating_mul(FUEL_PER_INPUT_BYTE))
}
