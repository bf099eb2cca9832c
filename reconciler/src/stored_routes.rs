//! The stored ingress routes as one pass sees them: read at most once per
//! pass, and only when the pass needs them — an app that declares routes,
//! an app being removed, a forgotten app's leftovers, and every tenth pass
//! (which removes the routes of an app whose manifest no longer has any).
//! A lattice with many hand-made routes and no app routes costs the leader
//! no reads on most passes.

use floe_ctl::CtlClient;
use floe_wire::ingress::Route;

/// How often a pass reads the routes without an app asking for them.
pub const SWEEP_EVERY: u64 = 10;

#[derive(Debug, Default)]
pub struct StoredRoutes {
    read: Option<Vec<Route>>,
}

impl StoredRoutes {
    /// The routes, read now unless this pass has them already; `None`
    /// when they cannot be read (logged).
    pub async fn get(&mut self, client: &CtlClient) -> Option<&[Route]> {
        if self.read.is_none() {
            match client.list_routes().await {
                Ok(routes) => self.read = Some(routes),
                Err(e) => {
                    tracing::warn!("reconciler: cannot read the routes: {e}");
                    return None;
                }
            }
        }
        self.read.as_deref()
    }
}
