//! The fuzz oracles: one function per input boundary, taking arbitrary bytes and panicking
//! only when a property breaks. The cargo-fuzz targets (`tests/fuzz`, nightly) call them
//! under libFuzzer; `tests/rust/fuzz_replay.rs` (stable, in the test command) runs every
//! committed corpus and regression input through the same functions, so a crash found once
//! stays fixed.
//!
//! Each oracle asserts more than "no panic" where the boundary has a checkable property:
//! round trips, input-independent error bodies, a regular-expression model of a grammar, an
//! origin that never moves, and repeatable decisions.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use inferwarden::catalogue::{validate_request, Catalogue, Condition};
use inferwarden::clock::ManualClock;
use inferwarden::config::{to_toml_string, ConfigFormat, PolicyConfig};
use inferwarden::gate::{Decision, Gate, RequestView};
use inferwarden::parity::{
    extract_python, extract_typescript, PythonSource, SourceFacts, TypeScriptSource,
};
use inferwarden::ratelimit::MemoryRateLimiter;
use inferwarden::routing::{
    resolve_target, MemoryRegistry, ProxyRoute, StaticResolver, TargetPolicy, TargetUrl,
    WorkspaceEntry, WorkspaceRegistry, WorkspaceStatus,
};
use inferwarden::secret::REDACTED;
use inferwarden::task_ref::{parse_task_ref, TaskRef};
use inferwarden::ErrorCode;
use serde_json::Value;

mod frame_tensor;
pub use frame_tensor::frame_tensor;

/// An oracle: arbitrary bytes in, a panic only when a property breaks.
pub type Oracle = fn(&[u8]);

/// Every fuzz target: its name (the corpus directory) and its oracle.
pub const TARGETS: [(&str, Oracle); 10] = [
    ("task_ref", task_ref),
    ("gate_decide", gate_decide),
    ("condition", condition),
    ("catalogue_request", catalogue_request),
    ("target_url", target_url),
    ("config", config),
    ("parity_python", parity_python),
    ("parity_typescript", parity_typescript),
    ("audit_checkpoint", audit_checkpoint),
    ("frame_tensor", frame_tensor),
];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The documented task-id grammar as a regular expression (the differential model).
fn task_ref_model() -> &'static regex::Regex {
    static MODEL: OnceLock<regex::Regex> = OnceLock::new();
    MODEL.get_or_init(|| {
        regex::Regex::new(r"\A(?:([a-z0-9-]{3,64})::)?([A-Za-z0-9._~-]{1,128})\z").unwrap()
    })
}

/// `parse_task_ref`: it accepts exactly what the grammar's regular expression accepts (the
/// task part never `.` or `..`), an accepted id round-trips, and a refusal's body depends
/// only on the rule broken (never echoing the input).
pub fn task_ref(data: &[u8]) {
    let input = text(data);
    let model = task_ref_model().captures(&input).filter(|c| {
        let task = &c[2];
        task != "." && task != ".."
    });
    match parse_task_ref(&input) {
        Ok(r) => {
            let c = model.unwrap_or_else(|| panic!("accepted {input:?}, the grammar refuses it"));
            assert_eq!(r.to_public_id(), input, "round trip");
            assert_eq!(r.workspace(), c.get(1).map(|m| m.as_str()));
            assert_eq!(r.task_id(), &c[2]);
            assert_eq!(matches!(r, TaskRef::Remote { .. }), c.get(1).is_some());
        }
        Err(e) => {
            assert!(model.is_none(), "refused {input:?}, the grammar accepts it");
            assert_eq!(e.code(), ErrorCode::ProxyTargetInvalid);
            let meta = e.metadata().expect("a refusal names its rule");
            let rule = meta["rule"].as_str().expect("rule").to_owned();
            assert!(
                meta.keys().all(|k| k == "rule" || k == "position"),
                "{meta:?}"
            );
            if let Some(p) = meta.get("position") {
                assert!(p.as_u64().expect("position") < input.len() as u64);
            }
            // The same rule always gives the same detail: nothing of the input is in it.
            static DETAILS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
            let mut seen = DETAILS.get_or_init(Default::default).lock().unwrap();
            let detail = seen.entry(rule).or_insert_with(|| e.detail().to_owned());
            assert_eq!(detail, e.detail());
        }
    }
}

/// The gate's policy for [`gate_decide`]: the golden vectors' configuration.
fn gate_config() -> &'static PolicyConfig {
    static CONFIG: OnceLock<PolicyConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let doc = crate::load_vectors("gate.json");
        PolicyConfig::from_text_with_env(
            Some(doc["config_toml"].as_str().unwrap()),
            ConfigFormat::Toml,
            &[],
        )
        .unwrap()
    })
}

fn fresh_gate() -> Gate {
    Gate::builder(gate_config().clone())
        .clock(Arc::new(ManualClock::new(1_800_000_000_000)))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap()
}

/// A request from bytes: the first line is `METHOD PATH[?QUERY]`, every further line a
/// header `Name: value`; a line `peer: IP` sets the peer address.
pub fn request_from(data: &[u8]) -> RequestView {
    let input = text(data);
    let mut lines = input.split('\n');
    let first = lines.next().unwrap_or_default();
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut view = RequestView::new(method, path);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        view = view.query_param(k, v);
    }
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        if name == "peer" {
            if let Ok(ip) = value.parse::<IpAddr>() {
                view = view.peer(ip);
            }
            continue;
        }
        view = view.header(name, value);
    }
    view
}

/// `Gate::decide` on an arbitrary request: one decision, repeatable on a fresh gate; a
/// refusal carries one known code whose status it keeps; no header the gate sets carries a
/// credential the request sent.
pub fn gate_decide(data: &[u8]) {
    let view = request_from(data);
    let first = fresh_gate().decide(&view);
    let again = fresh_gate().decide(&view);
    // Equal but for the correlation id a request without one is given.
    let comparable = |d: &Decision| {
        static ID: OnceLock<regex::Regex> = OnceLock::new();
        let id =
            ID.get_or_init(|| regex::Regex::new(r#""correlation_id": String\("[^"]*"\)"#).unwrap());
        id.replace_all(&format!("{d:?}"), "").into_owned()
    };
    assert_eq!(
        comparable(&first),
        comparable(&again),
        "the same request on the same policy"
    );
    check_decision(&first);
    // Leaks: the same request with every credential value replaced by a canary that no
    // policy header or error text can contain by chance (a fuzzed cookie may well equal a
    // piece of a `RateLimit` header; a canary cannot).
    let mut canary_view = view.clone();
    let mut canaries = Vec::new();
    for (i, (name, value)) in canary_view.headers.iter_mut().enumerate() {
        if CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            let canary = format!("ZQXJcanary{i:04}ZQXJ");
            *value = if name.eq_ignore_ascii_case("cookie") {
                format!("gg_session={canary}; gg_admin_session={canary}")
            } else {
                canary.clone()
            };
            canaries.push(canary);
        }
    }
    let leaked = fresh_gate().decide(&canary_view);
    check_decision(&leaked);
    let (body, headers) = match &leaked {
        Decision::Allow { set_headers, .. } | Decision::Preflight { set_headers } => {
            (String::new(), set_headers)
        }
        Decision::Reject { error, set_headers } => (error.to_json().to_string(), set_headers),
    };
    for canary in &canaries {
        assert!(!body.contains(canary), "the refusal echoes a credential");
        assert!(
            headers.iter().all(|(_, v)| !v.contains(canary)),
            "a response header carries a credential"
        );
    }
}

/// Header names whose values are credentials.
const CREDENTIAL_HEADERS: [&str; 5] = [
    "x-api-key",
    "authorization",
    "cookie",
    "x-admin-key",
    "proxy-authorization",
];

/// One decision's own properties: a refusal has a known code and an error status; every
/// header it sets is a valid name without CR/LF in its value.
fn check_decision(decision: &Decision) {
    let headers = match decision {
        Decision::Allow { set_headers, .. } | Decision::Preflight { set_headers } => set_headers,
        Decision::Reject { error, set_headers } => {
            assert!(ErrorCode::from_code(error.code_str()).is_some());
            assert!((400..600).contains(&error.http_status()));
            set_headers
        }
    };
    for (name, value) in headers {
        assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
        assert!(
            !value.contains('\n') && !value.contains('\r'),
            "header injection"
        );
    }
}

/// The catalogue condition language: a parsed condition names its modes, `holds` is
/// defined for any mode, and a refusal is a validation error.
pub fn condition(data: &[u8]) {
    let input = text(data);
    match Condition::parse(&input) {
        Ok(c) => {
            let modes: Vec<String> = c.modes().map(str::to_owned).collect();
            for m in &modes {
                let _ = c.holds(m);
            }
            let _ = c.holds(&input);
            // Parsing is a function of the text.
            let again = Condition::parse(&input).unwrap();
            assert_eq!(again.modes().map(str::to_owned).collect::<Vec<_>>(), modes);
        }
        Err(e) => assert!(
            matches!(
                e.code(),
                ErrorCode::ValidationError | ErrorCode::ConfigInvalid
            ),
            "{e:?}"
        ),
    }
}

fn sample_catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/platform/src/inference_settings.json");
        Catalogue::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// Catalogue load and request validation. First byte even: the rest is a request against
/// the sample catalogue; odd: the rest is a catalogue, checked with an empty request. An
/// accepted request validates again to the same payload; a refusal is a request error.
pub fn catalogue_request(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = text(rest);
    if mode % 2 == 1 {
        if let Ok(c) = Catalogue::from_json(&input) {
            let _ = validate_request(&c, &serde_json::json!({}));
        }
        return;
    }
    let Ok(request) = serde_json::from_str::<Value>(&input) else {
        return;
    };
    match validate_request(sample_catalogue(), &request) {
        Ok(v) => {
            let again = validate_request(sample_catalogue(), &request).unwrap();
            assert_eq!(
                serde_json::to_value(&v).unwrap(),
                serde_json::to_value(&again).unwrap()
            );
        }
        Err(e) => assert!(
            matches!(
                e.code(),
                ErrorCode::ValidationError | ErrorCode::TaskNotFound
            ),
            "{e:?}"
        ),
    }
}

/// `TargetUrl::parse` and registry resolution: an accepted base URL parses again to itself,
/// and every URL the registry resolves from it (for any task id) keeps its origin.
pub fn target_url(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let input = text(rest);
    let (url, task) = input.split_once('\n').unwrap_or((&input, "t1"));
    let policy = TargetPolicy {
        allow_http: flags & 1 != 0,
        allow_ip_literal: flags & 2 != 0,
        host_suffixes: if flags & 4 != 0 {
            vec!["example.run".into()]
        } else {
            Vec::new()
        },
    };
    let Ok(target) = TargetUrl::parse(url, &policy) else {
        return;
    };
    let again =
        TargetUrl::parse(&target.base_url(), &policy).expect("an accepted URL parses again");
    assert_eq!(again, target);
    // Differential: the WHATWG URL parser (the `url` crate, what fetch and browsers follow)
    // reads the same scheme, host and port, and no user-info.
    let theirs = url::Url::parse(url)
        .unwrap_or_else(|e| panic!("{url:?} is accepted, WHATWG URL refuses it: {e}"));
    assert_eq!(theirs.scheme(), target.scheme, "{url:?}");
    let host = theirs.host_str().unwrap_or_default();
    assert_eq!(
        host.trim_start_matches('[').trim_end_matches(']'),
        target.host,
        "{url:?}"
    );
    assert_eq!(
        theirs.port_or_known_default(),
        Some(target.effective_port()),
        "{url:?}"
    );
    assert!(
        theirs.username().is_empty() && theirs.password().is_none(),
        "{url:?}"
    );
    let Ok(entry) =
        WorkspaceEntry::validated("fuzz-ws", url, WorkspaceStatus::Ready, "k", &policy, true)
    else {
        panic!("TargetUrl accepts {url:?} but a registration under the same policy does not");
    };
    let registry = MemoryRegistry::default();
    registry.upsert(entry).unwrap();
    let ip: IpAddr = "93.184.216.34".parse().unwrap();
    let resolver = StaticResolver::default().with(&target.host, &[ip]);
    let id = format!("fuzz-ws::{task}");
    if let Ok(r) = parse_task_ref(&id) {
        if let Ok(resolved) = resolve_target(&registry, &resolver, &r, ProxyRoute::Status) {
            let base = target.base_url();
            assert!(
                resolved.url.starts_with(&base) && resolved.url[base.len()..].starts_with('/'),
                "{} left {base}",
                resolved.url
            );
        }
    }
}

/// Configuration text (TOML when the first byte is even, JSON when odd) with environment
/// overrides from the lines after a `\0`: an accepted configuration renders to TOML that
/// loads back to the same value, or, when it holds secrets (rendered as `[REDACTED]`), whose
/// loading is refused (`config_invalid`): a placeholder never becomes a working key.
pub fn config(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = text(rest);
    let (body, env) = input.split_once('\0').unwrap_or((&input, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (format!("INFERWARDEN_{k}"), v.to_owned()))
        .collect();
    let format = if mode % 2 == 0 {
        ConfigFormat::Toml
    } else {
        ConfigFormat::Json
    };
    match PolicyConfig::from_text_with_env(Some(body), format, &env) {
        Ok(c) => {
            let toml = to_toml_string(&c).expect("an accepted configuration renders");
            match PolicyConfig::from_text_with_env(Some(&toml), ConfigFormat::Toml, &[]) {
                Ok(back) => assert_eq!(back, c, "round trip through TOML"),
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{e:?}");
                    assert!(
                        toml.contains(REDACTED),
                        "a rendering without placeholders is refused: {e:?}"
                    );
                }
            }
        }
        Err(e) => assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{e:?}"),
    }
}

/// Parity extraction from arbitrary Python: no panic, and locations inside the text.
pub fn parity_python(data: &[u8]) {
    let input = text(data);
    let source: PythonSource = serde_json::from_value(serde_json::json!({
        "path": "backend/schemas.py",
        "models": {"GenerateRequest": ["pony", "flux"], "VideoRequest": "phr00t"},
        "constants": {"DEFAULT_STEPS": "pony.parameters.steps.default"},
    }))
    .unwrap();
    let facts = extract_python(&source, &input);
    check_lines(&facts, &input);
}

/// The TypeScript parse limits of the fuzz target and the corpus replay. Inputs are at most
/// 8 KB, which an ordinary parse reads holding well under 256 KiB plus 64 bytes a byte (real
/// files hold about 8 bytes a byte); mutations of the corpus's pathological inputs are
/// stopped at about one execution in a hundred, and each stopped parse keeps its memory, so
/// the budget is small and the count unbounded (the fuzzer runs in fork mode, whose children
/// give the memory back).
pub const FUZZ_PARSE_LIMITS: inferwarden::parity::ParseLimits = inferwarden::parity::ParseLimits {
    memory_base: 256 << 10,
    memory_per_byte: 64,
    max_stopped: usize::MAX,
};

/// Parity extraction from arbitrary TypeScript/TSX: no panic, and locations inside the text.
pub fn parity_typescript(data: &[u8]) {
    let input = text(data);
    let source: TypeScriptSource = serde_json::from_value(serde_json::json!({
        "path": "src/App.tsx",
    }))
    .unwrap();
    let ids: BTreeSet<String> = ["pony", "flux", "phr00t"].map(String::from).into();
    let params: BTreeSet<String> = ["steps", "width", "num_frames"].map(String::from).into();
    let facts = extract_typescript(&source, &input, &ids, &params);
    check_lines(&facts, &input);
    // A refusal for too many stopped parses means the inputs after it were never read.
    assert!(
        !facts
            .errors
            .iter()
            .any(|e| e.message.contains("earlier files were stopped")),
        "TypeScript files are refused: raise ParseLimits::max_stopped"
    );
}

/// Every location in `facts` is inside `text` (1-based line and column).
pub fn check_lines(facts: &SourceFacts, text: &str) {
    let lines: Vec<&str> = text.split('\n').collect();
    let at = facts
        .facts
        .iter()
        .map(|f| &f.at)
        .chain(facts.errors.iter().map(|e| &e.at));
    for loc in at {
        let line = loc.line as usize;
        assert!(
            line >= 1 && line <= lines.len(),
            "{loc} is past line {}",
            lines.len()
        );
        let width = lines[line - 1].chars().count() + 1;
        assert!(
            loc.column >= 1 && loc.column as usize <= width,
            "{loc} is past column {width}"
        );
    }
}

/// Audit checkpoint notes: a parsed checkpoint body renders back to the same body, and the
/// note verifier refuses what it cannot read with a typed error.
pub fn audit_checkpoint(data: &[u8]) {
    let input = text(data);
    if let Ok(c) = inferwarden::audit::Checkpoint::parse_body(&input) {
        let body = c.body();
        let again = inferwarden::audit::Checkpoint::parse_body(&body).expect("its body parses");
        assert_eq!(again.body(), body);
    }
    if let Err(e) = inferwarden::audit::NoteVerifier::parse(&input) {
        assert!(ErrorCode::from_code(e.code_str()).is_some());
    }
}
