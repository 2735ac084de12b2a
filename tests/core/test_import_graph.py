"""Dependencies point one way (docs/framework.md, "Dependencies"): the contracts in .importlinter,
checked by import-linter over the import graph of apps/, cloudportal/, hostagent/ and alibaba_emulator/."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]


def lint(cwd):
    return subprocess.run(LINT, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_every_import_contract_is_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and " KEPT" in result.stdout


def test_an_import_against_the_direction_fails(tmp_path):
    """The contracts bite: storage importing compute, infra importing storage, or a model importing
    a flow, or the Alibaba emulator importing the portal, in a copy of the tree, breaks them."""
    for package in ("apps", "cloudportal", "hostagent", "alibaba_emulator"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / "apps/storage/probe.py").write_text("from apps.compute import views  # noqa\n")
    (tmp_path / "apps/infra/probe.py").write_text("from apps.storage import models  # noqa\n")
    (tmp_path / "apps/infra/models/probe.py").write_text("from apps.infra.flows import deploy  # noqa\n")
    (tmp_path / "alibaba_emulator/probe.py").write_text("from apps.core import models  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "apps.storage.probe -> apps.compute.views" in result.stdout
    assert "apps.infra.probe -> apps.storage.models" in result.stdout
    assert "apps.infra.models.probe -> apps.infra.flows.deploy" in result.stdout
    assert "alibaba_emulator.probe -> apps.core.models" in result.stdout
