"""PyTorch CUDA AdamW (fused and foreach) on the layouts of crates/anvil-cuda/examples/bench_cuda.rs, for the GPU table in bench/RESULTS-cuda.md."""
import time, torch
n = 50_000_000
print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
for fused, foreach in [(True, False), (False, True)]:
    for tensors in [1, 100]:
        w = [i % 7 + 1 for i in range(tensors)]
        sizes = [n * x // sum(w) for x in w]
        sizes[-1] = n - sum(sizes[:-1])
        ps = [torch.full((s,), 0.5, device="cuda", requires_grad=True) for s in sizes]
        for p in ps:
            p.grad = torch.full_like(p, 0.5)
        opt = torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.01, fused=fused, foreach=foreach)
        for _ in range(3):
            opt.step()
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(20):
            opt.step()
        torch.cuda.synchronize()
        s = (time.perf_counter() - t) / 20
        print(f"| torch AdamW {'fused' if fused else 'foreach'} {tensors} tensor(s) | {n} | {s*1e3:.3f} | {28*n/s/1e9:.0f} |")
        del ps, opt
        torch.cuda.empty_cache()
