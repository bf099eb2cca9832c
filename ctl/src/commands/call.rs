//! `floe call ACTOR OPERATION [ARGS]`: JSON (or WAVE) in, the result out.

use anyhow::{Context as _, anyhow};
use floe_wire::Encoding;

use super::Lattice;
use crate::cli::CallArgs;
use crate::output::OutputFormat;

pub async fn call(ctx: &Lattice, args: &CallArgs) -> anyhow::Result<()> {
    let actor = ctx
        .client
        .resolve_actor(&args.actor, ctx.global.window)
        .await?;
    let (encoding, payload) = if args.wave {
        (
            Encoding::Wave,
            args.args.clone().unwrap_or_default().into_bytes(),
        )
    } else {
        let text = args.args.as_deref().unwrap_or("[]");
        let value: serde_json::Value = serde_json::from_str(text).with_context(|| {
            format!("ARGS must be a JSON array of the parameters, e.g. '[\"hi\"]'; got `{text}`")
        })?;
        if !value.is_array() {
            return Err(anyhow!(
                "ARGS must be a JSON array of the parameters in order, e.g. '[\"hi\"]'"
            ));
        }
        (Encoding::Json, serde_json::to_vec(&value)?)
    };
    let result = ctx
        .client
        .call(&actor, &args.operation, payload, encoding)
        .await
        .with_context(|| format!("call of {} on {} failed", args.operation, args.actor))?;
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
    Ok(())
}
