"""Publishing a trained adapter: copy its directory under ADAPTER_STORE (a path or fsspec URL)."""

from __future__ import annotations

import shutil
from pathlib import Path


def publish(adapter_dir: Path, store_uri: str, version: str) -> str:
    """Copy ``adapter_dir`` to ``<store>/<version>`` and return its URI. A local store gets an
    atomic rename, so a half-copied adapter is never visible under its version name."""
    if "://" not in store_uri or store_uri.startswith("file://"):
        root = Path(store_uri.removeprefix("file://"))
        root.mkdir(parents=True, exist_ok=True)
        target = root / version
        tmp = root / f".{version}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(adapter_dir, tmp)
        tmp.rename(target)
        return str(target)
    import fsspec

    fs, remote_root = fsspec.core.url_to_fs(store_uri)
    remote = f"{remote_root.rstrip('/')}/{version}"
    fs.put(str(adapter_dir).rstrip("/") + "/", remote + "/", recursive=True)
    return f"{store_uri.rstrip('/')}/{version}"
