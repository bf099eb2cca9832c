//! Shared setup for tests that need a lattice: a NATS server, hosts, and a
//! control client.

use std::time::Duration;

use floe_ctl::CtlClient;
pub use floe_tests::start_request;
use floe_tests::{HostOptions, HostProcess, NatsServer, paths};
use floe_wire::Encoding;
use serde_json::json;

pub struct Lattice {
    pub nats: NatsServer,
    pub name: String,
    pub client: CtlClient,
    pub cache: tempfile::TempDir,
}

impl Lattice {
    /// `extra` followed by the flags that point `floe` at this lattice.
    pub fn args(&self, extra: &[&str]) -> Vec<String> {
        extra
            .iter()
            .copied()
            .chain([
                "--nats-url",
                self.nats.url(),
                "--lattice",
                &self.name,
                "--window",
                "500ms",
            ])
            .map(str::to_owned)
            .collect()
    }

    pub async fn new() -> Lattice {
        let nats = NatsServer::start().await.expect("nats-server starts");
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        let conn = nats.connect().await.expect("connect");
        let client = floe_tests::client(conn, &name, Duration::from_secs(10));
        let cache = tempfile::tempdir().expect("cache dir");
        Lattice {
            nats,
            name,
            client,
            cache,
        }
    }

    /// The objects in the lattice's payload store (each is for one call
    /// or reply alone: a reader that took it removed it).
    pub async fn payload_objects_left(&self) -> Vec<String> {
        use futures::StreamExt as _;
        let js = async_nats::jetstream::new(self.nats.connect().await.expect("connect"));
        let bucket = floe_wire::subject::payload_bucket(&self.name.parse().expect("lattice id"));
        let store = js
            .get_object_store(&bucket)
            .await
            .expect("the payload store");
        let info = store.info("nothing").await;
        assert!(info.is_err(), "no such object");
        store
            .list()
            .await
            .expect("list")
            .filter_map(|o| async move { o.ok().filter(|o| !o.deleted).map(|o| o.name) })
            .collect()
            .await
    }

    pub async fn host(&self, labels: &[(&str, &str)], args: &[&str]) -> HostProcess {
        HostProcess::start(
            self.nats.url(),
            &self.name,
            HostOptions {
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                cache_dir: Some(self.cache.path().to_owned()),
                log_filter: None,
            },
        )
        .await
        .expect("floe-host starts")
    }

    /// Starts the example actor `name` on `host` and returns its id.
    pub async fn start(&self, host: &HostProcess, name: &str) -> String {
        let req = start_request(&paths::actor(name).expect("example actor"), None);
        let started = self
            .client
            .start_actor(host.id(), req)
            .await
            .unwrap_or_else(|e| panic!("{name} starts: {e}\nhost log:\n{}", host.log()));
        started.actor_id
    }

    /// Starts the workspace's provider binary `name` on `host` and returns
    /// its id.
    pub async fn start_provider(&self, host: &HostProcess, name: &str) -> String {
        let path = paths::bin(name).expect("built");
        self.client
            .start_provider(host.id(), provider_request(&path))
            .await
            .unwrap_or_else(|e| panic!("{name} starts: {e}\nhost log:\n{}", host.log()))
            .provider_id
    }

    /// Calls with JSON arguments and parses the JSON result.
    pub async fn call_json(
        &self,
        actor: &str,
        operation: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, floe_ctl::CtlError> {
        let bytes = self
            .client
            .call(
                actor,
                operation,
                serde_json::to_vec(&args).expect("json"),
                Encoding::Json,
            )
            .await?;
        Ok(serde_json::from_slice(&bytes).expect("result is JSON"))
    }

    /// Calls echo and asserts it answers `text`.
    pub async fn assert_echo(&self, actor: &str, text: &str) {
        let answer = self.call_json(actor, ECHO, json!([text])).await;
        assert_eq!(answer.expect("echo answers"), json!(text));
    }

    /// Starts a `misbehave.spin` call that holds an instance until `client`'s
    /// deadline interrupts it.
    pub fn spawn_spin(
        client: &CtlClient,
        actor: &str,
    ) -> tokio::task::JoinHandle<Result<Vec<u8>, floe_ctl::CtlError>> {
        let (client, actor) = (client.clone(), actor.to_owned());
        tokio::spawn(async move {
            client
                .call(
                    &actor,
                    "floe:examples/misbehave.spin",
                    b"[]".to_vec(),
                    Encoding::Json,
                )
                .await
        })
    }

    /// Subscribes to the lattice's events of one kind, confirmed by the
    /// server (`floe_lattice::confirm`), so nothing published after this
    /// returns is missed.
    pub async fn events(&self, kind: floe_wire::EventType) -> async_nats::Subscriber {
        let raw = self.nats.connect().await.expect("connect");
        let events = raw
            .subscribe(floe_wire::Subject::Event(kind).render(self.client.lattice()))
            .await
            .expect("subscribe");
        floe_lattice::confirm::subscriptions_registered(&raw, Duration::from_secs(5))
            .await
            .expect("the server confirms the subscription");
        events
    }

    /// A client with a different per-call timeout.
    pub async fn client_with_timeout(&self, timeout: Duration) -> CtlClient {
        let conn = self.nats.connect().await.expect("connect");
        floe_tests::client(conn, &self.name, timeout)
    }
}

pub const ECHO: &str = "floe:examples/echo.echo";
pub const VERSION: &str = "floe:examples/echo.version";

/// The kind of a failed invocation, if the error is one.
pub fn invocation_kind(e: &floe_ctl::CtlError) -> Option<floe_wire::ErrorKind> {
    match e {
        floe_ctl::CtlError::Invocation(inv) => Some(inv.kind),
        _ => None,
    }
}

/// SIGKILLs a process (a provider a host runs, say).
pub fn sigkill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -KILL {pid}");
}

/// The next event on `events` (JSON), within 20 s.
pub async fn next_event(events: &mut async_nats::Subscriber) -> serde_json::Value {
    use futures::StreamExt as _;
    let event = tokio::time::timeout(std::time::Duration::from_secs(20), events.next())
        .await
        .expect("an event within 20 s")
        .expect("event");
    serde_json::from_slice(&event.payload).expect("json")
}

/// A request to start the provider executable at `path`, with its default
/// key and no config.
pub fn provider_request(path: &std::path::Path) -> floe_wire::control::StartProviderRequest {
    floe_wire::control::StartProviderRequest {
        v: floe_wire::control::CONTROL_VERSION,
        reference: path.display().to_string(),
        provider_key: None,
        config: Default::default(),
        annotations: Default::default(),
        secrets: Default::default(),
    }
}
