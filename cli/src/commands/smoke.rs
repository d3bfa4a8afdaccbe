//! `inferwarden smoke --base-url URL ...`: the live contract smoke runner. Keys come from
//! environment variables named by `--api-key-env` / `--admin-key-env`, never from argv.
//! Exit 0 when no check failed, 1 when one did (under `--release` a skip is a failure),
//! 2 for usage errors.

use inferwarden::smoke::{key_from, run as run_smoke, SmokeOptions};

use super::{EXIT_OK, EXIT_POLICY, EXIT_USAGE};

/// The parsed flags.
pub struct SmokeArgs {
    pub base_url: String,
    pub api_key_env: Option<String>,
    pub admin_key_env: Option<String>,
    pub allowed_origin: Option<String>,
    pub denied_origin: Option<String>,
    pub rate_limit: Option<u32>,
    pub generation: Option<String>,
    pub poll_timeout_s: f64,
    pub release: bool,
    pub format: &'static str,
}

pub fn run(args: SmokeArgs) -> u8 {
    let mut options = match SmokeOptions::new(&args.base_url) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error[{}]: --base-url: {}", e.code_str(), e.detail());
            return EXIT_USAGE;
        }
    };
    options.api_key = key_from(None, args.api_key_env.as_deref());
    options.admin_key = key_from(None, args.admin_key_env.as_deref());
    for (flag, name, value) in [
        ("--api-key-env", &args.api_key_env, &options.api_key),
        ("--admin-key-env", &args.admin_key_env, &options.admin_key),
    ] {
        if let (Some(name), None) = (name, value) {
            eprintln!("{flag}: ${name} is not set; the checks that need it will skip");
        }
    }
    options.allowed_origin = args.allowed_origin;
    options.denied_origin = args.denied_origin;
    options.rate_limit = args.rate_limit;
    options.poll_timeout_s = args.poll_timeout_s;
    options.release = args.release;
    if let Some(g) = args.generation {
        let text = match g.strip_prefix('@') {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("--generation {path}: {e}");
                    return EXIT_USAGE;
                }
            },
            None => g,
        };
        match serde_json::from_str(&text) {
            Ok(v) => options.generation = Some(v),
            Err(e) => {
                eprintln!("--generation is not JSON: {e}");
                return EXIT_USAGE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("no async runtime: {e}");
            return EXIT_USAGE;
        }
    };
    let progress = |line: &str| eprintln!("  ... {line}");
    let report = runtime.block_on(run_smoke(&options, &progress));
    match args.format {
        "json" => println!("{}", report.to_json()),
        "junit" => print!("{}", report.to_junit()),
        _ => print!("{}", report.to_text()),
    }
    if report.exit_code() == 0 {
        EXIT_OK
    } else {
        EXIT_POLICY
    }
}
