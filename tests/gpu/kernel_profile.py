"""kernel_profile.py - the GPU time of each kernel a call launches, from torch.profiler.

CUPTI, under torch.profiler, records every kernel of the process at the driver level, so the
kernels libbora launches through its own (static) CUDA runtime are listed too. The table says
which kernel of a pass takes the time, which is what the benchmark's totals cannot say.
"""
import re

import torch
from torch.profiler import ProfilerActivity, profile


def short_name(name):
    """The kernel without return type, namespaces or parameters.

    >>> short_name("void bora::cuda::detail::project_mma_kernel<__nv_bfloat16, 16>(bora::cuda::detail::ProjectParams)")
    'project_mma_kernel<__nv_bfloat16, 16>'
    >>> short_name("void at::native::elementwise_kernel<4, at::native::Add<float>, std::array<char*, 3ul> >"
    ...            "(int, at::native::Add<float>, std::array<char*, 3ul>)")
    'elementwise_kernel<4, at::native::Add<float>, std::array<char*, 3ul> >'
    >>> short_name("Memset (Device)")
    'Memset (Device)'
    >>> short_name("Memcpy DtoD (Device -> Device)")
    'Memcpy DtoD (Device -> Device)'
    """
    name = re.sub(r"^void ", "", name.strip())
    depth, cut = 0, len(name)
    for i, ch in enumerate(name):  # the parameter list: the first '(' outside template brackets
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "(" and depth == 0 and i > 0 and name[i - 1] != " ":
            cut = i
            break
    head = name[:cut]
    depth, start = 0, 0
    for i in range(len(head) - 1):  # the last '::' outside template brackets
        depth += head[i] == "<"
        depth -= head[i] == ">"
        if head[i:i + 2] == "::" and depth == 0:
            start = i + 2
    short = head[start:]
    return short if len(short) <= 100 else short[:99] + "…"


def device_events(prof):
    """(name, microseconds) of every event the profiler timed on the GPU."""
    cuda = torch.autograd.DeviceType.CUDA
    out = []
    for e in prof.events():
        if getattr(e, "device_type", None) == cuda:
            out.append((e.name, e.time_range.end - e.time_range.start))
    return out


def kernel_table(events, calls, title):
    """Markdown: each kernel's launches and GPU microseconds per call of the profiled function,
    and its share of their sum, largest first.

    >>> print(kernel_table([("void k::a<1>(P)", 10.0), ("void k::b(Q)", 30.0), ("void k::a<1>(P)", 20.0),
    ...                     ("void k::b(Q)", 40.0)], 2, "Two calls"))
    Two calls
    <BLANKLINE>
    | kernel | launches per call | GPU us per call | share |
    |---|---|---|---|
    | `b` | 1 | 35.0 | 70% |
    | `a<1>` | 1 | 15.0 | 30% |
    | all | 2 | 50.0 | 100% |
    """
    per_kernel = {}
    for name, us in events:
        n, total = per_kernel.get(short_name(name), (0, 0.0))
        per_kernel[short_name(name)] = (n + 1, total + us)
    lines = [title, "", "| kernel | launches per call | GPU us per call | share |", "|---|---|---|---|"]
    whole = sum(total for _, total in per_kernel.values())
    for name, (n, total) in sorted(per_kernel.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| `{name}` | {n / calls:g} | {total / calls:.1f} | {total / whole:.0%} |")
    if not per_kernel:
        lines.append("| (no GPU kernels recorded) | | | |")
    else:
        lines.append(f"| all | {sum(n for n, _ in per_kernel.values()) / calls:g} | {whole / calls:.1f} | 100% |")
    return "\n".join(lines)


def profile_calls(fn, calls, synchronize, on_gpu):
    """Runs fn once to warm up, then `calls` times under the profiler; its device events."""
    fn()
    synchronize()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with profile(activities=activities) as prof:
        for _ in range(calls):
            fn()
        synchronize()
    return device_events(prof)
