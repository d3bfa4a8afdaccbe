//! Frame conversion reference: decoded diffusion output in `[-1, 1]` to `u8`.
//!
//! `u8 = round_half_even(clamp((x + 1) / 2, 0, 1) * 255)`, with NaN mapped to 0. numpy and
//! torch round half to even, so this does too (`f32::round_ties_even`), unlike
//! `f32::round` (half away from zero) or exporters that truncate.

/// Converts one value.
#[inline]
pub fn to_u8(x: f32) -> u8 {
    if x.is_nan() {
        return 0;
    }
    let unit = ((x + 1.0) * 0.5).clamp(0.0, 1.0);
    // In [0, 255] after the clamp, so the cast cannot truncate out of range.
    (unit * 255.0).round_ties_even() as u8
}

/// Converts a slice element-wise into `out` (same length). Returns the count written.
pub fn convert_slice(input: &[f32], out: &mut [u8]) -> usize {
    let n = input.len().min(out.len());
    for (o, x) in out[..n].iter_mut().zip(&input[..n]) {
        *o = to_u8(*x);
    }
    n
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
}
