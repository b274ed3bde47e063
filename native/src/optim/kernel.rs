//! Every optimizer's element kernel as one value, so a step can be stored in an async task and
//! run later on another thread; `step` dispatches to the generic driver, monomorphized per kernel.

use anvil_kernels::driver::step_borrowed;
use anvil_kernels::{optim, probe::StreamProbe, KernelError};

use super::Typed;

pub enum AnyKernel {
    Sgd(optim::Sgd),
    Adam(optim::Adam),
    Adamax(optim::Adamax),
    NAdam(optim::NAdam),
    RAdam(optim::RAdam),
    Lamb(optim::Lamb),
    Asgd(optim::Asgd),
    Rprop(optim::Rprop),
    Lion(optim::Lion),
    Adagrad(optim::Adagrad),
    RmsProp(optim::RmsProp),
    Adadelta(optim::Adadelta),
    Probe(StreamProbe),
}

impl AnyKernel {
    /// One driver step of this kernel over `bucket`.
    pub fn step(&self, bucket: Typed<'_, '_>) -> Result<(), KernelError> {
        macro_rules! each {
            ($($v:ident),*) => {
                match self {
                    $(AnyKernel::$v(k) => match bucket {
                        Typed::F32(b) => step_borrowed(k, b),
                        Typed::F16(b) => step_borrowed(k, b),
                        Typed::Bf16(b) => step_borrowed(k, b),
                    },)*
                }
            };
        }
        each!(Sgd, Adam, Adamax, NAdam, RAdam, Lamb, Asgd, Rprop, Lion, Adagrad, RmsProp, Adadelta, Probe)
    }
}
