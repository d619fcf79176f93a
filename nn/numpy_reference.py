"""The notebook's `experiment deep` in plain numpy: the reference gradc is timed and checked against.

A faithful, compact copy of the cs231n code the notebook runs (layers.py affine/relu/batchnorm/
softmax_loss, fc_net.py FullyConnectedNet, optim.py adam, solver.py Solver), reading the same
CIFAR-10 binary files with the same preprocessing as gradc's loader. Seeded with
np.random.seed(231), it draws the same weights and minibatches as `gradc experiment deep`.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 nn/numpy_reference.py ../shared/data/cifar10 [epochs] [--dtype f32]

--dtype f32 casts the data and the initial weights to float32 (as `gradc experiment deep`'s
default does); without it everything is float64, as in the notebook.
"""
import json
import os
import sys
import time

import numpy as np


def load_batch(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float64), raw[:, 0].astype(np.int64)


def affine_relu_bn_forward(x, w, b, gamma, beta, bn, mode):
    a = x.reshape(x.shape[0], -1).dot(w) + b
    cache = {"x": x, "w": w}
    if gamma is not None:
        if mode == "train":
            mu = a.mean(axis=0)
            var = a.var(axis=0)
            std = np.sqrt(var + 1e-5)
            xhat = (a - mu) / std
            bn["running_mean"] = 0.9 * bn["running_mean"] + 0.1 * mu
            bn["running_var"] = 0.9 * bn["running_var"] + 0.1 * var
            cache.update(xhat=xhat, std=std, gamma=gamma)
        else:
            xhat = (a - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-5)
        a = gamma * xhat + beta
    cache["a"] = a
    return np.maximum(0, a), cache


def batchnorm_backward_alt(dout, cache):
    """The notebook's simplified batchnorm backward (one expression for dx); cache = (xhat, gamma, std)."""
    xhat, gamma, std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    n = dout.shape[0]
    dxhat = dout * gamma
    dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (n * std)
    return dx, dgamma, dbeta


def affine_relu_bn_backward(dout, cache):
    da = dout * (cache["a"] > 0)
    grads = {}
    if "xhat" in cache:
        da, grads["gamma"], grads["beta"] = batchnorm_backward_alt(da, (cache["xhat"], cache["gamma"], cache["std"]))
    x = cache["x"]
    grads["W"] = x.reshape(x.shape[0], -1).T.dot(da)
    grads["b"] = da.sum(axis=0)
    return da.dot(cache["w"].T).reshape(x.shape), grads


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    z = np.sum(np.exp(shifted), axis=1, keepdims=True)
    log_probs = shifted - np.log(z)
    probs = np.exp(log_probs)
    n = x.shape[0]
    loss = -np.sum(log_probs[np.arange(n), y]) / n
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, weight_scale=1e-2, normalization=None):
        self.L = len(hidden_dims) + 1
        self.normalization = normalization
        self.params = {}
        dims = [input_dim] + hidden_dims + [num_classes]
        for i in range(self.L):
            self.params["W%d" % (i + 1)] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params["b%d" % (i + 1)] = np.zeros(dims[i + 1])
            if normalization and i < self.L - 1:
                self.params["gamma%d" % (i + 1)] = np.ones(dims[i + 1])
                self.params["beta%d" % (i + 1)] = np.zeros(dims[i + 1])
        self.bn_params = [{"running_mean": np.zeros(d), "running_var": np.zeros(d)} for d in hidden_dims]

    def loss(self, X, y=None):
        mode = "test" if y is None else "train"
        p = self.params
        h, caches = X, []
        for i in range(1, self.L):
            g = p.get("gamma%d" % i)
            h, c = affine_relu_bn_forward(h, p["W%d" % i], p["b%d" % i], g, p.get("beta%d" % i), self.bn_params[i - 1], mode)
            caches.append(c)
        W, b = p["W%d" % self.L], p["b%d" % self.L]
        scores = h.reshape(h.shape[0], -1).dot(W) + b
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {"W%d" % self.L: h.T.dot(dscores), "b%d" % self.L: dscores.sum(axis=0)}
        dh = dscores.dot(W.T)
        for i in range(self.L - 1, 0, -1):
            dh, g = affine_relu_bn_backward(dh, caches[i - 1])
            for k, v in g.items():
                grads["%s%d" % (k, i)] = v
        return loss, grads


def adam(w, dw, config):
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    config["m"] = 0.9 * config["m"] + (1 - 0.9) * dw
    mt = config["m"] / (1 - 0.9 ** config["t"])
    config["v"] = 0.999 * config["v"] + (1 - 0.999) * (dw ** 2)
    vt = config["v"] / (1 - 0.999 ** config["t"])
    return w - config["learning_rate"] * mt / (np.sqrt(vt) + 1e-8), config


def check_accuracy(model, X, y, num_samples=None, batch_size=100):
    N = X.shape[0]
    if num_samples is not None and N > num_samples:
        mask = np.random.choice(N, num_samples)
        N, X, y = num_samples, X[mask], y[mask]
    preds = [np.argmax(model.loss(X[i:i + batch_size]), axis=1) for i in range(0, N, batch_size)]
    return float(np.mean(np.hstack(preds) == y))


def train(model, data, num_epochs=10, batch_size=50, lr=1e-3):
    configs = {k: {"learning_rate": lr} for k in model.params}
    num_train = data["X_train"].shape[0]
    per_epoch = max(num_train // batch_size, 1)
    losses, train_acc, val_acc = [], [], []
    t0 = time.perf_counter()
    for t in range(num_epochs * per_epoch):
        mask = np.random.choice(num_train, batch_size)
        loss, grads = model.loss(data["X_train"][mask], data["y_train"][mask])
        losses.append(float(loss))
        for k in model.params:
            model.params[k], configs[k] = adam(model.params[k], grads[k], configs[k])
        epoch_end = (t + 1) % per_epoch == 0
        if t == 0 or t == num_epochs * per_epoch - 1 or epoch_end:
            train_acc.append(check_accuracy(model, data["X_train"], data["y_train"], num_samples=1000))
            val_acc.append(check_accuracy(model, data["X_val"], data["y_val"]))
    return {"lossHistory": losses, "trainAccHistory": train_acc, "valAccHistory": val_acc, "seconds": time.perf_counter() - t0}


def as_dtype(model, dtype):
    for k in model.params:
        model.params[k] = model.params[k].astype(dtype)
    for bn in model.bn_params:
        for k in bn:
            bn[k] = bn[k].astype(dtype)
    return model


def main():
    args = sys.argv[1:]
    dtype = np.float64
    if "--dtype" in args:
        i = args.index("--dtype")
        dtype = {"f32": np.float32, "f64": np.float64}[args[i + 1]]
        del args[i:i + 2]
    args = [a for a in args if not a.startswith("--")]
    root = args[0] if len(args) > 0 else "../shared/data/cifar10"
    epochs = int(args[1]) if len(args) > 1 else 10
    X_train, y_train = load_batch(os.path.join(root, "data_batch_1.bin"))
    X_val, y_val = load_batch(os.path.join(root, "data_batch_5.bin"))
    mean_image = X_train.mean(axis=0)
    data = {"X_train": (X_train - mean_image)[:1000].astype(dtype), "y_train": y_train[:1000], "X_val": (X_val - mean_image).astype(dtype), "y_val": y_val}
    np.random.seed(231)
    hidden = [100] * 5
    bn_model = as_dtype(FullyConnectedNet(hidden, weight_scale=2e-2, normalization="batchnorm"), dtype)
    model = as_dtype(FullyConnectedNet(hidden, weight_scale=2e-2, normalization=None), dtype)
    out = {"batchnorm": train(bn_model, data, epochs), "baseline": train(model, data, epochs)}
    for k, r in out.items():
        print("%s: %.2f s, first losses %s, train acc %s, val acc %s" % (k, r["seconds"], ["%.6f" % v for v in r["lossHistory"][:3]], r["trainAccHistory"][-1], r["valAccHistory"][-1]))
    json.dump(out, sys.stdout if "--json" in sys.argv else open(os.devnull, "w"))


if __name__ == "__main__":
    main()
