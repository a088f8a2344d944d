"""How the bridge authenticates to the broker: TLS (CA, optional client certificate), username and
password, MQTT protocol version. Checked when the bridge is built, so a wrong path is a
ConfigError naming the key instead of a connection that silently never comes up."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argos_common.endpoints import read_secret_file
from argos_common.params import ConfigError

PROTOCOLS = ("3.1.1", "5")


@dataclass(frozen=True)
class MqttSecurity:
    tls: bool = False
    ca_file: str = ""  # empty with TLS: the system's trusted CAs
    cert_file: str = ""  # client certificate (mutual TLS), with key_file
    key_file: str = ""
    username: str = ""
    password: str | None = None
    protocol: str = "3.1.1"

    def __repr__(self) -> str:  # the password must not leak through a debug print
        return (
            f"MqttSecurity(tls={self.tls}, ca_file={self.ca_file!r}, cert_file={self.cert_file!r}, "
            f"username={self.username!r}, password={'***' if self.password else None}, protocol={self.protocol})"
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file or None)
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file or None)
        return ctx


def _existing_file(path: str, key: str) -> str:
    if path and not Path(path).is_file():
        raise ConfigError(key, f"no such file: {path!r}")
    return path


def security_from_params(p: Mapping[str, Any], url_scheme: str) -> MqttSecurity:
    """From the bridge parameters; TLS is on for an mqtts:// URL or when a CA file is given."""
    ca = _existing_file(p["mqtt_tls_ca_file"], "mqtt_tls_ca_file")
    cert = _existing_file(p["mqtt_tls_cert_file"], "mqtt_tls_cert_file")
    key = _existing_file(p["mqtt_tls_key_file"], "mqtt_tls_key_file")
    if bool(cert) != bool(key):
        raise ConfigError(
            "mqtt_tls_cert_file" if key else "mqtt_tls_key_file",
            "a client certificate needs both mqtt_tls_cert_file and mqtt_tls_key_file",
        )
    password = read_secret_file(p["mqtt_password_file"], "mqtt_password_file")
    if password and not p["mqtt_username"]:
        raise ConfigError("mqtt_username", "mqtt_password_file is set but mqtt_username is empty")
    security = MqttSecurity(
        tls=url_scheme == "mqtts" or bool(ca) or bool(cert),
        ca_file=ca,
        cert_file=cert,
        key_file=key,
        username=p["mqtt_username"],
        password=password,
        protocol=p["mqtt_protocol"],
    )
    try:
        security.ssl_context()  # a broken certificate or key file fails here, by key
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError("mqtt_tls_cert_file" if cert else "mqtt_tls_ca_file", f"unusable TLS file: {exc}") from None
    return security


def diagnose_tls(host: str, port: int, ctx: ssl.SSLContext, timeout_s: float = 2.0) -> str | None:
    """Try the TLS handshake paho could not complete and return why it failed (None: it works or the
    port is closed). paho's connect-failure callback carries no reason; this gives the log one."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw:
            with ctx.wrap_socket(raw, server_hostname=host):
                return None
    except ssl.SSLCertVerificationError as exc:
        return f"TLS handshake failed: certificate verify failed ({exc.verify_message})"
    except ssl.SSLError as exc:
        return f"TLS handshake failed: {exc.reason or exc}"
    except OSError:
        return None
