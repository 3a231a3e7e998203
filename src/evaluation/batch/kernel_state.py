"""The state of a warm kernel: recorded once after its start-up imports, restored before every report.

Imported by each warm kernel (:mod:`evaluation.batch.kernels`): :func:`snapshot` after the start-up
imports, :func:`reset` before every report. What a report could change and :func:`restore` puts
back: the working directory, ``sys.path``, environment variables (and the time zone), warning
filters and their "already shown" registries, the locale, matplotlib's figures and ``rcParams``,
pandas' options. :func:`reset` then empties the user namespace and resets IPython (a new history
session, the execution counter back to 1). Only the standard library and IPython are used here: the
module is imported before any report and must stay light.
"""

from __future__ import annotations

import gc
import locale
import os
import sys
import time
import warnings
from types import ModuleType

_saved: dict[str, object] = {}


def _pandas_options(pd: ModuleType) -> dict[str, object] | None:
    """Every registered pandas option and its value (pandas has no public list of them)."""
    try:
        keys = list(pd._config.config._registered_options)
    except AttributeError:
        return None
    values = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading a deprecated option warns (use_inf_as_na, data_manager)
        for key in keys:
            try:
                values[key] = pd.get_option(key)
            except Exception:
                pass
    return values


def snapshot() -> None:
    """Record the state :func:`restore` puts back (once, after the kernel's start-up imports)."""
    _saved["path"] = list(sys.path)
    _saved["environ"] = dict(os.environ)
    _saved["filters"] = list(warnings.filters)
    try:
        _saved["locale"] = locale.setlocale(locale.LC_ALL)
    except locale.Error:
        _saved["locale"] = None
    mpl = sys.modules.get("matplotlib")
    if mpl is not None:
        rc = dict(mpl.rcParams.copy())  # as matplotlib.rc_context does
        rc.pop("backend", None)
        _saved["rc"] = rc
    else:
        _saved["rc"] = None
    pd = sys.modules.get("pandas")
    _saved["pandas"] = _pandas_options(pd) if pd is not None else None


def restore(cwd: str | os.PathLike[str]) -> None:
    """The process state a report could change, back to the snapshot; the working directory set to ``cwd``."""
    os.chdir(cwd)
    sys.path[:] = _saved["path"]
    if dict(os.environ) != _saved["environ"]:
        os.environ.clear()
        os.environ.update(_saved["environ"])
        time.tzset()
    warnings.resetwarnings()  # also forgets which warnings were already shown
    warnings.filters[:] = _saved["filters"]
    if _saved["locale"] is not None:
        try:
            if locale.setlocale(locale.LC_ALL) != _saved["locale"]:
                locale.setlocale(locale.LC_ALL, _saved["locale"])
        except locale.Error:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")
        mpl = sys.modules.get("matplotlib")
        if mpl is not None:
            if _saved["rc"] is not None:
                dict.update(mpl.rcParams, _saved["rc"])
            else:
                mpl.rc_file_defaults()
        pd = sys.modules.get("pandas")
        if pd is not None:
            if _saved["pandas"] is not None:
                for key, value in _saved["pandas"].items():
                    try:
                        if pd.get_option(key) != value:
                            pd.set_option(key, value)
                    except Exception:
                        pass
            else:
                pd.reset_option("all")


def reset(cwd: str | os.PathLike[str]) -> None:
    """Before every report, silently: :func:`restore`, then the user namespace emptied and IPython reset."""
    restore(cwd)
    from IPython import get_ipython

    shell = get_ipython()
    # The report's names first, so that the full collection IPython's reset runs (display hook
    # flush) also frees the report's reference cycles (figures): one gc.collect instead of two.
    for name in [k for k in shell.user_ns if k not in ("__builtin__", "__builtins__", "__name__")]:
        del shell.user_ns[name]
    shell.reset(new_session=True)
    if not shell.displayhook.do_full_cache:
        gc.collect()
