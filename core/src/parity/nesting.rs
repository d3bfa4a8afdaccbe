//! A bound on bracket nesting, checked before a TypeScript/TSX file reaches the parser.
//!
//! oxc 0.146's parser takes time exponential in the depth of unclosed `[` nested between
//! `a<b` comparisons (its speculative type-argument parsing is retried at every level):
//! the fuzzer found 561 bytes that take 1.5 s, and each further 50 bytes multiplies that by
//! about 3.5. Newer oxc releases need a newer Rust than the declared minimum, so the checker
//! refuses such a file instead (a `source_parse_error` finding) and never hands it over.
//! Real sources nest a few dozen levels at most (the adopter's deepest file: 15);
//! [`MAX_NESTING`] leaves a wide margin.
//!
//! The scan counts every bracket outside comments, those in string and template text
//! included (balanced text cancels out), and lexes quotes only so that `//` inside a string
//! is not taken for a comment. A file crafted to nest deeply while its strings close more
//! brackets than they open can still reach the parser: the bound protects against
//! accidental and fuzzed input, not a hostile source tree (parity reads the team's own).

/// The deepest `(`/`[`/`{` nesting a file may have to be parsed.
pub const MAX_NESTING: usize = 128;

/// The byte offset at which the nesting of `(`, `[` and `{` outside comments first
/// exceeds `limit`, if it does.
pub fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\\' if quote.is_some() => i += 1,
            b'\n' if matches!(quote, Some(b'"' | b'\'')) => quote = None,
            q if quote == Some(q) => quote = None,
            b'"' | b'\'' | b'`' if quote.is_none() => quote = Some(c),
            b'/' if quote.is_none() && bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if quote.is_none() && bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}
