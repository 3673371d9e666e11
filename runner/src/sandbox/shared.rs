//! The core instance that API handlers and the supervisor share for
//! stateless calls (validate, plan, render, judge).

use std::sync::{Arc, Mutex, PoisonError};

use super::{CoreInstance, Sandbox, SandboxError};

/// A lazily built core instance behind a lock, rebuilt after any failed
/// call. Calls are tens of microseconds, so one instance serves every
/// caller; they run on tokio's blocking pool so that a slow or runaway call
/// never stalls the async runtime.
#[derive(Clone)]
pub struct SharedCore {
    sandbox: Sandbox,
    slot: Arc<Mutex<Option<CoreInstance>>>,
}

impl SharedCore {
    /// A shared instance of `sandbox`'s core; nothing is instantiated yet.
    pub fn new(sandbox: Sandbox) -> Self {
        Self {
            sandbox,
            slot: Arc::new(Mutex::new(None)),
        }
    }

    /// The sandbox this instance comes from.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Runs `call` on the shared instance from a blocking thread.
    pub async fn call<R, F>(&self, function: &'static str, call: F) -> Result<R, SandboxError>
    where
        R: Send + 'static,
        F: FnOnce(&mut CoreInstance) -> Result<R, SandboxError> + Send + 'static,
    {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || shared.call_blocking(call))
            .await
            .map_err(|source| SandboxError::Aborted { function, source })?
    }

    /// Runs `call` on the shared instance on this thread (for the CLI and
    /// for callers already on a blocking thread).
    pub fn call_blocking<R>(
        &self,
        call: impl FnOnce(&mut CoreInstance) -> Result<R, SandboxError>,
    ) -> Result<R, SandboxError> {
        // A panic while holding the lock can only come from host code
        // between calls; the instance itself is still consistent.
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let mut instance = match slot.take() {
            Some(instance) => instance,
            None => self.sandbox.instantiate()?,
        };
        let result = call(&mut instance);
        if instance.is_poisoned() {
            tracing::warn!("a core call failed; the core instance will be rebuilt");
        } else {
            *slot = Some(instance);
        }
        result
    }
}
