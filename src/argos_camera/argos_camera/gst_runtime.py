"""Loading GStreamer through PyGObject, with one clear message when it is missing."""

from __future__ import annotations

from functools import lru_cache

from .source_types import SourceError

INSTALL_HINT = (
    "install GStreamer and PyGObject: apt-get install gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 "
    "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav libgirepository1.0-dev "
    "libcairo2-dev; pip install pygobject==3.50.2"
)


def _keep_cxx_exceptions_working() -> None:
    """libgstreamer links libunwind, and PyGObject loads it into the global symbol scope: C++
    libraries loaded afterwards (Fast DDS under rclpy, torch) then unwind exceptions with
    libunwind's _Unwind_* instead of libgcc_s's and abort on their first throw. Putting libgcc_s
    into the global scope first keeps its unwinder the one they bind to."""
    import ctypes

    try:
        ctypes.CDLL("libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError:  # not a glibc/GCC system: nothing to protect
        pass


@lru_cache(maxsize=1)
def _load():
    _keep_cxx_exceptions_working()
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstApp", "1.0")
    gi.require_version("GstVideo", "1.0")
    from gi.repository import Gst, GstApp, GstVideo  # noqa: F401  (GstApp: appsink methods)

    Gst.init(None)
    return Gst, GstVideo


def gstreamer_available() -> bool:
    try:
        _load()
    except (ImportError, ValueError):
        return False
    return True


def gstreamer(uri: str = ""):
    """(Gst, GstVideo), initialised; raises SourceError naming what to install."""
    try:
        return _load()
    except (ImportError, ValueError) as exc:
        what = f"{uri}: " if uri else ""
        raise SourceError(f"{what}GStreamer is not available ({exc}); {INSTALL_HINT}") from None


def has_element(name: str) -> bool:
    Gst, _ = gstreamer()
    return Gst.ElementFactory.find(name) is not None


def versions() -> dict[str, str]:
    """Library versions for benchmark tables; empty when GStreamer is missing."""
    if not gstreamer_available():
        return {}
    import gi

    Gst, _ = _load()
    return {"GStreamer": ".".join(map(str, Gst.version()[:3])), "PyGObject": gi.__version__}
