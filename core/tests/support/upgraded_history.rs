//! What an upgraded database must still do on either store, checked the same way for
//! SQLite and PostgreSQL: task `old`'s history (created, claimed, completed, written by
//! the older schema) reads back in order, a second terminal transition row is refused as
//! `invalid_transition`, and any number of other rows are still accepted.

use inferwarden::lifecycle::TaskStore;
use inferwarden::{Error, ErrorCode};

/// `raw` runs one SQL statement on the store's connection (its `execute_raw`).
pub fn assert_history_kept_and_one_terminal_row(
    store: &dyn TaskStore,
    raw: impl Fn(&str) -> Result<(), Error>,
) {
    let history: Vec<_> = store
        .transitions("old")
        .unwrap()
        .into_iter()
        .map(|t| t.reason)
        .collect();
    assert_eq!(history, ["created", "claimed", "completed"]);
    assert_eq!(
        raw("INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES ('old', 'processing', 'failed', 'x', 'y', 4)")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition,
        "one terminal transition row per task"
    );
    for _ in 0..2 {
        raw("INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES ('old', 'pending', 'processing', 'audit', 'op', 5)")
            .unwrap();
    }
    assert_eq!(store.transitions("old").unwrap().len(), 5);
}
