"""target_device.py - where check_cuda.py and bench_cuda.py run their calls.

CUDA is the real check. The CPU target is a dry run of the scripts themselves where there
is no GPU: the same cases, guard zones, tolerances, table and ctypes signatures, with the
library's CPU path in place of its CUDA kernels and no streams, so a mistake in a script
or a change of the C API shows up before a GPU is at hand (CTest runs it when a Python
with torch is found).
"""
import contextlib
import signal
import sys
import time

import torch

from bora_ctypes import DEVICE_CPU, DEVICE_CUDA


class CudaTarget:
    torch_device = "cuda"
    bora_device = DEVICE_CUDA
    is_cpu = False

    def describe(self):
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__} (CUDA {torch.version.cuda})"

    def default_stream(self):
        return torch.cuda.default_stream()

    def new_stream(self):
        return torch.cuda.Stream()

    def current_stream(self):
        return torch.cuda.current_stream()

    def on(self, stream):
        return torch.cuda.stream(stream)

    def synchronize(self):
        torch.cuda.synchronize()

    def release_cache(self):
        """Hands torch's cached device memory back between benchmark shapes."""
        torch.cuda.empty_cache()

    def timer(self):
        return _CudaTimer()


class _HostStream:
    """No stream: the CPU path takes a null cudaStream_t and runs synchronously."""
    cuda_stream = None

    def wait_stream(self, other):
        pass

    def synchronize(self):
        pass


class CpuTarget:
    torch_device = "cpu"
    bora_device = DEVICE_CPU
    is_cpu = True

    def describe(self):
        return f"CPU dry run (the library's CPU path), torch {torch.__version__}"

    def default_stream(self):
        return _HostStream()

    def new_stream(self):
        return _HostStream()

    def current_stream(self):
        return _HostStream()

    def on(self, stream):
        return contextlib.nullcontext()

    def synchronize(self):
        pass

    def release_cache(self):
        pass

    def timer(self):
        return _WallTimer()


class _CudaTimer:
    """Milliseconds between start() and stop() on the current stream (CUDA events)."""

    def start(self):
        self.begin, self.end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        self.begin.record()

    def stop(self):
        self.end.record()
        self.end.synchronize()
        return self.begin.elapsed_time(self.end)


class _WallTimer:
    def start(self):
        self.begin = time.perf_counter()

    def stop(self):
        return (time.perf_counter() - self.begin) * 1e3


def _has_flag(module, name):
    """Whether a torch.backends flag exists in this torch (older ones raise AssertionError)."""
    try:
        getattr(module, name)
        return True
    except (AttributeError, AssertionError):
        return False


def disable_tf32():
    """float32 matmuls and convolutions in IEEE float32 (no TF32), as our kernels compute."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if _has_flag(matmul, "fp32_precision"):  # torch >= 2.9, where allow_tf32 is deprecated
        matmul.fp32_precision = "ieee"
        if _has_flag(cudnn, "fp32_precision"):
            cudnn.fp32_precision = "ieee"
    else:
        matmul.allow_tf32 = False
        cudnn.allow_tf32 = False


@contextlib.contextmanager
def full_precision_reductions():
    """bf16/fp16 GEMMs whose split-K reductions stay in float32 (restored on exit)."""
    matmul = torch.backends.cuda.matmul
    names = [n for n in ("allow_bf16_reduced_precision_reduction", "allow_fp16_reduced_precision_reduction")
             if _has_flag(matmul, n)]
    saved = {n: getattr(matmul, n) for n in names}
    try:
        for n in names:
            setattr(matmul, n, False)
        yield
    finally:
        for n, value in saved.items():
            setattr(matmul, n, value)


def interrupt_on_sigterm():
    """SIGTERM (a time limit's signal) as KeyboardInterrupt: the script prints where it was
    and runs its finally blocks (bench_cuda.py prints its table)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupt)


def from_args(argv):
    """(argv without the --cpu flag, the target it selects)."""
    rest = [a for a in argv if a != "--cpu"]
    return rest, (CpuTarget() if len(rest) < len(argv) else CudaTarget())


def start_script(argv, usage):
    """A script's start: (its one positional argument, the target --cpu selects). SIGTERM
    interrupts it; any other argument count prints the usage and exits 2."""
    args, target = from_args(argv)
    interrupt_on_sigterm()
    if len(args) != 1:
        print(usage)
        sys.exit(2)
    return args[0], target
