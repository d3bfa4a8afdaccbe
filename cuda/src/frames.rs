//! Frame post-processing, CPU path: decoded diffusion output in `[-1, 1]` (f32, f16 or bf16;
//! layout `N,C,T,H,W` or `N,T,C,H,W`) to `u8` frames `N,T,H,W,C`.
//!
//! `u8 = round_half_even(clamp((x + 1) / 2, 0, 1) * 255)`, NaN -> 0. numpy and torch round
//! half to even, so this does too (`f32::round_ties_even`), unlike `f32::round` (half away
//! from zero) or exporters that truncate; the choice is part of the contract. The work is
//! split by output frame across threads; inner loops allocate nothing.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Converts one value. Branch-free: `max`/`min` map NaN to 0 (unlike `clamp`, which
/// propagates it), and adding then subtracting 1.5 * 2^23 rounds half to even in the default
/// floating-point mode without a libm call, so the loop vectorises.
#[inline(always)]
#[allow(clippy::manual_clamp)]
pub fn to_u8(x: f32) -> u8 {
    const MAGIC: f32 = 12_582_912.0;
    let unit = ((x + 1.0) * 0.5).max(0.0).min(1.0);
    ((unit * 255.0 + MAGIC) - MAGIC) as u8
}

/// Converts a slice element-wise into `out` (same length). Returns the count written.
pub fn convert_slice(input: &[f32], out: &mut [u8]) -> usize {
    let n = input.len().min(out.len());
    for (o, x) in out[..n].iter_mut().zip(&input[..n]) {
        *o = to_u8(*x);
    }
    n
}

/// Input memory layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// `N, C, T, H, W` (diffusers video latents decoded).
    Ncthw,
    /// `N, T, C, H, W`.
    Ntchw,
}

/// Input element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
}

/// A shape error (the bindings map it to `validation_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

/// `N, C, T, H, W` sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Batch.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Frames.
    pub t: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl Dims {
    /// Element count; `None` when it overflows. A tensor with a zero dimension has no
    /// elements whatever its other dimensions (so the count does not depend on the order
    /// the dimensions are multiplied in, as the DLPack plan's byte count does not).
    pub fn len(&self) -> Option<usize> {
        if self.is_empty() {
            return Some(0);
        }
        self.n
            .checked_mul(self.c)?
            .checked_mul(self.t)?
            .checked_mul(self.h)?
            .checked_mul(self.w)
    }

    /// Whether any dimension is zero.
    pub fn is_empty(&self) -> bool {
        [self.n, self.c, self.t, self.h, self.w].contains(&0)
    }
}

#[inline(always)]
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let man = u32::from(bits & 0x3ff);
    let f = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut m = m;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(f)
}

#[inline(always)]
fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// A 65,536-entry table from 16-bit float bits to the output byte (f16 or bf16): the whole
/// conversion of a half-precision element is one load.
type HalfTable = OnceLock<Box<[u8; 65536]>>;

fn half_table(dtype: DType) -> &'static [u8; 65536] {
    static F16: HalfTable = OnceLock::new();
    static BF16: HalfTable = OnceLock::new();
    let (cell, decode): (&HalfTable, fn(u16) -> f32) = match dtype {
        DType::Bf16 => (&BF16, bf16_to_f32),
        _ => (&F16, f16_to_f32),
    };
    cell.get_or_init(|| {
        let mut t = Box::new([0u8; 65536]);
        for (bits, o) in t.iter_mut().enumerate() {
            *o = to_u8(decode(bits as u16));
        }
        t
    })
}

/// Converts one channel plane (raw little-endian bytes) into every `c`-th byte of `frame`
/// starting at `ci`.
fn convert_plane(plane: &[u8], dtype: DType, frame: &mut [u8], ci: usize, c: usize) {
    let out = frame.iter_mut().skip(ci).step_by(c);
    match dtype {
        DType::F32 => {
            for (o, b) in out.zip(plane.chunks_exact(4)) {
                *o = to_u8(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
        }
        DType::F16 | DType::Bf16 => {
            let table = half_table(dtype);
            for (o, b) in out.zip(plane.chunks_exact(2)) {
                *o = table[usize::from(u16::from_le_bytes([b[0], b[1]]))];
            }
        }
    }
}

/// Three planes at once into interleaved RGB (the common case): contiguous writes.
fn convert_rgb(planes: [&[u8]; 3], dtype: DType, frame: &mut [u8]) {
    match dtype {
        DType::F32 => {
            let [r, g, b] = planes.map(|p| p.chunks_exact(4));
            let load = |x: &[u8]| to_u8(f32::from_le_bytes([x[0], x[1], x[2], x[3]]));
            for (((o, r), g), b) in frame.chunks_exact_mut(3).zip(r).zip(g).zip(b) {
                o[0] = load(r);
                o[1] = load(g);
                o[2] = load(b);
            }
        }
        DType::F16 | DType::Bf16 => {
            let table = half_table(dtype);
            let [r, g, b] = planes.map(|p| p.chunks_exact(2));
            let load = |x: &[u8]| table[usize::from(u16::from_le_bytes([x[0], x[1]]))];
            for (((o, r), g), b) in frame.chunks_exact_mut(3).zip(r).zip(g).zip(b) {
                o[0] = load(r);
                o[1] = load(g);
                o[2] = load(b);
            }
        }
    }
}

/// Bytes per input element.
pub fn element_size(dtype: DType) -> usize {
    match dtype {
        DType::F32 => 4,
        DType::F16 | DType::Bf16 => 2,
    }
}

/// Converts a whole tensor given as raw little-endian bytes. `out` receives `N,T,H,W,C`.
/// `threads` = 0 uses the available parallelism.
pub fn convert_frames(
    bytes: &[u8],
    dtype: DType,
    layout: Layout,
    dims: Dims,
    out: &mut [u8],
    threads: usize,
) -> Result<(), ShapeError> {
    let len = dims
        .len()
        .ok_or_else(|| ShapeError("shape overflows".into()))?;
    if bytes.len() != len * element_size(dtype) {
        return Err(ShapeError(format!(
            "expected {} bytes for the shape, got {}",
            len * element_size(dtype),
            bytes.len()
        )));
    }
    if out.len() != len {
        return Err(ShapeError(format!(
            "output must hold {len} bytes, got {}",
            out.len()
        )));
    }
    if len == 0 {
        return Ok(());
    }
    let Dims { c, t, h, w, .. } = dims;
    let hw = h * w;
    let es = element_size(dtype);
    let frame_out = hw * c;
    // Start offset (in elements) of channel plane (n, c, t).
    let plane_start = move |ni: usize, ci: usize, ti: usize| -> usize {
        match layout {
            Layout::Ncthw => ((ni * c + ci) * t + ti) * hw,
            Layout::Ntchw => ((ni * t + ti) * c + ci) * hw,
        }
    };
    let plane = move |ni: usize, ci: usize, ti: usize| -> &[u8] {
        let start = plane_start(ni, ci, ti) * es;
        &bytes[start..start + hw * es]
    };
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |p| p.get())
    } else {
        threads
    };
    // Split every frame into row bands so even a single frame uses every thread.
    let rows_per_band = h.div_ceil(threads.max(1)).max(1);
    let band_out = rows_per_band * w * c;
    std::thread::scope(|s| {
        for (f, frame) in out.chunks_mut(frame_out).enumerate() {
            let (ni, ti) = (f / t, f % t);
            for (band_i, band) in frame.chunks_mut(band_out).enumerate() {
                let px0 = band_i * rows_per_band * w;
                let px = band.len() / c;
                let sub = move |ci: usize| &plane(ni, ci, ti)[px0 * es..(px0 + px) * es];
                s.spawn(move || {
                    if c == 3 {
                        convert_rgb([sub(0), sub(1), sub(2)], dtype, band);
                    } else {
                        for ci in 0..c {
                            convert_plane(sub(ci), dtype, band, ci, c);
                        }
                    }
                });
            }
        }
    });
    Ok(())
}

impl Dims {
    /// Reads `N, C, T, H, W` from a 5-D shape in `layout` order.
    pub fn from_shape(shape: &[usize], layout: Layout) -> Result<Dims, ShapeError> {
        let [a, b, cc, d, e] = <[usize; 5]>::try_from(shape).map_err(|_| {
            ShapeError(format!(
                "expected a 5-D tensor, got {} dimensions",
                shape.len()
            ))
        })?;
        Ok(match layout {
            Layout::Ncthw => Dims {
                n: a,
                c: b,
                t: cc,
                h: d,
                w: e,
            },
            Layout::Ntchw => Dims {
                n: a,
                t: b,
                c: cc,
                h: d,
                w: e,
            },
        })
    }

    /// The output shape `N, T, H, W, C`.
    pub fn output_shape(&self) -> [usize; 5] {
        [self.n, self.t, self.h, self.w, self.c]
    }
}

impl Layout {
    /// Parses `NCTHW` / `NTCHW` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Layout> {
        match name.to_ascii_uppercase().as_str() {
            "NCTHW" => Some(Layout::Ncthw),
            "NTCHW" => Some(Layout::Ntchw),
            _ => None,
        }
    }
}

impl DType {
    /// Parses `f32`/`float32`, `f16`/`float16`, `bf16`/`bfloat16`.
    pub fn from_name(name: &str) -> Option<DType> {
        match name.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Some(DType::F32),
            "f16" | "float16" => Some(DType::F16),
            "bf16" | "bfloat16" => Some(DType::Bf16),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges() {
        assert_eq!(to_u8(-1.0), 0);
        assert_eq!(to_u8(1.0), 255);
        assert_eq!(to_u8(1.1), 255);
        assert_eq!(to_u8(-1.1), 0);
        assert_eq!(to_u8(f32::NAN), 0);
        assert_eq!(to_u8(f32::INFINITY), 255);
        assert_eq!(to_u8(f32::NEG_INFINITY), 0);
        assert_eq!(to_u8(0.0), 128); // 127.5 rounds half to even -> 128
    }

    #[test]
    fn slice() {
        let mut out = [9u8; 3];
        assert_eq!(convert_slice(&[-1.0, 0.0, 1.0], &mut out), 3);
        assert_eq!(out, [0, 128, 255]);
    }

    #[test]
    fn half_conversions_match_known_values() {
        for (bits, v) in [
            (0x3c00u16, 1.0f32),
            (0xbc00, -1.0),
            (0x3800, 0.5),
            (0x0000, 0.0),
            (0x7bff, 65504.0),
            (0x0001, 5.960_464_5e-8),
        ] {
            assert_eq!(f16_to_f32(bits), v, "{bits:#x}");
        }
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xbf80), -1.0);
    }

    fn reference(input: &[f32], layout: Layout, d: Dims) -> Vec<u8> {
        let mut out = vec![0u8; input.len()];
        for ni in 0..d.n {
            for ti in 0..d.t {
                for p in 0..d.h * d.w {
                    for ci in 0..d.c {
                        let i = match layout {
                            Layout::Ncthw => (((ni * d.c + ci) * d.t + ti) * d.h * d.w) + p,
                            Layout::Ntchw => (((ni * d.t + ti) * d.c + ci) * d.h * d.w) + p,
                        };
                        out[((ni * d.t + ti) * d.h * d.w + p) * d.c + ci] = to_u8(input[i]);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn layouts_and_threads_match_the_scalar_reference_on_odd_sizes() {
        let d = Dims {
            n: 2,
            c: 3,
            t: 5,
            h: 7,
            w: 3,
        };
        let len = d.len().unwrap();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let input: Vec<f32> = (0..len)
            .map(|i| match i % 11 {
                0 => f32::NAN,
                1 => 1.0,
                2 => -1.0,
                3 => 1.1,
                _ => {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 20_000) as f32 / 10_000.0 - 1.0
                }
            })
            .collect();
        let bytes: Vec<u8> = input.iter().flat_map(|x| x.to_le_bytes()).collect();
        for layout in [Layout::Ncthw, Layout::Ntchw] {
            let want = reference(&input, layout, d);
            for threads in [1, 2, 3, 16] {
                let mut out = vec![0u8; len];
                convert_frames(&bytes, DType::F32, layout, d, &mut out, threads).unwrap();
                assert_eq!(out, want, "{layout:?} threads={threads}");
            }
        }
        let mut out = vec![0u8; len - 1];
        assert!(convert_frames(&bytes, DType::F32, Layout::Ncthw, d, &mut out, 1).is_err());
    }

    #[test]
    fn half_precision_tables_match_the_scalar_definition() {
        let d = Dims {
            n: 1,
            c: 4,
            t: 2,
            h: 3,
            w: 5,
        };
        let len = d.len().unwrap();
        let bits: Vec<u16> = (0..len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 16) as u16)
            .collect();
        let bytes: Vec<u8> = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
        for (dtype, decode) in [
            (DType::F16, f16_to_f32 as fn(u16) -> f32),
            (DType::Bf16, bf16_to_f32),
        ] {
            let input: Vec<f32> = bits.iter().map(|b| decode(*b)).collect();
            let want = reference(&input, Layout::Ntchw, d);
            let mut out = vec![0u8; len];
            convert_frames(&bytes, dtype, Layout::Ntchw, d, &mut out, 2).unwrap();
            assert_eq!(out, want, "{dtype:?}");
        }
    }

    #[test]
    fn rounding_is_half_to_even_for_every_representable_midpoint() {
        // Every f32 x in [-1, 1] whose scaled value is within a hair of a .5 boundary.
        for k in 0..255u32 {
            let mid = k as f32 + 0.5;
            let x = mid / 255.0 * 2.0 - 1.0;
            let unit = ((x + 1.0) * 0.5).clamp(0.0, 1.0) * 255.0;
            assert_eq!(to_u8(x), unit.round_ties_even() as u8, "k={k}");
        }
    }
}
