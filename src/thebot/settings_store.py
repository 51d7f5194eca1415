"""SettingsStore: the one way settings change while the app runs.

`apply(change)` takes a partial document with the TOML's sections and keys, checks every key, then the
whole model (cross-field rules included), and either applies all of it or none: persist first, then
swap the in-memory settings, record the history and publish one `SettingsChanged`. Each service reacts
to the keys it owns. Fields marked *restart* are saved and reported as pending until the next start.

Layers, lowest first: the defaults file, the user file in the data directory (what the panel saved),
the command-line flags of this run (never persisted; a key the user changes stops being overridden).

The user file is written with tomlkit so the user's comments and order survive; every write goes to a
temporary file, is fsynced and renamed over the old one, whose last good content is kept beside it as
`.bak`. A file that does not parse is moved aside and the `.bak` is used instead, and the store says so
in `warnings` (the page shows them) and in the log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from thebot.config import ConfigError, Settings, check_value, settings_from_dict
from thebot.events import Event, SettingsChanged
from thebot.market.symbols import CatalogUnavailable, SymbolCatalog
from thebot.settings_schema import field_map, is_secret, mark_of, plain, settings_to_dict

logger = logging.getLogger(__name__)

USER_FILE_NAME = "settings.user.toml"
HISTORY_FILE_NAME = "settings-history.jsonl"
HISTORY_LIMIT = 1000
_HEADER = (
    "thebot user settings: written by the settings panel over config/settings.toml.\n"
    "Edit with care; a file that does not parse is set aside and the last good copy (.bak) is used."
)


@dataclass(frozen=True, slots=True)
class FieldError:
    key: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "reason": self.reason}


class SettingsRejected(ValueError):
    """Nothing was applied; `errors` name each bad key and the reason."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        summary = "; ".join(f"{error.key}: {error.reason}" for error in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"settings not applied: {summary}{more}")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    time_ms: int
    key: str
    old: Any
    new: Any
    origin: str  # "panel", "revert #3", "reset signals"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time_ms,
            "key": self.key,
            "old": self.old,
            "new": self.new,
            "origin": self.origin,
            "mark": mark_of(self.key),
        }


@dataclass(frozen=True, slots=True)
class ApplyResult:
    changed: tuple[str, ...]
    live: tuple[str, ...]  # applied now
    restart: tuple[str, ...]  # saved, applied at the next start

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": list(self.changed),
            "applied": list(self.live),
            "after_restart": list(self.restart),
        }


# -- dotted documents ------------------------------------------------------------------------------


def flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"signals": {"rule_weights": {"rsi": 0.5}}} → {"signals.rule_weights.rsi": 0.5} (schema-aware:
    a leaf whose value is a table stays a leaf only if the schema says so)."""
    fields = field_map()
    result: dict[str, Any] = {}
    for name, value in document.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if key not in fields and isinstance(value, Mapping):
            result.update(flatten(value, key))
        else:
            result[key] = value
    return result


def unflatten(values: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in values.items():
        node = result
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return result


def _hints(key: str) -> Any:
    """The annotation of a dotted leaf key, by walking the dataclasses."""
    cls: Any = Settings
    *parents, leaf = key.split(".")
    for part in parents:
        cls = typing.get_type_hints(cls)[part]
    return typing.get_type_hints(cls)[leaf]


def _public(key: str, value: Any) -> Any:
    """What may leave the process: a secret becomes {"set": bool}."""
    if is_secret(key):
        return {"set": bool(value)}
    return value


def redact(document: dict[str, Any]) -> dict[str, Any]:
    return unflatten({key: _public(key, value) for key, value in flatten(document).items()})


# -- files -----------------------------------------------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def atomic_write(path: Path, text: str) -> None:
    """Temp file in the same directory, fsync, rename: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _keep_as_backup(path: Path, backup: Path, text: str) -> None:
    """A hard link to the current file becomes the `.bak` (the content is already on disk, so no copy
    and no second fsync); filesystems without links get a copy."""
    link = path.with_name(f".{backup.name}.tmp")
    try:
        link.unlink(missing_ok=True)
        os.link(path, link)
        os.replace(link, backup)
    except OSError:
        atomic_write(backup, text)


@dataclass
class UserFile:
    """The user's saved settings: the tomlkit document (comments kept) and where it came from."""

    path: Path | None
    document: tomlkit.TOMLDocument
    warnings: list[str]

    @property
    def backup(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + ".bak")

    def values(self) -> dict[str, Any]:
        return flatten(self.document.unwrap())

    @classmethod
    def load(cls, path: Path | None) -> UserFile:
        if path is None or not path.exists():
            return cls(path, _new_document(), [])
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            tomllib.loads(text)
            return cls(path, tomlkit.parse(text), [])
        except (tomllib.TOMLDecodeError, tomlkit.exceptions.ParseError) as error:
            problem = f"{error}"
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        backup = path.with_name(path.name + ".bak")
        if backup.exists():
            backup_text = backup.read_text(encoding="utf-8", errors="replace")
            try:
                tomllib.loads(backup_text)
                document = tomlkit.parse(backup_text)
            except (tomllib.TOMLDecodeError, tomlkit.exceptions.ParseError):
                document = None
            if document is not None:
                atomic_write(path, backup_text)
                message = (
                    f"The user settings file {path} did not parse ({problem}); it was moved to {aside.name} "
                    f"and the last good copy ({backup.name}) was loaded instead."
                )
                logger.error("%s", message)
                return cls(path, document, [message])
        message = (
            f"The user settings file {path} did not parse ({problem}) and no good copy was found; it was "
            f"moved to {aside.name} and the defaults are used."
        )
        logger.error("%s", message)
        return cls(path, _new_document(), [message])

    def set(self, key: str, value: Any) -> None:
        node: Any = self.document
        *parents, leaf = key.split(".")
        for part in parents:
            if part not in node:
                node[part] = tomlkit.table()
            node = node[part]
        node[leaf] = value

    def remove(self, key: str) -> None:
        node: Any = self.document
        *parents, leaf = key.split(".")
        for part in parents:
            if part not in node:
                return
            node = node[part]
        if leaf in node:
            del node[leaf]
        # Drop tables left empty, innermost first.
        for depth in range(len(parents), 0, -1):
            parent: Any = self.document
            for part in parents[: depth - 1]:
                parent = parent[part]
            name = parents[depth - 1]
            if name in parent and not parent[name]:
                del parent[name]

    def save(self) -> None:
        """Keep the current (good) file as `.bak`, then replace it atomically."""
        if self.path is None:
            return
        backup = self.backup
        assert backup is not None
        if self.path.exists():
            current = self.path.read_text(encoding="utf-8", errors="replace")
            try:
                tomllib.loads(current)
            except tomllib.TOMLDecodeError:
                logger.warning("not keeping %s as the good copy: it does not parse", self.path)
            else:
                _keep_as_backup(self.path, backup, current)
        atomic_write(self.path, tomlkit.dumps(self.document))


def _new_document() -> tomlkit.TOMLDocument:
    document = tomlkit.document()
    for line in _HEADER.splitlines():
        document.add(tomlkit.comment(line))
    document.add(tomlkit.nl())
    return document


def _effective(defaults: Mapping[str, Any], *layers: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for layer in layers:
        merged.update(layer)
    return merged


def _drop_bad_keys(
    defaults: dict[str, Any], user: dict[str, Any], run: dict[str, Any], warnings: list[str]
) -> Settings:
    """Build the start settings; a user key that no longer validates is skipped (and said), never fatal."""
    for _ in range(len(user) + 1):
        try:
            return settings_from_dict(unflatten(_effective(defaults, user, run)))
        except ConfigError as error:
            bad = [key for key in user if key == error.key.split("[", 1)[0] or error.key.startswith(key)]
            if not bad:
                raise
            for key in bad:
                user.pop(key)
            message = f"Saved setting '{error.key}' ignored: {error.reason}. The default is used."
            logger.warning("%s", message)
            warnings.append(message)
    return settings_from_dict(unflatten(_effective(defaults, run)))


# -- the store -------------------------------------------------------------------------------------


class SettingsStore:
    """Thread-safe; `apply`, `revert` and `reset_section` serialize on one lock."""

    def __init__(
        self,
        defaults: Settings,
        *,
        data_dir: Path | None = None,
        run_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._defaults = flatten(settings_to_dict(defaults))
        self._run = flatten(dict(run_overrides or {}))
        self._user_file = UserFile.load(None if data_dir is None else data_dir / USER_FILE_NAME)
        self.warnings: list[str] = list(self._user_file.warnings)
        user = self._user_file.values()
        unknown = [key for key in user if key not in self._defaults]
        for key in unknown:
            user.pop(key)
            self.warnings.append(f"Saved setting '{key}' is not a setting any more; it is ignored.")
        self._user = user
        self._saved = _drop_bad_keys(self._defaults, self._user, self._run, self.warnings)
        self._started = self._saved
        self._running = self._saved
        self._history_path = None if data_dir is None else data_dir / HISTORY_FILE_NAME
        self._history: list[HistoryEntry] = self._load_history()
        self._next_id = max((entry.id for entry in self._history), default=0) + 1
        self._catalog: SymbolCatalog | None = None
        self._publish: Callable[[Event], None] | None = None
        self._version = 0

    # -- wiring ------------------------------------------------------------------------------------

    def attach(
        self, *, publish: Callable[[Event], None] | None = None, catalog: SymbolCatalog | None = None
    ) -> None:
        """The composition root connects the bus and the venue's symbol list once both exist."""
        if publish is not None:
            self._publish = publish
        if catalog is not None:
            self._catalog = catalog

    # -- reading -----------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Moves on every applied change; pages refresh when it does."""
        return self._version

    def current(self) -> Settings:
        """What the running system uses: live changes applied, restart-marked ones not yet."""
        return self._running

    def saved(self) -> Settings:
        """What was asked for, pending restart-marked changes included."""
        return self._saved

    def defaults(self) -> dict[str, Any]:
        return dict(self._defaults)

    def document(self) -> dict[str, Any]:
        """The saved settings as JSON (same sections and keys as the TOML), secrets as {"set": bool}."""
        return redact(settings_to_dict(self._saved))

    def pending_restart(self) -> list[str]:
        started = flatten(settings_to_dict(self._started))
        saved = flatten(settings_to_dict(self._saved))
        return [
            key for key, value in saved.items() if mark_of(key) == "restart" and started.get(key) != value
        ]

    def history(self, limit: int = 200) -> list[HistoryEntry]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._history[-limit:]))

    def trading_symbols(self) -> list[str]:
        """What the venue lists as TRADING (sorted); empty when it cannot be read."""
        if self._catalog is None:
            return []
        try:
            return sorted(self._catalog.trading_symbols())
        except CatalogUnavailable as error:
            logger.warning("%s", error)
            return []

    # -- changing ----------------------------------------------------------------------------------

    def apply(self, change: Mapping[str, Any], *, origin: str = "panel") -> ApplyResult:
        """Validate `change` against the whole model; apply all of it or raise `SettingsRejected`."""
        return self._apply(change, origin=origin, forget=False)

    def revert(self, entry_id: int) -> ApplyResult:
        """Set the entry's key back to its old value (a new history entry records the revert)."""
        with self._lock:
            entry = next((item for item in self._history if item.id == entry_id), None)
            if entry is None:
                raise KeyError(entry_id)
            if is_secret(entry.key):
                raise SettingsRejected(
                    [FieldError(entry.key, "a secret cannot be restored from the history; enter it again")]
                )
            return self._apply(unflatten({entry.key: entry.old}), origin=f"revert #{entry_id}", forget=False)

    def reset_section(self, section: str) -> ApplyResult:
        """Every key of the table (and its sub-tables) back to the defaults file; the user file forgets
        them, so later edits of the defaults reach this installation again."""
        keys = [
            key for key in self._defaults if key.rsplit(".", 1)[0] == section or key.startswith(section + ".")
        ]
        if not keys:
            raise SettingsRejected([FieldError(section, "no such section")])
        fields = field_map()
        keys = [key for key in keys if not fields[key].locked]
        if not keys:
            raise SettingsRejected([FieldError(section, "nothing in this section is changed from the panel")])
        return self._apply(
            unflatten({key: self._defaults[key] for key in keys}), origin=f"reset {section}", forget=True
        )

    def _apply(self, change: Mapping[str, Any], *, origin: str, forget: bool) -> ApplyResult:
        if not isinstance(change, Mapping):
            raise SettingsRejected([FieldError("", 'send an object with sections, e.g. {"ui": {...}}')])
        with self._lock:
            leaves = flatten(change)
            # A secret echoed back as {"set": ...} means "unchanged".
            leaves = {
                key: value
                for key, value in leaves.items()
                if not (is_secret(key) and isinstance(value, Mapping) and set(value) <= {"set"})
            }
            saved = flatten(settings_to_dict(self._saved))
            errors, converted = self._check_leaves(leaves, saved)
            if errors:
                errors.extend(self._check_sections(converted, saved, errors))
            else:
                try:
                    new_settings = settings_from_dict(unflatten({**saved, **converted}))
                except ConfigError as error:
                    errors.append(FieldError(error.key, error.reason))
            if errors:
                logger.info("settings change rejected: %s", ", ".join(error.key for error in errors))
                raise SettingsRejected(errors)
            changed = tuple(key for key, value in converted.items() if saved.get(key) != value)
            if not changed and not forget:
                return ApplyResult((), (), ())
            self._persist(converted, changed, forget)
            self._saved = new_settings
            self._running = self._compose_running()
            now = int(time.time() * 1000)
            entries = [
                HistoryEntry(
                    self._next_id + index,
                    now,
                    key,
                    _public(key, saved.get(key)),
                    _public(key, converted[key]),
                    origin,
                )
                for index, key in enumerate(changed)
            ]
            self._next_id += len(entries)
            self._record(entries)
            self._version += 1
            live = tuple(key for key in changed if mark_of(key) == "live")
            restart = tuple(key for key in changed if mark_of(key) != "live")
        logger.info(
            "settings changed by %s: %s (live: %d, after restart: %d)",
            origin,
            ", ".join(changed),
            len(live),
            len(restart),
        )
        if changed and self._publish is not None:
            self._publish(SettingsChanged(keys=changed))
        return ApplyResult(changed, live, restart)

    def _check_leaves(
        self, leaves: dict[str, Any], saved: dict[str, Any]
    ) -> tuple[list[FieldError], dict[str, Any]]:
        errors: list[FieldError] = []
        converted: dict[str, Any] = {}
        fields = field_map()
        for key, value in leaves.items():
            if key not in fields and any(name.startswith(key + ".") for name in fields):
                errors.append(FieldError(key, 'is a section: send an object of its keys, e.g. {"rsi": 0.5}'))
                continue
            if key not in fields:
                section = key.rsplit(".", 1)[0] if "." in key else ""
                known = sorted(info.name for info in fields.values() if info.section == section)
                hint = f"known keys here: {', '.join(known)}" if known else "no such section"
                errors.append(FieldError(key, f"unknown setting; {hint}"))
                continue
            if fields[key].locked:
                errors.append(FieldError(key, f"cannot be changed here; {fields[key].help}"))
                continue
            try:
                converted[key] = plain(check_value(value, _hints(key), key))
            except ConfigError as error:
                errors.append(FieldError(error.key, error.reason))
        if "market.symbols" in converted:
            errors.extend(self._check_symbols(converted["market.symbols"], saved["market.symbols"]))
        return errors, converted

    @staticmethod
    def _check_sections(
        converted: dict[str, Any], saved: dict[str, Any], errors: list[FieldError]
    ) -> list[FieldError]:
        """With some keys already wrong, still check each other touched section on its own, so one
        answer names every bad field instead of one per attempt."""
        bad_sections = {error.key.split(".", 1)[0] for error in errors}
        found: list[FieldError] = []
        for section in dict.fromkeys(key.split(".", 1)[0] for key in converted):
            if section in bad_sections:
                continue
            part = {key: value for key, value in converted.items() if key.split(".", 1)[0] == section}
            try:
                settings_from_dict(unflatten({**saved, **part}))
            except ConfigError as error:
                found.append(FieldError(error.key, error.reason))
        return found

    def _check_symbols(self, symbols: list[str], before: list[str]) -> list[FieldError]:
        errors: list[FieldError] = []
        if not symbols:
            return [FieldError("market.symbols", 'list at least one symbol, e.g. ["BTCUSDT"]')]
        first_index: dict[str, int] = {}
        new: list[tuple[int, str]] = []
        for index, symbol in enumerate(symbols):
            key = f"market.symbols[{index}]"
            if not (symbol.isalnum() and symbol.isupper()):
                errors.append(
                    FieldError(key, f"'{symbol}' is not an upper-case Binance symbol such as BTCUSDT")
                )
            elif symbol in first_index:
                errors.append(FieldError(key, f"'{symbol}' repeats market.symbols[{first_index[symbol]}]"))
            else:
                first_index[symbol] = index
                if symbol not in before:
                    new.append((index, symbol))
        if new:
            if self._catalog is None:
                return [
                    FieldError("market.symbols", "the venue's symbol list is not available yet; try again")
                ]
            try:
                listed = self._catalog.trading_symbols()
            except CatalogUnavailable as error:
                return [FieldError("market.symbols", str(error))]
            for index, symbol in new:
                if symbol not in listed:
                    errors.append(
                        FieldError(
                            f"market.symbols[{index}]",
                            f"unknown symbol '{symbol}': the venue does not list it as TRADING",
                        )
                    )
        return errors

    def _compose_running(self) -> Settings:
        started = flatten(settings_to_dict(self._started))
        saved = flatten(settings_to_dict(self._saved))
        if all(saved[key] == value for key, value in started.items() if mark_of(key) != "live"):
            return self._saved  # nothing waits for a restart: what was saved is what runs
        running = {key: (saved[key] if mark_of(key) == "live" else value) for key, value in started.items()}
        try:
            return settings_from_dict(unflatten(running))
        except ConfigError as error:  # a live key that depends on a pending restart key
            logger.warning(
                "live settings depend on a pending restart (%s); running with the saved ones", error
            )
            return self._saved

    def _persist(self, converted: dict[str, Any], changed: tuple[str, ...], forget: bool) -> None:
        """Write the user file first: if that fails, nothing is applied."""
        user = dict(self._user)
        for key in converted if forget else changed:
            self._run.pop(key, None)
            if forget:
                user.pop(key, None)
                self._user_file.remove(key)
            else:
                user[key] = converted[key]
                self._user_file.set(key, converted[key])
        try:
            self._user_file.save()
        except OSError as error:
            # Roll the document back to what is on disk, so memory and file agree.
            self._user_file = UserFile.load(self._user_file.path)
            raise SettingsRejected(
                [FieldError("", f"could not save the settings file ({error}); nothing was applied")]
            ) from None
        self._user = user

    # -- history -----------------------------------------------------------------------------------

    def _load_history(self) -> list[HistoryEntry]:
        path = self._history_path
        if path is None or not path.exists():
            return []
        entries: list[HistoryEntry] = []
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                entries.append(
                    HistoryEntry(
                        int(raw["id"]),
                        int(raw["time"]),
                        str(raw["key"]),
                        raw["old"],
                        raw["new"],
                        str(raw["origin"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                logger.warning("settings history line %d of %s is damaged; skipped", number, path)
        return entries[-HISTORY_LIMIT:]

    def _record(self, entries: list[HistoryEntry]) -> None:
        self._history.extend(entries)
        del self._history[:-HISTORY_LIMIT]
        if self._history_path is None or not entries:
            return
        try:
            self._history_path.parent.mkdir(parents=True, exist_ok=True)
            with self._history_path.open("a", encoding="utf-8") as handle:
                for entry in entries:
                    raw = entry.as_dict()
                    raw.pop("mark")
                    handle.write(json.dumps(raw) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            logger.exception("could not append to the settings history; the change itself was saved")
