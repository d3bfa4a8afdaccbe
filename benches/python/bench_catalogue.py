"""validate_request from Python with a dict payload against Pydantic v2 ``model_validate`` on an
equivalent hand-written request model, same run. inferwarden also fills defaults and fixed
values and, on a bad request, reports every violation instead of the first. The two are timed
in turn, round after round (best round of each), so a drifting machine favours neither.

Run: .venv/bin/python benches/python/bench_catalogue.py   (after scripts/setup-python.sh --release)
"""

from __future__ import annotations

import timeit
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

import inferwarden

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = inferwarden.Catalogue.from_json((ROOT / "examples/platform/src/inference_settings.json").read_text(encoding="utf-8"))


class WanParameters(BaseModel):
    prompt: str = Field(max_length=2000)
    seed: int = Field(-1, ge=-1, le=2147483647)
    num_frames: int = Field(81, ge=17, le=161)
    resolution: Literal["480p", "720p"] = "480p"
    image: str | None = None

    @field_validator("num_frames")
    @classmethod
    def on_grid(cls, v: int) -> int:
        if (v - 17) % 8:
            raise ValueError("not on the step grid")
        return v


class WanRequest(BaseModel):
    model: Literal["wan-2.2", "wan-remix", "phr00t"]
    mode: Literal["t2v", "i2v", "flf2v"] = "t2v"
    parameters: WanParameters


REQUEST = {"model": "wan-2.2", "mode": "i2v", "parameters": {"prompt": "a cat on a skateboard", "num_frames": 97, "image": "upload://1"}}


def per_call_us_interleaved(fns, number: int = 20_000, rounds: int = 15) -> list[float]:
    """Best per-call time of each function, the functions timed in turn round after round:
    on a machine whose speed drifts (a shared VM), every side sees the same quiet moments."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], timeit.timeit(fn, number=number) / number * 1e6)
    return best


def main() -> None:
    assert WanRequest.model_validate(REQUEST).parameters.num_frames == 97
    assert inferwarden.validate_request(CATALOGUE, REQUEST)["payload"]["num_frames"] == 97
    ours, pyd = per_call_us_interleaved(
        [lambda: inferwarden.validate_request(CATALOGUE, REQUEST), lambda: WanRequest.model_validate(REQUEST)]
    )
    print(f"inferwarden.validate_request (dict)   {ours:6.2f} us")
    print(f"pydantic v2 model_validate           {pyd:6.2f} us")
    print(f"ratio pydantic / inferwarden          {pyd / ours:6.2f}")


if __name__ == "__main__":
    main()
