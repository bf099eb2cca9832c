//! A guest's stdout or stderr: kept in memory up to a cap for the host log
//! (and, for stderr, a trap's message), with anything beyond the cap dropped
//! silently — a chatty guest must never fail a call because it wrote a lot.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Captured output, shared between the store and the host.
#[derive(Debug, Clone)]
pub struct CappedOutput {
    capacity: usize,
    buffer: Arc<Mutex<BytesMut>>,
    truncated: Arc<AtomicBool>,
}

impl CappedOutput {
    pub fn new(capacity: usize) -> Self {
        CappedOutput {
            capacity,
            buffer: Arc::new(Mutex::new(BytesMut::new())),
            truncated: Arc::new(AtomicBool::new(false)),
        }
    }

    /// What was kept, and whether more was written than kept.
    pub fn contents(&self) -> (Bytes, bool) {
        let kept = self.lock().clone().freeze();
        (kept, self.truncated.load(Ordering::Relaxed))
    }

    /// Forgets what was written (an instance reused for another call).
    pub fn clear(&self) {
        self.lock().clear();
        self.truncated.store(false, Ordering::Relaxed);
    }

    fn append(&self, bytes: &[u8]) {
        let mut buffer = self.lock();
        let room = self.capacity.saturating_sub(buffer.len());
        if bytes.len() > room {
            self.truncated.store(true, Ordering::Relaxed);
        }
        buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BytesMut> {
        // Plain bytes: a panic elsewhere cannot leave them inconsistent.
        self.buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

#[async_trait::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready: what does not fit is dropped, never refused.
        Ok(64 << 10)
    }
}

impl AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_start_and_drops_the_rest() {
        let out = CappedOutput::new(8);
        let mut stream = out.clone();
        stream.write(Bytes::from_static(b"hello ")).expect("write");
        stream
            .write(Bytes::from_static(b"world, and more"))
            .expect("never refused");
        assert_eq!(stream.check_write().expect("ready"), 64 << 10);
        let (kept, truncated) = out.contents();
        assert_eq!(&kept[..], b"hello wo");
        assert!(truncated);
    }
}
