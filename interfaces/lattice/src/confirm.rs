//! Confirming that the server has taken a connection's subscriptions.
//! async-nats' `flush` only writes the socket; the server processes one
//! connection's messages in order, so a message this connection sends to
//! a fresh inbox of its own comes back only once every subscription it
//! sent before is in force on that server. (Not a request to a subject
//! nobody listens on: whoever listens on `>` would take it and never
//! answer.)

use std::time::Duration;

use futures::StreamExt as _;

/// NATS did not confirm a connection's subscriptions.
#[derive(Debug, thiserror::Error)]
#[error("NATS did not confirm the subscription: {0}")]
pub struct Unconfirmed(String);

/// Waits, at most `within`, until the server has registered every
/// subscription `nats` made before this call.
pub async fn subscriptions_registered(
    nats: &async_nats::Client,
    within: Duration,
) -> Result<(), Unconfirmed> {
    let round_trip = async {
        let probe = nats.new_inbox();
        let mut echo = nats
            .subscribe(probe.clone())
            .await
            .map_err(|e| Unconfirmed(e.to_string()))?;
        nats.publish(probe, bytes::Bytes::new())
            .await
            .map_err(|e| Unconfirmed(e.to_string()))?;
        nats.flush().await.map_err(|e| Unconfirmed(e.to_string()))?;
        match echo.next().await {
            Some(_) => Ok(()),
            None => Err(Unconfirmed("the connection closed".to_owned())),
        }
    };
    match tokio::time::timeout(within, round_trip).await {
        Ok(result) => result,
        Err(_) => Err(Unconfirmed(format!("no answer within {within:?}"))),
    }
}
