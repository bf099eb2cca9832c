//! `floe:host/link` (interfaces/wit/floe-host): lets an invocation pick the
//! link name its routed imports go through. Always granted: it selects only
//! among links an operator put for this actor, and a routed import still
//! needs its own claim.

use wasmtime::component::Linker;

use super::state::InstanceState;

/// The instance name components import.
pub const INTERFACE: &str = "floe:host/link@0.1.0";

/// Defines `floe:host/link` in `linker`.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    let mut instance = linker.instance(INTERFACE)?;
    instance.func_wrap(
        "set-link-name",
        |store: wasmtime::StoreContextMut<'_, InstanceState>, (name,): (String,)| {
            let chosen = floe_wire::link::parse_link_name(&name)
                .map_err(|e| e.to_string())
                .map(|name| {
                    if let Some(caller) = &store.data().caller {
                        caller.set_link_name(name);
                    }
                });
            Ok((chosen,))
        },
    )?;
    instance.func_wrap(
        "link-name",
        |store: wasmtime::StoreContextMut<'_, InstanceState>, (): ()| {
            let name = store.data().caller.as_ref().map_or_else(
                || floe_wire::link::DEFAULT_LINK_NAME.to_owned(),
                |caller| caller.link_name(),
            );
            Ok((name,))
        },
    )?;
    Ok(())
}
