//! The authenticated lattice against a real host: hand-made messages from a
//! raw NATS client — no MAC, a MAC under another key, altered, re-aimed and
//! replayed — are refused and never run; so is a control request without a
//! valid MAC; links written into the KV bucket without a valid MAC, or
//! authentic ones stored again long after they were sealed, are ignored.

use std::time::Duration;

use floe_lattice::LatticeAuth;
use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::auth::ReplayPolicy;
use floe_wire::control::{ControlReply, Empty};
use floe_wire::envelope::Origin;
use floe_wire::{Encoding, Envelope, ErrorKind, HostOp, InvocationReply, Link, Subject};
use serde_json::json;

use crate::lattice::{ECHO, Lattice, invocation_kind, start_request};

const LIMIT: Duration = Duration::from_secs(100);

/// A MAC under a key the lattice's hosts do not hold.
fn foreign_auth(lattice: &Lattice) -> LatticeAuth {
    let seed = floe_wire::KeyKind::Cluster
        .generate()
        .seed()
        .expect("cluster seed");
    LatticeAuth::from_seeds(
        lattice.name.parse().expect("lattice"),
        &seed,
        &[],
        ReplayPolicy::default(),
    )
}

/// Sends `body` to `subject` with its reply to `inbox`, as a raw client.
async fn send(
    raw: &async_nats::Client,
    subject: &str,
    inbox: &str,
    headers: Option<async_nats::HeaderMap>,
    body: Vec<u8>,
) -> async_nats::Message {
    let mut request = async_nats::Request::new()
        .payload(body.into())
        .inbox(inbox.to_owned())
        .timeout(Some(Duration::from_secs(10)));
    if let Some(headers) = headers {
        request = request.headers(headers);
    }
    raw.send_request(subject.to_owned(), request)
        .await
        .expect("the host answers")
}

fn refusal(reply: &async_nats::Message) -> String {
    let reply = InvocationReply::decode(&reply.payload).expect("typed reply");
    let err = reply.outcome.expect_err("refused");
    assert_eq!(err.kind, ErrorKind::Unauthorized, "{err}");
    err.message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_altered_and_replayed_invocations_never_run() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = lattice.start(&host, "echo").await;
        let raw = lattice.nats.connect().await.expect("raw client");
        let auth = lattice.client.auth();
        let rpc = Subject::Rpc {
            entity: echo.clone(),
        }
        .render(lattice.client.lattice());
        let envelope = |text: &str| {
            Envelope::request(
                Origin::default(),
                &echo,
                ECHO,
                serde_json::to_vec(&json!([text])).expect("json"),
                Encoding::Json,
                Duration::from_secs(5),
            )
            .encode()
            .expect("encode")
        };

        let inbox = || raw.new_inbox();
        // No MAC at all.
        let why = refusal(&send(&raw, &rpc, &inbox(), None, envelope("plain")).await);
        assert!(why.contains("no lattice MAC"), "{why}");
        // A MAC under another key.
        let (body, to) = (envelope("foreign"), inbox());
        let headers = foreign_auth(&lattice).headers(&rpc, Some(&to), &body);
        let why = refusal(&send(&raw, &rpc, &to, Some(headers), body).await);
        assert!(why.contains("does not hold"), "{why}");
        // Authentic, then altered: one byte of the payload changed.
        let (body, to) = (envelope("hello"), inbox());
        let headers = auth.headers(&rpc, Some(&to), &body);
        let mut altered = body.clone();
        let at = altered
            .windows(5)
            .position(|w| w == b"hello")
            .expect("payload in envelope");
        altered[at] = b'j';
        let why = refusal(&send(&raw, &rpc, &to, Some(headers), altered).await);
        assert!(why.contains("does not verify"), "{why}");
        // Authentic but sealed for another subject (re-aimed).
        let (body, to) = (envelope("aimed"), inbox());
        let elsewhere = Subject::Rpc {
            entity: floe_wire::KeyKind::Actor.generate().public_key(),
        }
        .render(lattice.client.lattice());
        let headers = auth.headers(&elsewhere, Some(&to), &body);
        let why = refusal(&send(&raw, &rpc, &to, Some(headers), body).await);
        assert!(why.contains("does not verify"), "{why}");
        // Authentic but with its answer diverted to another inbox.
        let (body, to) = (envelope("diverted"), inbox());
        let headers = auth.headers(&rpc, Some(&to), &body);
        let why = refusal(&send(&raw, &rpc, &inbox(), Some(headers), body).await);
        assert!(why.contains("does not verify"), "{why}");
        // Authentic: it runs once; the same message again is a replay.
        let (body, to) = (envelope("once"), inbox());
        let headers = auth.headers(&rpc, Some(&to), &body);
        let first = send(&raw, &rpc, &to, Some(headers.clone()), body.clone()).await;
        let answer = InvocationReply::decode(&first.payload)
            .expect("reply")
            .outcome
            .expect("the authentic call runs");
        assert_eq!(&answer[..], br#""once""#);
        let why = refusal(&send(&raw, &rpc, &to, Some(headers), body).await);
        assert!(why.contains("already received"), "{why}");

        // The inventory: one call ran; five were refused before running.
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        let actor = &inv.actors[0];
        assert_eq!(actor.calls, 1, "{actor:?}");
        assert!(
            actor.failures.is_empty(),
            "refusals are not the actor's: {actor:?}"
        );
        let rejected = &inv.host.rejected;
        let expected = [
            ("missing", 1),
            ("unknown_key", 1),
            ("bad_mac", 3),
            ("replayed", 1),
        ];
        for (reason, n) in expected {
            assert_eq!(rejected.get(reason), Some(&n), "{reason}: {rejected:?}");
        }
        assert!(host.log().contains("rejected"), "refusals are logged");

        // A client holding another seed gets nothing it can trust back.
        let stranger = floe_ctl::CtlClient::from_client(
            lattice.nats.connect().await.expect("connect"),
            std::sync::Arc::new(foreign_auth(&lattice)),
            Duration::from_secs(5),
        );
        let err = stranger
            .call(&echo, ECHO, b"[\"x\"]".to_vec(), Encoding::Json)
            .await
            .expect_err("a stranger's call is refused");
        assert!(matches!(err, floe_ctl::CtlError::Unauthorized(_)), "{err}");
        assert!(
            stranger
                .ping_hosts(Duration::from_millis(300))
                .await
                .expect("ping")
                .is_empty(),
            "a stranger hears no host"
        );
        let hosts = lattice
            .client
            .ping_hosts(Duration::from_millis(300))
            .await
            .expect("ping");
        assert_eq!(hosts.len(), 1, "a key holder does");
        lattice.assert_echo(&echo, "still serving").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_requests_without_a_valid_mac_are_refused() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let raw = lattice.nats.connect().await.expect("raw client");
        let start = Subject::Host {
            host: host.id().to_owned(),
            op: HostOp::ActorStart,
        }
        .render(lattice.client.lattice());
        let body = serde_json::to_vec(&start_request(&paths::actor("echo").expect("echo"), None))
            .expect("json");
        let to = raw.new_inbox();
        for headers in [
            None,
            Some(foreign_auth(&lattice).headers(&start, Some(&to), &body)),
        ] {
            let reply = send(&raw, &start, &to, headers, body.clone()).await;
            let reply: ControlReply<Empty> =
                serde_json::from_slice(&reply.payload).expect("a control reply");
            assert!(!reply.accepted);
            let error = reply.error.unwrap_or_default();
            assert!(error.starts_with("unauthorized"), "{error}");
        }
        let stop = Subject::Host {
            host: host.id().to_owned(),
            op: HostOp::Stop,
        }
        .render(lattice.client.lattice());
        let reply = send(&raw, &stop, &raw.new_inbox(), None, b"{}".to_vec()).await;
        assert!(String::from_utf8_lossy(&reply.payload).contains("unauthorized"));
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("the host still runs");
        assert!(inv.actors.is_empty(), "nothing started: {:?}", inv.actors);

        // The CLI without any seed says what to do.
        let cli = FloeCli::new().expect("cli");
        let out = cli.run([
            "get",
            "hosts",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
        ]);
        assert!(!out.success);
        assert!(
            out.stderr.contains("no cluster seed") && out.stderr.contains("--cluster-seed"),
            "{}",
            out.stderr
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_without_a_valid_mac_are_ignored() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        // A short window, so a stale value can be shown refused quickly.
        let host = lattice.host(&[], &["--auth-window", "2s"]).await;
        let front = lattice.start(&host, "front").await;
        let greeter = lattice.start(&host, "greeter").await;
        let link = Link::new(&front, &greeter, "acme:greet", &["greeter"]);
        let raw = lattice.nats.connect().await.expect("raw client");
        let store = floe_lattice::open_bucket(&raw, lattice.client.lattice())
            .await
            .expect("bucket");
        let welcome = || async {
            let args = serde_json::to_vec(&json!([["Ada"], false])).expect("json");
            lattice
                .client
                .call(&front, "acme:greet/front.welcome", args, Encoding::Json)
                .await
        };
        let settle = || tokio::time::sleep(Duration::from_millis(300));

        // Written by hand: plain JSON, then sealed under another key.
        let plain = serde_json::to_vec(&link).expect("json");
        store
            .put(link.key(), plain.clone().into())
            .await
            .expect("put");
        settle().await;
        let err = welcome().await.expect_err("an unsealed link is ignored");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::NoLink), "{err}");
        let foreign = foreign_auth(&lattice).seal_value(&link.key(), &plain);
        store.put(link.key(), foreign.into()).await.expect("put");
        settle().await;
        let err = welcome().await.expect_err("a foreign link is ignored");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::NoLink), "{err}");
        assert!(lattice.client.links().await.expect("links").is_empty());
        assert!(host.log().contains("ignoring a link entry"));

        // Put properly: it applies at once.
        lattice.client.put_link(&link).await.expect("link put");
        settle().await;
        assert!(welcome().await.is_ok(), "an authentic link routes");
        let sealed = store.get(link.key()).await.expect("get").expect("value");
        // An unsealed delete marker does not remove it.
        store.delete(link.key()).await.expect("raw delete");
        settle().await;
        assert!(welcome().await.is_ok(), "an unsealed delete is ignored");
        // `link del` does; storing the old authentic value again after the
        // window (a rollback) does not bring it back.
        lattice.client.put_link(&link).await.expect("link put");
        lattice
            .client
            .delete_link(&front, "acme:greet", "default")
            .await
            .expect("link del");
        settle().await;
        let err = welcome().await.expect_err("deleted");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::NoLink), "{err}");
        // At once: older than the tombstone the host applied.
        store
            .put(link.key(), sealed.clone())
            .await
            .expect("replayed put");
        settle().await;
        let err = welcome().await.expect_err("a rolled-back link is ignored");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::NoLink), "{err}");
        assert!(host.log().contains("older than the one in force"));
        // After the window: stale for any reader, even one that starts now.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        store.put(link.key(), sealed).await.expect("replayed put");
        settle().await;
        let err = welcome().await.expect_err("a rolled-back link is ignored");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::NoLink), "{err}");
    })
    .await;
}
