//! The authenticated lattice against a real host: hand-made messages from a
//! raw NATS client — no MAC, a MAC under another key, altered, re-aimed and
//! replayed — are refused and never run; so is a control request without a
//! valid MAC; links written into the KV bucket without a valid MAC, or
//! authentic ones stored again long after they were sealed, are ignored.

use std::time::Duration;

use floe_lattice::LatticeAuth;
use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::auth::ReplayPolicy;
use floe_wire::control::ControlReply;
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

/// A raw client's requests, each with its own reply subject under one
/// wildcard inbox, so a test sees every answer in the order the host sent
/// them (one connection, one subscription).
struct Inbox {
    raw: async_nats::Client,
    prefix: String,
    sub: async_nats::Subscriber,
    next: u32,
}

impl Inbox {
    async fn new(raw: async_nats::Client) -> Self {
        let prefix = raw.new_inbox();
        let sub = raw
            .subscribe(format!("{prefix}.>"))
            .await
            .expect("subscribe");
        raw.flush().await.expect("flush");
        Inbox {
            raw,
            prefix,
            sub,
            next: 0,
        }
    }

    /// A new reply subject.
    fn to(&mut self) -> String {
        self.next += 1;
        format!("{}.{}", self.prefix, self.next)
    }

    /// Sends `body` to `subject` with replies to `to`.
    async fn send(
        &self,
        subject: &str,
        to: &str,
        headers: Option<async_nats::HeaderMap>,
        body: Vec<u8>,
    ) {
        let headers = headers.unwrap_or_default();
        self.raw
            .publish_with_reply_and_headers(subject.to_owned(), to.to_owned(), headers, body.into())
            .await
            .expect("publish");
        self.raw.flush().await.expect("flush");
    }

    /// The next answer to arrive, which must be the one for `to`: nothing
    /// sent before it was answered.
    async fn answer_to(&mut self, to: &str) -> async_nats::Message {
        use futures::StreamExt as _;
        let msg = tokio::time::timeout(Duration::from_secs(10), self.sub.next())
            .await
            .expect("an answer within 10 s")
            .expect("subscription open");
        assert_eq!(
            msg.subject.as_str(),
            to,
            "the first answer is the authentic request's"
        );
        msg
    }
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

        let mut inbox = Inbox::new(raw).await;
        // Each forgery below is dropped unanswered (a reply would go where
        // its sender chose); the counters say why each was refused.
        // No MAC at all.
        let to = inbox.to();
        inbox.send(&rpc, &to, None, envelope("plain")).await;
        // A MAC under another key.
        let (body, to) = (envelope("foreign"), inbox.to());
        let headers = foreign_auth(&lattice).headers(&rpc, Some(&to), &body);
        inbox.send(&rpc, &to, Some(headers), body).await;
        // Authentic, then altered: one byte of the payload changed.
        let (body, to) = (envelope("hello"), inbox.to());
        let headers = auth.headers(&rpc, Some(&to), &body);
        let mut altered = body.clone();
        let at = altered
            .windows(5)
            .position(|w| w == b"hello")
            .expect("payload in envelope");
        altered[at] = b'j';
        inbox.send(&rpc, &to, Some(headers), altered).await;
        // Authentic but sealed for another subject (re-aimed).
        let (body, to) = (envelope("aimed"), inbox.to());
        let elsewhere = Subject::Rpc {
            entity: floe_wire::KeyKind::Actor.generate().public_key(),
        }
        .render(lattice.client.lattice());
        let headers = auth.headers(&elsewhere, Some(&to), &body);
        inbox.send(&rpc, &to, Some(headers), body).await;
        // Authentic but with its answer diverted to another inbox.
        let (body, to) = (envelope("diverted"), inbox.to());
        let headers = auth.headers(&rpc, Some(&to), &body);
        let diverted = inbox.to();
        inbox.send(&rpc, &diverted, Some(headers), body).await;
        // Authentic: it runs once, and its answer is the first to arrive.
        let (body, to) = (envelope("once"), inbox.to());
        let headers = auth.headers(&rpc, Some(&to), &body);
        inbox
            .send(&rpc, &to, Some(headers.clone()), body.clone())
            .await;
        let first = inbox.answer_to(&to).await;
        auth.verify(&first).expect("the answer is sealed");
        let answer = InvocationReply::decode(&first.payload)
            .expect("reply")
            .outcome
            .expect("the authentic call runs");
        assert_eq!(&answer[..], br#""once""#);
        // The same message again is a replay: the next answer is the one
        // to a new authentic request after it.
        inbox.send(&rpc, &to, Some(headers), body).await;
        let (body, after) = (envelope("after"), inbox.to());
        let headers = auth.headers(&rpc, Some(&after), &body);
        inbox.send(&rpc, &after, Some(headers), body).await;
        inbox.answer_to(&after).await;

        // The inventory: two calls ran; six were refused before running.
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        let actor = &inv.actors[0];
        assert_eq!(actor.calls, 2, "{actor:?}");
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

        // A client holding another seed gets nothing back.
        let stranger = floe_ctl::CtlClient::from_client(
            lattice.nats.connect().await.expect("connect"),
            std::sync::Arc::new(foreign_auth(&lattice)),
            Duration::from_millis(500),
        );
        let err = stranger
            .call(&echo, ECHO, b"[\"x\"]".to_vec(), Encoding::Json)
            .await
            .expect_err("a stranger's call is dropped");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::TimedOut), "{err}");
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
        let mut inbox = Inbox::new(raw).await;
        for foreign in [false, true] {
            let to = inbox.to();
            let headers = foreign.then(|| foreign_auth(&lattice).headers(&start, Some(&to), &body));
            inbox.send(&start, &to, headers, body.clone()).await;
        }
        let stop = Subject::Host {
            host: host.id().to_owned(),
            op: HostOp::Stop,
        }
        .render(lattice.client.lattice());
        let to = inbox.to();
        inbox.send(&stop, &to, None, b"{}".to_vec()).await;
        // None of them is answered: the first answer is to an authentic ping.
        let ping = Subject::HostPing.render(lattice.client.lattice());
        let (body, to) = (b"{\"v\":1}".to_vec(), inbox.to());
        let headers = lattice.client.auth().headers(&ping, Some(&to), &body);
        inbox.send(&ping, &to, Some(headers), body).await;
        let pong = inbox.answer_to(&to).await;
        let pong: ControlReply<serde_json::Value> =
            serde_json::from_slice(&pong.payload).expect("a control reply");
        assert!(pong.accepted);
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
        // Only an entry sealed under another key: the client names its seed
        // as the likely cause rather than listing nothing.
        let listed = lattice.client.links_checked().await;
        assert!(
            matches!(
                listed,
                Err(floe_ctl::CtlError::ForeignSeed { count: 1, .. })
            ),
            "{listed:?}"
        );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_another_seed_is_told_so() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = lattice.start(&host, "echo").await;
        let greeter = lattice.start(&host, "greeter").await;
        lattice
            .client
            .put_link(&Link::new(&echo, &greeter, "acme:greet", &["greeter"]))
            .await
            .expect("link");
        // The seed of another lattice, pointed at this one.
        let cli = FloeCli::for_lattice("not-this-lattice").expect("cli");
        let out = cli.run(lattice.args(&["get", "links"]));
        assert!(!out.success, "{}", out.stdout);
        assert!(
            out.stderr.contains("sealed under another cluster key")
                && out.stderr.contains("--cluster-seed"),
            "{}",
            out.stderr
        );
        let out = cli.run(lattice.args(&["call", "echo", ECHO, "[\"x\"]"]));
        assert!(!out.success, "{}", out.stdout);
        assert!(
            out.stderr.contains("no host answered") && out.stderr.contains("cluster seed"),
            "{}",
            out.stderr
        );
        // The right seed lists it.
        let right = FloeCli::for_lattice(&lattice.name).expect("cli");
        let listed = right.ok(lattice.args(&["get", "links"]));
        assert!(
            listed.contains(&format!("echo ({}…)", &echo[..8])),
            "{listed}"
        );
    })
    .await;
}
