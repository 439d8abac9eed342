"""Find the app's Registry from a reference: ``path/to/app.py``, ``pkg.module`` or ``module:attr``.

A file inside a package is imported as that package's module (``workflows_example/app.py``
becomes ``workflows_example.app`` with the package's parent on ``sys.path``), so its relative
imports work. Without ``:attr`` the module must hold one Registry, or one named ``app``.

An exception raised while importing the user's module is their bug: ``AppImportError`` keeps
its traceback, trimmed to their frames, for the CLI to show. A reference that names nothing
(no such file or module, no such attribute, no Registry) is a plain ``ConfigError``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..errors import ConfigError
from ..model.registry import Registry
from ..payloads import a_type_name


class AppImportError(ConfigError):
    """The user's module raised while it was imported."""

    def __init__(self, reference: str, user_traceback: str, summary: str):
        self.reference = reference
        self.user_traceback = user_traceback
        """The traceback of the user's code, ready to print."""
        super().__init__(f"the app {reference!r} failed to import: {summary}")


@dataclass(frozen=True)
class LoadedApp:
    """A loaded app: its Registry and where it came from."""

    registry: Registry
    reference: str
    module: ModuleType
    source_paths: tuple[Path, ...]
    """Directories (or the file) whose changes ``run --reload`` watches."""


def load_app(reference: str, base_dir: Path) -> LoadedApp:
    """Import the module ``reference`` names and return its Registry."""
    module_part, _, attr = reference.partition(":")
    watch: tuple[Path, ...]
    if not module_part:
        raise ConfigError(f"app reference {reference!r} names no module; use path/to/app.py, pkg.module or module:attr")
    if _looks_like_path(module_part):
        path = Path(module_part)
        if not path.is_absolute():
            path = base_dir / path
        module_name, search_root = module_name_for_file(path)
        module = _import(module_name, search_root, reference, path)
        watch = (_package_root(path),)
    else:
        module = _import(module_part, base_dir, reference, None)
        file = getattr(module, "__file__", None)
        watch = (_package_root(Path(file)),) if file else ()
    registry = _registry(module, attr, reference)
    return LoadedApp(registry, reference, module, watch)


def watch_roots(reference: str, base_dir: Path) -> tuple[Path, ...]:
    """The directories whose changes should reload the app, found without importing it."""
    module_part = reference.partition(":")[0]
    if _looks_like_path(module_part):
        path = Path(module_part)
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise ConfigError(f"app file {str(path)!r} does not exist (from the app reference {reference!r})")
        return (_package_root(path),)
    top = module_part.split(".")[0]
    root = str(base_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise ConfigError(f"no module named {top!r} (from the app reference {reference!r})")
    return (Path(spec.origin).resolve().parent,)  # a package's directory, or a module's


def module_name_for_file(path: Path) -> tuple[str, Path]:
    """The dotted module name of ``path`` and the directory to put on ``sys.path``."""
    path = path.resolve()
    parts = [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts), directory


def _looks_like_path(text: str) -> bool:
    return text.endswith(".py") or "/" in text or "\\" in text


def _package_root(path: Path) -> Path:
    """The top package directory holding ``path`` (or its directory)."""
    directory = path.resolve().parent
    while (directory.parent / "__init__.py").is_file():
        directory = directory.parent
    return directory


def _import(module_name: str, search_root: Path, reference: str, path: Path | None) -> ModuleType:
    if path is not None and not path.is_file():
        raise ConfigError(f"app file {str(path)!r} does not exist (from the app reference {reference!r})")
    root = str(search_root.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and (module_name == error.name or module_name.startswith(error.name + ".")):
            raise ConfigError(
                f"no module named {module_name!r} (from the app reference {reference!r}; looked in {root} and sys.path)"
            ) from None
        raise _import_error(reference, error) from None
    except Exception as error:  # noqa: BLE001 - anything the user's module raises
        raise _import_error(reference, error) from None


def _import_error(reference: str, error: BaseException) -> AppImportError:
    lines = traceback.TracebackException.from_exception(error)
    users = [frame for frame in lines.stack if not _is_machinery(frame.filename)]
    lines.stack = traceback.StackSummary.from_list(users or list(lines.stack))
    text = "".join(lines.format())
    summary = "".join(traceback.format_exception_only(type(error), error)).strip().splitlines()[-1]
    return AppImportError(reference, text, summary)


_PACKAGE = Path(__file__).resolve().parent.parent
"""duroxide's own files: a registration the app gets wrong raises from there."""


def _is_machinery(filename: str) -> bool:
    """Frames the user did not write: the import system's and duroxide's own."""
    if filename.startswith("<frozen importlib") or "importlib" in Path(filename).parts:
        return True
    return Path(filename).resolve().is_relative_to(_PACKAGE)


def _registry(module: ModuleType, attr: str, reference: str) -> Registry:
    if attr:
        value: object = module
        for part in attr.split("."):
            if not hasattr(value, part):
                raise ConfigError(f"module {module.__name__!r} has no attribute {attr!r} (from the app reference {reference!r})")
            value = getattr(value, part)
        if not isinstance(value, Registry):
            raise ConfigError(f"{reference!r} is {a_type_name(value)}, not a duroxide Registry")
        return value
    found = {name: value for name, value in vars(module).items() if isinstance(value, Registry)}
    if len(found) == 1:
        return next(iter(found.values()))
    if "app" in found:
        return found["app"]
    if not found:
        raise ConfigError(
            f"module {module.__name__!r} defines no duroxide Registry; create one (app = Registry()) "
            f"or name it with {reference.partition(':')[0]}:attr"
        )
    names = ", ".join(sorted(found))
    raise ConfigError(
        f"module {module.__name__!r} has several Registry objects ({names}); name one with {reference.partition(':')[0]}:NAME"
    )
