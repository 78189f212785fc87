"""PyTorch peer of mhmtl's training benchmark (src/bench/train.ts; a benchmark peer, never a test
dependency).

Trains the network mhmtl's hard sharing trains, on the batch data the bench wrote, on ONE thread:

    x [batch, features] (CSR: TF-IDF values)
      -> EmbeddingBag(features, hidden, mode='sum', sparse=True) with per_sample_weights, + bias
      -> ReLU -> dropout(0.3)
      -> Linear(hidden, tasks)                 (one logit per task: the heads)
    loss = sum over tasks of the task's masked (NaN label = unknown) mean binary cross-entropy,
           positives weighted by pos_weight (the bench passes mhmtl's 'balanced' weights)
    SparseAdam for the bag's weight (lazy Adam over the touched rows), Adam for the rest, both at
    the same learning rate as mhmtl's default (0.001).

What differs from mhmtl: no L2 on the weights (SparseAdam has no weight decay); mhmtl adds
l2 = 1e-6 to the touched rows' gradients, the same work per row either way.

Usage: python3 peer_pytorch.py DIR, where DIR holds meta.json ({"units", "features", "hidden",
"tasks", "batch", "epochs", "seed", "learningRate", "dropout"}), indptr.i32, indices.i32,
values.f32 (CSR [units, features], little endian), y.f32 ([units, tasks] row-major, NaN unknown),
pos_weight.f32 ([tasks]). Prints one JSON line: {"torch": version, "threads": 1, "unitsPerSecond":
[per epoch, units / seconds of the epoch's steps], "cpuSeconds": process CPU seconds of the steps}.
"""

import json
import os
import sys
import time

import numpy as np
import torch


def main(directory: str) -> None:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    with open(os.path.join(directory, "meta.json"), encoding="utf8") as f:
        meta = json.load(f)
    units, features, hidden, tasks = meta["units"], meta["features"], meta["hidden"], meta["tasks"]
    batch, epochs, seed, lr = meta["batch"], meta["epochs"], meta["seed"], meta["learningRate"]
    read = lambda name, dtype: np.fromfile(os.path.join(directory, name), dtype=dtype)
    indptr = torch.from_numpy(read("indptr.i32", "<i4").astype(np.int64))
    indices = torch.from_numpy(read("indices.i32", "<i4").astype(np.int64))
    values = torch.from_numpy(read("values.f32", "<f4"))
    y = torch.from_numpy(read("y.f32", "<f4").reshape(units, tasks))
    pos_weight = torch.from_numpy(read("pos_weight.f32", "<f4"))

    torch.manual_seed(seed)
    bag = torch.nn.EmbeddingBag(features, hidden, mode="sum", sparse=True)
    bound = (6.0 / (features + hidden)) ** 0.5  # Glorot uniform, as mhmtl
    torch.nn.init.uniform_(bag.weight, -bound, bound)
    bias = torch.nn.Parameter(torch.zeros(hidden))
    heads = torch.nn.Linear(hidden, tasks)
    dropout = torch.nn.Dropout(meta.get("dropout", 0.3))
    sparse_opt = torch.optim.SparseAdam([bag.weight], lr=lr)
    dense_opt = torch.optim.Adam([bias, *heads.parameters()], lr=lr)
    generator = torch.Generator().manual_seed(seed)

    rates = []
    cpu = 0.0
    for _ in range(epochs):
        order = torch.randperm(units, generator=generator)
        c0 = time.process_time()
        t0 = time.perf_counter()
        for s in range(0, units, batch):
            ids = order[s : s + batch]
            starts, ends = indptr[ids], indptr[ids + 1]
            lengths = ends - starts
            offsets = torch.zeros(len(ids), dtype=torch.int64)
            offsets[1:] = torch.cumsum(lengths, 0)[:-1]
            # positions of the batch's entries in the CSR arrays, unit after unit
            pos = torch.repeat_interleave(starts - offsets, lengths) + torch.arange(int(lengths.sum()))
            z = bag(indices[pos], offsets, per_sample_weights=values[pos]) + bias
            logits = heads(dropout(torch.relu(z)))
            yb = y[ids]
            known = ~torch.isnan(yb)
            target = torch.where(known, yb, torch.zeros_like(yb))
            per_entry = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, target, pos_weight=pos_weight, reduction="none"
            )
            per_entry = torch.where(known, per_entry, torch.zeros_like(per_entry))
            loss = (per_entry.sum(0) / known.sum(0).clamp(min=1)).sum()
            sparse_opt.zero_grad(set_to_none=True)
            dense_opt.zero_grad(set_to_none=True)
            loss.backward()
            sparse_opt.step()
            dense_opt.step()
        rates.append(units / (time.perf_counter() - t0))
        cpu += time.process_time() - c0
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "unitsPerSecond": rates, "cpuSeconds": cpu}))


if __name__ == "__main__":
    main(sys.argv[1])
