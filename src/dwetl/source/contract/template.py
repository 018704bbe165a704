"""Starting extract files from the contract: each column as `NULL AS column -- TYPE, rules`."""

from __future__ import annotations

from pathlib import Path

from dwetl.core.errors import UsageError, os_reason
from dwetl.source.contract.model import Contract, EntityContract, FileContract


def template_sql(entity: EntityContract, file: FileContract) -> str:
    """A starting extract file: every column as `NULL AS column -- TYPE, rules`, in order, and a
    `FROM your_table` to fill in."""
    width = max(len(c.name) for c in file.columns)
    head = [
        f"-- {file.file}: {entity.name} ({entity.kind}, lands in {entity.target_table}); "
        "written by `dwetl contract --template`.",
        "-- Replace each NULL with your column or expression; keep the aliases and their order.",
        f"-- One row per version of a row: dwetl keeps the newest per "
        f"{', '.join(entity.natural_key)} (by {entity.watermark_column})."
        if entity.watermark_column
        else "",
        *_comment(file.since_note),
    ]
    if file.joins_on:
        head += _comment(f"Joined to the first part's rows on {file.joins_on}.")
    if entity.depends_on:
        head += _comment(f"Needs {', '.join(entity.depends_on)} loaded first.")
    head += _comment("To leave this entity out: " + entity.leave_out + ".")
    lines = [h for h in head if h] + ["SELECT"]
    for at, column in enumerate(file.columns):
        comma = "," if at < len(file.columns) - 1 else " "
        lines.append(f"    NULL AS {column.name:<{width}}{comma} -- {column.note()}")
    lines.append("FROM your_table")
    return "\n".join(lines) + "\n"


def _comment(text: str, width: int = 96) -> list[str]:
    import textwrap

    return ["-- " + line for line in textwrap.wrap(text, width - 3)]


def write_template(contract: Contract, folder: Path) -> tuple[list[Path], list[Path]]:
    """One `template_sql` file per extract file of the contract's entities into `folder`
    (created), never over an existing file: (written, skipped). A folder it cannot create or
    write into is a UsageError naming it."""
    written, skipped = [], []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for entity in contract.entities:
            for file in entity.files:
                path = folder / file.file
                try:
                    with path.open("x", encoding="utf-8") as out:
                        out.write(template_sql(entity, file))
                except FileExistsError:
                    skipped.append(path)
                    continue
                written.append(path)
    except OSError as exc:
        raise UsageError(
            f"--template {folder}: cannot write the templates there ({os_reason(exc)}); name a "
            "folder that can be created or written"
        ) from None
    return written, skipped
