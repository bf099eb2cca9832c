//! NATS server lists as Floe's flags and host data give them: one URL or
//! several separated by commas (`nats://a:4222,nats://b:4222`), so a
//! process reaches any server of a cluster.

/// Why a server list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerListError {
    #[error("`{url}` is not a NATS server URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("no NATS server URL given")]
    Empty,
}

/// The servers in `urls`.
pub fn server_addrs(urls: &str) -> Result<Vec<async_nats::ServerAddr>, ServerListError> {
    let addrs: Vec<async_nats::ServerAddr> = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            u.parse()
                .map_err(|e: std::io::Error| ServerListError::BadUrl {
                    url: u.to_owned(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<_, _>>()?;
    if addrs.is_empty() {
        return Err(ServerListError::Empty);
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_several_servers() {
        assert_eq!(
            server_addrs("nats://127.0.0.1:4222").map(|a| a.len()),
            Ok(1)
        );
        assert_eq!(
            server_addrs("nats://a:4222, nats://b:4223").map(|a| a.len()),
            Ok(2)
        );
        assert!(server_addrs("").is_err());
        assert!(server_addrs("nats://a:port").is_err());
    }
}
