"""Credentials and TLS settings of the bridge: read from files, checked by key, never printed."""

import pytest

from argos_bridge.bridge import Bridge
from argos_bridge.mqtt_security import security_from_params
from argos_bridge.params import PARAMS, validate
from argos_common.endpoints import parse_mqtt_url, read_secret_file, redact_url, url_scheme
from argos_common.params import ConfigError, resolve


def params(**values):
    return resolve(PARAMS, values)


def test_secret_file_first_line_and_errors_name_the_key(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret-value\nignored\n")
    assert read_secret_file(str(secret), "mqtt_password_file") == "s3cret-value"
    assert read_secret_file("", "mqtt_password_file") is None
    with pytest.raises(ConfigError) as missing:
        read_secret_file(str(tmp_path / "nope"), "redis_password_file")
    assert missing.value.key == "redis_password_file"
    (tmp_path / "empty").write_text("")
    with pytest.raises(ConfigError, match="empty"):
        read_secret_file(str(tmp_path / "empty"), "mqtt_password_file")


def test_redact_url_hides_only_the_password():
    assert redact_url("redis://:hunter2@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert redact_url("redis://argos:hunter2@host/1") == "redis://argos:***@host/1"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"


def test_mqtts_url_turns_tls_on_with_port_8883():
    assert parse_mqtt_url("mqtts://broker.example") == ("broker.example", 8883)
    assert url_scheme("mqtts://b:1") == "mqtts" and url_scheme("") == "mqtt"
    sec = security_from_params(params(), "mqtts")
    assert sec.tls and sec.ssl_context() is not None
    assert not security_from_params(params(), "mqtt").tls


def test_credentials_in_the_mqtt_url_are_refused():
    with pytest.raises(ConfigError, match="mqtt_password_file") as err:
        parse_mqtt_url("mqtt://user:pw@host:1883")
    assert err.value.key == "mqtt_url" and "pw@" not in str(err.value).split("'")[-1]


def test_tls_files_are_checked_by_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        security_from_params(params(mqtt_tls_ca_file=str(tmp_path / "ca.pem")), "mqtt")
    assert err.value.key == "mqtt_tls_ca_file"
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigError, match="unusable TLS file") as err:
        security_from_params(params(mqtt_tls_ca_file=str(garbage)), "mqtt")
    assert err.value.key == "mqtt_tls_ca_file"


@pytest.mark.parametrize(
    "values, key",
    [
        ({"mqtt_tls_cert_file": "/c.pem"}, "mqtt_tls_key_file"),
        ({"mqtt_tls_key_file": "/k.pem"}, "mqtt_tls_cert_file"),
        ({"mqtt_password_file": "/pw"}, "mqtt_username"),
        ({"spool_max_mb": 0.1, "max_payload_bytes": 1 << 20}, "spool_max_mb"),
    ],
)
def test_cross_parameter_rules_name_the_key(values, key):
    with pytest.raises(ConfigError) as err:
        validate(params(**values))
    assert err.value.key == key


def test_password_never_appears_in_the_security_repr(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("hunter2")
    sec = security_from_params(params(mqtt_username="argos", mqtt_password_file=str(pw)), "mqtt")
    assert sec.password == "hunter2" and "hunter2" not in repr(sec)


def test_unusable_spool_dir_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as err:
        Bridge({"spool_dir": str(blocker / "sub")})
    assert err.value.key == "spool_dir"
