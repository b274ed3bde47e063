//! A TorchScript MLP exported by scripts/gen-torch-interop-fixtures.py, trained by Anvil's
//! kernels in libtorch's memory and compared with PyTorch's own training on the same batch.
//! `bash scripts/torch-interop.sh` makes the fixtures and points ANVIL_TORCH_FIXTURES at them.
#![cfg(feature = "torch")]

use std::collections::HashMap;
use std::path::PathBuf;

use anvil_kernels::optim::{Adam, Sgd};
use anvil_kernels::scaler::ClipSpec;
use anvil_torch::{Batch, Loss, Targets, TorchModel, TorchOptimizer};

enum Values {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

struct Fixtures {
    dir: PathBuf,
    hp: HashMap<String, f64>,
    tensors: HashMap<String, (Vec<i64>, Values)>,
}

impl Fixtures {
    fn load() -> Fixtures {
        let dir = PathBuf::from(std::env::var("ANVIL_TORCH_FIXTURES").expect(
            "ANVIL_TORCH_FIXTURES is not set: run `bash scripts/torch-interop.sh`, which writes the fixtures with PyTorch and runs these tests",
        ));
        let manifest = std::fs::read_to_string(dir.join("manifest.txt")).expect("manifest.txt in ANVIL_TORCH_FIXTURES");
        let (mut hp, mut tensors) = (HashMap::new(), HashMap::new());
        for line in manifest.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            match f[..] {
                ["hp", name, value] => {
                    hp.insert(name.to_string(), value.parse().unwrap());
                }
                ["tensor", name, dtype, shape, file] => {
                    let shape = if shape == "scalar" { vec![] } else { shape.split(',').map(|d| d.parse().unwrap()).collect() };
                    let bytes = std::fs::read(dir.join(file)).unwrap();
                    let values = match dtype {
                        "f32" => Values::F32(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()),
                        "i64" => Values::I64(bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()),
                        _ => panic!("unknown dtype {dtype}"),
                    };
                    tensors.insert(name.to_string(), (shape, values));
                }
                _ => panic!("bad manifest line {line:?}"),
            }
        }
        Fixtures { dir, hp, tensors }
    }

    fn f32(&self, name: &str) -> &[f32] {
        match &self.tensors[name].1 {
            Values::F32(v) => v,
            Values::I64(_) => panic!("{name} is int64"),
        }
    }

    fn i64(&self, name: &str) -> &[i64] {
        match &self.tensors[name].1 {
            Values::I64(v) => v,
            Values::F32(_) => panic!("{name} is float32"),
        }
    }

    fn shape(&self, name: &str) -> &[i64] {
        &self.tensors[name].0
    }

    fn hp(&self, name: &str) -> f64 {
        self.hp[name]
    }

    fn model(&self, file: &str) -> TorchModel {
        TorchModel::load(self.dir.join(file)).unwrap()
    }

    fn batch(&self) -> Batch<'_> {
        Batch { inputs: self.f32("x"), input_shape: self.shape("x"), targets: Targets::ClassIndices(self.i64("y")), target_shape: self.shape("y") }
    }

    fn adamw(&self) -> Adam {
        let h = |n| self.hp(n);
        Adam { lr: h("lr"), beta1: h("beta1"), beta2: h("beta2"), eps: h("eps"), weight_decay: h("weight_decay"), amsgrad: false, maximize: false, decoupled: true }
    }

    /// Every parameter of `model` against PyTorch's values `{prefix}.{name}`.
    fn assert_params(&self, model: &TorchModel, prefix: &str, tol: f32) {
        for (i, p) in model.parameters().iter().enumerate() {
            let got = model.parameter_values(i).unwrap();
            let want = self.f32(&format!("{prefix}.{}", p.name));
            assert_eq!(got.len(), want.len(), "{}", p.name);
            let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            println!("{prefix}.{}: max |anvil - torch| = {worst:e}", p.name);
            assert!(worst <= tol, "{prefix}.{}: max |anvil - torch| = {worst:e} > {tol:e}", p.name);
        }
    }
}

fn close(a: f32, b: f32, rel: f32) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-6)
}

#[test]
fn adamw_with_clipping_trains_libtorch_memory_in_place_as_torch_does() {
    let fx = Fixtures::load();
    let mut model = fx.model("mlp_loss.pt");
    let names: Vec<&str> = model.parameters().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    assert_eq!(model.parameters()[0].shape, [16, 8]);
    fx.assert_params(&model, "init", 0.0);

    let before = model.addresses().unwrap();
    let mut opt = TorchOptimizer::new(&model);
    let kernel = fx.adamw();
    let (losses, norms) = (fx.f32("adamw.losses"), fx.f32("adamw.norms"));
    let max_norm = fx.hp("max_norm");
    assert!(norms[0] > max_norm as f32, "the fixture's first gradient norm {} must exceed max_norm {max_norm} so clipping acts", norms[0]);
    let mut seen = Vec::new();
    for step in 0..fx.hp("steps") as usize {
        model.zero_grad().unwrap();
        let loss = model.forward_backward(&fx.batch(), Loss::Module, 1.0).unwrap();
        let norm = model.clip_grad_norm(max_norm, 2.0, false).unwrap();
        assert!(close(loss, losses[step], 1e-5), "step {step}: loss {loss} vs torch {}", losses[step]);
        assert!(close(norm, norms[step], 1e-5), "step {step}: grad norm {norm} vs torch {}", norms[step]);
        opt.step(&kernel, &mut model, 1.0).unwrap();
        seen.push(loss);
    }
    println!("AdamW losses (anvil kernels on libtorch memory): {seen:?}");
    assert!(seen.last().unwrap() < &(seen[0] * 0.9), "loss did not decrease: {seen:?}");
    assert_eq!(opt.steps(), [10, 10, 10, 10]);
    // Same memory before and after: the parameters and gradients were never moved or copied.
    let after = model.addresses().unwrap();
    println!("parameter/gradient addresses before {before:x?} after {after:x?}");
    assert_eq!(before, after);
    fx.assert_params(&model, "adamw", 1e-6);
    // The exp_avg state is Anvil's, non-zero after training.
    assert!(opt.state(0, 0).unwrap().iter().any(|&m| m != 0.0));
}

#[test]
fn fused_loss_scaling_with_clipping_matches_unscaled_torch_training() {
    let fx = Fixtures::load();
    let mut model = fx.model("mlp_loss.pt");
    let before = model.addresses().unwrap();
    let mut opt = TorchOptimizer::new(&model);
    let kernel = fx.adamw();
    let scale = fx.hp("loss_scale") as f32;
    let clip = ClipSpec { max_norm: fx.hp("max_norm"), norm_type: 2.0, error_if_nonfinite: false };
    let norms = fx.f32("adamw.norms");
    assert_eq!(norms.len(), fx.hp("steps") as usize);
    for (step, &torch_norm) in norms.iter().enumerate() {
        model.zero_grad().unwrap();
        model.forward_backward(&fx.batch(), Loss::Module, scale).unwrap();
        // Read pass over the still-scaled gradients; unscale and clip fold into the update.
        let check = model.amp_check(scale, Some(clip)).unwrap();
        assert!(!check.found_inf);
        let norm = check.total_norm.unwrap();
        assert!(close(norm, torch_norm, 1e-5), "step {step}: grad norm {norm} vs torch {torch_norm}");
        opt.step(&kernel, &mut model, check.grad_scale).unwrap();
    }
    assert_eq!(model.addresses().unwrap(), before);
    fx.assert_params(&model, "adamw", 1e-6);
}

#[test]
fn unscale_divides_in_place_and_finds_overflow() {
    let fx = Fixtures::load();
    let mut model = fx.model("mlp_loss.pt");
    let scale = fx.hp("loss_scale") as f32;
    model.forward_backward(&fx.batch(), Loss::Module, scale).unwrap();
    let scaled: Vec<f32> = model.tensors_mut().unwrap()[0].grad.to_vec();
    assert!(!model.unscale_grads(scale).unwrap());
    let unscaled = model.tensors_mut().unwrap()[0].grad.to_vec();
    assert!(scaled.iter().zip(&unscaled).all(|(s, u)| *u == *s / scale));
    assert!(unscaled.iter().any(|&g| g != 0.0));
    let limit = unscaled.iter().map(|g| g.abs()).fold(0.0f32, f32::max) / 2.0;
    model.clip_grad_value(f64::from(limit)).unwrap();
    let clipped = model.tensors_mut().unwrap()[0].grad.to_vec();
    assert!(clipped.iter().zip(&unscaled).all(|(c, u)| *c == u.clamp(-limit, limit)));
    // Inputs of 1e30 and a scale of 2^66 overflow float32 gradients in backward: found.
    model.zero_grad().unwrap();
    let huge: Vec<f32> = fx.f32("x").iter().map(|v| v * 1e30).collect();
    let overflow_scale = 2f32.powi(66);
    model.forward_backward(&Batch { inputs: &huge, ..fx.batch() }, Loss::Module, overflow_scale).unwrap();
    assert!(model.unscale_grads(overflow_scale).unwrap());
    model.zero_grad().unwrap();
    assert!(model.tensors_mut().unwrap().iter().all(|t| t.grad.iter().all(|&g| g == 0.0)));
}

#[test]
fn sgd_with_momentum_matches_torch() {
    let fx = Fixtures::load();
    let mut model = fx.model("mlp_loss.pt");
    let mut opt = TorchOptimizer::new(&model);
    let kernel = Sgd { lr: fx.hp("sgd_lr") as f32, momentum: fx.hp("sgd_momentum") as f32, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false };
    for _ in 0..fx.hp("steps") as usize {
        model.zero_grad().unwrap();
        model.forward_backward(&fx.batch(), Loss::Module, 1.0).unwrap();
        opt.step(&kernel, &mut model, 1.0).unwrap();
    }
    fx.assert_params(&model, "sgd", 1e-6);
    // The state layout is fixed by the first step: another optimizer needs its own state.
    let err = opt.step(&fx.adamw(), &mut model, 1.0).unwrap_err();
    assert!(err.0.contains("holds 1 state buffers per parameter, the kernel needs 2"), "{err}");
}

#[test]
fn losses_computed_on_a_logits_module() {
    let fx = Fixtures::load();
    let mut model = fx.model("mlp_logits.pt");
    // Same weights as mlp_loss.pt, so the same first loss.
    let ce = model.forward_backward(&fx.batch(), Loss::CrossEntropy, 1.0).unwrap();
    assert!(close(ce, fx.f32("adamw.losses")[0], 1e-6), "{ce}");
    model.zero_grad().unwrap();
    let batch = Batch { targets: Targets::Values(fx.f32("mse_target")), target_shape: fx.shape("mse_target"), ..fx.batch() };
    let mse = model.forward_backward(&batch, Loss::Mse, 1.0).unwrap();
    assert!(close(mse, fx.f32("mse_loss0")[0], 1e-6), "{mse}");
    assert!(model.tensors_mut().unwrap().iter().any(|t| t.grad.iter().any(|&g| g != 0.0)));
}

#[test]
fn bad_input_is_a_clear_error() {
    let fx = Fixtures::load();
    let err = TorchModel::load(fx.dir.join("missing.pt")).err().unwrap();
    assert!(err.0.contains("cannot load") && err.0.contains("missing.pt"), "{err}");
    let mut model = fx.model("mlp_loss.pt");
    let bad = Batch { input_shape: &[64, 7], ..fx.batch() };
    let err = model.forward_backward(&bad, Loss::Module, 1.0).unwrap_err();
    assert!(err.0.contains("inputs shape [64, 7] holds 448 values, inputs has 512"), "{err}");
    let err = model.forward_backward(&fx.batch(), Loss::Module, 0.0).unwrap_err();
    assert!(err.0.contains("lossScale must be a positive finite number"), "{err}");
    let floats = Batch { targets: Targets::Values(fx.f32("mse_target")), target_shape: fx.shape("mse_target"), ..fx.batch() };
    let err = model.forward_backward(&floats, Loss::CrossEntropy, 1.0).unwrap_err();
    assert!(err.0.contains("'cross_entropy' takes class indices"), "{err}");
    // The module's own forward rejects float targets shaped as class indices: libtorch's error, not a crash.
    let shaped_as_indices = Batch { targets: Targets::Values(&fx.f32("x")[..64]), target_shape: &[64], ..fx.batch() };
    let err = model.forward_backward(&shaped_as_indices, Loss::Module, 1.0).unwrap_err();
    assert!(err.0.starts_with("libtorch:"), "{err}");
    assert!(Loss::parse("hinge").unwrap_err().0.contains("unknown loss 'hinge'"));
    assert_eq!(Loss::parse("cross_entropy").unwrap(), Loss::CrossEntropy);
}

#[test]
fn tied_weights_are_refused() {
    let fx = Fixtures::load();
    let err = TorchModel::load(fx.dir.join("tied.pt")).err().unwrap();
    assert!(err.0.contains("share memory (tied weights are not supported)"), "{err}");
}
