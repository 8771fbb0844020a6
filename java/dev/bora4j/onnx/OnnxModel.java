package dev.bora4j.onnx;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** The parts of an ONNX model needed to rebuild it elsewhere: its initializers and graph nodes. */
public final class OnnxModel {

    private final long irVersion;
    private final long opsetVersion;
    private final Map<String, OnnxTensor> initializers;
    private final List<OnnxNode> nodes;

    OnnxModel(long irVersion, long opsetVersion, Map<String, OnnxTensor> initializers, List<OnnxNode> nodes) {
        this.irVersion = irVersion;
        this.opsetVersion = opsetVersion;
        this.initializers = Collections.unmodifiableMap(initializers);
        this.nodes = List.copyOf(nodes);
    }

    public long irVersion() {
        return irVersion;
    }

    /** Version of the default ("ai.onnx") operator set, or 0 when the model does not name it. */
    public long opsetVersion() {
        return opsetVersion;
    }

    /** Initializers by name, in file order. */
    public Map<String, OnnxTensor> initializers() {
        return initializers;
    }

    public List<OnnxNode> nodes() {
        return nodes;
    }

    /** The nodes that read the named value, in graph order. */
    public List<OnnxNode> consumersOf(String valueName) {
        List<OnnxNode> result = new ArrayList<>();
        for (OnnxNode node : nodes) {
            if (node.inputs().contains(valueName)) {
                result.add(node);
            }
        }
        return result;
    }
}
