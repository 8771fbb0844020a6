#!/usr/bin/env python3
"""check_cuda.py LIBBORA_SO [--cpu] - checks the CUDA kernels of libbora.so on torch CUDA tensors.

The library is called through ctypes with torch's device pointers and torch's current
stream: torch's shared CUDA runtime and the library's static one in one process, as in
the JVM with the GPU presets. References come from the library's own CPU reference
(BORA_FLAG_REFERENCE, float64) on the same (rounded) inputs. Rules (docs/GPU.md):
  fp32: norm-wise relative error < 1e-5;
  bf16/fp16: at most 2x the error of torch's eager BoRA in that dtype against the same
  reference; U (always float32): < 1e-5.
Outputs are poisoned with NaN before each call, guard zones around every buffer must stay
untouched, misaligned pointers take the scalar paths, deterministic mode must repeat
bitwise, bad inputs must return error statuses. Prints PASS/FAIL counts; exit 1 on failure.
Every FAIL line names its case. The first sticky CUDA error (an illegal address, say: the
context is then unusable) stops the run, and the cases left are counted as skipped; run
with BORA_CUDA_SYNC=1 so that a fault in our kernels is reported by the call that made it.
--cpu: the same checks on the library's CPU path, a dry run of this script without a GPU
(target_device.py).
"""
import ctypes
import os
import sys
import time
import traceback

import torch

import bora_ctypes as bc
import target_device
from bora_ctypes import (DEVICE_CPU, DTYPE_F64, FLAG_ACCUMULATE, FLAG_DETERMINISTIC, FLAG_NO_TENSOR_CORES,
                         FLAG_REFERENCE)

GUARD = 256  # elements of guard zone on each side of every output buffer
SENTINEL = -77.0  # exact in float32, bfloat16 and float16
UNIT_ROUNDOFF = {torch.float32: 2.0 ** -24, torch.bfloat16: 2.0 ** -8, torch.float16: 2.0 ** -11}

passed = 0
failed = 0
skipped = 0  # groups of checks not run after a sticky CUDA error
fault = None  # the first sticky CUDA error
current = None  # the group of checks running (named if the run is interrupted)
TARGET = target_device.CudaTarget()  # main() sets it from the command line


class CudaFault(Exception):
    """A sticky CUDA error: the rest of the case cannot run."""


def fail(what):
    global failed
    failed += 1
    print(f"FAIL {what}", flush=True)


def check(ok, what):
    global passed
    if ok:
        passed += 1
        return
    fail(what)
    if bc.is_sticky_cuda_error(what):
        raise CudaFault(what)


def rel(a, ref):
    a = a.detach().to("cpu", torch.float64)
    ref = ref.detach().to("cpu", torch.float64)
    if not torch.isfinite(a).all():
        return float("inf")
    den = ref.norm().item()
    num = (a - ref).norm().item()
    return num / den if den > 0 else num


class Guarded:
    """A CUDA buffer with guard zones; shift=1 moves the data off 16-byte alignment."""

    def __init__(self, numel, dtype, shift=0):
        self.full = torch.full((numel + 2 * GUARD + 1,), SENTINEL, dtype=dtype, device=TARGET.torch_device)
        self.t = self.full[GUARD + shift: GUARD + shift + numel]
        self.shift = shift

    def guards_ok(self):
        lo = self.full[: GUARD + self.shift]
        hi = self.full[GUARD + self.shift + self.t.numel():]
        return bool((lo == SENTINEL).all().item()) and bool((hi == SENTINEL).all().item())


def guarded_copy(src, shift):
    g = Guarded(src.numel(), src.dtype, shift)
    g.t.copy_(src.reshape(-1))
    return g


def cpu_reference(lib, T, n, m, r, b, scale, x, A, B, S, y0, G, dx0):
    """Forward and backward through the library's CPU reference in float64."""
    d = [t.detach().to("cpu", torch.float64).contiguous() for t in (x, A, B, S, y0, G, dx0)]
    x, A, B, S, y, G, dx = d
    y = y.clone()
    dx = dx.clone()
    U = torch.empty(T * b * r, dtype=torch.float32)
    ws = torch.empty(max(lib.forward_ws(DEVICE_CPU, DTYPE_F64, T, n, m, r, b),
                         lib.backward_ws(DEVICE_CPU, DTYPE_F64, T, n, m, r, b)) + 16, dtype=torch.uint8)
    st = lib.forward(DEVICE_CPU, DTYPE_F64, T, n, m, r, b, scale, x, A, B, S, y, U, ws, ws.numel(), None,
                     FLAG_REFERENCE)
    if st != 0:
        raise RuntimeError(f"CPU reference forward failed: {st} {lib.last_error()}")
    dA = torch.empty_like(A)
    dB = torch.empty_like(B)
    dS = torch.empty_like(S)
    st = lib.backward(DEVICE_CPU, DTYPE_F64, T, n, m, r, b, scale, G, x, A, B, S, None, dA, dB, dS, dx, ws,
                      ws.numel(), None, FLAG_REFERENCE)
    if st != 0:
        raise RuntimeError(f"CPU reference backward failed: {st} {lib.last_error()}")
    # U in float64 straight from the definition (the saved U is float32 by contract).
    U64 = torch.einsum("tjc,jkc->tjk", x.reshape(T, b, n // b), A.reshape(r, b, n // b).permute(1, 0, 2))
    return {"y": y, "U": U64.reshape(-1), "dA": dA, "dB": dB, "dS": dS, "dx": dx}


def check_reference(ref, T, n, m, r, b, scale, x, A, B, S, y0, G, dx0, tag):
    """The library's reference (reached through the same ctypes binding as the kernels under
    test) against torch's float64 autograd: a binding that passed a wrong argument to both
    would otherwise go unseen."""
    xs, As, Bs, Ss = (t.detach().to("cpu", torch.float64).requires_grad_(True) for t in (x, A, B, S))
    y = y0.to("cpu", torch.float64) + bc.eager_bora(xs, As, Bs, Ss, scale, b)
    y.backward(G.to("cpu", torch.float64))
    torch_ref = {"y": y, "dA": As.grad, "dB": Bs.grad, "dS": Ss.grad, "dx": dx0.to("cpu", torch.float64) + xs.grad}
    for name, t in torch_ref.items():
        e = rel(ref[name], t)
        check(e < 1e-12, f"reference {name} vs torch float64 err={e:.3g} {tag}")


def has_matmul(dtype):
    """Whether torch multiplies matrices of this dtype on the target (older CPU builds lack float16)."""
    try:
        torch.ones(2, 2, dtype=dtype, device=TARGET.torch_device).matmul(
            torch.ones(2, 2, dtype=dtype, device=TARGET.torch_device))
        return True
    except RuntimeError:
        return False


def torch_errors(T, n, m, r, b, scale, x, A, B, S, y0, G, dx0, ref):
    """Errors torch's eager BoRA makes in the inputs' dtype against the reference (the
    yardstick of the bf16/fp16 tolerances, so with float32 reductions: torch's reduced-precision
    ones would loosen it). Where torch cannot multiply in that dtype (CPU dry run), float32
    maths rounded once to it."""
    dtype = x.dtype
    work = dtype if has_matmul(dtype) else torch.float32
    xs, As, Bs, Ss = (t.detach().to(work).requires_grad_(True) for t in (x, A, B, S))
    with target_device.full_precision_reductions():
        y = y0.to(work) + bc.eager_bora(xs, As, Bs, Ss, scale, b)
        y.backward(G.to(work))
    out = {"y": y, "dA": As.grad, "dB": Bs.grad, "dS": Ss.grad, "dx": dx0.to(work) + xs.grad}
    return {name: rel(t.detach().to(dtype), ref[name]) for name, t in out.items()}


def tolerance(dtype, name, terr):
    if dtype == torch.float32 or name == "U":
        return 1e-5
    return 2.0 * max(terr[name], UNIT_ROUNDOFF[dtype] / 2)


def shape_tag(T, n, m, r, b, dtype):
    return f"T={T} n={n} m={m} r={r} b={b} {str(dtype)[6:]}"


def run_case(lib, tag, T, n, m, r, b, dtype, shift, variant, stream, gen, extra_flags=0):
    """variant 0: all gradients, overwrite, U saved; 1: accumulate, U recomputed;
    2: only dx and dS, U recomputed; 3: only dB, U saved. extra_flags: OR-ed into every call's
    flags (FLAG_NO_TENSOR_CORES: the float-FMA path of the 16-bit types)."""
    dt = bc.TORCH_TO_BORA[dtype]
    scale = 0.75

    def rnd(*shape, lo=-1.0, hi=1.0):
        return (torch.rand(*shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo).to(TARGET.torch_device, dtype)

    x, A, B, S = rnd(T, n), rnd(r, n, lo=-0.5, hi=0.5), rnd(m, r, lo=-0.5, hi=0.5), rnd(b, b, r, lo=0.5, hi=1.5)
    y0, G, dx0 = rnd(T, m), rnd(T, m), rnd(T, n)
    ref = cpu_reference(lib, T, n, m, r, b, scale, x, A, B, S, y0, G, dx0)
    check_reference(ref, T, n, m, r, b, scale, x, A, B, S, y0, G, dx0, tag)
    terr = torch_errors(T, n, m, r, b, scale, x, A, B, S, y0, G, dx0, ref) if dtype != torch.float32 else None

    gx, gA, gB, gS = (guarded_copy(t, shift) for t in (x, A, B, S))
    gy = guarded_copy(y0, shift)
    gU = Guarded(T * b * r, torch.float32)
    gU.t.fill_(float("nan"))
    fws = lib.forward_ws(TARGET.bora_device, dt, T, n, m, r, b)
    bws = lib.backward_ws(TARGET.bora_device, dt, T, n, m, r, b, 0)
    ws = torch.full((max(fws, bws) + 64,), 0xFF, dtype=torch.uint8, device=TARGET.torch_device)  # NaN patterns
    wsv = ws[16:]  # 16-byte aligned, not 256-byte aligned
    sp = stream.cuda_stream
    flags = (FLAG_DETERMINISTIC if variant == 0 else 0) | extra_flags
    stream.wait_stream(TARGET.default_stream())  # inputs were written on the default stream
    with TARGET.on(stream):
        st = lib.forward(TARGET.bora_device, dt, T, n, m, r, b, scale, gx.t, gA.t, gB.t, gS.t, gy.t,
                         None if variant == 2 else gU.t, wsv, fws, sp, flags)
    check(st == 0, f"forward status {st} {lib.last_error()} {tag}")  # before a sync could raise torch's message
    stream.synchronize()
    e = rel(gy.t, ref["y"].reshape(-1))
    check(e < tolerance(dtype, "y", terr), f"forward y err={e:.3g} {tag}")
    if variant != 2:
        e = rel(gU.t, ref["U"])
        check(e < tolerance(dtype, "U", terr), f"forward U err={e:.3g} {tag}")
    check(all(g.guards_ok() for g in (gx, gA, gB, gS, gy, gU)), f"forward guard zones {tag}")

    acc = variant == 1
    want = {"dA": variant <= 1, "dB": variant in (0, 1, 3), "dS": variant <= 2, "dx": variant <= 2}
    gG = guarded_copy(G, shift)
    gdx = guarded_copy(dx0, shift)
    init = {}
    outs = {}
    for name, like in (("dA", A), ("dB", B), ("dS", S)):
        g = Guarded(like.numel(), dtype, shift)
        if acc:
            init[name] = rnd(*like.shape)
            g.t.copy_(init[name].reshape(-1))
        else:
            g.t.fill_(float("nan"))
        outs[name] = g
    stream.wait_stream(TARGET.default_stream())
    with TARGET.on(stream):
        st = lib.backward(TARGET.bora_device, dt, T, n, m, r, b, scale, gG.t, gx.t, gA.t, gB.t, gS.t,
                          gU.t if variant in (0, 3) else None,
                          outs["dA"].t if want["dA"] else None, outs["dB"].t if want["dB"] else None,
                          outs["dS"].t if want["dS"] else None, gdx.t if want["dx"] else None,
                          wsv, bws, sp, (FLAG_ACCUMULATE if acc else 0) | flags)
    check(st == 0, f"backward status {st} {lib.last_error()} {tag}")
    stream.synchronize()
    for name in ("dA", "dB", "dS"):
        got = outs[name].t
        if want[name]:
            expect = ref[name].reshape(-1)
            if acc:
                expect = expect + init[name].to("cpu", torch.float64).reshape(-1)
            e = rel(got, expect)
            check(e < tolerance(dtype, name, terr), f"backward {name} err={e:.3g} {tag}")
        else:
            check(bool(torch.isnan(got.float()).all().item()), f"backward {name} written though not asked {tag}")
    if want["dx"]:
        e = rel(gdx.t, ref["dx"].reshape(-1))
        check(e < tolerance(dtype, "dx", terr), f"backward dx err={e:.3g} {tag}")
    else:
        check(torch.equal(gdx.t, dx0.reshape(-1)), f"backward dx written though not asked {tag}")
    check(all(g.guards_ok() for g in (gG, gdx, *outs.values())), f"backward guard zones {tag}")


def run_determinism(lib, tag, T, n, m, r, b, dtype, gen, extra_flags=0):
    dt = bc.TORCH_TO_BORA[dtype]
    x = torch.randn(T, n, generator=gen).to(TARGET.torch_device, dtype)
    A = (torch.randn(r, n, generator=gen) * 0.1).to(TARGET.torch_device, dtype)
    B = (torch.randn(m, r, generator=gen) * 0.1).to(TARGET.torch_device, dtype)
    S = torch.rand(b, b, r, generator=gen).to(TARGET.torch_device, dtype)
    y0 = torch.randn(T, m, generator=gen).to(TARGET.torch_device, dtype)
    G = torch.randn(T, m, generator=gen).to(TARGET.torch_device, dtype)
    ws = torch.empty(max(lib.forward_ws(TARGET.bora_device, dt, T, n, m, r, b),
                         lib.backward_ws(TARGET.bora_device, dt, T, n, m, r, b, FLAG_DETERMINISTIC)), dtype=torch.uint8,
                     device=TARGET.torch_device)
    sp = TARGET.current_stream().cuda_stream
    results = []
    for _ in range(2):
        y = y0.clone()
        U = torch.empty(T * b * r, device=TARGET.torch_device)
        dA, dB, dS = torch.empty_like(A), torch.empty_like(B), torch.empty_like(S)
        dx = torch.zeros_like(x)
        st = lib.forward(TARGET.bora_device, dt, T, n, m, r, b, 0.5, x, A, B, S, y, U, ws, ws.numel(), sp,
                         FLAG_DETERMINISTIC | extra_flags)
        check(st == 0, f"{tag} forward status {st} {lib.last_error()}")
        st = lib.backward(TARGET.bora_device, dt, T, n, m, r, b, 0.5, G, x, A, B, S, U, dA, dB, dS, dx, ws,
                          ws.numel(), sp, FLAG_DETERMINISTIC | extra_flags)
        check(st == 0, f"{tag} backward status {st} {lib.last_error()}")
        TARGET.synchronize()
        results.append([t.clone() for t in (y, U, dA, dB, dS, dx)])
    same = all(torch.equal(a.view(torch.uint8) if a.dtype != torch.float32 else a.view(torch.int32),
                           c.view(torch.uint8) if c.dtype != torch.float32 else c.view(torch.int32))
               for a, c in zip(*results))
    check(same, f"{tag}: two runs differ bitwise")


def run_delta(lib, tag, n, m, r, b, dtype, shift, gen):
    dt = bc.TORCH_TO_BORA[dtype]
    scale = 1.25
    A = (torch.rand(r, n, generator=gen) * 2 - 1).to(TARGET.torch_device, dtype)
    B = (torch.rand(m, r, generator=gen) * 2 - 1).to(TARGET.torch_device, dtype)
    S = (torch.rand(b, b, r, generator=gen) * 2 - 1).to(TARGET.torch_device, dtype)
    A64, B64, S64 = (t.to("cpu", torch.float64) for t in (A, B, S))
    ref = torch.empty(m, n, dtype=torch.float64)
    st = lib.delta("delta", DEVICE_CPU, DTYPE_F64, n, m, r, b, scale, A64, B64, S64, ref, None, FLAG_REFERENCE)
    if st != 0:
        raise RuntimeError(f"CPU reference delta failed: {st} {lib.last_error()}")
    e = rel(ref, bc.eager_delta(A64, B64, S64, scale, b))
    check(e < 1e-12, f"reference delta vs torch float64 err={e:.3g} {tag}")
    W0 = (torch.rand(m, n, generator=gen) * 2 - 1).to(TARGET.torch_device, dtype)
    for op, sign in (("delta", 0), ("merge", 1), ("unmerge", -1)):
        expect = ref if op == "delta" else W0.to("cpu", torch.float64) + sign * ref
        gW = guarded_copy(W0, shift)
        if op == "delta":
            gW.t.fill_(float("nan"))
        gA, gB, gS = (guarded_copy(t, shift) for t in (A, B, S))
        st = lib.delta(op, TARGET.bora_device, dt, n, m, r, b, scale, gA.t, gB.t, gS.t, gW.t,
                       TARGET.current_stream().cuda_stream, 0)
        check(st == 0, f"{op} status {st} {lib.last_error()} {tag}")
        TARGET.synchronize()
        tol = 1e-5
        if dtype != torch.float32:
            work = dtype if has_matmul(dtype) else torch.float32
            with target_device.full_precision_reductions():
                dW = bc.eager_delta(A.to(work), B.to(work), S.to(work), scale, b)
            torch_W = (dW if op == "delta" else W0.to(work) + sign * dW).to(dtype)
            tol = 2.0 * max(rel(torch_W, expect), UNIT_ROUNDOFF[dtype] / 2)
        e = rel(gW.t, expect.reshape(-1))
        check(e < tol, f"{op} err={e:.3g} tol={tol:.3g} {tag}")
        check(gW.guards_ok(), f"{op} guard zones {tag}")


def run_bad_inputs(lib):
    T, n, m, r, b = 16, 32, 32, 4, 2
    dt = bc.DTYPE_F32
    dev = TARGET.torch_device
    x, y = torch.randn(T, n, device=dev), torch.randn(T, m, device=dev)
    A, B, S = torch.randn(r, n, device=dev), torch.randn(m, r, device=dev), torch.randn(b, b, r, device=dev)
    fws = lib.forward_ws(TARGET.bora_device, dt, T, n, m, r, b)
    ws = torch.empty(fws, dtype=torch.uint8, device=dev)
    sp = TARGET.current_stream().cuda_stream
    y_before = y.clone()

    def fwd(**kw):
        a = dict(x=x, A=A, B=B, S=S, y=y, u=None, ws=ws, ws_bytes=fws, dtype=dt, b=b)
        a.update(kw)
        st = lib.forward(TARGET.bora_device, a["dtype"], T, n, m, r, a["b"], 1.0, a["x"], a["A"], a["B"], a["S"],
                         a["y"], a["u"], a["ws"], a["ws_bytes"], sp, 0)
        TARGET.synchronize()
        return st

    cases = [
        ("null x", dict(x=None), bc.ERR_NULL_POINTER),
        ("workspace too small", dict(ws_bytes=fws - 1), bc.ERR_WORKSPACE_TOO_SMALL),
        ("b does not divide n", dict(b=3), bc.ERR_BLOCKS_DO_NOT_DIVIDE),
    ]
    if not TARGET.is_cpu:
        cases += [
            ("host x on a CUDA call", dict(x=x.cpu()), bc.ERR_CUDA),
            ("host y on a CUDA call", dict(y=y.cpu()), bc.ERR_CUDA),
            ("float64 on CUDA", dict(dtype=DTYPE_F64), bc.ERR_BAD_DTYPE),
        ]
    for what, kw, expect in cases:
        st = fwd(**kw)
        msg = lib.last_error()
        check(st == expect and len(msg) > 0, f"bad input '{what}': status {st} (want {expect}), message '{msg}'")
        check(torch.equal(y, y_before), f"bad input '{what}' wrote into y")
    if not TARGET.is_cpu:
        bws = lib.backward_ws(TARGET.bora_device, dt, T, n, m, r, b, 0)
        wsb = torch.empty(bws, dtype=torch.uint8, device=dev)
        st = lib.backward(TARGET.bora_device, dt, T, n, m, r, b, 1.0, y, x, A, B, S, None, torch.empty_like(A).cpu(),
                          None, None, None, wsb, bws, sp, 0)
        check(st == bc.ERR_CUDA and lib.last_error() != "", f"backward with a host dA: status {st}")
        # beyond the CUDA backend's size arithmetic (every extent <= 2^40): an overflow, not a size
        out = ctypes.c_int64(-1)
        st = lib.lib.bora_forward_workspace_bytes(TARGET.bora_device, dt, 1 << 41, 1, 1, 1, 1, ctypes.byref(out))
        check(st == bc.ERR_OVERFLOW and "too large" in lib.last_error(),
              f"workspace query for T = 2^41: status {st} (want {bc.ERR_OVERFLOW}), message '{lib.last_error()}'")
    # A valid call after the failures still works.
    check(fwd() == 0, f"valid call after bad inputs: {lib.last_error()}")


def guarded(tag, fn, *args):
    """Runs one group of checks; an exception counts as a failure and the next group still
    runs, unless there was a sticky CUDA error: then every later call would fail the same
    way and flood the output, so the later groups are only counted."""
    global fault, skipped, current
    if fault:
        skipped += 1
        return
    current = tag
    try:
        fn(*args)
    except CudaFault as e:
        fault = str(e)
    except Exception as e:  # noqa: BLE001 - report every kind of failure and go on
        what = f"{tag}: {type(e).__name__}: {e}"
        fail(what)
        if bc.is_sticky_cuda_error(what):
            fault = what
    if fault:
        print("stopping after the sticky CUDA error above: the later cases are skipped", flush=True)


def main():
    global TARGET
    lib_path, TARGET = target_device.start_script(sys.argv[1:], __doc__)
    t_start = time.time()
    lib = bc.Bora(lib_path)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    if not TARGET.is_cpu:
        check(lib.lib.bora_cuda_compiled() == 1, "bora_cuda_compiled() == 1")
        check(lib.lib.bora_cuda_available() == 1, "bora_cuda_available() == 1")
        if failed:
            print(f"  {lib.cuda_report()}")
            print(f"  torch: CUDA {torch.version.cuda}, is_available()={torch.cuda.is_available()}")
            print(f"check_cuda: {passed} PASS, {failed} FAIL (no CUDA in the library or no GPU)")
            sys.exit(1)
    sync = os.environ.get("BORA_CUDA_SYNC")
    print(f"device: {TARGET.describe()}" + (f", BORA_CUDA_SYNC={sync}" if sync else ""))
    interrupted = ""
    try:
        run_all(lib, gen)
    except KeyboardInterrupt:  # a time limit: say where, then the counts so far
        traceback.print_exc()
        interrupted = f", interrupted in {current}"
    after = f", {skipped} cases skipped after a sticky CUDA error" if fault else ""
    print(f"check_cuda: {passed} PASS, {failed} FAIL{after}{interrupted} ({time.time() - t_start:.1f}s)")
    sys.exit(0 if failed == 0 and not interrupted else 1)


def run_all(lib, gen):
    shapes = [  # T, n, m, r, b: odd ones first
        (1, 8, 8, 1, 1), (1, 64, 32, 4, 2), (3, 12, 12, 4, 12), (7, 96, 40, 3, 4), (33, 130, 70, 5, 5),
        (100, 64, 128, 17, 2), (40, 48, 32, 33, 4), (9, 8, 8, 64, 8), (17, 4096, 64, 16, 1), (20, 30, 45, 2, 15),
        (256, 384, 384, 8, 4), (129, 512, 256, 16, 8), (300, 1024, 768, 16, 8), (64, 256, 256, 64, 16),
        (512, 768, 1024, 32, 4),
    ]
    streams = {"default": TARGET.default_stream(), "side": TARGET.new_stream()}

    def case(T, n, m, r, b, dtype, shift, variant, stream, extra_flags=0):
        tag = f"case {shape_tag(T, n, m, r, b, dtype)} shift={shift} variant={variant} stream={stream}"
        if extra_flags:
            tag += " no-tensor-cores"
        guarded(tag, run_case, lib, tag, T, n, m, r, b, dtype, shift, variant, streams[stream], gen, extra_flags)

    k = 0
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        t0 = time.time()
        for (T, n, m, r, b) in shapes:
            for shift in (0, 1):
                case(T, n, m, r, b, dtype, shift, k % 4, "side" if k % 2 else "default")
                k += 1
            tag = f"delta n={n} m={m} r={r} b={b} {str(dtype)[6:]} shift={k % 2}"
            guarded(tag, run_delta, lib, tag, n, m, r, b, dtype, k % 2, gen)
        if not TARGET.is_cpu:
            # Large enough that each block walks several chunks (the software-pipelined loads).
            case(8192, 1024, 512, 16, 2, dtype, 0, 0, "default")
            case(2048, 4096, 4096, 16, 8, dtype, 0, 1, "side")
        for dims in ((1000, 512, 384, 16, 8), (333, 256, 256, 8, 1)):
            tag = f"determinism {shape_tag(*dims, dtype)}"
            guarded(tag, run_determinism, lib, tag, *dims, dtype, gen)
        print(f"  {str(dtype)[6:]}: done in {time.time() - t0:.1f}s, {passed} PASS / {failed} FAIL so far",
              flush=True)
    # The 16-bit types on float FMAs (BORA_FLAG_NO_TENSOR_CORES), the benchmark's comparison
    # path: every other shape, every variant.
    t0 = time.time()
    for dtype in (torch.bfloat16, torch.float16):
        for i, (T, n, m, r, b) in enumerate(shapes[::2]):
            case(T, n, m, r, b, dtype, i % 2, k % 4, "side" if k % 2 else "default", FLAG_NO_TENSOR_CORES)
            k += 1
        dims = (1000, 512, 384, 16, 8)
        tag = f"determinism {shape_tag(*dims, dtype)} no-tensor-cores"
        guarded(tag, run_determinism, lib, tag, *dims, dtype, gen, FLAG_NO_TENSOR_CORES)
    print(f"  bf16/fp16 without tensor cores: done in {time.time() - t0:.1f}s, {passed} PASS / {failed} FAIL so far",
          flush=True)
    guarded("bad inputs", run_bad_inputs, lib)


if __name__ == "__main__":
    main()
