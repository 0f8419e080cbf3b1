"""Benchmark: our loaders against the obvious alternatives, on full-size synthetic files.

    python benchmarks/bench.py [--scales 1,10] [--runs 3] [--workdir DIR] [--out benchmarks/results.json]
    python benchmarks/bench.py --check [--scales 1,10] [--workdir DIR]

Writes files in the upstream formats with a fixed seed (Align-Anything `en`: ~104k train rows, ~190 MB;
alpha: ~67k rows over two files), then measures, alternating the contenders and taking medians:
- preparing `en` with load() (one process, and num_proc=2) against datasets.load_dataset("json"), and
  against load_dataset("json") + map(to_messages, batched=True), which gives the same columns;
- preparing alpha `all` with load() against json.load + parse + Dataset.from_list + save_to_disk;
- one full streaming pass over `train`: `en` against load_dataset("json", streaming=True) +
  map(to_messages, batched=True), alpha against json.load + parse yielding the same rows;
  time to the first row and rows per second.
- what the byte-range check costs: one streaming pass over `en` train read over HTTP from a loopback server
  that honours `Range` (so the file is split into shards either way), with the check and with it switched off;
- the path a Hub user takes: one streaming pass over `en` train from a loopback Hub (tests/fake_upstream.py,
  `HF_ENDPOINT` pointed at it; the file is read in byte ranges of `shard_bytes`), against `datasets`' own JSON
  builder streaming the same repo, `load_dataset(<repo>, streaming=True)` + map(to_messages, batched=True).
Every measurement runs in a fresh process with a fresh cache, under the tests' loopback guard
(tests/loopback_only: nothing may be reached beyond this machine); each reports wall seconds, CPU seconds
(user + system, worker processes included), peak memory (VmHWM) and minor page faults. Prints Markdown
tables with every ratio and writes them as JSON.

--check prints a SHA-256 of the prepared rows (values, order, features) of `en` and alpha `all` at each
scale, for comparing a change of the readers against the code before it.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The tests' loopback guard, here and (first on PYTHONPATH) in every contender's process; what it refuses is
# written to GUARD_LOG, and a run that wrote anything there fails.
GUARD_DIR = Path(__file__).resolve().parent.parent / "tests" / "loopback_only"
if not hasattr(sys.modules.get("sitecustomize"), "OutsideNetworkError") and "loopback_guard" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("loopback_guard", GUARD_DIR / "sitecustomize.py")
    sys.modules["loopback_guard"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["loopback_guard"])  # installs the guard in this process
GUARD_ENV = {
    "PYTHONPATH": os.pathsep.join(filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")])),
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_UPDATE_DOWNLOAD_COUNTS": "0",
}

ALIGN_TRAIN_ROWS, ALIGN_TEST_ROWS = 104_000, 1_050
EN_REPO = "PKU-Alignment/Align-Anything-Instruction-100K"
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
_PASS = """
start = time.perf_counter()
it = iter(STREAM)
next(it)
first = time.perf_counter() - start
n = 1 + sum(1 for _ in it)
print(n, first, n / (time.perf_counter() - start))
"""
_OURS_STREAMING = (
    """
import time
from instruction_datasets import load
STREAM = load("{script}", "{config}", split="train", data_dir=DATA, streaming=True)
"""
    + _PASS
)

# What a user writes to get the `messages` column from the packaged JSON loader.
_TO_MESSAGES = """
def to_messages(batch):
    return {"messages": [[{"role": "user", "content": p}, {"role": "assistant", "content": r}]
                         for p, r in zip(batch["prompt"], batch["response"])]}
"""
# alpha's rows by hand: json.load, then the script's parse rule.
_ALPHA_ROWS = """
import json, sys
from instruction_datasets import builder_class
alpha_builder = builder_class("instruction_tuning_alpha")
alpha = sys.modules[alpha_builder.__module__]  # the script as load() runs it
def alpha_rows():
    for part in ("part1", "part2"):
        with open(f"{DATA}/instruction_tuning_dataset_alpha_{part}.json", encoding="utf-8") as f:
            items = json.load(f)
        for source, text in items:
            prompt, response, _ = alpha.parse_text(text)
            yield {"source": source, "category": alpha_builder.CATEGORIES.get(source, "other"), "prompt": prompt,
                   "response": response, "text": text,
                   "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]}
"""

# The same pass, over HTTP from a loopback server that honours Range (`URL`, see `serve_ranges`), with the
# byte-range checks of align_anything_instruction.py (the probe and the check of each ranged read), and with both off.
_OURS_STREAMING_HTTP = """
import sys, time
from instruction_datasets import builder_class, load
if not CHECK_RANGES:  # neither the probe nor the check of each ranged read
    builder_class("align_anything_instruction").check_ranges = False
STREAM = load("align_anything_instruction", "en", split="train", data_dir=URL, streaming=True)
"""

# The same pass from a loopback Hub (HF_ENDPOINT is set for these contenders, see `serve_hub`): ours, and the
# packaged JSON builder reading the repo's data files. Asking datasets-server.<host> for a Parquet export would
# leave the machine: it is turned off (no environment variable does it).
_HUB_STREAMING = """
import time
import datasets
datasets.config.USE_PARQUET_EXPORT = False
"""

# Each contender is a snippet run in a fresh process; it prints the number of rows it produced.
CONTENDERS = {
    "en_streaming_hub": _HUB_STREAMING
    + """
from instruction_datasets import load
STREAM = load("align_anything_instruction", "en", split="train", streaming=True)
"""
    + _PASS,
    "en_json_streaming_hub_map": _HUB_STREAMING
    + _TO_MESSAGES
    + f"""
STREAM = datasets.load_dataset("{EN_REPO}", split="train", streaming=True).map(to_messages, batched=True)
"""
    + _PASS,
    "en_streaming_http_range_checked": "CHECK_RANGES = True\n" + _OURS_STREAMING_HTTP + _PASS,
    "en_streaming_http_range_unchecked": "CHECK_RANGES = False\n" + _OURS_STREAMING_HTTP + _PASS,
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
files = {s: f"{DATA}/data/{s}.jsonl" for s in ("train", "test")}
ds = datasets.load_dataset("json", data_files=files, cache_dir=CACHE)
print(ds["train"].num_rows + ds["test"].num_rows)
""",
    "en_json_map_messages": """
import datasets
"""
    + _TO_MESSAGES
    + """
files = {s: f"{DATA}/data/{s}.jsonl" for s in ("train", "test")}
ds = datasets.load_dataset("json", data_files=files, cache_dir=CACHE).map(to_messages, batched=True)
print(ds["train"].num_rows + ds["test"].num_rows)
""",
    "alpha_ours": """
from instruction_datasets import load
print(load("instruction_tuning_alpha", "all", split="train", data_dir=DATA, cache_dir=CACHE).num_rows)
""",
    "alpha_json_from_list": """
import datasets
"""
    + _ALPHA_ROWS
    + """
ds = datasets.Dataset.from_list(list(alpha_rows()))
ds.save_to_disk(CACHE + "/saved")  # written to disk, as a prepared dataset is
print(ds.num_rows)
""",
    "en_streaming": _OURS_STREAMING.format(script="align_anything_instruction", config="en"),
    "en_json_streaming_map": """
import time, datasets
"""
    + _TO_MESSAGES
    + """
STREAM = datasets.load_dataset("json", data_files={"train": f"{DATA}/data/train.jsonl"}, split="train",
                               streaming=True).map(to_messages, batched=True)
"""
    + _PASS,
    "alpha_streaming": _OURS_STREAMING.format(script="instruction_tuning_alpha", config="all"),
    "alpha_json_load_streaming": "import time\n" + _ALPHA_ROWS + "STREAM = alpha_rows()\n" + _PASS,
}

# Contenders measured side by side, alternating run by run, and the ratios the targets are about.
GROUPS = {
    "en prepare": ["en_ours", "en_packaged_json", "en_json_map_messages", "en_ours_num_proc_2"],
    "en streaming": ["en_streaming", "en_json_streaming_map"],
    "alpha prepare": ["alpha_ours", "alpha_json_from_list"],
    "alpha streaming": ["alpha_streaming", "alpha_json_load_streaming"],
    "en range check": ["en_streaming_http_range_checked", "en_streaming_http_range_unchecked"],
    "en streaming hub": ["en_streaming_hub", "en_json_streaming_hub_map"],
}
# (ratio, ours, theirs, target: at most)
RATIOS = [
    ("en prepare / packaged JSON", "en_ours", "en_packaged_json", 1.0),
    ("en prepare num_proc=2 / packaged JSON", "en_ours_num_proc_2", "en_packaged_json", 0.9),
    ("en prepare / JSON + map(messages)", "en_ours", "en_json_map_messages", None),
    ("en streaming / JSON streaming + map(messages)", "en_streaming", "en_json_streaming_map", 1.0),
    (
        "en streaming from the Hub / JSON streaming + map(messages)",
        "en_streaming_hub",
        "en_json_streaming_hub_map",
        1.0,
    ),
    ("alpha prepare / json.load + from_list", "alpha_ours", "alpha_json_from_list", 0.5),
    ("alpha streaming / json.load + parse", "alpha_streaming", "alpha_json_load_streaming", 1.0),
    ("alpha streaming / json.load + from_list", "alpha_streaming", "alpha_json_from_list", None),
    (
        "en streaming over HTTP, range check / no check",
        "en_streaming_http_range_checked",
        "en_streaming_http_range_unchecked",
        None,
    ),
]
# Where the targets apply: num_proc=2 only at 10x; the others at every scale.
TARGET_SCALES = {"en prepare num_proc=2 / packaged JSON": {10}}


def serve_ranges(root: Path) -> http.server.ThreadingHTTPServer:
    """Serves the files under ``root`` on 127.0.0.1 (HEAD, GET, and ``Range`` answered with 206), in a thread."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle(self):
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the reader closed a connection it no longer needed (fsspec reads ahead)

        def do_HEAD(self):
            self._answer(head=True)

        def do_GET(self):
            self._answer(head=False)

        def _answer(self, head: bool) -> None:
            path = root / urllib.parse.unquote(self.path.split("?", 1)[0]).lstrip("/")
            if not path.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = path.stat().st_size
            start, end, status = 0, size - 1, 200
            asked = self.headers.get("Range", "")
            if asked.startswith("bytes="):
                first, _, last = asked[len("bytes=") :].partition("-")
                start, end, status = int(first), min(int(last) if last else size - 1, size - 1), 206
            self.send_response(status)
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if head:
                return
            with open(path, "rb") as f:
                f.seek(start)
                left = end - start + 1
                while left > 0:
                    chunk = f.read(min(left, 2**20))
                    self.wfile.write(chunk)
                    left -= len(chunk)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_hub(root: Path):
    """A loopback Hub (tests/fake_upstream.py) whose `en` repo holds the files under ``root``, with a README."""
    sys.path.insert(0, str(GUARD_DIR.parent))
    from fake_upstream import FakeUpstream

    server = FakeUpstream()
    files = {f"data/{split}.jsonl": (root / "data" / f"{split}.jsonl").read_bytes() for split in ("train", "test")}
    server.add_repo(EN_REPO, {**files, "README.md": b"---\nlicense: cc-by-nc-4.0\n---\n# benchmark copy\n"})
    return server


#: Where `serve_ranges` serves the data of the group being measured (contenders read it as `URL`).
DATA_URL = ""
#: The loopback Hub of the group being measured (`serve_hub`): HF_ENDPOINT of its contenders.
HUB_ENDPOINT = ""


def run(name: str, data: Path, cache_root: str | None = None) -> dict:
    """Runs one contender in a fresh process: wall seconds, peak RSS (MiB), minor faults and what it printed."""
    with tempfile.TemporaryDirectory(dir=cache_root) as cache:
        code = f"DATA, CACHE, URL = {str(data)!r}, {cache!r}, {DATA_URL!r}\n" + CONTENDERS[name]
        wrapper = (
            "import resource, time\n"
            "start = time.perf_counter()\n"
            f"exec(compile({code!r}, 'bench', 'exec'))\n"
            "print('WALL', time.perf_counter() - start)\n"
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec.
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "print('RSS', int(hwm) / 1024)\n"
            # Worker processes (num_proc) count once they have been waited for.
            "print('MINFLT', sum(resource.getrusage(who).ru_minflt for who in "
            "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))\n"
            "print('CPU', sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, "
            "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))))\n"
        )
        guard_log = Path(cache) / "loopback-guard.log"
        env = dict(os.environ, **GUARD_ENV, LOOPBACK_GUARD_LOG=str(guard_log), HF_DATASETS_DISABLE_PROGRESS_BARS="1")
        if HUB_ENDPOINT:
            env.update(HF_ENDPOINT=HUB_ENDPOINT, HF_HOME=str(Path(cache) / "hf-home"))
        elif not DATA_URL:
            env["HF_HUB_OFFLINE"] = "1"
        out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env, check=True)
        if guard_log.exists() and guard_log.read_text(encoding="utf-8").strip():
            sys.exit(f"{name} reached beyond this machine:\n{guard_log.read_text(encoding='utf-8')}")
    lines = out.stdout.strip().splitlines()
    values = dict(line.split(" ", 1) for line in lines if line.startswith(("WALL", "RSS", "MINFLT", "CPU")))
    return {
        "seconds": float(values["WALL"]),
        "rss_mib": float(values["RSS"]),
        "minor_faults": int(values["MINFLT"]),
        "cpu_seconds": float(values["CPU"]),
        "result": lines[0].split(),
    }


def median_runs(names: list[str], data: Path, runs: int, cache_root: str | None = None) -> dict[str, list[dict]]:
    """Alternates the contenders run by run, so that drift in the machine hits all alike."""
    results: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            results[name].append(run(name, data, cache_root))
    return results


def summarise(results: list[dict]) -> dict:
    summary = {
        "median_s": statistics.median(r["seconds"] for r in results),
        "runs_s": [round(r["seconds"], 3) for r in results],
        "peak_rss_mib": max(r["rss_mib"] for r in results),
        "minor_faults": int(statistics.median(r["minor_faults"] for r in results)),
        "cpu_s": statistics.median(r["cpu_seconds"] for r in results),
        "rows": int(results[0]["result"][0]),
    }
    if len(results[0]["result"]) == 3:
        summary["first_row_s"] = statistics.median(float(r["result"][1]) for r in results)
        summary["rows_per_s"] = statistics.median(float(r["result"][2]) for r in results)
    return summary


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
            for field, child in zip(chunk.type, chunk.flatten(), strict=True):
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
        if isinstance(prepared, datasets.Dataset):
            prepared = {"train": prepared}
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


def machine() -> str:
    """The machine by its kind: architecture, cores, memory, Python, datasets and pyarrow versions."""
    memory = ""
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo", encoding="ascii") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        memory = f", {kib * 1024 / 1e9:.0f} GB of memory"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, "
        f"datasets {datasets.__version__}, pyarrow {pa.__version__}"
    )


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def prepare_data(work: Path, scale: int) -> tuple:
    align_dir, alpha_dir = work / f"align-x{scale}", work / f"alpha-x{scale}"
    if not (align_dir / "data" / "test.jsonl").exists():
        write_align(align_dir, scale)
    if not (alpha_dir / "instruction_tuning_dataset_alpha_part2.json").exists():
        write_alpha(alpha_dir, scale)
    return align_dir, alpha_dir


def main() -> None:
    global DATA_URL, HUB_ENDPOINT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1", help="file sizes as multiples of upstream, e.g. 1,10")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender (the median is reported)")
    parser.add_argument("--workdir", help="where the synthetic files go, and stay (default: a temporary folder)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    parser.add_argument("--check", action="store_true", help="print the prepared rows' SHA-256 instead of timing")
    parser.add_argument(
        "--cache-root", help="where the contenders' fresh caches go (default: the temporary folder), e.g. /dev/shm"
    )
    parser.add_argument("--groups", default=",".join(GROUPS), help=f"which to run, of: {', '.join(GROUPS)}")
    parser.add_argument("--show", action="store_true", help="print the tables of --out again, without running")
    args = parser.parse_args()
    if args.show:
        show(json.loads(Path(args.out).read_text(encoding="utf-8")))
        return
    scales = [int(s) for s in args.scales.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.workdir or scratch)
        if args.check:
            for scale in scales:
                align_dir, alpha_dir = prepare_data(work, scale)
                print(f"x{scale} en rows sha256 {row_hash(align_dir)}", flush=True)
                print(f"x{scale} alpha all rows sha256 {row_hash(alpha_dir, 'instruction_tuning_alpha', 'all')}")
            return
        report = {
            "machine": machine(),
            "runs": args.runs,
            "cache_root": args.cache_root or "the system's temporary folder",
            "load_average_start": load_average(),
            "scales": {},
        }
        print(f"{report['machine']}; caches in {report['cache_root']}")
        print(f"load average (1, 5, 15 min) at the start: {report['load_average_start']}")
        for scale in scales:
            align_dir, alpha_dir = prepare_data(work, scale)
            sizes = {
                "en_mb": sum(p.stat().st_size for p in (align_dir / "data").iterdir()) / 1e6,
                "alpha_mb": sum(p.stat().st_size for p in alpha_dir.iterdir()) / 1e6,
            }
            figures = {}
            for group in args.groups.split(","):
                data = align_dir if group.startswith("en") else alpha_dir
                server = serve_ranges(data) if group == "en range check" else None
                hub = serve_hub(data) if group == "en streaming hub" else None
                DATA_URL = f"http://127.0.0.1:{server.server_address[1]}" if server else ""
                HUB_ENDPOINT = hub.endpoint if hub else ""
                try:
                    results = median_runs(GROUPS[group], data, args.runs, args.cache_root)
                finally:
                    if server:
                        server.shutdown()
                        server.server_close()
                    if hub:
                        hub.close()
                    DATA_URL = HUB_ENDPOINT = ""
                figures.update({name: summarise(r) for name, r in results.items()})
            figures["ratios"] = {
                label: {
                    "ratio": figures[ours]["median_s"] / figures[theirs]["median_s"],
                    "cpu_ratio": figures[ours]["cpu_s"] / figures[theirs]["cpu_s"],
                    "target": target if scale in TARGET_SCALES.get(label, {scale}) else None,
                }
                for label, ours, theirs, target in RATIOS
                if ours in figures and theirs in figures
            }
            figures["load_average"] = load_average()
            report["scales"][f"x{scale}"] = {"sizes": sizes, **figures}
            print_table(scale, sizes, figures)
    if len(scales) > 1:
        low, high = f"x{scales[0]}", f"x{scales[-1]}"
        report["peak_rss_growth"] = {
            name: report["scales"][high][name]["peak_rss_mib"] / report["scales"][low][name]["peak_rss_mib"]
            for name in ("en_ours", "en_streaming", "alpha_ours", "alpha_streaming")
            if name in report["scales"][high]
        }
        print(f"\nPeak memory {high} / {low}:")
        for name, growth in report["peak_rss_growth"].items():
            print(f"- {name}: {growth:.2f}x")
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\n{report['machine']}; medians of {args.runs} runs; written to {Path(args.out).name}")


def show(report: dict) -> None:
    """The tables of a results file, with CPU ratios computed where the file predates them."""
    print(f"{report['machine']}; caches in {report.get('cache_root', 'the temporary folder')}")
    print(f"load average (1, 5, 15 min) at the start: {report.get('load_average_start', '?')}")
    for scale, figures in report["scales"].items():
        for label, ours, theirs, _ in RATIOS:
            if label in figures["ratios"] and "cpu_s" in figures[ours]:
                figures["ratios"][label]["cpu_ratio"] = figures[ours]["cpu_s"] / figures[theirs]["cpu_s"]
        print_table(int(scale[1:]), figures.pop("sizes"), figures)
    for name, growth in report.get("peak_rss_growth", {}).items():
        print(f"- peak memory {name}: {growth:.2f}x")


def print_table(scale: int, sizes: dict, figures: dict) -> None:
    """A Markdown table, ready for the README."""
    print(f"\n**x{scale}**: en {sizes['en_mb']:.0f} MB, alpha {sizes['alpha_mb']:.0f} MB")
    print(f"(load average at the end: {figures['load_average']})\n")
    print("| contender | rows | median s | runs s | CPU s | peak MiB | minor faults | first row s | rows/s |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for name, fig in figures.items():
        if name in ("ratios", "load_average"):
            continue
        first = f"{fig['first_row_s']:.2f}" if "first_row_s" in fig else ""
        rate = f"{fig['rows_per_s']:,.0f}" if "rows_per_s" in fig else ""
        runs = " ".join(f"{s:.2f}" for s in fig["runs_s"])
        print(
            f"| {name} | {fig['rows']:,} | {fig['median_s']:.2f} | {runs} | {fig['cpu_s']:.2f} "
            f"| {fig['peak_rss_mib']:.0f} | {fig['minor_faults']:,} | {first} | {rate} |"
        )
    print("\n| ratio | wall, median | target | met | CPU, median |")
    print("|---|---:|---:|---|---:|")
    for label, ratio in figures["ratios"].items():
        target = ratio["target"]
        met = "" if target is None else ("yes" if ratio["ratio"] <= target else "**no**")
        shown = "" if target is None else f"<= {target:.1f}x"
        cpu = f"{ratio['cpu_ratio']:.2f}x" if "cpu_ratio" in ratio else ""
        print(f"| {label} | {ratio['ratio']:.2f}x | {shown} | {met} | {cpu} |")


if __name__ == "__main__":
    main()
