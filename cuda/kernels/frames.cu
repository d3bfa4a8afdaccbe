// Frame post-processing on the GPU: decoded diffusion output in [-1, 1] to u8 frames
// N,T,H,W,C. Same definition as the CPU reference (cuda/src/frames.rs):
//   u8 = round_half_even(clamp((x + 1) / 2, 0, 1) * 255), NaN -> 0
// The arithmetic is spelled with explicit round-to-nearest intrinsics (__fadd_rn, __fmul_rn)
// so no contraction can change a result; fmaxf/fminf return the non-NaN operand, so NaN
// maps to 0; __float2uint_rn rounds half to even. f16 is widened by the hardware conversion
// (exact), bf16 by a shift (exact). No CUDA headers are needed, so NVRTC compiles this
// without an include path.
//
// Two kernels per input type:
//   frames_<t>_to_u8  any shape: one thread per pixel of a frame, all channels;
//   frames_<t>_rgb4   C == 3 and H*W divisible by 4: one thread per 4 pixels, vector loads
//                     (16 bytes per plane for f32, 8 for f16/bf16) and three 32-bit stores.
// Grid: x covers the pixels (or pixel quads) of one frame, y walks the N*T frames (strided
// when there are more than gridDim.y). `layout`: 0 = N,C,T,H,W; 1 = N,T,C,H,W.

typedef unsigned char iw_u8;
typedef unsigned short iw_u16;
typedef unsigned int iw_u32;
typedef unsigned long long iw_u64;

__device__ __forceinline__ iw_u32 iw_to_u8(float x) {
    float unit = fminf(fmaxf(__fmul_rn(__fadd_rn(x, 1.0f), 0.5f), 0.0f), 1.0f);
    return __float2uint_rn(__fmul_rn(unit, 255.0f));
}

__device__ __forceinline__ float iw_f16(iw_u16 b) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(b));
    return f;
}

__device__ __forceinline__ float iw_bf16(iw_u16 b) {
    return __uint_as_float(((iw_u32)b) << 16);
}

// Element `i` of the input as f32. KIND: 0 = f32, 1 = f16, 2 = bf16.
template <int KIND>
__device__ __forceinline__ float iw_load(const void* in, iw_u64 i) {
    if (KIND == 0) return ((const float*)in)[i];
    iw_u16 b = ((const iw_u16*)in)[i];
    return KIND == 1 ? iw_f16(b) : iw_bf16(b);
}

// Index (in elements) of the first element of channel plane (ni, ci, ti).
__device__ __forceinline__ iw_u64 iw_plane(iw_u32 ni, iw_u32 ci, iw_u32 ti, iw_u32 c, iw_u32 t,
                                           iw_u32 hw, int layout) {
    iw_u64 plane = layout == 0 ? ((iw_u64)ni * c + ci) * t + ti : ((iw_u64)ni * t + ti) * c + ci;
    return plane * hw;
}

template <int KIND>
__device__ __forceinline__ void iw_frames_any(const void* in, iw_u8* out, iw_u32 frames, iw_u32 c,
                                              iw_u32 t, iw_u32 hw, int layout) {
    iw_u32 p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= hw) return;
    for (iw_u32 f = blockIdx.y; f < frames; f += gridDim.y) {
        iw_u32 ti = f % t;
        iw_u32 ni = f / t;
        iw_u64 o = ((iw_u64)f * hw + p) * c;
        for (iw_u32 ci = 0; ci < c; ++ci) {
            out[o + ci] = (iw_u8)iw_to_u8(iw_load<KIND>(in, iw_plane(ni, ci, ti, c, t, hw, layout) + p));
        }
    }
}

// Four consecutive values of a plane, starting at element `i` (a multiple of 4).
template <int KIND>
__device__ __forceinline__ void iw_load4(const void* in, iw_u64 i, float v[4]) {
    if (KIND == 0) {
        float4 q = *(const float4*)((const float*)in + i);
        v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
    } else {
        uint2 q = *(const uint2*)((const iw_u16*)in + i);
        iw_u16 h[4] = {(iw_u16)(q.x & 0xffff), (iw_u16)(q.x >> 16), (iw_u16)(q.y & 0xffff), (iw_u16)(q.y >> 16)};
        for (int k = 0; k < 4; ++k) v[k] = KIND == 1 ? iw_f16(h[k]) : iw_bf16(h[k]);
    }
}

template <int KIND>
__device__ __forceinline__ void iw_frames_rgb4(const void* in, iw_u32* out, iw_u32 frames, iw_u32 t,
                                               iw_u32 hw, int layout) {
    iw_u32 q = blockIdx.x * blockDim.x + threadIdx.x;
    iw_u32 quads = hw >> 2;
    if (q >= quads) return;
    for (iw_u32 f = blockIdx.y; f < frames; f += gridDim.y) {
        iw_u32 ti = f % t;
        iw_u32 ni = f / t;
        float r[4], g[4], b[4];
        iw_load4<KIND>(in, iw_plane(ni, 0, ti, 3, t, hw, layout) + 4 * q, r);
        iw_load4<KIND>(in, iw_plane(ni, 1, ti, 3, t, hw, layout) + 4 * q, g);
        iw_load4<KIND>(in, iw_plane(ni, 2, ti, 3, t, hw, layout) + 4 * q, b);
        // Bytes r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3, little-endian words.
        iw_u32 w0 = iw_to_u8(r[0]) | iw_to_u8(g[0]) << 8 | iw_to_u8(b[0]) << 16 | iw_to_u8(r[1]) << 24;
        iw_u32 w1 = iw_to_u8(g[1]) | iw_to_u8(b[1]) << 8 | iw_to_u8(r[2]) << 16 | iw_to_u8(g[2]) << 24;
        iw_u32 w2 = iw_to_u8(b[2]) | iw_to_u8(r[3]) << 8 | iw_to_u8(g[3]) << 16 | iw_to_u8(b[3]) << 24;
        iw_u64 o = ((iw_u64)f * quads + q) * 3;
        out[o] = w0;
        out[o + 1] = w1;
        out[o + 2] = w2;
    }
}

extern "C" __global__ void frames_f32_to_u8(const float* in, iw_u8* out, iw_u32 frames, iw_u32 c,
                                            iw_u32 t, iw_u32 hw, int layout) {
    iw_frames_any<0>(in, out, frames, c, t, hw, layout);
}

extern "C" __global__ void frames_f16_to_u8(const iw_u16* in, iw_u8* out, iw_u32 frames, iw_u32 c,
                                            iw_u32 t, iw_u32 hw, int layout) {
    iw_frames_any<1>(in, out, frames, c, t, hw, layout);
}

extern "C" __global__ void frames_bf16_to_u8(const iw_u16* in, iw_u8* out, iw_u32 frames, iw_u32 c,
                                             iw_u32 t, iw_u32 hw, int layout) {
    iw_frames_any<2>(in, out, frames, c, t, hw, layout);
}

extern "C" __global__ void frames_f32_rgb4(const float* in, iw_u32* out, iw_u32 frames, iw_u32 t,
                                           iw_u32 hw, int layout) {
    iw_frames_rgb4<0>(in, out, frames, t, hw, layout);
}

extern "C" __global__ void frames_f16_rgb4(const iw_u16* in, iw_u32* out, iw_u32 frames, iw_u32 t,
                                           iw_u32 hw, int layout) {
    iw_frames_rgb4<1>(in, out, frames, t, hw, layout);
}

extern "C" __global__ void frames_bf16_rgb4(const iw_u16* in, iw_u32* out, iw_u32 frames, iw_u32 t,
                                            iw_u32 hw, int layout) {
    iw_frames_rgb4<2>(in, out, frames, t, hw, layout);
}
