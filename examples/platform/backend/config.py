"""Backend settings of the sample platform: a hand-written restatement of the catalogue
(`src/inference_settings.json`) that `inferwarden parity check` keeps honest."""

import os

MAX_QUEUE_DEPTH = int(os.environ.get("MAX_QUEUE_DEPTH", "25"))
DEFAULT_VIDEO_STEPS = int(os.environ.get("DEFAULT_VIDEO_STEPS", "8"))

MODEL_ALIASES = {"wan-remix": "phr00t"}

MODELS_SCHEMA = [
    {
        "id": "flux-dev",
        "type": "image",
        "modes": ["t2i"],
        "default_mode": "t2i",
        "parameters": {
            "steps": {"type": "int", "default": 28, "min": 1, "max": 50, "step": 1},
            "guidance": {"type": "float", "default": 3.5, "min": 0, "max": 10, "step": 0.5},
            "width": {"type": "int", "default": 1024, "min": 512, "max": 1280, "step": 64},
            "height": {"type": "int", "default": 1024, "min": 512, "max": 1280, "step": 64},
        },
    },
    {
        "id": "sdxl-turbo",
        "type": "image",
        "modes": ["t2i", "i2i"],
        "default_mode": "t2i",
        "parameters": {
            "strength": {"type": "float", "default": 0.6, "min": 0, "max": 1, "step": 0.05},
        },
        "fixed_parameters": {"steps": {"value": 4, "locked": True}},
    },
    {
        "id": "phr00t",
        "type": "video",
        "modes": ["t2v", "i2v", "flf2v"],
        "default_mode": "t2v",
        "parameters": {
            "num_frames": {"type": "int", "default": 81, "min": 17, "max": 161, "step": 8},
            "resolution": {"type": "enum", "default": "480p", "options": ["480p", "720p"]},
        },
        "fixed_parameters": {"steps": {"value": 8, "locked": True}, "cfg": {"value": 1.0, "locked": False}},
    },
    {
        "id": "ltx-video",
        "type": "video",
        "modes": ["t2v"],
        "default_mode": "t2v",
        "parameters": {
            "num_frames": {"type": "int", "default": 97, "min": 9, "max": 257, "step": 8},
            "fps": {"type": "enum", "default": 24, "options": [24, 30]},
        },
    },
]
