//! `wasi:config/store` (always granted; bindings from
//! interfaces/wit/wasi-config), served from the instance's
//! `actor_config::ActorConfig`: the actor's config as the host held it
//! when the call started.

use wasmtime::component::{HasSelf, Linker};

use super::state::InstanceState;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../interfaces/wit/wasi-config",
        world: "wasi:config/imports",
    });
}

use bindings::wasi::config::store::{Error, Host};

use super::actor_config::ReadError;

impl Host for InstanceState {
    fn get(&mut self, key: String) -> Result<Option<String>, Error> {
        self.config.text(&key).map_err(error)
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, Error> {
        let mut all = Vec::new();
        for key in self.config.keys() {
            if let Some(value) = self.config.text(key).map_err(error)? {
                all.push((key.clone(), value));
            }
        }
        Ok(all)
    }
}

fn error(e: ReadError) -> Error {
    match e {
        ReadError::NotText(key) => Error::Io(format!("the secret behind {key} is not UTF-8 text")),
    }
}

/// Defines `wasi:config/store` in `linker`.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    bindings::wasi::config::store::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)
}
