"""What was tested: an agent's identity as files an assessor can hash with ordinary tools.

Digest of a set of files: the SHA-256 of their ``sha256sum`` listing, one line
``<sha256 of the file>  <path>`` per file, in the listed order, each line ending in a newline.
So, for the files a manifest lists::

    sha256sum FILE1 FILE2 ... | sha256sum

(from the folder the paths are relative to) gives the recorded digest.

- Python agents: the agent's module and every module it imports, transitively, whose source
  is neither the standard library nor an installed third-party distribution (site-packages);
  paths relative to the source root (the folder that holds the top-level package), sorted.
  Installed third-party distributions it imports are recorded by name and version; when the
  source root is in a git work tree, the revision and whether the files differ from it.
- Out-of-process (``cmd:``) agents: the resolved executable and every argument that is a
  file (the script an interpreter runs), in command-line order, absolute paths; the
  executable's own SHA-256 and the command line's SHA-256 are recorded apart.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import subprocess
import sys
import sysconfig
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path
from typing import Any

#: Longest agent name or version kept in a manifest (characters); longer ones are cut.
MAX_LABEL_CHARS = 200


def label(value: Any) -> str:
    """An agent's self-reported name or version, bounded: the agent chooses it, so a 15 MB
    name must not become a 15 MB manifest (or report)."""
    text = str(value)
    if len(text) <= MAX_LABEL_CHARS:
        return text
    # the result is itself at most MAX_LABEL_CHARS long, so bounding twice changes nothing
    suffix = f"…[{len(text)} characters]"
    return text[: MAX_LABEL_CHARS - len(suffix)] + suffix


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def listing_digest(files: list[tuple[str, str]]) -> str:
    """SHA-256 of the ``sha256sum`` listing of (path, sha256) pairs, in order."""
    text = "".join(f"{sha}  {path}\n" for path, sha in files)
    return hashlib.sha256(text.encode()).hexdigest()


def _installed_roots() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(Path(r).resolve() for r in roots if r)


def _is_installed(origin: Path) -> bool:
    """Inside the standard library or site-packages (not a source tree)."""
    origin = origin.resolve()
    return any(origin.is_relative_to(r) for r in _installed_roots()) or any(
        part in ("site-packages", "dist-packages") for part in origin.parts
    )


@cache
def python_identity(module: str) -> dict[str, Any]:
    """Identity of the Python code reachable from ``module`` (see the module docstring)."""
    stdlib = set(sys.stdlib_module_names)
    dists = packages_distributions()
    todo, seen = [module], set()
    local: dict[str, Path] = {}
    third: dict[str, str] = {}
    while todo:
        name = todo.pop()
        top = name.split(".")[0]
        if name in seen or top in stdlib:
            continue
        seen.add(name)
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
            continue
        origin = Path(spec.origin)
        if _is_installed(origin):
            for dist in dists.get(top, [top]):
                try:
                    third[dist] = version(dist)
                except PackageNotFoundError:
                    third[dist] = "unknown"
            continue
        if origin.suffix != ".py":
            continue
        local[name] = origin
        parts = name.split(".")
        todo.extend(".".join(parts[:k]) for k in range(1, len(parts)))  # package __init__s
        for node in ast.walk(ast.parse(origin.read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo.append(node.module)
                todo.extend(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level and spec.parent is not None:
                base = spec.parent.rsplit(".", node.level - 1)[0] if node.level > 1 else spec.parent
                todo.append(f"{base}.{node.module}" if node.module else base)
            elif isinstance(node, ast.Import):
                todo.extend(a.name for a in node.names)
    root = _source_root(module, local)
    files = sorted(
        (p.resolve().relative_to(root).as_posix(), sha256_file(p)) for p in local.values()
    )
    out: dict[str, Any] = {
        "kind": "python",
        "module": module,
        "source_root": str(root),
        "files": [{"path": p, "sha256": s} for p, s in files],
        "sha256": listing_digest(files),
        "third_party": dict(sorted(third.items())),
    }
    out.update(_git(root, [p for p, _ in files]))
    return out


def _source_root(module: str, local: dict[str, Path]) -> Path:
    """The folder holding the agent's top-level package (or its lone module)."""
    path = local[module].resolve()
    depth = module.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth]


def _git(root: Path, files: list[str]) -> dict[str, Any]:
    """The git revision of the work tree holding ``root`` and whether ``files`` differ."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if rev.returncode != 0:
            return {}
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", *files],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_revision": rev.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def command_identity(argv: list[str], command: str, executable: str | None) -> dict[str, Any]:
    """Identity of an out-of-process agent (see the module docstring)."""
    paths = [str(Path(executable).resolve())] if executable else []
    paths += [str(Path(a).resolve()) for a in argv[1:] if Path(a).is_file()]
    files = [(p, sha256_file(Path(p))) for p in paths]
    return {
        "kind": "command",
        "command": command,
        "command_sha256": hashlib.sha256(command.encode()).hexdigest(),
        "executable": paths[0] if executable else None,
        "executable_sha256": files[0][1] if executable else None,
        "files": [{"path": p, "sha256": s} for p, s in files],
        "sha256": listing_digest(files),
    }
