"""Benchmarks that print their figures: ``python -m helpers.bench [tokenizer|train|pipeline|kvcache|quality|all]`` (``make bench``).

- tokenizer: train a 2,048-token byte-level BPE on the whole modern-spelling corpus and encode it,
  with the course tokenizer and with Hugging Face ``tokenizers`` side by side: seconds, ratio,
  tokens per byte.
- train: training steps per second at nanoGPT's CPU recipe (4 layers, 4 heads, 128 wide,
  context 64, batch 12), the course GPT beside Hugging Face's GPT-2 with the same shape,
  interleaved in one run; median milliseconds per step and tokens per second.
- pipeline: documents per second through each stage of notebook 08's data pipeline
  (``helpers.bench_pipeline``), median of 3 runs over all 3,295 raw documents.
- kvcache: greedy generation with and without the KV cache (notebook 11), alternated, median of 3: the shipped
  course model from a 1-token prompt for 127 new tokens (all its 128-token window allows) and for 256 (past the
  window, where learned positions force a full re-read every step), and the same architecture with a 320-token
  window (random weights: speed does not depend on them) for 256 new tokens after a 64-token prompt. Both paths
  must give the same tokens. A cached step costs nearly the same at every length (one token's arithmetic, but
  every weight read and dozens of small operations, each with a fixed overhead on a CPU); the uncached step's
  cost grows with the context, so the ratio grows with the length.
- quality: time to quality (notebook 10, section 11). nanoGPT's CPU recipe (4 layers, 4 heads, 128 wide, context 64,
  batch 12, lr 1e-3 cosine to 1e-4 over 2,000 steps, dropout 0) against the compute-optimal configuration of the
  notebook's IsoFLOP experiment, both trained by ``helpers.pretrain.train_steps`` on the course tokens, in the same
  wall time: the milliseconds per step of both are measured first (alternated) and the compute-optimal run gets
  ``2000 x (recipe ms / its ms)`` steps (``--fixed``: the notebook's fixed step count instead). Prints both
  validation losses in nats per character (all held-out tokens), both wall times, the difference and the ratios.
  About 4 minutes on 2 cores.

The machines are shared and noisy: every figure is a median over repeats, and the two
implementations run alternately, so their ratio is more trustworthy than either number.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch


def _median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_tokenizer(vocab_size: int = 2048, repeats: int = 3) -> dict:
    from tokenizers import ByteLevelBPETokenizer

    from helpers.data import load_corpus
    from helpers.tokenizer import END_OF_TEXT, BPETokenizer

    text = load_corpus("modern", split=None)  # all 42 works, about 5 MB
    n_bytes = len(text.encode("utf-8"))

    def hf_train():
        tok = ByteLevelBPETokenizer()
        tok.train_from_iterator([text], vocab_size=vocab_size, min_frequency=2, special_tokens=[END_OF_TEXT],
                                show_progress=False)
        return tok

    rows = {}
    for _ in range(repeats):  # alternate the two so that machine noise hits both alike
        for name, train in (("course", lambda: BPETokenizer.train(text, vocab_size)), ("tokenizers", hf_train)):
            t, tok = _median_time(train, 1)
            rows.setdefault(name, {"train": [], "encode": []})["train"].append(t)
            if name == "course":
                tok._cache.clear()  # time a cold encode, as a learner's first call would be
                t_enc, ids = _median_time(lambda tok=tok: tok.encode(text), 1)
            else:
                t_enc, ids = _median_time(lambda tok=tok: tok.encode(text).ids, 1)
            rows[name]["encode"].append(t_enc)
            rows[name]["tokens_per_byte"] = len(ids) / n_bytes
    out = {name: {"train_s": statistics.median(r["train"]), "encode_s": statistics.median(r["encode"]),
                  "tokens_per_byte": r["tokens_per_byte"]} for name, r in rows.items()}
    c, h = out["course"], out["tokenizers"]
    print(f"tokenizer benchmark: {vocab_size}-token byte-level BPE on {n_bytes / 1e6:.2f} MB "
          f"(median of {repeats}, {torch.get_num_threads()} threads)")
    print(f"{'':12s} {'train s':>8s} {'encode s':>9s} {'tokens/byte':>12s}")
    for name, r in out.items():
        print(f"{name:12s} {r['train_s']:8.2f} {r['encode_s']:9.2f} {r['tokens_per_byte']:12.4f}")
    print(f"{'course/HF':12s} {c['train_s'] / h['train_s']:7.1f}x {c['encode_s'] / h['encode_s']:8.1f}x "
          f"{c['tokens_per_byte'] / h['tokens_per_byte']:11.3f}x")
    return out


def bench_train(steps: int = 30, warmup: int = 5, rounds: int = 3) -> dict:
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    transformers.logging.set_verbosity_error()  # its config chatter is not a benchmark figure

    from helpers.gpt import GPT, GPTConfig
    from helpers.pretrain import TrainConfig, make_optimizer

    B, T = 12, 64
    results: dict[str, list[float]] = {}
    models = {}
    for vocab in (2048, 84):
        torch.manual_seed(0)
        ours = GPT(GPTConfig(vocab_size=vocab, block_size=T, n_layer=4, n_head=4, n_embd=128))
        hf = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=T, n_embd=128, n_layer=4, n_head=4,
                                        activation_function="gelu_new", resid_pdrop=0, embd_pdrop=0, attn_pdrop=0,
                                        bos_token_id=vocab - 1, eos_token_id=vocab - 1))
        hf.config._attn_implementation = "sdpa"
        models[f"course GPT, vocab {vocab}"] = (ours, make_optimizer(ours, TrainConfig()), vocab, False)
        models[f"HF GPT-2,   vocab {vocab}"] = (hf, make_optimizer(hf, TrainConfig()), vocab, True)

    def one_step(model, opt, vocab, is_hf):
        x = torch.randint(0, vocab, (B, T))
        if is_hf:
            loss = model(input_ids=x, labels=x).loss
        else:
            loss = model(x, x)[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(rounds):  # interleave the models, a block of steps each, several rounds
        for name, (model, opt, vocab, is_hf) in models.items():
            for _ in range(warmup):
                one_step(model, opt, vocab, is_hf)
            for _ in range(steps):
                start = time.perf_counter()
                one_step(model, opt, vocab, is_hf)
                results.setdefault(name, []).append(time.perf_counter() - start)
    print(f"training step benchmark: nanoGPT's CPU recipe (4 layers, 4 heads, 128 wide, context {T}, batch {B}), "
          f"{torch.get_num_threads()} threads, median of {rounds * steps} steps")
    out = {}
    for name, times in results.items():
        ms = statistics.median(times) * 1000
        out[name] = {"ms_per_step": ms, "tokens_per_s": B * T / (ms / 1000)}
        print(f"{name:24s} {ms:7.1f} ms/step {B * T / (ms / 1000):9,.0f} tokens/s")
    for vocab in (2048, 84):
        ratio = out[f"HF GPT-2,   vocab {vocab}"]["ms_per_step"] / out[f"course GPT, vocab {vocab}"]["ms_per_step"]
        print(f"vocab {vocab}: the course GPT is {ratio:.2f}x the speed of HF GPT-2")
    print("reference: nanoGPT's own model at this recipe, character-level (vocab 84), measured on a quiet 2-core AMD "
          f"EPYC with torch 2.13 CPU in 2026-11: about 62-78 ms/step ({B * T} tokens a step: 10-12k tokens/s)")
    return out


def bench_kvcache(repeats: int = 3) -> dict:
    from helpers.checkpoint import load_model
    from helpers.data import data_dir, load_corpus
    from helpers.decoding import greedy
    from helpers.gpt import GPT
    from helpers.tokenizer import BPETokenizer

    shipped = load_model(data_dir() / "gpt")
    torch.manual_seed(0)
    wide = GPT(replace(shipped.config, block_size=320, dropout=0.0)).eval()
    text = BPETokenizer.load(data_dir() / "tokenizer.json").encode(load_corpus("modern", split="validation"))
    cases = [("shipped, 1 + 127 new tokens", shipped, [text[0]], 127),
             ("shipped, 1 + 256 new (window slides)", shipped, [text[0]], 256),
             ("block_size 320, 64 + 256 new tokens", wide, text[:64], 256)]
    print(f"KV-cache benchmark: greedy decoding (prompt + new tokens), course architecture "
          f"({shipped.config.n_layer} layers, {shipped.config.n_head} heads, {shipped.config.n_embd} wide), "
          f"{torch.get_num_threads()} threads, median of {repeats}")
    print(f"{'':40s} {'cached s':>9s} {'uncached s':>11s} {'speed-up':>9s}")
    out = {}
    for name, model, prompt, n in cases:
        times = {True: [], False: []}
        tokens = {}
        for _ in range(repeats):  # alternate, so that machine noise hits both alike
            for use_cache in (True, False):
                t, tokens[use_cache] = _median_time(
                    lambda m=model, p=prompt, n=n, c=use_cache: greedy(m, p, n, use_cache=c), 1)
                times[use_cache].append(t)
        if tokens[True] != tokens[False]:
            raise AssertionError(f"{name}: cached and uncached generation gave different tokens")
        cached, plain = statistics.median(times[True]), statistics.median(times[False])
        out[name] = {"cached_s": cached, "uncached_s": plain, "speed_up": plain / cached}
        print(f"{name:40s} {cached:9.2f} {plain:11.2f} {plain / cached:8.1f}x")
    print("a cached step costs about the same at any length (it reads every weight once for one token);"
          " the uncached one grows with the context")
    return out


def bench_quality(fixed: bool = False, probe_steps: int = 20, rounds: int = 3, recipe=None, candidate=None,
                  data: tuple | None = None) -> dict:
    """Time to quality: ``recipe`` (default nanoGPT's CPU recipe) against ``candidate`` (default the notebook's
    compute-optimal configuration) in the same wall time. ``data`` = (train ids, validation ids, validation
    characters, vocabulary size); default the course tokens."""
    from helpers.compute_optimal import COMPUTE_OPTIMAL, NANOGPT_CPU, ms_per_step, train_recipe

    if data is None:
        from helpers.data import data_dir
        from helpers.pretrain import token_stream
        from helpers.tokenizer import BPETokenizer

        tok = BPETokenizer.load(data_dir() / "tokenizer.json")
        data = (*token_stream(tok, "train")[:1], *token_stream(tok, "validation"), tok.vocab_size)
    train_ids, val_ids, val_chars, vocab_size = data
    recipe, candidate = recipe or NANOGPT_CPU, candidate or COMPUTE_OPTIMAL
    probes: dict[str, list[float]] = {recipe.name: [], candidate.name: []}
    for _ in range(rounds):  # alternate, so that machine noise hits both alike
        for r in (recipe, candidate):
            probes[r.name].append(ms_per_step(r, train_ids, vocab_size, steps=probe_steps))
    ms = {name: statistics.median(t) for name, t in probes.items()}
    steps = candidate.steps if fixed else max(1, round(recipe.steps * ms[recipe.name] / ms[candidate.name]))
    how = (f"the notebook's fixed {steps:,} steps" if fixed else
           f"{recipe.steps:,} x {ms[recipe.name]:.1f} / {ms[candidate.name]:.1f} ms per step = {steps:,} steps")
    print(f"time-to-quality benchmark: {torch.get_num_threads()} threads; the compute-optimal run gets {how}")
    out = {}
    for r, n in ((recipe, recipe.steps), (candidate, steps)):
        out[r.name] = train_recipe(r, train_ids, val_ids, val_chars, vocab_size, steps=n, progress=False)
    print(f"{'':32s} {'shape':>8s} {'params':>10s} {'steps':>6s} {'epochs':>6s} {'wall s':>7s} "
          f"{'nats/token':>10s} {'nats/char':>9s}")
    for name, r in out.items():
        print(f"{name:32s} {r['shape']:>8s} {r['params']:10,} {r['steps']:6,} {r['epochs']:6.2f} {r['seconds']:7.1f} "
              f"{r['val']:10.4f} {r['nats_per_char']:9.4f}")
    a, b = out[recipe.name], out[candidate.name]
    print(f"difference (recipe - compute-optimal): {a['nats_per_char'] - b['nats_per_char']:+.4f} nats per character; "
          f"loss ratio {b['nats_per_char'] / a['nats_per_char']:.3f}; wall-time ratio {b['seconds'] / a['seconds']:.2f}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="all", choices=["tokenizer", "train", "pipeline", "kvcache", "quality", "all"])
    parser.add_argument("--fixed", action="store_true",
                        help="quality: the notebook's fixed step count instead of one from measured ms per step")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.what in ("tokenizer", "all"):
        bench_tokenizer()
    if args.what in ("train", "all"):
        bench_train()
    if args.what in ("pipeline", "all"):
        from helpers.bench_pipeline import bench_pipeline

        bench_pipeline()
    if args.what in ("kvcache", "all"):
        bench_kvcache()
    if args.what in ("quality", "all"):
        bench_quality(fixed=args.fixed)


if __name__ == "__main__":
    main()
