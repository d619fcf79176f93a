"""PyTorch eager training steps for bench/train.ts: the examples' models (examples/*.mjs) and the
notebook's net written in torch.nn, each step zero_grad, forward, loss, backward and
optimizer.step(), one thread, process CPU milliseconds per step (time.process_time, the mean
over reps steps, best of three rounds), as bench/train.ts times gradc. A comparison row only:
gradc never depends on PyTorch.

    /usr/bin/python3 bench/torch_train.py '{"reps": 30, "dtypes": ["f64"], "lr": 0.001,
        "cases": [{"name": "mlp-mnist", "batch": 64, "optimizer": "adam"}]}'
"""
import json
import sys

import torch
from torch import nn
import time

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def notebook_net():
    layers, last = [], 3072
    for _ in range(5):
        layers += [nn.Linear(last, 100), nn.LayerNorm(100, eps=1e-5), nn.ReLU()]
        last = 100
    return nn.Sequential(*layers, nn.Linear(last, 10)), (3072,), ()


def mlp_mnist():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), (1, 28, 28), ()


def mlp_cifar():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(3072, 256), nn.LayerNorm(256), nn.ReLU(),
        nn.Linear(256, 256), nn.LayerNorm(256), nn.ReLU(),
        nn.Linear(256, 10),
    ), (3, 32, 32), ()


def convnet_cifar():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2048, 128), nn.ReLU(), nn.Linear(128, 10),
    ), (3, 32, 32), ()


class Block(nn.Module):
    """examples/transformer-sort.mjs's block: pre-norm single-head attention, then a relu MLP."""

    def __init__(self, d=32, h=64):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.up, self.down = nn.Linear(d, h), nn.Linear(h, d)
        self.scale = 1.0 / d**0.5

    def forward(self, x):
        a = self.ln1(x)
        w = torch.softmax(self.q(a) @ self.k(a).transpose(1, 2) * self.scale, -1)
        x = x + self.o(w @ self.v(a))
        return x + self.down(torch.relu(self.up(self.ln2(x))))


class Sorter(nn.Module):
    def __init__(self, t=8, vocab=10, d=32):
        super().__init__()
        self.embed = nn.Linear(vocab, d, bias=False)
        self.pos = nn.Parameter(torch.randn(t, d) * 0.5)
        self.blocks = nn.Sequential(Block(d), Block(d))
        self.ln = nn.LayerNorm(d)
        self.unembed = nn.Linear(d, vocab, bias=False)

    def forward(self, x):
        return self.unembed(self.ln(self.blocks(self.embed(x) + self.pos)))


MODELS = {
    "notebook-net": notebook_net,
    "mlp-mnist": mlp_mnist,
    "mlp-cifar": mlp_cifar,
    "convnet-cifar": convnet_cifar,
    "transformer-sort": lambda: (Sorter(), (8, 10), (8,)),
}


def step_ms(case, dtype, reps, lr):
    torch.manual_seed(0)
    model, xshape, yshape = MODELS[case["name"]]()
    model = model.to(dtype).train()
    b = case["batch"]
    if case["name"] == "transformer-sort":
        X = nn.functional.one_hot(torch.randint(10, (b, 8)), 10).to(dtype)
    else:
        X = torch.randn(b, *xshape, dtype=dtype)
    y = torch.randint(10, (b, *yshape))
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=lr) if case["optimizer"] == "adam" else torch.optim.SGD(params, lr=lr, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        scores = model(X)
        loss = nn.functional.cross_entropy(scores.reshape(-1, 10), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step()
    return min(cpu_ms(step, reps) for _ in range(3))


def cpu_ms(f, reps):
    t = time.process_time()
    for _ in range(reps):
        f()
    return (time.process_time() - t) * 1000 / reps


def main():
    req = json.loads(sys.argv[1])
    dtypes = {"f64": torch.float64, "f32": torch.float32}
    rows = []
    for case in req["cases"]:
        for d in req["dtypes"]:
            rows.append({"name": case["name"], "optimizer": case["optimizer"], "dtype": d, "ms": step_ms(case, dtypes[d], req["reps"], req["lr"])})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
