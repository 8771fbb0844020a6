"""target_device.py - where check_cuda.py and bench_cuda.py run their calls.

CUDA is the real check. The CPU target is a dry run of the scripts themselves where there
is no GPU: the same cases, guard zones, tolerances, table and ctypes signatures, with the
library's CPU path in place of its CUDA kernels and no streams, so a mistake in a script
or a change of the C API shows up before a GPU is at hand (CTest runs it when a Python
with torch is found).
"""
import contextlib
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


def from_args(argv):
    """(argv without the --cpu flag, the target it selects)."""
    rest = [a for a in argv if a != "--cpu"]
    return rest, (CpuTarget() if len(rest) < len(argv) else CudaTarget())
