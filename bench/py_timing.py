"""Timing shared by the Python comparison rows (numpy_bench.py, torch_bench.py): median wall-clock
milliseconds per call, and repetitions scaled by work as bench/numpy.ts's repsFor scales them."""
import time


def median_ms(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2] * 1000


def reps_for(work, reps):
    # about 2e9 element-operations per case, at most 20 * reps
    return max(5, min(20 * reps, int(2e9 / max(work, 1))))
