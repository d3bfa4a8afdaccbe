//! `inferwarden parity check [ROOT] [--format text|json|sarif|junit|github]`: exit 0 when
//! the sources agree with the catalogue, 1 on drift, 2 on an input error; and
//! `inferwarden parity generate [ROOT] [--check]` for the generated mirrors.

use std::path::Path;

use inferwarden::parity::{check_tree_with_progress, generate_tree, Format};

use super::{EXIT_OK, EXIT_POLICY, EXIT_USAGE};

pub fn check(root: &Path, format: &str) -> u8 {
    let Some(format) = Format::parse(format) else {
        eprintln!("error[config_invalid]: unknown format {format}");
        return EXIT_USAGE;
    };
    let bar = crate::progress::Progress::new("checking", "source files");
    let checked = check_tree_with_progress(root, &|done, total, _path| {
        bar.update(done as u64, total as u64)
    });
    bar.finish();
    match checked {
        Ok(run) => {
            // Colour only on a terminal, and never with NO_COLOR set.
            let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none();
            print!("{}", run.render_coloured(format, colour));
            run.report.exit_code()
        }
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            EXIT_USAGE
        }
    }
}

pub fn generate(root: &Path, check: bool) -> u8 {
    match generate_tree(root, !check) {
        Ok(files) => {
            let mut stale = false;
            for f in &files {
                println!("{}: {}", f.path, f.status);
                stale |= matches!(f.status, "stale" | "missing");
            }
            if stale {
                eprintln!("generated mirrors are out of date: run `inferwarden parity generate`");
                EXIT_POLICY
            } else {
                EXIT_OK
            }
        }
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            EXIT_USAGE
        }
    }
}
