"""Writes test/fixtures/dist/distributed-sampler.json: torch.utils.data.DistributedSampler's
shards (per rank, two epochs) for several dataset sizes, world sizes, shuffle and drop_last,
with the epoch's permutation torch shuffled with (randperm under seed + epoch), so the test can
feed that permutation to Anvil's shardIndices and compare padding and sharding exactly.

Run: /tmp/torchenv/bin/python scripts/gen-dist-sampler-fixtures.py
"""
import json
import os

import torch
from torch.utils.data import DistributedSampler


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


cases = []
for n in [1, 2, 5, 7, 10, 16, 17, 33]:
    for world in [1, 2, 3, 4, 8]:
        for shuffle in [False, True]:
            for drop_last in [False, True]:
                if drop_last and n < world:
                    continue  # torch yields empty shards; nothing to compare
                for epoch in [0, 1]:
                    seed = 7
                    g = torch.Generator()
                    g.manual_seed(seed + epoch)
                    order = torch.randperm(n, generator=g).tolist() if shuffle else list(range(n))
                    shards = []
                    for rank in range(world):
                        s = DistributedSampler(Sized(n), num_replicas=world, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
                        s.set_epoch(epoch)
                        shards.append(list(iter(s)))
                        assert len(shards[-1]) == len(s)
                    cases.append(dict(n=n, world=world, shuffle=shuffle, drop_last=drop_last, epoch=epoch, order=order, shards=shards))

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'dist', 'distributed-sampler.json')
with open(out, 'w') as f:
    json.dump(dict(torch_version=torch.__version__, cases=cases), f, separators=(',', ':'))
    f.write('\n')
print(f'{len(cases)} cases -> {os.path.normpath(out)}')
