//! What one link asks of the HTTP server: where to listen and the limits of
//! the requests it forwards, read from the link's source config.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `address` | `IP:PORT` to listen on (required) | — |
//! | `max_body` | largest request body in bytes (413 beyond) | 768 KiB |
//! | `timeout` | time for the whole request: body read and actor call (504 beyond); the host's `--invocation-timeout` (10 s by default) caps the call too | `10s` |
//! | `header_timeout` | time a client has to send its request head | `10s` |
//! | `max_connections` | open connections served at once; more wait to be accepted | 1024 |
//! | `sample_client_traces` | honour a client's `traceparent` sampled flag (every process on the way then logs its span) | `false` |

use std::net::SocketAddr;
use std::time::Duration;

use floe_wire::{Link, http};

/// The largest `max_body`: a request must fit in one NATS message (1 MiB
/// by default) with its envelope and headers (a request that does not fit
/// the server's actual max payload is refused with 413 when it comes).
pub const MAX_BODY_LIMIT: usize = 960 << 10;
const DEFAULT_MAX_BODY: usize = 768 << 10;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// One link's route: a listener and the actor behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The link's KV key (source, package, link name): one listener each.
    pub link_key: String,
    /// The actor answering.
    pub actor: String,
    pub link_name: String,
    pub address: SocketAddr,
    pub max_body: usize,
    pub timeout: Duration,
    pub header_timeout: Duration,
    pub max_connections: usize,
    /// Whether a client may ask for its trace to be recorded.
    pub sample_client_traces: bool,
}

/// Why a link's config cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error(
        "the link has no `address` in its source config (add `--source-config address=127.0.0.1:8080`)"
    )]
    NoAddress,
    #[error("`{key}={value}` in the link's source config: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
}

impl Route {
    /// The route a link asks for, when it is an incoming-handler link from
    /// this provider (`None` for any other link).
    pub fn of(provider_id: &str, link: &Link) -> Option<Result<Route, RouteError>> {
        let serves = link.source == provider_id
            && link.package == http::PACKAGE
            && link
                .interfaces
                .iter()
                .any(|i| i == http::INCOMING_HANDLER_INTERFACE);
        serves.then(|| Route::parse(link))
    }

    fn parse(link: &Link) -> Result<Route, RouteError> {
        let config = &link.source_config;
        let raw = config.get(http::ADDRESS_KEY).ok_or(RouteError::NoAddress)?;
        let address = raw.parse().map_err(|e| RouteError::Invalid {
            key: http::ADDRESS_KEY,
            value: raw.clone(),
            reason: format!("{e} (use IP:PORT, e.g. 127.0.0.1:8080)"),
        })?;
        let max_body = match config.get("max_body") {
            None => DEFAULT_MAX_BODY,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= MAX_BODY_LIMIT => n,
                Ok(_) => {
                    return Err(RouteError::Invalid {
                        key: "max_body",
                        value: v.clone(),
                        reason: format!("at most {MAX_BODY_LIMIT} bytes fit in one NATS message"),
                    });
                }
                Err(e) => {
                    return Err(RouteError::Invalid {
                        key: "max_body",
                        value: v.clone(),
                        reason: e.to_string(),
                    });
                }
            },
        };
        let duration = |key: &'static str, default: Duration| match config.get(key) {
            None => Ok(default),
            Some(v) => match humantime::parse_duration(v) {
                Ok(d) if !d.is_zero() && d <= Duration::from_secs(3600) => Ok(d),
                Ok(_) => Err(RouteError::Invalid {
                    key,
                    value: v.clone(),
                    reason: "use a duration above zero and at most 1h".into(),
                }),
                Err(e) => Err(RouteError::Invalid {
                    key,
                    value: v.clone(),
                    reason: format!("{e} (e.g. 30s, 500ms)"),
                }),
            },
        };
        let max_connections =
            match config.get("max_connections") {
                None => DEFAULT_MAX_CONNECTIONS,
                Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    RouteError::Invalid {
                        key: "max_connections",
                        value: v.clone(),
                        reason: "use a whole number above zero".into(),
                    }
                })?,
            };
        Ok(Route {
            link_key: link.key(),
            actor: link.target.clone(),
            link_name: link.link_name.clone(),
            address,
            max_body,
            timeout: duration("timeout", DEFAULT_TIMEOUT)?,
            header_timeout: duration("header_timeout", DEFAULT_HEADER_TIMEOUT)?,
            max_connections,
            sample_client_traces: match config.get("sample_client_traces").map(String::as_str) {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(RouteError::Invalid {
                        key: "sample_client_traces",
                        value: other.to_owned(),
                        reason: "use true or false".into(),
                    });
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(config: &[(&str, &str)]) -> Link {
        let mut link = Link::new("VHTTP", "MACTOR", "wasi:http", &["incoming-handler"]);
        link.source_config = config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        link
    }

    #[test]
    fn routes_come_from_incoming_handler_links_of_this_provider() {
        let route = Route::of("VHTTP", &link(&[("address", "127.0.0.1:8080")]))
            .expect("served")
            .expect("valid");
        assert_eq!(route.address, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(route.actor, "MACTOR");
        assert_eq!(route.max_body, DEFAULT_MAX_BODY);
        assert_eq!(route.timeout, DEFAULT_TIMEOUT);
        assert!(Route::of("VOTHER", &link(&[])).is_none());
        let kv = Link::new("VHTTP", "MACTOR", "wasi:keyvalue", &["store"]);
        assert!(Route::of("VHTTP", &kv).is_none());
    }

    #[test]
    fn bad_config_is_named() {
        let err = |config: &[(&str, &str)]| {
            Route::of("VHTTP", &link(config))
                .expect("served")
                .expect_err("invalid")
                .to_string()
        };
        assert!(err(&[]).contains("--source-config address="));
        assert!(err(&[("address", "localhost")]).contains("address=localhost"));
        let too_big = err(&[("address", "127.0.0.1:1"), ("max_body", "2000000")]);
        assert!(too_big.contains("NATS message"), "{too_big}");
        let zero = err(&[("address", "127.0.0.1:1"), ("timeout", "0s")]);
        assert!(zero.contains("timeout=0s"), "{zero}");
        let ok = Route::of(
            "VHTTP",
            &link(&[
                ("address", "127.0.0.1:1"),
                ("timeout", "250ms"),
                ("max_body", "10"),
            ]),
        )
        .expect("served")
        .expect("valid");
        assert_eq!(ok.timeout, Duration::from_millis(250));
        assert_eq!(ok.max_body, 10);
    }
}
