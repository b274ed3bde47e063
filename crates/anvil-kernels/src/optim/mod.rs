//! Element kernels of the optimizers, one file each, all run by `crate::driver::step`.

pub mod adadelta;
pub mod adagrad;
pub mod adam;
pub mod adamax;
pub mod asgd;
pub mod lamb;
pub mod lion;
mod math;
pub mod nadam;
pub mod radam;
pub mod rmsprop;
pub mod rprop;
pub mod sgd;
#[cfg(test)]
mod testing;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamax::Adamax;
pub use asgd::Asgd;
pub use lamb::Lamb;
pub use lion::Lion;
pub use nadam::NAdam;
pub use radam::RAdam;
pub use rmsprop::RmsProp;
pub use rprop::Rprop;
pub use sgd::Sgd;
