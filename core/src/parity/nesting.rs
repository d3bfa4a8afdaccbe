//! A bound on bracket nesting, checked before a TypeScript/TSX file reaches the parser.
//!
//! oxc 0.146's parser takes time exponential in the depth of unclosed `[` nested between
//! `a<b` comparisons (its speculative type-argument parsing is retried at every level):
//! the fuzzer found 561 bytes that take 1.5 s, and each further 50 bytes multiplies that by
//! about 3.5. Newer oxc releases need a newer Rust than the declared minimum, so the checker
//! refuses such a file instead (a `source_parse_error` finding) and never hands it over.
//! Real sources nest a few dozen levels at most; [`MAX_NESTING`] leaves a wide margin.

/// The deepest `(`/`[`/`{` nesting a file may have to be parsed.
pub const MAX_NESTING: usize = 128;

/// The byte offset at which the nesting of `(`, `[` and `{` outside string literals and
/// comments first exceeds `limit`, if it does. A rough lexer (quotes, template literals,
/// `//` and `/* */` comments): good enough for a bound, since a file it misreads is either
/// still shallow or already not valid code.
pub fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            quote @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    // A quote never spans lines, so a stray one ends at the line's end.
                    if quote != b'`' && bytes[i.min(bytes.len() - 1)] == b'\n' {
                        break;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
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
