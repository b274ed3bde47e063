"""Turns the JSON lines of bench_cuda (Anvil) and torch_cuda.py (PyTorch) into bench/RESULTS-cuda.md's
table: ms/step, GB/s for the bytes each implementation really moves, % of the copy bandwidth
measured around the same repetitions, and Anvil's speed-up over each PyTorch baseline; then the
issue's targets, checked. Usage: cuda_table.py anvil.jsonl torch.jsonl [header lines...]"""
import json, sys

rows = [json.loads(l) for f in sys.argv[1:3] for l in open(f) if l.startswith("{")]
anvil = {(r["op"], r["n"], r["tensors"]): r for r in rows if r["impl"] == "anvil"}
out = ["| op | elements | tensors | implementation | ms/step | B/elem | GB/s | % of copy | Anvil speed-up |", "|---|---|---|---|---|---|---|---|---|"]
for r in sorted(rows, key=lambda r: (r["op"], r["n"], r["tensors"], r["impl"] != "anvil", r["impl"])):
    a = anvil.get((r["op"], r["n"], r["tensors"]))
    speed = "" if r["impl"] == "anvil" or not a else f"{r['ms'] / a['ms']:.2f}x"
    out.append(f"| {r['op']} | {r['n']:.0e} | {r['tensors']} | {r['impl']} | {r['ms']:.3f} | {r['bytes_per_elem']} | {r['gbs']:.0f} | {100 * r['of_copy']:.0f}% | {speed} |")
checks = []
def torch_row(op, n, t, impl):
    return next((r for r in rows if r["op"] == op and r["n"] == n and r["tensors"] == t and r["impl"] == impl), None)
for t in (1, 200):
    a = anvil.get(("adamw", 100_000_000, t))
    f = torch_row("adamw", 100_000_000, t, "torch fused")
    amp, tamp = anvil.get(("amp_step", 100_000_000, t)), torch_row("amp_step", 100_000_000, t, "torch GradScaler+clip+fused")
    if a:
        checks.append(f"- AdamW 1e8, {t} tensor(s): {100 * a['of_copy']:.0f}% of copy bandwidth (target >= 85%): {'met' if a['of_copy'] >= 0.85 else 'MISSED'}")
    if a and f:
        checks.append(f"- AdamW 1e8, {t} tensor(s): {f['ms'] / a['ms']:.2f}x torch fused (target >= 1.0x): {'met' if f['ms'] >= a['ms'] else 'MISSED'}")
    if amp and tamp:
        checks.append(f"- AMP step 1e8, {t} tensor(s): {tamp['ms'] / amp['ms']:.2f}x torch GradScaler + clip_grad_norm_ + fused AdamW (target >= 1.3x): {'met' if tamp['ms'] >= 1.3 * amp['ms'] else 'MISSED'}")
print("\n".join(sys.argv[3:] + [""] + out + ["", "Targets (issue #9):"] + checks))
