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
server in this process with permessage-deflate on, echoing text as text and
binary as binary, and a close frame with the same code and reason). A block
passes when it exits with status 0 within the time limit without a
ResourceWarning, so blocks state their results with ``assert`` where it helps
the reader.

Other documented addresses, served only to the blocks that mention them:

* ``wss://localhost:8443``: a TLS echo server whose certificate (for
  ``localhost``) is signed by a private CA; the block runs in a directory that
  holds that CA as ``ca.pem``, and a client certificate the server accepts as
  ``client.pem`` with its key in ``client.key``;
* port ``3128`` and port ``1080`` (an HTTP proxy and a SOCKS5 proxy at
  127.0.0.1, by convention): both become the port of one local pproxy that
  speaks HTTP CONNECT and SOCKS5.

Blocks that must not run (they need the internet, run forever, or show an
error on purpose) carry a marker on the nearest non-blank line before them:
``<!-- snippet: skip (why) -->`` in Markdown, ``.. snippet: skip (why)`` (an
RST comment) in reStructuredText.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

pytestmark = [pytest.mark.wsline_only, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "ws://127.0.0.1:8765"
TLS_PLACEHOLDER = "wss://localhost:8443"
PROXY_PORTS = re.compile(r"\b(?:3128|1080)\b")
SNIPPET_TIMEOUT = 30.0
LANGUAGES = frozenset(("python", "py", "python3"))
PROXY_ENV = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "socks_proxy")
# Settings of the developer's environment that would change what a block does.
DROPPED_ENV = (*PROXY_ENV, "websocket_client_ca_bundle", "sslkeylogfile", "no_color", "wsdump_history")

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
    with _running_echo(logger) as port:
        yield f"ws://127.0.0.1:{port}"


@contextmanager
def _running_echo(logger: logging.Logger, ssl_context: ssl.SSLContext | None = None) -> Iterator[int]:
    server = serve(_echo, "127.0.0.1", 0, ssl=ssl_context, max_size=None, ping_interval=None, logger=logger)
    thread = threading.Thread(target=server.serve_forever, name="docs-echo-server", daemon=True)
    thread.start()
    try:
        yield int(server.socket.getsockname()[1])
    finally:
        stopper = threading.Thread(target=server.shutdown, name="docs-echo-stop", daemon=True)
        stopper.start()
        stopper.join(10)
        thread.join(10)
        assert not stopper.is_alive() and not thread.is_alive(), "docs echo server did not stop"
        del server
        # websockets leaves selectors in reference cycles: free them now, not in a later test that counts fds.
        gc.collect()


@dataclass(frozen=True)
class TlsEcho:
    """The TLS echo server of ``wss://localhost:8443`` blocks, and the files those blocks find in their directory."""

    url: str
    files: dict[str, bytes]


@pytest.fixture(scope="module")
def docs_tls_echo() -> Iterator[TlsEcho]:
    """A TLS echo server for ``localhost`` signed by a fresh CA; client certificates are checked when sent."""
    import trustme

    ca = trustme.CA()
    client = ca.issue_cert("docs-client@wsline.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_OPTIONAL
    files = {
        "ca.pem": ca.cert_pem.bytes(),
        "client.pem": b"".join(pem.bytes() for pem in client.cert_chain_pems),
        "client.key": client.private_key_pem.bytes(),
    }
    logger = logging.getLogger("tests.docs.tls_echo")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    with _running_echo(logger, context) as port:
        yield TlsEcho(f"wss://localhost:{port}", files)


@pytest.fixture(scope="module")
def docs_proxy_port() -> Iterator[int]:
    """One local pproxy speaking HTTP CONNECT and SOCKS5, standing in for ports 3128 and 1080."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pproxy", "-l", "http+socks5://127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
        reader.start()
        reader.join(15)
        found = re.search(r"Serving on .*:(\d+) by", ready[0] if ready else "")
        assert found, f"pproxy did not start: {ready}"
        drain = threading.Thread(target=lambda: proc.stdout.read() if proc.stdout else None, daemon=True)
        drain.start()
        yield int(found.group(1))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


# ----------------------------------------------------------- running


def run_snippet(
    snippet: Snippet,
    url: str,
    workdir: Path,
    tls: TlsEcho | None = None,
    proxy_port: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the snippet as a script in a fresh interpreter, the placeholders pointing at the real servers."""
    code = snippet.code.replace(PLACEHOLDER, url)
    if tls is not None:
        code = code.replace(TLS_PLACEHOLDER, tls.url)
        for name, data in tls.files.items():
            (workdir / name).write_bytes(data)
    if proxy_port is not None:
        code = PROXY_PORTS.sub(str(proxy_port), code)
    script = workdir / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.lower() not in DROPPED_ENV}
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
def test_snippet_runs(snippet: Snippet, docs_echo_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if snippet.skip is not None:
        pytest.skip(f"{snippet.id}: {snippet.skip}")
    tls = request.getfixturevalue("docs_tls_echo") if TLS_PLACEHOLDER in snippet.code else None
    proxy_port = request.getfixturevalue("docs_proxy_port") if PROXY_PORTS.search(snippet.code) else None
    result = run_snippet(snippet, docs_echo_url, tmp_path, tls, proxy_port)
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


def test_tls_placeholder_reaches_the_tls_echo_server(docs_echo_url: str, docs_tls_echo: TlsEcho, tmp_path: Path) -> None:
    code = (
        "import websocket\n"
        "with websocket.create_connection('wss://localhost:8443/x', sslopt={'ca_certs': 'ca.pem'}, timeout=5) as ws:\n"
        "    ws.send('secure')\n"
        "    print(ws.recv(), ws.is_ssl())\n"
    )
    result = run_snippet(Snippet("x.md", 1, code), docs_echo_url, tmp_path, tls=docs_tls_echo)
    assert (result.returncode, result.stdout) == (0, "secure True\n"), result.stderr
    assert {"ca.pem", "client.pem", "client.key"} <= {p.name for p in tmp_path.iterdir()}


def test_proxy_ports_reach_the_proxy(docs_echo_url: str, docs_proxy_port: int, tmp_path: Path) -> None:
    code = (
        "import websocket\n"
        "for port, kind in ((3128, 'http'), (1080, 'socks5')):\n"
        "    with websocket.create_connection('ws://127.0.0.1:8765/', http_proxy_host='127.0.0.1',\n"
        "                                     http_proxy_port=port, proxy_type=kind, timeout=5) as ws:\n"
        "        ws.send(kind)\n"
        "        print(ws.recv())\n"
    )
    result = run_snippet(Snippet("x.md", 1, code), docs_echo_url, tmp_path, proxy_port=docs_proxy_port)
    assert (result.returncode, result.stdout) == (0, "http\nsocks5\n"), result.stderr
    assert str(docs_proxy_port) in (tmp_path / "snippet.py").read_text()


def test_every_docs_page_is_in_the_toctree_and_has_running_examples() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")} | {p.stem for p in (ROOT / "docs").glob("*.rst")}
    listed = set(re.findall(r"^([a-z][\w-]*)$", index, re.M))
    assert pages - {"index"} <= listed, pages - listed
    counts = {page: sum(1 for s in SNIPPETS if s.path == f"docs/{page}.md" and s.skip is None) for page in listed}
    without = {page for page, count in counts.items() if count == 0} - {"api", "examples", "wsdump"}
    assert not without, f"pages without a running example: {without}"
