"""wsdump: talk to a WebSocket server from a terminal or from a script.

Installed as the ``wsdump`` command and runnable as ``python -m websocket``,
with websocket-client's flags. Interactive when stdin is a terminal: a ``> ``
prompt with readline editing and history, each line typed is sent as a text
message, messages from the server appear above the prompt, and Ctrl-D or
Ctrl-C closes the connection with a close frame. Scriptable otherwise (or with
``--raw``): each stdin line is sent, each message received is printed on
stdout, one per line, status lines go to stderr; at the end of stdin it waits
``--eof-wait`` seconds, closes cleanly and exits with a status from
``EXIT_CODES``.

Importing this module has no side effect: readline, signal handlers and
tracing are set up by ``main`` only.
"""

import argparse
import contextlib
import os
import signal
import ssl
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Optional, Union
from urllib.parse import unquote, urlsplit

from ._cli.output import Output
from ._cli.session import (
    EXIT_BUG,
    EXIT_CLOSED_WITH_ERROR,
    EXIT_CONNECT,
    EXIT_INTERRUPTED,
    EXIT_LOST,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_USAGE,
    Ending,
    Session,
)
from ._cli.version import version_text
from ._core import WebSocket
from ._exceptions import WebSocketException
from ._logging import enableTrace
from ._loop.keepalive import check_ping_options

__all__ = ["main", "parse_args", "EXIT_CODES"]

EXIT_CODES = {
    EXIT_OK: "closed cleanly: by wsdump (end of input, Ctrl-D, Ctrl-C) or by the server with 1000, 1001 or no code",
    EXIT_BUG: "an unexpected error inside wsdump (please report it)",
    EXIT_USAGE: "bad arguments or URL",
    EXIT_CONNECT: "could not connect: name resolution, refused, TLS, proxy, timeout, or a non-101 HTTP answer",
    EXIT_PROTOCOL: "the server broke the WebSocket protocol (invalid handshake answer, frame, UTF-8, or too big a message)",
    EXIT_LOST: "the connection was lost without a closing handshake (reset, end of stream, no answer to pings)",
    EXIT_CLOSED_WITH_ERROR: "the server closed the connection with another code than 1000 or 1001 (1011, 4000...)",
    EXIT_INTERRUPTED: "interrupted by SIGINT in scriptable mode (after a clean close), or by a second Ctrl-C",
}
"""wsdump's exit statuses and what each means (``--help`` lists them too)."""

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")

# ------------------------------------------------------------------ arguments


class _Verbosity(argparse.Action):
    """websocket-client's ``-v [N]``: ``-v`` is 1, ``-v 2`` and ``-vv`` are 2."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Optional[str] = None) -> None:
        if values is None:
            level = 1
        elif str(values).isdigit():
            level = int(values)
        else:
            level = str(values).count("v") + 1
        setattr(namespace, self.dest, level)


class _Version(argparse.Action):
    """``--version``: what it prints is only worked out when asked for."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Optional[str] = None) -> None:
        print(version_text())
        parser.exit()


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())
    return (
        "Interactive when stdin is a terminal: type a line to send it, Ctrl-D or Ctrl-C to close and quit.\n"
        "Otherwise each stdin line is sent and each message printed on its own line.\n"
        "Colours only when stdout is a terminal (and NO_COLOR is not set).\n\n"
        f"exit status:\n{codes}"
    )


def parse_args(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None) -> argparse.Namespace:
    """Parse wsdump's command line (websocket-client's flags and wsline's)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="WebSocket Simple Dump Tool: send lines, show messages.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("url", metavar="ws_url", help="ws://, wss:// or ws+unix:// URL, e.g. ws://127.0.0.1:8765/")
    add("-p", "--proxy", help="proxy URL: http(s)://[user:pass@]host:port, or socks4/socks4a/socks5/socks5h://")
    add("-v", "--verbose", default=0, nargs="?", action=_Verbosity, help="1: show opcodes and control frames; 2: also trace")
    add("-n", "--nocert", action="store_true", help="do not verify the server's TLS certificate")
    add("--cacert", metavar="FILE", help="trust the CA certificates in FILE (PEM) for wss://")
    add("-r", "--raw", action="store_true", help="scriptable mode even on a terminal: plain lines, no prompt")
    add("-s", "--subprotocols", nargs="*", help="subprotocols to offer")
    add("-o", "--origin", help="Origin header")
    add("--eof-wait", default=0.0, type=float, metavar="SECONDS", help="at the end of stdin, wait this long for answers")
    add("-t", "--text", help="send this text first")
    add("--timings", action="store_true", help="prefix each message with the seconds since start")
    add("--headers", help="extra headers, comma-separated: 'A: 1,B: 2'")
    add("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="one extra header (repeatable)")
    add("--compression", action=argparse.BooleanOptionalAction, default=True, help="offer permessage-deflate (default)")
    add("--ping-interval", type=float, default=0.0, metavar="SECONDS", help="send a ping this often (0: never)")
    add("--ping-timeout", type=float, metavar="SECONDS", help="declare the server dead after this silence (interval/2)")
    add("--json", action="store_true", help="pretty-print text messages that are JSON")
    add("--binary", action="store_true", help="show binary messages as hex")
    add("--reconnect", type=float, metavar="SECONDS", help="reconnect this long after a drop or a server restart")
    add("--timeout", type=float, default=10.0, metavar="SECONDS", help="connect and handshake timeout (default 10)")
    add("--version", action=_Version, nargs=0, help="show the version, Python and speedups in use, and exit")
    return parser.parse_args(argv)


def proxy_options(url: str) -> dict[str, Any]:
    """create_connection's proxy options for a proxy URL; ValueError if it is not one wsdump can use."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ValueError(f"unsupported proxy URL {url!r}: use {', '.join(s + '://' for s in PROXY_SCHEMES)}")
    options: dict[str, Any] = {
        "http_proxy_host": parts.hostname,
        "http_proxy_port": parts.port or {"http": 80, "https": 443}.get(scheme, 1080),
        "proxy_type": scheme,
    }
    if parts.username:
        options["http_proxy_auth"] = (unquote(parts.username), unquote(parts.password or ""))
    return options


def connect_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of create_connection that the flags ask for."""
    options: dict[str, Any] = {"compression": "deflate" if args.compression else None}
    if args.proxy:
        options.update(proxy_options(args.proxy))
    if args.origin:
        options["origin"] = args.origin
    if args.subprotocols:
        options["subprotocols"] = args.subprotocols
    headers = [h.strip() for h in (args.headers or "").split(",") if h.strip()] + list(args.header)
    if headers:
        options["header"] = headers
    sslopt: dict[str, Any] = {}
    if args.nocert:
        sslopt = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    elif args.cacert:
        sslopt = {"ca_certs": args.cacert}
    options["sslopt"] = sslopt
    if args.ping_interval:
        timeout = args.ping_timeout if args.ping_timeout is not None else args.ping_interval / 2
        check_ping_options(args.ping_interval, timeout)
    return options

# ------------------------------------------------------------------ terminal set-up


def _history_file() -> Optional[str]:
    path = os.environ.get("WSDUMP_HISTORY")
    if path is None:
        return os.path.join(os.path.expanduser("~"), ".wsdump_history")
    return path or None


def _setup_readline() -> Callable[[], None]:
    """Turn on readline editing and history for input(); returns what saves the history at the end."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input()
        return lambda: None
    path = _history_file()
    readline.set_history_length(1000)
    if path:
        try:
            readline.read_history_file(path)
        except OSError:
            pass

    def save() -> None:
        if path:
            try:
                readline.write_history_file(path)
            except OSError:
                pass

    return save


def _stdin_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line[:-1] if line.endswith("\n") else line


@contextlib.contextmanager
def _sigint_handler(session: Session) -> Iterator[None]:
    """wsdump's SIGINT handler for the whole run (from the main thread only); the previous one after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, session._on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _open(session: Session) -> Union[WebSocket, Ending, None]:
    """The first connection; Ctrl-C aborts it (KeyboardInterrupt), later a Ctrl-C closes cleanly."""
    session.interruptible = True
    try:
        return session.open()
    finally:
        session.interruptible = False


def _converse(session: Session, ws: WebSocket) -> int:
    """Run the session on ``ws``: the reader thread, the input loop, the close; returns the exit status."""
    save_history: Callable[[], None] = lambda: None  # noqa: E731
    try:
        if session.interactive:
            save_history = _setup_readline()
            if session.out.screen:
                session.out.status("Press Ctrl+C or Ctrl+D to quit")
            prompt = "> " if session.out.screen else ""
            read: Callable[[], str] = lambda: input(prompt)  # noqa: E731
        else:
            read = _stdin_line
        session.start_reader(ws)
        session.converse(read)
        return session.finish()
    finally:
        save_history()


def _make_output(args: argparse.Namespace, interactive: bool) -> Output:
    tty = sys.stdout.isatty()
    colour = tty and not args.raw and not os.environ.get("NO_COLOR")
    return Output(sys.stdout, sys.stderr, screen=interactive and tty, colour=colour, safe=tty, verbose=args.verbose > 0)


def main(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None) -> int:
    """Run wsdump; returns the exit status (see ``EXIT_CODES``)."""
    args = parse_args(argv, prog)
    try:
        options = connect_options(args)
    except (ValueError, WebSocketException) as exc:
        print(f"wsdump: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.verbose > 1:
        enableTrace(True)
    interactive = sys.stdin.isatty() and not args.raw
    session = Session(args, options, _make_output(args, interactive), interactive)
    with _sigint_handler(session):
        try:
            opened = _open(session)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        if not isinstance(opened, WebSocket):
            ending = opened or session.ending or Ending(EXIT_INTERRUPTED, "interrupted")
            print(f"wsdump: {ending.text}", file=sys.stderr)
            return ending.code
        try:
            return _converse(session, opened)
        except KeyboardInterrupt:  # a second Ctrl-C while closing
            opened.shutdown()
            return EXIT_INTERRUPTED
        finally:
            if session.out.broken.is_set():
                _silence_stdout()


def _silence_stdout() -> None:
    """Whoever read our output left (``wsdump ... | head -1``): spare the interpreter's final flush an EPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
