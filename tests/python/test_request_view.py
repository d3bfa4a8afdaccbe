"""The dict fast path of ``validate_request`` (bindings-python/src/request_view.rs): a request
dict is read in place instead of being converted to JSON first. These tests hold it to the
JSON path (``validate_request_json``) on thousands of generated requests, and pin what it
gives back: plain ``str``/``int``/``float``/``list`` values, never the caller's subclasses or
mutable objects."""

from __future__ import annotations

import enum
import json
import random
from pathlib import Path

import pytest

import inferwarden
from inferwarden.errors import RequestValidationError

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform" / "src" / "inference_settings.json"


@pytest.fixture(scope="module")
def catalogue():
    return inferwarden.Catalogue.from_json(SAMPLE.read_text(encoding="utf-8"))


ABSENT = object()

MODELS = ["wan-2.2", "wan-remix", "phr00t", "sdxl-turbo", "flux-dev", "ltx-video", "nope", 5, None]
MODES = [ABSENT, "t2v", "i2v", "flf2v", "t2i", "i2i", "x", 3, None]
TYPES = [ABSENT, "video", "image", 1]
PARAMETER_VALUES = {
    "prompt": ["a cat", "", "p" * 2001, 5, None, True],
    "num_frames": [97, 97.0, 80, 81, 170, True, "97", -1],
    "steps": [8, 8.0, 4, 50, "8", None],
    "cfg": [1.0, 1, 2.5, "1"],
    "image": ["upload://1", 1, None],
    "keyframes": [["a", "b"], [], "x", {"k": 1}],
    "resolution": ["480p", "720p", "1080p", None, 480],
    "seed": [-1, 0, 2147483647, 2147483648, 1.5, False],
    "strength": [0.6, 1, "0.6"],
    "guidance": [3.5, 3],
    "width": [1024, 1024.0, 1023],
    "fps": [24, 24.0, "24"],
    "reference_image": ["upload://2", 2],
    "unknown": [1, "x"],
}


VALID = [
    {"model": "wan-2.2", "mode": "i2v", "parameters": {"prompt": "a cat", "num_frames": 97, "image": "upload://1"}},
    {"model": "wan-remix", "parameters": {"prompt": "a cat", "cfg": 2.5, "steps": 8}},
    {"model": "wan-2.2", "mode": "flf2v", "type": "video", "parameters": {"prompt": "a cat", "keyframes": ["a", "b"], "image": "u"}},
    {"model": "sdxl-turbo", "mode": "i2i", "parameters": {"prompt": "a dog", "reference_image": "upload://2", "strength": 0.5}},
    {"model": "flux-dev", "parameters": {"prompt": "a dog", "guidance": 3, "width": 1024.0, "seed": 7}},
    {"model": "ltx-video", "parameters": {"prompt": "rain", "fps": 24, "num_frames": 97}},
]


def random_request(rng: random.Random):
    if rng.random() < 0.5:
        # A valid request with at most two parameters changed or added.
        request = json.loads(json.dumps(rng.choice(VALID)))
        for name in rng.sample(sorted(PARAMETER_VALUES), rng.randint(0, 2)):
            request["parameters"][name] = rng.choice(PARAMETER_VALUES[name])
        return request
    request: dict = {"model": rng.choice(MODELS)}
    for key, choices in (("mode", MODES), ("type", TYPES)):
        choice = rng.choice(choices)
        if choice is not ABSENT:
            request[key] = choice
    shape = rng.random()
    if shape < 0.05:
        request["parameters"] = rng.choice([[], "x", 1, None])
    elif shape < 0.95:
        names = rng.sample(sorted(PARAMETER_VALUES), rng.randint(0, 6))
        request["parameters"] = {name: rng.choice(PARAMETER_VALUES[name]) for name in names}
    if rng.random() < 0.1:
        request["extra"] = {"nested": [1, 2.5, None]}
    return request


def outcome(call):
    try:
        result = call()
    except RequestValidationError as error:
        return ("error", error.code, str(error), error.metadata.get("violations"))
    # `1 == 1.0` in Python: compare the types too.
    return ("ok", result, {k: type(v).__name__ for k, v in result["payload"].items()})


def test_dict_path_agrees_with_the_json_path(catalogue):
    rng = random.Random(20261126)
    accepted = refused = 0
    for _ in range(4000):
        request = random_request(rng)
        by_dict = outcome(lambda: inferwarden.validate_request(catalogue, request))
        by_json = outcome(lambda: catalogue.validate_request_json(json.dumps(request)))
        assert by_dict == by_json, request
        if by_dict[0] == "ok":
            accepted += 1
        else:
            refused += 1
    # The generator reaches both outcomes often, or the comparison proves little.
    assert accepted > 300 and refused > 2000, (accepted, refused)


def test_a_request_that_is_not_a_dict_is_reported_like_json(catalogue):
    for request in (["model"], "wan-2.2", 3, None):
        assert outcome(lambda: inferwarden.validate_request(catalogue, request)) == outcome(
            lambda: catalogue.validate_request_json(json.dumps(request))
        )


class Frames(enum.IntEnum):
    SHORT = 97


class Text(str):
    pass


def test_payload_values_are_plain_types(catalogue):
    ok = inferwarden.validate_request(
        catalogue,
        {
            "model": "wan-2.2",
            "mode": "flf2v",
            "parameters": {"prompt": Text("a cat"), "num_frames": Frames.SHORT, "keyframes": ("a", "b"), "image": "u"},
        },
    )
    payload = ok["payload"]
    assert type(payload["prompt"]) is str and payload["prompt"] == "a cat"
    assert type(payload["num_frames"]) is int and payload["num_frames"] == 97
    assert payload["keyframes"] == ["a", "b"]


def test_payload_never_shares_a_mutable_value_with_the_request(catalogue):
    keyframes = ["a", "b"]
    ok = inferwarden.validate_request(
        catalogue, {"model": "wan-2.2", "mode": "flf2v", "parameters": {"prompt": "a cat", "keyframes": keyframes, "image": "u"}}
    )
    ok["payload"]["keyframes"].append("c")
    assert keyframes == ["a", "b"]


def test_key_order_does_not_change_the_violations(catalogue):
    parameters = {"x": 1, "num_frames": 80, "steps": 50, "cfg": "1", "resolution": "1080p"}
    reports = []
    for names in (sorted(parameters), sorted(parameters, reverse=True)):
        with pytest.raises(RequestValidationError) as info:
            inferwarden.validate_request(catalogue, {"model": "wan-2.2", "parameters": {n: parameters[n] for n in names}})
        reports.append(info.value.metadata["violations"])
    assert reports[0] == reports[1]
    # Sent parameters in name order, then fixed parameters, then what is missing.
    assert [v["path"] for v in reports[0]] == [
        "parameters.num_frames",
        "parameters.resolution",
        "parameters.x",
        "parameters.cfg",
        "parameters.steps",
        "parameters.prompt",
    ]


@pytest.mark.parametrize(
    "request_",
    [
        {"model": "wan-2.2", "parameters": {"prompt": object()}},
        {"model": "wan-2.2", "parameters": {"keyframes": [object()]}},
        {"model": "wan-2.2", "parameters": {1: "x"}},
        {"model": "wan-2.2", 1: "x"},
        {"model": "wan-2.2", "extra": {"a": {1, 2}}},
        {"model": "wan-2.2", "parameters": {"seed": 2**70}},
        {"model": "wan-2.2", "parameters": {"cfg": float("nan")}},
    ],
)
def test_values_that_are_not_json_like_are_refused(catalogue, request_):
    with pytest.raises(RequestValidationError) as info:
        inferwarden.validate_request(catalogue, request_)
    assert info.value.code == "validation_error"
    assert "JSON-like" in str(info.value)
