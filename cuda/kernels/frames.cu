// Frame post-processing on the GPU: decoded diffusion output in [-1, 1] to u8 frames
// N,T,H,W,C. Same definition as the CPU reference (cuda/src/frames.rs):
//   u8 = round_half_even(clamp((x + 1) / 2, 0, 1) * 255), NaN -> 0
// fmaxf/fminf return the non-NaN operand, so NaN maps to 0; __float2uint_rn rounds half to
// even. Half-precision inputs are decoded from their bit patterns (no CUDA headers needed,
// so NVRTC compiles this without an include path). One thread per output byte.

__device__ __forceinline__ unsigned char iw_to_u8(float x) {
    float unit = fminf(fmaxf((x + 1.0f) * 0.5f, 0.0f), 1.0f);
    return (unsigned char)__float2uint_rn(unit * 255.0f);
}

__device__ __forceinline__ float iw_f16(unsigned short b) {
    unsigned int sign = (unsigned int)(b >> 15) << 31;
    unsigned int exp = (b >> 10) & 0x1f;
    unsigned int man = b & 0x3ff;
    unsigned int f;
    if (exp == 0) {
        if (man == 0) {
            f = sign;
        } else {
            int e = 127 - 15 + 1;
            while ((man & 0x400) == 0) { man <<= 1; e -= 1; }
            f = sign | ((unsigned int)e << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 0x1f) {
        f = sign | 0x7f800000u | (man ? (0x400000u | (man << 13)) : 0u);
    } else {
        f = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    return __uint_as_float(f);
}

__device__ __forceinline__ float iw_bf16(unsigned short b) {
    return __uint_as_float(((unsigned int)b) << 16);
}

// layout: 0 = N,C,T,H,W; 1 = N,T,C,H,W. `out` is N,T,H,W,C.
__device__ __forceinline__ unsigned long long iw_src_index(
    unsigned long long o, int c, int t, int hw, int layout) {
    unsigned long long ci = o % c;
    unsigned long long p = (o / c) % hw;
    unsigned long long f = o / ((unsigned long long)c * hw);
    unsigned long long ti = f % t;
    unsigned long long ni = f / t;
    unsigned long long plane = layout == 0 ? ((ni * c + ci) * t + ti) : ((ni * t + ti) * c + ci);
    return plane * hw + p;
}

extern "C" __global__ void frames_f32_to_u8(const float* in, unsigned char* out, unsigned long long total,
                                            int c, int t, int hw, int layout) {
    unsigned long long o = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o < total) out[o] = iw_to_u8(in[iw_src_index(o, c, t, hw, layout)]);
}

extern "C" __global__ void frames_f16_to_u8(const unsigned short* in, unsigned char* out, unsigned long long total,
                                            int c, int t, int hw, int layout) {
    unsigned long long o = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o < total) out[o] = iw_to_u8(iw_f16(in[iw_src_index(o, c, t, hw, layout)]));
}

extern "C" __global__ void frames_bf16_to_u8(const unsigned short* in, unsigned char* out, unsigned long long total,
                                             int c, int t, int hw, int layout) {
    unsigned long long o = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o < total) out[o] = iw_to_u8(iw_bf16(in[iw_src_index(o, c, t, hw, layout)]));
}
