"""Prompting without fine-tuning, measured: zero- and few-shot prompts and their scores (notebook 14).

Brown et al. (2020) call it in-context learning (文脈内学習): the task is shown only in the prompt, as an
instruction and k solved examples ("shots"; k = 0 is zero-shot, ゼロショット; k > 0 few-shot, フューショット), and the
weights never change. This module builds such prompts from a ``helpers.prompt_tasks.Task`` and scores a model on
them:

- ``plain_prompt``: the instruction, the first k shots, then the question, one per line ("Country: Kenya\\n
  Capital:"); the answer follows after a space and ends the line.
- ``chat_prompt``: the same lines as a conversation in SmolLM2's chat template (ChatML: ``<|im_start|>role ...
  <|im_end|>``, with its default system message): each shot is a user turn and the assistant's answer.
- ``score_task``: exact match (完全一致) for free answers: the item counts as right when greedy decoding would
  write exactly an accepted answer and then end the line (or the turn). This is checked in one forward pass, by
  teacher forcing: every answer token must be the most likely next token, and so must a line or turn end after
  it. (Greedy decoding that spells the same answer with other tokens is counted wrong; rare.) Tasks with
  ``options`` (sentiment) are scored by the options' log-likelihood (対数尤度): the most likely option is the
  model's choice. The prompts of one setting share their first tokens (instruction and shots); those are read
  once and their keys and values reused for every question (``helpers.gpt.KVCache``).
- ``accuracy_row``: an accuracy with its Wilson interval (``helpers.evaluation``).

Models follow the course GPT's interface (``model(idx, cache=...) -> (logits, loss)``, ``config.block_size``);
``encode`` is a tokenizer's ``encode`` (text -> ids, special tokens such as ``<|im_start|>`` as single ids).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from helpers.evaluation import wilson_interval
from helpers.gpt import KVCache
from helpers.prompt_tasks import Task

FORMATS = ("plain", "chat")
SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"  # its template's default
END_TEXTS = ("<|im_end|>", "<|endoftext|>")  # besides a line break, these end an answer


# ----- prompts ------------------------------------------------------------------------------------------------
def _check_k(task: Task, k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(task.shots):
        raise ValueError(f"k must be an int in [0, {len(task.shots)}] (the task has {len(task.shots)} shots), got {k!r}")


def plain_prompt(task: Task, x: str, k: int) -> str:
    """Instruction, k demonstrations and the question, one per line; the model writes " answer\\n" next."""
    _check_k(task, k)
    lines = [task.instruction]
    lines += [f"{task.template.format(x=shot.x)} {shot.answers[0]}" for shot in task.shots[:k]]
    lines.append(task.template.format(x=x))
    return "\n".join(lines)


def chat_messages(task: Task, x: str, k: int) -> list[dict[str, str]]:
    """The conversation: the instruction opens the first user turn; each shot is a user turn and its answer."""
    _check_k(task, k)
    messages = []
    for i, shot in enumerate(task.shots[:k]):
        opening = f"{task.instruction}\n" if i == 0 else ""
        messages.append({"role": "user", "content": opening + task.template.format(x=shot.x)})
        messages.append({"role": "assistant", "content": shot.answers[0]})
    messages.append({"role": "user", "content": (f"{task.instruction}\n" if k == 0 else "") + task.template.format(x=x)})
    return messages


def render_chat(messages: list[dict[str, str]], system: str = SMOLLM2_SYSTEM) -> str:
    """ChatML as SmolLM2's template writes it (with ``add_generation_prompt``): the assistant's turn is open."""
    if messages and messages[0]["role"] == "system":
        system, messages = messages[0]["content"], messages[1:]
    turns = [{"role": "system", "content": system}, *messages]
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in turns) + "<|im_start|>assistant\n"


def chat_prompt(task: Task, x: str, k: int, system: str = SMOLLM2_SYSTEM) -> str:
    """``chat_messages`` rendered with SmolLM2's chat template; the model writes "answer<|im_end|>" next."""
    return render_chat(chat_messages(task, x, k), system)


def make_prompt(task: Task, x: str, k: int, fmt: str = "plain") -> tuple[str, str]:
    """(prompt, what goes before an answer): (plain_prompt, " ") or (chat_prompt, "")."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    return (plain_prompt(task, x, k), " ") if fmt == "plain" else (chat_prompt(task, x, k), "")


# ----- scoring ------------------------------------------------------------------------------------------------
@dataclass
class Continuations:
    """For each row: the log-probability of each continuation token, and the most likely token at each
    continuation position plus one after it (``greedy[j]`` is what greedy decoding would write instead of
    continuation token j; ``greedy[-1]`` what it would write after the whole continuation)."""

    log_probs: list[torch.Tensor]  # row i: (len(cont_i),)
    greedy: list[list[int]]  # row i: len(cont_i) + 1 ids


def _common_prefix(rows: list[list[int]]) -> int:
    n = min(len(r) for r in rows)
    for j in range(n):
        if any(r[j] != rows[0][j] for r in rows):
            return j
    return n


@torch.no_grad()
def score_continuations(model, prompts: list[list[int]], continuations: list[list[int]],
                        batch_size: int = 16) -> Continuations:
    """Teacher-forced scores of ``continuations[i]`` after ``prompts[i]`` (token ids), in batches.

    The prompts' longest common prefix is read once (a KV cache) and shared by every row; each row then reads its
    own rest of the prompt and its continuation, padded on the right (a causal model never looks right, so the
    padding changes nothing before it). Raises ValueError if a prompt or continuation is empty or a row does not
    fit in the model's context window.
    """
    if len(prompts) != len(continuations) or not prompts:
        raise ValueError(f"need one continuation per prompt and at least one row, got {len(prompts)} and "
                         f"{len(continuations)}")
    if any(not p for p in prompts) or any(not c for c in continuations):
        raise ValueError("every prompt and every continuation needs at least one token")
    longest = max(len(p) + len(c) for p, c in zip(prompts, continuations, strict=True))
    if longest > model.config.block_size:
        raise ValueError(f"a prompt with its continuation has {longest} tokens, more than the context window "
                         f"({model.config.block_size})")
    device = next(model.parameters()).device
    shared = min(_common_prefix(prompts), min(len(p) for p in prompts) - 1)  # each row keeps >= 1 prompt token
    prefix = KVCache()
    if shared:
        model(torch.tensor([prompts[0][:shared]], device=device), cache=prefix)
    log_probs, greedy = [], []
    for start in range(0, len(prompts), batch_size):
        rows = list(range(start, min(start + batch_size, len(prompts))))
        suffixes = [prompts[i][shared:] + continuations[i] for i in rows]
        width = max(len(s) for s in suffixes)
        idx = torch.zeros(len(rows), width, dtype=torch.long)
        for r, s in enumerate(suffixes):
            idx[r, :len(s)] = torch.tensor(s)
        cache = KVCache()
        if shared:  # every row starts from the same prefix: a view, not a copy
            cache.k = [k.expand(len(rows), -1, -1, -1) for k in prefix.k]
            cache.v = [v.expand(len(rows), -1, -1, -1) for v in prefix.v]
        logits, _ = model(idx.to(device), cache=cache if shared else None)  # (B, width, V)
        for r, i in enumerate(rows):
            first = len(prompts[i]) - shared - 1  # the position that predicts the first continuation token
            steps = logits[r, first:first + len(continuations[i]) + 1].float()  # (len(cont) + 1, V)
            cont = torch.tensor(continuations[i], device=steps.device)
            lp = steps[:-1].log_softmax(-1).gather(-1, cont[:, None])[:, 0]
            log_probs.append(lp.cpu())
            greedy.append(steps.argmax(-1).tolist())
    return Continuations(log_probs, greedy)


@dataclass
class TaskScore:
    """What ``score_task`` measured on one task in one setting."""

    task: str
    k: int
    fmt: str
    correct: list[bool]
    predictions: list[str]  # exact match: the answer it got right or "" ; options: the chosen option

    @property
    def n(self) -> int:
        return len(self.correct)

    @property
    def successes(self) -> int:
        return int(sum(self.correct))

    @property
    def accuracy(self) -> float:
        return self.successes / self.n

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n, confidence)


def _end_ids(encode) -> set[int]:
    """The ids of the end-of-turn and end-of-text tokens that the tokenizer has (each must be one token)."""
    ends = set()
    for text in END_TEXTS:
        ids = encode(text)
        if len(ids) == 1:
            ends.add(ids[0])
    return ends


def score_task(model, tok, task: Task, k: int, fmt: str = "plain", n_items: int | None = None,
               batch_size: int = 16) -> TaskScore:
    """Score ``model`` on the first ``n_items`` items of ``task`` with k-shot prompts in format ``fmt``.

    ``tok`` has ``encode`` and ``decode`` (the course ``BPETokenizer``). Exact match: right when the greedy
    continuation is an accepted answer followed by a line break or an end token. Options: right when the correct
    option has the highest summed log-probability.
    """
    items = task.items if n_items is None else task.items[:n_items]
    if not items:
        raise ValueError("no items to score")
    prompts, conts, owner, labels = [], [], [], []
    for n, item in enumerate(items):
        prompt, space = make_prompt(task, item.x, k, fmt)
        p_ids = tok.encode(prompt)
        for answer in (task.options or item.answers):
            full = tok.encode(prompt + space + answer)
            if full[:len(p_ids)] != p_ids:  # the answer must not change how the prompt's end is tokenized
                raise ValueError(f"{task.name}: {answer!r} merges with the end of the prompt {prompt[-20:]!r}")
            prompts.append(p_ids)
            conts.append(full[len(p_ids):])
            owner.append(n)
            labels.append(answer)
    scored = score_continuations(model, prompts, conts, batch_size)
    correct, predictions = [False] * len(items), [""] * len(items)
    if task.options:
        best: dict[int, tuple[float, str]] = {}
        for row, n in enumerate(owner):
            total = float(scored.log_probs[row].sum())
            if n not in best or total > best[n][0]:
                best[n] = (total, labels[row])
        for n, item in enumerate(items):
            predictions[n] = best[n][1]
            correct[n] = best[n][1] == item.answers[0]
    else:
        ends = _end_ids(tok.encode)

        def ends_line(token: int) -> bool:
            return token in ends or tok.decode([token]).startswith("\n")

        for row, n in enumerate(owner):
            g, cont = scored.greedy[row], conts[row]
            if g[:-1] == cont and ends_line(g[-1]):
                correct[n], predictions[n] = True, labels[row]
    return TaskScore(task.name, k, fmt, correct, predictions)


def accuracy_row(score: TaskScore) -> str:
    """'0.625 [0.468, 0.759]': accuracy and its 95% Wilson interval."""
    lo, hi = score.interval()
    return f"{score.accuracy:.3f} [{lo:.3f}, {hi:.3f}]"
