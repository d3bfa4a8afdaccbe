//! Tests for `store_url`: every accepted form, and unknown schemes.

use inferwarden::store_url::StoreUrl;

#[test]
fn parses_every_form() {
    assert_eq!(StoreUrl::parse(" memory "), Some(StoreUrl::Memory));
    assert_eq!(StoreUrl::parse("allow-all"), Some(StoreUrl::AllowAll));
    assert_eq!(
        StoreUrl::parse("sqlite:tasks.db"),
        Some(StoreUrl::Sqlite("tasks.db"))
    );
    assert_eq!(
        StoreUrl::parse("sqlite:///abs/t.db"),
        Some(StoreUrl::Sqlite("/abs/t.db"))
    );
    assert_eq!(
        StoreUrl::parse("sqlite::memory:"),
        Some(StoreUrl::Sqlite(":memory:"))
    );
    assert_eq!(
        StoreUrl::parse("postgresql://u@h/db"),
        Some(StoreUrl::Postgres("postgresql://u@h/db"))
    );
    assert_eq!(
        StoreUrl::parse("postgres://h/db"),
        Some(StoreUrl::Postgres("postgres://h/db"))
    );
    assert_eq!(
        StoreUrl::parse("rediss://h:6380/0"),
        Some(StoreUrl::Redis("rediss://h:6380/0"))
    );
}

#[test]
fn unknown_schemes_are_none_and_openers_say_config_invalid() {
    for bad in ["", "mysql://h/db", "SQLITE:x", "file:x.db", "memoryx"] {
        assert_eq!(StoreUrl::parse(bad), None, "{bad}");
    }
    let err = inferwarden::store_url::unknown_store("task store", "sqlite:PATH");
    assert_eq!(err.code(), inferwarden::ErrorCode::ConfigInvalid);
    assert_eq!(err.detail(), "unknown task store (sqlite:PATH)");
}
