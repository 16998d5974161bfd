package org.rlhf4j.transformer.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Builds safetensors bytes by hand, independently of {@link SafeTensors}' writer, so that tests can make valid
 * files in other layouts (other dtypes, other orders) and malformed ones.
 */
final class RawSafeTensors {
    private record Entry(String name, String dtype, int[] shape, byte[] data) {}

    private final List<Entry> entries = new ArrayList<>();
    private String metadataJson;

    RawSafeTensors add(String name, String dtype, int[] shape, byte[] data) {
        entries.add(new Entry(name, dtype, shape, data));
        return this;
    }

    RawSafeTensors addF32(String name, int[] shape, float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return add(name, "F32", shape, b.array());
    }

    RawSafeTensors add16(String name, String dtype, int[] shape, int... bitPatterns) {
        ByteBuffer b = ByteBuffer.allocate(2 * bitPatterns.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : bitPatterns) b.putShort((short) v);
        return add(name, dtype, shape, b.array());
    }

    RawSafeTensors metadata(String json) {
        this.metadataJson = json;
        return this;
    }

    /** The header JSON with offsets laid out in insertion order. */
    String headerJson() {
        StringBuilder sb = new StringBuilder("{");
        if (metadataJson != null) sb.append("\"__metadata__\":").append(metadataJson);
        long offset = 0;
        for (Entry e : entries) {
            if (sb.length() > 1) sb.append(',');
            String shape = Arrays.stream(e.shape).mapToObj(Integer::toString).collect(Collectors.joining(","));
            sb.append('"').append(e.name).append("\":{\"dtype\":\"").append(e.dtype).append("\",\"shape\":[")
                    .append(shape).append("],\"data_offsets\":[").append(offset).append(',')
                    .append(offset + e.data.length).append("]}");
            offset += e.data.length;
        }
        return sb.append('}').toString();
    }

    byte[] data() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Entry e : entries) out.writeBytes(e.data);
        return out.toByteArray();
    }

    byte[] bytes() {
        return file(headerJson(), data());
    }

    /** A file with this header text, its true length, and this data buffer. */
    static byte[] file(String headerJson, byte[] data) {
        byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
        return file(header.length, header, data);
    }

    /** A file whose length field says {@code claimedLength}, whatever the header really holds. */
    static byte[] file(long claimedLength, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(claimedLength).put(header).put(data);
        return b.array();
    }
}
