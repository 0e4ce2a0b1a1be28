"""helpers.pretrain and helpers.checkpoint: schedule, data order, resume after a kill, DDP, bad checkpoints."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from helpers.checkpoint import CheckpointError, load_model, read_checkpoint, save_model
from helpers.gpt import GPT, GPTConfig
from helpers.pretrain import TrainConfig, batch_indices, get_batch, lr_at, make_optimizer, token_stream
from helpers.tokenizer import BPETokenizer

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--block-size", "32", "--batch-size", "8",
        "--train-chars", "60000", "--eval-batches", "2", "--eval-every", "20", "--log-every", "5",
        "--warmup-steps", "10", "--threads", "1"]


def test_learning_rate_warms_up_then_follows_a_cosine_to_min_lr():
    cfg = TrainConfig(lr=1e-3, min_lr=1e-4, warmup_steps=10)
    lrs = [lr_at(s, cfg, 100) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lr_at(100, cfg, 100) == pytest.approx(1e-4)
    assert lr_at(55, cfg, 100) == pytest.approx((1e-3 + 1e-4) / 2)  # halfway through the cosine


def test_weight_decay_only_on_matrices():
    model = GPT(GPTConfig(vocab_size=100, block_size=8, n_layer=1, n_head=2, n_embd=16))
    decay, no_decay = make_optimizer(model, TrainConfig(weight_decay=0.1)).param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert sum(p.numel() for g in (decay, no_decay) for p in g["params"]) == model.num_parameters()


def test_one_epoch_sees_every_chunk_exactly_once_and_the_next_epoch_reshuffles():
    n_chunks, batch = 103, 8
    steps = n_chunks // batch
    first = torch.cat([batch_indices(n_chunks, batch, s, seed=1) for s in range(steps)])
    assert len(set(first.tolist())) == len(first) == steps * batch  # no chunk twice in an epoch
    second = torch.cat([batch_indices(n_chunks, batch, s, seed=1) for s in range(steps, 2 * steps)])
    assert not torch.equal(first, second)
    assert torch.equal(batch_indices(n_chunks, batch, 5, seed=1), batch_indices(n_chunks, batch, 5, seed=1))


def test_targets_are_the_inputs_shifted_by_one():
    ids = torch.arange(100)
    x, y = get_batch(ids, torch.tensor([0, 3]), 10)
    assert x.shape == y.shape == (2, 10)
    assert torch.equal(y[:, :-1], x[:, 1:]) and x[1, 0] == 30


def test_token_stream_marks_each_work_with_end_of_text():
    tok = BPETokenizer.load(ROOT / "data" / "tokenizer.json")
    ids, chars = token_stream(tok, "validation")
    assert ids[0] == tok.eot_id and int((ids == tok.eot_id).sum()) == 3  # three held-out plays
    assert chars > 300_000 and "To be, or not to be" in tok.decode(ids[:60_000].tolist())


def _pretrain(out, *extra, wait=True):
    cmd = [sys.executable, "-m", "helpers.pretrain", "--out", str(out), "--no-progress", *TINY, *extra]
    if wait:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    args = ["--max-steps", "400", "--checkpoint-every", "25", "--dropout", "0.1"]  # dropout: RNG state must resume too
    straight = _pretrain(tmp_path / "straight", *args)
    assert straight.returncode == 0, straight.stderr

    proc = _pretrain(tmp_path / "killed", *args, wait=False)
    state = tmp_path / "killed" / "checkpoint.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())["step"] >= 75:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(state.read_text())["step"]
    assert 75 <= killed_at < 400 and not (tmp_path / "killed" / "model.safetensors").exists()

    resumed = _pretrain(tmp_path / "killed", *args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    steps = [json.loads(line)["step"] for line in (tmp_path / "killed" / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 400  # no step logged twice after the resume


def test_bad_checkpoints_and_bad_resumes_say_what_is_wrong(tmp_path):
    out = tmp_path / "run"
    done = _pretrain(out, "--max-steps", "10", "--checkpoint-every", "5")
    assert done.returncode == 0, done.stderr
    again = _pretrain(out, "--max-steps", "10")
    assert again.returncode != 0 and "already holds a run: pass --resume" in again.stderr
    other = _pretrain(out, "--max-steps", "10", "--resume", "--lr", "0.5")
    assert other.returncode != 0 and "other settings" in other.stderr
    missing = _pretrain(tmp_path / "empty", "--max-steps", "10", "--resume")
    assert missing.returncode != 0 and "no checkpoint" in missing.stderr

    ckpt = out / "checkpoint.safetensors"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])  # truncated, as by a full disk
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        read_checkpoint(ckpt)
    broken = _pretrain(out, "--max-steps", "10", "--resume")
    assert broken.returncode != 0 and "truncated or corrupt" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_saved_model_loads_with_safetensors_and_gives_the_same_logits(tmp_path):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=2, n_embd=16)).eval()
    save_model(tmp_path, model, {"note": "test"})
    again = load_model(tmp_path)
    idx = torch.randint(0, 50, (2, 8))
    torch.testing.assert_close(again(idx)[0], model(idx)[0])
    assert json.loads((tmp_path / "config.json").read_text())["note"] == "test"
    with pytest.raises(CheckpointError, match="missing"):
        load_model(tmp_path / "nothing")
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_model(tmp_path)


@pytest.mark.slow
def test_two_processes_with_ddp_match_one_process_with_the_same_global_batch(tmp_path):
    args = ["--max-steps", "6", "--checkpoint-every", "100", "--log-every", "1", "--eval-every", "100"]
    single = _pretrain(tmp_path / "single", *args)
    assert single.returncode == 0, single.stderr
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "helpers.pretrain", "--out", str(tmp_path / "ddp"), "--no-progress", *TINY, *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    losses = [[json.loads(line)["loss"] for line in (tmp_path / run / "log.jsonl").read_text().splitlines()]
              for run in ("single", "ddp")]
    assert len(losses[0]) == len(losses[1]) == 6
    for a, b in zip(*losses):
        assert a == pytest.approx(b, abs=2e-4)
    a = load_file(str(tmp_path / "single" / "model.safetensors"))
    b = load_file(str(tmp_path / "ddp" / "model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-4, rtol=1e-3)


def test_train_config_round_trips_through_the_command_line():
    from helpers.pretrain import parse_args

    cfg, args = parse_args(["--out", "x", "--n-layer", "3", "--lr", "0.002", "--n-kv-head", "1"])
    assert cfg.n_layer == 3 and cfg.lr == 0.002 and cfg.n_kv_head == 1 and args.out == Path("x")
    assert asdict(cfg)["batch_size"] == TrainConfig().batch_size


def test_train_steps_is_the_loop_of_train_and_repeats_a_short_stream(tmp_path):
    """train_steps (notebook 10's experiments) and train (the command line) give the same weights."""
    from helpers.pretrain import train, train_steps

    cfg = TrainConfig(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=4, train_chars=20_000,
                      max_steps=12, warmup_steps=3, eval_every=100, checkpoint_every=100, log_every=100)
    train(cfg, tmp_path / "run", progress=False)
    tok = BPETokenizer.load(ROOT / "data" / "tokenizer.json")
    ids, _ = token_stream(tok, "train", cfg.train_chars)
    torch.manual_seed(cfg.seed)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=32))
    val, _ = token_stream(tok, "validation", 10_000)
    history = train_steps(model, ids, 12, cfg, eval_sets={"val": val}, eval_every=5, eval_batches=2, progress=False)
    saved = load_model(tmp_path / "run").state_dict()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    assert history["step"] == [0, 5, 10, 12] and len(history["val"]) == 4 and len(history["train_loss"]) == 12
    assert history["val"][-1] < history["val"][0]

    short = ids[: 8 * 32 + 1]  # 8 chunks = 2 batches: 12 steps make 6 epochs
    torch.manual_seed(0)
    small = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=32))
    assert train_steps(small, short, 12, cfg, progress=False)["epochs"] == 6
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_steps(small, ids[: 3 * 32 + 1], 5, cfg, progress=False)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        train_steps(small, ids, 0, cfg, progress=False)
