"""Checkpoints that survive a kill: safetensors for tensors, JSON for everything else.

A training checkpoint is ONE file, ``checkpoint.safetensors``: the model's tensors, the
optimizer's tensors and the RNG state, with the rest (step, configs, data position) as
JSON in the file's metadata. It is written to a temporary file and renamed into place,
so a kill at any moment leaves either the old checkpoint or the new one, never half of
one. A readable copy of the JSON is written beside it as ``checkpoint.json``.

Files load with ``safetensors`` only: nothing is unpickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from helpers.gpt import GPT, GPTConfig

STATE_KEY = "course_state"  # metadata key holding the JSON state


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated, corrupt or does not fit the model."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename (atomic on POSIX)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    data = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata)
    atomic_write_bytes(path, data)


def _model_tensors(model: GPT) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    state.pop("lm_head.weight", None)  # tied to wte.weight: stored once
    return state


def save_training_checkpoint(path: Path, model: GPT, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Save model, AdamW state, torch's RNG state and the JSON ``state`` in one atomic file."""
    tensors = {f"model.{k}": v for k, v in _model_tensors(model).items()}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            for key, value in optimizer.state.get(p, {}).items():
                t = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"optim.{names[id(p)]}.{key}"] = t.reshape(-1) if t.ndim == 0 else t
    tensors["rng.torch"] = torch.get_rng_state()
    _atomic_save_tensors(tensors, path, {STATE_KEY: json.dumps(state)})
    atomic_write_bytes(Path(path).with_suffix(".json"), (json.dumps(state, indent=1) + "\n").encode())


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Return (tensors, JSON state) of a checkpoint, or raise ``CheckpointError`` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            metadata = f.metadata() or {}
        state = json.loads(metadata[STATE_KEY])
    except (SafetensorError, OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt ({type(e).__name__}: {e}); "
                              f"delete it to start over, or restore a good copy") from None
    return tensors, state


def load_training_checkpoint(path: Path, model: GPT, optimizer: torch.optim.Optimizer) -> dict:
    """Restore model, optimizer and RNG from ``path``; return the JSON state."""
    tensors, state = read_checkpoint(path)
    model_state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    model_state["lm_head.weight"] = model_state.get("wte.weight")
    try:
        model.load_state_dict(model_state)
    except (RuntimeError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {str(e).splitlines()[0]}") from None
    params = dict(model.named_parameters())
    opt_state = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            name, field = key.removeprefix("optim.").rsplit(".", 1)
            if name not in params:
                raise CheckpointError(f"checkpoint {path} has optimizer state for an unknown parameter {name}")
            opt_state.setdefault(params[name], {})[field] = value.reshape(()) if field == "step" else value
    for p, s in opt_state.items():
        optimizer.state[p] = s
    torch.set_rng_state(tensors["rng.torch"])
    return state


def save_model(folder: Path, model: GPT, extra: dict | None = None) -> None:
    """Write ``model.safetensors`` (weights) and ``config.json`` (architecture + ``extra``) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model": json.loads(model.config.to_json()), **(extra or {})}
    _atomic_save_tensors(_model_tensors(model), folder / "model.safetensors", {"format": "pt"})
    atomic_write_bytes(folder / "config.json", (json.dumps(config, indent=1) + "\n").encode())


def load_model(folder: Path, device: str | torch.device = "cpu") -> GPT:
    """Load a model written by ``save_model`` (weights with safetensors, never pickle)."""
    folder = Path(folder)
    cfg_path, weights = folder / "config.json", folder / "model.safetensors"
    for p in (cfg_path, weights):
        if not p.exists():
            raise CheckpointError(f"{p} is missing: train a model first (python -m helpers.pretrain --out {folder})")
    try:
        cfg = GPTConfig(**json.loads(cfg_path.read_text())["model"])
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"model in {folder} is truncated or corrupt ({type(e).__name__}: {e})") from None
    model = GPT(cfg)
    state["lm_head.weight"] = state.get("wte.weight")
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"weights in {weights} do not fit config.json: {str(e).splitlines()[0]}") from None
    return model.to(device).eval()
