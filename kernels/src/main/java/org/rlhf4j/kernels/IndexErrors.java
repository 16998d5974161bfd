package org.rlhf4j.kernels;

/**
 * Codes that index kernels write to the context's error word ({@link CudaContext#errorWordAddress()}) when an
 * index is out of range; they skip that element, and the next {@link CudaContext#synchronize()} throws. A kernel
 * records its code with {@code atom.global.or.b32 [errorWord], code}.
 */
public final class IndexErrors {
    public static final int GATHER = 1, SCATTER_ADD = 2, INDEX_SELECT = 4, EMBEDDING = 8, TOKEN_TARGET = 16;

    private IndexErrors() {}

    static String describe(int word) {
        StringBuilder sb = new StringBuilder("index out of range in");
        if ((word & GATHER) != 0) sb.append(" gather");
        if ((word & SCATTER_ADD) != 0) sb.append(" scatterAdd");
        if ((word & INDEX_SELECT) != 0) sb.append(" indexSelect");
        if ((word & EMBEDDING) != 0) sb.append(" embeddingBackward");
        if ((word & TOKEN_TARGET) != 0) sb.append(" tokenLogProbs");
        if ((word & ~31) != 0) sb.append(" (code ").append(word).append(')');
        return sb.toString();
    }
}
