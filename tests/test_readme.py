"""Every code block of README.md runs as written, and shows what it really prints.

The blocks are read from README.md at collection time, so the test checks whatever the README shows
today (no expected strings live here). Each block runs in a temporary copy of the repository
(corpus/, eval/, rag/, ui/, docs/, scripts/, pyproject.toml, README.md), with that copy as the working directory
and RAG_CORPUS_DIR / RAG_INDEX_DIR / RAG_FEEDBACK_PATH pointing into it, so the checkout never changes.

What runs and what is checked
- ```python blocks: written to a file in the copy and run with the current interpreter; exit code 0.
  A block that uses `gradio_client` talks to a server: the test starts `rag serve` on a free port of
  127.0.0.1 in the copy and replaces the README's `127.0.0.1:7860` with that port.
- ```console blocks: every `$ cmd` line is run, in order. The non-blank lines under it, up to the next
  `$` line, are its shown output, and must be the real stdout + stderr line for line (whitespace runs
  collapsed, a trailing "(exit code N)" removed; a `confidence X.XX` may differ by 0.01, the rounding of
  another machine's last bits); the exit code must be the N shown, or 0 when none is shown. Every console
  block is one that scripts/readme_examples.py writes from what the commands print, so a drifted block is
  fixed by running that script, never by hand.
- ```bash blocks: every command line (comments dropped) is run like a console command without output.
- A leading `rag ` becomes `<this python> -m rag.cli `; a leading `python `/`python3 `/`"$PYTHON" ` becomes
  `<this python> `; leading `NAME=value` words go into that command's environment. Any other program would
  be looked up on PATH, where a virtualenv that is not activated is not: such a command fails the test
  (write it as `python -m TOOL`).
- The copy's index is built (`rag index`) before any block runs, so every block sees a ready index, as the
  README's examples show (the first-use output is tests/test_quiet_start.py's subject).

Skip rules (a skipped command is listed in the test's output, never silently ignored)
- commands that start a server: `rag serve`, `bash scripts/serve.sh`;
- commands that install things: `pip install`, `python -m pip install`, `apt-get`, `sudo`,
  `bash scripts/test.sh` (which installs, then runs the whole suite);
- commands that run the test suite: `pytest`, `python -m pytest`;
- `python scripts/readme_examples.py`, which re-runs the README's examples: this test runs them itself.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rag.bench.stats import stop_process

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COPIED = ["corpus", "eval", "rag", "ui", "docs", "scripts", "pyproject.toml", "README.md"]
TIMEOUT = 600  # seconds per command: the first one builds the index on a busy 2-core machine

SKIP_RULES = [  # (regex on the command as written, reason)
    (r"^rag\s+(.*\s)?serve\b", "starts a server"),
    (r"^bash\s+scripts/serve\.sh\b", "starts a server (and installs)"),
    (r"^bash\s+scripts/test\.sh\b", "installs, then runs the whole test suite"),
    (r"^(sudo\s|apt-get\s|apt\s)", "installs system packages"),
    (r"^(python3?\s+-m\s+)?pip3?\s+install\b", "installs Python packages"),
    (r"^(python3?\s+-m\s+)?pytest\b", "runs the test suite"),
    (r"^python3?\s+scripts/readme_examples\.py\b", "re-runs the README's examples, which this test runs itself"),
]
PYTHONS = ("python", "python3", "$PYTHON")  # the project's interpreter, however the README names it
EXIT_CODE = re.compile(r"\s*\(exit code (\d+)\)\s*$")


@dataclass
class Command:
    line: int  # README line number of the `$` line
    text: str  # the command as written
    shown: list[str] = field(default_factory=list)  # output lines the README shows under it


@dataclass
class Block:
    lang: str
    line: int  # README line number of the opening fence
    body: str

    @property
    def id(self) -> str:
        return f"{self.lang}-line{self.line}"


def readme_blocks(text: str) -> list[Block]:
    blocks, lang, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^```\s*([\w-]*)\s*$", line)
        if lang is None and fence:
            lang, start, body = fence.group(1).lower() or "text", number, []
        elif lang is not None and line.strip() == "```":
            blocks.append(Block(lang, start, "\n".join(body) + "\n"))
            lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def console_commands(block: Block) -> list[Command]:
    """`$ cmd` lines and the output shown under each (its non-blank lines up to the next `$` line)."""
    commands: list[Command] = []
    lines = block.body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            text, first = line[2:].strip(), block.line + 1 + i
            while text.endswith("\\") and i + 1 < len(lines):  # continued command line
                i += 1
                text = text[:-1].rstrip() + " " + lines[i].strip()
            commands.append(Command(first, text))
        elif line.strip() and commands:
            commands[-1].shown.append(line)
        i += 1
    return commands


def bash_commands(block: Block) -> list[Command]:
    commands = []
    for offset, line in enumerate(block.body.splitlines()):
        words = shlex.split(line, comments=True)
        if words:
            commands.append(Command(block.line + 1 + offset, shlex.join(words)))
    return commands


ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def split_assignments(command: str) -> tuple[dict[str, str], list[str]]:
    """`A=1 B=2 cmd args` → ({A: 1, B: 2}, [cmd, args])."""
    words = shlex.split(command)
    assignments = {}
    while words and ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    return assignments, words


def skip_reason(command: str) -> str | None:
    _, words = split_assignments(command)
    for pattern, reason in SKIP_RULES:
        if re.search(pattern, shlex.join(words)):
            return reason
    return None


def argv_for(command: str) -> list[str]:
    """The command as this interpreter runs it; a program that would come from PATH is refused."""
    _, words = split_assignments(command)
    if words[0] == "rag":
        return [sys.executable, "-m", "rag.cli", *words[1:]]
    if words[0] in PYTHONS:
        return [sys.executable, *words[1:]]
    raise ValueError(
        f"`{command}` runs `{words[0]}` from PATH, which a virtualenv that is not activated is not on; "
        f"write it as `python -m {words[0]} …`"
    )


def normalise(text: str) -> str:
    return " ".join(text.split())


CONFIDENCE = re.compile(r"^confidence (\d\.\d\d)$")


def output_difference(shown: list[str], output: str) -> str | None:
    """How the README's shown lines differ from the real output (None: they agree), line for line."""
    want = [normalise(EXIT_CODE.sub("", line)) for line in shown]
    got = [normalise(line) for line in output.splitlines() if line.strip()]
    if len(want) != len(got):
        return f"{len(want)} lines shown, {len(got)} printed"
    for number, (a, b) in enumerate(zip(want, got), 1):
        ca, cb = CONFIDENCE.match(a), CONFIDENCE.match(b)
        if ca and cb and abs(float(ca.group(1)) - float(cb.group(1))) <= 0.0100001:
            continue
        if a != b:
            return f"line {number}: shown {a!r}, printed {b!r}"
    return None


BLOCKS = [b for b in readme_blocks(README.read_text(encoding="utf-8")) if b.lang in ("python", "console", "bash")]


# ---- the repository copy ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    """A copy of the repository and the environment its commands run with."""
    root = tmp_path_factory.mktemp("readme_repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "reports", ".train-cache")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAG_SETTINGS")}
    env.update(
        HF_HUB_OFFLINE="1",
        RAG_CORPUS_DIR=str(root / "corpus"),
        RAG_INDEX_DIR=str(root / "index"),
        RAG_FEEDBACK_PATH=str(root / "feedback.jsonl"),
        GRADIO_ANALYTICS_ENABLED="False",
    )
    # The commands must import the copy, not the checkout (cwd comes first on sys.path).
    where = subprocess.run(
        [sys.executable, "-c", "import rag; print(rag.__file__)"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).resolve().is_relative_to(root.resolve()), where.stdout
    build = subprocess.run(
        [sys.executable, "-m", "rag.cli", "index"], cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert build.returncode == 0, build.stderr
    return root, env


@pytest.fixture(scope="module")
def readme_server(repo_copy):
    """`rag serve` in the copy on a free port, for blocks that use gradio_client; stopped afterwards."""
    root, env = repo_copy
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(root / "serve.log", "w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"rag serve exited with {server.returncode}:\n{(root / 'serve.log').read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"rag serve did not answer on {url}:\n{(root / 'serve.log').read_text()}")
                time.sleep(1)
        yield port
    finally:
        stop_process(server, timeout=30)
        log.close()


def run_commands(commands: list[Command], root: Path, env: dict) -> None:
    failures, skipped = [], []
    for c in commands:
        reason = skip_reason(c.text)
        if reason:
            skipped.append(f"README line {c.line}: `{c.text}` ({reason})")
            continue
        done = subprocess.run(
            argv_for(c.text),
            cwd=root,
            env={**env, **split_assignments(c.text)[0]},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        output = done.stdout + done.stderr
        expected_code = 0
        if c.shown:
            code = next(filter(None, map(EXIT_CODE.search, c.shown)), None)
            if code:
                expected_code = int(code.group(1))
            difference = output_difference(c.shown, output)
            if difference:
                failures.append(
                    f"README line {c.line}: `{c.text}` does not print what the README shows ({difference}); "
                    f"run `python scripts/readme_examples.py`\n  real output:\n{output}"
                )
        if done.returncode != expected_code:
            failures.append(
                f"README line {c.line}: `{c.text}` exited {done.returncode}, README implies {expected_code}\n{output}"
            )
    for s in skipped:
        print("skipped", s)
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs_as_written(block, repo_copy, request):
    root, env = repo_copy
    if block.lang == "console":
        commands = console_commands(block)
        assert commands, f"console block at README line {block.line} has no `$ ` command"
        run_commands(commands, root, env)
    elif block.lang == "bash":
        run_commands(bash_commands(block), root, env)
    else:
        source = block.body
        if "gradio_client" in source:
            port = request.getfixturevalue("readme_server")
            source = re.sub(r"(127\.0\.0\.1|localhost):7860\b", f"127.0.0.1:{port}", source)
        script = root / f"readme_{block.id}.py"
        script.write_text(source, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, script.name], cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        assert done.returncode == 0, f"python block at README line {block.line} failed:\n{done.stdout}\n{done.stderr}"


def test_readme_parsing_finds_the_examples():
    """Fast guard for the parser itself: the README has runnable python and console blocks."""
    langs = {b.lang for b in BLOCKS}
    assert {"python", "console"} <= langs
    for block in BLOCKS:
        if block.lang == "console":
            assert all(c.text for c in console_commands(block))
    assert skip_reason("rag serve --port 1") and skip_reason("PYTHON=.venv/bin/python bash scripts/serve.sh")
    assert skip_reason("bash scripts/test.sh tests/test_cli.py") and skip_reason("python -m pip install -e .")
    assert not skip_reason("rag ask x") and not skip_reason("rag --index i index")
    assert argv_for("RAG_X=1 rag ask 'a b'") == [sys.executable, "-m", "rag.cli", "ask", "a b"]
    session = console_commands(Block("console", 1, '$ rag ask ""\nrag: error: empty     (exit code 2)\n\n$ rag x\n'))
    assert [(c.text, c.shown) for c in session] == [
        ('rag ask ""', ["rag: error: empty     (exit code 2)"]),
        ("rag x", []),
    ]


# ---- fast guards: no model, nothing run -------------------------------------------------------------------
def _readme_examples():
    """scripts/readme_examples.py, the script that writes the README's example outputs and figures."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "scripts" / "readme_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_readme_command_runs_with_this_interpreter_not_from_path():
    """The issue's failure: `ruff` and `mypy` ran from PATH, which a virtualenv that is not activated is not on."""
    checked = 0
    for block in BLOCKS:
        if block.lang == "python":
            continue
        for c in console_commands(block) if block.lang == "console" else bash_commands(block):
            if not skip_reason(c.text):
                assert argv_for(c.text)[0] == sys.executable, f"README line {c.line}: `{c.text}`"
                checked += 1
    assert checked >= 8  # the example session, Milvus, index and lint commands
    for from_path in ("ruff check .", "mypy", "pytest -q", "pre-commit install"):
        with pytest.raises(ValueError, match="from PATH"):
            argv_for(from_path)
    assert argv_for('"$PYTHON" -m ruff check .') == [sys.executable, "-m", "ruff", "check", "."]


def test_every_console_block_is_written_by_the_script():
    """No hand-copied output: each console block lies between the markers scripts/readme_examples.py rewrites."""
    text = README.read_text(encoding="utf-8")
    generated = [(m.start("body"), m.end("body")) for m in _readme_examples().BLOCK.finditer(text)]
    assert len(generated) >= 2
    offsets = [0]
    for line in text.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    for block in BLOCKS:
        if block.lang == "console":
            at = offsets[block.line - 1]  # the opening fence
            assert any(a <= at < b for a, b in generated), f"console block at README line {block.line}"


def test_the_readme_figures_are_the_measured_ones():
    """The cold-start figures are written from docs/bench/readme_figures.json, never typed in."""
    import json

    script = _readme_examples()
    figures = json.loads(script.FIGURES.read_text(encoding="utf-8"))
    found = script.FIGURES_BLOCK.search(README.read_text(encoding="utf-8"))
    assert found, "README.md has no figures block"
    assert found["body"] == script.figures_text(figures), "run `python scripts/readme_examples.py`"
    cold = figures["cold_ask"]
    assert cold["median_s"] > 0 and cold["median_peak_rss_mib"] > 0 and len(cold["runs_s"]) >= 3


def test_shown_output_must_match_line_for_line():
    printed = "An answer. [1]\n  [1] Title — d.md#char=1,9\n  confidence 0.87\n"
    shown = ["An answer. [1]", "  [1] Title — d.md#char=1,9", "  confidence 0.86"]
    assert output_difference(shown, printed) is None  # the last bits of another machine
    assert "line 3" in output_difference([*shown[:2], "  confidence 0.84"], printed)
    assert "2 lines shown, 3 printed" in output_difference(shown[:2], printed)
    assert output_difference(["rag: error: empty      (exit code 2)"], "rag: error: empty\n") is None
