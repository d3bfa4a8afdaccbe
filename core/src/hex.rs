//! Lower-case hexadecimal text of bytes: session token ids, sweep ids and audit hashes all
//! use this one encoder.

/// Lower-case hex of `bytes` (two digits per byte).
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}
