//! Declarative applications: the manifest a user applies (components,
//! placement, links), its validation with errors naming the field, and the
//! records the lattice keeps about an app (its versions, which one is
//! current, and the status the reconciling leader reports).
//!
//! # Layout
//! - `manifest`: the manifest types (YAML or JSON, unknown fields refused)
//!   and [`AppManifest::validate`].
//! - `records`: what the KV bucket holds per app, and its keys.
//! - `spread`: replicas per spread group from the weights.
//! - `routes`: the manifest's ingress routes.

mod manifest;
mod records;
mod routes;
mod spread;

pub use manifest::{
    AppManifest, Autoscale, Component, ComponentKind, DEFAULT_SCALE_DOWN_AFTER, LinkSpec,
    ManifestError, Placement, Spread,
};
pub use records::{
    APP_ANNOTATION, AppHead, AppState, AppStatus, AppVersion, COMPONENT_ANNOTATION, HEAD_PREFIX,
    STATUS_PREFIX, head_key, status_key, valid_app_name, version_key, version_prefix,
};
pub use routes::{CanarySpec, RouteSpec};
pub use spread::replicas_per_group;

#[cfg(test)]
mod tests;
