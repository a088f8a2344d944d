"""Serving annotated frames as an RTSP stream (GstRtspServer, H.264) without slowing the producer.

The producer calls `push(image)`: the image is kept by reference in a keep-latest slot (a lock
held for one assignment; never waits on GStreamer or the network). The server runs its own GLib
main context on its own thread; a timer on that context feeds the LATEST image at a fixed rate
(`rate_hz`) into the appsrc of every prepared media:

    appsrc (BGR) ! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast ! rtph264pay

The media is shared (one encoder for all viewers) and exists only while a client is connected,
so nothing is converted or encoded when nobody watches. The stream's size is fixed when a client
connects: the size given to set_size(), else the latest frame's; other sizes are resized to it.
The path is mounted only once that size is known (first set_size() or push()): a client asking
earlier gets 404 Not Found and retries, instead of a stream fixed at a guessed size for as long
as it stays connected.

Who may watch is GstRtspServer's own GstRTSPAuth: basic or digest authentication (a client
without the password gets 401 and no media is built for it) and, with a certificate, TLS on
every connection of the port (rtsps://; a plain rtsp:// client fails the handshake).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .gst_runtime import gstreamer

DEFAULT_PATH = "/annotated"
_VIEWER_ROLE = "viewer"
AUTH_METHODS = ("digest", "basic")


def launch_description(rate_hz: float, bitrate_kbps: int) -> str:
    key_int = max(1, int(round(2 * rate_hz)))  # an IDR every ~2 s: a joining client starts quickly
    return (
        "( appsrc name=src is-live=true format=time do-timestamp=true block=false "
        "! queue leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0 "
        "! videoconvert ! video/x-raw,format=I420 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast threads=1 bitrate={int(bitrate_kbps)} "
        f"key-int-max={key_int} "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def _fraction(rate_hz: float) -> tuple[int, int]:
    if float(rate_hz).is_integer():
        return int(rate_hz), 1
    return int(round(rate_hz * 1000)), 1000


class AnnotatedRtspOutput:
    """rtsp://<address>:<port><path>, fed by push(); start() once, stop() at the end."""

    def __init__(
        self,
        port: int,
        path: str = DEFAULT_PATH,
        rate_hz: float = 5.0,
        bitrate_kbps: int = 2000,
        address: str = "127.0.0.1",
        credentials: tuple[str, str] | None = None,
        auth: str = "digest",
        tls: tuple[str, str] | None = None,
    ):
        """credentials: (user, password) a viewer must give, by the `auth` scheme (digest or
        basic); None: anyone who can reach `address` may watch (keep it loopback then).
        tls: (certificate file, key file), PEM: serve rtsps:// only."""
        if rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")
        if auth not in AUTH_METHODS:
            raise ValueError(f"auth must be one of {', '.join(AUTH_METHODS)}")
        self.port = int(port)
        self.path = path if path.startswith("/") else "/" + path
        self.rate_hz = float(rate_hz)
        self.bitrate_kbps = int(bitrate_kbps)
        self.address = address
        self._credentials = credentials
        self.auth = auth
        self._tls_files = tls
        self._lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self._size_hint: tuple[int, int] | None = None
        # GstRtspServer / GLib objects once started (gi ships no type stubs)
        self._mounts: Any = None
        self._factory: Any = None
        self._mounted = False
        self._frames_pushed = 0
        self._frames_served = 0  # buffers handed to an encoder
        self._clients = 0
        self._clients_total = 0
        self._medias_prepared = 0
        self._sources: list = []  # [appsrc, (width, height)] of prepared medias; server thread only
        self._thread: threading.Thread | None = None
        self._loop: Any = None
        self._context: Any = None
        self._server: Any = None
        self._server_source_id = 0
        self._ready = threading.Event()

    # -- producer side ------------------------------------------------------------------------
    def push(self, image: np.ndarray) -> None:
        """Keep `image` (BGR, H x W x 3 uint8; by reference: do not modify it afterwards) as the
        frame to serve next. Never blocks on the encoder or the clients."""
        with self._lock:
            self._latest = image
            self._frames_pushed += 1
        self._mount_once()

    def set_size(self, width: int, height: int) -> None:
        """The size of the frames to come (the source's): a client connecting before the next push
        gets a stream of this size. Cheap; call it per frame."""
        self._size_hint = (int(width), int(height))
        self._mount_once()

    def _mount_once(self) -> None:
        if self._mounted or self._mounts is None:
            return
        with self._lock:
            if self._mounted:
                return
            self._mounted = True
        self._mounts.add_factory(self.path, self._factory)  # GstRTSPMountPoints is thread-safe

    @property
    def clients(self) -> int:
        with self._lock:
            return self._clients

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        user = f"{self._credentials[0]}@" if self._credentials else ""  # never the password
        scheme = "rtsps" if self._tls_files else "rtsp"
        return f"{scheme}://{user}{host}:{self.port}{self.path}"

    def stats(self) -> dict:
        with self._lock:
            return {
                "rtsp_clients": self._clients,
                "rtsp_clients_total": self._clients_total,
                "rtsp_frames_pushed": self._frames_pushed,
                "rtsp_frames_served": self._frames_served,
                "rtsp_medias_prepared": self._medias_prepared,
            }

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> AnnotatedRtspOutput:
        Gst, _ = gstreamer()
        import gi

        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, GstRtspServer

        self._Gst, self._GLib = Gst, GLib
        self._context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._context, False)
        server = GstRtspServer.RTSPServer()
        server.set_address(self.address)
        server.set_service(str(self.port))
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_description(self.rate_hz, self.bitrate_kbps))
        factory.set_shared(True)  # one encode per frame, whatever the number of viewers
        factory.connect("media-configure", self._on_media_configure)
        if self._credentials is not None or self._tls_files is not None:
            server.set_auth(self._make_auth(factory, GstRtspServer, Gst))
        self._mounts, self._factory, self._mounted = server.get_mount_points(), factory, False
        if self._size_hint is not None or self._latest is not None:
            self._mount_once()
        server.connect("client-connected", self._on_client_connected)
        self._server_source_id = server.attach(self._context)
        if self._server_source_id == 0:
            raise OSError(f"RTSP output: cannot listen on {self.address}:{self.port}")
        self._server = server
        timer = GLib.timeout_source_new(max(1, int(round(1000.0 / self.rate_hz))))
        timer.set_callback(self._on_tick)
        timer.attach(self._context)
        self._timer = timer
        self._thread = threading.Thread(target=self._run, name="argos-rtsp-out", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)
        return self

    def _make_auth(self, factory, GstRtspServer, Gst):
        """The server's GstRTSPAuth: the viewer's password by the chosen scheme (the factory lets
        only the viewer role, what the password grants, see and build the media) and the TLS
        certificate, which makes the server speak TLS on every accepted connection."""
        auth = GstRtspServer.RTSPAuth()
        if self._tls_files is not None:
            auth.set_tls_certificate(load_tls_certificate(*self._tls_files))
        if self._credentials is None:  # TLS only: anyone reaching the port may watch, privately
            token = GstRtspServer.RTSPToken()
            token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, _VIEWER_ROLE)
            auth.set_default_token(token)
        else:
            import gi

            gi.require_version("GstRtsp", "1.0")
            from gi.repository import GstRtsp

            user, password = self._credentials
            token = GstRtspServer.RTSPToken()
            token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, _VIEWER_ROLE)
            if self.auth == "digest":
                auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
                auth.add_digest(user, password, token)
            else:
                auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
                auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        factory.add_role_from_structure(
            Gst.Structure.from_string(
                f"{_VIEWER_ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )[0]
        )
        return auth

    def _run(self) -> None:
        self._context.push_thread_default()

        def ready(*_) -> bool:
            self._ready.set()
            return False  # run once

        try:
            self._context.invoke_full(self._GLib.PRIORITY_DEFAULT, ready)
            self._loop.run()
        finally:
            self._context.pop_thread_default()

    def stop(self) -> None:
        if self._thread is None:
            return
        done = threading.Event()

        def shutdown(*_):
            from gi.repository import GstRtspServer

            self._server.client_filter(lambda _s, _c, *_a: GstRtspServer.RTSPFilterResult.REMOVE)
            for src, _size in self._sources:
                src.emit("end-of-stream")
            self._sources.clear()
            self._timer.destroy()
            source = self._context.find_source_by_id(self._server_source_id)
            if source is not None:
                source.destroy()
            self._loop.quit()
            done.set()
            return False

        self._context.invoke_full(self._GLib.PRIORITY_DEFAULT, shutdown)
        done.wait(5.0)
        self._thread.join(5.0)
        self._thread = None
        with self._lock:
            self._clients = 0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- server thread ------------------------------------------------------------------------
    def _on_client_connected(self, _server, client) -> None:
        with self._lock:
            self._clients += 1
            self._clients_total += 1
        client.connect("closed", self._on_client_closed)

    def _on_client_closed(self, _client) -> None:
        with self._lock:
            self._clients = max(0, self._clients - 1)

    def _on_media_configure(self, _factory, media) -> None:
        with self._lock:
            latest = self._latest
            self._medias_prepared += 1
        if self._size_hint is not None:
            width, height = self._size_hint
        else:  # mounted by push(): there is a latest frame
            assert latest is not None
            width, height = latest.shape[1], latest.shape[0]
        num, den = _fraction(self.rate_hz)
        src = media.get_element().get_by_name("src")
        src.set_property(
            "caps",
            self._Gst.Caps.from_string(f"video/x-raw,format=BGR,width={width},height={height},framerate={num}/{den}"),
        )
        src.set_property("max-bytes", 3 * width * height * 3)
        entry = [src, (width, height)]
        self._sources.append(entry)

        def forget(*_) -> None:
            if entry in self._sources:
                self._sources.remove(entry)

        media.connect("unprepared", forget)

    def _on_tick(self, *_) -> bool:
        if not self._sources:
            return True
        with self._lock:
            latest = self._latest
        for src, (width, height) in list(self._sources):
            image = latest if latest is not None else np.zeros((height, width, 3), np.uint8)
            if image.shape[:2] != (height, width) or image.ndim != 3:
                import cv2

                if image.ndim == 2:
                    image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            buf = self._Gst.Buffer.new_wrapped(np.ascontiguousarray(image[..., :3]).tobytes())
            buf.duration = int(self._Gst.SECOND / self.rate_hz)
            ret = src.emit("push-buffer", buf)
            if ret == self._Gst.FlowReturn.OK:
                with self._lock:
                    self._frames_served += 1
        return True


def load_tls_certificate(cert_file: str, key_file: str):
    """A Gio.TlsCertificate from PEM files; OSError naming the files (never their content) when
    GLib cannot read or parse them or the key does not match."""
    gstreamer()
    from gi.repository import Gio, GLib

    try:
        return Gio.TlsCertificate.new_from_files(cert_file, key_file)
    except GLib.Error as exc:
        raise OSError(f"TLS certificate {cert_file!r} / key {key_file!r}: {exc.message}") from None
