//! The audit vectors (computed independently in Python): record canonical bytes and hashes,
//! the tree head through a real SQLite log with its tiles, and the signed checkpoint, byte
//! for byte; tampered notes refused.

use std::sync::Arc;

use inferwarden::audit::record::{canonical_bytes, hex, parse_hash_hex};
use inferwarden::audit::{
    AuditEvent, AuditLog, AuditLogSettings, AuditRecord, AuditStore, NoteSigner, NoteVerifier,
    SqliteAuditStore, VerifyOptions,
};
use inferwarden::clock::ManualClock;
use inferwarden_tests::load_vectors;

fn events(doc: &serde_json::Value) -> Vec<AuditEvent> {
    doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_value::<AuditEvent>(r["event"].clone()).unwrap())
        .collect()
}

#[test]
fn records_hash_as_pinned() {
    let doc = load_vectors("audit.json");
    let mut prev = [0u8; 32];
    for (event, want) in events(&doc).iter().zip(doc["records"].as_array().unwrap()) {
        let seq = want["seq"].as_u64().unwrap();
        let record = AuditRecord::chained(event, seq, prev);
        assert_eq!(
            canonical_bytes(&record, seq),
            want["canonical"].as_str().unwrap()
        );
        assert_eq!(hex(&record.hash), want["hash"].as_str().unwrap());
        assert_eq!(hex(&record.prev_hash), want["prev_hash"].as_str().unwrap());
        prev = record.hash;
    }
}

#[test]
fn a_log_of_the_vectors_has_the_pinned_head_and_checkpoint() {
    let doc = load_vectors("audit.json");
    let dir = std::env::temp_dir().join(format!("iw-audit-vectors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(dir.join("a.db")).unwrap());
    store.append(&events(&doc)).unwrap();
    let log = AuditLog::new(
        store.clone(),
        AuditLogSettings {
            signer: Some(NoteSigner::parse(doc["signer_key"].as_str().unwrap()).unwrap()),
            origin: doc["origin"].as_str().unwrap().to_owned(),
            ..AuditLogSettings::default()
        },
        Arc::new(ManualClock::new(0)),
    )
    .unwrap();
    let size = doc["records"].as_array().unwrap().len() as u64;
    assert_eq!(
        hex(&log.root_at(size).unwrap()),
        doc["root_hex"].as_str().unwrap()
    );
    let note = log.checkpoint().unwrap();
    assert_eq!(note, doc["checkpoint_note"].as_str().unwrap());
    let verifier = NoteVerifier::parse(doc["verifier_key"].as_str().unwrap()).unwrap();
    assert_eq!(
        log.public_key().unwrap(),
        doc["verifier_key"].as_str().unwrap()
    );
    let c = verifier.open(&note).unwrap();
    assert_eq!(
        (c.size, hex(&c.root)),
        (size, doc["root_hex"].as_str().unwrap().to_owned())
    );
    for bad in doc["tampered_notes"].as_array().unwrap() {
        assert!(verifier.open(bad.as_str().unwrap()).is_err());
    }
    let report = log
        .verify(&VerifyOptions {
            verifier: Some(verifier),
            trusted: vec![note],
            progress: None,
        })
        .unwrap();
    assert!(report.intact, "{report:?}");
    assert_eq!(Some(report.root.as_str()), doc["root_hex"].as_str());
    assert!(parse_hash_hex(&report.root).is_some());
    let _ = std::fs::remove_dir_all(dir);
}
