"""A demo store with the whole pipeline run, made once per test session and never changed.

Used by ``tests/api`` and ``tests/cli/test_serve.py``: tests copy it (:func:`copy_store`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from custseg.workspace import open_workspace

#: The built-in families, without ``cluster`` while the clustering package is unfinished.
_NO_CLUSTER = '\n[segments]\nbuiltin = ["rfm", "clv_tier", "churn_risk", "due_soon"]\n'


def _clustering_available() -> bool:
    import custseg.segments.clustering as clustering

    return hasattr(clustering, "load_segmenter") and hasattr(clustering, "KMeansSegmenter")


def piped_store(demo_store: Path, base: Path) -> Path:
    """``base/piped_store``: a copy of ``demo_store`` on which ``pipeline.run`` succeeded."""
    from custseg import pipeline

    root = base / "piped_store"
    done = root / ".piped"
    if done.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(demo_store, root, ignore=shutil.ignore_patterns(".custseg-tmp"))
    if not _clustering_available():
        cfg = root / "custseg.toml"
        cfg.write_text(cfg.read_text(encoding="utf-8") + _NO_CLUSTER, encoding="utf-8")
    with open_workspace(root) as ws:
        pipeline.run(ws)
    done.write_text("ok", encoding="utf-8")
    return root


def copy_store(src: Path, dest: Path) -> Path:
    """A private copy of a workspace folder."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".custseg-tmp", ".custseg-cache"))
    return dest
