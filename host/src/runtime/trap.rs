//! How a guest's failure reads to its caller: a wasmtime error mapped to a
//! typed [`InvocationError`] (an interrupt past a deadline, a full instance
//! pool, or a trap with the guest's stderr).

use std::time::Duration;

use floe_wire::{ErrorKind, InvocationError};

use super::state::InstanceState;

/// Maps a wasmtime failure to a typed error carrying the trap and whatever
/// the guest wrote to stderr (a Rust guest's panic message lands there).
pub fn trap_error(
    e: &wasmtime::Error,
    state: &InstanceState,
    deadline: Option<Duration>,
) -> InvocationError {
    let interrupted = matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    );
    if interrupted {
        let message = match deadline {
            Some(deadline) => format!(
                "the guest ran past its deadline of {} ms and was interrupted",
                deadline.as_millis()
            ),
            // A shared instance: the earliest deadline of its calls.
            None => "the guest ran past a deadline of a call in its instance and was \
                     interrupted (with every call of that instance)"
                .to_owned(),
        };
        return InvocationError::new(ErrorKind::TimedOut, message);
    }
    // Every slot of the host's pooling allocator is taken (all actors
    // together): the host is busy, the guest did nothing wrong.
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return InvocationError::new(
            ErrorKind::Busy,
            format!(
                "every instance slot of this host is in use ({e}); raise --max-instances or add hosts"
            ),
        );
    }
    let mut message = format!("{e:#}");
    let (stderr, _) = state.stderr.contents();
    let stderr = String::from_utf8_lossy(&stderr);
    let stderr = stderr.trim();
    if !stderr.is_empty() {
        message.push_str("; guest stderr: ");
        message.push_str(stderr);
    }
    InvocationError::new(ErrorKind::Trapped, message)
}
