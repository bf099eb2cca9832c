//! The raw NATS responder: answers every request on SUBJECT with its own
//! payload, in its own process (as the host is), for the baseline figures.

use futures::StreamExt as _;

pub async fn serve(url: &str, subject: &str) -> anyhow::Result<()> {
    let client = async_nats::connect(url).await?;
    let mut sub = client
        .queue_subscribe(subject.to_owned(), "raw".to_owned())
        .await?;
    client.flush().await?;
    println!("ready");
    while let Some(msg) = sub.next().await {
        if let Some(reply) = msg.reply {
            let client = client.clone();
            tokio::spawn(async move {
                let _ = client.publish(reply, msg.payload).await;
            });
        }
    }
    Ok(())
}
