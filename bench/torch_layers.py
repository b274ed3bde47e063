"""PyTorch side of bench/layers.mjs: a worker that times one forward+backward repetition per
request on the same shapes as Anvil (the CNN demo model of configs/mnist_cnn.py, a Linear layer),
so the Node driver can alternate Anvil and PyTorch repetitions.

Protocol (one JSON object a line): {"cmd": "setup", "case": "cnn" | "linear", "threads": n, ...} -> {"ok": true};
{"cmd": "run"} -> {"seconds": s}; {"cmd": "quit"}. The first line out is {"ready": version}.
"""
import json
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)
state = {}


def cnn_model():
    """configs/mnist_cnn.py's model: ConvModule = conv (no bias before BN) + BN + ReLU."""
    def conv_module(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(
        *conv_module(1, 32), nn.MaxPool2d(2),
        *conv_module(32, 64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(inplace=True), nn.Dropout(0.25),
        nn.Linear(128, 10))


def setup(msg):
    case = msg["case"]
    if "threads" in msg:
        torch.set_num_threads(msg["threads"])
    if case == "cnn":
        model = cnn_model().train()
        x = torch.randn(msg["batch"], 1, 28, 28)
        labels = torch.randint(0, 10, (msg["batch"],))
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

        def step():
            model.zero_grad(set_to_none=True)
            loss_fn(model(x), labels).backward()
    elif case == "linear":
        model = nn.Linear(msg["in_features"], msg["out_features"])
        x = torch.randn(msg["batch"], msg["in_features"], requires_grad=True)
        dy = torch.randn(msg["batch"], msg["out_features"])

        def step():
            model.zero_grad(set_to_none=True)
            x.grad = None
            model(x).backward(dy)
    else:
        raise ValueError(f"unknown case {case}")
    state["step"] = step
    for _ in range(2):  # warm-up: allocator, oneDNN primitive caches
        step()


def run():
    t = time.perf_counter()
    state["step"]()
    return time.perf_counter() - t


print(json.dumps({"ready": torch.__version__.split("+")[0], "threads": torch.get_num_threads(),
                  "cpu": torch.backends.cpu.get_cpu_capability(), "mkl": torch.backends.mkl.is_available(),
                  "mkldnn": torch.backends.mkldnn.is_available()}), flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if msg["cmd"] == "setup":
        setup(msg)
        print(json.dumps({"ok": True}), flush=True)
    elif msg["cmd"] == "run":
        print(json.dumps({"seconds": run()}), flush=True)
    elif msg["cmd"] == "quit":
        break
