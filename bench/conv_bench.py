"""Convolution rows of gradc's benchmarks, the comparison side (bench/conv.ts runs it in a child).

numpy: an im2col reference written for the benchmark (the columns by stride tricks, one matrix
product per pass, col2im tap by tap), single-threaded BLAS. PyTorch: eager mode on one thread
(torch.set_num_threads(1)), autograd for the backward. Cases, float32 and float64:
  conv: forward and backward of a 3x3 conv with padding 1 and a bias (x, w, b -> y; dy -> dx, dw, db);
  net: one training iteration of the three-layer conv net (conv 7x7 - relu - 2x2 max pool - affine
       - relu - affine - softmax loss, forward and every gradient).
Median ms per call, wall-clock (time.perf_counter) or the process CPU time with clock "cpu"
(time.process_time), as bench/conv.ts times gradc.

    OPENBLAS_NUM_THREADS=1 python3 bench/conv_bench.py '{"which": "numpy", "reps": 10}'
"""
import json
import sys
import time

import numpy as np


CLOCK = time.perf_counter


def median_ms(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = CLOCK()
        f()
        ts.append(CLOCK() - t)
    ts.sort()
    return ts[len(ts) // 2] * 1000


def im2col(x, kh, kw, pad):
    """x [N, C, H, W] -> columns [C*kh*kw, N*OH*OW] (stride 1)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, w + 2 * pad - kw + 1
    s = xp.strides
    win = np.lib.stride_tricks.as_strided(xp, (c, kh, kw, n, oh, ow), (s[1], s[2], s[3], s[0], s[2], s[3]))
    return np.ascontiguousarray(win).reshape(c * kh * kw, n * oh * ow), oh, ow


def col2im(cols, shape, kh, kw, pad, oh, ow):
    n, c, h, w = shape
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    cols = cols.reshape(c, kh, kw, n, oh, ow)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + oh, j:j + ow] += cols[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, pad:pad + h, pad:pad + w]


def conv_forward(x, w, b, pad):
    f, _, kh, kw = w.shape
    cols, oh, ow = im2col(x, kh, kw, pad)
    y = (w.reshape(f, -1) @ cols + b[:, None]).reshape(f, x.shape[0], oh, ow).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(y), (x.shape, cols, oh, ow)


def conv_backward(dy, w, cache, pad):
    shape, cols, oh, ow = cache
    f, _, kh, kw = w.shape
    d = dy.transpose(1, 0, 2, 3).reshape(f, -1)
    db = d.sum(axis=1)
    dw = (d @ cols.T).reshape(w.shape)
    dx = col2im(w.reshape(f, -1).T @ d, shape, kh, kw, pad, oh, ow)
    return dx, dw, db


def numpy_conv(dtype, reps):
    rs = np.random.RandomState(0)
    x = rs.randn(32, 3, 32, 32).astype(dtype)
    w = rs.randn(32, 3, 3, 3).astype(dtype)
    b = rs.randn(32).astype(dtype)
    dy = rs.randn(32, 32, 32, 32).astype(dtype)

    def step():
        y, cache = conv_forward(x, w, b, 1)
        return y, conv_backward(dy, w, cache, 1)
    return median_ms(step, reps)


def numpy_net(dtype, reps):
    rs = np.random.RandomState(0)
    n, f, hidden = 50, 32, 100
    x = rs.randn(n, 3, 32, 32).astype(dtype)
    y = rs.randint(10, size=n)
    p = {"W1": rs.randn(f, 3, 7, 7) * 1e-3, "b1": np.zeros(f), "W2": rs.randn(f * 16 * 16, hidden) * 1e-3, "b2": np.zeros(hidden),
         "W3": rs.randn(hidden, 10) * 1e-3, "b3": np.zeros(10)}
    p = {k: v.astype(dtype) for k, v in p.items()}

    def step():
        c, cache = conv_forward(x, p["W1"], p["b1"], 3)
        r = np.maximum(c, 0)
        q = r.reshape(n, f, 16, 2, 16, 2)
        pooled = q.max(axis=(3, 5))
        h1 = pooled.reshape(n, -1)
        a2 = h1 @ p["W2"] + p["b2"]
        h2 = np.maximum(a2, 0)
        s = h2 @ p["W3"] + p["b3"]
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        prob = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(prob[np.arange(n), y]).mean()
        ds = prob.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        g = {"W3": h2.T @ ds, "b3": ds.sum(0)}
        dh2 = ds @ p["W3"].T
        da2 = dh2 * (a2 > 0)
        g["W2"], g["b2"] = h1.T @ da2, da2.sum(0)
        dpool = (da2 @ p["W2"].T).reshape(pooled.shape)
        mask = q == pooled[:, :, :, None, :, None]
        dr = (mask * dpool[:, :, :, None, :, None]).reshape(r.shape)
        dx, g["W1"], g["b1"] = conv_backward(dr * (c > 0), p["W1"], cache, 3)
        return loss, g
    return median_ms(step, reps)


def torch_rows(dtypes, reps):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    out = {}
    for name in dtypes:
        dt = {"f32": torch.float32, "f64": torch.float64}[name]
        g = torch.Generator().manual_seed(0)
        x = torch.randn(32, 3, 32, 32, dtype=dt, generator=g)
        w = torch.randn(32, 3, 3, 3, dtype=dt, generator=g, requires_grad=True)
        b = torch.randn(32, dtype=dt, generator=g, requires_grad=True)
        xg = x.clone().requires_grad_()
        dy = torch.randn(32, 32, 32, 32, dtype=dt, generator=g)

        def conv_step():
            y = F.conv2d(xg, w, b, padding=1)
            return torch.autograd.grad(y, (xg, w, b), dy)
        n, f, hidden = 50, 32, 100
        X = torch.randn(n, 3, 32, 32, dtype=dt, generator=g)
        Y = torch.randint(10, (n,), generator=g)
        ps = [torch.randn(*s, dtype=dt, generator=g).mul_(1e-3).requires_grad_() for s in [(f, 3, 7, 7), (f,), (f * 256, hidden), (hidden,), (hidden, 10), (10,)]]

        def net_step():
            W1, b1, W2, b2, W3, b3 = ps
            h = F.max_pool2d(F.relu(F.conv2d(X, W1, b1, padding=3)), 2)
            s = F.relu(h.reshape(n, -1) @ W2 + b2) @ W3 + b3
            loss = F.cross_entropy(s, Y)
            return torch.autograd.grad(loss, ps)
        out[name] = {"conv": median_ms(conv_step, reps), "net": median_ms(net_step, reps)}
    return out, torch.__version__


def main():
    global CLOCK
    spec = json.loads(sys.argv[1])
    reps = spec.get("reps", 10)
    if spec.get("clock") == "cpu":
        CLOCK = time.process_time
    dtypes = spec.get("dtypes", ["f32", "f64"])
    if spec["which"] == "numpy":
        rows = {d: {"conv": numpy_conv({"f32": np.float32, "f64": np.float64}[d], reps), "net": numpy_net({"f32": np.float32, "f64": np.float64}[d], reps)} for d in dtypes}
        print(json.dumps({"version": np.__version__, "rows": rows}))
    else:
        rows, version = torch_rows(dtypes, reps)
        print(json.dumps({"version": version, "rows": rows}))


main()
