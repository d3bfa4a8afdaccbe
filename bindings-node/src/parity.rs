//! `parityCheck(root, format?)` and `parityGenerate(root, check?)`: the catalogue parity
//! check and the generated mirrors, for build tooling (`parity.js`, the bin, the Vite plugin).

use std::path::Path;

use inferwarden::error::to_json_value;
use inferwarden::parity::{check_tree, generate_tree, Format};
use inferwarden::{Error, ErrorCode};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::guard;

/// Checks the platform tree at `root` (its `parity.toml`): `{ schema_version, catalogue,
/// sources, facts_checked, findings, exit_code, rendered }` with `rendered` in `format`
/// (`text`, `json`, `sarif`, `junit`, `github`). Throws `config_invalid` for a bad
/// `parity.toml`, catalogue or format.
#[napi]
pub fn parity_check(
    env: Env,
    root: String,
    format: Option<String>,
) -> napi::Result<serde_json::Value> {
    guard(&env, || {
        let name = format.as_deref().unwrap_or("text");
        let format = Format::parse(name).ok_or_else(|| {
            Error::with_detail(ErrorCode::ConfigInvalid, format!("unknown format {name}"))
        })?;
        let run = check_tree(Path::new(&root))?;
        let mut value = to_json_value(&run.report)?;
        value["exit_code"] = run.report.exit_code().into();
        value["rendered"] = run.render(format).into();
        Ok(value)
    })
}

/// Generates the mirrors named in `parity.toml` `[generate]` (nothing is written when
/// `check`): `[{ path, status }]`, status `up_to_date`, `stale`, `missing` or `written`.
#[napi]
pub fn parity_generate(
    env: Env,
    root: String,
    check: Option<bool>,
) -> napi::Result<serde_json::Value> {
    guard(&env, || {
        let files = generate_tree(Path::new(&root), !check.unwrap_or(false))?;
        to_json_value(&files)
    })
}
