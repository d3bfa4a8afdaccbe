"""Request models of the sample platform's `POST /generate`, written by hand with Pydantic v2:
their constraints must match the catalogue (`inferwarden parity check`)."""

from typing import Literal

from pydantic import BaseModel, Field


class FluxRequest(BaseModel):
    model: Literal["flux-dev"]
    prompt: str = Field(max_length=2000)
    steps: int = Field(default=28, ge=1, le=50)
    guidance: float = Field(default=3.5, ge=0, le=10)
    width: int = Field(default=1024, ge=512, le=1280)
    height: int = Field(default=1024, ge=512, le=1280)
    seed: int = Field(default=-1, ge=-1, le=2147483647)


class WanRequest(BaseModel):
    model: Literal["phr00t", "wan-remix"]
    mode: Literal["t2v", "i2v", "flf2v"] = "t2v"
    num_frames: int = Field(default=81, ge=17, le=161)
    resolution: Literal["480p", "720p"] = "480p"
    prompt: str = Field(max_length=2000)
    seed: int = Field(default=-1, ge=-1, le=2147483647)
    # Uploads and keyframes are sent only in the modes that need them: None = not sent.
    image: str | None = None
    keyframes: list[dict[str, object]] | None = None
    cfg: float = 1.0
