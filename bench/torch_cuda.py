"""PyTorch CUDA on the layouts of crates/anvil-cuda/examples/bench_cuda.rs, one JSON line per row:
fused and foreach AdamW, fused and foreach SGD with momentum, clip_grad_norm_, and the AMP step
(GradScaler.unscale_ + clip_grad_norm_ + fused AdamW's step, float32 gradients as torch keeps
them under autocast). Timed the same way: `reps` calls between two synchronisations, median of 5."""
import json, statistics, sys, time
import torch

def offsets(n, tensors):
    w = [i % 7 + 1 for i in range(tensors)]
    sizes = [n * x // sum(w) for x in w]
    sizes[-1] = n - sum(sizes[:-1])
    return sizes

def timed(reps, f):
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        f()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps

def main():
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", file=sys.stderr)
    for n in [10_000_000, 100_000_000]:
        reps = 10 if n > 50_000_000 else 40
        for tensors in [1, 200]:
            for op, impl, bytes_ in [("adamw", "fused", 28), ("adamw", "foreach", 28), ("sgd", "fused", 20), ("sgd", "foreach", 20),
                                     ("clip_grad_norm", "clip_grad_norm_", 12), ("amp_step", "GradScaler+clip+fused", 48)]:
                ps = [torch.full((s,), 0.5, device="cuda", requires_grad=True) for s in offsets(n, tensors)]
                for p in ps:
                    p.grad = torch.full_like(p, 0.5)
                if op == "adamw" or op == "amp_step":
                    opt = torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.01, fused=impl != "foreach", foreach=impl == "foreach" or None)
                elif op == "sgd":
                    opt = torch.optim.SGD(ps, lr=1e-3, momentum=0.9, fused=impl == "fused", foreach=impl == "foreach" or None)
                if op == "clip_grad_norm":
                    run = lambda: torch.nn.utils.clip_grad_norm_(ps, 1e-3)
                elif op == "amp_step":
                    scaler = torch.amp.GradScaler("cuda", init_scale=65536.0)
                    scaler.scale(torch.ones((), device="cuda"))  # what scaling the loss sets up
                    def run():
                        scaler.unscale_(opt)
                        torch.nn.utils.clip_grad_norm_(ps, 1.0)
                        scaler.step(opt)
                        scaler.update()
                else:
                    run = opt.step
                for _ in range(3):
                    run()
                src = torch.empty(n, device="cuda")
                dst = torch.empty(n, device="cuda")
                copy = lambda: dst.copy_(src)
                secs, ratios, copies = [], [], []
                for _ in range(5):
                    before = timed(reps, copy)
                    s = timed(reps, run)
                    after = timed(reps, copy)
                    copy_gbs = 8 * n / ((before + after) / 2) / 1e9
                    secs.append(s)
                    copies.append(copy_gbs)
                    ratios.append(bytes_ * n / s / 1e9 / copy_gbs)
                s = statistics.median(secs)
                print(json.dumps({"impl": f"torch {impl}", "op": op, "n": n, "tensors": tensors, "ms": round(s * 1e3, 4), "bytes_per_elem": bytes_,
                                  "gbs": round(bytes_ * n / s / 1e9, 1), "copy_gbs": round(statistics.median(copies), 1), "of_copy": round(statistics.median(ratios), 4)}), flush=True)
                del ps, src, dst
                opt = None
                torch.cuda.empty_cache()

main()
