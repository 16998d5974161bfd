/**
 * Causal flash-style attention on the GPU: the twin of {@code CpuAttention}, in hand-written PTX.
 *
 * <h2>Kernels</h2>
 * Shapes: {@code B} batch, {@code H} heads, {@code T} time, {@code D} head dim. Every kernel follows
 * {@code CpuAttention}'s semantics: a mask value at or below -1e9 (or -inf) masks its key outright; a query row
 * that sees no key gets out = 0, lse = -inf and zero gradients, and no NaN appears anywhere. Exponentials run
 * in base 2 with {@code scale * log2(e)} folded into one multiply; lse is saved in natural-log units.
 * <ul>
 *   <li>{@code attention_f32.ptx}, the exactness path (scalar F32 fma, any D up to 128 with D % 4 == 0):
 *       <ul>
 *         <li>{@code attention_fwd_f32}: a block of 16 warps per 16 query rows (a warp per row); key tiles of 32
 *             through shared memory, lane = key for the scores, lane = head dims for the accumulator; online
 *             softmax; tiles past the causal diagonal are never loaded. k and v are read through element
 *             strides, so the same kernel serves decoding against a KV cache (Tq &lt; Tk, query i at position
 *             Tk - Tq + i);</li>
 *         <li>{@code attention_decode_f32}: one query per sequence (a decoding step) against the cache; a block per
 *             (b, h) whose 8 warps take every 8th chunk of 32 keys with their own online-softmax state, combined
 *             in warp order at the end (deterministic);</li>
 *         <li>backward in three passes, no atomics: {@code attention_bwd_dot_f32} (rowdot = dout . out),
 *             {@code attention_bwd_dkdv_f32} (a block per 8 keys loops over the query tiles that see them),
 *             {@code attention_bwd_dq_f32} (a block per 8 queries loops over the key tiles they see). Each
 *             output element is summed by one thread in a fixed order: the same bits on every run.</li>
 *       </ul></li>
 *   <li>{@code attention_bf16.ptx}, BF16 inputs with F32 accumulation on the tensor cores
 *       ({@code mma.sync.m16n8k16}, {@code ldmatrix}, {@code cp.async}; sm_80 and sm_90), D = 64 or 128:
 *       <ul>
 *         <li>{@code attention_fwd_bf16_dD}: 4 warps per 64 query rows, Q fragments in registers, key tiles of 64
 *             in padded shared memory; the next K tile loads while the softmax and P V run, the next V tile
 *             while the next S runs; P is repacked from the S accumulators into A fragments;</li>
 *         <li>{@code attention_bwd_dot_bf16}, {@code attention_bwd_dkdv_bf16_dD} (a block per 64 keys; S^T and
 *             dP^T recomputed per query tile; dV += P^T dO, dK += dS^T Q) and {@code attention_bwd_dq_bf16_dD}
 *             (a block per 64 queries with Q and dO fragments in registers; dQ += dS K): no atomics.</li>
 *       </ul>
 *       The file is generated (fragments are named registers, so their loops are unrolled):
 *       {@code python3 kernels/src/ptxgen/attention_bf16.py > kernels/src/main/resources/org/rlhf4j/kernels/ptx/attention_bf16.ptx}.</li>
 * </ul>
 * {@link org.rlhf4j.kernels.attention.AttentionLaunch} holds each launch's grid, block and parameters by their
 * PTX names; {@link org.rlhf4j.kernels.attention.CudaAttention} checks shapes, makes operands contiguous (and
 * 16-byte aligned for cp.async) where needed, and launches. BF16 at another head dim (16, 32 in small models)
 * runs the F32 kernels on widened copies and rounds the outputs once to BF16.
 *
 * <h2>Checks</h2>
 * Without a GPU, in the normal test run: ptxas assembles both files for sm_80 and sm_90
 * ({@code PtxAssemblyTest}); {@code AttentionLaunchTest} compares every launch's parameters, block and grid with
 * the PTX entries; {@code F32KernelModelTest} runs a thread-level Java transcription of the F32 kernels (same
 * tiles, loop bounds, shared-memory sizes) against {@code CpuAttention} for T = 1, 17, 33, 128, 1000 with
 * padding and cached decoding; {@code AttentionPtxInterpreterTest} runs the PTX text itself on a strict
 * interpreter ({@code kernels/src/ptxgen/ptxemu.py}: shared memory starts as NaN, cp.async lands only at the
 * wait, collectives need the whole warp) against a NumPy F64 reference, every kernel of both files once
 * ({@code check_attention_ptx.py --ci}, under a minute; skipped without python3 and NumPy). The script without
 * flags runs more shapes (about 6 minutes).
 * <p>On a GPU: {@code CudaAttentionGpuTest} (tag {@code gpu}) compares forward and backward with the CPU op for
 * T = 1, 17, 128, 1000, 2048, D = 64 and 128, with and without padding (F32 within 1e-5, BF16 within 1e-2), with
 * poisoned outputs and a bit-for-bit second run; {@code AttentionGpuBenchmark} (tag {@code gpu-benchmark}) prints
 * TFLOP/s rows, and {@code scripts/gpu/attention-checks.sh LOG} sets PyTorch's scaled_dot_product_attention
 * beside them. Only a GPU shows the real timing, the hardware's ex2/lg2 accuracy and the real mma/ldmatrix
 * fragment layouts (the interpreter implements the PTX ISA's tables, so it checks the kernels' use of them).
 */
package org.rlhf4j.kernels.attention;
