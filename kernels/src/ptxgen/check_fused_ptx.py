#!/usr/bin/env python3
"""Runs the fused NN kernels' PTX (softmax, logprobs, crossentropy, layernorm, gelu, adamw, embedding) on the
interpreter in fused_ptxsim.py against NumPy references in F64, on random inputs: odd sizes, rows that start off
a 16-byte boundary (head and tail paths), rows longer than one block, the scalar (vec = 0) paths, several
layer-norm block counts with shared and scratch accumulators, BF16 rows. F32 results within 1e-5 normwise
relative error, BF16 within 1e-2, AdamW and embedding bit for bit against the CPU backend's F32 arithmetic.
A development check for machines without a GPU (a few minutes in full):

    python3 kernels/src/ptxgen/check_fused_ptx.py [--ci] [softmax|logprobs|layernorm|misc|bf16 ...]

--ci runs a subset (each path once) in well under a minute; FusedPtxInterpreterTest runs it in the build.
"""
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fused_ptxsim import *  # noqa: E402,F401

P = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "main", "resources", "org", "rlhf4j", "kernels",
                 "ptx") + os.sep
rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
QUICK = "--ci" in sys.argv  # a subset for the normal build: each path once (head, body, tail, scalar, loops)


def pick(full, quick):
    return quick if QUICK else full


def rel(a, b):
    """Normwise relative error of a against b (absolute when b is ~0); inf when a has a NaN or inf."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if not np.all(np.isfinite(a)):
        return float('inf')
    nb = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (nb if nb > 1e-6 else 1.0)


def threads(cols, cap):
    """One thread per float4 in whole warps, capped low (64) so that long rows loop over the block."""
    v = (cols + 3) // 4
    t = (v + 31) // 32 * 32
    return max(32, min(cap, t))


worst = [0.0]


def check(name, r, tol=1e-5):
    worst[0] = max(worst[0], r)
    if not (r <= tol):
        print('FAIL', name, r)
        sys.exit(1)


def buf(mem, arr, off=0):
    """arr copied to a fresh buffer starting off bytes past a 256-byte boundary."""
    a = mem.alloc(arr.nbytes, offset=off)
    mem.write(a, arr)
    return a


def nanbuf(mem, n, off=0):
    return buf(mem, np.full(n, np.nan, np.float32), off)


def check_softmax():
    mem=Memory()
    sim=Sim(P+'softmax.ptx', mem)
    for cols in pick([1,2,3,5,8,33,130,517,1030], [5,1030]):
      for off in pick([0,4,8,12], [0,12]):
        for vec in [1,0]:
          for log in [0,1]:
            rows=3
            x=rng.standard_normal((rows,cols)).astype(np.float32)
            xa=mem.alloc(x.nbytes, offset=off); ya=mem.alloc(x.nbytes, offset=off)
            mem.write(xa,x); mem.write(ya,np.full(x.shape,np.nan,np.float32))
            nt=threads(cols,64)
            sim.launch('softmax_fwd_f32', rows, nt, [ya,xa,cols,vec,log])
            y=mem.read(ya,np.float32,rows*cols).reshape(rows,cols)
            xd=x.astype(np.float64); m=xd.max(1,keepdims=True); e=np.exp(xd-m); s=e.sum(1,keepdims=True)
            ref=(xd-m)-np.log(s) if log else e/s
            check('softmax fwd cols %d off %d vec %d log %d' % (cols, off, vec, log), rel(y, ref))
            # backward
            dy=rng.standard_normal((rows,cols)).astype(np.float32)
            yf=ref.astype(np.float32)
            dya=mem.alloc(x.nbytes, offset=off); yya=mem.alloc(x.nbytes, offset=off); dxa=mem.alloc(x.nbytes, offset=off)
            mem.write(dya,dy); mem.write(yya,yf); mem.write(dxa,np.full(x.shape,np.nan,np.float32))
            sim.launch('softmax_bwd_f32', rows, nt, [dxa,dya,yya,cols,vec,log])
            dx=mem.read(dxa,np.float32,rows*cols).reshape(rows,cols)
            yd=yf.astype(np.float64); dyd=dy.astype(np.float64)
            if log: refd=dyd-np.exp(yd)*dyd.sum(1,keepdims=True)
            else: refd=yd*(dyd-(dyd*yd).sum(1,keepdims=True))
            check('softmax bwd cols %d off %d vec %d log %d' % (cols, off, vec, log), rel(dx, refd))
    print('softmax ok, worst rel', worst[0], 'instructions', sim.count)


def check_logprobs():
    mem=Memory(); sim=Sim(P+'logprobs.ptx', mem); ce=Sim(P+'crossentropy.ptx', mem)
    for cols in pick([1,3,7,64,257,1029], [7,1029]):
      for off in pick([0,4,12], [4]):
        for vec in [1,0]:
          rows=4; T=0.7
          x=(rng.standard_normal((rows,cols))*2).astype(np.float32)
          tg=rng.integers(0,cols,rows).astype(np.int32)
          bad = cols>3
          if bad: tg[2]=cols  # out of range
          xa=buf(mem,x,off); tga=buf(mem,tg); lpa=nanbuf(mem,rows); lsa=nanbuf(mem,rows)
          nt=threads(cols,64)
          sim.launch('logprobs_fwd_f32', rows, nt, [lpa,lsa,xa,tga,cols,vec,f2b(1/T)])
          lp=mem.read(lpa,np.float32,rows); ls=mem.read(lsa,np.float32,rows)
          z=x.astype(np.float64)/T; m=z.max(1); lse=m+np.log(np.exp(z-m[:,None]).sum(1))
          ok=[r for r in range(rows) if not (bad and r==2)]
          check('lse %d'%cols, rel(ls,lse))
          ref=np.array([z[r,tg[r]]-lse[r] if tg[r]<cols else np.nan for r in range(rows)])
          check('logp %d'%cols, rel(lp[ok],ref[ok]))
          if bad: assert np.isnan(lp[2]), 'bad target must give NaN'
          # backward
          g=rng.standard_normal(rows).astype(np.float32); g[1]=0
          tg2=rng.integers(0,cols,rows).astype(np.int32)
          tga2=buf(mem,tg2); ga=buf(mem,g); lsea=buf(mem,lse.astype(np.float32)); dla=nanbuf(mem,rows*cols,off); xa2=buf(mem,x,off)
          sim.launch('logprobs_bwd_f32', rows, nt, [dla,ga,xa2,tga2,lsea,cols,vec,f2b(1/T),f2b(T)])
          dl=mem.read(dla,np.float32,rows*cols).reshape(rows,cols)
          p=np.exp(z-lse[:,None]); oh=np.zeros_like(p); oh[np.arange(rows),tg2]=1
          refd=g[:,None].astype(np.float64)*(oh-p)/T
          check('dlogits %d'%cols, rel(dl,refd))
          assert np.all(dl[1]==0), 'masked row zeros'
          # cross-entropy
          mask=(rng.random(rows)>0.3).astype(np.float32); mask[0]=1
          tg3=rng.integers(0,cols,rows).astype(np.int32); tg3[3]=-100
          for usemask in [0,1]:
            w=(mask if usemask else np.ones(rows,np.float32))*(tg3!=-100)
            xa3=buf(mem,x,off); tga3=buf(mem,tg3); ma=buf(mem,mask) if usemask else 0
            wlp=nanbuf(mem,rows); wa=nanbuf(mem,rows); la=nanbuf(mem,rows); lossa=nanbuf(mem,1); cnta=nanbuf(mem,1)
            ce.launch('ce_fwd_f32', rows, nt, [wlp,wa,la,xa3,tga3,ma,cols,vec,(-100)&0xffffffff])
            ce.launch('ce_reduce_f32', 1, 64, [lossa,cnta,wlp,wa,rows])
            loss=mem.read(lossa,np.float32,1)[0]; cnt=mem.read(cnta,np.float32,1)[0]
            zz=x.astype(np.float64); mm=zz.max(1); lse1=mm+np.log(np.exp(zz-mm[:,None]).sum(1))
            safe=np.where(tg3==-100,0,tg3)
            logp=zz[np.arange(rows),safe]-lse1
            refloss=-(w*logp).sum()/w.sum()
            check('ce loss %d'%cols, rel([loss],[refloss])); assert cnt==w.sum()
            lsv=mem.read(la,np.float32,rows)
            assert np.all(lsv[w==0]==0)
            gl=buf(mem,np.array([1.7],np.float32)); dxa=nanbuf(mem,rows*cols,off)
            ce.launch('ce_bwd_f32', rows, nt, [dxa,gl,cnta,xa3,tga3,ma,la,cols,vec,(-100)&0xffffffff])
            dx=mem.read(dxa,np.float32,rows*cols).reshape(rows,cols)
            p1=np.exp(zz-lse1[:,None]); oh1=np.zeros_like(p1); oh1[np.arange(rows),safe]=1
            refdx=(1.7*w/w.sum())[:,None]*(p1-oh1)
            check('ce dx %d'%cols, rel(dx,refdx))
            assert np.all(dx[w==0]==0)
    print('logprobs + crossentropy ok, worst', worst[0], 'instructions', sim.count+ce.count)


def check_layernorm():
    mem=Memory(); sim=Sim(P+'layernorm.ptx', mem)
    for cols in pick([1,3,8,36,130,515], [3,36,130]):
      for vec in ([1,0] if cols%4==0 else [0]):
        for hasw in [1,0]:
          rows=7; eps=1e-5
          x=(rng.standard_normal((rows,cols))*2+0.5).astype(np.float32)
          w=rng.standard_normal(cols).astype(np.float32); b=rng.standard_normal(cols).astype(np.float32)
          xa=buf(mem,x); ya=nanbuf(mem,rows*cols); ma=nanbuf(mem,rows); ra=nanbuf(mem,rows)
          wa=buf(mem,w) if hasw else 0; ba=buf(mem,b) if hasw else 0
          nt=threads(cols,64)
          sim.launch('ln_fwd_f32', rows, nt, [ya,ma,ra,xa,wa,ba,cols,vec,f2b(eps)])
          y=mem.read(ya,np.float32,rows*cols).reshape(rows,cols)
          xd=x.astype(np.float64); mu=xd.mean(1); var=((xd-mu[:,None])**2).mean(1); rs=1/np.sqrt(var+eps)
          xh=(xd-mu[:,None])*rs[:,None]
          ref=xh*w+b if hasw else xh
          check('ln y %d'%cols, rel(y,ref)); check('ln mean',rel(mem.read(ma,np.float32,rows),mu)); check('ln rstd',rel(mem.read(ra,np.float32,rows),rs))
          dy=rng.standard_normal((rows,cols)).astype(np.float32)
          mu32=mu.astype(np.float32); rs32=rs.astype(np.float32)
          for want in [1,0]:
            for G in pick([1,3,rows], [3]):
              for shared in ([1,0] if want else [0]):
                dya=buf(mem,dy); xa2=buf(mem,x); mua=buf(mem,mu32); rsa=buf(mem,rs32); dxa=nanbuf(mem,rows*cols)
                pa=nanbuf(mem,G*2*cols) if want else 0
                dwa=nanbuf(mem,cols); dba=nanbuf(mem,cols)
                sim.launch('ln_bwd_f32', G, nt, [dxa,pa,dya,xa2,wa,mua,rsa,rows,cols,vec,want,shared], dyn_shared=8*cols if shared else 0)
                dx=mem.read(dxa,np.float32,rows*cols).reshape(rows,cols)
                m=mu32.astype(np.float64); r=rs32.astype(np.float64); xh=(xd-m[:,None])*r[:,None]
                dxh=dy*w if hasw else dy.astype(np.float64)
                refdx=r[:,None]*(dxh-dxh.mean(1,keepdims=True)-xh*(dxh*xh).mean(1,keepdims=True))
                check('ln dx %d G%d'%(cols,G), rel(dx,refdx))
                if want:
                  sim.launch('ln_bwd_reduce_f32', (cols+31)//32, 32, [dwa,dba,pa,G,cols])
                  dw=mem.read(dwa,np.float32,cols); db=mem.read(dba,np.float32,cols)
                  check('ln dw %d G%d sh%d'%(cols,G,shared), rel(dw,(dy*xh).sum(0))); check('ln db', rel(db,dy.sum(0)))
                  sim.launch('ln_bwd_reduce_f32', (cols+31)//32, 32, [0,dba,pa,G,cols])
    print('layernorm ok, worst', worst[0], 'instructions', sim.count)


def check_misc():
    mem=Memory(); g=Sim(P+'gelu.ptx', mem); ad=Sim(P+'adamw.ptx', mem); em=Sim(P+'embedding.ptx', mem)
    C=0.7978845608028654; K=0.044715
    for n in pick([1,5,64,1000,1027], [5,1027]):
      for vec in [1,0]:
        x=(rng.standard_normal(n)*3).astype(np.float32); x[0]=-12 if n>1 else x[0]
        if n>4: x[1]=40; x[2]=-0.0; x[3]=1e-20
        xa=buf(mem,x); ya=nanbuf(mem,n)
        g.launch('gelu_fwd_f32', 2, 64, [ya,xa,n,vec])
        y=mem.read(ya,np.float32,n); xd=x.astype(np.float64)
        ref=0.5*xd*(1+np.tanh(C*(xd+K*xd**3)))
        check('gelu %d'%n, rel(y,ref))
        dy=rng.standard_normal(n).astype(np.float32); dya=buf(mem,dy); dxa=nanbuf(mem,n)
        g.launch('gelu_bwd_f32', 3, 32, [dxa,dya,xa,n,vec])
        dx=mem.read(dxa,np.float32,n)
        t=np.tanh(C*xd*(1+K*xd*xd)); grad=0.5*(1+t)+0.5*xd*(1-t*t)*C*(1+3*K*xd*xd)
        check('gelu bwd %d'%n, rel(dx,dy*grad))
    # adamw: table of 3 tensors, one misaligned, compare bit for bit with the CPU formula in float32
    f=np.float32
    sizes=[5,1000,37]; ents=[]; arrs=[]
    lr,b1,b2,eps,wd,step=1e-3,0.9,0.999,1e-8,0.01,3
    decay=f(1-lr*wd); ss=f(lr/(1-b1**step)); ib=f(1/math.sqrt(1-b2**step)); c1=f(1-b1); c2=f(1-b2)
    import struct
    table=b''
    for k,n in enumerate(sizes):
        p,gr,m,v=[rng.standard_normal(n).astype(np.float32) for _ in range(4)]; v=np.abs(v)
        off=4 if k==2 else 0
        addrs=[buf(mem,a,off) for a in (p,gr,m,v)]
        arrs.append((addrs,p,gr,m,v))
        CH=16
        for s0 in range(0,n,CH):
            nn=min(CH,n-s0); aa=[a+4*s0 for a in addrs]
            vecf=int(all(a%16==0 for a in aa))
            table+=struct.pack('<QQQQIIQ',*aa,nn,vecf,0)
    ta=mem.alloc(len(table)); mem.buf[ta-GLOBAL_BASE:ta-GLOBAL_BASE+len(table)]=table
    ad.launch('adamw_f32', len(table)//48, 32, [ta,f2b(decay),f2b(b1),f2b(c1),f2b(b2),f2b(c2),f2b(ss),f2b(ib),f2b(eps)])
    # the single-tensor entry on copies of the same tensors: the same bits
    singles=[]
    for addrs,p,gr,m,v in arrs:
        n=len(p); off=addrs[0]%16
        cp=[buf(mem,a,off) for a in (p,gr,m,v)]
        singles.append(cp)
        ad.launch('adamw_one_f32', 2, 32, cp+[n,int(all(a%16==0 for a in cp)),f2b(decay),f2b(b1),f2b(c1),f2b(b2),f2b(c2),f2b(ss),f2b(ib),f2b(eps)])
    for (addrs,p,gr,m,v),cp in zip(arrs,singles):
        n=len(p)
        mi=f(b1)*m+c1*gr; vi=f(b2)*v+c2*(gr*gr)
        den=np.sqrt(vi)*ib+f(eps); pn=p*decay-(ss*mi)/den
        assert np.array_equal(mem.read(addrs[2],np.float32,n),mi), 'm'
        assert np.array_equal(mem.read(addrs[3],np.float32,n),vi), 'v'
        assert np.array_equal(mem.read(addrs[0],np.float32,n),pn), 'p bit for bit'
        for a,ref in zip(cp,(pn,gr,mi,vi)):
            assert np.array_equal(mem.read(a,np.float32,n),ref), 'adamw_one_f32 bit for bit'
    # embedding
    V,Cc,N=11,37,20
    ids=rng.integers(0,V,N).astype(np.int32); ids[:5]=3
    dw=rng.standard_normal((V,Cc)).astype(np.float32); do=rng.standard_normal((N,Cc)).astype(np.float32)
    keys=sorted((int(i),p) for p,i in enumerate(ids))
    order=[p for _,p in keys]; starts=[]; rid=[]
    for j,(i,p) in enumerate(keys):
        if j==0 or keys[j-1][0]!=i: starts.append(j); rid.append(i)
    plan=np.array(order+starts+[N]+rid,np.int32)
    dwa=buf(mem,dw); doa=buf(mem,do); pla=buf(mem,plan)
    em.launch('embedding_bwd_f32', len(rid), 32, [dwa,doa,pla,N,len(rid),Cc])
    ref=dw.copy()
    for n in range(N): ref[ids[n]]+=do[n]   # float32, in increasing n, as the CPU
    assert np.array_equal(mem.read(dwa,np.float32,V*Cc).reshape(V,Cc),ref), 'embedding bit for bit'
    print('gelu, adamw (bitwise), embedding (bitwise) ok, worst', worst[0])


def check_bf16():
    def to_bf16(a):  # f32 -> bf16 bits, nearest even
        b=a.astype(np.float32).view(np.uint32).astype(np.uint64)
        return ((b+0x7fff+((b>>16)&1))>>16).astype(np.uint16)
    def from_bf16(h): return (h.astype(np.uint32)<<16).view(np.float32)
    mem=Memory(); sm=Sim(P+'softmax.ptx', mem); lp=Sim(P+'logprobs.ptx', mem)
    for cols in pick([1,3,9,64,263,1031], [9,1031]):
      for off in pick([0,2,6,14], [6]):
        for vec in [1,0]:
          rows=3
          xh=to_bf16(rng.standard_normal((rows,cols))); x=from_bf16(xh).astype(np.float64)
          nt=threads(cols,64)
          for log in [0,1]:
            xa=buf(mem,xh,off); ya=buf(mem,np.full(rows*cols,0xffff,np.uint16),off)
            sm.launch('softmax_fwd_bf16', rows, nt, [ya,xa,cols,vec,log])
            y=from_bf16(mem.read(ya,np.uint16,rows*cols)).reshape(rows,cols)
            m=x.max(1,keepdims=True); e=np.exp(x-m); s=e.sum(1,keepdims=True)
            ref=(x-m)-np.log(s) if log else e/s
            check('bf16 softmax %d off %d vec %d log %d'%(cols,off,vec,log), rel(y,ref), 1e-2)
          # backward on the bf16 forward output
          dyh=to_bf16(rng.standard_normal((rows,cols))); dyd=from_bf16(dyh).astype(np.float64)
          yh=mem.read(ya,np.uint16,rows*cols); yd=from_bf16(yh).astype(np.float64).reshape(rows,cols)
          dya=buf(mem,dyh,off); yya=buf(mem,yh,off); dxa=buf(mem,np.full(rows*cols,0xffff,np.uint16),off)
          sm.launch('softmax_bwd_bf16', rows, nt, [dxa,dya,yya,cols,vec,log])
          dx=from_bf16(mem.read(dxa,np.uint16,rows*cols)).reshape(rows,cols)
          refd=dyd-np.exp(yd)*dyd.sum(1,keepdims=True) if log else yd*(dyd-(dyd*yd).sum(1,keepdims=True))
          check('bf16 softmax bwd %d off %d vec %d log %d'%(cols,off,vec,log), rel(dx,refd), 1e-2)
          T=0.7; tg=rng.integers(0,cols,rows).astype(np.int32)
          xa=buf(mem,xh,off); tga=buf(mem,tg); lpa=nanbuf(mem,rows); lsa=nanbuf(mem,rows)
          lp.launch('logprobs_fwd_bf16', rows, nt, [lpa,lsa,xa,tga,cols,vec,f2b(1/T)])
          z=x/T; mm=z.max(1); lse=mm+np.log(np.exp(z-mm[:,None]).sum(1))
          check('bf16 lse %d'%cols, rel(mem.read(lsa,np.float32,rows),lse))
          check('bf16 logp %d'%cols, rel(mem.read(lpa,np.float32,rows),z[np.arange(rows),tg]-lse))
          g=rng.standard_normal(rows).astype(np.float32); g[1]=0
          ga=buf(mem,g); lsea=buf(mem,lse.astype(np.float32)); dla=buf(mem,np.full(rows*cols,0xffff,np.uint16),off)
          lp.launch('logprobs_bwd_bf16', rows, nt, [dla,ga,xa,tga,lsea,cols,vec,f2b(1/T),f2b(T)])
          dl=from_bf16(mem.read(dla,np.uint16,rows*cols)).reshape(rows,cols)
          p=np.exp(z-lse[:,None]); oh=np.zeros_like(p); oh[np.arange(rows),tg]=1
          check('bf16 dlogits %d off %d vec %d'%(cols,off,vec), rel(dl,g[:,None]*(oh-p)/T), 1e-2)
          assert np.all(dl[1]==0)
    print('bf16 softmax (fwd, bwd) + logprobs ok, worst', worst[0])


CHECKS = {"softmax": check_softmax, "logprobs": check_logprobs, "layernorm": check_layernorm, "misc": check_misc,
          "bf16": check_bf16}

if __name__ == "__main__":
    for name in [a for a in sys.argv[1:] if a != "--ci"] or list(CHECKS):
        CHECKS[name]()
