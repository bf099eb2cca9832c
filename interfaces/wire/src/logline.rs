//! One line an actor logged, as published on `log.{actor_id}` (JSON) and
//! kept in the lattice's bounded log stream.

use serde::{Deserialize, Serialize};

/// A logged line, tagged with the invocation that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorLogLine {
    pub actor_id: String,
    pub host_id: String,
    /// The envelope id of the invocation.
    pub invocation: String,
    /// `log` (wasi:logging), `stdout` or `stderr`.
    pub stream: String,
    /// `trace`, `debug`, `info`, `warn`, `error` or `critical`.
    pub level: String,
    #[serde(default)]
    pub context: String,
    pub line: String,
    /// RFC 3339, when the host published it.
    pub time: String,
}
