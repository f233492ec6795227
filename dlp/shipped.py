"""Files the project ships beside its packages: the default rules (rules/) and the trained
models (models/). In a source checkout or an editable install they are found in the
repository; a wheel installs them under <prefix>/share/dlp/ (pyproject's data-files), which is
where they are looked for next."""

from __future__ import annotations

import os
import sys

_REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shipped(*parts: str) -> str:
    """The path of a shipped file, e.g. shipped("rules", "default.yaml"). When it is in
    neither place the repository path is returned, so the error names what was expected."""
    here = os.path.join(_REPOSITORY, *parts)
    if os.path.exists(here):
        return here
    installed = os.path.join(sys.prefix, "share", "dlp", *parts)
    return installed if os.path.exists(installed) else here
