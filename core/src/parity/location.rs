//! Source locations: a file and a 1-based line and column (in characters), computed from
//! byte offsets with a line index built once per file.

use serde::Serialize;

use crate::catalogue::json_locations::{line_column, line_starts};

/// Where a fact or a finding is, relative to the checked tree's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// File path relative to the root, `/`-separated.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Byte offset -> line and column for one file.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    file: String,
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text` (the content of `file`).
    pub fn new(file: &str, text: &'a str) -> Self {
        LineIndex {
            file: file.to_owned(),
            text,
            starts: line_starts(text),
        }
    }

    /// The location of byte `offset` (clamped to the text).
    pub fn locate(&self, offset: usize) -> Location {
        let (line, column) = line_column(self.text, &self.starts, offset);
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }

    /// The text of 1-based `line` without its newline.
    pub fn line_text(&self, line: u32) -> &'a str {
        let i = (line as usize).saturating_sub(1);
        let Some(start) = self.starts.get(i).copied() else {
            return "";
        };
        let end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}
