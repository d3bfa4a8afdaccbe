//! `inferwarden errors`: the error contract as a table or JSON.

use inferwarden::list_all_errors;

use super::EXIT_OK;

pub fn run(json: bool) -> u8 {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(list_all_errors()).unwrap_or_default()
        );
    } else {
        for spec in list_all_errors() {
            println!(
                "{:<24} {}  {:<13} {}",
                spec.code,
                spec.http_status,
                spec.family.as_str(),
                spec.user_action
            );
        }
    }
    EXIT_OK
}
