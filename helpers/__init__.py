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
- ``helpers.rnn``: RNN and LSTM cells from scratch, an RNN language model, gradient-vs-distance tools, the recall task (notebook 02).
- ``helpers.attention``: scaled dot-product attention, masks and multi-head attention (notebooks 04-05).
- ``helpers.attention_view``: the course GPT's attention as heatmaps, an interactive explorer, head statistics, bertviz.
- ``helpers.pretrained``: a real pretrained encoder offline (MiniLM, optional extra) and its attention.
- ``helpers.transformer``: the Transformer block's pieces: feed-forward, LayerNorm, RMSNorm, sinusoidal positions, pre-/post-LN block (notebook 06).
- ``helpers.web_crawl``: the data pipeline's raw input: a synthetic web crawl (seeded page generator) and the plays cut into pages (notebook 08).
- ``helpers.pipeline``, ``helpers.minhash``: a Dolma-style data pipeline (decoding, language ID, Gopher/C4 rules, exact and MinHash/LSH near-dedup, PII masking, split, data card) (notebook 08).
- ``helpers.tokenizer``: byte-level BPE (train, encode, decode, save, load); the course tokenizer.
- ``helpers.gpt``: the course GPT (GPT-2 architecture; multi-, grouped- and multi-query attention; a KV cache) and its Hugging Face conversion.
- ``helpers.sparse_attention``: Sparse Transformer masks (local, strided, fixed), receptive fields, attended-pair counts (notebook 11).
- ``helpers.gqa``: grouped-query attention: K/V parameter counts, MHA -> GQA conversion by mean-pooling, a short training loop (notebook 11).
- ``helpers.objectives``: BERT's masking (80/10/10) and NSP pairs, T5's span corruption, the three families' masks (notebook 07).
- ``helpers.param_count``: parameter counts of GPT, BERT and T5 by formula from their configs; GPT-3's model table (notebook 07).
- ``helpers.pretrain``: the pretraining loop, runnable as ``python -m helpers.pretrain``.
- ``helpers.checkpoint``: atomic safetensors checkpoints; loading the shipped model.
- ``helpers.decoding``: greedy, beam search, temperature/top-k/top-p sampling (matching Hugging Face's ``generate``), repetition and diversity measures (notebook 12).
- ``helpers.decoding_view``: decoding as pictures: next-token probability bars, the beam-search tree, sampling sliders (notebook 12).
- ``helpers.evaluation``: confidence intervals, a held-out multiple-choice quiz scored by log-likelihood, a classification head and fine-tuning, arithmetic exact match (notebook 13).
- ``helpers.skill_profile``: a FLASK-style skill profile of generated text: automatic measures mapped to 0..1, a radar chart (notebook 13).
- ``helpers.bench``: benchmarks that print figures beside Hugging Face's, and the KV-cache speed-up (``make bench``).
- ``helpers.bench_pipeline``: documents per second through each stage of the data pipeline.
- ``helpers.exercises``: ``check()`` for the self-check cells of the exercises.
- ``helpers.nbtools``: notebook maintenance (Colab cell, badge, policy checks, re-running).
"""

__version__ = "0.1.0"
