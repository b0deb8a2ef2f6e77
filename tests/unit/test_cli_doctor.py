"""``python -m websocket doctor`` on constructed site-packages directories (no pip, no network)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

from websocket._cli import doctor

WSLINE_FILES = {"websocket/__init__.py": b"# wsline\n", "websocket/_core.py": b"# wsline core\n",
                "websocket/_sansio/protocol.py": b"# wsline protocol\n"}
WSC_FILES = {"websocket/__init__.py": b"# websocket-client\n", "websocket/_core.py": b"# wsc core\n",
             "websocket/_wsdump.py": b"# wsc wsdump\n"}


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install(site: Path, name: str, version: str, files: dict[str, bytes], *, write: bool = True) -> None:
    """What pip leaves: the files, and a dist-info whose RECORD lists them with their hashes."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    record = [f"{path},{_hash(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")
    if write:
        for path, data in files.items():
            (site / path).parent.mkdir(parents=True, exist_ok=True)
            (site / path).write_bytes(data)


def test_wsline_alone_is_ok(tmp_path: Path) -> None:
    install(tmp_path, "wsline", "0.1.0", WSLINE_FILES)
    report = doctor.diagnose([str(tmp_path)], python="py")
    assert report.problems == [] and report.fix == []
    assert report.wsline is not None and report.wsline.version == "0.1.0"
    assert "OK" in doctor.render(report)[-1]


def test_dependent_installed_after_wsline_overwrote_it(tmp_path: Path) -> None:
    install(tmp_path, "wsline", "0.1.0", WSLINE_FILES)
    install(tmp_path, "websocket-client", "1.9.2", WSC_FILES)  # pip writes over the shared files
    report = doctor.diagnose([str(tmp_path)], python="py")
    assert sorted(report.changed) == ["websocket/__init__.py", "websocket/_core.py"]
    assert report.missing == []
    assert report.fix == ["py -m pip uninstall --yes websocket-client",
                          "py -m pip install --force-reinstall --no-deps wsline"]
    text = "\n".join(doctor.render(report))
    assert "websocket-client: 1.9.2" in text and "overwritten: websocket/_core.py" in text


def test_websocket_client_uninstalled_afterwards_left_files_missing(tmp_path: Path) -> None:
    install(tmp_path, "wsline", "0.1.0", WSLINE_FILES)
    (tmp_path / "websocket/__init__.py").unlink()  # what `pip uninstall websocket-client` deletes
    report = doctor.diagnose([str(tmp_path)], python="py")
    assert report.missing == ["websocket/__init__.py"] and report.changed == []
    assert report.fix == ["py -m pip install --force-reinstall --no-deps wsline"]


def test_websocket_client_beside_intact_wsline_is_still_a_problem(tmp_path: Path) -> None:
    install(tmp_path, "websocket-client", "1.9.2", WSC_FILES)
    install(tmp_path, "wsline", "0.1.0", WSLINE_FILES)  # wsline reinstalled last: its files win
    report = doctor.diagnose([str(tmp_path)], python="py")
    assert report.changed == [] and report.missing == []
    assert report.websocket_client is not None and len(report.problems) == 1
    assert report.fix[0] == "py -m pip uninstall --yes websocket-client"


def test_only_websocket_client(tmp_path: Path) -> None:
    install(tmp_path, "websocket-client", "1.9.2", WSC_FILES)
    report = doctor.diagnose([str(tmp_path)], python="py")
    assert "wsline is not installed" in report.problems
    assert report.fix == ["py -m pip uninstall --yes websocket-client", "py -m pip install --force-reinstall wsline"]


def test_editable_install_is_not_hash_checked(tmp_path: Path) -> None:
    install(tmp_path, "wsline", "0.1.0", {"__editable__.wsline-0.1.0.pth": b"/src\n"})
    report = doctor.diagnose([str(tmp_path)], python="py")
    assert report.wsline is not None and report.wsline.editable and report.problems == []


def test_command_line_exit_status() -> None:
    # This interpreter's own installation: wsline, and (in the main venv) no websocket-client.
    run = subprocess.run([sys.executable, "-m", "websocket", "doctor"], capture_output=True, text=True, timeout=60)
    assert run.stdout.splitlines()[0].startswith("wsline: ")
    assert run.returncode == (1 if "PROBLEM" in run.stdout else 0)
    bad = subprocess.run([sys.executable, "-m", "websocket", "doctor", "--bogus"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr
