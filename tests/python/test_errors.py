"""The exception tree: one class per code, `.code` on class and instance, the pinned table,
the legacy map, and the hand-written stubs in sync with the runtime classes."""

import ast
from pathlib import Path

import pytest

import inferwarden
from inferwarden import errors

from conftest import load_vectors

DOC = load_vectors("errors.json")


def test_codes_match_vectors_exactly():
    listed = inferwarden.list_all_errors()
    assert [r["code"] for r in listed] == [r["code"] for r in DOC["codes"]]
    for row, want in zip(listed, DOC["codes"]):
        assert row["http_status"] == want["http_status"]
        assert row["family"] == want["family"]
        assert row["class_name"] == want["class_name"]


@pytest.mark.parametrize("row", DOC["codes"], ids=[r["code"] for r in DOC["codes"]])
def test_class_and_instance_carry_code(row):
    cls = errors.CLASS_BY_CODE[row["code"]]
    assert cls.__name__ == row["class_name"]
    assert cls.code == row["code"]
    assert cls.http_status == row["http_status"]
    assert issubclass(cls, errors.InferwardenError)
    assert cls.__mro__[1] is errors.FAMILY_CLASSES[row["family"]]
    assert getattr(errors, row["class_name"]) is cls
    exc = inferwarden._native.error_for_code(row["code"], "d")
    assert type(exc) is cls
    assert exc.code == row["code"] and exc.detail == "d" and exc.user_action
    body = exc.to_dict()
    assert set(body) == {"code", "detail", "user_action"}


def test_legacy_map():
    want = {r["legacy"]: r["code"] for r in DOC["legacy"]}
    assert inferwarden.legacy_code_map() == want
    for legacy, code in want.items():
        assert inferwarden.error_class(legacy) is errors.CLASS_BY_CODE[code]
        assert inferwarden._native.error_for_code(legacy).code == code
    with pytest.raises(ValueError):
        inferwarden._native.error_for_code("no_such_code")


def test_stub_declares_every_runtime_class():
    stub = Path(errors.__file__).with_suffix(".pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    declared = {node.name: [b.id for b in node.bases] for node in tree.body if isinstance(node, ast.ClassDef)}
    for family_cls in errors.FAMILY_CLASSES.values():
        assert declared.get(family_cls.__name__) == ["InferwardenError"], family_cls.__name__
    for cls in errors.CLASS_BY_CODE.values():
        assert declared.get(cls.__name__) == [cls.__mro__[1].__name__], cls.__name__
    runtime = {c.__name__ for c in (*errors.FAMILY_CLASSES.values(), *errors.CLASS_BY_CODE.values())} | {"InferwardenError"}
    assert set(declared) == runtime


def test_package_is_typed_and_exports():
    pkg = Path(inferwarden.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_native.pyi").exists()
    for name in inferwarden.__all__:
        assert hasattr(inferwarden, name), name
