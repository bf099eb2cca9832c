//! The provider SDK's server in this process (the real `floe-provider` code
//! on a real nats-server): bounded under a flood of calls (`busy` past its
//! bound, never a task per call beyond it), deadlines capped, and results
//! larger than one NATS message returned through the payload store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use floe_provider::{Context, Invocation, InvocationError, Provider, ServeOptions};
use floe_tests::with_timeout;
use floe_wire::{Encoding, ErrorKind};

use crate::invocation::{bin_value, pattern};
use crate::lattice::{Lattice, invocation_kind};

const HOLD: &str = "test:sdk/calls.hold";
const DEADLINE: &str = "test:sdk/calls.deadline";
const LARGE: &str = "test:sdk/calls.large";
const BOUND: usize = 64;
const LARGE_LEN: usize = 4 << 20;

/// Holds calls until released, and reports what it saw.
#[derive(Debug)]
struct Holder {
    running: AtomicUsize,
    most: AtomicUsize,
    deadline_ms: AtomicUsize,
    release: tokio::sync::Semaphore,
}

impl Default for Holder {
    fn default() -> Self {
        Holder {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            deadline_ms: AtomicUsize::new(usize::MAX),
            release: tokio::sync::Semaphore::new(0),
        }
    }
}

#[async_trait::async_trait]
impl Provider for Holder {
    async fn invoke(&self, _ctx: &Context, call: Invocation) -> Result<Vec<u8>, InvocationError> {
        match call.operation.as_str() {
            HOLD => {
                let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(now, Ordering::SeqCst);
                let permit = self.release.acquire().await;
                self.running.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
                Ok(vec![0xc0])
            }
            DEADLINE => {
                let ms = usize::try_from(call.deadline.as_millis()).unwrap_or(usize::MAX);
                self.deadline_ms.store(ms, Ordering::SeqCst);
                Ok(vec![0xc0])
            }
            LARGE => {
                let bytes = pattern(LARGE_LEN);
                let mut out = vec![0xc6];
                out.extend_from_slice(&u32::try_from(bytes.len()).expect("small").to_be_bytes());
                out.extend_from_slice(&bytes);
                Ok(out)
            }
            other => Err(InvocationError::new(
                ErrorKind::NoSuchOperation,
                format!("no {other}"),
            )),
        }
    }
}

/// Starts `provider` in this process as the SDK would in its own, and
/// returns its id once it answers.
async fn serve(lattice: &Lattice, provider: Arc<Holder>, options: ServeOptions) -> String {
    let id = floe_wire::KeyKind::Provider.generate().public_key();
    let data = floe_wire::provider::HostData {
        v: floe_wire::provider::HOST_DATA_VERSION,
        lattice: lattice.name.clone(),
        host_id: floe_wire::KeyKind::Host.generate().public_key(),
        provider_id: id.clone(),
        name: "sdk-test".to_owned(),
        nats_url: lattice.nats.url().to_owned(),
        nats_creds: None,
        lattice_keys: floe_tests::auth_for(&lattice.name).key_data(),
        auth_window_ms: 60_000,
        auth_skew_ms: 30_000,
        config: Default::default(),
        annotations: Default::default(),
        secrets: Default::default(),
    };
    tokio::spawn(floe_provider::run_with_options(
        Shared(provider),
        data,
        options,
    ));
    // Serving once a call no longer finds nobody.
    loop {
        let answer = lattice
            .client
            .call(&id, DEADLINE, vec![0x90], Encoding::Msgpack)
            .await;
        if !matches!(answer, Err(floe_ctl::CtlError::NotFound(_))) {
            answer.expect("the provider answers");
            return id;
        }
    }
}

/// The provider behind an `Arc`, so the test keeps a handle on it.
struct Shared(Arc<Holder>);

#[async_trait::async_trait]
impl Provider for Shared {
    async fn invoke(&self, ctx: &Context, call: Invocation) -> Result<Vec<u8>, InvocationError> {
        self.0.invoke(ctx, call).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_calls_is_bounded_and_deadlines_are_capped() {
    with_timeout(Duration::from_secs(120), async {
        let lattice = Lattice::new().await;
        let holder = Arc::new(Holder::default());
        let options = ServeOptions {
            max_in_flight: BOUND,
            max_deadline: Duration::from_secs(5),
            ..ServeOptions::default()
        };
        let id = serve(&lattice, holder.clone(), options).await;

        // A caller asking for 49 days gets the provider's cap.
        let patient = lattice
            .client_with_timeout(Duration::from_millis(u64::from(u32::MAX)))
            .await;
        patient
            .call(&id, DEADLINE, vec![0x90], Encoding::Msgpack)
            .await
            .expect("answered");
        let seen = holder.deadline_ms.load(Ordering::SeqCst);
        assert!(seen <= 5_000, "the deadline was capped: {seen} ms");

        // 10,000 calls at once: BOUND run, every other one is `busy` at once.
        let client = lattice.client_with_timeout(Duration::from_secs(60)).await;
        let calls: Vec<_> = (0..10_000)
            .map(|_| {
                let (client, id) = (client.clone(), id.clone());
                tokio::spawn(
                    async move { client.call(&id, HOLD, vec![0x90], Encoding::Msgpack).await },
                )
            })
            .collect();
        // Every call past the bound is answered while the first BOUND are
        // still held; then the held ones are released.
        while holder.running.load(Ordering::SeqCst) < BOUND
            || calls.iter().filter(|c| c.is_finished()).count() < 10_000 - BOUND
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        holder.release.add_permits(10_000);
        let (mut ok, mut busy) = (0, 0);
        for call in calls {
            match call.await.expect("task") {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!(invocation_kind(&e), Some(ErrorKind::Busy), "{e}");
                    busy += 1;
                }
            }
        }
        assert_eq!(ok, BOUND, "exactly the bound ran");
        assert_eq!(busy, 10_000 - BOUND, "every other call was busy");
        assert_eq!(
            holder.most.load(Ordering::SeqCst),
            BOUND,
            "never more at once"
        );

        // A 4 MiB result comes back through the payload store.
        let result = client
            .call(&id, LARGE, vec![0x90], Encoding::Msgpack)
            .await
            .expect("a 4 MiB result");
        assert!(
            bin_value(&result) == pattern(LARGE_LEN).as_slice(),
            "byte for byte"
        );
    })
    .await;
}
