//! `inferwarden parity check [ROOT] [--format text|json|sarif|junit|github]`: exit 0 when
//! the sources agree with the catalogue, 1 on drift, 2 on an input error.

use std::path::Path;

use inferwarden::parity::{check_tree, Format};

use super::EXIT_USAGE;

pub fn check(root: &Path, format: &str) -> u8 {
    let Some(format) = Format::parse(format) else {
        eprintln!("error[config_invalid]: unknown format {format}");
        return EXIT_USAGE;
    };
    match check_tree(root) {
        Ok(run) => {
            print!("{}", run.render(format));
            run.report.exit_code()
        }
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            EXIT_USAGE
        }
    }
}
