#!/usr/bin/env python3
"""bench_cuda.py LIBBORA_SO [--cpu] - times BoRA on the GPU against its peers and prints a table.

Variants, all on the same shapes and torch's current stream:
  ours BoRA       libbora forward (U saved) / forward + backward (dA, dB, dS, dx)
  ours LoRA       the same kernels with b = 1
  cuBLAS batched  the same maths with torch.bmm / torch.baddbmm (cuBLAS strided-batched
                  GEMMs) and the mixing as einsum, backward by autograd
  torch BoRA      eager einsum BoRA, backward by autograd
  torch LoRA      PEFT style: y0 + B(A(x)) * scale, two matmuls at the same r
Times: CUDA events around 20 back-to-back calls after warm-up, median of 5 such runs,
per call. Forward-only torch variants run under no_grad. Bandwidth: bytes of x read plus
y read and written by our forward, against a device-to-device copy measured here.
The table goes to stdout (last) and to $OUT/gpu_table.md when OUT is set.
--cpu: a dry run of this script on the library's CPU path at tiny shapes (target_device.py);
its numbers measure nothing.
"""
import datetime
import os
import statistics
import sys

import torch
import torch.nn.functional as F

import bora_ctypes as bc
import target_device

TARGETS = {"lora": 1.10, "eager": 0.5, "torch_lora": 1.0, "bandwidth": 0.70}
TARGET = target_device.CudaTarget()  # main() sets it from the command line
failures = []  # what failed: the table is still printed, the exit status is 1


def time_ms(fn, inner=20, outer=5, warmup=3):
    """Median milliseconds per call; NaN (and a message) if the variant fails."""
    try:
        return _time_ms(fn, inner, outer, warmup)
    except Exception as e:  # noqa: BLE001 - one failing variant must not lose the table
        print(f"  variant failed: {type(e).__name__}: {e}", flush=True)
        failures.append(f"{type(e).__name__}: {e}")
        TARGET.synchronize()
        return float("nan")


def _time_ms(fn, inner, outer, warmup):
    for _ in range(warmup):
        fn()
    TARGET.synchronize()
    runs = []
    for _ in range(outer):
        timer = TARGET.timer()
        timer.start()
        for _ in range(inner):
            fn()
        runs.append(timer.stop() / inner)
    return statistics.median(runs)


def bmm_bora(y0, x, A, B, S, scale, b):
    """y0 + scale * BoRA(x) with cuBLAS strided-batched GEMMs (bmm / baddbmm)."""
    T, n = x.shape
    r, m = A.shape[0], B.shape[0]
    U = torch.bmm(x.view(T, b, n // b).transpose(0, 1), A.view(r, b, n // b).permute(1, 2, 0))  # b T r
    V = torch.einsum("ijk,jtk->itk", S, U)  # b T r
    out = torch.baddbmm(y0.view(T, b, m // b).transpose(0, 1), V, B.view(b, m // b, r).transpose(1, 2),
                        alpha=scale)  # b T mb
    return out.transpose(0, 1).reshape(T, m)


class Ours:
    """Our kernels on preallocated buffers (forward saves U, as in training)."""

    def __init__(self, lib, x, A, B, S, y, G, scale, b):
        self.lib, self.x, self.A, self.B, self.S, self.y, self.G, self.scale, self.b = lib, x, A, B, S, y, G, scale, b
        self.T, self.n = x.shape
        self.r, self.m = A.shape[0], B.shape[0]
        self.dt = bc.TORCH_TO_BORA[x.dtype]
        dims = (self.T, self.n, self.m, self.r, b)
        self.fws = lib.forward_ws(TARGET.bora_device, self.dt, *dims)
        self.bws = lib.backward_ws(TARGET.bora_device, self.dt, *dims, 0)
        self.ws = torch.empty(max(self.fws, self.bws), dtype=torch.uint8, device=TARGET.torch_device)
        self.U = torch.empty(self.T * b * self.r, device=TARGET.torch_device)
        self.dA, self.dB, self.dS = torch.empty_like(A), torch.empty_like(B), torch.empty_like(S)
        self.dx = torch.zeros_like(x)

    def forward(self):
        st = self.lib.forward(TARGET.bora_device, self.dt, self.T, self.n, self.m, self.r, self.b, self.scale, self.x,
                              self.A, self.B, self.S, self.y, self.U, self.ws, self.fws,
                              TARGET.current_stream().cuda_stream, 0)
        if st != 0:
            raise RuntimeError(f"bora_forward: {st} {self.lib.last_error()}")

    def forward_backward(self):
        self.forward()
        st = self.lib.backward(TARGET.bora_device, self.dt, self.T, self.n, self.m, self.r, self.b, self.scale, self.G,
                               self.x, self.A, self.B, self.S, self.U, self.dA, self.dB, self.dS, self.dx, self.ws,
                               self.bws, TARGET.current_stream().cuda_stream, 0)
        if st != 0:
            raise RuntimeError(f"bora_backward: {st} {self.lib.last_error()}")


def autograd_pair(fn, params, G):
    """(forward under no_grad, forward + backward through autograd) closures."""
    def fwd():
        with torch.no_grad():
            fn()

    def fwd_bwd():
        for p in params:
            p.grad = None
        fn().backward(G)

    return fwd, fwd_bwd


def bench_shape(lib, name, T, n, m, r, b, dtype):
    g = torch.Generator(device=TARGET.torch_device).manual_seed(7)

    def rnd(*shape, s=1.0):
        return (torch.randn(*shape, generator=g, device=TARGET.torch_device, dtype=torch.float32) * s).to(dtype)

    scale = 2.0
    x, y0, G = rnd(T, n), rnd(T, m), rnd(T, m)
    A, B = rnd(r, n, s=n ** -0.5), rnd(m, r, s=0.1)
    S, S1 = rnd(b, b, r).abs() + 0.5, torch.ones(1, 1, r, device=TARGET.torch_device, dtype=dtype)
    B_lora = rnd(m, r, s=0.1)
    rows = {}

    ours = Ours(lib, x, A, B, S, y0.clone(), G, scale, b)
    rows["ours BoRA"] = (time_ms(ours.forward), time_ms(ours.forward_backward))
    ours1 = Ours(lib, x, A, B_lora, S1, y0.clone(), G, scale, 1)
    rows["ours LoRA (b=1)"] = (time_ms(ours1.forward), time_ms(ours1.forward_backward))

    xg, Ag, Bg, Sg = (t.clone().requires_grad_(True) for t in (x, A, B, S))
    Blg = B_lora.clone().requires_grad_(True)
    peers = {
        "cuBLAS batched BoRA": (lambda: bmm_bora(y0, xg, Ag, Bg, Sg, scale, b), (xg, Ag, Bg, Sg)),
        "torch eager BoRA": (lambda: y0 + bc.eager_bora(xg, Ag, Bg, Sg, scale, b), (xg, Ag, Bg, Sg)),
        "torch LoRA (PEFT)": (lambda: y0 + F.linear(F.linear(xg, Ag), Blg) * scale, (xg, Ag, Blg)),
    }
    for label, (fn, params) in peers.items():
        fwd, fwd_bwd = autograd_pair(fn, params, G)
        rows[label] = (time_ms(fwd), time_ms(fwd_bwd))

    es = x.element_size()
    fwd_bytes = (T * n + 2 * T * m) * es
    bwd_bytes = (T * m + T * n + 2 * T * n) * es  # G, x read once each, dx read and written once
    t_bwd = rows["ours BoRA"][1] - rows["ours BoRA"][0]
    return {"name": name, "shape": f"T={T} n={n} m={m} r={r} b={b} {str(dtype)[6:]}", "rows": rows,
            "fwd_gbs": fwd_bytes / (rows["ours BoRA"][0] * 1e-3) / 1e9,
            "bwd_gbs": bwd_bytes / (t_bwd * 1e-3) / 1e9 if t_bwd > 0 else float("nan")}


def copy_bandwidth(size):
    src = torch.empty(size, dtype=torch.uint8, device=TARGET.torch_device)
    dst = torch.empty_like(src)
    t = time_ms(lambda: dst.copy_(src), inner=10)
    return 2 * src.numel() / (t * 1e-3) / 1e9


def mark(value, target, lower_is_better=True):
    ok = value <= target if lower_is_better else value >= target
    return f"{value:.2f} ({'meets' if ok else 'misses'} {'<=' if lower_is_better else '>='} {target:.2f})"


def main():
    global TARGET
    args, TARGET = target_device.from_args(sys.argv[1:])
    if len(args) != 1:
        print(__doc__)
        sys.exit(2)
    lib = bc.Bora(args[0])
    if not TARGET.is_cpu and lib.lib.bora_cuda_available() != 1:
        print("bench_cuda: the library has no usable CUDA")
        sys.exit(1)
    torch.backends.cuda.matmul.allow_tf32 = False
    copy_bytes = (1 << 24) if TARGET.is_cpu else (1 << 30)
    copy_gbs = copy_bandwidth(copy_bytes)
    shapes = [("LLaMA", 8192, 4096, 4096, 16, 8, torch.bfloat16),
              ("MiniLM", 4096, 384, 384, 8, 4, torch.float32),
              ("MiniLM", 4096, 384, 384, 8, 4, torch.bfloat16)]
    if TARGET.is_cpu:  # the same kinds of shape, small enough for a dry run
        shapes = [("tiny", 64, 128, 128, 16, 8, torch.bfloat16), ("tiny", 64, 96, 96, 8, 4, torch.float32)]
    results = []
    for name, T, n, m, r, b, dtype in shapes:
        try:
            results.append(bench_shape(lib, name, T, n, m, r, b, dtype))
            print(f"  measured {name} {str(dtype)[6:]}", flush=True)
        except Exception as e:  # noqa: BLE001 - keep the other shapes
            print(f"  {name} {str(dtype)[6:]} failed: {type(e).__name__}: {e}", flush=True)
            failures.append(f"{name}: {type(e).__name__}: {e}")
        TARGET.release_cache()

    lines = [f"{'Dry run, no measurement' if TARGET.is_cpu else 'GPU'}: {TARGET.describe()}, "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"Device-to-device copy ({copy_bytes >> 20} MiB, read + write): {copy_gbs:.0f} GB/s", ""]
    lines += ["| shape | variant | forward ms | forward+backward ms |", "|---|---|---|---|"]
    for res in results:
        for label, (f, fb) in res["rows"].items():
            lines.append(f"| {res['name']} {res['shape']} | {label} | {f:.4f} | {fb:.4f} |")
    lines += ["", "| shape | BoRA/our LoRA fwd+bwd | BoRA/torch eager BoRA fwd+bwd | BoRA/torch LoRA fwd+bwd | "
                  "BoRA/cuBLAS batched fwd+bwd | forward bandwidth / copy | backward bandwidth / copy |",
              "|---|---|---|---|---|---|---|"]
    for res in results:
        rw = res["rows"]
        ours = rw["ours BoRA"][1]
        lines.append(
            f"| {res['name']} {res['shape']} | {mark(ours / rw['ours LoRA (b=1)'][1], TARGETS['lora'])} | "
            f"{mark(ours / rw['torch eager BoRA'][1], TARGETS['eager'])} | "
            f"{mark(ours / rw['torch LoRA (PEFT)'][1], TARGETS['torch_lora'])} | "
            f"{ours / rw['cuBLAS batched BoRA'][1]:.2f} | "
            f"{mark(res['fwd_gbs'] / copy_gbs, TARGETS['bandwidth'], lower_is_better=False)} "
            f"({res['fwd_gbs']:.0f} GB/s) | {res['bwd_gbs'] / copy_gbs:.2f} ({res['bwd_gbs']:.0f} GB/s) |")
    table = "\n".join(lines)
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, "gpu_table.md"), "w") as f:
            f.write(table + "\n")
    print()
    print(table)
    if failures:
        print(f"bench_cuda: {len(failures)} failed (see above)")
        sys.exit(1)


if __name__ == "__main__":
    main()
