package dev.bora4j.ops;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
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
        Api api = Api.get();
        Pointer stream;
        try {
            stream = (Pointer) api.currentStream.invoke(null, deviceIndex);
        } catch (InvocationTargetException e) {
            // torch itself failed (no such device, CUDA not initialisable): its message says why.
            throw new IllegalStateException("torch cannot give its current CUDA stream on device " + deviceIndex
                    + ": " + e.getCause().getMessage(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw Api.noGpuFlavour(e);
        }
        try {
            // A view of the cudaStream_t that torch owns; only the CUDAStream wrapper is ours to free.
            return new Pointer((Pointer) api.rawStream.invoke(stream));
        } catch (ReflectiveOperationException e) {
            throw Api.noGpuFlavour(e);
        } finally {
            stream.close();
        }
    }

    /** The two reflective methods, looked up once. */
    private static final class Api {
        final Method currentStream;
        final Method rawStream;

        private static volatile Api instance;

        private Api(Method currentStream, Method rawStream) {
            this.currentStream = currentStream;
            this.rawStream = rawStream;
        }

        static Api get() {
            Api api = instance;
            if (api == null) {
                try {
                    Class<?> torchCuda = Class.forName("org.bytedeco.pytorch.global.torch_cuda");
                    Method current = torchCuda.getMethod("getCurrentCUDAStream", byte.class);
                    api = new Api(current, current.getReturnType().getMethod("stream"));
                } catch (ReflectiveOperationException | LinkageError e) {
                    throw noGpuFlavour(e);
                }
                instance = api;
            }
            return api;
        }

        static IllegalStateException noGpuFlavour(Throwable e) {
            return new IllegalStateException("cannot get torch's current CUDA stream; CUDA tensors need the GPU"
                    + " flavour (Maven profile gpu: pytorch linux-x86_64-gpu + org.bytedeco:cuda): " + e, e);
        }
    }
}
