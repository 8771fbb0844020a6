package dev.bora4j.onnx;

import java.util.List;

/** One ONNX graph node (NodeProto): its name, operator and the value names it reads and writes. */
public record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs) {

    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }
}
