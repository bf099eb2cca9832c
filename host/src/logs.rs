//! The host's [`LogSink`]: what actors log goes, line by line, sealed, to
//! `log.{actor_id}` (kept by the lattice's log stream). Publishing happens
//! on a task of its own behind a bounded queue, so a chatty actor never
//! slows its calls down; lines beyond the queue are dropped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use floe_lattice::LatticeAuth;
use floe_wire::Subject;
use floe_wire::logline::ActorLogLine;
use tokio::sync::mpsc;

use crate::runtime::{LogLine, LogSink};

/// Lines waiting to be published, at most.
const QUEUE: usize = 8192;

/// Publishes actors' log lines.
#[derive(Debug)]
pub struct LogPublisher {
    host_id: String,
    lattice: floe_wire::LatticeId,
    queue: mpsc::Sender<(String, ActorLogLine)>,
    dropped: AtomicU64,
}

impl LogPublisher {
    /// Starts the publishing task.
    pub fn spawn(nats: async_nats::Client, auth: Arc<LatticeAuth>, host_id: String) -> Self {
        let lattice = auth.lattice().clone();
        let (queue, mut lines) = mpsc::channel::<(String, ActorLogLine)>(QUEUE);
        tokio::spawn(async move {
            while let Some((subject, line)) = lines.recv().await {
                if let Ok(body) = serde_json::to_vec(&line)
                    && let Err(e) = auth.publish(&nats, subject, body.into()).await
                {
                    tracing::debug!(error = %e, "cannot publish a log line");
                }
            }
        });
        LogPublisher {
            host_id,
            lattice,
            queue,
            dropped: AtomicU64::new(0),
        }
    }
}

impl LogSink for LogPublisher {
    fn lines(&self, actor: &str, invocation: uuid::Uuid, lines: Vec<LogLine>) {
        let subject = Subject::Log {
            entity: actor.to_owned(),
        }
        .render(&self.lattice);
        let time = crate::host::now_rfc3339();
        for line in lines {
            let entry = ActorLogLine {
                actor_id: actor.to_owned(),
                host_id: self.host_id.clone(),
                invocation: invocation.to_string(),
                stream: line.stream.to_owned(),
                level: line.level.to_owned(),
                context: line.context,
                line: line.text,
                time: time.clone(),
            };
            if self.queue.try_send((subject.clone(), entry)).is_err() {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        dropped = n,
                        "the log stream falls behind: log lines dropped"
                    );
                }
            }
        }
    }
}
