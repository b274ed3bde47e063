"""PyTorch side of `npm run bench`: a worker that times one repetition per request, so the
Node driver can run its bandwidth probe right before and after each PyTorch repetition."""
import json
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
state = {}


def setup(case, sizes):
    ps = [torch.randn(s) for s in sizes]
    for p in ps:
        p.requires_grad_(True)
        p.grad = torch.randn_like(p) * 1e-3
    if case in ("adamw_fused", "adamw_foreach", "amp_fused"):
        opt = torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.01, fused=case != "adamw_foreach", foreach=case == "adamw_foreach")
    elif case == "sgd_fused":
        opt = torch.optim.SGD(ps, lr=1e-3, momentum=0.9, fused=True)
    else:
        opt = None
    if case == "amp_fused":
        for p in ps:  # AMP: gradients of the scaled loss
            p.grad.mul_(65536.0)
        state["scaler"] = torch.amp.GradScaler("cpu", init_scale=65536.0, growth_interval=10**9)
        state["scaler"].scale(torch.ones(()))  # initialises the scale, as scaling the loss does
    state.update(case=case, ps=ps, opt=opt)
    one()  # warm-up: state allocation, first-step paths


def one():
    case, ps, opt = state["case"], state["ps"], state["opt"]
    if case == "clip":
        torch.nn.utils.clip_grad_norm_(ps, 1.0)
    elif case == "amp_fused":
        sc = state["scaler"]
        sc.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(ps, 1.0)
        sc.step(opt)
        sc.update()
        sc.scale(torch.ones(()))
        for p in ps:  # the next step's gradients are scaled again (not timed by the driver: see run)
            p.grad.mul_(65536.0)
    else:
        opt.step()


def run():
    t = time.perf_counter()
    one()
    elapsed = time.perf_counter() - t
    if state["case"] == "amp_fused":
        # Re-scaling the gradients belongs to the next backward, not the step: time it and subtract.
        t2 = time.perf_counter()
        for p in state["ps"]:
            p.grad.mul_(1.0)
        elapsed -= time.perf_counter() - t2
    return elapsed


print(json.dumps({"ready": torch.__version__}), flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if msg["cmd"] == "setup":
        setup(msg["case"], msg["sizes"])
        print(json.dumps({"ok": True}), flush=True)
    elif msg["cmd"] == "run":
        print(json.dumps({"seconds": run()}), flush=True)
    elif msg["cmd"] == "quit":
        break
