"""Run every Python code block of the documentation against a local echo server.

Which blocks run: in ``docs/*.md`` and ``README.md``, fenced blocks whose info
string is ``python``, ``py`` or ``python3`` (backticks or tildes, indented or
not); in ``docs/*.rst``, ``.. code-block::``, ``.. code::`` and
``.. sourcecode::`` directives with one of those languages. Other blocks
(shell, output, ``::`` literal blocks) are prose.

How they run: each block alone, as a script in a fresh interpreter, so every
example must be complete (imports included) and copy-pasteable. The URL
``ws://127.0.0.1:8765`` (any path after it) is the documented address of an
echo server; the runner rewrites it to a real echo server (a ``websockets``
server in this process, echoing text as text and binary as binary, and a
close frame with the same code and reason). A block passes when it exits with
status 0 within the time limit without a ResourceWarning, so blocks state
their results with ``assert`` where it helps the reader.

Blocks that must not run (they need the internet, run forever, or show an
error on purpose) carry a marker on the nearest non-blank line before them:
``<!-- snippet: skip (why) -->`` in Markdown, ``.. snippet: skip (why)`` (an
RST comment) in reStructuredText.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

pytestmark = [pytest.mark.wsline_only, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "ws://127.0.0.1:8765"
SNIPPET_TIMEOUT = 30.0
LANGUAGES = frozenset(("python", "py", "python3"))
PROXY_ENV = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)")
_MD_SKIP = re.compile(r"^\s*<!--\s*snippet:\s*skip\b(?P<why>.*?)-->\s*$")
_RST_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\.\s+(?:code-block|code|sourcecode)::\s*(?P<lang>\S*)\s*$")
_RST_SKIP = re.compile(r"^\s*\.\.\s+snippet:\s*skip\b(?P<why>.*)$")


@dataclass(frozen=True)
class Snippet:
    """One code block: where it starts (1-based line of its first code line), its code, a skip reason."""

    path: str
    line: int
    code: str
    skip: str | None = None

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


# ----------------------------------------------------------- extraction


def _skip_reason(lines: list[str], start: int, marker: re.Pattern[str]) -> str | None:
    """The skip reason when the nearest non-blank line before ``start`` is a skip marker."""
    for index in range(start - 1, -1, -1):
        if lines[index].strip():
            found = marker.match(lines[index])
            if found is None:
                return None
            return found.group("why").strip(" ()") or "marked skip"
    return None


def _dedent(lines: list[str], indent: str) -> list[str]:
    return [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines]


def markdown_snippets(text: str, path: str = "<md>") -> list[Snippet]:
    """Python fenced blocks of a Markdown text."""
    lines = text.splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening.group("fence"), opening.group("indent")
        end = index + 1
        while end < len(lines) and not re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", lines[end]):
            end += 1
        if opening.group("info").lower() in LANGUAGES:
            code = "\n".join(_dedent(lines[index + 1 : end], indent)) + "\n"
            found.append(Snippet(path, index + 2, code, _skip_reason(lines, index, _MD_SKIP)))
        index = end + 1
    return found


def rst_snippets(text: str, path: str = "<rst>") -> list[Snippet]:
    """Python code directives of a reStructuredText text."""
    lines = text.splitlines()
    found: list[Snippet] = []
    for index, line in enumerate(lines):
        directive = _RST_DIRECTIVE.match(line)
        if directive is None or directive.group("lang").lower() not in LANGUAGES:
            continue
        outer = len(directive.group("indent"))
        body = index + 1
        while body < len(lines) and lines[body].strip().startswith(":") and _indent(lines[body]) > outer:
            body += 1  # directive options such as :linenos:
        block: list[str] = []
        for following in lines[body:]:
            if following.strip() and _indent(following) <= outer:
                break
            block.append(following)
        while block and not block[-1].strip():
            block.pop()
        first = next((i for i, text_line in enumerate(block) if text_line.strip()), None)
        if first is None:
            continue
        code_lines = block[first:]
        inner = min(_indent(text_line) for text_line in code_lines if text_line.strip())
        code = "\n".join(text_line[inner:] for text_line in code_lines) + "\n"
        found.append(Snippet(path, body + first + 1, code, _skip_reason(lines, index, _RST_SKIP)))
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def doc_files() -> list[Path]:
    """The documents whose snippets run: docs/*.md, docs/*.rst, README.md."""
    files = sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "docs").glob("*.rst"))
    readme = ROOT / "README.md"
    return [*files, readme] if readme.exists() else files


def all_snippets() -> list[Snippet]:
    found: list[Snippet] = []
    for file in doc_files():
        rel = file.relative_to(ROOT).as_posix()
        text = file.read_text(encoding="utf-8")
        found += rst_snippets(text, rel) if file.suffix == ".rst" else markdown_snippets(text, rel)
    return found


SNIPPETS = all_snippets()


# ----------------------------------------------------------- the echo server


def _echo(conn: ServerConnection) -> None:
    try:
        for message in conn:
            conn.send(message)
    except ConnectionClosed:
        pass  # a close with an error code is part of what the docs show


@pytest.fixture(scope="module")
def docs_echo_url() -> Iterator[str]:
    """``ws://127.0.0.1:PORT``: a real ``websockets`` echo server on any path, for this module."""
    logger = logging.getLogger("tests.docs.echo")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    server = serve(_echo, "127.0.0.1", 0, compression=None, max_size=None, ping_interval=None, logger=logger)
    thread = threading.Thread(target=server.serve_forever, name="docs-echo-server", daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    finally:
        stopper = threading.Thread(target=server.shutdown, name="docs-echo-stop", daemon=True)
        stopper.start()
        stopper.join(10)
        thread.join(10)
        assert not stopper.is_alive() and not thread.is_alive(), "docs echo server did not stop"


# ----------------------------------------------------------- running


def run_snippet(snippet: Snippet, url: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run the snippet as a script in a fresh interpreter, the placeholder pointing at ``url``."""
    script = workdir / "snippet.py"
    script.write_text(snippet.code.replace(PLACEHOLDER, url), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_ENV}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_snippet_runs(snippet: Snippet, docs_echo_url: str, tmp_path: Path) -> None:
    if snippet.skip is not None:
        pytest.skip(f"{snippet.id}: {snippet.skip}")
    result = run_snippet(snippet, docs_echo_url, tmp_path)
    report = f"{snippet.id} failed\n--- code\n{snippet.code}--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    hint = "\n(a block that must not run needs a skip marker: see tests/docs/test_snippets.py)"
    assert result.returncode == 0, report + hint
    assert "ResourceWarning" not in result.stderr, report


def test_the_aiohttp_page_is_covered() -> None:
    page = [s for s in SNIPPETS if s.path == "docs/aiohttp.md"]
    assert len(page) >= 10
    assert all(s.skip is None for s in page)
    # Each example talks to the echo server or shows a pure-Python fact; none silently does nothing.
    assert sum(PLACEHOLDER in s.code for s in page) >= len(page) - 1


# ----------------------------------------------------------- the extractor itself


MARKDOWN = """\
Intro.

```python
print("one")
```

```sh
echo not python
```

<!-- snippet: skip (needs the internet) -->

```py
import internet
```

- a list item:

  ~~~~python3
  if True:
      print("indented")
  ~~~~

```python title="x"
print("four")
```
"""


def test_markdown_extraction() -> None:
    found = markdown_snippets(MARKDOWN, "x.md")
    assert [(s.line, s.code, s.skip) for s in found] == [
        (4, 'print("one")\n', None),
        (14, "import internet\n", "needs the internet"),
        (20, 'if True:\n    print("indented")\n', None),
        (25, 'print("four")\n', None),
    ]


RST = """\
Title
=====

.. code-block:: python
   :linenos:

   import websocket
   if True:
       print(websocket)

.. snippet: skip (runs forever)

.. code:: python

    while True:
        pass

.. code-block:: console

   $ not python

Text::

    literal, not run
"""


def test_rst_extraction() -> None:
    found = rst_snippets(RST, "x.rst")
    assert [(s.line, s.code, s.skip) for s in found] == [
        (7, "import websocket\nif True:\n    print(websocket)\n", None),
        (15, "while True:\n    pass\n", "runs forever"),
    ]


def test_a_failing_snippet_fails(docs_echo_url: str, tmp_path: Path) -> None:
    snippet = Snippet("x.md", 1, "import websocket\nws = websocket.create_connection('ws://127.0.0.1:8765/')\nassert False\n")
    result = run_snippet(snippet, docs_echo_url, tmp_path)
    assert result.returncode != 0
    assert "AssertionError" in result.stderr


def test_placeholder_reaches_the_echo_server(docs_echo_url: str, tmp_path: Path) -> None:
    code = (
        "import websocket\n"
        "with websocket.create_connection('ws://127.0.0.1:8765/any/path?q=1', timeout=5) as ws:\n"
        "    ws.send('ping')\n"
        "    print(ws.recv())\n"
    )
    result = run_snippet(Snippet("x.md", 1, code), docs_echo_url, tmp_path)
    assert (result.returncode, result.stdout) == (0, "ping\n"), result.stderr
