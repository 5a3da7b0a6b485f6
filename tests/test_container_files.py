"""The Dockerfile, .dockerignore and docker-compose.yml hold what docs/operations.md
promises. The image itself is built and run by `.ci/run` (tests/container_smoke.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from relais import config_doc

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "style", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_image_is_multi_stage_non_root_with_an_exec_form_healthcheck() -> None:
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", DOCKERFILE, flags=re.MULTILINE)
    assert len(stages) == 2 and stages[0][1] == "build" and stages[1][1] == ""
    final = DOCKERFILE.split("\nFROM ")[-1]
    assert "COPY --from=build /venv /venv" in final
    assert not re.search(r"apt-get|gcc|build-essential|pip install", final)
    assert re.search(r"^USER \d+:\d+$", final, flags=re.MULTILINE)
    assert re.search(r"^  CMD \[\"", final.split("HEALTHCHECK", 1)[1], flags=re.MULTILINE)
    assert 'CMD ["relais", "serve", "--upgrade"]' in final


def test_dockerignore_lets_every_package_in() -> None:
    allowed = {
        line[1:]
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= allowed
    assert {"pyproject.toml", "README.md"} <= allowed
    for package in packages:
        assert f"COPY {package} ./{package}" in DOCKERFILE


def test_compose_runs_relais_on_postgresql_with_volumes_and_healthchecks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    db, relais = compose["services"]["db"], compose["services"]["relais"]
    assert db["image"].startswith("postgres:")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in db["healthcheck"]["test"]
    assert relais["build"] == "."
    assert relais["env_file"] == ".env"
    assert relais["depends_on"]["db"]["condition"] == "service_healthy"
    assert relais["environment"]["DATABASE_URL"].startswith("postgresql://relais:")
    assert "@db:5432/relais" in relais["environment"]["DATABASE_URL"]
    assert any(v.endswith(":/data") for v in relais["volumes"])
    assert "/healthz" in " ".join(relais["healthcheck"]["test"])
    assert set(compose["volumes"]) == {"db-data", "media"}


def test_compose_variables_are_in_env_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = config_doc.ENV_EXAMPLE.read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert used and used <= listed
    # What compose overrides must not be left set in .env by the example.
    for name in yaml.safe_load(text)["services"]["relais"]["environment"]:
        assert not re.search(rf"^{name}=", example, flags=re.MULTILINE)
