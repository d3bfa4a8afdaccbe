//! `inferwarden task-ref ID...`: parse each id; exit 1 when any is rejected.

use inferwarden::parse_task_ref;

use super::{EXIT_OK, EXIT_POLICY};

pub fn run(ids: &[String], json: bool) -> u8 {
    let mut rejected = false;
    for id in ids {
        match parse_task_ref(id) {
            Ok(r) => {
                if json {
                    println!("{}", serde_json::json!({"input": id, "ok": r}));
                } else {
                    match r.workspace() {
                        Some(ws) => {
                            println!("{id:?}\tremote workspace={ws} task_id={}", r.task_id())
                        }
                        None => println!("{id:?}\tlocal task_id={}", r.task_id()),
                    }
                }
            }
            Err(e) => {
                rejected = true;
                if json {
                    println!("{}", serde_json::json!({"input": id, "error": e}));
                } else {
                    let rule = e
                        .metadata()
                        .and_then(|m| m.get("rule"))
                        .and_then(|r| r.as_str())
                        .unwrap_or("-");
                    println!("{id:?}\terror {} rule={rule}: {}", e.code_str(), e.detail());
                }
            }
        }
    }
    if rejected {
        EXIT_POLICY
    } else {
        EXIT_OK
    }
}
