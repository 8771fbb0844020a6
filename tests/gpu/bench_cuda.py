#!/usr/bin/env python3
"""bench_cuda.py LIBBORA_SO [--cpu] - times BoRA on the GPU against its peers and prints a table.

Variants, all on the same shapes and torch's current stream:
  ours BoRA       libbora forward (U saved) / forward + backward (dA, dB, dS, dx)
  ours LoRA       the same kernels with b = 1
  ours, FMA       (bf16/fp16 only) ours BoRA with BORA_FLAG_NO_TENSOR_CORES: the block
                  products on float FMAs instead of tensor cores
  cuBLAS batched  the same maths with torch.bmm / torch.baddbmm (cuBLAS strided-batched
                  GEMMs) and the mixing as einsum, backward by autograd
  torch BoRA      eager einsum BoRA, backward by autograd
  torch LoRA      PEFT style: y0 + B(A(x)) * scale, two matmuls at the same r
Times: CUDA events around 20 back-to-back calls after warm-up, median of 5 such runs,
per call. Forward-only torch variants run under no_grad; float32 matmuls without TF32.
Bandwidth: bytes of x read, y read and written and U written by our forward, against a
device-to-device copy measured here; the backward's figure is a lower bound (G counted once).
Before timing a shape, our forward and backward run once against the cuBLAS batched BoRA in
float32; a mismatch is a failure. A variant that fails leaves NaN in its row; after a sticky
CUDA error the remaining variants are not run. The table goes to stdout (last, also after a
failure or an interrupt) and to $OUT/gpu_table.md when OUT is set, rewritten after each shape.
Before it: the GPU time of each of our kernels in a forward+backward at the first shape
(kernel_profile.py, torch.profiler), also in $OUT/gpu_kernels.md.
--cpu: a dry run of this script on the library's CPU path at tiny shapes (target_device.py);
its numbers measure nothing.
"""
import datetime
import os
import statistics
import sys
import traceback

import torch
import torch.nn.functional as F

import bora_ctypes as bc
import kernel_profile
import target_device

TARGETS = {"lora": 1.10, "eager": 0.5, "torch_lora": 1.0, "bandwidth": 0.70}
NAN = float("nan")
TARGET = target_device.CudaTarget()  # main() sets it from the command line
failures = []  # what failed: the table is still printed, the exit status is 1
sticky = []  # a sticky CUDA error: every later call fails the same way, so none is made


def failed(what, e):
    """Records a failure; the message's first line only (torch appends generic advice)."""
    msg = f"{what}: {type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
    print(f"  FAIL {msg}", flush=True)
    failures.append(msg)
    if bc.is_sticky_cuda_error(str(e)) and not sticky:
        sticky.append(msg)
        print("  a sticky CUDA error: the remaining variants are not run", flush=True)


def best_effort(fn):
    """Cleanup that must not raise again after an error (a sync after a sticky one does)."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - the error was already reported
        pass


def time_ms(what, fn, inner=20, outer=5, warmup=3):
    """Median milliseconds per call; NaN (and a message) if the variant fails."""
    if sticky:
        return NAN
    try:
        return _time_ms(fn, inner, outer, warmup)
    except Exception as e:  # noqa: BLE001 - one failing variant must not lose the table
        failed(what, e)
        best_effort(TARGET.synchronize)
        return NAN


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
    """Our kernels on preallocated buffers (forward saves U, as in training; y starts as a
    copy of y0), on the stream that is current when it is made."""

    def __init__(self, lib, x, A, B, S, y0, G, scale, b, flags=0):
        self.lib, self.x, self.A, self.B, self.S, self.G, self.scale, self.b = lib, x, A, B, S, G, scale, b
        self.flags = flags
        self.y = y0.clone()
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
        self.stream = TARGET.current_stream().cuda_stream

    def forward(self):
        st = self.lib.forward(TARGET.bora_device, self.dt, self.T, self.n, self.m, self.r, self.b, self.scale, self.x,
                              self.A, self.B, self.S, self.y, self.U, self.ws, self.fws, self.stream, self.flags)
        if st != 0:
            raise RuntimeError(f"bora_forward: {st} {self.lib.last_error()}")

    def forward_backward(self):
        self.forward()
        st = self.lib.backward(TARGET.bora_device, self.dt, self.T, self.n, self.m, self.r, self.b, self.scale, self.G,
                               self.x, self.A, self.B, self.S, self.U, self.dA, self.dB, self.dS, self.dx, self.ws,
                               self.bws, self.stream, self.flags)
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


def rel_err(a, ref):
    ref = ref.detach().double()
    return ((a.detach().double() - ref).norm() / ref.norm()).item()


def compare_with_bmm(lib, label, x, A, B, S, y0, G, scale, b):
    """Our forward and backward once against the cuBLAS batched BoRA in float32 on the same
    (rounded) inputs. Each shape takes its own kernel paths (splits, chunks per block), which
    check_cuda.py's shapes need not cover. Norm-wise relative tolerance: bf16/fp16 outputs
    carry one rounding to the storage type (unit roundoff 2^-8 or 2^-11), so 1e-2 passes
    them with room while a wrong tile or split is off by O(1); float32 sums of 4096 to 8192
    terms in another order differ by ~1e-6, so 1e-4 (which TF32's ~1e-3 would also fail)."""
    ours = Ours(lib, x, A, B, S, y0, G, scale, b)
    ours.forward_backward()
    xs, As, Bs, Ss = (t.detach().float().requires_grad_(True) for t in (x, A, B, S))  # float() of float32 is x itself
    y = bmm_bora(y0.float(), xs, As, Bs, Ss, scale, b)
    y.backward(G.float())
    tol = 1e-4 if x.dtype == torch.float32 else 1e-2
    got = {"y": ours.y, "dA": ours.dA, "dB": ours.dB, "dS": ours.dS, "dx": ours.dx}
    want = {"y": y, "dA": As.grad, "dB": Bs.grad, "dS": Ss.grad, "dx": xs.grad}
    errs = {k: rel_err(got[k], want[k]) for k in got}
    summary = " ".join(f"{k}={e:.2g}" for k, e in errs.items())
    if all(e < tol for e in errs.values()):  # NaN fails
        print(f"  {label}: ours vs cuBLAS batched (float32): rel err {summary} < {tol:g}", flush=True)
    else:
        print(f"  FAIL {label}: ours vs cuBLAS batched (float32): rel err {summary} (tol {tol:g})", flush=True)
        failures.append(f"{label}: ours differs from cuBLAS batched: {summary}")


def ours_row(what, lib, *args, flags=0):
    """(forward ms, forward+backward ms) of our kernels; NaN where they fail, set-up included."""
    if sticky:
        return NAN, NAN
    try:
        ours = Ours(lib, *args, flags=flags)
    except Exception as e:  # noqa: BLE001 - the other variants still run
        failed(what, e)
        return NAN, NAN
    return time_ms(f"{what} forward", ours.forward), time_ms(f"{what} forward+backward", ours.forward_backward)


VARIANTS = ("ours BoRA", "ours LoRA (b=1)", "cuBLAS batched BoRA", "torch eager BoRA", "torch LoRA (PEFT)")
FMA_VARIANT = "ours BoRA, FMA (no tensor cores)"  # 16-bit types only


def new_result(name, T, n, m, r, b, dtype):
    """A shape's table entry, its rows NaN until measured (a failure leaves them so)."""
    es = torch.empty(0, dtype=dtype).element_size()
    u_bytes = T * b * r * 4  # float32 U: written by the forward, read by the backward
    return {"name": name, "shape": f"T={T} n={n} m={m} r={r} b={b} {str(dtype)[6:]}",
            "rows": {v: (NAN, NAN) for v in VARIANTS[:1] + ((FMA_VARIANT,) if es == 2 else ()) + VARIANTS[1:]},
            "fwd_bytes": (T * n + 2 * T * m) * es + u_bytes,  # x read, y read and written, U written
            "bwd_bytes": (T * m + 3 * T * n) * es + u_bytes}  # G, x, U read, dx read and written (G counted once)


def bandwidths(res):
    """GB/s of our forward and of our backward alone (forward+backward minus forward)."""
    f, fb = res["rows"]["ours BoRA"]
    return res["fwd_bytes"] / (f * 1e-3) / 1e9, res["bwd_bytes"] / ((fb - f) * 1e-3) / 1e9 if fb > f else NAN


def inputs(T, n, m, r, b, dtype):
    """x, y0, G, A, B, S, S1 (b = 1), B_lora and scale of a shape, the same every time."""
    g = torch.Generator(device=TARGET.torch_device).manual_seed(7)

    def rnd(*shape, s=1.0):
        return (torch.randn(*shape, generator=g, device=TARGET.torch_device, dtype=torch.float32) * s).to(dtype)

    x, y0, G = rnd(T, n), rnd(T, m), rnd(T, m)
    A, B = rnd(r, n, s=n ** -0.5), rnd(m, r, s=0.1)
    S, S1 = rnd(b, b, r).abs() + 0.5, torch.ones(1, 1, r, device=TARGET.torch_device, dtype=dtype)
    return x, y0, G, A, B, S, S1, rnd(m, r, s=0.1), 2.0


def measure_shape(lib, res, T, n, m, r, b, dtype):
    """Fills res["rows"] variant by variant."""
    label = f"{res['name']} {str(dtype)[6:]}"
    x, y0, G, A, B, S, S1, B_lora, scale = inputs(T, n, m, r, b, dtype)
    try:
        compare_with_bmm(lib, label, x, A, B, S, y0, G, scale, b)
    except Exception as e:  # noqa: BLE001 - a failed comparison is a failure; the timing still runs
        failed(f"{label} comparison with cuBLAS batched", e)
        best_effort(TARGET.synchronize)
    best_effort(TARGET.release_cache)  # the comparison's float32 copies

    rows = res["rows"]
    rows["ours BoRA"] = ours_row(f"{label} ours BoRA", lib, x, A, B, S, y0, G, scale, b)
    rows["ours LoRA (b=1)"] = ours_row(f"{label} ours LoRA", lib, x, A, B_lora, S1, y0, G, scale, 1)
    if FMA_VARIANT in rows:
        rows[FMA_VARIANT] = ours_row(f"{label} {FMA_VARIANT}", lib, x, A, B, S, y0, G, scale, b,
                                     flags=bc.FLAG_NO_TENSOR_CORES)
    if sticky:
        return
    xg, Ag, Bg, Sg = (t.clone().requires_grad_(True) for t in (x, A, B, S))
    Blg = B_lora.clone().requires_grad_(True)
    peers = {
        "cuBLAS batched BoRA": (lambda: bmm_bora(y0, xg, Ag, Bg, Sg, scale, b), (xg, Ag, Bg, Sg)),
        "torch eager BoRA": (lambda: y0 + bc.eager_bora(xg, Ag, Bg, Sg, scale, b), (xg, Ag, Bg, Sg)),
        "torch LoRA (PEFT)": (lambda: y0 + F.linear(F.linear(xg, Ag), Blg) * scale, (xg, Ag, Blg)),
    }
    for variant, (fn, params) in peers.items():
        fwd, fwd_bwd = autograd_pair(fn, params, G)
        rows[variant] = (time_ms(f"{label} {variant} forward", fwd),
                         time_ms(f"{label} {variant} forward+backward", fwd_bwd))


def copy_bandwidth(size):
    src = torch.empty(size, dtype=torch.uint8, device=TARGET.torch_device)
    dst = torch.empty_like(src)
    t = time_ms("device-to-device copy", lambda: dst.copy_(src), inner=10)
    return 2 * src.numel() / (t * 1e-3) / 1e9


def mark(value, target, lower_is_better=True):
    ok = value <= target if lower_is_better else value >= target
    return f"{value:.2f} ({'meets' if ok else 'misses'} {'<=' if lower_is_better else '>='} {target:.2f})"


def render_table(results, copy_bytes, copy_gbs):
    lines = [f"{'Dry run, no measurement' if TARGET.is_cpu else 'GPU'}: {TARGET.describe()}, "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"Device-to-device copy ({copy_bytes >> 20} MiB, read + write): {copy_gbs:.0f} GB/s", ""]
    lines += ["| shape | variant | forward ms | forward+backward ms |", "|---|---|---|---|"]
    for res in results:
        for label, (f, fb) in res["rows"].items():
            lines.append(f"| {res['name']} {res['shape']} | {label} | {f:.4f} | {fb:.4f} |")
    lines += ["", "| shape | BoRA/our LoRA fwd+bwd | BoRA/torch eager BoRA fwd+bwd | BoRA/torch LoRA fwd+bwd | "
                  "BoRA/cuBLAS batched fwd+bwd | BoRA/BoRA on FMAs fwd+bwd | forward bandwidth / copy | "
                  "backward bandwidth / copy (lower bound) |",
              "|---|---|---|---|---|---|---|---|"]
    for res in results:
        rw = res["rows"]
        ours = rw["ours BoRA"][1]
        fwd_gbs, bwd_gbs = bandwidths(res)
        vs_fma = f"{ours / rw[FMA_VARIANT][1]:.2f}" if FMA_VARIANT in rw else "n/a"
        if res["name"] == "latency":  # per-call cost only: ratios, no targets or bandwidths
            lines.append(f"| {res['name']} {res['shape']} | {ours / rw['ours LoRA (b=1)'][1]:.2f} | "
                         f"{ours / rw['torch eager BoRA'][1]:.2f} | {ours / rw['torch LoRA (PEFT)'][1]:.2f} | "
                         f"{ours / rw['cuBLAS batched BoRA'][1]:.2f} | {vs_fma} | n/a | n/a |")
            continue
        lines.append(
            f"| {res['name']} {res['shape']} | {mark(ours / rw['ours LoRA (b=1)'][1], TARGETS['lora'])} | "
            f"{mark(ours / rw['torch eager BoRA'][1], TARGETS['eager'])} | "
            f"{mark(ours / rw['torch LoRA (PEFT)'][1], TARGETS['torch_lora'])} | "
            f"{ours / rw['cuBLAS batched BoRA'][1]:.2f} | {vs_fma} | "
            f"{mark(fwd_gbs / copy_gbs, TARGETS['bandwidth'], lower_is_better=False)} "
            f"({fwd_gbs:.0f} GB/s) | {bwd_gbs / copy_gbs:.2f} ({bwd_gbs:.0f} GB/s) |")
    lines += ["", "Bandwidth counts each tensor once: x, y (read and written) and U for the forward; G, x, U "
                  "and dx (read and written) for the backward, whose kernels read G twice: a lower bound.",
              "The latency shape is too small for any variant to be bound by the GPU: its times are the cost "
              "of one call (host work and kernel launches); its ratios carry no targets and it has no bandwidth."]
    return "\n".join(lines)


def save_text(name, text):
    """$OUT/name when OUT is set; a failure to write loses only the file."""
    out = os.environ.get("OUT")
    if not out:
        return
    try:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, name), "w") as f:
            f.write(text + "\n")
    except OSError as e:
        print(f"  could not write {out}/{name}: {e}", flush=True)


def save_table(table):
    save_text("gpu_table.md", table)


def measure_all(lib, shapes, results, render):
    """Appends each shape's entry to results (NaN rows where not measured) and saves the
    table after each, so that a hang in a later shape leaves the earlier ones."""
    for name, T, n, m, r, b, dtype in shapes:
        label = f"{name} {str(dtype)[6:]}"
        results.append(new_result(name, T, n, m, r, b, dtype))
        if sticky:
            print(f"  {label}: not run after the sticky CUDA error", flush=True)
            continue
        try:
            measure_shape(lib, results[-1], T, n, m, r, b, dtype)
            if not sticky:
                print(f"  measured {label}", flush=True)
        except Exception as e:  # noqa: BLE001 - keep the other shapes
            failed(label, e)
        best_effort(TARGET.release_cache)
        save_table(render())


def profile_ours(lib, shape, calls=5):
    """The GPU time of each of our kernels in a forward+backward at `shape`, printed and saved
    as $OUT/gpu_kernels.md. Informative only: a profiler that cannot run is reported, not failed."""
    name, T, n, m, r, b, dtype = shape
    if sticky:
        return
    try:
        x, y0, G, A, B, S, _, _, scale = inputs(T, n, m, r, b, dtype)
        ours = Ours(lib, x, A, B, S, y0, G, scale, b)
        events = kernel_profile.profile_calls(ours.forward_backward, calls, TARGET.synchronize, not TARGET.is_cpu)
        table = kernel_profile.kernel_table(
            events, calls, f"Our kernels in one forward (U saved) + backward (dA, dB, dS, dx), {name} "
                           f"T={T} n={n} m={m} r={r} b={b} {str(dtype)[6:]}, {TARGET.describe()} "
                           f"(torch.profiler, {calls} calls):")
    except Exception as e:  # noqa: BLE001 - the benchmark's table does not depend on it
        print(f"  kernel profile not available: {type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}",
              flush=True)
        best_effort(TARGET.synchronize)
        return
    print(table, flush=True)
    save_text("gpu_kernels.md", table)


def main():
    global TARGET
    lib_path, TARGET = target_device.start_script(sys.argv[1:], __doc__)
    lib = bc.Bora(lib_path)
    if not TARGET.is_cpu and lib.lib.bora_cuda_available() != 1:
        print(f"bench_cuda: the library has no usable CUDA: {lib.cuda_report()}")
        sys.exit(1)
    target_device.disable_tf32()  # torch's float32 peers compute as exactly as ours
    copy_bytes = (1 << 24) if TARGET.is_cpu else (1 << 30)
    copy_gbs = copy_bandwidth(copy_bytes)
    shapes = [("LLaMA", 8192, 4096, 4096, 16, 8, torch.bfloat16),
              ("MiniLM", 4096, 384, 384, 8, 4, torch.float32),
              ("MiniLM", 4096, 384, 384, 8, 4, torch.bfloat16),
              # every variant is bound by its per-call cost here (host work and launches; ours checks
              # each pointer with cudaPointerGetAttributes): what many small adapted layers pay
              ("latency", 8, 64, 64, 4, 2, torch.float32)]
    if TARGET.is_cpu:  # the same kinds of shape, small enough for a dry run
        shapes = [("tiny", 64, 128, 128, 16, 8, torch.bfloat16), ("tiny", 64, 96, 96, 8, 4, torch.float32)]
    results = []

    def render():
        return render_table(results, copy_bytes, copy_gbs)

    try:
        measure_all(lib, shapes, results, render)
        profile_ours(lib, shapes[0])
    except KeyboardInterrupt:  # a time limit: say where, then the table of what was measured
        traceback.print_exc()
        failures.append("interrupted")
    finally:
        table = render()
        print()
        print(table, flush=True)
        save_table(table)
    if failures:
        print(f"bench_cuda: {len(failures)} failed (see above)")
        sys.exit(1)


if __name__ == "__main__":
    main()
