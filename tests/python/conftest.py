"""Shared pytest fixtures: the golden vectors directory (tests/vectors)."""

import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load_vectors(name: str):
    """Reads one golden vector file."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture
def vectors():
    return load_vectors
