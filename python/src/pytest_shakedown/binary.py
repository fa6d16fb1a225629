"""Where the ``shakedown`` binary is: ``SHAKEDOWN_BIN``, then beside the plugin, then ``PATH``."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

#: The environment variable that names the binary explicitly (a path to an executable file).
ENV = "SHAKEDOWN_BIN"


class BinaryNotFound(RuntimeError):
    """No usable ``shakedown`` binary; the message says where it looked."""


def find_binary() -> str:
    """The path of the ``shakedown`` executable to run.

    Looks, in order, at ``$SHAKEDOWN_BIN`` (which must then be an executable file: a wrong value
    is an error, not a reason to look further), the scripts folder of the installation that holds
    this package (where ``pip install`` put the wheel's binary), and ``PATH``.

    Raises :class:`BinaryNotFound` naming every place it looked.
    """
    named = os.environ.get(ENV)
    if named:
        if os.path.isfile(named) and os.access(named, os.X_OK):
            return named
        raise BinaryNotFound(f"{ENV}={named!r} is not an executable file")
    beside = installed_beside()
    if beside is not None:
        return str(beside)
    on_path = shutil.which("shakedown")
    if on_path:
        return on_path
    raise BinaryNotFound(
        f"no shakedown binary: {ENV} is unset, none is installed beside the plugin "
        f"(in {scripts_folders() or 'no scripts folder'}), and none is on PATH"
    )


def installed_beside() -> Path | None:
    """The ``shakedown`` executable in the scripts folder of this package's installation, if any."""
    for folder in scripts_folders():
        candidate = folder / ("shakedown.exe" if os.name == "nt" else "shakedown")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def scripts_folders() -> list[Path]:
    """The scripts folders of the installation schemes whose library folder holds this package."""
    here = Path(__file__).resolve().parent
    schemes = [sysconfig.get_default_scheme()] if hasattr(sysconfig, "get_default_scheme") else []
    schemes.append(f"{os.name}_user")
    folders = []
    for scheme in schemes:
        if scheme not in sysconfig.get_scheme_names():
            continue
        paths = sysconfig.get_paths(scheme)
        libs = {Path(paths[key]).resolve() for key in ("purelib", "platlib") if key in paths}
        if any(lib in here.parents for lib in libs):
            folders.append(Path(paths["scripts"]))
    return folders
