"""PyTorch eager on one thread, for gradc's side-by-side benchmark (bench/torch.ts runs it).

The same work as bench/numpy_bench.py plus attention: the batchnorm backward (PyTorch's
hand-written kernel, aten::native_batch_norm_backward), one training iteration of the notebook's
6-layer net with batchnorm (forward, loss, every gradient), and attention
softmax(Q K^T / sqrt(d)) V forward and backward at each T, one head ([T,d]) and H heads ([H,T,d]). float64 and float32; median wall-clock
milliseconds per call (time.perf_counter), as gradc's side is timed. A comparison row only: gradc
never depends on PyTorch.

    /usr/bin/python3 bench/torch_bench.py '{"sizes": [[100, 500]], "reps": 20, "T": [128, 512]}'
"""
import json
import sys

import torch
from py_timing import median_ms, reps_for  # the script's folder is on sys.path

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def batchnorm(n, d, dtype, reps):
    g = torch.Generator().manual_seed(231)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    dout = torch.randn(n, d, generator=g, dtype=dtype)
    gamma = torch.randn(d, generator=g, dtype=dtype)
    beta = torch.zeros(d, dtype=dtype)
    eps = 1e-5
    _, mean, invstd = torch.ops.aten.native_batch_norm(x, gamma, beta, None, None, True, 0.1, eps)
    mask = [True, True, True]
    run = lambda: torch.ops.aten.native_batch_norm_backward(dout, x, gamma, None, None, mean, invstd, True, eps, mask)
    return median_ms(run, reps_for(10 * n * d, reps))


def iteration(dtype, reps, hidden=(100, 100, 100, 100, 100), batch=50, dim=3072, classes=10):
    torch.manual_seed(231)
    layers = []
    last = dim
    for h in hidden:
        layers += [torch.nn.Linear(last, h), torch.nn.BatchNorm1d(h), torch.nn.ReLU()]
        last = h
    layers.append(torch.nn.Linear(last, classes))
    net = torch.nn.Sequential(*layers).to(dtype).train()
    X = torch.randn(batch, dim, dtype=dtype)
    y = torch.randint(classes, (batch,))

    def step():
        for p in net.parameters():
            p.grad = None
        loss = torch.nn.functional.cross_entropy(net(X), y)
        loss.backward()
        return loss

    return median_ms(step, 4 * reps)


def attention(t, d, dtype, reps, heads=1):
    g = torch.Generator().manual_seed(1)
    shape = (t, d) if heads == 1 else (heads, t, d)
    q, k, v = (torch.rand(*shape, generator=g, dtype=dtype).mul_(2).sub_(1).requires_grad_() for _ in range(3))
    dout = torch.rand(*shape, generator=g, dtype=dtype).mul_(2).sub_(1)
    scale = 1.0 / d**0.5

    def step():
        for x in (q, k, v):
            x.grad = None
        out = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1) @ v
        out.backward(dout)
        return out

    return median_ms(step, reps_for(4 * heads * t * t * d, reps))


def main():
    req = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    sizes = req.get("sizes", [[100, 500], [1024, 1024], [4096, 1024]])
    reps = req.get("reps", 30)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batchnorm": [], "iteration": {}, "attention": []}
    for dtype in (torch.float64, torch.float32):
        name = "f64" if dtype is torch.float64 else "f32"
        for n, d in sizes:
            out["batchnorm"].append({"N": n, "D": d, "dtype": name, "ms": batchnorm(n, d, dtype, reps)})
        if req.get("iteration", True):
            out["iteration"][name] = iteration(dtype, reps)
        for h in req.get("heads", [1]):
            for t in req.get("T", [128, 512, 1024]):
                out["attention"].append({"heads": h, "T": t, "d": 64, "dtype": name, "ms": attention(t, 64, dtype, reps, h)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
