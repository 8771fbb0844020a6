"""bora_ctypes.py - the C API of libbora.so (native/include/bora/bora.h) through ctypes,
called on torch tensors. Shared by check_cuda.py and bench_cuda.py."""
import ctypes

import torch

OK = 0
ERR_NULL_POINTER = 1
ERR_BAD_SIZE = 2
ERR_BLOCKS_DO_NOT_DIVIDE = 3
ERR_OVERFLOW = 4
ERR_WORKSPACE_TOO_SMALL = 5
ERR_BAD_DTYPE = 6
ERR_CUDA = 9

DTYPE_F32, DTYPE_BF16, DTYPE_F16, DTYPE_F64 = 0, 1, 2, 3
DEVICE_CPU, DEVICE_CUDA = 0, 1
FLAG_NONE, FLAG_ACCUMULATE, FLAG_DETERMINISTIC, FLAG_REFERENCE, FLAG_NO_TENSOR_CORES = 0, 1, 2, 4, 8

TORCH_TO_BORA = {torch.float32: DTYPE_F32, torch.bfloat16: DTYPE_BF16, torch.float16: DTYPE_F16,
                 torch.float64: DTYPE_F64}

_i64 = ctypes.c_int64
_vp = ctypes.c_void_p


# Messages of CUDA errors that leave the context unusable (sticky): every later call fails
# the same way. "CUDA error:" is how torch reports a runtime error; "kernel fault" is the
# library's own report under BORA_CUDA_SYNC.
STICKY_CUDA_ERRORS = ("illegal memory access", "unspecified launch failure", "misaligned address",
                      "illegal instruction", "device-side assert", "kernel fault", "CUDA error:")


def is_sticky_cuda_error(message):
    return any(s.lower() in message.lower() for s in STICKY_CUDA_ERRORS)


def ptr(t):
    """The data pointer of a tensor (None: a null pointer). The C API takes dense row-major
    arrays, so a strided view would be read as the wrong elements."""
    if t is None:
        return None
    if not t.is_contiguous():
        raise ValueError(f"tensor of shape {tuple(t.shape)} and strides {t.stride()} is not contiguous")
    return _vp(t.data_ptr())


class Bora:
    def __init__(self, path):
        self.lib = lib = ctypes.CDLL(path)
        lib.bora_status_string.restype = ctypes.c_char_p
        lib.bora_status_string.argtypes = [ctypes.c_int]
        lib.bora_last_error.restype = ctypes.c_char_p
        lib.bora_last_error.argtypes = []
        lib.bora_cuda_compiled.restype = ctypes.c_int
        lib.bora_cuda_available.restype = ctypes.c_int
        lib.bora_forward_workspace_bytes.argtypes = [ctypes.c_int, ctypes.c_int] + [_i64] * 5 + [ctypes.POINTER(_i64)]
        lib.bora_backward_workspace_bytes.argtypes = ([ctypes.c_int, ctypes.c_int] + [_i64] * 5 +
                                                      [ctypes.c_int, ctypes.POINTER(_i64)])
        lib.bora_forward.argtypes = ([ctypes.c_int, ctypes.c_int] + [_i64] * 5 + [ctypes.c_float] + [_vp] * 7 +
                                     [_i64, _vp, ctypes.c_int])
        lib.bora_backward.argtypes = ([ctypes.c_int, ctypes.c_int] + [_i64] * 5 + [ctypes.c_float] + [_vp] * 11 +
                                      [_i64, _vp, ctypes.c_int])
        for name in ("bora_delta_weight", "bora_merge", "bora_unmerge"):
            getattr(lib, name).argtypes = ([ctypes.c_int, ctypes.c_int] + [_i64] * 4 + [ctypes.c_float] + [_vp] * 4 +
                                           [_vp, ctypes.c_int])
        for name in ("bora_forward", "bora_backward", "bora_delta_weight", "bora_merge", "bora_unmerge",
                     "bora_forward_workspace_bytes", "bora_backward_workspace_bytes"):
            getattr(lib, name).restype = ctypes.c_int

    def last_error(self):
        return self.lib.bora_last_error().decode()

    def status_string(self, status):
        return self.lib.bora_status_string(status).decode()

    def cuda_report(self):
        """Why the library may see no usable GPU: its last error and what a CUDA size query says."""
        last = self.last_error()
        try:
            query = f"forward_workspace_bytes on CUDA: {self.forward_ws(DEVICE_CUDA, DTYPE_F32, 16, 32, 32, 4, 2)}"
        except RuntimeError as e:
            query = f"on CUDA: {e}"
        return (f"cuda_compiled={self.lib.bora_cuda_compiled()} cuda_available={self.lib.bora_cuda_available()} "
                f"last_error='{last}'; {query}")

    def forward_ws(self, device, dtype, T, n, m, r, b):
        out = _i64(-1)
        st = self.lib.bora_forward_workspace_bytes(device, dtype, T, n, m, r, b, ctypes.byref(out))
        if st != OK:
            raise RuntimeError(f"forward_workspace_bytes: {st} ({self.status_string(st)}) {self.last_error()}")
        return out.value

    def backward_ws(self, device, dtype, T, n, m, r, b, flags=0):
        out = _i64(-1)
        st = self.lib.bora_backward_workspace_bytes(device, dtype, T, n, m, r, b, flags, ctypes.byref(out))
        if st != OK:
            raise RuntimeError(f"backward_workspace_bytes: {st} ({self.status_string(st)}) {self.last_error()}")
        return out.value

    def forward(self, device, dtype, T, n, m, r, b, scale, x, A, B, S, y, u, ws, ws_bytes, stream, flags):
        return self.lib.bora_forward(device, dtype, T, n, m, r, b, scale, ptr(x), ptr(A), ptr(B), ptr(S), ptr(y),
                                     ptr(u), ptr(ws), ws_bytes, _vp(stream) if stream else None, flags)

    def backward(self, device, dtype, T, n, m, r, b, scale, G, x, A, B, S, u, dA, dB, dS, dx, ws, ws_bytes, stream,
                 flags):
        return self.lib.bora_backward(device, dtype, T, n, m, r, b, scale, ptr(G), ptr(x), ptr(A), ptr(B), ptr(S),
                                      ptr(u), ptr(dA), ptr(dB), ptr(dS), ptr(dx), ptr(ws), ws_bytes,
                                      _vp(stream) if stream else None, flags)

    def delta(self, op, device, dtype, n, m, r, b, scale, A, B, S, W, stream, flags):
        fn = {"delta": self.lib.bora_delta_weight, "merge": self.lib.bora_merge, "unmerge": self.lib.bora_unmerge}[op]
        return fn(device, dtype, n, m, r, b, scale, ptr(A), ptr(B), ptr(S), ptr(W), _vp(stream) if stream else None,
                  flags)


def eager_bora(x, A, B, S, scale, b):
    """scale * BoRA(x) with torch ops (autograd-capable): the 'torch eager' peer."""
    T, n = x.shape
    r, m = A.shape[0], B.shape[0]
    U = torch.einsum("tjc,jkc->tjk", x.reshape(T, b, n // b), A.reshape(r, b, n // b).permute(1, 0, 2))
    V = torch.einsum("ijk,tjk->tik", S, U)
    return torch.einsum("tik,ick->tic", V, B.reshape(b, m // b, r)).reshape(T, m) * scale


def eager_delta(A, B, S, scale, b):
    """scale * [B_i diag(S_ij) A_j] (m x n) with torch ops."""
    r, n = A.shape
    m = B.shape[0]
    W = torch.einsum("ick,ijk,jkd->icjd", B.reshape(b, m // b, r), S, A.reshape(r, b, n // b).permute(1, 0, 2))
    return W.reshape(m, n) * scale
