//! Where each value of a JSON document starts, by dotted path
//! (`image_models.flux-dev.parameters.steps.max`, array items by index), so every finding
//! can point at `file:line:col` in the catalogue. A small scanner: the document was already
//! validated by serde, so on malformed input it simply stops recording.

use std::collections::HashMap;

/// Byte offsets where each line of `text` starts.
pub(crate) fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0usize];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts
}

/// The 1-based line and column (in characters) of byte `offset`, given [`line_starts`].
pub(crate) fn line_column(text: &str, starts: &[usize], offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let line = starts.partition_point(|s| *s <= offset).max(1);
    let start = starts[line - 1];
    let column = text
        .get(start..offset)
        .map_or(offset - start, |t| t.chars().count())
        + 1;
    let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    (clamp(line), clamp(column))
}

/// Path -> (line, column) of the value's first character, both 1-based, columns in
/// characters.
pub fn value_positions(text: &str) -> HashMap<String, (u32, u32)> {
    let starts = line_starts(text);
    value_offsets(text)
        .into_iter()
        .map(|(path, offset)| (path, line_column(text, &starts, offset)))
        .collect()
}

/// Path -> byte offset of the value's first character.
pub fn value_offsets(text: &str) -> HashMap<String, usize> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
        out: HashMap::new(),
    };
    scanner.value(String::new());
    scanner.out
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    out: HashMap<String, usize>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn value(&mut self, path: String) -> Option<()> {
        self.skip_ws();
        self.out.insert(path.clone(), self.pos);
        match *self.bytes.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                loop {
                    self.skip_ws();
                    match *self.bytes.get(self.pos)? {
                        b'}' => {
                            self.pos += 1;
                            return Some(());
                        }
                        b',' => self.pos += 1,
                        b'"' => {
                            let key = self.string()?;
                            self.skip_ws();
                            if *self.bytes.get(self.pos)? != b':' {
                                return None;
                            }
                            self.pos += 1;
                            self.value(join(&path, &key))?;
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut index = 0usize;
                loop {
                    self.skip_ws();
                    match *self.bytes.get(self.pos)? {
                        b']' => {
                            self.pos += 1;
                            return Some(());
                        }
                        b',' => self.pos += 1,
                        _ => {
                            self.value(join(&path, &index.to_string()))?;
                            index += 1;
                        }
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            _ => {
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// Reads a string starting at `"`, returning its (unescaped enough for keys) content.
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        while let Some(&b) = self.bytes.get(self.pos) {
            self.pos += 1;
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                let raw = std::str::from_utf8(&self.bytes[start..self.pos - 1]).ok()?;
                return Some(
                    serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned()),
                );
            }
        }
        None
    }
}
