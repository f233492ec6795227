"""Suite-wide settings."""

from __future__ import annotations

import os
import tempfile

# The card and secret detectors hash with a per-install key; tests use their own key file
# (inherited by the `dlp` processes they start) instead of the machine's.
_KEY_DIR = tempfile.mkdtemp(prefix="dlp-test-key-")
os.environ.setdefault("DLP_HMAC_KEY_FILE", os.path.join(_KEY_DIR, "hmac.key"))
