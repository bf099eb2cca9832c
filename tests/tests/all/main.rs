//! Floe's integration tests: one test binary so the workspace links once.
//!
//! Every test runs against real processes (nats-server, the `floe` binary)
//! under a hard timeout. Tests whose name contains `cluster` run one at a
//! time (see `.config/nextest.toml`).

mod apps;
mod apps_linked;
mod apps_rollout;
mod artifacts;
mod auth;
mod autoscale;
mod claims_cli;
mod cli_lattice;
mod config_logs;
mod control_replies;
mod demo;
mod dev;
mod docs_commands;
mod dormancy;
mod harness;
mod host_loss;
mod host_startup;
mod hosts;
mod http;
mod in_process;
mod ingress;
mod ingress_apps;
mod ingress_tls;
mod invocation;
mod isolation;
mod keys_cli;
mod keyvalue;
mod lattice;
mod linked_updates;
mod links;
mod live_config;
mod metrics;
mod new_projects;
mod provider_archives;
mod provider_sdk;
mod providers;
mod records;
mod refusals;
mod reuse;
mod secrets;
mod shared_instances;
mod up;
mod walkthrough;
mod wasi_p3;
