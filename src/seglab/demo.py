"""Materialise the bundled demo inputs for a config (generated once into ``data/raw/<name>/``)."""

from __future__ import annotations

import json
from pathlib import Path

from seglab.config import Config
from seglab.errors import ConfigError
from seglab.io import write_json
from seglab.paths import ProjectPaths

_STAMP = "demo.json"


def ensure_demo(config: Config, project: ProjectPaths) -> Path | None:
    """Generate the demo tables a config points at, if the config asks for demo data.

    The data is generated only when the transaction file is missing; a ``demo.json`` stamp
    beside the files records the generator settings. Existing files are never overwritten:
    when the stamp disagrees with the config, the run stops with a message saying so.

    Parameters
    ----------
    config : Config
    project : ProjectPaths

    Returns
    -------
    Path or None
        The demo folder, or None when the config reads real data.

    Raises
    ------
    ConfigError
        When the folder holds demo data generated with other settings.
    """
    demo = config.data.demo
    if demo is None:
        return None
    from seglab import datasets

    tx_path = project.resolve(config.data.transactions.path or "")
    folder = tx_path.parent
    settings = {**demo.model_dump(), "generator_version": datasets.GENERATOR_VERSION}
    stamp = folder / _STAMP
    if tx_path.is_file():
        if stamp.is_file():
            made_with = json.loads(stamp.read_text())
            if made_with != settings:
                diff = ", ".join(
                    f"{k}={made_with.get(k)!r} (config: {v!r})"
                    for k, v in settings.items()
                    if made_with.get(k) != v
                )
                raise ConfigError(
                    f"{folder} holds demo data generated with {diff}. seglab does not overwrite "
                    "files in data/raw: delete that folder to regenerate, or point the config's "
                    "data paths at another folder"
                )
        return folder
    if demo.flavour == "retail":
        data = datasets.make_retail(
            n_customers=demo.n_customers, n_lines=demo.n_lines, random_state=demo.random_state
        )
    else:
        data = datasets.make_b2b(
            n_accounts=demo.n_customers, n_lines=demo.n_lines, random_state=demo.random_state
        )
    written = datasets.write_demo(data, folder, fmt="csv")
    expected = {"transactions": tx_path}
    for name in ("customers", "survey", "campaigns", "truth"):
        src = getattr(config.data, name)
        if src is not None and src.path:
            expected[name] = project.resolve(src.path)
    wrong = {k: p for k, p in expected.items() if Path(written.get(k, "")) != p}
    if wrong:
        raise ConfigError(
            "the demo generator writes "
            + ", ".join(f"{k} to {written.get(k)}" for k in wrong)
            + ", but the config expects "
            + ", ".join(f"{p}" for p in wrong.values())
        )
    write_json(stamp, settings)
    return folder
