package dev.bora4j.nn;

import org.bytedeco.pytorch.Tensor;

/**
 * An adapter on a frozen linear projection: given the projection's input and its frozen
 * output, returns the adapted output. BoRA, LoRA and the other methods implement it.
 */
public interface LinearAdapter {

    /**
     * @param x          the projection's input, shape [..., in]
     * @param baseOutput the frozen projection's output x W0^T + bias, shape [..., out]
     * @return the adapted output, shape [..., out]
     */
    Tensor forward(Tensor x, Tensor baseOutput);
}
