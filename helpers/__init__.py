"""helpers: the canonical code of the course "Transformers and LLM pretraining".

Each notebook builds a piece in front of the learner, then imports the canonical
version from here. One module per idea:

- ``helpers.course``: ``setup()``, the one call at the top of every notebook
  (seeds, threads, figure style, device, fast/full mode), and the course map.
- ``helpers.plotting``: the shared figure style and the Japanese font fallback.
- ``helpers.data``: the Shakespeare corpus shipped in ``data/``, checked by sha256.
- ``helpers.words``: word-level splitting and a word vocabulary, for the pre-Transformer notebooks 01-03.
- ``helpers.ngram``, ``helpers.neural_lm``: n-gram LMs (smoothing, perplexity, sampling, sparsity) and a Bengio-style neural LM (notebook 01).
- ``helpers.word2vec``: word2vec (skip-gram and CBOW with negative sampling), nearest neighbours, analogies (notebook 03).
- ``helpers.rnn``: RNN, LSTM and GRU cells from scratch, an RNN language model, gradient-vs-distance tools, the recall task (notebook 02).
- ``helpers.seq2seq``: a GRU encoder-decoder with a fixed context vector and with additive (Bahdanau) attention, on reversal (notebook 02).
- ``helpers.attention``: scaled dot-product attention, masks and multi-head attention (notebooks 04-05).
- ``helpers.layer_cost``: what a recurrent and a self-attention layer cost: FLOPs, sequential steps, path length, timed (notebook 04).
- ``helpers.induction``: induction and previous-token head scores, head ablation, the in-context learning score (notebooks 05, 14).
- ``helpers.attention_view``: the course GPT's attention as heatmaps, an interactive explorer, head statistics, bertviz.
- ``helpers.pretrained``: a real pretrained encoder offline (MiniLM, optional extra) and its attention.
- ``helpers.transformer``: the Transformer block's pieces: feed-forward, LayerNorm, RMSNorm, sinusoidal positions, pre-/post-LN block (notebook 06).
- ``helpers.web_crawl``: the data pipeline's raw input: a synthetic web crawl (seeded page generator) and the plays cut into pages (notebook 08).
- ``helpers.pipeline``, ``helpers.minhash``: a Dolma-style data pipeline (decoding, language ID, Gopher/C4 rules, exact and MinHash/LSH near-dedup, PII masking, split, data card) (notebook 08).
- ``helpers.tokenizer``: byte-level BPE (train, encode, decode, save, load); the course tokenizer; reading a Hugging Face ``tokenizer.json``.
- ``helpers.japanese``: Japanese text and the English-trained tools (the one-line note), and tokenizing Japanese: SentencePiece, characters per token (notebook 09).
- ``helpers.gpt``: the course GPT (GPT-2 architecture; multi-, grouped- and multi-query attention; a KV cache) and its Hugging Face conversion.
- ``helpers.sparse_attention``: Sparse Transformer masks (local, strided, fixed), receptive fields, attended-pair counts (notebook 11).
- ``helpers.gqa``: grouped-query attention: K/V parameter counts, MHA -> GQA conversion by mean-pooling, a short training loop (notebook 11).
- ``helpers.text_tasks``: toy text-to-text tasks with T5-style prefixes, mixed, for multi-task training (notebook 07).
- ``helpers.objectives``: BERT's masking (80/10/10) and NSP pairs, T5's span corruption, the three families' masks (notebook 07).
- ``helpers.param_count``: parameter counts of GPT, BERT and T5 by formula from their configs; GPT-3's model table (notebook 07).
- ``helpers.pretrain``: the pretraining loop, runnable as ``python -m helpers.pretrain``.
- ``helpers.compute_optimal``: Chinchilla's arithmetic, IsoFLOP fits, nats per character, time to quality (notebook 10).
- ``helpers.checkpoint``: atomic safetensors checkpoints; loading the shipped model.
- ``helpers.decoding``: greedy, beam search, temperature/top-k/top-p sampling (matching Hugging Face's ``generate``), repetition penalties, repetition and diversity measures (notebook 12).
- ``helpers.decoding_view``: decoding as pictures: next-token probability bars, the beam-search tree, sampling sliders (notebook 12).
- ``helpers.evaluation``: confidence intervals, a held-out multiple-choice quiz scored by log-likelihood, a classification head and fine-tuning, arithmetic exact match (notebook 13).
- ``helpers.skill_profile``: a FLASK-style skill profile of generated text: automatic measures mapped to 0..1, a radar chart (notebook 13).
- ``helpers.llama``, ``helpers.smollm2``: a Llama-style decoder (RMSNorm, RoPE, SwiGLU, GQA) and SmolLM2-135M's weights, offline (notebook 14).
- ``helpers.prompt_tasks``, ``helpers.few_shot``: a course-written task set and zero-/few-shot prompts scored by exact match or option likelihood (notebook 14).
- ``helpers.bench``: benchmarks that print figures beside Hugging Face's, and the KV-cache speed-up (``make bench``).
- ``helpers.bench_pipeline``: documents per second through each stage of the data pipeline.
- ``helpers.exercises``: ``check()`` for the self-check cells of the exercises.
- ``helpers.nbtools``: notebook maintenance (Colab cell, badge, policy checks, re-running).
- ``helpers.translation``: the Japanese edition: gettext catalogues per notebook and the Japanese notebooks built from them.
- ``helpers.slides``: slide metadata from the notebooks' headings, and static reveal.js decks (``make slides``).
"""

__version__ = "0.1.0"
