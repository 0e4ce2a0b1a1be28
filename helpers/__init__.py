"""helpers: the canonical code of the course "Transformers and LLM pretraining".

Each notebook builds a piece in front of the learner, then imports the canonical
version from here. One module per idea:

- ``helpers.course``: ``setup()``, the one call at the top of every notebook
  (seeds, threads, figure style, device, fast/full mode), and the course map.
- ``helpers.plotting``: the shared figure style and the Japanese font fallback.
- ``helpers.data``: the Shakespeare corpus shipped in ``data/``, checked by sha256.
- ``helpers.words``: word-level splitting and a word vocabulary, for the pre-Transformer notebooks 01-03.
- ``helpers.attention``: scaled dot-product attention, masks and multi-head attention (notebooks 04-05).
- ``helpers.attention_view``: the course GPT's attention as heatmaps, an interactive explorer, head statistics, bertviz.
- ``helpers.pretrained``: a real pretrained encoder offline (MiniLM, optional extra) and its attention.
- ``helpers.tokenizer``: byte-level BPE (train, encode, decode, save, load); the course tokenizer.
- ``helpers.gpt``: the course GPT (GPT-2 architecture) and its Hugging Face conversion.
- ``helpers.pretrain``: the pretraining loop, runnable as ``python -m helpers.pretrain``.
- ``helpers.checkpoint``: atomic safetensors checkpoints; loading the shipped model.
- ``helpers.bench``: benchmarks that print figures beside Hugging Face's (``make bench``).
- ``helpers.exercises``: ``check()`` for the self-check cells of the exercises.
- ``helpers.nbtools``: notebook maintenance (Colab cell, badge, policy checks, re-running).
"""

__version__ = "0.1.0"
