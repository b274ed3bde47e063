//! Element kernels of the optimizers, one file each, all run by `crate::driver::step`.

pub mod adam;
pub mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;
