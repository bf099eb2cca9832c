//! In-process figures: pooled instantiation and a whole call on a fresh
//! instance, with no NATS in the way.

use std::time::{Duration, Instant};

use floe_host::runtime::{LoadedActor, Runtime, RuntimeLimits};
use floe_wire::Encoding;
use floe_wire::claims::{self, VerifyPolicy};

use crate::stats::percentile;
use crate::{Report, us};

/// The benchmark payload: one 100-character string parameter, msgpack.
pub fn payload() -> Vec<u8> {
    let text = "x".repeat(100);
    let mut out = vec![0x91, 0xd9, 100];
    out.extend_from_slice(text.as_bytes());
    out
}

pub async fn measure(echo: &[u8], report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let runtime = Runtime::new(RuntimeLimits {
        max_instances: 64,
        max_memory_per_instance: 64 << 20,
        cache_dir: None,
        reuse: 0,
        shared: Default::default(),
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let verified = claims::verify(echo, now, &VerifyPolicy::default())?;
    let compile_started = Instant::now();
    let actor = LoadedActor::load(&runtime, Some(echo), verified, "bench".to_owned())?;
    report.row(
        "compile echo (uncached, in-process)",
        format!("{:.1} ms", compile_started.elapsed().as_secs_f64() * 1e3),
        "cranelift, 2 cores",
    );
    let n = if quick { 2_000 } else { 20_000 };
    let config = std::sync::Arc::default();
    let env = floe_host::runtime::CallEnv {
        trace: None,
        invocation: uuid::Uuid::nil(),
        router: None,
        config: &config,
        logs: None,
        instances: None,
    };
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        actor
            .instantiate_once(&runtime)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        samples.push(t.elapsed());
    }
    report.row(
        "instantiate (Store + pooled instance), median",
        us(percentile(&mut samples, 0.5)),
        &format!("{n} samples"),
    );

    let payload = payload();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        actor
            .invoke(
                &runtime,
                "floe:examples/echo.echo",
                Encoding::Msgpack,
                &payload,
                Duration::from_secs(5),
                &env,
            )
            .await?;
        samples.push(t.elapsed());
    }
    report.row(
        "in-host call (decode, fresh instance, call, encode), median",
        us(percentile(&mut samples, 0.5)),
        "100-byte string, msgpack",
    );
    Ok(())
}
