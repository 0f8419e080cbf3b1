"""Benchmark: our loaders against the obvious alternatives, on full-size synthetic files.

    python benchmarks/bench.py [--scales 1,10] [--runs 3] [--out benchmarks/results.json]

Writes files in the upstream formats with a fixed seed (Align-Anything `en`: ~104k train rows, ~200 MB;
alpha: ~67k rows over two files), then measures, alternating the contenders and taking medians:
- preparing `en` with load() (one process, and num_proc=2) against datasets.load_dataset("json");
- preparing alpha `all` with load() against json.load + parse + Dataset.from_list;
- streaming each builder: time to the first row, rows per second over a full pass, peak memory.
Every measurement runs in a fresh process with a fresh cache. Prints a table and writes it as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALIGN_TRAIN_ROWS, ALIGN_TEST_ROWS = 104_000, 1_050
ALPHA_ROWS = {"part1": 33_565, "part2": 33_565}
ALPHA_SOURCES = (
    ["dahoas"] * 49
    + ["anthrop_helpful"] * 9
    + ["anthrop_redteam"] * 10
    + ["synth_code"] * 5
    + ["conala"] * 4
    + ["synth_qa"] * 23
)
WORDS = "the of and to a in is you that it for on with as are this be can your have not or by from".split()


def _text(rng: random.Random, words: int) -> str:
    parts = rng.choices(WORDS, k=words)
    for i in range(12, len(parts), rng.randint(12, 40)):
        parts[i] += rng.choice([".", ",", ".\n\n", "?", ".\n"])
    return " ".join(parts)


def write_align(root: Path, scale: int, seed: int = 0) -> Path:
    """data/train.jsonl (~200 MB at scale 1) and data/test.jsonl, as upstream."""
    rng = random.Random(seed)
    (root / "data").mkdir(parents=True, exist_ok=True)
    for split, rows in (("train", ALIGN_TRAIN_ROWS * scale), ("test", ALIGN_TEST_ROWS * scale)):
        with open(root / "data" / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for _ in range(rows):
                row = {"prompt": _text(rng, rng.randint(10, 120)), "response": _text(rng, rng.randint(200, 600))}
                f.write(json.dumps(row) + "\n")
    return root


def write_alpha(root: Path, scale: int, seed: int = 1) -> Path:
    """The two alpha files (JSON arrays of [source, text])."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for part, rows in ALPHA_ROWS.items():
        items = []
        for _ in range(rows * scale):
            prompt, response = _text(rng, rng.randint(8, 80)), _text(rng, rng.randint(20, 160))
            items.append([rng.choice(ALPHA_SOURCES), f"{prompt}\n\nRosey: {response}<|endoftext|>"])
        with open(root / f"instruction_tuning_dataset_alpha_{part}.json", "w", encoding="utf-8") as f:
            json.dump(items, f)
    return root


# One full streaming pass over train: prints rows, seconds to the first row, rows per second.
_STREAMING = """
import time
from instruction_datasets import load
start = time.perf_counter()
it = iter(load("{script}", "{config}", split="train", data_dir=DATA, streaming=True))
next(it)
first = time.perf_counter() - start
n = 1 + sum(1 for _ in it)
print(n, first, n / (time.perf_counter() - start))
"""

# Each contender is a snippet run in a fresh process; it prints the number of rows it produced.
CONTENDERS = {
    "en_ours": """
from instruction_datasets import load
ds = load("align_anything_instruction", "en", data_dir=DATA, cache_dir=CACHE)
print(ds["train"].num_rows + ds["test"].num_rows)
""",
    "en_ours_num_proc_2": """
from instruction_datasets import load
ds = load("align_anything_instruction", "en", data_dir=DATA, cache_dir=CACHE, num_proc=2)
print(ds["train"].num_rows + ds["test"].num_rows)
""",
    "en_packaged_json": """
import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
files = {s: f"{DATA}/data/{s}.jsonl" for s in ("train", "test")}
ds = datasets.load_dataset("json", data_files=files, cache_dir=CACHE)
print(ds["train"].num_rows + ds["test"].num_rows)
""",
    "alpha_ours": """
from instruction_datasets import load
print(load("instruction_tuning_alpha", "all", split="train", data_dir=DATA, cache_dir=CACHE).num_rows)
""",
    "alpha_json_from_list": """
import json, datasets
import instruction_tuning_alpha as alpha
rows = []
for part in ("part1", "part2"):
    with open(f"{DATA}/instruction_tuning_dataset_alpha_{part}.json", encoding="utf-8") as f:
        for source, text in json.load(f):
            prompt, response, _ = alpha.parse_text(text)
            rows.append({"source": source, "category": alpha._CATEGORIES.get(source, "other"), "prompt": prompt,
                         "response": response, "text": text,
                         "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]})
ds = datasets.Dataset.from_list(rows)
ds.save_to_disk(CACHE + "/saved")  # written to disk, as a prepared dataset is
print(ds.num_rows)
""",
    "en_streaming": _STREAMING.format(script="align_anything_instruction", config="en"),
    "alpha_streaming": _STREAMING.format(script="instruction_tuning_alpha", config="all"),
}


def run(name: str, data: Path) -> dict:
    """Runs one contender in a fresh process; returns wall seconds, peak RSS (MiB) and what it printed."""
    with tempfile.TemporaryDirectory() as cache:
        code = f"DATA, CACHE = {str(data)!r}, {cache!r}\n" + CONTENDERS[name]
        wrapper = (
            "import time\n"
            "start = time.perf_counter()\n"
            f"exec(compile({code!r}, 'bench', 'exec'))\n"
            "print('WALL', time.perf_counter() - start)\n"
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec.
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "print('RSS', int(hwm) / 1024)\n"
        )
        env = dict(os.environ, HF_DATASETS_DISABLE_PROGRESS_BARS="1", HF_HUB_OFFLINE="1")
        out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env, check=True)
    lines = out.stdout.strip().splitlines()
    values = dict(line.split(" ", 1) for line in lines if line.startswith(("WALL", "RSS")))
    return {"seconds": float(values["WALL"]), "rss_mib": float(values["RSS"]), "result": lines[0].split()}


def median_runs(names: list[str], data: Path, runs: int) -> dict[str, list[dict]]:
    """Alternates the contenders run by run, so that drift in the machine hits all alike."""
    results: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            results[name].append(run(name, data))
    return results


def summarise(results: list[dict]) -> dict:
    return {
        "median_s": statistics.median(r["seconds"] for r in results),
        "peak_rss_mib": max(r["rss_mib"] for r in results),
        "rows": int(results[0]["result"][0]),
        **(
            {
                "first_row_s": statistics.median(float(r["result"][1]) for r in results),
                "rows_per_s": statistics.median(float(r["result"][2]) for r in results),
            }
            if len(results[0]["result"]) == 3
            else {}
        ),
    }


def _leaf_digests(array: pa.ChunkedArray, path: str, digests: dict) -> None:
    """Feeds each leaf of a column to its own hashers: list lengths, string lengths and bytes, null counts.

    Only values count, not how Arrow cut the column into chunks: each stream is hashed on its own.
    """
    for chunk in array.chunks:
        if pa.types.is_list(chunk.type):
            digests.setdefault(path + "[]", hashlib.sha256()).update(
                pc.list_value_length(chunk).to_numpy(zero_copy_only=False).astype("<i8").tobytes()
            )
            _leaf_digests(pa.chunked_array([chunk.flatten()]), path + "[]", digests)
        elif pa.types.is_struct(chunk.type):
            for field, child in zip(chunk.type, chunk.flatten()):
                _leaf_digests(pa.chunked_array([child]), f"{path}.{field.name}", digests)
        else:
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
            digests.setdefault(path + "#", hashlib.sha256()).update(np.diff(offsets).astype("<i8").tobytes())
            data = chunk.buffers()[2]
            digests.setdefault(path, hashlib.sha256()).update(
                memoryview(data)[offsets[0] : offsets[-1]] if data is not None else b""
            )
        digests.setdefault(path + "!", hashlib.sha256()).update(str(chunk.null_count).encode())


def row_hash(data: Path, script: str = "align_anything_instruction", config: str = "en") -> str:
    """One SHA-256 over the prepared rows of every split, in order, and the features: the exactness check."""
    from instruction_datasets import load

    with tempfile.TemporaryDirectory() as cache:
        prepared = load(script, config, data_dir=str(data), cache_dir=cache)
        total = hashlib.sha256()
        for split, ds in prepared.items():
            digests: dict = {}
            for name in ds.column_names:
                _leaf_digests(ds.data.table.column(name), name, digests)
            total.update(f"{split} {ds.num_rows} {json.dumps(ds.features.to_dict(), sort_keys=True)}".encode())
            total.update(str(ds.data.table.schema).encode())
            for key in sorted(digests):
                total.update(f"{key}={digests[key].hexdigest()}".encode())
    return total.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1", help="file sizes as multiples of upstream, e.g. 1,10")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender (the median is reported)")
    parser.add_argument("--workdir", help="where the synthetic files go (default: a temporary folder)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"datasets {datasets.__version__}",
        "runs": args.runs,
        "scales": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.workdir or scratch)
        for scale in (int(s) for s in args.scales.split(",")):
            align_dir, alpha_dir = work / f"align-x{scale}", work / f"alpha-x{scale}"
            if not (align_dir / "data" / "train.jsonl").exists():
                write_align(align_dir, scale)
            if not (alpha_dir / "instruction_tuning_dataset_alpha_part2.json").exists():
                write_alpha(alpha_dir, scale)
            sizes = {
                "en_mb": sum(p.stat().st_size for p in (align_dir / "data").iterdir()) / 1e6,
                "alpha_mb": sum(p.stat().st_size for p in alpha_dir.iterdir()) / 1e6,
            }
            en = median_runs(["en_ours", "en_packaged_json", "en_ours_num_proc_2"], align_dir, args.runs)
            alpha = median_runs(["alpha_ours", "alpha_json_from_list"], alpha_dir, args.runs)
            streams = {
                **median_runs(["en_streaming"], align_dir, args.runs),
                **median_runs(["alpha_streaming"], alpha_dir, args.runs),
            }
            figures = {name: summarise(r) for name, r in {**en, **alpha, **streams}.items()}
            figures["ratios"] = {
                "en_ours / packaged_json": figures["en_ours"]["median_s"] / figures["en_packaged_json"]["median_s"],
                "en_ours num_proc=2 / packaged_json": figures["en_ours_num_proc_2"]["median_s"]
                / figures["en_packaged_json"]["median_s"],
                "alpha_ours / json+from_list": figures["alpha_ours"]["median_s"]
                / figures["alpha_json_from_list"]["median_s"],
            }
            report["scales"][f"x{scale}"] = {"sizes": sizes, **figures}
            print_table(scale, sizes, figures)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\n{report['machine']}; medians of {args.runs} runs; written to {args.out}")


def print_table(scale: int, sizes: dict, figures: dict) -> None:
    """A Markdown table, ready for the README."""
    print(f"\n**x{scale}**: en {sizes['en_mb']:.0f} MB, alpha {sizes['alpha_mb']:.0f} MB\n")
    print("| contender | rows | median s | peak MiB | first row s | rows/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, fig in figures.items():
        if name == "ratios":
            continue
        first = f"{fig['first_row_s']:.2f}" if "first_row_s" in fig else ""
        rate = f"{fig['rows_per_s']:,.0f}" if "rows_per_s" in fig else ""
        print(f"| {name} | {fig['rows']:,} | {fig['median_s']:.2f} | {fig['peak_rss_mib']:.0f} | {first} | {rate} |")
    print()
    for label, ratio in figures["ratios"].items():
        print(f"- {label}: **{ratio:.2f}x**")


if __name__ == "__main__":
    main()
