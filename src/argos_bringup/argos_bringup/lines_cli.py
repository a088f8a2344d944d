"""`argos lines --source URI`: draw counting lines and zones on a frame of the camera's own view.

A small local web page (standard-library HTTP server, one HTML file of plain JS/SVG shipped with
the package, nothing fetched from elsewhere) shows a frame grabbed from the source through the
camera node's own capture code (`argos_camera.sources.open_source`, so synthetic://, files and
RTSP open exactly as the graph opens them) with the config's lines and zones over it. The person
draws, names and flips lines and draws zones; Save posts them here, where they are rendered as
the edge.yaml block and that exact text is loaded through the real config loader (with the rest
of the person's config) and applied to the frame's size as the tracker applies it. Only a block
that passes is written to --out and printed; otherwise the page shows the error, naming the line.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from argos_common.files import load_yaml
from argos_common.lines import IMAGE_SIZE_KEY, RESIZE_KEY, parse_lines
from argos_common.params import ConfigError

# the turning-movement table names approach lines, so it goes with the lines it named
GEOMETRY_SECTIONS = ("geometry", "lines", "zones", "movements")
MAX_BODY = 1 << 20  # a drawing is a few hundred bytes; anything this big is not one
_ITEM_KEY = re.compile(r"(?:^|\.)(lines|zones)\.([^.]+)\.")


def _yaml_scalar(text: str) -> str:
    """`text` as a YAML flow scalar that reads back as the same string (quoted when YAML would
    read it as something else: yes/no/on, numbers, or text with YAML punctuation)."""
    try:
        if text and yaml.safe_load(f"[{text}]") == [text]:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _points(value: Any, where: str, least: int) -> list[float]:
    """[[x, y], ...] from the page -> flat [x0, y0, x1, y1, ...] rounded to 0.1 px."""
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p)
        for p in value
    ):
        raise ConfigError(where, "points must be a list of [x, y] pairs")
    if len(value) < least:
        raise ConfigError(where, f"needs at least {least} points, got {len(value)}")
    return [round(float(c), 1) for p in value for c in p]


def _items(payload: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    items = payload.get(kind, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(kind, "expected a list of objects")
    for index, item in enumerate(items):
        if not isinstance(item.get("name"), str):
            raise ConfigError(f"{kind}[{index}]", "needs a name")
    return items


def block_values(payload: Mapping[str, Any], size: tuple[int, int]) -> dict[str, Any]:
    """The page's drawing ({"lines": [{name, points, lanes}], "zones": [{name, points}]}, points
    in frame pixels) as flat tracker parameters, with geometry.image_size the frame's size. Only
    the shape of the request is checked here; what the values mean is the config loader's job."""
    values: dict[str, Any] = {IMAGE_SIZE_KEY: [int(size[0]), int(size[1])]}
    lines = _items(payload, "lines")
    values["lines.names"] = [str(line["name"]) for line in lines]
    for line in lines:
        name = line["name"]
        values[f"lines.{name}.points"] = _points(line.get("points"), f"lines.{name}.points", 2)
        lanes = line.get("lanes", [])
        if not isinstance(lanes, list) or not all(isinstance(lane, str) for lane in lanes):
            raise ConfigError(f"lines.{name}.lanes", "expected a list of lane labels")
        if any(lanes):
            values[f"lines.{name}.lanes"] = [lane.strip() for lane in lanes]
    zones = _items(payload, "zones")
    if zones:
        values["zones.names"] = [str(zone["name"]) for zone in zones]
        for zone in zones:
            values[f"zones.{zone['name']}.points"] = _points(zone.get("points"), f"zones.{zone['name']}.points", 3)
    return values


def render_block(values: Mapping[str, Any], source: str) -> str:
    """The edge.yaml block (ROS 2 parameter-file form) of `block_values`."""
    width, height = values[IMAGE_SIZE_KEY]
    out = [
        f"# Counting lines and zones drawn with `argos lines` on a {width}x{height} frame of {source}.",
        "# In config/edge.yaml, these replace the geometry, lines and zones of the /** section;",
        "# redo its movements table (movements.lines names approach lines) for these lines.",
        "/**:",
        "  ros__parameters:",
        "    geometry:",
        f"      image_size: [{width}, {height}]",
        "    lines:",
        f"      names: {_flow([_yaml_scalar(n) for n in values['lines.names']])}",
    ]
    for kind in ("lines", "zones"):
        if kind == "zones":
            if "zones.names" not in values:
                break
            out += ["    zones:", f"      names: {_flow([_yaml_scalar(n) for n in values['zones.names']])}"]
        for name in values[f"{kind}.names"]:
            out.append(f"      {_yaml_scalar(name)}:")
            out.append(f"        points: {_flow([f'{v:.1f}' for v in values[f'{kind}.{name}.points']])}")
            if f"{kind}.{name}.lanes" in values:
                out.append(f"        lanes: {_flow([_yaml_scalar(lane) for lane in values[f'{kind}.{name}.lanes']])}")
    return "\n".join(out) + "\n"


def _without_geometry(raw: Any) -> Any:
    """A parsed parameter file with every section's geometry, lines and zones taken out (nested
    or written flat as `lines.names`): the block replaces them, it is not merged into them."""
    if not isinstance(raw, dict):
        return raw  # the loader reports what is wrong with it
    for body in raw.values():
        params = body.get("ros__parameters") if isinstance(body, dict) else None
        if isinstance(params, dict):
            for key in list(params):
                if str(key).split(".", 1)[0] in GEOMETRY_SECTIONS:
                    del params[key]
    return raw


def check_block(text: str, config: Path, size: tuple[int, int]) -> dict[str, Any]:
    """Load `text` through the real config loader, after the person's config with its own lines
    and zones taken out, then build the lines and zones for a `size` source as the tracker does.
    Returns the tracker's resolved parameters; ConfigError (the loader's) when anything is wrong."""
    from argos_tracker.zones import parse_zones

    from .config import load_config

    base = _without_geometry(load_yaml(config, "config", "a ROS 2 parameter file in YAML"))
    with tempfile.TemporaryDirectory(prefix="argos-lines-") as tmp:
        base_file, block_file = Path(tmp) / config.name, Path(tmp) / "lines.yaml"
        base_file.write_text(yaml.safe_dump(base, sort_keys=False))
        block_file.write_text(text)
        tracker = load_config([base_file, block_file]).node("tracker")
    parse_lines(tracker, size)
    parse_zones(tracker, size)
    return tracker


def describe_error(exc: ConfigError) -> dict[str, Any]:
    """A ConfigError as the page shows it: the parameter and, when it is about one line or zone,
    which (so the page can mark it)."""
    key = exc.key.rsplit("/", 1)[-1].split(".", 1)[-1] if exc.key.startswith("/") else exc.key
    kind, name = None, None
    match = _ITEM_KEY.search(key + ".")
    if key in ("lines.names", "zones.names"):
        kind = key.split(".")[0][:-1]
        quoted = re.search(r"'([^']*)'", exc.problem)
        name = quoted.group(1) if quoted else None
    elif match:
        kind, name = match.group(1)[:-1], match.group(2)
    # the key or, for lines.names and zones.names, the problem names the line or zone
    return {"key": key, "problem": exc.problem, "kind": kind, "name": name, "message": f"{key}: {exc.problem}"}


def _geometry_items(params: Mapping[str, Any], size: tuple[int, int]) -> tuple[dict[str, list], str | None]:
    """The config's lines and zones in the pixels of a `size` frame, for the page to show and
    edit. When the config's geometry does not fit this view, they are shown stretched onto it,
    with the loader's reason as a warning (the person is about to redraw them anyway)."""
    from argos_tracker.zones import parse_zones

    warning = None
    try:
        lines, zones = parse_lines(params, size), parse_zones(params, size)
    except ConfigError as exc:
        warning = f"{exc}; the config's lines are shown stretched onto this frame"
        stretched = {**params, RESIZE_KEY: "stretch"}
        try:
            lines, zones = parse_lines(stretched, size), parse_zones(stretched, size)
        except ConfigError as again:
            return {"lines": [], "zones": []}, f"{again}; the config's lines are not shown"
    return {
        "lines": [
            {
                "name": ln.id,
                "points": [[round(float(x), 1), round(float(y), 1)] for x, y in ln.points],
                "lanes": list(ln.lanes),
            }
            for ln in lines
        ],
        "zones": [
            {"name": z.id, "points": [[round(float(x), 1), round(float(y), 1)] for x, y in z.points]} for z in zones
        ],
    }, warning


def _shown_path(path: Path) -> str:
    """`path` relative to the working directory when it is under it (shorter on the page)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class LinesEditor:
    """The state behind the page: the open source, its current frame, the config, the output."""

    def __init__(self, source: str, config: Path, out: Path | None):
        from argos_camera.sources import open_source

        from .config import load_config
        from .view_geometry import MAP_SIZE, view_overrides

        self.source_uri = source
        self.config = config
        self.out = out
        self._lock = threading.Lock()
        self._config = load_config(config)
        camera = dict(self._config.node("camera"))
        # Frames are grabbed one at a time on request: no pacing to the camera's rate. The
        # synthetic scene's ground truth would cross the config's lines, the very lines being
        # redrawn (and perhaps drawn for another view): the frame needs none.
        camera.update({"source": source, "realtime": False, "lines.names": [], IMAGE_SIZE_KEY: []})
        self._source = open_source(source, camera)
        self.frame_number = 0
        self._jpeg = b""
        self.size = (0, 0)
        if not self.next_frame():
            self.close()
            raise ConfigError("source", f"{source} gave no frame")
        tracker = dict(self._config.node("tracker"))
        # a synthetic pole view: the config's map lines are shown where its image has them, as
        # `argos run` counts on them (view_geometry)
        frame_camera = {**camera, "width": self.size[0], "height": self.size[1]}
        mapped = view_overrides(frame_camera, {"tracker": tracker}).get("tracker", {})
        tracker.update(mapped)
        self.existing, self.warning = _geometry_items(tracker, self.size)
        if IMAGE_SIZE_KEY in mapped and self.warning is None:
            # a saved block is in image pixels, which that scene would take as map lines again
            self.warning = (
                f"the config's map lines ({IMAGE_SIZE_KEY} {MAP_SIZE}) are shown as this pole view sees them; "
                "the synthetic scene takes lines as map lines, so a block saved here does not fit it"
            )

    def next_frame(self) -> bool:
        """Grab the source's next frame; False (the last frame stays) when the source has none."""
        import cv2

        with self._lock:
            item = self._source.read()
            if item is None:
                return False
            image = item[0]
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                raise ValueError("could not encode the frame as JPEG")
            self._jpeg = jpeg.tobytes()
            self.size = (int(image.shape[1]), int(image.shape[0]))
            self.frame_number += 1
            return True

    @property
    def jpeg(self) -> bytes:
        with self._lock:
            return self._jpeg

    def state(self) -> dict[str, Any]:
        return {
            "source": self.source_uri,
            "config": _shown_path(self.config),
            "out": str(self.out) if self.out else None,
            "width": self.size[0],
            "height": self.size[1],
            "frame": self.frame_number,
            "warning": self.warning,
            **self.existing,
        }

    def save(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Render, check and write the drawing; ConfigError (nothing written) when it does not pass."""
        size = self.size
        text = render_block(block_values(payload, size), self.source_uri)
        check_block(text, self.config, size)
        if self.out:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.out.write_text(text)
        print(text, end="", flush=True)
        return {"yaml": text, "out": str(self.out) if self.out else None}

    def close(self) -> None:
        self._source.close()


def _page() -> bytes:
    return resources.files("argos_bringup").joinpath("web/lines.html").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    editor: LinesEditor  # set on the subclass make_server builds
    server_version = "argos-lines"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # stdout carries the YAML; a request log would bury it

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(HTTPStatus.OK, _page(), "text/html; charset=utf-8")
        elif path == "/frame.jpg":
            self._send(HTTPStatus.OK, self.editor.jpeg, "image/jpeg")
        elif path == "/api/state":
            self._json(HTTPStatus.OK, self.editor.state())
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": {"message": f"no such page: {path}"}})

    def _read_json(self) -> Any:
        # A JSON content type cannot be sent cross-origin without a CORS preflight, which this
        # server never grants: another site open in the same browser cannot post here.
        if self.headers.get("Content-Type", "").split(";", 1)[0].strip() != "application/json":
            raise ConfigError("request", "expected Content-Type: application/json")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ConfigError("request", f"body of {length} bytes is too large")
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise ConfigError("request", "body is not JSON") from None

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            payload = self._read_json()
            if path == "/api/save":
                if not isinstance(payload, dict):
                    raise ConfigError("request", "expected an object with lines and zones")
                self._json(HTTPStatus.OK, self.editor.save(payload))
            elif path == "/api/frame":
                fresh = self.editor.next_frame()
                self._json(HTTPStatus.OK, {**self.editor.state(), "fresh": fresh})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": {"message": f"no such action: {path}"}})
        except ConfigError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": describe_error(exc)})


def make_server(editor: LinesEditor, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    handler = type("LinesHandler", (_Handler,), {"editor": editor})
    return ThreadingHTTPServer((host, port), handler)


def _cmd_lines(args) -> int:
    from argos_common.shutdown import StopSignals

    from .config import default_config_path

    config = Path(args.config) if args.config else default_config_path()
    try:
        editor = LinesEditor(args.source, config, Path(args.out) if args.out else None)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            server = make_server(editor, args.host, args.port)
        except OSError as exc:
            print(f"error: --port: cannot listen on {args.host}:{args.port} ({exc.strerror})", file=sys.stderr)
            return 2
        stop = StopSignals().install()
        # shutdown() waits for serve_forever to return, so it cannot run on the thread serving
        stop.on_stop(lambda: threading.Thread(target=server.shutdown, daemon=True).start())
        host, port = server.server_address[:2]
        if editor.warning:
            print(f"warning: {editor.warning}", file=sys.stderr)
        print(
            f"argos lines: a {editor.size[0]}x{editor.size[1]} frame of {args.source}; open http://{host}:{port}/ "
            f"(Save writes {editor.out} and prints it; Ctrl-C to stop)",
            flush=True,
        )
        with server:
            server.serve_forever()
    finally:
        editor.close()
    return 0


def register(top) -> None:
    lines = top.add_parser("lines", help="draw counting lines and zones on a frame of the source, in a browser")
    lines.add_argument(
        "--source", required=True, help="source URI, as camera.source (synthetic://, file, rtsp://, ...)"
    )
    lines.add_argument(
        "--out", default="lines.yaml", help="file the saved edge.yaml block goes to (default lines.yaml)"
    )
    lines.add_argument("--config", help="parameter file whose lines and zones are shown (default: config/edge.yaml)")
    lines.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    lines.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0: any free port)")
    lines.set_defaults(func=_cmd_lines)
