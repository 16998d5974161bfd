import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OUT = os.path.join(HERE, '..', 'main', 'resources', 'org', 'rlhf4j', 'kernels', 'ptx')
def combine(op_reg, acc, v, label):
    # SUM/MEAN add, MAX max, MIN min (NaN propagates)
    return f"""	setp.lt.u32 %pc, {op_reg}, 2;
	@%pc add.rn.f32 {acc}, {acc}, {v};
	setp.eq.u32 %pc, {op_reg}, 2;
	@%pc max.NaN.f32 {acc}, {acc}, {v};
	setp.eq.u32 %pc, {op_reg}, 3;
	@%pc min.NaN.f32 {acc}, {acc}, {v};"""

def init(op_reg, acc):
    return f"""	mov.f32 {acc}, 0f00000000;
	setp.eq.u32 %pc, {op_reg}, 2;
	@%pc mov.f32 {acc}, 0fFF800000;
	setp.eq.u32 %pc, {op_reg}, 3;
	@%pc mov.f32 {acc}, 0f7F800000;"""

# argmax candidate update: take (v, j) over (best, bi) when bi is unset, or best is not NaN and (v > best or v is NaN)
def arg_seq(best, bi, v, j):
    return f"""	setp.eq.s32 %pa, {bi}, 2147483647;
	testp.notanumber.f32 %pb, {best};
	setp.gt.f32 %pc, {v}, {best};
	testp.notanumber.f32 %pn, {v};
	or.pred %pc, %pc, %pn;
	not.pred %pb, %pb;
	and.pred %pc, %pc, %pb;
	or.pred %pc, %pc, %pa;
	@%pc mov.f32 {best}, {v};
	@%pc mov.s32 {bi}, {j};"""

# combine two candidates (best, bi) and (v, j) of which either may come first in index order
def arg_combine(best, bi, v, j):
    return f"""	testp.notanumber.f32 %pa, {best};
	testp.notanumber.f32 %pb, {v};
	setp.gt.f32 %pc, {v}, {best};
	not.pred %pn, %pa;
	and.pred %pn, %pn, %pb;
	or.pred %pc, %pc, %pn;
	setp.lt.s32 %pn, {j}, {bi};
	setp.eq.f32 %pe, {v}, {best};
	and.pred %pa, %pa, %pb;
	or.pred %pe, %pe, %pa;
	and.pred %pe, %pe, %pn;
	or.pred %pc, %pc, %pe;
	@%pc mov.f32 {best}, {v};
	@%pc mov.s32 {bi}, {j};"""

HEADER = """//
// rlhf4j reductions along an axis, F32 with F32 accumulation: sum, mean, max, min (ReduceOp ordinals 0-3; max and
// min propagate NaN) and argmax (first maximum; a NaN counts as the maximum, the first NaN wins).
//   *_rows_f32: the axis is the last one (x contiguous [rows, len]): one 256-thread block per row, each thread
//               over a strided slice with four loads in flight, then warp shuffles, then shared memory across the
//               8 warps.
//   *_cols_f32: inner > 1 (x contiguous [outer, len, inner]): one thread per output, reading along the axis with
//               stride inner (coalesced across neighbouring threads).
// y is contiguous: [rows] or [outer, inner]. Sums are in a different order from the CPU's, so they agree within
// rounding (|diff| <= 1e-6 * sum |x| in the tests), not bit for bit; max, min, mean's scale and argmax are exact.
//
.version 7.8
.target sm_80
.address_size 64

.shared .align 4 .f32 red_v[8];
.shared .align 4 .s32 red_i[8];
"""

rows = f"""
.visible .entry reduce_rows_f32(.param .u64 p_y, .param .u64 p_x, .param .u32 p_op, .param .u32 p_rows,
	.param .u32 p_len, .param .f32 p_scale)
{{
	.reg .pred %pc, %pl, %pw;
	.reg .b32 %op, %rows, %len, %row, %tx, %lane, %warp, %j, %j4, %off;
	.reg .b64 %y, %x, %xr, %a, %sa;
	.reg .f32 %scale, %acc, %a1, %a2, %a3, %v0, %v1, %v2, %v3, %o;
	ld.param.u64 %y, [p_y];
	cvta.to.global.u64 %y, %y;
	ld.param.u64 %x, [p_x];
	cvta.to.global.u64 %x, %x;
	ld.param.u32 %op, [p_op];
	ld.param.u32 %rows, [p_rows];
	ld.param.u32 %len, [p_len];
	ld.param.f32 %scale, [p_scale];
	mov.u32 %tx, %tid.x;
	and.b32 %lane, %tx, 31;
	shr.u32 %warp, %tx, 5;
	mov.u32 %row, %ctaid.x;
ROW:
	setp.ge.u32 %pl, %row, %rows;
	@%pl bra DONE;
	mul.wide.u32 %xr, %row, %len;
	shl.b64 %xr, %xr, 2;
	add.u64 %xr, %x, %xr;
{init('%op', '%acc')}
	mov.f32 %a1, %acc;
	mov.f32 %a2, %acc;
	mov.f32 %a3, %acc;
	mov.u32 %j, %tx;
QUAD:
	add.u32 %j4, %j, 768;
	setp.ge.u32 %pl, %j4, %len;
	@%pl bra SINGLE;
	mul.wide.u32 %a, %j, 4;
	add.u64 %a, %xr, %a;
	ld.global.nc.f32 %v0, [%a];
	ld.global.nc.f32 %v1, [%a+1024];
	ld.global.nc.f32 %v2, [%a+2048];
	ld.global.nc.f32 %v3, [%a+3072];
{combine('%op', '%acc', '%v0', 'q0')}
{combine('%op', '%a1', '%v1', 'q1')}
{combine('%op', '%a2', '%v2', 'q2')}
{combine('%op', '%a3', '%v3', 'q3')}
	add.u32 %j, %j, 1024;
	bra.uni QUAD;
SINGLE:
	setp.ge.u32 %pl, %j, %len;
	@%pl bra FOLD;
	mul.wide.u32 %a, %j, 4;
	add.u64 %a, %xr, %a;
	ld.global.nc.f32 %v0, [%a];
{combine('%op', '%acc', '%v0', 's')}
	add.u32 %j, %j, 256;
	bra.uni SINGLE;
FOLD:
{combine('%op', '%acc', '%a1', 'f1')}
{combine('%op', '%a2', '%a3', 'f2')}
{combine('%op', '%acc', '%a2', 'f3')}
"""
for off in [16, 8, 4, 2, 1]:
    rows += f"\tshfl.sync.down.b32 %o, %acc, {off}, 31, -1;\n{combine('%op', '%acc', '%o', 'w')}\n"
rows += f"""	setp.eq.u32 %pw, %lane, 0;
	@!%pw bra SYNC1;
	mov.u64 %sa, red_v;
	mul.wide.u32 %a, %warp, 4;
	add.u64 %sa, %sa, %a;
	st.shared.f32 [%sa], %acc;
SYNC1:
	bar.sync 0;
	setp.ne.u32 %pw, %warp, 0;
	@%pw bra SYNC2;
{init('%op', '%acc')}
	setp.ge.u32 %pl, %lane, 8;
	@%pl bra WARP0;
	mov.u64 %sa, red_v;
	mul.wide.u32 %a, %lane, 4;
	add.u64 %sa, %sa, %a;
	ld.shared.f32 %acc, [%sa];
WARP0:
"""
for off in [4, 2, 1]:
    rows += f"\tshfl.sync.down.b32 %o, %acc, {off}, 31, -1;\n{combine('%op', '%acc', '%o', 'w0')}\n"
rows += f"""	setp.ne.u32 %pw, %lane, 0;
	@%pw bra SYNC2;
	mul.rn.f32 %acc, %acc, %scale;
	mul.wide.u32 %a, %row, 4;
	add.u64 %a, %y, %a;
	st.global.f32 [%a], %acc;
SYNC2:
	bar.sync 0;
	mov.u32 %off, %nctaid.x;
	add.u32 %row, %row, %off;
	bra.uni ROW;
DONE:
	ret;
}}
"""

cols = f"""
.visible .entry reduce_cols_f32(.param .u64 p_y, .param .u64 p_x, .param .u32 p_op, .param .u32 p_outer,
	.param .u32 p_len, .param .u32 p_inner, .param .f32 p_scale)
{{
	.reg .pred %pc, %pl;
	.reg .b32 %op, %outer, %len, %inner, %c, %n, %step, %o, %i, %k, %t, %base, %q;
	.reg .b64 %y, %x, %a, %st;
	.reg .f32 %scale, %acc, %a1, %v0, %v1;
	ld.param.u64 %y, [p_y];
	cvta.to.global.u64 %y, %y;
	ld.param.u64 %x, [p_x];
	cvta.to.global.u64 %x, %x;
	ld.param.u32 %op, [p_op];
	ld.param.u32 %outer, [p_outer];
	ld.param.u32 %len, [p_len];
	ld.param.u32 %inner, [p_inner];
	ld.param.f32 %scale, [p_scale];
	mul.lo.u32 %n, %outer, %inner;
	mov.u32 %c, %ctaid.x;
	mov.u32 %t, %ntid.x;
	mov.u32 %q, %tid.x;
	mad.lo.u32 %c, %c, %t, %q;
	mov.u32 %step, %nctaid.x;
	mul.lo.u32 %step, %step, %t;
	mul.wide.u32 %st, %inner, 4;
COL:
	setp.ge.u32 %pl, %c, %n;
	@%pl bra DONE;
	div.u32 %o, %c, %inner;
	mul.lo.u32 %t, %o, %inner;
	sub.u32 %i, %c, %t;
	mul.lo.u32 %base, %o, %len;
	mad.lo.u32 %base, %base, %inner, %i;
	mul.wide.u32 %a, %base, 4;
	add.u64 %a, %x, %a;
{init('%op', '%acc')}
	mov.f32 %a1, %acc;
	mov.u32 %k, 0;
PAIR:
	add.u32 %t, %k, 1;
	setp.ge.u32 %pl, %t, %len;
	@%pl bra LAST;
	ld.global.nc.f32 %v0, [%a];
	add.u64 %a, %a, %st;
	ld.global.nc.f32 %v1, [%a];
	add.u64 %a, %a, %st;
{combine('%op', '%acc', '%v0', 'p0')}
{combine('%op', '%a1', '%v1', 'p1')}
	add.u32 %k, %k, 2;
	bra.uni PAIR;
LAST:
	setp.ge.u32 %pl, %k, %len;
	@%pl bra STORE;
	ld.global.nc.f32 %v0, [%a];
{combine('%op', '%acc', '%v0', 'l')}
STORE:
{combine('%op', '%acc', '%a1', 'st')}
	mul.rn.f32 %acc, %acc, %scale;
	mul.wide.u32 %a, %c, 4;
	add.u64 %a, %y, %a;
	st.global.f32 [%a], %acc;
	add.u32 %c, %c, %step;
	bra.uni COL;
DONE:
	ret;
}}
"""

argrows = f"""
.visible .entry argmax_rows_f32(.param .u64 p_y, .param .u64 p_x, .param .u32 p_op, .param .u32 p_rows,
	.param .u32 p_len, .param .f32 p_scale)
{{
	.reg .pred %pa, %pb, %pc, %pn, %pe, %pl, %pw;
	.reg .b32 %rows, %len, %row, %tx, %lane, %warp, %j, %bi, %oi, %off;
	.reg .b64 %y, %x, %xr, %a, %sa, %si;
	.reg .f32 %best, %v, %o;
	ld.param.u64 %y, [p_y];
	cvta.to.global.u64 %y, %y;
	ld.param.u64 %x, [p_x];
	cvta.to.global.u64 %x, %x;
	ld.param.u32 %rows, [p_rows];
	ld.param.u32 %len, [p_len];
	mov.u32 %tx, %tid.x;
	and.b32 %lane, %tx, 31;
	shr.u32 %warp, %tx, 5;
	mov.u32 %row, %ctaid.x;
ROW:
	setp.ge.u32 %pl, %row, %rows;
	@%pl bra DONE;
	mul.wide.u32 %xr, %row, %len;
	shl.b64 %xr, %xr, 2;
	add.u64 %xr, %x, %xr;
	mov.f32 %best, 0fFF800000;
	mov.s32 %bi, 2147483647;
	mov.u32 %j, %tx;
SCAN:
	setp.ge.u32 %pl, %j, %len;
	@%pl bra FOLD;
	mul.wide.u32 %a, %j, 4;
	add.u64 %a, %xr, %a;
	ld.global.nc.f32 %v, [%a];
{arg_seq('%best', '%bi', '%v', '%j')}
	add.u32 %j, %j, 256;
	bra.uni SCAN;
FOLD:
"""
for off in [16, 8, 4, 2, 1]:
    argrows += f"\tshfl.sync.down.b32 %o, %best, {off}, 31, -1;\n\tshfl.sync.down.b32 %oi, %bi, {off}, 31, -1;\n{arg_combine('%best', '%bi', '%o', '%oi')}\n"
argrows += f"""	setp.eq.u32 %pw, %lane, 0;
	@!%pw bra SYNC1;
	mov.u64 %sa, red_v;
	mov.u64 %si, red_i;
	mul.wide.u32 %a, %warp, 4;
	add.u64 %sa, %sa, %a;
	add.u64 %si, %si, %a;
	st.shared.f32 [%sa], %best;
	st.shared.s32 [%si], %bi;
SYNC1:
	bar.sync 0;
	setp.ne.u32 %pw, %warp, 0;
	@%pw bra SYNC2;
	mov.f32 %best, 0fFF800000;
	mov.s32 %bi, 2147483647;
	setp.ge.u32 %pl, %lane, 8;
	@%pl bra WARP0;
	mov.u64 %sa, red_v;
	mov.u64 %si, red_i;
	mul.wide.u32 %a, %lane, 4;
	add.u64 %sa, %sa, %a;
	add.u64 %si, %si, %a;
	ld.shared.f32 %best, [%sa];
	ld.shared.s32 %bi, [%si];
WARP0:
"""
for off in [4, 2, 1]:
    argrows += f"\tshfl.sync.down.b32 %o, %best, {off}, 31, -1;\n\tshfl.sync.down.b32 %oi, %bi, {off}, 31, -1;\n{arg_combine('%best', '%bi', '%o', '%oi')}\n"
argrows += """	setp.ne.u32 %pw, %lane, 0;
	@%pw bra SYNC2;
	mul.wide.u32 %a, %row, 4;
	add.u64 %a, %y, %a;
	st.global.s32 [%a], %bi;
SYNC2:
	bar.sync 0;
	mov.u32 %off, %nctaid.x;
	add.u32 %row, %row, %off;
	bra.uni ROW;
DONE:
	ret;
}
"""

argcols = f"""
.visible .entry argmax_cols_f32(.param .u64 p_y, .param .u64 p_x, .param .u32 p_op, .param .u32 p_outer,
	.param .u32 p_len, .param .u32 p_inner, .param .f32 p_scale)
{{
	.reg .pred %pa, %pb, %pc, %pn, %pl;
	.reg .b32 %outer, %len, %inner, %c, %n, %step, %o, %i, %k, %t, %base, %q, %bi;
	.reg .b64 %y, %x, %a, %st;
	.reg .f32 %best, %v;
	ld.param.u64 %y, [p_y];
	cvta.to.global.u64 %y, %y;
	ld.param.u64 %x, [p_x];
	cvta.to.global.u64 %x, %x;
	ld.param.u32 %outer, [p_outer];
	ld.param.u32 %len, [p_len];
	ld.param.u32 %inner, [p_inner];
	mul.lo.u32 %n, %outer, %inner;
	mov.u32 %c, %ctaid.x;
	mov.u32 %t, %ntid.x;
	mov.u32 %q, %tid.x;
	mad.lo.u32 %c, %c, %t, %q;
	mov.u32 %step, %nctaid.x;
	mul.lo.u32 %step, %step, %t;
	mul.wide.u32 %st, %inner, 4;
COL:
	setp.ge.u32 %pl, %c, %n;
	@%pl bra DONE;
	div.u32 %o, %c, %inner;
	mul.lo.u32 %t, %o, %inner;
	sub.u32 %i, %c, %t;
	mul.lo.u32 %base, %o, %len;
	mad.lo.u32 %base, %base, %inner, %i;
	mul.wide.u32 %a, %base, 4;
	add.u64 %a, %x, %a;
	mov.f32 %best, 0fFF800000;
	mov.s32 %bi, 2147483647;
	mov.u32 %k, 0;
SCAN:
	setp.ge.u32 %pl, %k, %len;
	@%pl bra STORE;
	ld.global.nc.f32 %v, [%a];
	add.u64 %a, %a, %st;
{arg_seq('%best', '%bi', '%v', '%k')}
	add.u32 %k, %k, 1;
	bra.uni SCAN;
STORE:
	mul.wide.u32 %a, %c, 4;
	add.u64 %a, %y, %a;
	st.global.s32 [%a], %bi;
	add.u32 %c, %c, %step;
	bra.uni COL;
DONE:
	ret;
}}
"""
open(os.path.join(OUT, 'reduce.ptx'), 'w').write(HEADER + rows + cols + argrows + argcols)
