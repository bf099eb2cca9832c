//! The host's [`LogSink`]: what actors log goes, line by line, sealed, to
//! `log.{actor_id}` (kept by the lattice's log stream). Publishing happens
//! on a task of its own behind a bounded queue, so a chatty actor never
//! slows its calls down; lines beyond the queue are dropped and counted.
//! A stopping host finishes the task last ([`LogDrain`]), after its calls,
//! so their last lines go out too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use floe_wire::Subject;
use floe_wire::logline::ActorLogLine;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
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

/// Ends the publishing task once what is queued is sent.
#[derive(Debug)]
pub struct LogDrain {
    close: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl LogDrain {
    /// Publishes what is queued, at most for `limit`, and ends the task.
    pub async fn finish(self, limit: Duration) {
        self.close.cancel();
        if tokio::time::timeout(limit, self.task).await.is_err() {
            tracing::warn!("the last log lines were not all published in time");
        }
    }
}

impl LogPublisher {
    /// Starts the publishing task.
    pub fn spawn(bus: Bus) -> (Self, LogDrain) {
        let (queue, mut lines) = mpsc::channel::<(String, ActorLogLine)>(QUEUE);
        let close = CancellationToken::new();
        let closed = close.clone();
        let publisher = bus.clone();
        let task = tokio::spawn(async move {
            let publish = |(subject, line): (String, ActorLogLine)| {
                let bus = publisher.clone();
                async move {
                    if let Ok(body) = serde_json::to_vec(&line)
                        && let Err(e) = bus.send(subject, body).await
                    {
                        tracing::debug!(error = %e, "cannot publish a log line");
                    }
                }
            };
            loop {
                tokio::select! {
                    biased;
                    next = lines.recv() => match next {
                        Some(entry) => publish(entry).await,
                        None => return,
                    },
                    () = closed.cancelled() => break,
                }
            }
            while let Ok(entry) = lines.try_recv() {
                publish(entry).await;
            }
        });
        let publisher = LogPublisher {
            host_id: bus.host_id().to_owned(),
            lattice: bus.lattice().clone(),
            queue,
            dropped: AtomicU64::new(0),
        };
        (publisher, LogDrain { close, task })
    }
}

impl LogSink for LogPublisher {
    fn lines(&self, actor: &str, invocation: uuid::Uuid, lines: Vec<LogLine>) {
        let subject = Subject::Log {
            entity: actor.to_owned(),
        }
        .render(&self.lattice);
        let time = crate::clock::now_rfc3339();
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
