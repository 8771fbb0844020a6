package dev.bora4j.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses an ONNX ModelProto: the graph's nodes and its initializers. Only what rebuilding a
 * model needs is kept; every other field is skipped by its wire type. Field numbers are those
 * of onnx/onnx.proto (ModelProto.graph = 7, GraphProto.node = 1, GraphProto.initializer = 5,
 * TensorProto.dims = 1, data_type = 2, name = 8, raw_data = 9, data_location = 14, ...).
 */
public final class OnnxModelReader {

    private OnnxModelReader() {
    }

    /** Reads a whole model from a stream (the file is held in memory; models over 2 GB are not supported). */
    public static OnnxModel read(InputStream in) throws IOException {
        if (in == null) {
            throw new IllegalArgumentException("ONNX input stream is null (is the model resource on the classpath?)");
        }
        return parse(in.readAllBytes());
    }

    public static OnnxModel parse(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new OnnxFormatException("ONNX model is empty");
        }
        ProtoReader model = new ProtoReader(bytes, 0, bytes.length, "ModelProto");
        long irVersion = 0;
        long opset = 0;
        ProtoReader graph = null;
        while (model.hasMore()) {
            int tag = model.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    model.expectWireType(tag, ProtoReader.VARINT);
                    irVersion = model.readVarint();
                }
                case 7 -> {
                    model.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                    graph = model.readMessage("graph");
                }
                case 8 -> {
                    model.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                    long version = readDefaultOpset(model.readMessage("opset_import"));
                    opset = version > 0 ? version : opset;
                }
                default -> model.skip(tag);
            }
        }
        if (graph == null) {
            throw new OnnxFormatException("ONNX model has no graph (field 7): not an ONNX model file?");
        }
        return readGraph(graph, irVersion, opset);
    }

    /** OperatorSetIdProto: domain = 1, version = 2; returns the version for the default domain, else 0. */
    private static long readDefaultOpset(ProtoReader r) {
        String domain = "";
        long version = 0;
        while (r.hasMore()) {
            int tag = r.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    r.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                    domain = r.readString();
                }
                case 2 -> {
                    r.expectWireType(tag, ProtoReader.VARINT);
                    version = r.readVarint();
                }
                default -> r.skip(tag);
            }
        }
        return domain.isEmpty() || domain.equals("ai.onnx") ? version : 0;
    }

    private static OnnxModel readGraph(ProtoReader graph, long irVersion, long opset) {
        Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        List<OnnxNode> nodes = new ArrayList<>();
        while (graph.hasMore()) {
            int tag = graph.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    graph.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                    nodes.add(readNode(graph.readMessage("node[" + nodes.size() + "]")));
                }
                case 5 -> {
                    graph.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                    OnnxTensor t = readTensor(graph.readMessage("initializer[" + initializers.size() + "]"));
                    if (initializers.putIfAbsent(t.name(), t) != null) {
                        throw new OnnxFormatException("ONNX graph has two initializers named '" + t.name() + "'");
                    }
                }
                default -> graph.skip(tag);
            }
        }
        return new OnnxModel(irVersion, opset, initializers, nodes);
    }

    private static OnnxNode readNode(ProtoReader r) {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String name = "";
        String opType = "";
        while (r.hasMore()) {
            int tag = r.readTag();
            int field = tag >>> 3;
            if (field >= 1 && field <= 4) {
                r.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                String s = r.readString();
                switch (field) {
                    case 1 -> inputs.add(s);
                    case 2 -> outputs.add(s);
                    case 3 -> name = s;
                    default -> opType = s;
                }
            } else {
                r.skip(tag);
            }
        }
        if (opType.isEmpty()) {
            throw r.corrupt("node '" + name + "' has no op_type");
        }
        return new OnnxNode(name, opType, inputs, outputs);
    }

    private static OnnxTensor readTensor(ProtoReader r) {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = null;
        int rawOffset = -1;
        int rawLength = 0;
        boolean external = false;
        boolean typedData = false;
        while (r.hasMore()) {
            int tag = r.readTag();
            switch (tag >>> 3) {
                case 1 -> readInt64s(r, tag, dims);
                case 2 -> {
                    r.expectWireType(tag, ProtoReader.VARINT);
                    dataType = (int) r.readVarint();
                }
                case 8 -> {
                    r.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                    name = r.readString();
                }
                case 9 -> {
                    r.expectWireType(tag, ProtoReader.LENGTH_DELIMITED);
                    rawLength = r.readLength();
                    rawOffset = r.position();
                    r.advance(rawLength);
                }
                case 14 -> {
                    r.expectWireType(tag, ProtoReader.VARINT);
                    external = r.readVarint() == 1;
                }
                case 4, 5, 6, 7, 10, 11 -> {
                    typedData = true;
                    r.skip(tag);
                }
                default -> r.skip(tag);
            }
        }
        if (name == null || name.isEmpty()) {
            throw r.corrupt("initializer without a name");
        }
        if (external) {
            throw new OnnxFormatException("initializer '" + name + "' keeps its data in an external file; "
                    + "only models with embedded raw_data are supported");
        }
        if (rawOffset < 0) {
            throw new OnnxFormatException("initializer '" + name + "' has no raw_data"
                    + (typedData ? " (typed *_data fields are not supported; re-export with raw_data)" : ""));
        }
        int elementSize = OnnxTensor.elementSize(dataType);
        if (elementSize < 0) {
            throw new OnnxFormatException("initializer '" + name + "' has unsupported data type " + dataType);
        }
        long[] shape = new long[dims.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dims.get(i);
            if (shape[i] < 0) {
                throw new OnnxFormatException("initializer '" + name + "' has negative dimension " + shape[i]);
            }
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException e) {
                throw new OnnxFormatException("initializer '" + name + "' has dimensions whose product overflows");
            }
        }
        if (numel > Integer.MAX_VALUE || numel * elementSize != rawLength) {
            throw new OnnxFormatException("initializer '" + name + "' has " + rawLength + " bytes of raw_data but its "
                    + "dimensions " + dims + " of type " + dataType + " need " + numel + " x " + elementSize);
        }
        return new OnnxTensor(name, shape, dataType, r.buffer(), rawOffset, rawLength);
    }

    /** Repeated int64, either packed (wire type 2) or one value per key (wire type 0). */
    private static void readInt64s(ProtoReader r, int tag, List<Long> out) {
        if ((tag & 7) == ProtoReader.LENGTH_DELIMITED) {
            ProtoReader packed = r.readMessage("dims");
            while (packed.hasMore()) {
                out.add(packed.readVarint());
            }
        } else {
            r.expectWireType(tag, ProtoReader.VARINT);
            out.add(r.readVarint());
        }
    }
}
