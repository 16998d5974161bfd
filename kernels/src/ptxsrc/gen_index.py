import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OUT = os.path.join(HERE, '..', 'main', 'resources', 'org', 'rlhf4j', 'kernels', 'ptx')
from kernels_ew import decode, prologue, geom_bytes, ptr
HEADER = """//
// rlhf4j indexing kernels over strided geometries (see org.rlhf4j.kernels.Geometry): gather and scatter-add along
// an axis, index_select. Indices are I32; one outside [0, bound) is skipped and its op's bit (IndexErrors) is or-ed
// into the error word, which the host reads at its next synchronize and raises as IndexOutOfBoundsException.
// Scatter-add uses atomic adds: where several sources land on one element, the order of the adds (and so the
// last bit of an F32 sum) may vary from run to run.
//
.version 7.8
.target sm_80
.address_size 64
"""

def copy_elem(src, dst):
    return f"""	setp.eq.u32 %pe, %es, 4;
	@!%pe bra NOT4;
	ld.global.b32 %w, [{src}];
	st.global.b32 [{dst}], %w;
	bra.uni NEXT;
NOT4:
	setp.eq.u32 %pe, %es, 8;
	@!%pe bra NOT8;
	ld.global.b64 %dw, [{src}];
	st.global.b64 [{dst}], %dw;
	bra.uni NEXT;
NOT8:
	ld.global.b16 %h, [{src}];
	st.global.b16 [{dst}], %h;
"""

gather = f"""
// y[..., i, ...] = x[..., idx[..., i, ...], ...] along the axis; operands y, idx, x (x seen with stride 0 on the
// axis); p_axstride is x's stride along the axis, p_bound its size.
.visible .entry gather(.param .u64 p_y, .param .u64 p_idx, .param .u64 p_x, .param .u32 p_esize, .param .u32 p_n,
	.param .s32 p_axstride, .param .u32 p_bound, .param .u64 p_err, .param .align 4 .b8 geom[{geom_bytes(3)}])
{{
{prologue(3)}	.reg .pred %pe, %pb;
	.reg .b32 %es, %axs, %bound, %k, %w, %src;
	.reg .b16 %h;
	.reg .b64 %y, %idx, %x, %err, %ay, %ai, %ax, %dw;
{ptr('p_y', '%y')}{ptr('p_idx', '%idx')}{ptr('p_x', '%x')}{ptr('p_err', '%err')}	ld.param.u32 %es, [p_esize];
	ld.param.u32 %n, [p_n];
	ld.param.s32 %axs, [p_axstride];
	ld.param.u32 %bound, [p_bound];
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
{decode(3)}
	mul.wide.s32 %ai, %o1, 4;
	add.u64 %ai, %idx, %ai;
	ld.global.s32 %k, [%ai];
	setp.lt.u32 %pb, %k, %bound;            // unsigned: negative indices are out of range too
	@%pb bra INRANGE;
	atom.global.or.b32 %w, [%err], 1;
	bra.uni NEXT;
INRANGE:
	mad.lo.s32 %src, %k, %axs, %o2;
	mul.wide.s32 %ax, %src, %es;
	add.u64 %ax, %x, %ax;
	mul.wide.s32 %ay, %o0, %es;
	add.u64 %ay, %y, %ay;
{copy_elem('%ax', '%ay')}NEXT:
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
"""

scatter = f"""
// y[..., idx[..., i, ...], ...] += x[..., i, ...] along the axis with atomic adds; operands y (stride 0 on the
// axis), idx, x. F32, or F64 when p_f64 is set.
.visible .entry scatter_add(.param .u64 p_y, .param .u64 p_idx, .param .u64 p_x, .param .u32 p_f64, .param .u32 p_n,
	.param .s32 p_axstride, .param .u32 p_bound, .param .u64 p_err, .param .align 4 .b8 geom[{geom_bytes(3)}])
{{
{prologue(3)}	.reg .pred %p64, %pb;
	.reg .b32 %f64, %axs, %bound, %k, %w, %dst;
	.reg .b64 %y, %idx, %x, %err, %ay, %ai, %ax;
	.reg .f32 %v, %old;
	.reg .f64 %dv, %dold;
{ptr('p_y', '%y')}{ptr('p_idx', '%idx')}{ptr('p_x', '%x')}{ptr('p_err', '%err')}	ld.param.u32 %f64, [p_f64];
	ld.param.u32 %n, [p_n];
	ld.param.s32 %axs, [p_axstride];
	ld.param.u32 %bound, [p_bound];
	setp.ne.u32 %p64, %f64, 0;
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
{decode(3)}
	mul.wide.s32 %ai, %o1, 4;
	add.u64 %ai, %idx, %ai;
	ld.global.s32 %k, [%ai];
	setp.lt.u32 %pb, %k, %bound;
	@%pb bra INRANGE;
	atom.global.or.b32 %w, [%err], 2;
	bra.uni NEXT;
INRANGE:
	mad.lo.s32 %dst, %k, %axs, %o0;
	@%p64 bra F64;
	mul.wide.s32 %ax, %o2, 4;
	add.u64 %ax, %x, %ax;
	ld.global.f32 %v, [%ax];
	mul.wide.s32 %ay, %dst, 4;
	add.u64 %ay, %y, %ay;
	atom.global.add.f32 %old, [%ay], %v;
	bra.uni NEXT;
F64:
	mul.wide.s32 %ax, %o2, 8;
	add.u64 %ax, %x, %ax;
	ld.global.f64 %dv, [%ax];
	mul.wide.s32 %ay, %dst, 8;
	add.u64 %ay, %y, %ay;
	atom.global.add.f64 %dold, [%ay], %dv;
NEXT:
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
"""

# index_select decodes with the axis kept as its own dimension (p_axdim, -1 when it has size 1) and reads the
# coordinate j along it.
gb = geom_bytes(2)
isel = f"""
// y[..., j, ...] = x[..., idx[j], ...] along the axis; operands y, x (x seen with stride 0 on the axis); p_axdim is
// the axis in the merged geometry (-1 when it has size 1), idx is 1-d I32 with stride p_istride.
.visible .entry index_select(.param .u64 p_y, .param .u64 p_x, .param .u64 p_idx, .param .s32 p_istride,
	.param .u32 p_esize, .param .u32 p_n, .param .s32 p_axdim, .param .s32 p_axstride, .param .u32 p_bound,
	.param .u64 p_err, .param .align 4 .b8 geom[{gb}])
{{
{prologue(2)}	.reg .pred %pe, %pb, %pk;
	.reg .b32 %es, %istr, %axdim, %axs, %bound, %k, %w, %src, %j;
	.reg .b16 %h;
	.reg .b64 %y, %x, %idx, %err, %ay, %ai, %ax, %dw;
{ptr('p_y', '%y')}{ptr('p_x', '%x')}{ptr('p_idx', '%idx')}{ptr('p_err', '%err')}	ld.param.s32 %istr, [p_istride];
	ld.param.u32 %es, [p_esize];
	ld.param.u32 %n, [p_n];
	ld.param.s32 %axdim, [p_axdim];
	ld.param.s32 %axs, [p_axstride];
	ld.param.u32 %bound, [p_bound];
LOOP:
	setp.ge.u32 %pl, %i, %n;
	@%pl bra DONE;
	mov.u32 %q, %i;
	mov.u32 %o0, 0;
	mov.u32 %o1, 0;
	mov.u32 %j, 0;
	add.s32 %d, %rank, -1;
DLOOP:
	setp.lt.s32 %pd, %d, 0;
	@%pd bra DEND;
	mul.wide.s32 %ga, %d, 4;
	add.u64 %ga, %gbase, %ga;
	ld.param.u32 %sh, [%ga+4];
	div.u32 %q2, %q, %sh;
	mul.lo.u32 %c, %q2, %sh;
	sub.u32 %c, %q, %c;
	mov.u32 %q, %q2;
	ld.param.s32 %sk, [%ga+36];
	mad.lo.s32 %o0, %c, %sk, %o0;
	ld.param.s32 %sk, [%ga+68];
	mad.lo.s32 %o1, %c, %sk, %o1;
	setp.eq.s32 %pk, %d, %axdim;
	@%pk mov.u32 %j, %c;
	add.s32 %d, %d, -1;
	bra.uni DLOOP;
DEND:
	mul.lo.s32 %w, %j, %istr;
	mul.wide.s32 %ai, %w, 4;
	add.u64 %ai, %idx, %ai;
	ld.global.s32 %k, [%ai];
	setp.lt.u32 %pb, %k, %bound;
	@%pb bra INRANGE;
	atom.global.or.b32 %w, [%err], 4;
	bra.uni NEXT;
INRANGE:
	mad.lo.s32 %src, %k, %axs, %o1;
	mul.wide.s32 %ax, %src, %es;
	add.u64 %ax, %x, %ax;
	mul.wide.s32 %ay, %o0, %es;
	add.u64 %ay, %y, %ay;
{copy_elem('%ax', '%ay')}NEXT:
	add.u32 %i, %i, %step;
	bra.uni LOOP;
DONE:
	ret;
}}
"""
open(os.path.join(OUT, 'index.ptx'), 'w').write(HEADER + gather + scatter + isel)
