"""The image build's fingerprints, lock files and apt sources, without building anything."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from sextant.devenv import images

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES = REPO_ROOT / "images"


def _extra(name: str) -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["optional-dependencies"][name]]


def _core() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize(
    ("image", "extras", "absent"),
    [
        ("sextant-runtime", ["runtime"], {"torch", "kopf", "kubernetes", "onnxruntime-gpu"}),
        # scipy (the rollout analysis statistics) brings numpy; never the ML frameworks.
        ("sextant-operator", ["operator"], {"torch", "onnxruntime", "mlflow-skinny"}),
        ("sextant-runtime-torch", ["runtime", "torch"], {"kopf", "onnxruntime"}),
    ],
)
def test_each_lock_pins_its_extras_with_hashes_and_nothing_it_must_not(
    image: str, extras: list[str], absent: set[str]
) -> None:
    pins = images.lock_requirements(IMAGES / image / "requirements.lock")
    wanted = _core() + [r for extra in extras for r in _extra(extra)]
    for requirement in wanted:
        name = _normal(requirement.name)
        if image == "sextant-runtime-torch" and name == "onnxruntime":
            continue  # onnxruntime-gpu instead: the same module, built with CUDA
        assert name in pins, f"{image}: {name} is not in requirements.lock; re-run images/lock.sh"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{image}: {name}=={version} does not satisfy {requirement}; re-run images/lock.sh"
        )
        assert hashes
    assert not absent & set(pins), f"{image} must not install {absent & set(pins)}"


def test_lock_parser_reads_markers_and_continuations(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# a comment\n"
        "Typing_Extensions==4.16.0 \\\n"
        "    --hash=sha256:" + "a" * 64 + " \\\n"
        "    --hash=sha256:" + "b" * 64 + "\n"
        "    # via pydantic\n"
        'uvloop==0.23.0 ; sys_platform != "win32" \\\n'
        "    --hash=sha256:" + "c" * 64 + "\n"
    )
    pins = images.lock_requirements(lock)
    assert pins == {
        "typing-extensions": ("4.16.0", frozenset({"a" * 64, "b" * 64})),
        "uvloop": ("0.23.0", frozenset({"c" * 64})),
    }


def test_lock_parser_refuses_an_unhashed_requirement(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==2.4.6\n")
    with pytest.raises(images.ServiceError, match="not a pinned, hashed requirement"):
        images.lock_requirements(lock)


def test_fingerprint_follows_content_and_paths_but_not_caches(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")

    def fingerprint() -> str:
        return images.files_fingerprint(tmp_path, images.tree_files(tmp_path, ["pkg"]))

    first = fingerprint()
    (tmp_path / "pkg" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"\1")
    assert fingerprint() == first
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    changed = fingerprint()
    assert changed != first
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert fingerprint() != changed
    assert images.files_fingerprint(tmp_path, [], "base-1") != images.files_fingerprint(
        tmp_path, [], "base-2"
    )


def test_project_fingerprint_covers_the_three_packages() -> None:
    files = {
        str(p.relative_to(REPO_ROOT))
        for p in images.tree_files(REPO_ROOT, ["sextant", "operator", "runtime"])
    }
    assert "sextant/cli.py" in files
    assert "operator/sextant_operator/__init__.py" in files
    assert "runtime/sextant_runtime/server.py" in files
    assert not any("__pycache__" in f for f in files)


def test_debian_mirrors_from_one_line_and_deb822_sources(tmp_path: Path) -> None:
    one_line = tmp_path / "sources.list"
    one_line.write_text(
        "deb [arch=amd64] http://mirror.example/debian bookworm main contrib\n"
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://mirror.example/debian bookworm main\n"
        "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"
    )
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\n"
        "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
        "URIs: http://deb.debian.org/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "\n"
        "Types: deb\n"
        "URIs: https://deb.nodesource.com/node_20.x\n"
        "Suites: nodistro\n"
        "Components: main\n"
    )
    assert images.debian_mirrors([one_line, deb822]) == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main",
    ]
    assert images.debian_mirrors([]) == ["deb http://deb.debian.org/debian bookworm main"]


def test_images_are_named_after_the_package_version() -> None:
    references = {spec.name: spec.reference for spec in images.image_specs(torch=True)}
    version = images.image_version()
    chart = (REPO_ROOT / "charts" / "sextant" / "Chart.yaml").read_text()
    assert f'appVersion: "{version}"' in chart
    assert references == {
        "pause": "localhost/sextant/pause:3.10",
        "sextant-operator": f"ghcr.io/sextant-dev/sextant-operator:{version}",
        "sextant-runtime": f"ghcr.io/sextant-dev/sextant-runtime:{version}",
        "sextant-runtime-torch": f"ghcr.io/sextant-dev/sextant-runtime-torch:{version}",
    }
    assert "sextant-runtime-torch" not in {s.name for s in images.image_specs()}


@pytest.mark.parametrize("image", ["sextant-runtime", "sextant-operator", "sextant-runtime-torch"])
def test_containerfiles_stay_plain_for_docker_and_buildah(image: str) -> None:
    text = (IMAGES / image / "Containerfile").read_text()
    instructions = [
        line.split()[0]
        for line in re.sub(r"\\\n", " ", text).splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(" ")
    ]
    allowed = {"ARG", "FROM", "ENV", "RUN", "COPY", "LABEL", "USER", "WORKDIR", "EXPOSE"}
    assert set(instructions) <= allowed | {"ENTRYPOINT", "CMD"}
    assert "HEALTHCHECK" not in text  # Kubernetes probes do that
    assert "--mount" not in text
    assert "<<" not in text  # no heredocs
    assert "ARG BASE=python:3.11-slim-bookworm" in text
    assert 'ENTRYPOINT ["sextant"]' in text
    assert "USER 65532:65532" in text
    assert "--require-hashes" in text
