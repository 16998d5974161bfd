import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OUT = os.path.join(HERE, '..', 'main', 'resources', 'org', 'rlhf4j', 'kernels', 'ptx')
# Emits the strided elementwise kernels; the decode of a linear index into operand offsets is the same in each.
def decode(nops, idx='%i', out='%o', label='D'):
    """Offsets %o0..%o{nops-1} (element units, s32) of linear index idx under the kernel's geom param."""
    s = []
    s.append(f"\tsetp.ne.u32 %pd, %rank, 1;\n\t@%pd bra {label}GEN;")
    for k in range(nops):
        s.append(f"\tmul.lo.s32 {out}{k}, {idx}, %st{k};")
    s.append(f"\tbra.uni {label}END;\n{label}GEN:")
    s.append(f"\tmov.u32 %q, {idx};")
    for k in range(nops):
        s.append(f"\tmov.u32 {out}{k}, 0;")
    s.append(f"\tadd.s32 %d, %rank, -1;\n{label}LOOP:\n\tsetp.lt.s32 %pd, %d, 0;\n\t@%pd bra {label}END;")
    s.append("\tmul.wide.s32 %ga, %d, 4;\n\tadd.u64 %ga, %gbase, %ga;\n\tld.param.u32 %sh, [%ga+4];")
    s.append("\tdiv.u32 %q2, %q, %sh;\n\tmul.lo.u32 %c, %q2, %sh;\n\tsub.u32 %c, %q, %c;\n\tmov.u32 %q, %q2;")
    for k in range(nops):
        s.append(f"\tld.param.s32 %sk, [%ga+{36 + 32 * k}];\n\tmad.lo.s32 {out}{k}, %c, %sk, {out}{k};")
    s.append(f"\tadd.s32 %d, %d, -1;\n\tbra.uni {label}LOOP;\n{label}END:")
    return "\n".join(s)

def prologue(nops):
    regs = ", ".join(f"%o{k}" for k in range(nops))
    sts = ", ".join(f"%st{k}" for k in range(nops))
    s = f"""	.reg .pred %pd, %pl;
	.reg .b32 %i, %n, %step, %rank, %q, %q2, %d, %c, %sh, %sk, {regs}, {sts};
	.reg .b64 %gbase, %ga;
	mov.u64 %gbase, geom;
	ld.param.u32 %rank, [geom];
"""
    for k in range(nops):
        s += f"\tld.param.s32 %st{k}, [geom+{36 + 32 * k}];\n"
    s += """	mov.u32 %i, %ctaid.x;
	mov.u32 %q, %ntid.x;
	mov.u32 %c, %tid.x;
	mad.lo.u32 %i, %i, %q, %c;
	mov.u32 %step, %nctaid.x;
	mul.lo.u32 %step, %step, %q;
"""
    return s

def geom_bytes(nops): return 4 + 32 + 32 * nops

def ptr(name, reg):
    return f"\tld.param.u64 {reg}, [{name}];\n\tcvta.to.global.u64 {reg}, {reg};\n"

def addr(base, off, esize, out):
    return f"\tmul.wide.s32 {out}, {off}, {esize};\n\tadd.u64 {out}, {base}, {out};\n"

from fast import fast_path
FAST_UNARY = fast_path(2,
    lambda j: f"\tmul.wide.s32 %ax, %f1_{j}, 4;\n\tadd.u64 %ax, %x, %ax;\n\tld.global.f32 %v{j}, [%ax];",
    lambda j: f"\tcall (%r{j}), unary_op, (%op, %v{j}, %lo, %hi);",
    lambda j: f"\tmul.wide.s32 %ay, %f0_{j}, 4;\n\tadd.u64 %ay, %y, %ay;\n\tst.global.f32 [%ay], %r{j};",
    "\t.reg .b32 %step3, %step4, %last, %ij, %f0_<4>, %f1_<4>;\n\t.reg .f32 %v<4>, %r<4>;")
FAST_BINARY = fast_path(3,
    lambda j: f"\tmul.wide.s32 %aa, %f1_{j}, 4;\n\tadd.u64 %aa, %a, %aa;\n\tld.global.f32 %xa{j}, [%aa];\n\tmov.f32 %xb{j}, %s;\n\tmul.wide.s32 %ab, %f2_{j}, 4;\n\tadd.u64 %ab, %b, %ab;\n\t@!%ps ld.global.f32 %xb{j}, [%ab];",
    lambda j: f"\tcall (%r{j}), binary_op, (%op, %xa{j}, %xb{j});",
    lambda j: f"\tmul.wide.s32 %ay, %f0_{j}, 4;\n\tadd.u64 %ay, %y, %ay;\n\tst.global.f32 [%ay], %r{j};",
    "\t.reg .b32 %step3, %step4, %last, %ij, %f0_<4>, %f1_<4>, %f2_<4>;\n\t.reg .f32 %xa<4>, %xb<4>, %r<4>;")
K = []
# ---- unary ----
K.append(f"""
// y = op(x) over a strided geometry (operands y, x); op is a UnaryOp ordinal or 100 for clamp(x, lo, hi).
.visible .entry ew_unary_f32(.param .u64 p_y, .param .u64 p_x, .param .u32 p_op, .param .u32 p_n, .param .f32 p_lo,
	.param .f32 p_hi, .param .align 4 .b8 geom[{geom_bytes(2)}])
{{
{prologue(2)}	.reg .b32 %op;
	.reg .b64 %y, %x, %ay, %ax;
	.reg .f32 %lo, %hi, %v, %r;
{ptr('p_y', '%y')}{ptr('p_x', '%x')}	ld.param.u32 %op, [p_op];
	ld.param.u32 %n, [p_n];
	ld.param.f32 %lo, [p_lo];
	ld.param.f32 %hi, [p_hi];
{FAST_UNARY}
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
{decode(2)}
{addr('%x', '%o1', 4, '%ax')}	ld.global.f32 %v, [%ax];
	call (%r), unary_op, (%op, %v, %lo, %hi);
{addr('%y', '%o0', 4, '%ay')}	st.global.f32 [%ay], %r;
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
""")
# ---- binary ----
K.append(f"""
// y = op(a, b) over a strided geometry (operands y, a, b); with p_scalar set, b is the scalar p_s and not read.
.visible .entry ew_binary_f32(.param .u64 p_y, .param .u64 p_a, .param .u64 p_b, .param .u32 p_op, .param .u32 p_n,
	.param .u32 p_scalar, .param .f32 p_s, .param .align 4 .b8 geom[{geom_bytes(3)}])
{{
{prologue(3)}	.reg .pred %ps;
	.reg .b32 %op, %scalar;
	.reg .b64 %y, %a, %b, %ay, %aa, %ab;
	.reg .f32 %s, %va, %vb, %r;
{ptr('p_y', '%y')}{ptr('p_a', '%a')}{ptr('p_b', '%b')}	ld.param.u32 %op, [p_op];
	ld.param.u32 %n, [p_n];
	ld.param.u32 %scalar, [p_scalar];
	ld.param.f32 %s, [p_s];
	setp.ne.u32 %ps, %scalar, 0;
{FAST_BINARY}
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
{decode(3)}
{addr('%a', '%o1', 4, '%aa')}	ld.global.f32 %va, [%aa];
	mov.f32 %vb, %s;
	@%ps bra COMPUTE;
{addr('%b', '%o2', 4, '%ab')}	ld.global.f32 %vb, [%ab];
COMPUTE:
	call (%r), binary_op, (%op, %va, %vb);
{addr('%y', '%o0', 4, '%ay')}	st.global.f32 [%ay], %r;
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
""")
# ---- ternary ----
K.append(f"""
// y = op(a, b, c) (operands y, a, b, c): WHERE 0 (a != 0 ? b : c), FMA 1 (a b + c, two roundings), LERP 2 (a + c (b - a)).
.visible .entry ew_ternary_f32(.param .u64 p_y, .param .u64 p_a, .param .u64 p_b, .param .u64 p_c, .param .u32 p_op,
	.param .u32 p_n, .param .align 4 .b8 geom[{geom_bytes(4)}])
{{
{prologue(4)}	.reg .pred %pw;
	.reg .b32 %op;
	.reg .b64 %y, %a, %b, %cc, %ay, %aa, %ab, %ac;
	.reg .f32 %va, %vb, %vc, %r, %t;
{ptr('p_y', '%y')}{ptr('p_a', '%a')}{ptr('p_b', '%b')}{ptr('p_c', '%cc')}	ld.param.u32 %op, [p_op];
	ld.param.u32 %n, [p_n];
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
{decode(4)}
{addr('%a', '%o1', 4, '%aa')}{addr('%b', '%o2', 4, '%ab')}{addr('%cc', '%o3', 4, '%ac')}	ld.global.f32 %va, [%aa];
	ld.global.f32 %vb, [%ab];
	ld.global.f32 %vc, [%ac];
	setp.eq.u32 %pw, %op, 0;
	@!%pw bra NOTWHERE;
	setp.neu.f32 %pw, %va, 0f00000000;
	selp.f32 %r, %vb, %vc, %pw;
	bra.uni STORE;
NOTWHERE:
	setp.eq.u32 %pw, %op, 1;
	@!%pw bra LERP;
	mul.rn.f32 %t, %va, %vb;
	add.rn.f32 %r, %t, %vc;
	bra.uni STORE;
LERP:
	sub.rn.f32 %t, %vb, %va;
	mul.rn.f32 %t, %vc, %t;
	add.rn.f32 %r, %va, %t;
STORE:
{addr('%y', '%o0', 4, '%ay')}	st.global.f32 [%ay], %r;
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
""")
# ---- copy / convert ----
K.append(f"""
// y = x with conversion (operands y, x). dtype codes: 0 F32, 1 F64, 2 I32, 3 BF16. Values pass through F64, as
// the CPU backend converts: F32, I32 and BF16 widen exactly; F64 -> F32 rounds to nearest; -> I32 truncates
// toward zero and saturates (NaN gives 0); -> BF16 rounds to F32, then to nearest even BF16.
.visible .entry copy_convert(.param .u64 p_y, .param .u64 p_x, .param .u32 p_yt, .param .u32 p_xt, .param .u32 p_n,
	.param .align 4 .b8 geom[{geom_bytes(2)}])
{{
{prologue(2)}	.reg .pred %pt;
	.reg .b32 %yt, %xt, %ysz, %xsz, %w;
	.reg .b16 %h;
	.reg .b64 %y, %x, %ay, %ax;
	.reg .f32 %f;
	.reg .f64 %v;
{ptr('p_y', '%y')}{ptr('p_x', '%x')}	ld.param.u32 %yt, [p_yt];
	ld.param.u32 %xt, [p_xt];
	ld.param.u32 %n, [p_n];
	// element sizes: F64 8, BF16 2, else 4
	mov.u32 %ysz, 4;
	setp.eq.u32 %pt, %yt, 1;
	@%pt mov.u32 %ysz, 8;
	setp.eq.u32 %pt, %yt, 3;
	@%pt mov.u32 %ysz, 2;
	mov.u32 %xsz, 4;
	setp.eq.u32 %pt, %xt, 1;
	@%pt mov.u32 %xsz, 8;
	setp.eq.u32 %pt, %xt, 3;
	@%pt mov.u32 %xsz, 2;
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
{decode(2)}
	mul.wide.s32 %ax, %o1, %xsz;
	add.u64 %ax, %x, %ax;
	mul.wide.s32 %ay, %o0, %ysz;
	add.u64 %ay, %y, %ay;
	setp.eq.u32 %pt, %xt, 0;
	@!%pt bra XNOT32;
	ld.global.f32 %f, [%ax];
	cvt.f64.f32 %v, %f;
	bra.uni STORE;
XNOT32:
	setp.eq.u32 %pt, %xt, 1;
	@!%pt bra XNOT64;
	ld.global.f64 %v, [%ax];
	bra.uni STORE;
XNOT64:
	setp.eq.u32 %pt, %xt, 2;
	@!%pt bra XBF16;
	ld.global.s32 %w, [%ax];
	cvt.rn.f64.s32 %v, %w;
	bra.uni STORE;
XBF16:
	ld.global.u16 %h, [%ax];
	cvt.u32.u16 %w, %h;
	shl.b32 %w, %w, 16;
	mov.b32 %f, %w;
	cvt.f64.f32 %v, %f;
STORE:
	setp.eq.u32 %pt, %yt, 0;
	@!%pt bra YNOT32;
	cvt.rn.f32.f64 %f, %v;
	st.global.f32 [%ay], %f;
	bra.uni NEXT;
YNOT32:
	setp.eq.u32 %pt, %yt, 1;
	@!%pt bra YNOT64;
	st.global.f64 [%ay], %v;
	bra.uni NEXT;
YNOT64:
	setp.eq.u32 %pt, %yt, 2;
	@!%pt bra YBF16;
	cvt.rzi.s32.f64 %w, %v;
	st.global.s32 [%ay], %w;
	bra.uni NEXT;
YBF16:
	cvt.rn.f32.f64 %f, %v;
	cvt.rn.bf16.f32 %h, %f;
	st.global.b16 [%ay], %h;
NEXT:
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
""")
# ---- fill ----
K.append(f"""
// Every element of a strided y set to the bit pattern p_bits (the low 2, 4 or all 8 bytes, by p_esize).
.visible .entry fill(.param .u64 p_y, .param .u32 p_esize, .param .u64 p_bits, .param .u32 p_n,
	.param .align 4 .b8 geom[{geom_bytes(1)}])
{{
{prologue(1)}	.reg .pred %pe;
	.reg .b32 %es, %w;
	.reg .b16 %h;
	.reg .b64 %y, %ay, %bits;
{ptr('p_y', '%y')}	ld.param.u32 %es, [p_esize];
	ld.param.u64 %bits, [p_bits];
	ld.param.u32 %n, [p_n];
	cvt.u32.u64 %w, %bits;
	cvt.u16.u64 %h, %bits;
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
{decode(1)}
	mul.wide.s32 %ay, %o0, %es;
	add.u64 %ay, %y, %ay;
	setp.eq.u32 %pe, %es, 4;
	@%pe st.global.b32 [%ay], %w;
	setp.eq.u32 %pe, %es, 8;
	@%pe st.global.b64 [%ay], %bits;
	setp.eq.u32 %pe, %es, 2;
	@%pe st.global.b16 [%ay], %h;
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
""")

HEADER = """//
// rlhf4j elementwise kernels: strided unary, binary and ternary F32 ops (with broadcasting through zero strides),
// clamp, copy with dtype conversion, and fill. One kernel per arity takes the op as a parameter. Rank-1
// geometries (contiguous or simply broadcast) take a fast path with four elements in flight per thread. See
// org.rlhf4j.kernels.Geometry for the geom parameter (rank, shape[8], strides[operand][8], row-major) and
// kernels/README.md for the conventions. Grid-stride loops over 32-bit element indices (numel < 2^31).
//
.version 7.8
.target sm_80
.address_size 64
"""
import sys
body = open(os.path.join(HERE, 'math_f32.inc')).read() + open(os.path.join(HERE, 'math_f64.inc')).read() + open(os.path.join(HERE, 'ew_body.inc')).read() + "".join(K)
open(os.path.join(HERE, 'elementwise.tmpl'), 'w').write(HEADER + body)
