"""wsdump in interactive mode, under real pseudo-terminals.

pexpect drives the prompt (readline editing, history, Ctrl-D, Ctrl-C, exit
statuses); tmux, a real terminal emulator, shows what the screen looks like
while messages arrive during typing. Both run ``python -m websocket`` against
local servers.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from _wsdump_run import server, wsdump_argv, wsdump_env
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

pexpect = pytest.importorskip("pexpect")

pytestmark = [pytest.mark.wsline_only, pytest.mark.timeout(60)]

EXPECT_TIMEOUT = 10


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """``spawn(url, *flags, **env)``: wsdump on a 24x100 pseudo-terminal, HOME in a temporary directory."""
    children = []

    def start(url: str, *flags: str, **env: str) -> object:
        argv = wsdump_argv(url, *flags)
        child = pexpect.spawn(
            argv[0],
            argv[1:],
            env=wsdump_env(HOME=str(tmp_path), TERM="xterm", **env),
            encoding="utf-8",
            timeout=EXPECT_TIMEOUT,
            dimensions=(24, 100),
        )
        children.append(child)
        return child

    yield start
    for child in children:
        child.close(force=True)


def _ctrl_d(child: object) -> None:
    """Ctrl-D once readline reads again: typed before, in the terminal's cooked mode, it would be lost."""
    time.sleep(0.3)
    child.sendcontrol("d")


def _finish(child: object) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


# ------------------------------------------------------------------ the prompt (pexpect)


def test_send_receive_then_ctrl_d_closes_cleanly(spawn, echo_server):
    url, record = echo_server.track("/echo")
    child = spawn(url)
    child.expect_exact("Press Ctrl+C or Ctrl+D to quit")
    child.expect_exact("> ")
    child.sendline("hello ✓")
    child.expect_exact("< hello ✓")
    _ctrl_d(child)
    child.expect_exact("Connection closed (1000 NORMAL)")
    assert _finish(child) == 0
    assert record.wait_finished().client_close == (1000, "")
    assert record.received == ["hello ✓"]


def test_ctrl_c_closes_cleanly(spawn, echo_server):
    url, record = echo_server.track("/echo")
    child = spawn(url)
    child.expect_exact("> ")
    child.send("half a line")
    child.expect_exact("half a line")  # readline has it: a Ctrl-C typed while it handles a key waits for the next one
    child.sendintr()
    child.expect_exact("Connection closed (1000 NORMAL)")
    assert _finish(child) == 0
    record.wait_finished()
    assert record.client_close == (1000, "")
    assert record.received == []  # the line being typed is dropped, not sent


def test_colours_on_a_terminal_unless_no_color(spawn, echo_server):
    child = spawn(echo_server.url_for("/echo"))
    child.sendline("blue")
    child.expect_exact("\x1b[34m< blue\x1b[0m")
    _ctrl_d(child)
    assert _finish(child) == 0
    plain = spawn(echo_server.url_for("/echo"), NO_COLOR="1")
    plain.sendline("plain")
    plain.expect_exact("< plain")
    shown = plain.before + plain.after
    _ctrl_d(plain)
    assert _finish(plain) == 0
    assert "\x1b[34m" not in shown and "\x1b[2m" not in shown


def test_the_server_closing_ends_the_session_at_the_prompt(spawn, echo_server):
    child = spawn(echo_server.url_for("/close", after=1, code=4000, reason="bye"))
    child.expect_exact("> ")
    child.sendline("x")
    child.expect_exact("< x")
    child.expect_exact("Connection closed by the server (4000 'bye')")
    assert _finish(child) == 6  # nobody pressed a key: the reader woke the prompt up


def test_line_editing(spawn, echo_server):
    url, record = echo_server.track("/echo")
    child = spawn(url)
    child.expect_exact("> ")
    child.send("helo wrld")
    child.send("\x1b[D" * 3 + "o")  # left three times, insert
    child.send("\x01" + "\x1b[C" * 3 + "l\r")  # Ctrl-A (start of line), right three times, insert, Enter
    child.expect_exact("< hello world")
    _ctrl_d(child)
    assert _finish(child) == 0
    assert record.wait_finished().received == ["hello world"]


def test_history_is_kept_between_runs(spawn, echo_server, tmp_path):
    first = spawn(echo_server.url_for("/echo"))
    first.sendline("remember me")
    first.expect_exact("< remember me")
    _ctrl_d(first)
    assert _finish(first) == 0
    assert (tmp_path / ".wsdump_history").read_text().splitlines()[-1] == "remember me"

    url, record = echo_server.track("/echo")
    second = spawn(url)
    second.expect_exact("> ")
    second.send("\x1b[A\r")  # up arrow: the last line of the previous run
    second.expect_exact("< remember me")
    _ctrl_d(second)
    assert _finish(second) == 0
    assert record.wait_finished().received == ["remember me"]


def test_history_file_can_be_moved_or_turned_off(spawn, echo_server, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    child = spawn(echo_server.url_for("/echo"), WSDUMP_HISTORY=str(elsewhere))
    child.sendline("kept elsewhere")
    child.expect_exact("< kept elsewhere")
    _ctrl_d(child)
    assert _finish(child) == 0
    assert "kept elsewhere" in elsewhere.read_text()
    off = spawn(echo_server.url_for("/echo"), WSDUMP_HISTORY="")
    off.sendline("forgotten")
    off.expect_exact("< forgotten")
    _ctrl_d(off)
    assert _finish(off) == 0
    assert not (tmp_path / ".wsdump_history").exists()


def test_raw_on_a_terminal_prints_plain_lines(spawn, echo_server):
    child = spawn(echo_server.url_for("/echo"), "-r")
    child.sendline("plain")
    child.expect_exact("plain\r\nplain\r\n")  # the terminal's echo of the input, then the message
    _ctrl_d(child)
    assert _finish(child) == 0
    assert "Press Ctrl" not in child.before and "< " not in child.before


# ------------------------------------------------------------------ the screen (tmux)


TMUX = shutil.which("tmux")


class Screen:
    """wsdump in its own tmux server: type keys, read what the terminal shows."""

    def __init__(self, width: int = 80, height: int = 20) -> None:
        self.dir = tempfile.mkdtemp(prefix="wsd-tmux")
        self.socket = str(Path(self.dir) / "sock")
        self.width, self.height = width, height

    def _tmux(self, *args: str) -> str:
        done = subprocess.run([TMUX, "-S", self.socket, *args], capture_output=True, text=True, timeout=10, check=False)
        return done.stdout

    def start(self, *argv: str) -> None:
        command = shlex.join(argv) + '; echo "EXIT=$?"; sleep 30'
        env = wsdump_env(HOME=self.dir)
        size = ["-x", str(self.width), "-y", str(self.height)]
        subprocess.run(
            [TMUX, "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "w", *size, command],
            env=env,
            timeout=10,
            check=True,
        )

    def lines(self) -> list[str]:
        return self._tmux("capture-pane", "-p", "-t", "w").split("\n")[: self.height]

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = EXPECT_TIMEOUT) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if predicate(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError("the screen never showed what was expected:\n" + "\n".join(lines))
            time.sleep(0.05)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "w", "-l", text)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "w", *keys)

    def stop(self) -> None:
        self._tmux("kill-server")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def screen() -> Iterator[Screen]:
    if TMUX is None:
        pytest.skip("tmux is not installed")
    term = Screen()
    yield term
    term.stop()


def _ticker(count: int, every: float, received: list[str]) -> Callable[[ServerConnection], None]:
    """A handler that sends ``tick 0``, ``tick 1``... while recording what the client sends."""

    def handler(conn: ServerConnection) -> None:
        def listen() -> None:
            try:
                for message in conn:
                    received.append(str(message))
            except ConnectionClosed:
                pass

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        try:
            for i in range(count):
                conn.send(f"tick {i}")
                time.sleep(every)
        except ConnectionClosed:
            pass
        listener.join(10)

    return handler


def _last_nonblank(lines: list[str]) -> str:
    return next(line for line in reversed(lines) if line.strip())


def _ticks(lines: list[str]) -> list[int]:
    return [int(line.split()[-1]) for line in lines if line.startswith("< tick ")]


def test_messages_appear_above_the_line_being_typed(screen):
    received: list[str] = []
    with server(_ticker(400, 0.05, received)) as url:
        screen.start(*wsdump_argv(url))
        screen.wait_for(lambda lines: len(_ticks(lines)) >= 3)
        screen.type("hello wor")
        before = max(_ticks(screen.lines()))
        lines = screen.wait_for(lambda lines: max(_ticks(lines) or [0]) >= before + 8)
        assert _last_nonblank(lines) == "> hello wor"
        ticks = _ticks(lines)
        assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)
        assert not any("hello" in line for line in lines[:-1] if not line.startswith(">"))
        screen.keys("Left", "Left", "Left")
        screen.type("X")
        mark = max(_ticks(screen.lines()))
        lines = screen.wait_for(lambda lines: max(_ticks(lines) or [0]) >= mark + 5)
        assert _last_nonblank(lines) == "> hello Xwor"
        screen.keys("Enter")
        deadline = time.monotonic() + EXPECT_TIMEOUT
        while "hello Xwor" not in received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received == ["hello Xwor"]
        screen.keys("C-d")
        screen.wait_for(lambda lines: "EXIT=0" in lines)


def _send_then_listen(*messages: str) -> Callable[[ServerConnection], None]:
    def handler(conn: ServerConnection) -> None:
        try:
            conn.recv(timeout=10)  # the go-ahead: the test has typed its partial line
            for message in messages:
                conn.send(message)
            for _ in conn:
                pass
        except (ConnectionClosed, TimeoutError):
            pass

    return handler


def test_long_and_multiline_messages_never_overwrite_the_prompt(screen):
    long = "".join(f"{i:03d}-" for i in range(60))  # 240 columns
    with server(_send_then_listen(long, '{"key": "value", "list": [1, 2]}', "wide 世界" * 12)) as url:
        screen.start(*wsdump_argv(url, "--json"))
        screen.wait_for(lambda lines: any(line.startswith(">") for line in lines))
        screen.type("go")
        screen.keys("Enter")
        screen.type("still typing")
        lines = screen.wait_for(lambda lines: any("世界" in line for line in lines) and "still typing" in "".join(lines))
        time.sleep(0.3)
        lines = screen.lines()
        assert _last_nonblank(lines) == "> still typing"
        rows = [line for line in lines if line.startswith(("< ", "  "))]
        assert all(len(line) < screen.width for line in rows)
        shown = "".join(row[2:] for row in rows if not row.startswith('  "') and "{" not in row and "}" not in row)
        assert long in shown
        assert '  "key": "value",' in "\n".join(lines)  # pretty-printed, indented under "< {"
        screen.keys("C-c")
        screen.wait_for(lambda lines: "EXIT=0" in lines)


def test_escape_sequences_from_the_server_are_shown_not_obeyed(screen):
    with server(_send_then_listen("\x1b[2J\x1b[Hgotcha\x07")) as url:
        screen.start(*wsdump_argv(url))
        screen.wait_for(lambda lines: any(line.startswith(">") for line in lines))
        screen.type("go")
        screen.keys("Enter")
        lines = screen.wait_for(lambda lines: any("gotcha" in line for line in lines))
        assert "< \\x1b[2J\\x1b[Hgotcha\\x07" in lines
        assert "Press Ctrl+C or Ctrl+D to quit" in lines  # the screen was not cleared
        screen.keys("C-d")
        screen.wait_for(lambda lines: "EXIT=0" in lines)


def test_screen_shows_the_end_when_the_server_goes_away(screen, echo_server):
    screen.start(*wsdump_argv(echo_server.url_for("/close", after=1, code=1011, reason="oops")))
    screen.wait_for(lambda lines: any(line.startswith(">") for line in lines))
    screen.type("x")
    screen.keys("Enter")
    lines = screen.wait_for(lambda lines: "EXIT=6" in lines)
    assert "< x" in lines
    assert "Connection closed by the server (1011 INTERNAL_ERROR 'oops')" in lines
