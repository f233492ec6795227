"""The per-install HMAC key: detectors hash what they find (card numbers, secrets) with it,
so alerts can be correlated ("the same card again") without ever carrying the value, and
hashes from one install are useless against another.

    key = load_or_create_key()          # 32 random bytes, created once, mode 0600

Where the key lives, first match wins:
  1. the `path` argument (a detector's `hmac_key_file` parameter) when given;
  2. the environment variable DLP_HMAC_KEY_FILE;
  3. /var/lib/dlp/hmac.key when it exists or can be created there;
  4. ~/.config/dlp/hmac.key.

Creation is atomic and race-free: the key is written to a private temporary file and
hard-linked into place, so a concurrent process either wins or reads the winner's key, and
nobody ever reads a half-written file.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading

KEY_BYTES = 32
ENV_VAR = "DLP_HMAC_KEY_FILE"
SYSTEM_PATH = "/var/lib/dlp/hmac.key"
USER_PATH = "~/.config/dlp/hmac.key"

_cache: dict[str, bytes] = {}
_lock = threading.Lock()


def default_path() -> str:
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return os.path.expanduser(env)
    if os.path.isfile(SYSTEM_PATH) and os.access(SYSTEM_PATH, os.R_OK):
        return SYSTEM_PATH
    if _creatable(os.path.dirname(SYSTEM_PATH)):
        return SYSTEM_PATH
    return os.path.expanduser(USER_PATH)


def _creatable(directory: str) -> bool:
    """The directory is writable, or does not exist and its nearest existing parent is."""
    while directory and not os.path.exists(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)


def load_or_create_key(path: str | None = None) -> bytes:
    """The install's 32-byte key, read from `path` (see the module doc for the default),
    created there with mode 0600 if absent. Raises ValueError for a file that is not a key,
    OSError when it can neither be read nor created."""
    path = os.path.abspath(os.path.expanduser(path)) if path else os.path.abspath(default_path())
    with _lock:
        key = _cache.get(path)
        if key is None:
            key = _cache[path] = _read(path) if os.path.exists(path) else _create(path)
        return key


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(KEY_BYTES + 1)
    if len(data) != KEY_BYTES:
        raise ValueError(f"{path}: not a dlp HMAC key (expected {KEY_BYTES} bytes, found "
                         f"{len(data) if len(data) <= KEY_BYTES else 'more'})")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        import structlog
        structlog.get_logger("dlp.install_key").warning(
            "hmac_key_permissions", path=path, mode=oct(mode), expected="0o600")
    return data


def _create(path: str) -> bytes:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = os.path.join(directory, f".hmac.key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and fails if another process got there first
    except FileExistsError:
        return _read(path)
    except OSError:  # file systems without hard links: an exclusive rename is not possible,
        if os.path.exists(path):  # so accept a tiny window in which both may write
            return _read(path)
        os.replace(tmp, path)
        return key
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return key


def _forget() -> None:
    """Tests: drop the in-process cache."""
    with _lock:
        _cache.clear()
