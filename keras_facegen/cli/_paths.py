"""Output checks made before any work starts; they create nothing."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from keras_facegen.cli._args import CommandError


def check_output_file(path: Path, argument: str, suffixes: Sequence[str]) -> Path:
    """Checks before any work that an output file can be written (format and folder).

    Nothing is created: the writer creates the missing folders when it writes the file.

    Args:
        path: The file to be written.
        argument: The option's name, for messages.
        suffixes: Accepted extensions (lower case, with the dot).

    Returns:
        ``path``.

    Raises:
        CommandError: On another extension, a folder in the way, or a folder that cannot be
            created or written to.
    """
    if path.suffix.lower() not in suffixes:
        raise CommandError(
            f"{argument} {str(path)!r}: expected a file ending in {' or '.join(suffixes)}"
        )
    if path.is_dir():
        raise CommandError(f"{argument} {str(path)!r} is a folder; expected a file path")
    check_output_folder(path.parent, argument, of=path)
    return path


def check_output_folder(folder: Path, argument: str, of: Path | None = None) -> Path:
    """Checks, creating nothing, that ``folder`` exists or can be made, and can be written.

    The nearest existing folder on the way is probed with a temporary file (deleted at once),
    so a read-only disk or a missing permission is found, not guessed.

    Args:
        folder: The output folder.
        argument: The option's name, for messages.
        of: The output file the folder is for (named in messages instead of the folder).

    Returns:
        ``folder``.

    Raises:
        CommandError: If a file is in the way, or the folder cannot be created or written to.
    """
    name = str(of if of is not None else folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(
            f"{argument} {name!r} cannot be written: a file is in the way of its folder"
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise CommandError(f"{argument} {name!r} cannot be written: {reason}") from None
    return folder
