"""The seed's numpy code, timed for gradc's benchmarks (bench/numpy.ts runs it in a child process).

Times `batchnorm_backward_alt` and one training iteration of the notebook's FullyConnectedNet
(`loss(X, y)`: forward and every gradient) from nn/numpy_reference.py, in float64 and float32,
single-threaded BLAS (the caller sets OPENBLAS_NUM_THREADS=1). Median wall-clock time per call
(time.perf_counter), as gradc's side is timed.

    OPENBLAS_NUM_THREADS=1 python3 bench/numpy_bench.py '{"sizes": [[100, 500]], "reps": 20}'
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn"))
import numpy as np  # noqa: E402
from numpy_reference import FullyConnectedNet, batchnorm_backward_alt  # noqa: E402
from py_timing import median_ms, reps_for  # noqa: E402 (the script's folder is on sys.path)


def batchnorm(n, d, dtype, reps):
    rs = np.random.RandomState(231)
    x = rs.randn(n, d).astype(dtype)
    dout = rs.randn(n, d).astype(dtype)
    gamma = rs.randn(d).astype(dtype)
    mu = x.mean(axis=0)
    std = np.sqrt(x.var(axis=0) + dtype(1e-5))
    xhat = (x - mu) / std
    cache = (xhat, gamma, std)
    return median_ms(lambda: batchnorm_backward_alt(dout, cache), reps_for(10 * n * d, reps))


def iteration(dtype, reps, hidden=(100, 100, 100, 100, 100), batch=50, dim=3072):
    np.random.seed(231)
    net = FullyConnectedNet(list(hidden), input_dim=dim, weight_scale=2e-2, normalization="batchnorm")
    for k in net.params:
        net.params[k] = net.params[k].astype(dtype)
    for bn in net.bn_params:
        for k in bn:
            bn[k] = bn[k].astype(dtype)
    X = np.random.randn(batch, dim).astype(dtype)
    y = np.random.randint(10, size=batch)
    return median_ms(lambda: net.loss(X, y), 4 * reps)  # numpy.ts: iterationReps


def main():
    req = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    sizes = req.get("sizes", [[100, 500], [1024, 1024], [4096, 1024]])
    reps = req.get("reps", 30)
    out = {"numpy": np.__version__, "blasThreads": os.environ.get("OPENBLAS_NUM_THREADS"), "batchnorm": [], "iteration": {}}
    for dtype in (np.float64, np.float32):
        name = "f64" if dtype is np.float64 else "f32"
        for n, d in sizes:
            out["batchnorm"].append({"N": n, "D": d, "dtype": name, "ms": batchnorm(n, d, dtype, reps)})
        if req.get("iteration", True):
            out["iteration"][name] = iteration(dtype, reps)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
