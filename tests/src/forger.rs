//! [`Forger`]: a hostile party on the bus. It speaks the NATS client
//! protocol itself over TCP (so it can send what no well-behaved client
//! library would, such as a `503` status of its own), holds no lattice key,
//! subscribes to the subjects it is given, and answers every request it sees
//! there before anyone else can: first with garbage, then with a forged "no
//! responders" status.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// A running forger; it stops when dropped.
#[derive(Debug)]
pub struct Forger {
    seen: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Forger {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Forger {
    /// Connects to the NATS server on `port` and subscribes to `subjects`;
    /// returns once the server confirmed the subscriptions.
    pub async fn start(port: u16, subjects: &[String]) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let mut line = String::new();
        read.read_line(&mut line).await?;
        anyhow::ensure!(line.starts_with("INFO "), "not a NATS server: {line}");
        let mut hello = String::from(
            "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"name\":\"forger\"}\r\n",
        );
        for (sid, subject) in subjects.iter().enumerate() {
            hello.push_str(&format!("SUB {subject} {}\r\n", sid + 1));
        }
        hello.push_str("PING\r\n");
        write.write_all(hello.as_bytes()).await?;
        loop {
            line.clear();
            anyhow::ensure!(read.read_line(&mut line).await? > 0, "server closed");
            if line.starts_with("PONG") {
                break;
            }
            anyhow::ensure!(!line.starts_with("-ERR"), "server refused: {line}");
        }
        let seen = Arc::new(AtomicU64::new(0));
        let counter = seen.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = answer_all(read, write, counter).await {
                eprintln!("forger stopped: {e}");
            }
        });
        Ok(Forger { seen, task })
    }

    /// Requests answered with forgeries so far.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }
}

async fn answer_all(
    mut read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    mut write: tokio::net::tcp::OwnedWriteHalf,
    seen: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("PING") => write.write_all(b"PONG\r\n").await?,
            // MSG subject sid [reply] size / HMSG subject sid [reply] hsize size
            Some(op @ ("MSG" | "HMSG")) => {
                let counts = if op == "MSG" { 1 } else { 2 };
                let total: usize = words.last().unwrap_or(&"0").parse()?;
                let reply = (words.len() == 3 + counts + 1).then(|| words[3].to_owned());
                let mut body = vec![0; total + 2];
                read.read_exact(&mut body).await?;
                if let Some(reply) = reply {
                    seen.fetch_add(1, Ordering::Relaxed);
                    let garbage = b"\x93\xc0\xff garbage";
                    let mut out = format!("PUB {reply} {}\r\n", garbage.len()).into_bytes();
                    out.extend_from_slice(garbage);
                    out.extend_from_slice(b"\r\n");
                    let status = "NATS/1.0 503\r\n\r\n";
                    out.extend_from_slice(
                        format!("HPUB {reply} {0} {0}\r\n{status}\r\n", status.len()).as_bytes(),
                    );
                    write.write_all(&out).await?;
                }
            }
            _ => {}
        }
    }
}
