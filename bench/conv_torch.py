"""PyTorch side of bench/conv.mjs: ms per call (median) of each convolution's forward, input
gradient and filter gradient, 2 threads, tensors in channels_last.
Arguments: the cases as JSON ([[N, H, W, C], out, kernel, stride, depthwise], ...) and the
repetitions. Prints one JSON line. Run with Debian's torch: /usr/bin/python3."""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def median_ms(f, reps):
    for _ in range(3):
        f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def timings(shape, out, k, stride, depthwise, reps):
    layout = torch.channels_last
    n, h, w, c = shape
    groups = c if depthwise else 1
    x = torch.randn(n, c, h, w).contiguous(memory_format=layout)
    wt = torch.randn(out, c // groups, k, k).contiguous(memory_format=layout)
    pad = (k - 1) // 2
    with torch.no_grad():
        y = F.conv2d(x, wt, None, stride, pad, 1, groups)
    dy = torch.randn_like(y)
    back = lambda mask: torch.ops.aten.convolution_backward(dy, x, wt, None, [stride, stride], [pad, pad], [1, 1], False, [0, 0], groups, mask)
    with torch.no_grad():
        return {
            "forward": median_ms(lambda: F.conv2d(x, wt, None, stride, pad, 1, groups), reps),
            "input gradient": median_ms(lambda: back([True, False, False]), reps),
            "filter gradient": median_ms(lambda: back([False, True, False]), reps),
        }


def main():
    cases = json.loads(sys.argv[1])
    reps = int(sys.argv[2])
    torch.set_num_threads(2)
    out = [timings(*case, reps) for case in cases]
    print(json.dumps({"torch": torch.__version__, "cases": out}))


if __name__ == "__main__":
    main()
