"""How wsdump shows things: message formatting, colours, and printing above a live prompt.

``Output`` writes incoming messages and status lines. On a terminal in
interactive mode, every row is inserted *above* the prompt line with VT100
sequences (save the cursor, open a line above it, write, restore the cursor),
so the line being typed and readline's idea of it are never disturbed. Rows
are cut to the terminal's width first, because a row that wrapped would
overwrite the prompt.

Text shown on a terminal is sanitised: control characters a server sends
(escape sequences included) are shown as ``\\xNN`` instead of being obeyed.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Optional, TextIO

__all__ = ["Output", "Style", "format_binary", "format_text", "sanitize"]

_ESC = "\x1b"
# Save cursor, line feed (scrolls at the bottom), cursor up, insert a blank line here.
_OPEN_ABOVE = f"{_ESC}7\n{_ESC}[A{_ESC}[L"
# After the row: line feed, restore the cursor, and down one row to where the prompt went.
_CLOSE_ABOVE = f"\n{_ESC}8{_ESC}[B"


@dataclass(frozen=True)
class Style:
    """SGR colour codes of each kind of row."""

    text: str = "34"  # blue, as websocket-client's wsdump
    binary: str = "35"
    control: str = "90"
    info: str = "2"
    error: str = "31"


def sanitize(text: str) -> str:
    """``text`` with control characters (but newline and tab) shown as ``\\xNN``: safe for a terminal."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp"):
            out.append(char)
        else:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
    return "".join(out)


def format_text(text: str, pretty_json: bool) -> str:
    """A text message as shown: pretty-printed when ``pretty_json`` and it parses as JSON."""
    if pretty_json:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return text


def format_binary(data: bytes, as_hex: bool) -> str:
    """A binary message as shown: hex with ``as_hex``, else as websocket-client's wsdump shows it.

    That is ``[gzip] text`` for gzip data holding UTF-8 text, ``[zlib] text``
    for raw deflate data holding UTF-8 text, ``repr(data)`` otherwise.
    """
    if as_hex:
        return data.hex()
    if data[:2] == b"\x1f\x8b":
        try:
            return "[gzip] " + gzip.decompress(data).decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError, zlib.error):
            pass
    else:
        try:
            return "[zlib] " + zlib.decompress(data, -zlib.MAX_WBITS).decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            pass
    return repr(data)


def _width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cut(line: str, columns: int) -> list[str]:
    """``line`` in pieces of at most ``columns`` display columns."""
    rows: list[str] = []
    start, used = 0, 0
    for index, char in enumerate(line):
        width = _width(char)
        if used + width > columns and index > start:
            rows.append(line[start:index])
            start, used = index, 0
        used += width
    rows.append(line[start:])
    return rows


class Output:
    """Where messages and status lines go; safe to call from any thread.

    ``screen``: interactive mode on a terminal (status lines and messages both
    on stdout, above the prompt while one is shown). Otherwise messages go to
    ``out`` one per line and status lines to ``err``, informational ones only
    when ``verbose``.
    """

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        screen: bool,
        colour: bool,
        safe: bool,
        verbose: bool,
        style: Optional[Style] = None,
    ) -> None:
        self.out = out
        self.err = err
        self.screen = screen
        self.colour = colour
        self.safe = safe
        self.verbose = verbose
        self.style = style or Style()
        self.prompting = False
        """True while the main thread shows the prompt (set around ``input()``)."""
        self.broken = threading.Event()
        """Set when stdout is gone (a closed pipe): nothing more can be shown."""
        self._lock = threading.Lock()

    def message(self, text: str, kind: str = "text") -> None:
        """Show one incoming message (``kind``: text, binary or control)."""
        if self.safe:
            text = sanitize(text)
        if self.screen:
            self._rows(text.expandtabs(8).split("\n"), getattr(self.style, kind), "< ")
        else:
            self._write(self.out, text + "\n", getattr(self.style, kind) if self.colour else None)

    def status(self, text: str, error: bool = False) -> None:
        """Show a status line: connected, closed, reconnecting, an error."""
        if self.safe or self.screen:
            text = sanitize(text)
        style = self.style.error if error else self.style.info
        if self.screen:
            self._rows([text], style, "")
        elif error or self.verbose:
            self._write(self.err, text + "\n", style if self.colour and self.err.isatty() else None)

    def raw(self, data: str) -> None:
        """Write ``data`` to stdout as is (under the lock)."""
        with self._lock:
            self._emit(self.out, data)

    def _rows(self, lines: list[str], style: str, first: str) -> None:
        """Show ``lines`` as terminal rows: ``first`` before the first, the rest indented to match."""
        indent = " " * len(first)
        columns = max(shutil.get_terminal_size().columns - 1 - len(first), 10)
        rows = [
            (first if i == 0 and j == 0 else indent) + piece
            for i, line in enumerate(lines)
            for j, piece in enumerate(_cut(line, columns))
        ]
        paint = self._paint if self.colour else _plain
        with self._lock:
            if self.prompting:
                data = "".join(_OPEN_ABOVE + paint(row, style) + _CLOSE_ABOVE for row in rows)
            else:
                data = "".join(paint(row, style) + "\n" for row in rows)
            self._emit(self.out, data)

    def _write(self, stream: TextIO, data: str, style: Optional[str]) -> None:
        if style is not None:
            data = self._paint(data.rstrip("\n"), style) + "\n"
        with self._lock:
            self._emit(stream, data)

    def _emit(self, stream: TextIO, data: str) -> None:
        if self.broken.is_set():
            return
        try:
            stream.write(data)
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader of our output went away, or it was closed
            self.broken.set()

    @staticmethod
    def _paint(row: str, style: str) -> str:
        return f"{_ESC}[{style}m{row}{_ESC}[0m"


def _plain(row: str, style: str) -> str:
    return row
