//! `floe dev` on the Rust `http` template: served through the http-server
//! provider at the address it prints; an edit of the handler's text is
//! served within the time reported while a client requests every 20 ms,
//! with zero failed requests; a syntax error shows the compiler's message
//! and the old version keeps serving; Ctrl-C leaves nothing running (no
//! actor, provider, link or pushed artifact).

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use floe_tests::http::{HttpClient, free_port};
use floe_tests::{FloeCli, paths, with_timeout};

use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(600);

/// What a client requesting every 20 ms saw.
#[derive(Default)]
struct Seen {
    ok: AtomicU64,
    failed: Mutex<Vec<String>>,
    last_body: Mutex<String>,
}

/// Waits until `text` is in what `lines` collected.
async fn wait_for_line(lines: &Mutex<String>, text: &str, limit: Duration) -> Duration {
    let since = Instant::now();
    loop {
        if lines.lock().expect("lines").contains(text) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < limit,
            "`floe dev` never said {text:?}; it said:\n{}",
            lines.lock().expect("lines")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_swaps_each_edit_in_with_no_failed_request_and_cleans_up() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let root = tempfile::tempdir().expect("dir");
        crate::new_projects::floe(
            &cli,
            &lattice,
            root.path(),
            &["new", "actor", "web", "--template", "http"],
        );
        let project = root.path().join("web");
        let address = format!("127.0.0.1:{}", free_port());

        let mut command = cli.command();
        command
            .args(lattice.args(&["dev", "--address", &address]))
            .current_dir(&project)
            .env(
                "CARGO_TARGET_DIR",
                paths::guest_target_dir().expect("target"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut dev = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .expect("floe dev runs");
        let said = floe_tests::cli::collect_output(&mut dev);
        let url = format!("http://{address}/");
        wait_for_line(&said, &format!("Serving {url}"), Duration::from_secs(300)).await;

        // A client requesting every 20 ms for the rest of the test.
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let client = {
            let (seen, stop, url) = (seen.clone(), stop.clone(), url.clone());
            tokio::spawn(async move {
                let http = HttpClient::new();
                while !stop.load(Ordering::Relaxed) {
                    match http.get(&url).await {
                        Ok(answer) if answer.status == 200 => {
                            seen.ok.fetch_add(1, Ordering::Relaxed);
                            *seen.last_body.lock().expect("body") = answer.text();
                        }
                        Ok(answer) => seen.failed.lock().expect("failed").push(format!(
                            "{}: {}",
                            answer.status,
                            answer.text()
                        )),
                        Err(e) => seen.failed.lock().expect("failed").push(e),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let body = || seen.last_body.lock().expect("body").clone();
        let first = Instant::now();
        while body().is_empty() {
            assert!(
                first.elapsed() < Duration::from_secs(30),
                "no request succeeded: {:?}",
                seen.failed.lock().expect("failed")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(body(), "hello from web\n");

        // Edit the handler's text: served once swapped in.
        let source = project.join("src/lib.rs");
        let code = std::fs::read_to_string(&source).expect("source");
        let edited = code.replace("hello from web", "hello again from web");
        assert_ne!(code, edited, "the template has the greeting");
        let saved = Instant::now();
        std::fs::write(&source, &edited).expect("saved");
        while body() != "hello again from web\n" {
            assert!(
                saved.elapsed() < Duration::from_secs(300),
                "the edit was never served; floe dev said:\n{}",
                said.lock().expect("said")
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let served_after = saved.elapsed();
        wait_for_line(&said, "Swapped in revision 2", Duration::from_secs(10)).await;
        let report = said
            .lock()
            .expect("said")
            .lines()
            .find(|l| l.contains("Swapped in revision 2"))
            .unwrap_or_default()
            .to_owned();
        eprintln!("edit served {served_after:?} after saving; floe dev: {report}");

        // A syntax error: the compiler's message is shown, the old version
        // keeps serving.
        std::fs::write(&source, edited.replace("struct Actor;", "struct Actor")).expect("saved");
        wait_for_line(&said, "Still serving revision 2", Duration::from_secs(300)).await;
        {
            let text = said.lock().expect("said").clone();
            assert!(
                text.contains("error") && text.contains("expected"),
                "{text}"
            );
        }
        // Requests answered after the failed build still get the old text.
        let answered = seen.ok.load(Ordering::Relaxed);
        while seen.ok.load(Ordering::Relaxed) < answered + 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(body(), "hello again from web\n");

        stop.store(true, Ordering::Relaxed);
        client.await.expect("client");
        let failed = seen.failed.lock().expect("failed").clone();
        let ok = seen.ok.load(Ordering::Relaxed);
        assert!(
            failed.is_empty(),
            "{} failed of {}: {failed:?}",
            failed.len(),
            ok
        );
        assert!(ok > 10, "only {ok} requests");
        eprintln!("{ok} requests, none failed");

        // Ctrl-C: everything it started goes.
        let pid = dev.id().expect("pid").to_string();
        let signalled = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill");
        assert!(signalled.success());
        let status = tokio::time::timeout(Duration::from_secs(60), dev.wait())
            .await
            .expect("floe dev stops within a minute")
            .expect("status");
        assert!(
            status.success(),
            "{status}; it said:\n{}",
            said.lock().expect("said")
        );
        let inventory = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        assert!(inventory.actors.is_empty(), "{:?}", inventory.actors);
        assert!(inventory.providers.is_empty(), "{:?}", inventory.providers);
        assert!(lattice.client.links().await.expect("links").is_empty());
        let artifacts = crate::new_projects::floe(
            &cli,
            &lattice,
            root.path(),
            &["get", "artifacts", "-o", "json"],
        );
        assert_eq!(artifacts.trim(), "[]", "pushed builds removed");
        assert!(
            HttpClient::new().get(&url).await.is_err(),
            "nothing serves {url} any more"
        );
    })
    .await;
}
