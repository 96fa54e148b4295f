"""infra/runtime_python.py: the Debian archive read from the machine's apt configuration (fake configs,
no network, no archive named in the module), and the order an installed 3.14 interpreter is looked for."""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path

import pytest

from infra import runtime_python
from infra.runtime_python import AptSource, apt_sources, apt_sources_files, debian_archive

MIRROR = "http://mirror.example/debian"  # .example: reserved, names no registry
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def _list(text: str) -> tuple[str, str]:
    return ("sources.list", textwrap.dedent(text))


def _deb822(text: str, name: str = "debian.sources") -> tuple[str, str]:
    return (name, textwrap.dedent(text))


def test_the_module_names_no_archive_or_registry_host() -> None:
    source = Path(runtime_python.__file__).read_text(encoding="utf-8")
    assert "://" not in source
    hosts = re.findall(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:org|com|net|io|dev|edu)\b", source, re.IGNORECASE)
    assert hosts == []


def test_one_line_format_with_options() -> None:
    config = _list(
        f"""\
        deb [arch=amd64 signed-by={KEYRING}] {MIRROR} bookworm main contrib
        deb-src [signed-by={KEYRING}] {MIRROR} bookworm main
        """
    )
    assert debian_archive([config]) == AptSource(MIRROR, "bookworm", ("main", "contrib"), KEYRING)


def test_one_line_options_with_spaces_inside_the_brackets_and_a_trailing_slash() -> None:
    config = _list(f"deb [ arch=amd64 ] {MIRROR}/ trixie-updates main\n")
    assert debian_archive([config]) == AptSource(MIRROR, "trixie-updates", ("main",), None)


def test_commented_lines_are_ignored() -> None:
    config = _list(
        f"""\
        # deb {MIRROR} sid main
        #deb http://commented.example/debian bookworm main
        deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD Binary-1]/ bookworm contrib main
        deb http://other.example/debian bookworm main  # the one in use
        """
    )
    assert debian_archive([config]) == AptSource("http://other.example/debian", "bookworm", ("main",))


def test_deb_src_only_is_no_archive() -> None:
    one_line = _list(f"deb-src {MIRROR} bookworm main\n")
    deb822 = _deb822(
        f"""\
        Types: deb-src
        URIs: {MIRROR}
        Suites: bookworm
        Components: main
        """
    )
    assert debian_archive([one_line, deb822]) is None


def test_deb822_with_several_uris_takes_the_first_after_the_security_stanza() -> None:
    config = _deb822(
        f"""\
        Types: deb
        URIs: http://mirror.example/debian-security
        Suites: trixie-security
        Components: main
        Signed-By: {KEYRING}

        # the mirrors, nearest first
        Types: deb deb-src
        URIs: http://near.example/debian {MIRROR}
        Suites: trixie trixie-updates
        Components: main non-free-firmware
        Signed-By: {KEYRING}
        """
    )
    sources = apt_sources([config])
    assert [(source.uri, source.suite) for source in sources] == [
        ("http://mirror.example/debian-security", "trixie-security"),
        ("http://near.example/debian", "trixie"),
        ("http://near.example/debian", "trixie-updates"),
        (MIRROR, "trixie"),
        (MIRROR, "trixie-updates"),
    ]
    assert debian_archive([config]) == AptSource(
        "http://near.example/debian", "trixie", ("main", "non-free-firmware"), KEYRING
    )


def test_deb822_comments_inside_a_stanza_disabled_stanzas_and_inline_keys() -> None:
    config = _deb822(
        f"""\
        Types: deb
        URIs: http://disabled.example/debian
        Suites: bookworm
        Components: main
        Enabled: no

        Types: deb
        # http://snapshot.example/archive/debian/20250520T000000Z
        URIs: {MIRROR}
        Suites: bookworm
        Components: main
        Signed-By:
         -----BEGIN PGP PUBLIC KEY BLOCK-----
         .
         mQINBF...
         -----END PGP PUBLIC KEY BLOCK-----
        """
    )
    assert debian_archive([config]) == AptSource(MIRROR, "bookworm", ("main",), None)


def test_a_security_only_config_is_no_archive() -> None:
    deb822 = _deb822(
        """\
        Types: deb
        URIs: http://security.example/debian-security
        Suites: bookworm-security
        Components: main
        """
    )
    one_line = _list("deb http://security.example/ buster/updates main\n")
    security_suite_elsewhere = _list("deb http://mirror.example/debian bookworm-security main\n")
    assert debian_archive([deb822, one_line, security_suite_elsewhere]) is None


def test_sources_without_main_or_flat_repositories_are_no_archive() -> None:
    config = _list(
        f"""\
        deb {MIRROR} bookworm contrib non-free
        deb http://flat.example/debian ./
        """
    )
    assert debian_archive([config]) is None


def test_a_vendors_stable_main_listed_first_does_not_win_over_debian() -> None:
    vendor = _list("deb [signed-by=/usr/share/keyrings/vendor.gpg] https://apt.vendor.example/ stable main\n")
    node = _deb822("Types: deb\nURIs: https://node.example/node_20.x\nSuites: nodistro\nComponents: main\n")
    debian = _deb822(
        f"Types: deb\nURIs: http://root-mirror.example/\nSuites: bookworm\n"
        f"Components: main\nSigned-By: {KEYRING}\n"
    )
    assert debian_archive([vendor, node, debian]) == AptSource(
        "http://root-mirror.example", "bookworm", ("main",), KEYRING
    )
    # Without Debian's: a Debian suite name still counts; a vendor's own suite never does.
    assert debian_archive([node, vendor]) == AptSource(
        "https://apt.vendor.example", "stable", ("main",), "/usr/share/keyrings/vendor.gpg"
    )
    assert debian_archive([node]) is None


def test_a_debian_path_with_a_suite_newer_than_the_known_ones() -> None:
    config = _list(f"deb {MIRROR} zurg main\n")
    assert debian_archive([config]) == AptSource(MIRROR, "zurg", ("main",))


def test_nothing_configured_is_no_archive() -> None:
    assert debian_archive([]) is None
    assert debian_archive([_list("\n# nothing here\n")]) is None


def test_the_machines_files_in_apts_order(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("# main list\n", encoding="utf-8")
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    for name in ("zz.list", "debian.sources", "aa.list", "old.list.save", "node.sources.disabled"):
        (parts / name).write_text(name, encoding="utf-8")
    names = [name for name, _ in apt_sources_files(tmp_path)]
    assert names == ["sources.list", "aa.list", "debian.sources", "zz.list"]
    assert apt_sources_files(tmp_path / "missing") == []


def test_the_private_list_asks_the_configured_archive_for_sid() -> None:
    line = runtime_python.private_sources_list(MIRROR, Path(KEYRING))
    assert line == f"deb [signed-by={KEYRING}] {MIRROR} sid main\n"


def test_provision_without_a_configured_archive_logs_and_returns_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keyring = tmp_path / "keyring.gpg"
    keyring.touch()
    etc_apt = tmp_path / "apt"
    (etc_apt / "sources.list.d").mkdir(parents=True)
    (etc_apt / "sources.list.d" / "security.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: sid-security\nComponents: main\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(runtime_python, "DEBIAN_KEYRING", keyring)
    monkeypatch.setattr(runtime_python, "APT_ETC", etc_apt)
    monkeypatch.setattr(runtime_python.shutil, "which", lambda name: f"/nonexistent/{name}")

    assert runtime_python.provision(tmp_path / "build") is None
    assert "no Debian archive" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()  # nothing fetched, nothing made


def _executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _fake_python(path: Path) -> Path:
    return _executable(path, "echo 3.14")


def test_installed_interpreters_are_looked_for_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, home, pyenv_root = tmp_path / "bin", tmp_path / "home", tmp_path / "pyenv-root"
    on_path = _fake_python(bin_dir / "python3.14")
    home_build = _fake_python(home / ".pyenv/versions/3.14.1/bin/python3.14")
    _fake_python(home / ".pyenv/versions/3.13.0/bin/python3.13")
    root_build = _fake_python(pyenv_root / "versions/3.14.0/bin/python3.14")
    selected = _fake_python(tmp_path / "selected/python3.14")
    found_by_uv = _fake_python(tmp_path / "uv-python/python3.14")
    _executable(
        bin_dir / "pyenv",
        f'case "$1" in root) echo {pyenv_root};; which) echo {selected};; *) exit 1;; esac',
    )
    # uv is asked offline, without downloads, for the runtime's version.
    _executable(
        bin_dir / "uv",
        f'[ "$UV_OFFLINE" = 1 ] && [ "$UV_PYTHON_DOWNLOADS" = never ] && [ "$*" = "python find 3.14" ]'
        f" && echo {found_by_uv}",
    )
    monkeypatch.setenv("PATH", str(bin_dir))  # nothing of the machine's
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PYENV_ROOT", raising=False)

    found = list(runtime_python._installed_interpreters())
    assert found == [str(on_path), str(home_build), str(root_build), str(selected), str(found_by_uv)]


def test_runtime_interpreter_takes_uvs_when_nothing_else_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    found_by_uv = _fake_python(tmp_path / "uv-python/python3.14")
    _executable(bin_dir / "uv", f"echo {found_by_uv}")
    monkeypatch.setenv("PATH", str(bin_dir))  # nothing of the machine's
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PYENV_ROOT", raising=False)
    runtime_python.runtime_interpreter.cache_clear()
    try:
        assert runtime_python.runtime_interpreter(tmp_path / "build") == str(found_by_uv)
    finally:
        runtime_python.runtime_interpreter.cache_clear()
    assert not (tmp_path / "build").exists()  # found: nothing provisioned


def test_a_hanging_probe_is_bounded(tmp_path: Path) -> None:
    hangs = _executable(tmp_path / "pyenv", "sleep 30 & sleep 30")  # a child keeps the pipe open too
    started = time.monotonic()
    assert runtime_python._output([str(hangs), "which", "python3.14"], timeout=0.5) is None
    assert time.monotonic() - started < 10
    assert runtime_python._output([str(tmp_path / "missing")], timeout=0.5) is None
    failing = _executable(tmp_path / "fails", "echo /somewhere; exit 1")
    assert runtime_python._output([str(failing)], timeout=5) is None
