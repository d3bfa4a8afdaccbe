"""The task-ref golden vectors through the Python binding (the same file Rust and Node run)."""

import pytest

import inferwarden
from inferwarden.errors import ProxyTargetInvalidError, RoutingError

from conftest import load_vectors

CASES = load_vectors("task_ref.json")["cases"]


def test_vector_file_is_complete():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_task_ref_vector(case):
    if "ok" in case:
        ref = inferwarden.parse_task_ref(case["input"])
        want = case["ok"]
        assert ref.kind == want["kind"]
        assert ref.task_id == want["task_id"]
        assert ref.workspace == want.get("workspace")
        assert ref.public_id() == case["input"]
    else:
        with pytest.raises(inferwarden.InferwardenError) as info:
            inferwarden.parse_task_ref(case["input"])
        err = info.value
        assert err.code == case["error"]["code"]
        assert err.metadata["rule"] == case["error"]["rule"]
        assert isinstance(err, ProxyTargetInvalidError)
        assert isinstance(err, RoutingError)
        assert err.http_status == 400


def test_task_ref_value_semantics():
    a = inferwarden.parse_task_ref("acme::t1")
    assert a == inferwarden.parse_task_ref("acme::t1")
    assert a != inferwarden.parse_task_ref("acme::t2")
    assert a.is_remote and not inferwarden.parse_task_ref("t1").is_remote
    assert "acme" in repr(a)


def test_wrong_argument_type_is_a_type_error_not_a_crash():
    with pytest.raises(TypeError):
        inferwarden.parse_task_ref(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        inferwarden.parse_task_ref(b"acme::t1")  # type: ignore[arg-type]


def test_a_lone_surrogate_is_refused_with_the_stable_code():
    # Read with U+FFFD in its place (as Node reads it): a character outside the id alphabet.
    for raw, position in (("acme::\ud800", 6), ("ab\udfffc", 2)):
        with pytest.raises(ProxyTargetInvalidError) as info:
            inferwarden.parse_task_ref(raw)
        assert info.value.code == "proxy_target_invalid"
        assert info.value.metadata["position"] == position, info.value.metadata
