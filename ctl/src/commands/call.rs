//! `floe call ACTOR OPERATION [ARGS]`: JSON (or WAVE) in, the result out.

use anyhow::{Context as _, anyhow};
use floe_wire::Encoding;

use clap::Args;

use super::lattice::Lattice;
use crate::output::OutputFormat;

#[derive(Debug, Args)]
pub struct CallArgs {
    /// An actor id or unique name.
    pub actor: String,
    /// The function: `ns:pkg/iface.func` (or `func` for a top-level export).
    pub operation: String,
    /// The arguments: a JSON array of the parameters in order (WAVE with --wave).
    #[arg(conflicts_with = "args_file")]
    pub args: Option<String>,
    /// Read the arguments from this file (`-` for stdin): for arguments too
    /// long for a command line.
    #[arg(long, value_name = "PATH")]
    pub args_file: Option<std::path::PathBuf>,
    /// Take the arguments and print the result in WAVE (`"hi", [1, 2]`).
    #[arg(long)]
    pub wave: bool,
}

pub async fn call(ctx: &Lattice, args: &CallArgs) -> anyhow::Result<()> {
    let actor = ctx
        .client
        .resolve_actor(&args.actor, ctx.global.window)
        .await?;
    let given = match &args.args_file {
        Some(path) => Some(read_args(path)?),
        None => args.args.clone(),
    };
    let (encoding, payload) = if args.wave {
        (Encoding::Wave, given.unwrap_or_default().into_bytes())
    } else {
        let text = given.as_deref().unwrap_or("[]");
        let value: serde_json::Value = serde_json::from_str(text).with_context(|| {
            let shown: String = text.chars().take(200).collect();
            format!("ARGS must be a JSON array of the parameters, e.g. '[\"hi\"]'; got `{shown}`")
        })?;
        if !value.is_array() {
            return Err(anyhow!(
                "ARGS must be a JSON array of the parameters in order, e.g. '[\"hi\"]'"
            ));
        }
        (Encoding::Json, serde_json::to_vec(&value)?)
    };
    let answer = ctx
        .client
        .call_answer(&actor, &args.operation, payload, encoding)
        .await
        .with_context(|| format!("call of {} on {} failed", args.operation, args.actor))?;
    let result = answer.bytes;
    let text = String::from_utf8_lossy(&result);
    match (encoding, ctx.global.output) {
        (Encoding::Json, OutputFormat::Yaml) => {
            let value: serde_json::Value = serde_json::from_slice(&result)
                .with_context(|| format!("the host answered with invalid JSON: {text}"))?;
            crate::output::print_data(OutputFormat::Yaml, &value)?;
        }
        (Encoding::Json, OutputFormat::Json | OutputFormat::Text) => {
            let value: serde_json::Value = serde_json::from_slice(&result)
                .with_context(|| format!("the host answered with invalid JSON: {text}"))?;
            println!("{}", serde_json::to_string(&value)?);
        }
        _ => println!("{text}"),
    }
    if answer.err_case {
        // Printed above like any result; the status tells scripts.
        return Err(anyhow!(
            "{} of {} returned its error case (printed above)",
            args.operation,
            args.actor
        ));
    }
    Ok(())
}

/// The arguments from `path`, or stdin for `-`.
fn read_args(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read the arguments from stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the arguments from {} (pass a file holding a JSON array, or - for stdin)",
            path.display()
        )
    })
}
