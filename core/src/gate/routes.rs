//! Route classification. Paths are normalised before matching so encodings cannot dodge a
//! class: percent-escapes decoded (an invalid escape is kept literally), ASCII lowercased,
//! repeated `/` collapsed, a trailing `/` removed, dot segments resolved; `HEAD` matches as
//! `GET`. So `/auth/session/`, `/AUTH/session`, `/auth/%73ession` and
//! `/x/../auth/session` are all `POST /auth/session`
//! when posted. `OPTIONS` requests are CORS preflights and never reach authentication.

use crate::config::{GateConfig, RouteClass};
use crate::percent::percent_decode;

/// A compiled route rule.
#[derive(Debug, Clone)]
struct CompiledRule {
    method: Option<String>,
    segments: Vec<Segment>,
    class: RouteClass,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param,
    Rest,
}

/// The compiled route table.
#[derive(Debug, Clone)]
pub struct RouteTable {
    rules: Vec<CompiledRule>,
    default_class: RouteClass,
}

/// A classified request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The class.
    pub class: RouteClass,
    /// The normalised path.
    pub path: String,
    /// The value of the first `{param}` segment, if any (e.g. the task id).
    pub param: Option<String>,
}

/// Whether the path (percent-decoded) has a `.` or `..` segment. Frameworks disagree on
/// such a path: the gate's classification resolves the dot segments (`/admin/../status/x`
/// is a status route), a router that matches the literal path (Starlette) dispatches it to
/// the admin route. No client that normalises its URLs sends one, so the gate refuses it
/// instead of guessing which route the application will run.
pub fn has_dot_segment(path: &str) -> bool {
    percent_decode(path)
        .split(|b| *b == b'/' || *b == b'\\')
        .any(|seg| seg == b"." || seg == b"..")
}

/// Whether `path` is already in normal form: [`normalize_path`] would return it unchanged
/// (it starts with `/`, has no `%`, no upper-case letter, no non-ASCII byte, no empty,
/// `.` or `..` segment and no trailing slash, unless it is `/`). What almost every request
/// path is, so the common case is one pass over its bytes.
fn is_normal_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    if bytes == b"/" {
        return true;
    }
    if bytes.first() != Some(&b'/') || bytes.last() == Some(&b'/') {
        return false;
    }
    if bytes
        .iter()
        .any(|&b| b == b'%' || !b.is_ascii() || b.is_ascii_uppercase())
    {
        return false;
    }
    path[1..]
        .split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Percent-decodes, lowercases, collapses slashes and drops a trailing slash.
pub fn normalize_path(path: &str) -> String {
    if is_normal_path(path) {
        return path.to_owned();
    }
    let text = String::from_utf8_lossy(&percent_decode(path)).to_ascii_lowercase();
    // Dot segments are resolved (RFC 3986 remove_dot_segments) so `/x/../admin` cannot
    // dodge the admin class when a proxy or framework resolves them later.
    let mut segments: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(text.len() + 1);
    for seg in segments {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn normalize_method(method: &str) -> String {
    let m = method.trim().to_ascii_uppercase();
    if m == "HEAD" {
        "GET".to_owned()
    } else {
        m
    }
}

impl RouteTable {
    /// Compiles the configured rules. A malformed pattern is skipped by [`RouteTable::new`]'s
    /// caller only after validation reported it; here it simply never matches.
    pub fn new(config: &GateConfig) -> Self {
        let rules = config
            .routes
            .iter()
            .filter_map(|r| {
                let (method, path) = r.pattern.trim().split_once(' ')?;
                let method = if method == "*" {
                    None
                } else {
                    Some(normalize_method(method))
                };
                let segments = normalize_path(path)
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| match s {
                        "**" => Segment::Rest,
                        s if s.starts_with('{') && s.ends_with('}') => Segment::Param,
                        s => Segment::Literal(s.to_owned()),
                    })
                    .collect();
                Some(CompiledRule {
                    method,
                    segments,
                    class: r.class,
                })
            })
            .collect();
        RouteTable {
            rules,
            default_class: config.default_class,
        }
    }

    /// Classifies a request.
    pub fn classify(&self, method: &str, raw_path: &str) -> RouteMatch {
        let path = normalize_path(raw_path);
        let method = normalize_method(method);
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for rule in &self.rules {
            if rule.method.as_deref().is_some_and(|m| m != method) {
                continue;
            }
            if let Some(param) = match_segments(&rule.segments, &parts) {
                return RouteMatch {
                    class: rule.class,
                    path,
                    param,
                };
            }
        }
        RouteMatch {
            class: self.default_class,
            path,
            param: None,
        }
    }
}

fn match_segments(pattern: &[Segment], parts: &[&str]) -> Option<Option<String>> {
    let mut param = None;
    for (i, seg) in pattern.iter().enumerate() {
        match seg {
            Segment::Rest => return (parts.len() > i).then_some(param),
            Segment::Param => {
                let p = parts.get(i)?;
                if param.is_none() {
                    param = Some((*p).to_owned());
                }
            }
            Segment::Literal(l) => {
                if parts.get(i) != Some(&l.as_str()) {
                    return None;
                }
            }
        }
    }
    (parts.len() == pattern.len()).then_some(param)
}

/// Extracts the raw (not lowercased) `{id}` segment of a media path such as `/results/{id}`,
/// percent-decoded: task ids are case-sensitive, unlike route matching.
pub fn raw_last_segment(raw_path: &str) -> Option<String> {
    let last = raw_path.split('/').rfind(|s| !s.is_empty())?;
    String::from_utf8(percent_decode(last)).ok()
}
