"""Each recipe of docs/installing-with-dependents.md, run in a fresh venv with kubernetes (from PyPI).

wsline is installed from a wheel built from this checkout. After each recipe,
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


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, REPO)
    (found,) = glob.glob(str(out / "wsline-*.whl"))
    return Path(found)


def uv() -> str:
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (the dependents extra)")
    return found


def venv(where: Path) -> Path:
    run(sys.executable, "-m", "venv", where)
    return where / "bin" / "python"


def assert_wsline(python: Path) -> None:
    probe = "import websocket, kubernetes.stream.ws_client; print(websocket.CloseCode.NORMAL.value, websocket.__file__)"
    assert run(python, "-c", probe).stdout.startswith("1000 ")
    doctor = subprocess.run([str(python), "-m", "websocket", "doctor"], capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "websocket-client: not installed" in doctor.stdout and "OK:" in doctor.stdout


def test_pip_recipe(tmp_path: Path, wheel: Path) -> None:
    python = venv(tmp_path / "v")
    run(python, "-m", "pip", "install", "--quiet", wheel, KUBERNETES)
    broken = subprocess.run([str(python), "-m", "websocket", "doctor"], capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1 and "overwritten" in broken.stdout  # the hazard the recipe repairs
    assert "pip uninstall --yes websocket-client" in broken.stdout
    run(python, "-m", "pip", "uninstall", "--quiet", "-y", "websocket-client")
    run(python, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", wheel)
    assert_wsline(python)


def test_uv_override_recipe(tmp_path: Path, wheel: Path) -> None:
    overrides = tmp_path / "overrides.txt"
    overrides.write_text(OVERRIDE + "\n")
    python = venv(tmp_path / "v")
    run(uv(), "pip", "install", "--quiet", "--python", python, "--override", overrides, wheel, KUBERNETES)
    assert_wsline(python)


def test_uv_project_override_dependencies(tmp_path: Path, wheel: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(f"""\
[project]
name = "app"
version = "0"
requires-python = ">=3.9"
dependencies = ["wsline", "{KUBERNETES}"]

[tool.uv]
override-dependencies = ["{OVERRIDE}"]
package = false

[tool.uv.sources]
wsline = {{ path = "{wheel}" }}
""")
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(tmp_path / "v"))
    done = subprocess.run([uv(), "sync", "--quiet", "--python", sys.executable], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "websocket-client" not in (tmp_path / "uv.lock").read_text().replace(OVERRIDE, "")
    assert_wsline(tmp_path / "v" / "bin" / "python")


def test_lock_file_recipe(tmp_path: Path, wheel: Path) -> None:
    (tmp_path / "overrides.txt").write_text(OVERRIDE + "\n")
    (tmp_path / "requirements.in").write_text(KUBERNETES + "\n")
    run(uv(), "pip", "compile", "--quiet", "requirements.in", "--override", "overrides.txt", "-o", "requirements.txt",
        cwd=tmp_path)
    assert "websocket-client" not in (tmp_path / "requirements.txt").read_text().replace(OVERRIDE, "")
    python = venv(tmp_path / "v")
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "-r", tmp_path / "requirements.txt", wheel)
    assert_wsline(python)
