"""Pretraining the course GPT: next-token prediction (次トークン予測) over the training plays.

    python -m helpers.pretrain --out runs/demo                  # one epoch, the default model
    python -m helpers.pretrain --out runs/demo --resume         # carry on after a kill
    torchrun --nproc_per_node=2 -m helpers.pretrain --out runs/ddp   # DistributedDataParallel

One epoch by default: every training token is seen once. AdamW with weight decay on
matrices only, linear warmup then cosine decay, gradient clipping, a validation
estimate every ``--eval-every`` steps, a tqdm bar, and ``log.jsonl`` (step, loss,
learning rate, tokens per second) written as it goes. A checkpoint is written every
``--checkpoint-every`` steps (atomically: see ``helpers.checkpoint``); ``--resume``
continues from it and gives the same final weights as a run that was never stopped.
At the end, ``model.safetensors`` + ``config.json`` hold the trained model.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from helpers.checkpoint import CheckpointError, load_training_checkpoint, save_model, save_training_checkpoint
from helpers.course import available_cores, pick_device
from helpers.data import data_dir, load_texts
from helpers.gpt import GPT, GPTConfig
from helpers.tokenizer import BPETokenizer


def course_tokenizer_path() -> Path:
    return data_dir() / "tokenizer.json"


@dataclass
class TrainConfig:
    """Everything a run depends on; saved in every checkpoint."""

    # model
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int | None = None
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    # data and schedule
    tokenizer: str = ""  # path; empty: the course tokenizer in data/
    train_chars: int = 0  # use only the first N characters of the training text (0: all)
    epochs: float = 1.0
    max_steps: int = 0  # 0: as many steps as the epochs take
    batch_size: int = 12  # sequences per step, over all processes
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    # evaluation, checkpoints, logging
    eval_every: int = 250
    eval_batches: int = 20
    checkpoint_every: int = 250
    log_every: int = 10
    seed: int = 1337
    device: str = "auto"


# ----- data ---------------------------------------------------------------------------------------
def token_stream(tok: BPETokenizer, split: str, limit_chars: int = 0) -> tuple[torch.Tensor, int]:
    """All works of a split (modern edition) as one stream of ids, each work preceded by
    ``<|endoftext|>``. Returns (ids as int64 (N,), number of characters encoded)."""
    texts = list(load_texts("modern", split).values())
    if limit_chars:  # a prefix of the split, as one document
        texts = ["\n".join(texts)[:limit_chars]]
    ids: list[int] = []
    for text in texts:
        ids.append(tok.eot_id)
        ids.extend(tok.encode_ordinary(text))
    return torch.tensor(ids, dtype=torch.long), sum(len(t) for t in texts)


def batch_indices(n_chunks: int, batch_size: int, step: int, seed: int) -> torch.Tensor:
    """Which chunks form the batch of a given step: each epoch is a fresh permutation of all
    chunks (so every token is seen once per epoch), fixed by the seed and the step alone."""
    steps_per_epoch = n_chunks // batch_size
    epoch, b = divmod(step, steps_per_epoch)
    g = torch.Generator().manual_seed(seed + epoch)
    perm = torch.randperm(n_chunks, generator=g)
    return perm[b * batch_size:(b + 1) * batch_size]


def get_batch(ids: torch.Tensor, chunks: torch.Tensor, block_size: int):
    """Inputs x and next-token targets y, both (B, T), for chunk numbers ``chunks``."""
    starts = chunks * block_size
    offsets = torch.arange(block_size)
    x = ids[starts[:, None] + offsets]  # (B, T)
    y = ids[starts[:, None] + offsets + 1]  # (B, T): the same tokens shifted by one
    return x, y


# ----- optimisation -------------------------------------------------------------------------------
def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Linear warmup to ``lr`` over ``warmup_steps``, then cosine decay to ``min_lr`` at the end."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: GPT, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices (2-D and up), none on biases and LayerNorm gains."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:  # the fused kernel (one pass over all parameters) exists on CPU from torch 2.4
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)


@torch.no_grad()
def evaluate(model: GPT, ids: torch.Tensor, block_size: int, batches: int = 0, batch_size: int = 32,
             device: torch.device | None = None) -> float:
    """Mean next-token loss (nats per token) on ``ids``: on all chunks, or on ``batches`` batches
    of chunks spread evenly over the stream (the same ones every time). Runs on the model's device."""
    device = device or next(model.parameters()).device
    n_chunks = (len(ids) - 1) // block_size
    chunks = torch.arange(n_chunks)
    if batches and batches * batch_size < n_chunks:
        chunks = torch.linspace(0, n_chunks - 1, batches * batch_size).long()
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for part in chunks.split(batch_size):
        x, y = get_batch(ids, part, block_size)
        _, loss = model(x.to(device), y.to(device))
        total += loss.item() * y.numel()
        count += y.numel()
    model.train(was_training)
    return total / count


# ----- the loop -----------------------------------------------------------------------------------
def train_steps(model: GPT, ids: torch.Tensor, steps: int, cfg: TrainConfig, *,
                eval_sets: dict[str, torch.Tensor] | None = None, eval_every: int = 0, eval_batches: int = 10,
                desc: str | None = None, progress: bool = True) -> dict:
    """Train ``model`` in place for ``steps`` steps on the token stream ``ids`` (int64, (N,)): the loop of
    ``train`` without files, for experiments that compare runs (notebook 10).

    Each step takes ``cfg.batch_size`` chunks of ``cfg.block_size`` tokens in the order of ``batch_indices``
    (seed ``cfg.seed``): every chunk once per epoch, so a stream shorter than ``steps`` batches is repeated,
    epoch after epoch. Learning rate ``lr_at(step, cfg, steps)``, gradient norm clipped to ``cfg.grad_clip``;
    the optimiser is ``make_optimizer(model, cfg)``. With ``eval_sets`` (name -> token stream) and
    ``eval_every`` > 0, ``evaluate(..., batches=eval_batches)`` runs on each set before training (step 0),
    every ``eval_every`` steps and after the last step.

    Returns ``{"train_loss": [loss of each step's batch], "step": [steps evaluated], name: [loss at those
    steps] for each eval set}``; ``"epochs"`` is how many passes over ``ids`` the steps made.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if eval_every < 0:
        raise ValueError(f"eval_every must be 0 (no evaluation) or positive, got {eval_every}")
    n_chunks = (len(ids) - 1) // cfg.block_size
    if n_chunks // cfg.batch_size < 1:
        raise ValueError(f"the stream holds {n_chunks} chunks of {cfg.block_size} tokens: fewer than one batch "
                         f"of {cfg.batch_size}")
    eval_sets = eval_sets or {}
    device = next(model.parameters()).device
    optimizer = make_optimizer(model, cfg)
    history: dict = {"train_loss": [], "step": [], **{name: [] for name in eval_sets}}

    def record(step: int) -> None:
        history["step"].append(step)
        for name, eval_ids in eval_sets.items():
            history[name].append(evaluate(model, eval_ids, cfg.block_size, batches=eval_batches))

    model.train()
    if eval_sets and eval_every:
        record(0)
    for step in tqdm(range(steps), desc=desc, disable=not progress):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg, steps)
        x, y = get_batch(ids, batch_indices(n_chunks, cfg.batch_size, step, cfg.seed), cfg.block_size)
        _, loss = model(x.to(device), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        history["train_loss"].append(loss.item())
        if eval_sets and eval_every and ((step + 1) % eval_every == 0 or step + 1 == steps):
            record(step + 1)
    history["epochs"] = steps / (n_chunks // cfg.batch_size)
    return history


def _distributed() -> tuple[int, int]:
    """(rank, world size); starts the process group when run under torchrun."""
    if "RANK" not in os.environ:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def train(cfg: TrainConfig, out: Path, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) a pretraining run into ``out``; return a summary dict."""
    rank, world = _distributed()
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of processes ({world})")
    device = pick_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.safetensors"

    tok = BPETokenizer.load(cfg.tokenizer or course_tokenizer_path())
    train_ids, _ = token_stream(tok, "train", cfg.train_chars)
    val_ids, val_chars = token_stream(tok, "validation")
    n_chunks = (len(train_ids) - 1) // cfg.block_size
    steps_per_epoch = n_chunks // cfg.batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"the training text has {n_chunks} chunks of {cfg.block_size} tokens: fewer than one batch")
    total_steps = cfg.max_steps or max(1, round(cfg.epochs * steps_per_epoch))

    torch.manual_seed(cfg.seed)
    mcfg = GPTConfig(vocab_size=tok.vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer, n_head=cfg.n_head,
                     n_kv_head=cfg.n_kv_head, n_embd=cfg.n_embd, dropout=cfg.dropout)
    model = GPT(mcfg).to(device)
    optimizer = make_optimizer(model, cfg)
    step = 0
    if resume and ckpt_path.exists():
        state = load_training_checkpoint(ckpt_path, model, optimizer)
        if state["train_config"] != asdict(cfg):
            raise CheckpointError(f"{ckpt_path} was made with other settings; resume with the same options "
                                  f"(saved: {state['train_config']})")
        step = state["step"]
    elif resume:
        raise CheckpointError(f"--resume given but there is no checkpoint in {out}")
    elif ckpt_path.exists():
        raise CheckpointError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    ddp = DistributedDataParallel(model) if world > 1 else model

    log_path = out / "log.jsonl"
    if rank == 0:  # keep the log consistent with the checkpoint: drop lines written after it
        kept = [ln for ln in (log_path.read_text().splitlines() if log_path.exists() else [])
                if json.loads(ln)["step"] <= step] if step else []
        log_path.write_text("".join(ln + "\n" for ln in kept))
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")

    def log(record: dict) -> None:
        if rank == 0:
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")

    def checkpoint(at_step: int) -> None:
        if rank == 0:
            save_training_checkpoint(ckpt_path, model, optimizer, {
                "step": at_step, "train_config": asdict(cfg), "model_config": asdict(mcfg),
                "data": {"next_batch": at_step, "steps_per_epoch": steps_per_epoch, "seed": cfg.seed}})

    tokens_per_step = cfg.batch_size * cfg.block_size
    bar = tqdm(total=total_steps, initial=step, desc="pretraining", unit="step", disable=not progress or rank != 0)
    model.train()
    t_last, tokens_since = time.perf_counter(), 0
    while step < total_steps:
        lr = lr_at(step, cfg, total_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        chunks = batch_indices(n_chunks, cfg.batch_size, step, cfg.seed)[rank::world]  # this process's share
        x, y = get_batch(train_ids, chunks, cfg.block_size)
        _, loss = ddp(x.to(device), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        step += 1
        tokens_since += tokens_per_step
        bar.update(1)

        if step % cfg.log_every == 0 or step == total_steps:
            loss_value = loss.detach()
            if world > 1:
                dist.all_reduce(loss_value, op=dist.ReduceOp.AVG)
            elapsed = time.perf_counter() - t_last
            record = {"step": step, "loss": round(loss_value.item(), 5), "lr": lr, "grad_norm": round(grad_norm.item(), 4),
                      "tokens_per_s": round(tokens_since / elapsed), "tokens_seen": step * tokens_per_step}
            tokens_since = 0
            if step % cfg.eval_every == 0 or step == total_steps:
                record["val_loss"] = round(evaluate(model, val_ids, cfg.block_size, cfg.eval_batches, device=device), 5)
            log(record)
            bar.set_postfix(loss=record["loss"], **({"val": record["val_loss"]} if "val_loss" in record else {}))
        if step % cfg.checkpoint_every == 0 or step == total_steps:
            checkpoint(step)
        if tokens_since == 0:  # time evaluation and checkpoints apart from training speed
            t_last = time.perf_counter()
    bar.close()

    summary = {"steps": step, "steps_per_epoch": steps_per_epoch, "epochs": step / steps_per_epoch,
               "parameters": model.num_parameters(), "train_tokens": len(train_ids)}
    if rank == 0:
        val_loss = evaluate(model, val_ids, cfg.block_size, device=device)
        summary.update({"val_loss_per_token": val_loss,
                        "val_loss_per_char": val_loss * (len(val_ids) - 1) / val_chars,
                        "val_tokens_per_char": (len(val_ids) - 1) / val_chars})
        save_model(out, model, {"train_config": asdict(cfg), "summary": summary})
    if world > 1:
        dist.barrier()
    return summary


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m helpers.pretrain", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoint, log and final model")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    helps = {
        "n_layer": "Transformer blocks", "n_head": "attention heads", "n_kv_head": "key/value heads (default: n_head)",
        "n_embd": "model width", "block_size": "context length in tokens", "dropout": "dropout rate",
        "tokenizer": "tokenizer JSON (default: data/tokenizer.json)",
        "train_chars": "use only the first N characters of the training plays (0: all)",
        "epochs": "passes over the training tokens", "max_steps": "stop after this many steps (0: from --epochs)",
        "batch_size": "sequences per step, over all processes", "lr": "peak learning rate",
        "min_lr": "learning rate at the end of the cosine", "warmup_steps": "linear warmup steps",
        "weight_decay": "AdamW weight decay (matrices only)", "grad_clip": "clip the gradient norm to this",
        "eval_every": "validation estimate every N steps", "eval_batches": "batches per validation estimate",
        "checkpoint_every": "checkpoint every N steps", "log_every": "log every N steps",
        "seed": "seed for weights and data order", "device": "auto, cpu, cuda or mps",
    }
    for f in fields(TrainConfig):
        kind = int if f.name == "n_kv_head" else type(f.default)
        parser.add_argument("--" + f.name.replace("_", "-"), type=kind, default=f.default, help=helps[f.name])
    args = parser.parse_args(argv)
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    return cfg, args


def main(argv: list[str] | None = None) -> None:
    cfg, args = parse_args(argv)
    torch.set_num_threads(args.threads or available_cores())
    try:
        summary = train(cfg, args.out, resume=args.resume, progress=not args.no_progress)
    except (CheckpointError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", 0)) == 0:
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
