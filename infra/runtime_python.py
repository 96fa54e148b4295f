"""An interpreter of the Lambda runtime's Python version, only to write the bytecode the assets ship.

Bytecode is specific to a Python version (3.11's is ignored by 3.14) but not to a machine, so any
CPython of the runtime's version can compile for Lambda. Looked for, in order: `python3.14` on PATH,
~/.pyenv/versions/3.14*, and a copy provisioned under `.build/python3.14/` from Debian's own binary
packages (unstable carries python3.14): `apt-get download` with a private package list, checked
against the Debian archive keyring, unpacked with `dpkg-deb -x`, and run through the glibc
it was built against (its own dynamic loader), so it runs on an older Debian too. Done once per
version: later synths find it under `.build/`. Where apt or the network is missing, there is none,
and the assets ship sources only.

`python -m infra.runtime_python` provisions it and prints its path (or exits 1).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_VERSION = "3.14"
DEBIAN_ARCHIVE = "http://deb.debian.org/debian"
DEBIAN_SUITE = "sid"  # the suite that carries python3.14 while the stable one has 3.11
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# The interpreter and its standard library, with the libraries they were linked against, glibc first.
DEBIAN_PACKAGES = (
    f"python{RUNTIME_VERSION}-minimal",
    f"libpython{RUNTIME_VERSION}-minimal",
    f"libpython{RUNTIME_VERSION}-stdlib",
    "libc6",
    "libexpat1",
    "libssl3t64",
    "zlib1g",
    "libffi8",
    "libzstd1",
)
WRAPPER = f"bin/python{RUNTIME_VERSION}"
RETRY_PROVISION_SECONDS = 3600
_CHECK = "import sys; print('%d.%d' % sys.version_info[:2])"


@cache
def runtime_interpreter(build_dir: Path = PROJECT_ROOT / ".build") -> str | None:
    """The path of a CPython of the runtime's version, or None (logged) if none can be had."""
    name = f"python{RUNTIME_VERSION}"
    pyenv_builds = sorted(Path.home().glob(f".pyenv/versions/{RUNTIME_VERSION}*/bin/{name}"), reverse=True)
    candidates = [shutil.which(name), *map(str, pyenv_builds), str(build_dir / name / WRAPPER)]
    for candidate in candidates:
        if candidate and _runs(candidate):
            return candidate
    failed = build_dir / f"{name}.failed"  # every synth process asks: after a failure, wait a while
    age = time.time() - failed.stat().st_mtime if failed.is_file() else None  # noqa: TID251 (a file's age)
    recently_failed = age is not None and age < RETRY_PROVISION_SECONDS
    provisioned = None if recently_failed else provision(build_dir)
    if provisioned is None:
        if not recently_failed:
            build_dir.mkdir(parents=True, exist_ok=True)
            failed.touch()
        _log(f"no {name} on PATH, in ~/.pyenv/versions or from Debian: Lambda assets ship WITHOUT bytecode")
    else:
        failed.unlink(missing_ok=True)
    return provisioned


def provision(build_dir: Path) -> str | None:
    """Fetch and unpack Debian's python3.14 into build_dir/python3.14; the wrapper's path, or None."""
    target = build_dir / f"python{RUNTIME_VERSION}"
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt_get is None or dpkg_deb is None or not DEBIAN_KEYRING.is_file():
        _log("apt-get, dpkg-deb or the Debian archive keyring missing: cannot fetch Debian's python")
        return None
    _log(f"fetching python{RUNTIME_VERSION} from Debian {DEBIAN_SUITE} into {target} (once per version)")
    build_dir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=build_dir))
    try:
        debs = _download(apt_get, partial / "apt")
        root = partial / "root"
        for deb in debs:
            subprocess.run([dpkg_deb, "-x", str(deb), str(root)], check=True)  # noqa: S603 - no shell
        versions = "".join(f"{deb.name}\n" for deb in debs)
        (partial / "PACKAGES").write_text(versions, encoding="utf-8")
        shutil.rmtree(partial / "apt")
        _write_wrapper(partial)
        if not _runs(str(partial / WRAPPER)):
            _log(f"Debian's python{RUNTIME_VERSION} does not run on this machine")
            return None
        # The standard library's bytecode, as the package's install script writes it (and Lambda has it).
        stdlib = partial / "root" / "usr" / "lib" / f"python{RUNTIME_VERSION}"
        compile_stdlib = [str(partial / WRAPPER), "-m", "compileall", "-q", str(stdlib)]
        subprocess.run(compile_stdlib, check=False, stdout=subprocess.DEVNULL)  # noqa: S603 - no shell
        shutil.rmtree(target, ignore_errors=True)  # one that no longer runs (a moved checkout)
        with contextlib.suppress(OSError):  # another synth provisioned it first
            partial.rename(target)
        return str(target / WRAPPER) if _runs(str(target / WRAPPER)) else None
    except (subprocess.CalledProcessError, OSError) as error:
        _log(f"could not fetch python{RUNTIME_VERSION} from Debian: {error}")
        return None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _download(apt_get: str, work: Path) -> list[Path]:
    """`apt-get download` from the Debian suite with a private list: nothing of the machine's apt changes."""
    for directory in ("lists/partial", "cache/archives/partial", "debs"):
        (work / directory).mkdir(parents=True)
    (work / "sources.list").write_text(
        f"deb [signed-by={DEBIAN_KEYRING}] {DEBIAN_ARCHIVE} {DEBIAN_SUITE} main\n", encoding="utf-8"
    )
    (work / "status").touch()
    options = {
        "Dir::Etc::SourceList": work / "sources.list",
        "Dir::Etc::SourceParts": "/dev/null",
        "Dir::Etc::Preferences": "/dev/null",
        "Dir::Etc::PreferencesParts": "/dev/null",
        "Dir::State::Lists": work / "lists",
        "Dir::State::Status": work / "status",
        "Dir::Cache": work / "cache",
        "Acquire::Languages": "none",
        "APT::Sandbox::User": "root" if os.geteuid() == 0 else os.environ.get("USER", ""),
    }
    command = [apt_get, "-qq", *(f"-o{key}={value}" for key, value in options.items())]
    subprocess.run([*command, "update"], check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - no shell
    download = [*command, "download", *DEBIAN_PACKAGES]
    subprocess.run(download, check=True, cwd=work / "debs", stdout=subprocess.DEVNULL)  # noqa: S603
    return sorted((work / "debs").glob("*.deb"))


def _write_wrapper(home: Path) -> None:
    """bin/python3.14: Debian's binary run by its own loader and libraries, found relative to the script."""
    (loader,) = (home / "root").glob("usr/lib/*/ld-linux*.so.*")
    libraries = loader.parent.relative_to(home)
    wrapper = home / WRAPPER
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(
        "#!/bin/sh\n"
        f"# Debian's python{RUNTIME_VERSION} with the glibc it was built against (infra/runtime_python.py).\n"
        'home="$(cd "$(dirname "$0")/.." && pwd)"\n'
        f'exec "$home/{libraries}/{loader.name}" --library-path "$home/{libraries}" '
        f'"$home/root/usr/bin/python{RUNTIME_VERSION}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)


def _runs(command: str) -> bool:
    if not os.access(command, os.X_OK):
        return False
    try:
        result = subprocess.run(  # noqa: S603 - a path we found, no shell
            [command, "-c", _CHECK], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == RUNTIME_VERSION


def _log(message: str) -> None:
    print(f"bundling: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    found = runtime_interpreter()
    print(found or "")
    sys.exit(0 if found else 1)
