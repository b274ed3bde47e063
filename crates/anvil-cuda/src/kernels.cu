// Anvil's CUDA kernels, compiled at run time by NVRTC (no headers: fp16/bf16 are converted by
// hand). Multi-tensor kernels walk one chunk of a bucket per block, through a chunk table built
// on the host; each optimizer is an element functor run by one template, for fp32, fp16 and
// bf16 gradients over fp32 master weights. The element math mirrors anvil-kernels' CPU kernels
// operation for operation (compiled without FMA contraction), so both give the same numbers.

struct Chunk { unsigned int tensor; unsigned int start; unsigned int end; };

// An optimizer's element constants (meaning per functor) and per-tensor scalars (a float4).
struct Hyper { float v[12]; };

struct F16 { unsigned short bits; };
struct BF16 { unsigned short bits; };

__device__ __forceinline__ float widen(float x) { return x; }
__device__ __forceinline__ float widen(F16 x) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x.bits)); return f; }
__device__ __forceinline__ float widen(BF16 x) { return __uint_as_float(((unsigned int)x.bits) << 16); }

__device__ __forceinline__ void narrow(float* dst, float f) { *dst = f; }
__device__ __forceinline__ void narrow(F16* dst, float f) { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); dst->bits = h; }
// Round to nearest even, NaN kept quiet (the `half` crate's bf16::from_f32).
__device__ __forceinline__ void narrow(BF16* dst, float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) { dst->bits = (unsigned short)((u >> 16) | 0x0040u); return; }
    u += 0x7fffu + ((u >> 16) & 1u);
    dst->bits = (unsigned short)(u >> 16);
}

__device__ __forceinline__ bool non_finite(float x) { return (__float_as_uint(x) & 0x7f800000u) == 0x7f800000u; }

// torch's lerp: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w).
__device__ __forceinline__ float lerp(float a, float b, float w, float one_minus_w) {
    return fabsf(w) < 0.5f ? a + w * (b - a) : b - (b - a) * one_minus_w;
}
// torch's coupled weight decay grad.add(param, alpha=wd), only when wd != 0 (as torch): without
// decay an inf/NaN weight must not turn the gradient, and the state, into NaN.
__device__ __forceinline__ float decayed(float g, float p, float wd) { return wd != 0.0f ? g + wd * p : g; }
// torch's sign (0 for NaN) and NaN-propagating maximum.
__device__ __forceinline__ float sign_of(float x) { return (float)(x > 0.0f) - (float)(x < 0.0f); }
__device__ __forceinline__ float maximum(float a, float b) { return (a > b || isnan(a)) ? a : b; }

// Threads start at the 32-element (128-byte) boundary at or before the chunk, so a warp's
// loads stay coalesced when a tensor starts at an arbitrary offset in the bucket.
#define FOR_CHUNK(i, c) for (unsigned int i = ((c).start & ~31u) + threadIdx.x; i < (c).end; i += blockDim.x) if (i >= (c).start)

// ---- optimizer element functors: apply(p, g, state values a, b, c, hyper, per-tensor scalars).
// States arrive by reference in the CPU kernel's order; a functor touches only those it keeps.

// h: lr, momentum, dampening, wd, nesterov, sign. s.x: the tensor's first step.
struct SgdOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& buf, float&, float&, const Hyper& h, float4 s) {
        const float lr = h.v[0], momentum = h.v[1], dampening = h.v[2], wd = h.v[3];
        float d = decayed(h.v[5] * g, p, wd);
        if (momentum != 0.0f) {
            const bool first = s.x != 0.0f;
            buf = (first ? 0.0f : momentum) * buf + (first ? 1.0f : 1.0f - dampening) * d;
            d = h.v[4] != 0.0f ? d + momentum * buf : buf;
        }
        p = p - lr * d;
    }
};

// h: decay, coupled_wd, 1-beta1, beta2, 1-beta2, eps, sign, amsgrad. s: step_size, sqrt(bc2).
struct AdamOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& m, float& v, float& vmax, const Hyper& h, float4 s) {
        p = p * h.v[0];
        g = decayed(h.v[6] * g, p, h.v[1]);
        m = m + h.v[2] * (g - m);
        v = v * h.v[3] + h.v[4] * g * g;
        float vv = v;
        if (h.v[7] != 0.0f) { vv = maximum(vmax, v); vmax = vv; }
        const float denom = sqrtf(vv) / s.y + h.v[5];
        p = p - s.x * (m / denom);
    }
};

// h: sign, wd, w, 1-w, beta2, eps. s.x: -lr / bc1.
struct AdamaxOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& m, float& u, float&, const Hyper& h, float4 s) {
        g = decayed(h.v[0] * g, p, h.v[1]);
        m = lerp(m, g, h.v[2], h.v[3]);
        u = maximum(u * h.v[4], fabsf(g) + h.v[5]);
        p = p + s.x * m / u;
    }
};

// h: sign, decay, wd, w, 1-w, beta2, 1-beta2, eps. s: bc2, grad_coef, avg_coef.
struct NAdamOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& m, float& v, float&, const Hyper& h, float4 s) {
        p = p * h.v[1];
        g = decayed(h.v[0] * g, p, h.v[2]);
        m = lerp(m, g, h.v[3], h.v[4]);
        v = v * h.v[5] + h.v[6] * g * g;
        const float denom = sqrtf(v / s.x) + h.v[7];
        p = p + s.y * g / denom;
        p = p + s.z * m / denom;
    }
};

// h: sign, decay, wd, w, 1-w, beta2, 1-beta2, eps, lr. s: bc1, sqrt(bc2), rect, has_rect.
struct RAdamOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& m, float& v, float&, const Hyper& h, float4 s) {
        p = p * h.v[1];
        g = decayed(h.v[0] * g, p, h.v[2]);
        m = lerp(m, g, h.v[3], h.v[4]);
        v = v * h.v[5] + h.v[6] * g * g;
        if (s.w != 0.0f) {
            const float adaptive_lr = s.y / (sqrtf(v) + h.v[7]);
            p = p - m / s.x * h.v[8] * adaptive_lr * s.z;
        } else {
            p = p - m / s.x * h.v[8];
        }
    }
};

// h: sign, wd, eps. s.x: -clr.
struct AdagradOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& sum, float&, float&, const Hyper& h, float4 s) {
        g = decayed(h.v[0] * g, p, h.v[1]);
        sum = sum + g * g;
        p = p + s.x * g / (sqrtf(sum) + h.v[2]);
    }
};

// h: sign, wd, eps, -lr, momentum, alpha, 1-alpha, has_momentum, centered.
// States in the CPU kernel's order: square_avg, [momentum_buffer], [grad_avg].
struct RmsPropOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& sq, float& b, float& c, const Hyper& h, float4) {
        const bool has_momentum = h.v[7] != 0.0f, centered = h.v[8] != 0.0f;
        g = decayed(h.v[0] * g, p, h.v[1]);
        sq = sq * h.v[5] + h.v[6] * g * g;
        float avg;
        if (centered) {
            float& ga = has_momentum ? c : b;
            ga = lerp(ga, g, h.v[6], h.v[5]);
            avg = sqrtf(sq - ga * ga) + h.v[2];
        } else {
            avg = sqrtf(sq) + h.v[2];
        }
        if (has_momentum) {
            b = b * h.v[4] + g / avg;
            p = p + h.v[3] * b;
        } else {
            p = p + h.v[3] * g / avg;
        }
    }
};

// h: sign, wd, eps, -lr, rho, 1-rho.
struct AdadeltaOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& sq, float& acc, float&, const Hyper& h, float4) {
        g = decayed(h.v[0] * g, p, h.v[1]);
        sq = sq * h.v[4] + h.v[5] * g * g;
        const float std_ = sqrtf(sq + h.v[2]);
        const float delta = sqrtf(acc + h.v[2]) / std_ * g;
        acc = acc * h.v[4] + h.v[5] * delta * delta;
        p = p + h.v[3] * delta;
    }
};

// h: sign, wd. s: decay, -eta, mu.
struct AsgdOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& ax, float&, float&, const Hyper& h, float4 s) {
        g = decayed(h.v[0] * g, p, h.v[1]);
        p = p * s.x;
        p = p + s.y * g;
        ax = s.z != 1.0f ? ax + (p - ax) * s.z : p;
    }
};

// h: sign, eta_minus, eta_plus, step_size_min, step_size_max, lr. s.x: the tensor's first step.
struct RpropOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& prev, float& step_size, float&, const Hyper& h, float4 s) {
        g = h.v[0] * g;
        const float agreement = g * prev;
        const float factor = agreement > 0.0f ? h.v[2] : (agreement < 0.0f ? h.v[1] : 1.0f);
        float ss = (s.x != 0.0f ? h.v[5] : step_size) * factor;
        ss = ss < h.v[3] ? h.v[3] : (ss > h.v[4] ? h.v[4] : ss); // NaN stays, as f32::clamp
        step_size = ss;
        if (agreement < 0.0f) g = 0.0f;
        p = p + -sign_of(g) * ss;
        prev = g;
    }
};

// h: sign, decay, -lr, beta1, 1-beta1, w = 1-beta2, 1-w.
struct LionOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& m, float&, float&, const Hyper& h, float4) {
        g = h.v[0] * g;
        p = p * h.v[1];
        p = p + h.v[2] * sign_of(m * h.v[3] + g * h.v[4]);
        m = lerp(m, g, h.v[5], h.v[6]);
    }
};

// LAMB's direction (timm): (m / bc1) / (sqrt(v) / sqrt(bc2) + eps) + wd p.
// h: beta1, beta3, beta2, 1-beta2, eps, wd, -lr, trust_clip. s: bc1, sqrt(bc2).
__device__ __forceinline__ float lamb_direction(float m, float v, float p, const Hyper& h, float4 s) {
    return m / s.x / (sqrtf(v) / s.y + h.v[4]) + h.v[5] * p;
}

__device__ __forceinline__ void lamb_moments(float g, float& m, float& v, const Hyper& h) {
    m = m * h.v[0] + g * h.v[1];
    v = v * h.v[2] + h.v[3] * g * g;
}

// LAMB without weight decay or always_adapt: the trust ratio is 1, one pass.
struct LambOp {
    static __device__ __forceinline__ void apply(float& p, float g, float& m, float& v, float&, const Hyper& h, float4 s) {
        lamb_moments(g, m, v, h);
        p = p + h.v[6] * lamb_direction(m, v, p, h, s);
    }
};

// Four gradients from 4-aligned index 4q, widened.
__device__ __forceinline__ float4 load4(const float* g, unsigned int q) { return reinterpret_cast<const float4*>(g)[q]; }
__device__ __forceinline__ float4 load4(const F16* g, unsigned int q) {
    const uint2 u = reinterpret_cast<const uint2*>(g)[q];
    F16 a{(unsigned short)(u.x & 0xffffu)}, b{(unsigned short)(u.x >> 16)}, c{(unsigned short)(u.y & 0xffffu)}, d{(unsigned short)(u.y >> 16)};
    return make_float4(widen(a), widen(b), widen(c), widen(d));
}
__device__ __forceinline__ float4 load4(const BF16* g, unsigned int q) {
    const uint2 u = reinterpret_cast<const uint2*>(g)[q];
    return make_float4(__uint_as_float(u.x << 16), __uint_as_float(u.x & 0xffff0000u), __uint_as_float(u.y << 16), __uint_as_float(u.y & 0xffff0000u));
}

// One element: loads what this configuration keeps (`ns` states), applies, stores.
template <class Op, class G>
__device__ __forceinline__ void one(float* p, const G* g, float* s0, float* s1, float* s2, int ns, unsigned int i, const Hyper& h, float4 s, float gs) {
    float pi = p[i], a = ns > 0 ? s0[i] : 0.0f, b = ns > 1 ? s1[i] : 0.0f, c = ns > 2 ? s2[i] : 0.0f;
    Op::apply(pi, widen(g[i]) * gs, a, b, c, h, s);
    p[i] = pi;
    if (ns > 0) s0[i] = a;
    if (ns > 1) s1[i] = b;
    if (ns > 2) s2[i] = c;
}

// One chunk per block. The 4-aligned body moves 16-byte vectors per thread (fp16/bf16 gradients
// 8 bytes); the few elements before and after it go one per thread.
template <class Op, class G>
__device__ __forceinline__ void multi(float* __restrict__ p, const G* __restrict__ g, float* __restrict__ s0, float* __restrict__ s1,
                                      float* __restrict__ s2, int ns, const Chunk* __restrict__ chunks, const float4* __restrict__ scalars,
                                      const Hyper& h, float gs) {
    const Chunk c = chunks[blockIdx.x];
    const float4 s = scalars[c.tensor];
    const unsigned int lo = min((c.start + 3u) & ~3u, c.end), hi = max(c.end & ~3u, lo);
    for (unsigned int i = c.start + threadIdx.x; i < lo; i += blockDim.x) one<Op>(p, g, s0, s1, s2, ns, i, h, s, gs);
    for (unsigned int i = hi + threadIdx.x; i < c.end; i += blockDim.x) one<Op>(p, g, s0, s1, s2, ns, i, h, s, gs);
    float4* p4 = reinterpret_cast<float4*>(p);
    float4 *a4 = reinterpret_cast<float4*>(s0), *b4 = reinterpret_cast<float4*>(s1), *c4 = reinterpret_cast<float4*>(s2);
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (unsigned int q = lo / 4 + threadIdx.x; q < hi / 4; q += blockDim.x) {
        float4 pv = p4[q];
        const float4 gv = load4(g, q);
        float4 a = ns > 0 ? a4[q] : zero, b = ns > 1 ? b4[q] : zero, cv = ns > 2 ? c4[q] : zero;
        Op::apply(pv.x, gv.x * gs, a.x, b.x, cv.x, h, s);
        Op::apply(pv.y, gv.y * gs, a.y, b.y, cv.y, h, s);
        Op::apply(pv.z, gv.z * gs, a.z, b.z, cv.z, h, s);
        Op::apply(pv.w, gv.w * gs, a.w, b.w, cv.w, h, s);
        p4[q] = pv;
        if (ns > 0) a4[q] = a;
        if (ns > 1) b4[q] = b;
        if (ns > 2) c4[q] = cv;
    }
}

#define OPTIMIZER(name, Op, G, suffix) \
extern "C" __global__ void name##_##suffix(float* p, const G* g, float* s0, float* s1, float* s2, int ns, \
    const Chunk* chunks, const float4* scalars, Hyper h, float grad_scale) { multi<Op, G>(p, g, s0, s1, s2, ns, chunks, scalars, h, grad_scale); }
#define OPTIMIZER_ALL(name, Op) OPTIMIZER(name, Op, float, f32) OPTIMIZER(name, Op, F16, f16) OPTIMIZER(name, Op, BF16, bf16)

OPTIMIZER_ALL(sgd, SgdOp)
OPTIMIZER_ALL(adam, AdamOp)
OPTIMIZER_ALL(adamax, AdamaxOp)
OPTIMIZER_ALL(nadam, NAdamOp)
OPTIMIZER_ALL(radam, RAdamOp)
OPTIMIZER_ALL(adagrad, AdagradOp)
OPTIMIZER_ALL(rmsprop, RmsPropOp)
OPTIMIZER_ALL(adadelta, AdadeltaOp)
OPTIMIZER_ALL(asgd, AsgdOp)
OPTIMIZER_ALL(rprop, RpropOp)
OPTIMIZER_ALL(lion, LionOp)
OPTIMIZER_ALL(lamb, LambOp)

// ---- block reductions (blockDim.x is a multiple of 32, at most 1024) ----

__device__ __forceinline__ double block_sum(double x) {
    __shared__ double warp_sums[32];
    for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
    const unsigned int lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = x;
    __syncthreads();
    x = threadIdx.x < (blockDim.x >> 5) ? warp_sums[threadIdx.x] : 0.0;
    if (warp == 0) for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
    __syncthreads();
    return x; // valid in thread 0
}

// NaN-propagating max / min.
__device__ __forceinline__ float nan_max(float a, float b) { return (isnan(a) || isnan(b)) ? __int_as_float(0x7fc00000) : fmaxf(a, b); }
__device__ __forceinline__ float nan_min(float a, float b) { return (isnan(a) || isnan(b)) ? __int_as_float(0x7fc00000) : fminf(a, b); }

__device__ __forceinline__ float block_extreme(float x, bool is_max) {
    __shared__ float warp_vals[32];
    for (int o = 16; o > 0; o >>= 1) { const float y = __shfl_down_sync(0xffffffffu, x, o); x = is_max ? nan_max(x, y) : nan_min(x, y); }
    const unsigned int lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    if (lane == 0) warp_vals[warp] = x;
    __syncthreads();
    if (warp == 0) {
        x = threadIdx.x < (blockDim.x >> 5) ? warp_vals[threadIdx.x] : (is_max ? 0.0f : __int_as_float(0x7f800000));
        for (int o = 16; o > 0; o >>= 1) { const float y = __shfl_down_sync(0xffffffffu, x, o); x = is_max ? nan_max(x, y) : nan_min(x, y); }
    }
    __syncthreads();
    return x;
}

// ---- LAMB with a trust ratio: pass 1 updates the moments and writes each chunk's
// (sum p^2, sum u^2); pass 2 folds a tensor's chunks in order and applies the trust ratio. ----

template <class G>
__device__ __forceinline__ void lamb_pass1(const float* __restrict__ p, const G* __restrict__ g, float* m, float* v,
                                           const Chunk* __restrict__ chunks, const float4* __restrict__ scalars, const Hyper& h,
                                           float grad_scale, double* __restrict__ partials) {
    const Chunk c = chunks[blockIdx.x];
    const float4 s = scalars[c.tensor];
    float w2 = 0.0f, u2 = 0.0f;
    FOR_CHUNK(i, c) {
        lamb_moments(widen(g[i]) * grad_scale, m[i], v[i], h);
        const float pi = p[i];
        const float u = lamb_direction(m[i], v[i], pi, h, s);
        w2 += pi * pi;
        u2 += u * u;
    }
    const double tw = block_sum((double)w2);
    const double tu = block_sum((double)u2);
    if (threadIdx.x == 0) { partials[2 * blockIdx.x] = tw; partials[2 * blockIdx.x + 1] = tu; }
}

#define LAMB_PASS1(G, suffix) \
extern "C" __global__ void lamb_moments_##suffix(const float* p, const G* g, float* m, float* v, const Chunk* chunks, \
    const float4* scalars, Hyper h, float grad_scale, double* partials) { lamb_pass1<G>(p, g, m, v, chunks, scalars, h, grad_scale, partials); }
LAMB_PASS1(float, f32)
LAMB_PASS1(F16, f16)
LAMB_PASS1(BF16, bf16)

// tensor_chunks[t] = (first chunk, chunk count) of tensor t.
extern "C" __global__ void lamb_finish(float* __restrict__ p, const float* __restrict__ m, const float* __restrict__ v,
                                       const Chunk* __restrict__ chunks, const float4* __restrict__ scalars, Hyper h,
                                       const double* __restrict__ partials, const uint2* __restrict__ tensor_chunks) {
    const Chunk c = chunks[blockIdx.x];
    const float4 s = scalars[c.tensor];
    const uint2 tc = tensor_chunks[c.tensor];
    double w2 = 0.0, u2 = 0.0;
    for (unsigned int k = tc.x; k < tc.x + tc.y; ++k) { w2 += partials[2 * k]; u2 += partials[2 * k + 1]; }
    const double w_norm = sqrt(w2), u_norm = sqrt(u2);
    double trust = (w_norm > 0.0 && u_norm > 0.0) ? w_norm / u_norm : 1.0;
    if (h.v[7] != 0.0f && trust > 1.0) trust = 1.0;
    const float t = (float)trust;
    FOR_CHUNK(i, c) {
        const float pi = p[i];
        p[i] = pi + h.v[6] * (lamb_direction(m[i], v[i], pi, h, s) * t);
    }
}

// ---- gradient norms (clip_grad_norm_, the AMP check): stage 1 writes one partial per chunk ----
// mode: 0 = sum x^2, 1 = sum |x|, 2 = max |x|, 3 = min |x|, 4 = count x != 0, 5 = sum |x|^p.
// x = value_scale * g, rounded to f32; `flags[chunk]` is 1 when a raw gradient is inf or NaN.

template <class G>
__device__ __forceinline__ void norm_partial(const G* __restrict__ g, const Chunk* __restrict__ chunks, int mode, float p,
                                             float value_scale, double* __restrict__ partials, unsigned int* __restrict__ flags) {
    const Chunk c = chunks[blockIdx.x];
    float acc = mode == 3 ? __int_as_float(0x7f800000) : 0.0f;
    unsigned int bad = 0;
    FOR_CHUNK(i, c) {
        const float raw = widen(g[i]);
        bad |= (unsigned int)non_finite(raw);
        const float x = fabsf(raw * value_scale);
        switch (mode) {
            case 0: acc += x * x; break;
            case 1: acc += x; break;
            case 2: acc = nan_max(acc, x); break;
            case 3: acc = nan_min(acc, x); break;
            case 4: acc += (float)(x != 0.0f); break;
            default: acc += powf(x, p); break;
        }
    }
    double total;
    if (mode == 2 || mode == 3) total = (double)block_extreme(acc, mode == 2);
    else total = block_sum((double)acc);
    const unsigned int any_bad = __syncthreads_or(bad);
    if (threadIdx.x == 0) { partials[blockIdx.x] = total; flags[blockIdx.x] = any_bad; }
}

#define NORM_PARTIAL(G, suffix) \
extern "C" __global__ void norm_partial_##suffix(const G* g, const Chunk* chunks, int mode, float p, float value_scale, \
    double* partials, unsigned int* flags) { norm_partial<G>(g, chunks, mode, p, value_scale, partials, flags); }
NORM_PARTIAL(float, f32)
NORM_PARTIAL(F16, f16)
NORM_PARTIAL(BF16, bf16)

// Stage 2, one block: folds the partials in a fixed order (bit-stable) into out[0], and the
// flags into out[1]. Modes 0, 1, 5 sum; 2 and 3 take the NaN-propagating max / min.
extern "C" __global__ void norm_reduce(const double* __restrict__ partials, const unsigned int* __restrict__ flags,
                                       unsigned int n, int mode, double* __restrict__ out) {
    const bool extreme = mode == 2 || mode == 3;
    double acc = mode == 3 ? __longlong_as_double(0x7ff0000000000000ll) : 0.0;
    unsigned int bad = 0;
    for (unsigned int k = threadIdx.x; k < n; k += blockDim.x) {
        const double x = partials[k];
        bad |= flags[k];
        if (!extreme) acc += x;
        else if (isnan(acc) || isnan(x)) acc = __longlong_as_double(0x7ff8000000000000ll);
        else acc = mode == 2 ? fmax(acc, x) : fmin(acc, x);
    }
    double total;
    if (extreme) total = (double)block_extreme((float)acc, mode == 2); // partials are f32 values
    else total = block_sum(acc);
    const unsigned int any_bad = __syncthreads_or(bad);
    if (threadIdx.x == 0) { out[0] = total; out[1] = (double)any_bad; }
}

// ---- in-place gradient passes: scale (clip coefficient), clamp (clip_grad_value), unscale ----

template <class G>
__device__ __forceinline__ void scale_pass(G* __restrict__ g, const Chunk* __restrict__ chunks, float factor) {
    const Chunk c = chunks[blockIdx.x];
    FOR_CHUNK(i, c) narrow(&g[i], widen(g[i]) * factor);
}

template <class G>
__device__ __forceinline__ void clamp_pass(G* __restrict__ g, const Chunk* __restrict__ chunks, float lo, float hi) {
    const Chunk c = chunks[blockIdx.x];
    FOR_CHUNK(i, c) {
        const float x = widen(g[i]);
        const float y = x < lo ? lo : x; // clamp_min then clamp_max; NaN stays
        narrow(&g[i], y > hi ? hi : y);
    }
}

// torch's _amp_foreach_non_finite_check_and_unscale_: checks the raw value, then multiplies.
template <class G>
__device__ __forceinline__ void unscale_pass(G* __restrict__ g, const Chunk* __restrict__ chunks, float inv_scale, unsigned int* __restrict__ found) {
    const Chunk c = chunks[blockIdx.x];
    unsigned int bad = 0;
    FOR_CHUNK(i, c) {
        const float x = widen(g[i]);
        bad |= (unsigned int)non_finite(x);
        if (inv_scale != 1.0f) narrow(&g[i], x * inv_scale);
    }
    if (__syncthreads_or(bad) && threadIdx.x == 0) atomicOr(found, 1u);
}

#define GRAD_PASSES(G, suffix) \
extern "C" __global__ void scale_##suffix(G* g, const Chunk* chunks, float factor) { scale_pass<G>(g, chunks, factor); } \
extern "C" __global__ void clamp_##suffix(G* g, const Chunk* chunks, float lo, float hi) { clamp_pass<G>(g, chunks, lo, hi); } \
extern "C" __global__ void unscale_##suffix(G* g, const Chunk* chunks, float inv_scale, unsigned int* found) { unscale_pass<G>(g, chunks, inv_scale, found); }
GRAD_PASSES(float, f32)
GRAD_PASSES(F16, f16)
GRAD_PASSES(BF16, bf16)

// ---- averaged models (MMEngine's EMA: torch's lerp_; SWA: add_(src - avg, alpha)) ----

extern "C" __global__ void ema_lerp(float* __restrict__ avg, const float* __restrict__ src, unsigned long long n, float w) {
    const float one_minus_w = 1.0f - w;
    for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n; i += (unsigned long long)gridDim.x * blockDim.x)
        avg[i] = lerp(avg[i], src[i], w, one_minus_w);
}

extern "C" __global__ void ema_add_difference(float* __restrict__ avg, const float* __restrict__ src, unsigned long long n, float alpha) {
    for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n; i += (unsigned long long)gridDim.x * blockDim.x)
        avg[i] = avg[i] + alpha * (src[i] - avg[i]);
}
