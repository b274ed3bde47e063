//! Anvil's napi-rs addon: thin bindings from JS typed arrays to the pure-Rust crates.
//! Every export is `catch_unwind`, so a Rust panic reaches JS as an error, never an abort.

mod checkpoint;
mod clip;
mod cuda;
mod dist;
mod ema;
mod grad_lists;
mod layers;
mod optim;
mod scaler;
mod staging;
#[cfg(feature = "torch")]
mod torch;
mod views;

use napi_derive::napi;

/// The addon's version, to check that JS and the binary come from the same build.
#[napi(catch_unwind)]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
