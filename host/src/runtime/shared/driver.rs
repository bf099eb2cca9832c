//! The task that owns one shared instance: it makes the instance, then
//! runs the jobs it is sent side by side inside `Store::run_concurrent`
//! until the channel closes and the last has answered, or a call traps
//! (then every call left fails with the trap, and what the guest wrote
//! goes to the log with the call that failed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use floe_wire::{Answer, Encoding, ErrorKind, InvocationError};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use wasmtime::Store;
use wasmtime::component::{Accessor, Instance, Val};
use wasmtime_wasi_http::p3::bindings::Service;

use super::super::code::CompiledCode;
use super::super::http_hooks::HttpHooks;
use super::super::log_lines::LogSink;
use super::super::state::InstanceState;
use super::deadlines::InstanceShared;
use super::job::{Job, JobContext, Queue, Reply, Work};
use crate::codec;

/// Owns one instance: makes it, then runs the jobs it is sent side by side
/// until the channel closes and the last has answered, or a call traps.
pub async fn drive(
    mut store: Store<InstanceState>,
    code: Arc<CompiledCode>,
    actor: Arc<str>,
    mut queue: Queue,
    shared: Arc<InstanceShared>,
) {
    let made = async {
        let instance = code.pre.instantiate_async(&mut store).await?;
        let service = match &code.http_p3 {
            Some(indices) => Some(indices.load(&mut store, &instance)?),
            None => None,
        };
        wasmtime::error::Ok((instance, service))
    };
    let (instance, service) = match made.await {
        Ok(made) => made,
        Err(e) => {
            let _ = shared
                .failure
                .set(super::super::trap::trap_error(&e, store.data(), None));
            return;
        }
    };
    // The replies of the calls running, kept outside the event loop so
    // that when a trap ends it, the failure is set before they drop.
    let replies: Mutex<HashMap<u64, Waiting>> = Mutex::default();
    let take_reply = |id| {
        replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
    };
    let ran = store
        .run_concurrent(async |accessor| {
            let mut running = FuturesUnordered::new();
            let mut open = true;
            let mut next_id = 0u64;
            loop {
                tokio::select! {
                    Some((id, context, outcome)) = running.next(), if !running.is_empty() => {
                        match outcome {
                            Ok(answer) => answered(
                                accessor,
                                &actor,
                                &context,
                                take_reply(id).map(|w| w.reply),
                                answer,
                            ),
                            Err(e) => {
                                // A trap poisons the store: every call left fails.
                                return Some((failed(accessor, &context, &e), Some(id)));
                            }
                        }
                    }
                    next = queue.recv(), if open => match next {
                        Some((job, reply)) => {
                            next_id += 1;
                            let waiting = Waiting {
                                reply,
                                invocation: job.context.invocation,
                                started: job.context.started,
                                logs: job.context.logs.clone(),
                            };
                            replies
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(next_id, waiting);
                            running.push(run_job(
                                accessor,
                                &code,
                                instance,
                                service.as_ref(),
                                job,
                                next_id,
                            ));
                        }
                        None => open = false,
                    },
                    else => return None,
                }
            }
        })
        .await;
    let (failure, failed_job) = match ran {
        Ok(None) => return,
        Ok(Some(failed)) => failed,
        // Code with routed imports runs one call at a time: a routed call
        // that failed and aborted the guest says why itself.
        Err(e) => (
            store
                .data()
                .caller
                .as_ref()
                .and_then(|c| c.take_failure())
                .unwrap_or_else(|| super::super::trap::trap_error(&e, store.data(), None)),
            None,
        ),
    };
    let _ = shared.failure.set(failure.clone());
    let left = std::mem::take(&mut *replies.lock().unwrap_or_else(PoisonError::into_inner));
    // What the guest wrote goes to the log with the call that failed (when
    // known, else the oldest left): its panic message is there.
    let credited = failed_job
        .filter(|id| left.contains_key(id))
        .or_else(|| left.keys().min().copied());
    if let Some(waiting) = credited.and_then(|id| left.get(&id)) {
        super::super::logging::emit(
            store.data(),
            &actor,
            waiting.invocation,
            waiting.started,
            waiting.logs.as_ref(),
        );
    }
    // Every call left fails with the instance's failure.
    for (_, waiting) in left {
        let _ = waiting.reply.send(Err(failure.clone()));
    }
}

/// A call the driver has taken, until it answers.
struct Waiting {
    reply: Reply,
    invocation: uuid::Uuid,
    started: Instant,
    logs: Option<Arc<dyn LogSink>>,
}

/// Runs job `id` in the instance's event loop; gives back its context for
/// [`answered`] or [`failed`].
async fn run_job(
    accessor: &Accessor<InstanceState>,
    code: &CompiledCode,
    instance: Instance,
    service: Option<&Service>,
    job: Job,
    id: u64,
) -> (
    u64,
    JobContext,
    wasmtime::Result<Result<Answer, InvocationError>>,
) {
    let Job { work, context } = job;
    accessor.with(|mut access| {
        let state = access.get();
        state.caller = context.caller.clone();
        state.config = context.config.clone();
        // Outgoing requests get the latest deadline of the calls running.
        let deadline_at = match state.http_hooks.deadline_at {
            Some(at) if at > context.deadline_at => at,
            _ => context.deadline_at,
        };
        state.http_hooks = HttpHooks {
            outgoing_allowed: context.outgoing_http,
            deadline_at: Some(deadline_at),
        };
    });
    // A call whose caller has given up leaves the event loop too, so an
    // instance never outlives its calls' deadlines waiting for one.
    let deadline_at = tokio::time::Instant::from_std(context.deadline_at);
    let work = async {
        match work {
            Work::Http(request) => match service {
                Some(service) => super::super::http_p3::serve(accessor, service, *request)
                    .await
                    .map(|handled| handled.map(Answer::from)),
                None => Ok(Err(InvocationError::new(
                    ErrorKind::NoSuchOperation,
                    "this actor has no WASI 0.3 HTTP handler",
                ))),
            },
            Work::Func {
                export,
                params,
                encoding,
            } => call_func(accessor, code, instance, &export, &params, encoding).await,
        }
    };
    let outcome = tokio::time::timeout_at(deadline_at, work)
        .await
        .unwrap_or_else(|_| {
            Ok(Err(InvocationError::new(
                ErrorKind::TimedOut,
                "no answer within the call's deadline",
            )))
        });
    (id, context, outcome)
}

/// Calls an exported function concurrently with the instance's other calls.
async fn call_func(
    accessor: &Accessor<InstanceState>,
    code: &CompiledCode,
    instance: Instance,
    export: &str,
    params: &[Val],
    encoding: Encoding,
) -> wasmtime::Result<Result<Answer, InvocationError>> {
    let Some(func) = code.exports.get(export) else {
        return Ok(Err(InvocationError::new(
            ErrorKind::NoSuchOperation,
            format!("no export `{export}`"),
        )));
    };
    let f = accessor
        .with(|mut access| instance.get_func(&mut access, func.index))
        .ok_or_else(|| wasmtime::Error::msg("export vanished after instantiation"))?;
    let mut results = vec![Val::Bool(false); func.results.len()];
    f.call_concurrent(accessor, params, &mut results).await?;
    let err_case = matches!(results.first(), Some(Val::Result(Err(_))));
    Ok(codec::encode_results(encoding, &results, &func.results)
        .map(|bytes| Answer { bytes, err_case })
        .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string())))
}

/// Hands a call's answer back, with the log lines written since the last.
fn answered(
    accessor: &Accessor<InstanceState>,
    actor: &str,
    context: &JobContext,
    reply: Option<Reply>,
    answer: Result<Answer, InvocationError>,
) {
    accessor.with(|mut access| {
        let state = access.get();
        super::super::logging::emit(
            state,
            actor,
            context.invocation,
            context.started,
            context.logs.as_ref(),
        );
        state.forget_output();
    });
    if let Some(reply) = reply {
        let _ = reply.send(answer);
    }
}

/// The typed failure of a call that trapped: a failed routed call's own
/// cause, else the trap with the guest's stderr.
fn failed(
    accessor: &Accessor<InstanceState>,
    context: &JobContext,
    e: &wasmtime::Error,
) -> InvocationError {
    context
        .caller
        .as_ref()
        .and_then(|c| c.take_failure())
        .unwrap_or_else(|| {
            accessor.with(|mut access| super::super::trap::trap_error(e, access.get(), None))
        })
}
