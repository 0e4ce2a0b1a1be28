"""Benchmark of the data pipeline (notebook 08): documents per second through each stage.

``python -m helpers.bench_pipeline`` (or ``bench_pipeline()``) builds the pipeline's whole input with
``helpers.web_crawl.raw_documents`` (both editions of every work, cut into chunks, plus the generated web pages),
runs ``helpers.pipeline.run_pipeline`` over it a few times and prints, per stage, the documents that entered it,
the median seconds and documents per second.
The near-duplicate stage is also split into its three parts (shingle hashing, MinHash signatures, LSH).
"""

from __future__ import annotations

import argparse
import statistics
import time


def bench_pipeline(repeats: int = 3, works=None) -> dict:
    """Run the pipeline ``repeats`` times over ``raw_documents(works)``; print and return the median figures.

    Returns ``{stage: {"docs": n, "seconds": s, "docs_per_s": n / s}}`` plus a "total" entry.
    """
    from helpers.pipeline import STAGES, run_pipeline
    from helpers.web_crawl import raw_documents

    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    docs = raw_documents(works)
    runs, totals, result = [], [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_pipeline(docs)
        totals.append(time.perf_counter() - start)
        runs.append(result.seconds)
    out = {}
    names = [*STAGES[:5], "near_dedup: shingles", "near_dedup: minhash", "near_dedup: lsh", STAGES[5]]
    for name in names:
        stage = name.split(":")[0]
        n = result.docs_in[stage]
        sec = statistics.median(r[name] for r in runs)
        out[name] = {"docs": n, "seconds": sec, "docs_per_s": n / sec if sec > 0 else float("inf")}
    total = statistics.median(totals)
    out["total"] = {"docs": len(docs), "seconds": total, "docs_per_s": len(docs) / total}
    kept = len(result.kept())
    print(f"data pipeline benchmark: {len(docs):,} documents in, {kept:,} out "
          f"(median of {repeats} runs, one process)")
    print(f"{'stage':22s} {'docs in':>8s} {'seconds':>8s} {'docs/s':>10s}")
    for name, row in out.items():
        label = "  " + name.split(": ")[1] if ": " in name else name
        print(f"{label:22s} {row['docs']:8,d} {row['seconds']:8.2f} {row['docs_per_s']:10,.0f}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench_pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs to take the median of (default 3)")
    args = parser.parse_args(argv)
    bench_pipeline(args.repeats)


if __name__ == "__main__":
    main()
