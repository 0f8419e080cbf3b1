"""The fault matrix: every named fault of the loopback server against every read path, each ending in the exact
rows or in one line within its time limit.

The network settings are shrunk through their environment variables (the kit's ``NetworkSettings``): a stall of
1 s fails an attempt and a URL has 2 attempts, so a server that stays stalled fails a load in about 2 s where the
defaults take about 93 s.
The loads run one after another in one worker process (``helpers.LoadWorker``), each with a cache of its own.

Per case, the test also counts the server's GET requests for the file: a failure that is final was asked exactly
as many times as the attempts allow, whatever the libraries below do.
"""

import itertools
import time

import pytest
from fake_upstream import FakeUpstream
from helpers import LoadWorker

from instruction_datasets import load
from instruction_datasets.loading import sample_dir

ALIGN, ALPHA = "align_anything_instruction", "instruction_tuning_alpha"
SETTINGS = {
    "INSTRUCTION_DATASETS_CONNECT_TIMEOUT": "2",
    "INSTRUCTION_DATASETS_STALL_TIMEOUT": "1",
    "INSTRUCTION_DATASETS_LOW_SPEED": "200",
    "INSTRUCTION_DATASETS_ATTEMPTS": "2",  # the defaults' 3 are counted in test_network and test_real_size
    "INSTRUCTION_DATASETS_RETRY_WAIT": "0.1",
    "INSTRUCTION_DATASETS_RETRY_AFTER_MAX": "2",
}
ATTEMPTS = 2
#: How long a failed load may take: 2 attempts of a 1 s stall, the wait between them, and room for the load itself.
FAILURE_LIMIT = 2 * 1 + 0.1 + 8

#: Read paths: (script, config, load() keywords, the file the faults hit).
PATHS = {
    "align plain": (ALIGN, "en", {}, "/data/train.jsonl"),
    "align streaming whole": (ALIGN, "en", {"streaming": True}, "/data/train.jsonl"),
    "align streaming ranged": (ALIGN, "en", {"streaming": True, "shard_bytes": 700}, "/data/train.jsonl"),
    "alpha plain": (ALPHA, "part1", {}, "instruction_tuning_dataset_alpha_part1.json"),
    "alpha streaming": (ALPHA, "part1", {"streaming": True}, "instruction_tuning_dataset_alpha_part1.json"),
}

#: Faults: (what the server does, sticky or once, what the load must end in). An error is named by words its first
#: line must hold.
FAULTS = {
    "stall": ("stall", True, "no byte for 1 s"),
    "stall mid-body": ("stall-body", True, "bytes had arrived"),
    "drip": ("drip", True, "slower than 200 bytes/s"),
    "server error": ("500", True, "server error (HTTP 500) after 2 attempts"),
    "html page": ("html", True, "the server sent an HTML page"),
    "html page, untyped": ("html-untyped", True, "HTML page"),
    "stall once": ("stall", False, None),
    "stall mid-body once": ("stall-body", False, None),
    "cut once": ("cut", False, None),
    "reset once": ("reset", False, None),
    "429 Retry-After once": ("429-after-1", False, None),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(upstream, worker, expected rows by script): one loopback server and one worker for the whole matrix."""
    home = tmp_path_factory.mktemp("faults")
    server = FakeUpstream()
    server.drip_seconds = 0.05  # 20 bytes a second, under the low-speed limit of 200
    worker = LoadWorker(server.endpoint, home, env=SETTINGS)
    expected = {}
    for script, config in ((ALIGN, "en"), (ALPHA, "part1")):
        rows = load(script, config, split="train", data_dir=sample_dir(script, config), cache_dir=home / "local")
        expected[script] = [[row["prompt"], row["response"]] for row in rows]
    yield server, worker, expected, home
    worker.close()
    server.close()


_cases = itertools.count()


@pytest.mark.slow  # about 60 s: the test sessions run it on 3.6 and the newest line; smoke leaves it out
@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("path", sorted(PATHS))
def test_each_fault_on_each_read_path_ends_in_the_rows_or_one_line_in_time(served, path, fault):
    upstream, worker, expected, home = served
    script, config, options, target = PATHS[path]
    what, sticky, words = FAULTS[fault]
    upstream.clear_faults()
    upstream.add_fault(target, what, sticky=sticky)
    kwargs = {key: value for key, value in options.items() if key != "streaming"}
    kwargs["cache_dir"] = str(home / f"case-{next(_cases)}")
    if not options.get("streaming"):  # the worker's Hub cache is shared: fetch the file again all the same
        kwargs["download_mode"] = "force_redownload"
    if script == ALPHA:
        kwargs.update(base_url=upstream.alpha_base_url, verify_hashes=False)
    before = upstream.gets(target)
    started = time.monotonic()
    answer = worker.load(script=script, config=config, streaming=options.get("streaming", False), kwargs=kwargs)
    took = time.monotonic() - started
    asked = upstream.gets(target) - before
    if words is None:
        assert answer.get("ranks") == [expected[script]], answer.get("error", "")[:2000]
        assert asked >= 2  # the fault was met, then the file asked for again
        return
    assert "error" in answer, f"{fault} on {path}: rows instead of an error"
    first = answer["error"].splitlines()[0]
    assert words in first, first
    assert target.rsplit("/", 1)[-1] in first, first  # names the file
    assert took <= FAILURE_LIMIT, f"{took:.1f} s: {first}"
    if not what.startswith("html"):  # a page is no failure worth another attempt
        # The probe of a ranged stream asks for 17 bytes: a drip brings them in 0.85 s, mostly before the low-speed
        # window of 1 s closes, and then the probe is one request more; on a busy machine it comes in after, and is
        # one of the attempts.
        probe = 1 if (path, what) == ("align streaming ranged", "drip") else 0
        assert asked == ATTEMPTS + probe or (probe and asked == ATTEMPTS), (asked, first)


def test_the_default_settings_warn_within_30_s_and_fail_within_2_minutes():
    """What a stalled server costs with the defaults, from the settings themselves (the real-size run measures it)."""
    kit = pytest.importorskip("instruction_datasets").builder_class(ALIGN)
    module = __import__(kit.__module__.rsplit(".", 1)[0] + "._instruction_kit", fromlist=["NetworkSettings"])
    settings = module.NetworkSettings()
    assert settings.stall_timeout <= 30  # the first stall is warned about when it happens
    worst = settings.attempts * settings.stall_timeout + sum(settings.wait(n) for n in range(1, settings.attempts))
    assert worst <= 120, worst


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("INSTRUCTION_DATASETS_STALL_TIMEOUT", "soon", "expected a number of seconds, 0 or more"),
        ("INSTRUCTION_DATASETS_ATTEMPTS", "0", "expected a whole number, 1 or more"),
        ("INSTRUCTION_DATASETS_LOW_SPEED", "-5", "expected a number of bytes per second, 0 or more"),
    ],
)
def test_a_setting_that_is_no_number_fails_the_load_in_its_own_words(variable, value, expected, monkeypatch, tmp_path):
    monkeypatch.setenv(variable, value)
    server = FakeUpstream()
    try:
        with pytest.raises(ValueError) as caught:
            load(ALPHA, "part1", split="train", base_url=server.alpha_base_url, cache_dir=tmp_path)
    finally:
        server.close()
    assert str(caught.value) == f"{variable}={value!r}: {expected}"
    assert server.requests == []  # refused before any request


def test_the_settings_govern_only_the_requests_of_a_load(upstream, monkeypatch):
    """The policy sits under huggingface_hub's shared client, and acts only inside a load's network_policy: a request
    of the user's own, made through the same client, is sent once and its answer handed back as it came."""
    import sys

    from huggingface_hub import get_session

    from instruction_datasets import builder_class

    kit = sys.modules[builder_class(ALPHA).__module__.rsplit(".", 1)[0] + "._instruction_kit"]
    kit.install_policy()
    monkeypatch.setenv("INSTRUCTION_DATASETS_RETRY_WAIT", "0.01")
    url = upstream.serve("/own/file.bin", b"x" * 100)
    upstream.add_fault("/own/file.bin", "500", sticky=True)
    assert get_session().get(url).status_code == 500  # the user's own request: answered as it came
    assert upstream.gets("/own/file.bin") == 1
    with pytest.raises(kit.TransferError, match=r"server error \(HTTP 500\) after 3 attempts"), kit.network_policy():
        get_session().get(url)  # the same request inside a load: retried, then one error
    assert upstream.gets("/own/file.bin") == 1 + 3
