# A rank-1 fast path with four elements in flight per thread: i, i+step, i+2 step, i+3 step.
def fast_path(nops, loads, compute, stores, regs_decl):
    """loads(j) -> PTX loading element j's inputs (offsets %f{k}_{j}); compute(j); stores(j)."""
    s = [regs_decl]
    s.append("\tsetp.ne.u32 %pd, %rank, 1;\n\t@%pd bra LOOP;")
    s.append("\tshl.b32 %step4, %step, 2;\n\tmul.lo.u32 %step3, %step, 3;")
    s.append("FAST:\n\tadd.u32 %last, %i, %step3;\n\tsetp.ge.u32 %pl, %last, %n;\n\t@%pl bra LOOP;")
    s.append("\t// guard against wrap-around of i + 3 step past 2^32\n\tsetp.lt.u32 %pl, %last, %i;\n\t@%pl bra LOOP;")
    for j in range(4):
        s.append(f"\tmad.lo.u32 %ij, %step, {j}, %i;")
        for k in range(nops):
            s.append(f"\tmul.lo.s32 %f{k}_{j}, %ij, %st{k};")
    for j in range(4):
        s.append(loads(j))
    for j in range(4):
        s.append(compute(j))
    for j in range(4):
        s.append(stores(j))
    s.append("\tadd.u32 %i, %i, %step4;\n\tbra.uni FAST;")
    return "\n".join(s)
