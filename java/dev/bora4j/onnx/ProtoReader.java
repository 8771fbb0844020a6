package dev.bora4j.onnx;

import java.nio.charset.StandardCharsets;

/**
 * Reads the protobuf wire format from a window of a byte array. Every length is checked against
 * the bytes that remain before it is used, so a corrupt file fails with an
 * {@link OnnxFormatException} instead of reading past the end or allocating huge buffers.
 */
final class ProtoReader {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final byte[] bytes;
    private final int limit;
    private final String what;
    private int position;

    ProtoReader(byte[] bytes, int offset, int length, String what) {
        if (offset < 0 || length < 0 || offset > bytes.length - length) {
            throw new OnnxFormatException(what + ": window [" + offset + ", +" + length
                    + ") lies outside the " + bytes.length + "-byte buffer");
        }
        this.bytes = bytes;
        this.position = offset;
        this.limit = offset + length;
        this.what = what;
    }

    boolean hasMore() {
        return position < limit;
    }

    /** Absolute offset of the next byte in the underlying array. */
    int position() {
        return position;
    }

    byte[] buffer() {
        return bytes;
    }

    /** Reads a field key; returns it packed as {@code (fieldNumber << 3) | wireType}. */
    int readTag() {
        long tag = readVarint();
        int field = (int) (tag >>> 3);
        if (tag >>> 3 > Integer.MAX_VALUE || field == 0) {
            throw corrupt("invalid field number " + (tag >>> 3));
        }
        return (int) tag;
    }

    long readVarint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= limit) {
                throw corrupt("truncated varint");
            }
            byte b = bytes[position++];
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw corrupt("varint longer than 10 bytes");
    }

    /** Reads a length prefix and checks it fits in what remains; returns the length. */
    int readLength() {
        long length = readVarint();
        if (length < 0 || length > limit - position) {
            throw corrupt("length " + length + " exceeds the " + (limit - position) + " bytes left");
        }
        return (int) length;
    }

    /** A reader over the next length-delimited field, which this reader then skips. */
    ProtoReader readMessage(String name) {
        int length = readLength();
        ProtoReader sub = new ProtoReader(bytes, position, length, what + "." + name);
        position += length;
        return sub;
    }

    String readString() {
        int length = readLength();
        String s = new String(bytes, position, length, StandardCharsets.UTF_8);
        position += length;
        return s;
    }

    void skip(int tag) {
        int wireType = tag & 7;
        switch (wireType) {
            case VARINT -> readVarint();
            case FIXED64 -> advance(8);
            case LENGTH_DELIMITED -> advance(readLength());
            case FIXED32 -> advance(4);
            default -> throw corrupt("unsupported wire type " + wireType + " for field " + (tag >>> 3));
        }
    }

    void advance(int n) {
        if (n < 0 || n > limit - position) {
            throw corrupt("cannot skip " + n + " bytes, " + (limit - position) + " left");
        }
        position += n;
    }

    void expectWireType(int tag, int wireType) {
        if ((tag & 7) != wireType) {
            throw corrupt("field " + (tag >>> 3) + " has wire type " + (tag & 7) + ", expected " + wireType);
        }
    }

    OnnxFormatException corrupt(String message) {
        return new OnnxFormatException("corrupt ONNX protobuf in " + what + " at byte " + position
                + ": " + message);
    }
}
