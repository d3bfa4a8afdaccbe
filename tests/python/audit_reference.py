"""An independent re-verifier of inferwarden audit logs, written from the documented encoding
alone (README "Audit log", core/src/audit/record.rs) with the Python standard library: what a
third party needs to check an exported log without inferwarden.

- record hash: SHA-256(0x00 || canonical JSON of the record), canonical = keys sorted, no
  whitespace, non-ASCII as UTF-8, the ``details`` text verbatim;
- chain: each record's ``prev_hash`` is the previous record's hash (zeros for record 0);
- tree head: RFC 6962 Merkle tree over the record hashes;
- checkpoint: C2SP tlog-checkpoint body ``origin\\nsize\\nbase64(root)\\n``.

Run it on ``inferwarden audit export --db URL`` output: ``python audit_reference.py FILE``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import Any, Iterable


def canonical(record: dict[str, Any], details_text: str | None = None) -> bytes:
    """The canonical bytes of an exported record (``details`` given as an object)."""
    details = details_text if details_text is not None else json.dumps(
        record["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    fields = {
        "action": record["action"],
        "actor": record["actor"],
        "correlation_id": record["correlation_id"],
        "outcome": record["outcome"],
        "prev_hash": record["prev_hash"],
        "seq": record["seq"],
        "source": record["source"],
        "target": record["target"],
        "timestamp_ms": record["timestamp_ms"],
    }
    parts = []
    for key in sorted(list(fields) + ["details"]):
        value = details if key == "details" else json.dumps(fields[key], ensure_ascii=False)
        parts.append(json.dumps(key) + ":" + value)
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 Merkle tree head."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(tree_root(leaves[:k]), tree_root(leaves[k:]))


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def verify_records(records: Iterable[dict[str, Any]]) -> tuple[int, bytes]:
    """Checks every hash and link of a full export (from record 0); returns (size, head).
    Raises ValueError naming the first bad sequence number."""
    prev = "0" * 64
    leaves: list[bytes] = []
    for expected, record in enumerate(records):
        if record["seq"] != expected:
            raise ValueError(f"record {expected} is missing (found {record['seq']})")
        if record["prev_hash"] != prev:
            raise ValueError(f"record {expected}: link to the previous record broken")
        digest = leaf_hash(canonical(record))
        if digest.hex() != record["hash"]:
            raise ValueError(f"record {expected}: content does not match its hash")
        leaves.append(digest)
        prev = record["hash"]
    return len(leaves), tree_root(leaves)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    size, head = verify_records(rows)
    print(f"intact: {size} records, head {head.hex()}")
