//! NATS server lists as Floe's flags and host data give them: one URL or
//! several separated by commas (`nats://a:4222,nats://b:4222`), so a
//! process reaches any server of a cluster.

/// The servers in `urls`.
pub fn server_addrs(urls: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    let addrs: Vec<async_nats::ServerAddr> = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            u.parse()
                .map_err(|e| format!("`{u}` is not a NATS server URL: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if addrs.is_empty() {
        return Err("no NATS server URL given".to_owned());
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
