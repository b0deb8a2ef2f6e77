"""Each recipe of docs/installing-with-dependents.md, run in a fresh venv with kubernetes (from PyPI).

wsline is installed from a wheel built from this checkout, kubernetes and its
dependencies from one ``pip download`` into a local wheelhouse (so the recipes
themselves run offline, with ``--no-index --find-links``). After each recipe,
``import websocket`` must be wsline beside a working ``kubernetes.stream``, and
``python -m websocket doctor`` must say so (exit 0).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

KUBERNETES = "kubernetes==37.0.2"
OVERRIDE = "websocket-client; sys_platform == 'never'"
STEP_TIMEOUT = 420
pytestmark = pytest.mark.timeout(900)


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a step; ``cwd`` matters: ``python -m``/``-c`` put it first on sys.path, so never the checkout."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, REPO, cwd=out)
    (found,) = glob.glob(str(out / "wsline-*.whl"))
    return Path(found)


@pytest.fixture(scope="module")
def index(wheel: Path) -> list[str]:
    """pip/uv options that resolve from a local wheelhouse: wsline's wheel, kubernetes and its dependencies."""
    house = wheel.parent
    run(sys.executable, "-m", "pip", "download", "--quiet", "-d", house, KUBERNETES, cwd=house)
    return ["--no-index", "--find-links", str(house)]


def uv() -> str:
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (the dependents extra)")
    return found


def venv(where: Path) -> Path:
    run(sys.executable, "-m", "venv", where, cwd=where.parent)
    return where / "bin" / "python"


def doctor(python: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "websocket", "doctor"], cwd=python.parent, capture_output=True, text=True,
                          timeout=60)


def assert_wsline(python: Path) -> None:
    probe = "import websocket, kubernetes.stream.ws_client; print(websocket.CloseCode.NORMAL.value, websocket.__file__)"
    out = run(python, "-c", probe, cwd=python.parent).stdout
    assert out.startswith("1000 ") and "site-packages" in out, out
    done = doctor(python)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "websocket-client: not installed" in done.stdout and "OK:" in done.stdout


def test_pip_recipe(tmp_path: Path, wheel: Path, index: list[str]) -> None:
    python = venv(tmp_path / "v")
    run(python, "-m", "pip", "install", "--quiet", *index, wheel, KUBERNETES, cwd=tmp_path)
    broken = doctor(python)
    assert broken.returncode == 1 and "overwritten" in broken.stdout  # the hazard the recipe repairs
    assert "pip uninstall --yes websocket-client" in broken.stdout
    run(python, "-m", "pip", "uninstall", "--quiet", "-y", "websocket-client", cwd=tmp_path)
    run(python, "-m", "pip", "install", "--quiet", *index, "--force-reinstall", "--no-deps", wheel, cwd=tmp_path)
    assert_wsline(python)


def test_uv_override_recipe(tmp_path: Path, wheel: Path, index: list[str]) -> None:
    overrides = tmp_path / "overrides.txt"
    overrides.write_text(OVERRIDE + "\n")
    python = venv(tmp_path / "v")
    run(uv(), "pip", "install", "--quiet", *index, "--python", python, "--override", overrides, wheel, KUBERNETES,
        cwd=tmp_path)
    assert_wsline(python)


def test_uv_project_override_dependencies(tmp_path: Path, wheel: Path, index: list[str]) -> None:
    # uv locks for every Python and platform the project allows: narrow both to this one,
    # which is all the local wheelhouse holds.
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    (tmp_path / "pyproject.toml").write_text(f"""\
[project]
name = "app"
version = "0"
requires-python = "=={here}.*"
dependencies = ["wsline", "{KUBERNETES}"]

[tool.uv]
override-dependencies = ["{OVERRIDE}"]
environments = ["sys_platform == '{sys.platform}'"]
package = false

[tool.uv.sources]
wsline = {{ path = "{wheel}" }}
""")
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(tmp_path / "v"))
    done = subprocess.run([uv(), "sync", "--quiet", *index, "--python", sys.executable], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert '[[package]]\nname = "websocket-client"' not in (tmp_path / "uv.lock").read_text()  # only its override
    assert_wsline(tmp_path / "v" / "bin" / "python")


def test_lock_file_recipe(tmp_path: Path, wheel: Path, index: list[str]) -> None:
    (tmp_path / "overrides.txt").write_text(OVERRIDE + "\n")
    (tmp_path / "requirements.in").write_text(KUBERNETES + "\n")
    run(uv(), "pip", "compile", "--quiet", *index, "requirements.in", "--override", "overrides.txt", "-o", "requirements.txt",
        cwd=tmp_path)
    assert "websocket-client" not in (tmp_path / "requirements.txt").read_text().replace(OVERRIDE, "")
    python = venv(tmp_path / "v")
    run(python, "-m", "pip", "install", "--quiet", *index, "--no-deps", "-r", tmp_path / "requirements.txt", wheel, cwd=tmp_path)
    assert_wsline(python)
