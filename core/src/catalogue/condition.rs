//! `visible_if` / `required_if`: `||` of `&&` of atoms `mode == x` / `mode != x` (quotes
//! optional, whitespace free). Parsed once; a malformed atom is an error naming it.

use serde::Serialize;

use crate::error::{Error, ErrorCode};

/// One comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionAtom {
    /// `true` for `==`, `false` for `!=`.
    pub equals: bool,
    /// The mode compared with.
    pub mode: String,
}

/// A disjunction of conjunctions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `any(all(atoms))`.
    pub any_of: Vec<Vec<ConditionAtom>>,
}

fn parse_atom(text: &str) -> Result<ConditionAtom, Error> {
    let t = text.trim();
    let (lhs, rhs, equals) = if let Some((l, r)) = t.split_once("==") {
        (l, r, true)
    } else if let Some((l, r)) = t.split_once("!=") {
        (l, r, false)
    } else {
        return Err(bad(text));
    };
    if lhs.trim() != "mode" {
        return Err(bad(text));
    }
    let r = rhs.trim();
    let unquoted = r
        .strip_prefix('\'')
        .and_then(|x| x.strip_suffix('\''))
        .or_else(|| r.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
        .unwrap_or(r);
    if unquoted.is_empty() || unquoted.contains(['\'', '"', '=', '!', '&', '|', ' ']) {
        return Err(bad(text));
    }
    Ok(ConditionAtom {
        equals,
        mode: unquoted.to_owned(),
    })
}

fn bad(atom: &str) -> Error {
    Error::with_detail(
        ErrorCode::ValidationError,
        format!(
            "condition atom {:?} does not parse (expected `mode == x` or `mode != x`)",
            atom.trim()
        ),
    )
    .meta("atom", atom.trim().to_owned())
}

impl Condition {
    /// Parses a condition string.
    pub fn parse(text: &str) -> Result<Condition, Error> {
        if text.trim().is_empty() {
            return Err(bad(text));
        }
        let any_of = text
            .split("||")
            .map(|conj| {
                conj.split("&&")
                    .map(parse_atom)
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Condition { any_of })
    }

    /// Evaluates the condition for `mode`.
    pub fn holds(&self, mode: &str) -> bool {
        self.any_of
            .iter()
            .any(|all| all.iter().all(|a| (a.mode == mode) == a.equals))
    }

    /// Every mode the condition mentions.
    pub fn modes(&self) -> impl Iterator<Item = &str> {
        self.any_of.iter().flatten().map(|a| a.mode.as_str())
    }
}
