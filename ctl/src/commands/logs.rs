//! `floe logs ACTOR [--follow]`: what an actor logged on every host, read
//! from the lattice's log stream (only lines whose seal verifies), and with
//! `--follow` what it logs next.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer};
use floe_wire::Subject;
use floe_wire::logline::ActorLogLine;
use futures::StreamExt as _;

use clap::Args;

use super::lattice::Lattice;
use crate::output::OutputFormat;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// An actor id or unique name (of a running actor; pass the id for one that stopped).
    pub actor: String,
    /// Keep printing what it logs next, until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,
}

/// How long to wait for a line before deciding there are no more (without
/// --follow).
const IDLE: Duration = Duration::from_millis(500);

pub async fn logs(ctx: &Lattice, args: &LogsArgs) -> anyhow::Result<()> {
    let actor = ctx
        .client
        .resolve_actor(&args.actor, ctx.global.window)
        .await?;
    let lattice = ctx.client.lattice();
    let js = jetstream::new(ctx.client.nats().clone());
    let name = floe_lattice::logs::log_stream_name(lattice);
    let stream = js.get_stream(&name).await.with_context(|| {
        format!("no log stream {name} on this lattice yet (a host creates it when it starts)")
    })?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: Subject::Log {
                entity: actor.clone(),
            }
            .render(lattice),
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .context("cannot read the log stream")?;
    let mut messages = consumer
        .messages()
        .await
        .context("cannot read the log stream")?;
    let (mut shown, mut skipped) = (0usize, 0usize);
    loop {
        let next = if args.follow {
            messages.next().await
        } else {
            match tokio::time::timeout(IDLE, messages.next()).await {
                Ok(next) => next,
                Err(_) => break,
            }
        };
        let Some(message) = next else { break };
        let message = message.context("cannot read the log stream")?;
        if ctx.client.auth().verify_stored(&message).is_err() {
            skipped += 1;
            continue;
        }
        let Ok(line) = serde_json::from_slice::<ActorLogLine>(&message.payload) else {
            skipped += 1;
            continue;
        };
        print_line(&line, ctx.global.output)?;
        shown += 1;
        if !args.follow && message.info().is_ok_and(|info| info.pending == 0) {
            break;
        }
    }
    if skipped > 0 {
        eprintln!("warning: skipped {skipped} line(s) whose lattice MAC does not verify");
    }
    if shown == 0 && ctx.global.output.is_text() {
        eprintln!("Actor {actor} has logged nothing recently (lines are kept for 24 h).");
    }
    Ok(())
}

fn print_line(line: &ActorLogLine, output: OutputFormat) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json | OutputFormat::Yaml => crate::output::print_record(output, line)?,
        OutputFormat::Text => {
            let short = |s: &str| s.chars().take(8).collect::<String>();
            // A UUIDv7 starts with its time: its random tail tells calls apart.
            let tail = |s: &str| {
                let chars: Vec<char> = s.chars().collect();
                chars[chars.len().saturating_sub(8)..]
                    .iter()
                    .collect::<String>()
            };
            let context = if line.context.is_empty() {
                String::new()
            } else {
                format!(" [{}]", line.context)
            };
            println!(
                "{} {} {} {}/{}{context} {}",
                line.time,
                short(&line.host_id),
                tail(&line.invocation),
                line.stream,
                line.level,
                line.line
            );
        }
    }
    Ok(())
}
