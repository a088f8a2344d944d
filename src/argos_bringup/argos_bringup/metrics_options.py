"""`--metrics-*` options of `argos run` and `edge_container`: one Prometheus endpoint per process."""

from __future__ import annotations

import argparse

from argos_common.metrics_server import LOOPBACK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Prometheus metrics")
    group.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics of every node of this process on PORT (0: a free port, printed)",
    )
    group.add_argument(
        "--metrics-host",
        default=LOOPBACK,
        metavar="ADDR",
        help=f"address to bind (default {LOOPBACK}); any other needs --metrics-tls-cert/-key/-client-ca",
    )
    group.add_argument("--metrics-tls-cert", metavar="FILE", help="server certificate (PEM) for HTTPS")
    group.add_argument("--metrics-tls-key", metavar="FILE", help="its private key (PEM)")
    group.add_argument(
        "--metrics-client-ca", metavar="FILE", help="CA file: only scrapers with a client certificate it signed get in"
    )


def check(args: argparse.Namespace) -> str | None:
    """The problem with the options, as one line, or None."""
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        return f"--metrics-port: {args.metrics_port} is not a port (0-65535)"
    return None


def serve(cameras, args: argparse.Namespace):
    """Start the endpoint when asked (None otherwise). Raises ValueError / OSError with the reason."""
    if args.metrics_port is None:
        return None
    return cameras.serve_metrics(
        args.metrics_port,
        args.metrics_host,
        certfile=args.metrics_tls_cert,
        keyfile=args.metrics_tls_key,
        client_cafile=args.metrics_client_ca,
    )
