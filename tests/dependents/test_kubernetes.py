"""kubernetes' ``kubernetes.stream`` (exec, attach, port-forward) on wsline, against a fake API server.

The client code is the real kubernetes package: ``stream(api.connect_get_namespaced_pod_exec,
...)`` builds the URL, offers the channel subprotocols in a raw header line, and reads
with ``WSClient.update()``, which waits on ``ws.sock`` with poll before every
``recv_data_frame()``. Bursts (several frames in one TCP write) therefore check
that frames wsline has already read ahead are not left waiting for more bytes.
"""

from __future__ import annotations

import json
import queue
import time
from typing import Any

import pytest
from _kube_server import BIG, STDIN, V4, V5, KubeServer

kubernetes = pytest.importorskip("kubernetes", reason="kubernetes is not installed (the dependents extra)")
from kubernetes.client import ApiClient, Configuration, CoreV1Api  # noqa: E402
from kubernetes.stream import portforward, stream  # noqa: E402
from kubernetes.stream.ws_client import WSClient  # noqa: E402

REQUEST_TIMEOUT = 10  # bounds run_forever() of _preload_content=True


@pytest.fixture(params=[V5, V4])
def kube(request: pytest.FixtureRequest, aio: Any) -> tuple[KubeServer, CoreV1Api]:
    fake = KubeServer(protocols=(request.param,))
    fake.srv = aio(fake.routes())
    cfg = Configuration(host=f"http://{fake.srv.base}")
    return fake, CoreV1Api(ApiClient(cfg))


def exec_(api: CoreV1Api, command: str, **kwargs: Any) -> Any:
    options = {"stderr": True, "stdin": False, "stdout": True, "tty": False, "_request_timeout": REQUEST_TIMEOUT}
    options.update(kwargs)
    return stream(api.connect_get_namespaced_pod_exec, "web-0", "default", command=[command, "-x"], **options)


def drain(client: WSClient, timeout: float = 10.0) -> None:
    """update() until the server has closed, bounded."""
    deadline = time.monotonic() + timeout
    while client.is_open() and time.monotonic() < deadline:
        client.update(timeout=0.5)
    assert not client.is_open(), "the close frame was not seen in time"


def test_exec_request_and_subprotocol(kube: tuple[KubeServer, CoreV1Api]) -> None:
    fake, api = kube
    exec_(api, "burst")
    kind, path, query, protocol = fake.srv.next_event()  # type: ignore[union-attr]
    assert (kind, path) == ("request", "/api/v1/namespaces/default/pods/web-0/exec")
    assert ("command", "burst") in query and ("command", "-x") in query
    assert protocol == fake.protocols[0]


def test_exec_preload_burst_in_one_write(kube: tuple[KubeServer, CoreV1Api]) -> None:
    _, api = kube
    started = time.monotonic()
    out = exec_(api, "burst")
    assert out == "out line\nerr line\n"
    # The close arrives with the burst: nothing may wait for the request timeout.
    assert time.monotonic() - started < REQUEST_TIMEOUT / 2


def test_exec_preload_70000_bytes_binary(kube: tuple[KubeServer, CoreV1Api]) -> None:
    _, api = kube
    out = exec_(api, "big", stderr=False, binary=True)
    assert out == BIG


def test_exec_interactive_burst_then_returncode(kube: tuple[KubeServer, CoreV1Api]) -> None:
    _, api = kube
    client = exec_(api, "burst", _preload_content=False)
    assert isinstance(client, WSClient)
    client.update(timeout=5)
    # One update() delivers every frame of the burst that is already there.
    assert client.read_stdout(timeout=0) == "out line\n"
    assert client.read_stderr(timeout=0) == "err line\n"
    drain(client)
    assert client.returncode == 0


def test_exec_nonzero_exit_code(kube: tuple[KubeServer, CoreV1Api]) -> None:
    _, api = kube
    client = exec_(api, "exit3", _preload_content=False)
    drain(client)
    assert client.read_stderr() == "boom\n"
    assert client.returncode == 3


def test_exec_stdin_resize_and_close(kube: tuple[KubeServer, CoreV1Api]) -> None:
    fake, api = kube
    client = exec_(api, "cat", stdin=True, _preload_content=False)
    assert client.is_open()
    client.write_stdin("hello\n")
    assert client.readline_stdout(timeout=5) == "hello"
    client.write_channel(4, json.dumps({"Width": 120, "Height": 40}))
    assert client.readline_stdout(timeout=5) == "resized 120x40"
    client.write_stdin(b"\x00\xffraw")  # binary stdin
    if client.subprotocol == V5:
        client.close_channel(STDIN)  # v5: [255, 0] ends stdin
    else:
        client.write_stdin("EOF")
    drain(client)
    assert client.returncode == 0
    seen = []
    while True:
        try:
            seen.append(fake.srv.next_event(timeout=1))  # type: ignore[union-attr]
        except queue.Empty:
            break
    assert (0, b"hello\n") in seen and (4, b'{"Width": 120, "Height": 40}') in seen
    assert (0, b"\x00\xffraw") in seen
    client.close()


def test_attach_interactive(kube: tuple[KubeServer, CoreV1Api]) -> None:
    fake, api = kube
    client = stream(api.connect_get_namespaced_pod_attach, "web-0", "default", stdin=True, stdout=True,
                    stderr=True, tty=False, _preload_content=False)
    _, path, _, _ = fake.srv.next_event()  # type: ignore[union-attr]
    assert path.endswith("/pods/web-0/attach")
    client.write_stdin("attached\n")
    assert client.readline_stdout(timeout=5) == "attached"
    client.write_stdin("EOF")
    drain(client)
    assert client.returncode == 0


def test_portforward_echo(aio: Any) -> None:
    fake = KubeServer(protocols=(V4,))
    fake.srv = aio(fake.routes())
    api = CoreV1Api(ApiClient(Configuration(host=f"http://{fake.srv.base}")))
    pf = portforward(api.connect_get_namespaced_pod_portforward, "web-0", "default", ports="8080,9090")
    try:
        for port in (8080, 9090):
            sock = pf.socket(port)
            sock.settimeout(5)
            sock.sendall(f"hello {port}".encode())
            assert sock.recv(100) == f"HELLO {port}".encode()
        assert pf.error(8080) is None and pf.connected
    finally:
        pf.close()
    deadline = time.monotonic() + 5
    while pf.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pf.connected
