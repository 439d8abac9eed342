"""``--help`` of every command, in the plain style of ``git`` and ``click``.

typer's own plain help marks a required argument as ``{ID}``, an optional one as ``[[DIR]]``,
and adds type tags (``<str>``, ``<int range>``, ``[x>=1]``) that read as leftovers. This command
class writes the usage line and the argument and option lists from the parameters themselves:
``Usage: duroxide status [OPTIONS] ID``, ``-o, --output table|json|jsonl  ...  [default: ...]``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from typer.core import TyperCommand


class HelpCommand(TyperCommand):
    """A typer command whose help names arguments and option values by their metavar."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(_argument_usage(param))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            if getattr(param, "hidden", False):
                continue
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param), _with_extras(getattr(param, "help", None) or "", param)))
            elif param.param_type_name == "option":
                options.append((_option_names(param), _with_extras(getattr(param, "help", None) or "", param)))
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)


# Parameters are click's (typer vendors click in some versions), read through the attributes
# every click version has: param_type_name, opts, metavar, nargs, required, default, help.


def _argument_name(param: Any) -> str:
    name = param.metavar or (param.name or "value").upper()
    return name.strip("[]")


def _argument_usage(param: Any) -> str:
    name = _argument_name(param)
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


def _option_names(param: Any) -> str:
    names = ", ".join(sorted(param.opts, key=lambda opt: (opt.startswith("--"), opt)))
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    if param.is_flag or param.count:
        return names
    return f"{names} {param.metavar or (param.name or 'value').upper()}"


def _with_extras(help_text: str, param: Any) -> str:
    extras = []
    default = _default_text(param)
    if default:
        extras.append(f"default: {default}")
    if param.required and param.param_type_name == "option":
        extras.append("required")
    if extras:
        return f"{help_text}  [{'; '.join(extras)}]".strip()
    return help_text


def _default_text(param: Any) -> str:
    if param.param_type_name == "option" and (param.is_flag or param.count):
        return ""
    if getattr(param, "show_default", True) is False:
        return ""
    value: Any = param.default
    if callable(value) or value is None or value == () or value == []:
        return ""
    if isinstance(value, Enum):
        value = value.value
    return str(value)
