package dev.bora4j.models.minilm;

import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LayerNormOptions;
import org.bytedeco.pytorch.LongVector;

/** Small construction helpers shared by the MiniLM modules. */
final class ModuleNames {

    private ModuleNames() {
    }

    static LayerNormImpl layerNorm(long size, double eps) {
        LayerNormOptions options = new LayerNormOptions(new LongVector(size));
        options.eps().put(eps);
        return new LayerNormImpl(options);
    }
}
