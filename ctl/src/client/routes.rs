//! Ingress routes through the client (`floe_lattice::routes`): stored in
//! the lattice's bucket, served by every host started with `--ingress`.

use floe_lattice::routes::RouteStoreError;
use floe_wire::control::{ControlCode, Refusal};
use floe_wire::ingress::Route;

use super::{CtlClient, CtlError};

fn route_error(e: RouteStoreError) -> CtlError {
    match e {
        RouteStoreError::Invalid(_) | RouteStoreError::Conflict { .. } => {
            let code = match e {
                RouteStoreError::Conflict { .. } => ControlCode::Conflict,
                _ => ControlCode::BadRequest,
            };
            CtlError::Refused(Refusal::new(code, e.to_string()))
        }
        RouteStoreError::NotFound(_) => CtlError::NotFound(e.to_string()),
        other => CtlError::Store(other.to_string()),
    }
}

impl CtlClient {
    /// Stores `route` (refused when another route matches the same).
    pub async fn put_route(&self, route: Route) -> Result<Route, CtlError> {
        let store = self.bucket().await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        floe_lattice::routes::put(&store, &self.auth, route, now)
            .await
            .map_err(route_error)
    }

    /// Every route, by name.
    pub async fn list_routes(&self) -> Result<Vec<Route>, CtlError> {
        let store = self.bucket().await?;
        floe_lattice::routes::list(&store, &self.auth)
            .await
            .map_err(route_error)
    }

    pub async fn delete_route(&self, name: &str) -> Result<(), CtlError> {
        let store = self.bucket().await?;
        floe_lattice::routes::delete(&store, &self.auth, name)
            .await
            .map_err(route_error)
    }
}
