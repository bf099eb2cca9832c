//! Reading the host data: one JSON document on stdin, which the host closes
//! after writing it.

use floe_wire::provider::{HOST_DATA_VERSION, HostData};
use tokio::io::AsyncReadExt as _;

use crate::ProviderError;

/// The most host data a provider accepts (config included).
const MAX_HOST_DATA: u64 = 1 << 20;

/// Reads and checks the host data from stdin.
pub async fn read() -> Result<HostData, ProviderError> {
    // It may hold secrets: wiped once parsed.
    let mut text = zeroize::Zeroizing::new(Vec::new());
    tokio::io::stdin()
        .take(MAX_HOST_DATA)
        .read_to_end(&mut text)
        .await
        .map_err(|e| ProviderError::HostData(e.to_string()))?;
    parse(&text)
}

/// Parses and checks host data.
pub fn parse(text: &[u8]) -> Result<HostData, ProviderError> {
    let data: HostData =
        serde_json::from_slice(text).map_err(|e| ProviderError::HostData(e.to_string()))?;
    if data.v == 0 || data.v > HOST_DATA_VERSION {
        return Err(ProviderError::HostData(format!(
            "host data version {} (this SDK reads {HOST_DATA_VERSION})",
            data.v
        )));
    }
    if data.lattice_keys.is_empty() {
        return Err(ProviderError::HostData("no lattice key".to_owned()));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_keyless_host_data_are_refused() {
        assert!(parse(b"").is_err());
        assert!(parse(b"{not json").is_err());
        let data = serde_json::json!({
            "v": 1, "lattice": "default", "host_id": "N", "provider_id": "V", "name": "p",
            "nats_url": "nats://127.0.0.1:4222", "lattice_keys": [],
            "auth_window_ms": 60000, "auth_skew_ms": 30000
        });
        let err = parse(data.to_string().as_bytes()).expect_err("no key");
        assert!(err.to_string().contains("no lattice key"));
        let mut future = data.clone();
        future["v"] = 99.into();
        future["lattice_keys"] = serde_json::json!([{"id": "a", "key": "b"}]);
        assert!(parse(future.to_string().as_bytes()).is_err());
    }
}
