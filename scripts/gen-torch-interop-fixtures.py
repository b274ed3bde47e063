"""Fixtures for the `torch` feature's tests (run by scripts/torch-interop.sh with torch==2.13.0).

Writes into OUT_DIR: two TorchScript files of one small MLP with the same weights
(`mlp_loss.pt`: forward(x, y) returns the cross-entropy loss; `mlp_logits.pt`: forward(x)
returns logits), a module with tied weights (`tied.pt`), a batch, and what PyTorch itself computes from them: the loss and gradient
norm of every step and the parameters after STEPS steps of AdamW (with clip_grad_norm_) and of
SGD with momentum. `manifest.txt` lists every tensor (`tensor NAME DTYPE SHAPE FILE`, raw
little-endian values) and every hyperparameter (`hp NAME VALUE`).

Usage: python gen-torch-interop-fixtures.py OUT_DIR
"""

import copy
import os
import struct
import sys
import warnings

# torch warns once that NumPy is missing; nothing here needs it.
warnings.filterwarnings('ignore', message='Failed to initialize NumPy')

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

STEPS = 10
HP = {
    'steps': STEPS,
    'lr': 1e-2,
    'beta1': 0.9,
    'beta2': 0.999,
    'eps': 1e-8,
    'weight_decay': 1e-2,
    'max_norm': 0.25,
    'sgd_lr': 0.1,
    'sgd_momentum': 0.9,
    'loss_scale': 1024.0,
}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class WithLoss(MLP):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.logits(x), y)


class Logits(MLP):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


class Tied(nn.Module):
    """Two layers sharing one weight tensor (tied weights), which Anvil refuses to step twice."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(4, 4)
        self.dec = nn.Linear(4, 4)
        self.dec.weight = self.enc.weight

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.dec(self.enc(x)), y)


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = WithLoss()
    logits_model = Logits()
    logits_model.load_state_dict(model.state_dict())
    torch.jit.script(copy.deepcopy(model)).save(os.path.join(out, 'mlp_loss.pt'))
    torch.jit.script(logits_model).save(os.path.join(out, 'mlp_logits.pt'))
    torch.jit.script(Tied()).save(os.path.join(out, 'tied.pt'))

    # Class = the signs of the first two features: learnable by the MLP.
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    mse_target = F.one_hot(y, 4).float()
    with torch.no_grad():
        mse0 = F.mse_loss(logits_model(x), mse_target)

    tensors = {'x': x, 'y': y, 'mse_target': mse_target, 'mse_loss0': mse0.reshape(1)}
    for name, p in model.named_parameters():
        tensors[f'init.{name}'] = p.detach().clone()

    # torch's own AdamW training on the batch: zero_grad, backward, clip_grad_norm_, step.
    m = copy.deepcopy(model)
    opt = torch.optim.AdamW(m.parameters(), lr=HP['lr'], betas=(HP['beta1'], HP['beta2']), eps=HP['eps'], weight_decay=HP['weight_decay'])
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = m(x, y)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(m.parameters(), HP['max_norm']).item())
        losses.append(loss.item())
        opt.step()
    tensors['adamw.losses'] = torch.tensor(losses)
    tensors['adamw.norms'] = torch.tensor(norms)
    for name, p in m.named_parameters():
        tensors[f'adamw.{name}'] = p.detach().clone()

    # SGD with momentum, no clipping.
    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), lr=HP['sgd_lr'], momentum=HP['sgd_momentum'])
    for _ in range(STEPS):
        opt.zero_grad()
        m(x, y).backward()
        opt.step()
    for name, p in m.named_parameters():
        tensors[f'sgd.{name}'] = p.detach().clone()

    lines = [f'hp {k} {v!r}' for k, v in HP.items()]
    for name, t in tensors.items():
        t = t.detach().contiguous().reshape(-1)
        if t.dtype == torch.int64:
            dtype, data = 'i64', struct.pack(f'<{t.numel()}q', *t.tolist())
        else:
            dtype, data = 'f32', struct.pack(f'<{t.numel()}f', *t.float().tolist())
        shape = ','.join(str(d) for d in tensors[name].shape) or 'scalar'
        fname = f'{name}.bin'
        with open(os.path.join(out, fname), 'wb') as f:
            f.write(data)
        lines.append(f'tensor {name} {dtype} {shape} {fname}')
    with open(os.path.join(out, 'manifest.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'fixtures: {len(tensors)} tensors, torch {torch.__version__}, AdamW loss {losses[0]:.4f} -> {losses[-1]:.4f}, in {out}')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: gen-torch-interop-fixtures.py OUT_DIR')
    main(sys.argv[1])
