//! [`CtlClient`]: every control request of the lattice protocol as a typed
//! method, plus invocations (scatter-gather is in `gather`, name resolution
//! in `resolve`). Subjects come from `floe_wire::subject`, bodies
//! from `floe_wire::control` and `floe_wire::envelope`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use floe_lattice::{LatticeAuth, Requester};
use floe_wire::auth::{ClusterSeed, ReplayPolicy};
mod gather;
mod routes;
mod secrets;

pub use secrets::derived_secrets_key;

pub use crate::error::CtlError;

use floe_wire::control::{
    self, ActorStarted, ControlCode, ControlReply, Empty, HostInventory, InventoryRequest,
    LabelDelRequest, LabelPutRequest, Labels, Refusal, ScaleActorRequest, StartActorRequest,
    StopActorRequest, StopHostRequest, StringMap, UpdateActorRequest,
};
use floe_wire::envelope::Origin;
use floe_wire::{CloudEvent, Encoding, Envelope, EventType, HostOp, LatticeId, Link, Subject};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The least time a start or update is given: compiling a large component
/// takes seconds.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach a lattice.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub nats_url: String,
    pub lattice: LatticeId,
    pub creds: Option<PathBuf>,
    /// The cluster seed (or the name of a saved one); when `None`, found in
    /// `FLOE_CLUSTER_SEED` or `$FLOE_HOME/keys/cluster.nk`.
    pub cluster_seed: Option<String>,
    /// Deadline of each request and call.
    pub timeout: Duration,
}

/// The lattice key of `lattice` from the seed given or found (flag,
/// `FLOE_CLUSTER_SEED`, `$FLOE_HOME`). A client never generates a seed: one
/// that does not match the hosts' would only make every request fail.
pub fn find_auth(lattice: &LatticeId, seed: Option<&str>) -> Result<LatticeAuth, CtlError> {
    let home = floe_wire::FloeHome::from_env().map_err(|e| CtlError::Seed(e.to_string()))?;
    let seed = ClusterSeed::find(seed, &home)
        .map_err(|e| CtlError::Seed(e.to_string()))?
        .ok_or_else(|| CtlError::NoSeed {
            lattice: lattice.clone(),
        })?;
    // During a rotation, answers sealed under the other seed are accepted too.
    let accepted = std::env::var("FLOE_ACCEPT_CLUSTER_SEEDS")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            ClusterSeed::parse(s, &home, floe_wire::auth::SeedOrigin::Environment)
                .map(|c| c.expose().to_owned())
                .map_err(|e| CtlError::Seed(format!("FLOE_ACCEPT_CLUSTER_SEEDS: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LatticeAuth::from_seeds(
        lattice.clone(),
        seed.expose(),
        &accepted,
        ReplayPolicy::default(),
    ))
}

/// A connected control client for one lattice.
#[derive(Debug, Clone)]
pub struct CtlClient {
    nats: async_nats::Client,
    auth: Arc<LatticeAuth>,
    requester: Arc<Requester>,
    lattice: LatticeId,
    timeout: Duration,
}

impl CtlClient {
    pub async fn connect(options: &ClientOptions) -> Result<Self, CtlError> {
        let auth = find_auth(&options.lattice, options.cluster_seed.as_deref())?;
        let err = |reason: String| CtlError::Connect {
            url: options.nats_url.clone(),
            reason,
        };
        let connect_options = match &options.creds {
            Some(path) => async_nats::ConnectOptions::with_credentials_file(path.clone())
                .await
                .map_err(|e| err(format!("cannot read credentials {}: {e}", path.display())))?,
            None => async_nats::ConnectOptions::new(),
        }
        .name("floe")
        .connection_timeout(options.timeout.min(Duration::from_secs(5)));
        let nats = connect_options
            .connect(
                floe_lattice::servers::server_addrs(&options.nats_url).map_err(|e| {
                    CtlError::Connect {
                        url: options.nats_url.clone(),
                        reason: e.to_string(),
                    }
                })?,
            )
            .await
            .map_err(|e| err(e.to_string()))?;
        Ok(Self::from_client(nats, Arc::new(auth), options.timeout))
    }

    /// A client over an existing connection, for the lattice `auth` keys.
    pub fn from_client(
        nats: async_nats::Client,
        auth: Arc<LatticeAuth>,
        timeout: Duration,
    ) -> Self {
        CtlClient {
            requester: Arc::new(Requester::new(nats.clone(), auth.clone())),
            nats,
            lattice: auth.lattice().clone(),
            auth,
            timeout,
        }
    }

    /// The MAC this client seals and verifies with.
    /// The NATS connection (for JetStream reads such as the log stream).
    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    pub fn auth(&self) -> &LatticeAuth {
        &self.auth
    }

    pub fn lattice(&self) -> &LatticeId {
        &self.lattice
    }

    /// Starts a provider; the reply comes once it answers a health check.
    pub async fn start_provider(
        &self,
        host: &str,
        req: floe_wire::control::StartProviderRequest,
    ) -> Result<floe_wire::control::ProviderStarted, CtlError> {
        let slow = self.with_timeout(self.timeout.max(START_TIMEOUT));
        slow.host_request(host, HostOp::ProviderStart, &req).await
    }

    /// Stops a provider on one host and waits until it has exited.
    pub async fn stop_provider(&self, host: &str, provider_id: &str) -> Result<(), CtlError> {
        let req = floe_wire::control::StopProviderRequest {
            v: control::CONTROL_VERSION,
            provider_id: provider_id.to_owned(),
        };
        let slow = self.with_timeout(self.timeout.max(START_TIMEOUT));
        slow.host_request::<_, Empty>(host, HostOp::ProviderStop, &req)
            .await
            .map(|_| ())
    }

    pub async fn inventory(&self, host: &str) -> Result<HostInventory, CtlError> {
        self.host_request(host, HostOp::Inventory, &InventoryRequest::default())
            .await
    }

    /// Starts an actor; the reply comes once it serves, which may include
    /// compiling it (seconds for a large component), so the wait is at least
    /// [`START_TIMEOUT`].
    pub async fn start_actor(
        &self,
        host: &str,
        req: StartActorRequest,
    ) -> Result<ActorStarted, CtlError> {
        let slow = self.with_timeout(self.timeout.max(START_TIMEOUT));
        slow.host_request(host, HostOp::ActorStart, &req).await
    }

    fn with_timeout(&self, timeout: Duration) -> CtlClient {
        CtlClient {
            timeout,
            ..self.clone()
        }
    }

    pub async fn update_actor(
        &self,
        host: &str,
        actor_id: &str,
        reference: &str,
    ) -> Result<ActorStarted, CtlError> {
        let req = UpdateActorRequest {
            v: control::CONTROL_VERSION,
            actor_id: actor_id.to_owned(),
            reference: reference.to_owned(),
            config: None,
            secrets: None,
        };
        self.update_actor_with(host, &req).await
    }

    /// An update that may also replace the replica's config and secrets.
    pub async fn update_actor_with(
        &self,
        host: &str,
        req: &UpdateActorRequest,
    ) -> Result<ActorStarted, CtlError> {
        let slow = self.with_timeout(self.timeout.max(START_TIMEOUT));
        slow.host_request(host, HostOp::ActorUpdate, req).await
    }

    pub async fn scale_actor(
        &self,
        host: &str,
        actor_id: &str,
        max_concurrent: u32,
    ) -> Result<(), CtlError> {
        let req = ScaleActorRequest {
            v: control::CONTROL_VERSION,
            actor_id: actor_id.to_owned(),
            max_concurrent,
        };
        self.host_request::<_, Empty>(host, HostOp::ActorScale, &req)
            .await
            .map(|_| ())
    }

    pub async fn stop_actor(&self, host: &str, actor_id: &str) -> Result<(), CtlError> {
        let req = StopActorRequest {
            v: control::CONTROL_VERSION,
            actor_id: actor_id.to_owned(),
        };
        self.host_request::<_, Empty>(host, HostOp::ActorStop, &req)
            .await
            .map(|_| ())
    }

    pub async fn stop_host(&self, host: &str) -> Result<(), CtlError> {
        self.host_request::<_, Empty>(host, HostOp::Stop, &StopHostRequest::default())
            .await
            .map(|_| ())
    }

    pub async fn put_label(
        &self,
        host: &str,
        key: &str,
        value: &str,
    ) -> Result<StringMap, CtlError> {
        let req = LabelPutRequest {
            v: control::CONTROL_VERSION,
            key: key.to_owned(),
            value: value.to_owned(),
        };
        self.host_request::<_, Labels>(host, HostOp::LabelPut, &req)
            .await
            .map(|l| l.labels)
    }

    pub async fn del_label(&self, host: &str, key: &str) -> Result<StringMap, CtlError> {
        let req = LabelDelRequest {
            v: control::CONTROL_VERSION,
            key: key.to_owned(),
        };
        self.host_request::<_, Labels>(host, HostOp::LabelDel, &req)
            .await
            .map(|l| l.labels)
    }

    /// Invokes `operation` on `actor` (an id) and returns the encoded result.
    /// Fails with `not_found` within `floe_lattice::NO_RESPONDERS_GRACE` when
    /// no host runs the actor.
    pub async fn call(
        &self,
        actor: &str,
        operation: &str,
        payload: Vec<u8>,
        encoding: Encoding,
    ) -> Result<Vec<u8>, CtlError> {
        self.call_answer(actor, operation, payload, encoding)
            .await
            .map(|a| a.bytes)
    }

    /// As [`call`](Self::call), with whether the result is the `err` case
    /// of a function returning `result`.
    pub async fn call_answer(
        &self,
        actor: &str,
        operation: &str,
        payload: Vec<u8>,
        encoding: Encoding,
    ) -> Result<floe_wire::Answer, CtlError> {
        let origin = Origin {
            entity: "floe".to_owned(),
            link_name: None,
            host: None,
        };
        let envelope = Envelope::request(origin, actor, operation, payload, encoding, self.timeout);
        // Wait a little longer than the deadline the host enforces, so its
        // typed `timed_out` arrives rather than a bare NATS timeout.
        let wait = self.timeout + Duration::from_millis(500);
        self.requester
            .invoke_answer(envelope, wait)
            .await
            .map_err(|e| match e.kind {
                floe_wire::ErrorKind::NotFound if e.cause.is_none() => CtlError::NotFound(format!(
                    "not_found: no host runs actor {actor} (see `floe get inventory`)"
                )),
                _ => CtlError::Invocation(e),
            })
    }

    /// Stores a link in the lattice bucket (every host applies it at once)
    /// and announces it with a `link_put` event.
    ///
    /// An HTTP link's listen address is held by one link of its source: a
    /// second link asking for an address another link of that source holds
    /// is refused here, naming the holder (the provider refuses it too).
    pub async fn put_link(&self, link: &Link) -> Result<(), CtlError> {
        let store = self.bucket().await?;
        if let Some(address) = floe_wire::http::listen_address(link) {
            let existing = floe_lattice::list_links(&store, &self.auth)
                .await
                .map_err(|e| CtlError::Store(format!("cannot read the links: {e}")))?;
            let holder = existing.iter().find(|l| {
                l.source == link.source
                    && l.key() != link.key()
                    && floe_wire::http::listen_address(l)
                        .is_some_and(|held| floe_wire::http::addresses_clash(held, address))
            });
            if let Some(holder) = holder {
                return Err(CtlError::Refused(Refusal::new(
                    ControlCode::Conflict,
                    format!(
                        "address {address} is already served by link `{}` of {} (→ {}); \
                         delete it first (`floe link del {} {} --link-name {}`) or pick another address",
                        holder.link_name,
                        holder.package,
                        holder.target,
                        holder.source,
                        holder.package,
                        holder.link_name
                    ),
                )));
            }
        }
        floe_lattice::put_link(&store, &self.auth, link)
            .await
            .map_err(|e| CtlError::Store(e.to_string()))?;
        self.announce(EventType::LinkPut, link).await;
        Ok(())
    }

    /// Deletes a link; fails with `NotFound` when there was none.
    pub async fn delete_link(
        &self,
        source: &str,
        package: &str,
        link_name: &str,
    ) -> Result<(), CtlError> {
        let store = self.bucket().await?;
        let existed = floe_lattice::delete_link(&store, &self.auth, source, package, link_name)
            .await
            .map_err(|e| CtlError::Store(e.to_string()))?;
        if !existed {
            return Err(CtlError::NotFound(format!(
                "no link `{link_name}` for {package} from {source} (see `floe get links`)"
            )));
        }
        let deleted =
            serde_json::json!({ "source": source, "package": package, "link_name": link_name });
        self.announce(EventType::LinkDeleted, &deleted).await;
        Ok(())
    }

    /// Every link of the lattice that opens under this client's key.
    pub async fn links(&self) -> Result<Vec<Link>, CtlError> {
        let store = self.bucket().await?;
        floe_lattice::list_links(&store, &self.auth)
            .await
            .map_err(|e| CtlError::Store(e.to_string()))
    }

    /// [`CtlClient::links`] for a person at the CLI: none opening while
    /// some were sealed under another key means this client holds the wrong
    /// seed, an error that says so rather than an empty list. (Judged by
    /// this client's own counter of such seals, so only for a client that
    /// does one thing at a time; a host's reconciler uses `links`.)
    pub async fn links_checked(&self) -> Result<Vec<Link>, CtlError> {
        let before = self.foreign_seals();
        let links = self.links().await?;
        let foreign = self.foreign_seals().saturating_sub(before);
        if links.is_empty() && foreign > 0 {
            return Err(self.foreign_seed_error(foreign));
        }
        Ok(links)
    }

    /// Messages and KV entries this client refused so far because they were
    /// sealed under a key it does not hold.
    pub fn foreign_seals(&self) -> u64 {
        self.auth
            .rejected_by_reason()
            .get("unknown_key")
            .copied()
            .unwrap_or(0)
    }

    /// The error naming the seed as the cause of `count` foreign seals.
    pub fn foreign_seed_error(&self, count: u64) -> CtlError {
        CtlError::ForeignSeed {
            lattice: self.lattice.clone(),
            count,
        }
    }

    async fn bucket(&self) -> Result<async_nats::jetstream::kv::Store, CtlError> {
        floe_lattice::open_bucket(&self.nats, &self.lattice)
            .await
            .map_err(|e| CtlError::Store(e.to_string()))
    }

    /// Publishes an event on behalf of the CLI; best effort.
    async fn announce(&self, kind: EventType, data: &impl Serialize) {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let event = CloudEvent::new(kind, "floe", time, data);
        if let Ok(bytes) = serde_json::to_vec(&event) {
            let subject = Subject::Event(kind).render(&self.lattice);
            let _ = self.auth.publish(&self.nats, subject, bytes.into()).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), self.nats.flush()).await;
        }
    }

    async fn host_request<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        host: &str,
        op: HostOp,
        req: &Req,
    ) -> Result<Resp, CtlError> {
        let subject = Subject::Host {
            host: host.to_owned(),
            op,
        }
        .render(&self.lattice);
        let body = serde_json::to_vec(req).map_err(|e| CtlError::Request {
            subject: subject.clone(),
            reason: e.to_string(),
        })?;
        let reply = self
            .requester
            .request(subject.clone(), body.into(), self.timeout)
            .await
            .map_err(|e| {
                CtlError::from_request(e, || {
                    format!(
                        "no host {host} on lattice {} (see `floe get hosts`)",
                        self.lattice
                    )
                })
            })?;
        let body = self.reply_body(&subject, &reply.payload).await?;
        let reply: ControlReply<Resp> = control::parse(&body).map_err(|e| CtlError::Malformed {
            subject: subject.clone(),
            reason: e.message,
        })?;
        reply.into_result().map_err(CtlError::Refused)
    }

    /// A control reply's body: itself, or taken from the payload store when
    /// the host spilled it there (too large for one message).
    async fn reply_body<'a>(
        &self,
        subject: &str,
        reply: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>, CtlError> {
        match control::spilled(reply) {
            None => Ok(std::borrow::Cow::Borrowed(reply)),
            Some(spilled) => self
                .requester
                .payloads()
                .take(&spilled)
                .await
                .map(std::borrow::Cow::Owned)
                .map_err(|e| CtlError::Malformed {
                    subject: subject.to_owned(),
                    reason: format!("the reply's body could not be read: {}", e.message),
                }),
        }
    }
}
