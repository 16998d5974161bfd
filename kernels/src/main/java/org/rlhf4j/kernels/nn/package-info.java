/**
 * The fused NN ops on the GPU ({@link org.rlhf4j.kernels.nn.CudaFused}): hand-written PTX, one resource per
 * family under {@code org/rlhf4j/kernels/ptx/}, each the twin of a CPU kernel in {@code CpuNn} with the same
 * semantics and saved state. Every file's header gives the algorithm, the launch contract and the error bounds.
 *
 * <table>
 *   <caption>Kernels (registers per thread as ptxas reports for sm_80 / sm_90; no spills)</caption>
 *   <tr><th>file</th><th>entries</th><th>what</th></tr>
 *   <tr><td>softmax.ptx</td><td>softmax_fwd_f32 (32/32), softmax_fwd_bf16 (32/32), softmax_bwd_f32 (32/32), softmax_bwd_bf16 (31/31)</td>
 *       <td>softmax / log-softmax over the last axis, one block per row: one read pass with an online max and sum
 *       per thread, warp butterflies then a block combine, a second pass writing y; 16-byte body with a scalar head
 *       and tail</td></tr>
 *   <tr><td>logprobs.ptx</td><td>logprobs_fwd_f32 (26/26), logprobs_bwd_f32 (30/30), logprobs_fwd_bf16 (32/32),
 *       logprobs_bwd_bf16 (32/32)</td>
 *       <td>token log-probs with temperature: lse and the chosen logit in one read of the logits; the backward
 *       writes g (onehot - softmax) / T in one more pass; nothing of size R x V besides logits and gradient</td></tr>
 *   <tr><td>crossentropy.ptx</td><td>ce_fwd_f32 (26/26), ce_reduce_f32 (15/16), ce_bwd_f32 (30/30)</td>
 *       <td>mean cross-entropy with a mask and an ignore index; the loss reduced in a fixed order on the device,
 *       the backward reads the loss gradient and count from device memory</td></tr>
 *   <tr><td>layernorm.ptx</td><td>ln_fwd_f32 (30/30), ln_bwd_f32 (40/40), ln_bwd_reduce_f32 (28/26)</td>
 *       <td>layer norm (saves mean and rstd) and its backward; weight and bias gradients summed per block into a
 *       scratch buffer, then over the blocks in order: no atomics, the same bits on every run</td></tr>
 *   <tr><td>gelu.ptx</td><td>gelu_fwd_f32 (19/24), gelu_bwd_f32 (32/32)</td>
 *       <td>GPT-2's tanh GELU as x sigmoid(2u), forward and backward, without cancellation</td></tr>
 *   <tr><td>adamw.ptx</td><td>adamw_f32 (40/40), adamw_one_f32 (32/32)</td>
 *       <td>AdamW over every tensor of a model in one launch (a device table of chunks, {@link
 *       org.rlhf4j.kernels.nn.AdamwTable}), or over one tensor given directly; the CPU's update bit for bit</td></tr>
 *   <tr><td>embedding.ptx</td><td>embedding_bwd_f32 (30/32)</td>
 *       <td>embedding backward without atomics: positions sorted by id on the host, one block per id summing in
 *       the CPU's order; the CPU's bits</td></tr>
 * </table>
 *
 * <p>Checks: {@code FusedLaunchTest} (launch arithmetic, chunk tables, row splits; no GPU needed), the PTX
 * assembly test of the kernels module, {@code FusedGpuTest} against the CPU backend and {@code FusedGpuBenchmark}
 * against the device copy on a GPU (scripts/gpu/gpu-checks.sh, with scripts/gpu/torch_fused_peer.py as the
 * PyTorch peer), and {@code kernels/src/ptxgen/check_fused_ptx.py}, which runs the PTX itself on an interpreter
 * against NumPy references where there is no GPU.
 */
package org.rlhf4j.kernels.nn;
