"""``codistill`` command line: one sub-command per stage.

Each stage registers its commands in its own module (``cli/data.py``, ``cli/teacher.py``, ...)
so stages stay independent; this module only assembles them and turns user errors into one
clear line.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import typer

from codistill.cli import counterfactuals as counterfactuals_cli
from codistill.cli import data as data_cli
from codistill.cli import distill as distill_cli
from codistill.cli import explain as explain_cli
from codistill.cli import export as export_cli
from codistill.cli import generation as generation_cli
from codistill.cli import models as models_cli
from codistill.cli import report as report_cli
from codistill.cli import sweep as sweep_cli
from codistill.cli import teacher as teacher_cli
from codistill.errors import CodistillError
from codistill.utils.secrets import install_log_redaction, output_redaction, redact

app = typer.Typer(
    name="codistill",
    help="Few-shot distillation of text classifiers with teacher-verified counterfactuals (CoD).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data_cli.app, name="data")
app.add_typer(models_cli.app, name="models")
teacher_cli.register(app)
counterfactuals_cli.register(app)
distill_cli.register(app)
generation_cli.register(app)
explain_cli.register(app)
sweep_cli.register(app)
report_cli.register(app)
export_cli.register(app)


def _version(value: bool) -> None:
    if value:
        from codistill import __version__

        typer.echo(f"codistill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.", envvar="CODISTILL_DEBUG"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    if debug:
        os.environ["CODISTILL_DEBUG"] = "1"


#: operating-system errors a user causes (permissions, read-only or full disks, wrong paths)
USER_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.ENOENT,
    errno.EEXIST,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENAMETOOLONG,
    errno.EXDEV,
}


#: what libraries that wrap an OSError (safetensors, torch.save, datasets) keep of a full disk
_FULL_DISK = {
    errno.ENOSPC: ("No space left on device", "StorageFull"),
    errno.EDQUOT: ("Disk quota exceeded", "QuotaExceeded"),
}


def _user_os_error(exc: BaseException) -> OSError | None:
    """The user's operating-system error behind ``exc``: ``exc`` itself, or a full disk behind a
    library's own exception (its cause or context, or only named in its message); else None."""
    if isinstance(exc, OSError) and exc.errno in USER_ERRNOS:
        return exc
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        for code, words in _FULL_DISK.items():
            if (isinstance(link, OSError) and link.errno == code) or any(w in str(link) for w in words):
                return link if isinstance(link, OSError) else OSError(code, os.strerror(code))
        link = link.__cause__ or link.__context__
    return None


def _os_error_line(exc: OSError) -> str:
    what = exc.strerror or type(exc).__name__
    where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p)
    return redact(f"{where}: {what}" if where else what)


def _click_classes(name: str) -> tuple[type[Any], ...]:  # click exception classes, from two possible modules
    """``click.exceptions.<name>`` from click and from the copy recent typer versions vendor."""
    import importlib

    found = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def interrupted_line() -> str:
    """One line for a stopped command: which signal, and which finished outputs were kept."""
    import signal

    from codistill.utils.io import COMMITTED
    from codistill.utils.processes import interrupted_status

    name = signal.Signals(interrupted_status() - 128).name
    if not COMMITTED:
        return f"interrupted ({name}): stopped before any output folder was written"
    kept = ", ".join(str(p) for p in dict.fromkeys(COMMITTED))
    return f"interrupted ({name}): kept the finished outputs in {kept}; unfinished work was discarded (nothing is half-written)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (130 / 143 when stopped by
    Ctrl-C / SIGTERM)."""
    from codistill.utils import distributed
    from codistill.utils.io import COMMITTED
    from codistill.utils.processes import interrupted_status, stop_on_signals

    COMMITTED.clear()
    restore = stop_on_signals()
    code = 1
    try:
        code = _run(argv)
        return code
    except KeyboardInterrupt:  # a second Ctrl-C while the first unwinds
        typer.echo(interrupted_line(), err=True)
        code = interrupted_status()
        return code
    finally:
        restore()
        distributed.shutdown(wait=code == 0)  # under a launcher: every process leaves together


def _run(argv: list[str] | None) -> int:
    from codistill.utils.processes import interrupted_status

    debug = os.environ.get("CODISTILL_DEBUG") == "1" or "--debug" in (argv if argv is not None else sys.argv[1:])
    install_log_redaction()  # no key reaches a log, whichever library writes it
    try:
        with output_redaction():  # no key reaches the console, whichever command or library prints it
            code = app(args=argv, standalone_mode=False)
    except CodistillError as exc:
        if debug:
            raise
        typer.secho(f"error: {redact(str(exc))}", err=True, fg=typer.colors.RED)
        return 2
    except _click_classes("Exit") as exc:
        return exc.exit_code
    except _click_classes("Abort"):
        typer.echo("aborted", err=True)
        return 130
    except _click_classes("ClickException") as exc:  # bad options: one line, not the usage block
        hint = " (see --help)" if isinstance(exc, _click_classes("UsageError")) else ""
        typer.secho(f"error: {redact(exc.format_message())}{hint}", err=True, fg=typer.colors.RED)
        return 2
    except KeyboardInterrupt:
        typer.echo(interrupted_line(), err=True)
        return interrupted_status()
    except Exception as exc:  # a bug: one line by default, the traceback with --debug
        if debug:
            raise
        if (os_error := _user_os_error(exc)) is not None:  # a permission, a full disk: the user's to fix
            typer.secho(f"error: {_os_error_line(os_error)}", err=True, fg=typer.colors.RED)
            return 2
        typer.secho(
            f"error: {type(exc).__name__}: {redact(str(exc))} (rerun with --debug for the traceback)",
            err=True,
            fg=typer.colors.RED,
        )
        return 1
    if code == 130:  # typer turns a KeyboardInterrupt into 130 under standalone_mode=False
        typer.echo(interrupted_line(), err=True)
        return interrupted_status()
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
