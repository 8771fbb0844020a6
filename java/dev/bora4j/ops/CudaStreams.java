package dev.bora4j.ops;

import org.bytedeco.javacpp.Pointer;

/**
 * torch's current CUDA stream as a raw cudaStream_t. Reached by reflection so that the CUDA
 * classes (org.bytedeco.cuda, only in the GPU flavour) are needed neither to compile nor on
 * the CPU path.
 */
final class CudaStreams {

    private CudaStreams() {
    }

    static Pointer current(byte deviceIndex) {
        try {
            Class<?> torchCuda = Class.forName("org.bytedeco.pytorch.global.torch_cuda");
            Object stream = torchCuda.getMethod("getCurrentCUDAStream", byte.class).invoke(null, deviceIndex);
            Object raw = stream.getClass().getMethod("stream").invoke(stream);
            return new Pointer((Pointer) raw);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("cannot get torch's current CUDA stream; CUDA tensors need the GPU"
                    + " flavour (Maven profile gpu: pytorch linux-x86_64-gpu + org.bytedeco:cuda): " + e, e);
        }
    }
}
