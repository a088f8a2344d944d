"""`--foxglove*` options of `argos run` and `edge_container`: one Foxglove WebSocket server per
process, every camera's channels on it (argos_camera.foxglove_out)."""

from __future__ import annotations

import argparse

from argos_camera.foxglove_out import DEFAULT_PORT, LOOPBACK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Foxglove live view")
    group.add_argument(
        "--foxglove",
        type=int,
        nargs="?",
        const=DEFAULT_PORT,
        metavar="PORT",
        help=f"serve the graph live to Foxglove over WebSocket on PORT (default {DEFAULT_PORT}; "
        "0: a free port, printed)",
    )
    group.add_argument(
        "--foxglove-host",
        default=LOOPBACK,
        metavar="ADDR",
        help=f"address to bind (default {LOOPBACK}); any other needs --foxglove-tls-cert/-key (wss://)",
    )
    group.add_argument("--foxglove-tls-cert", metavar="FILE", help="server certificate (PEM) for wss://")
    group.add_argument("--foxglove-tls-key", metavar="FILE", help="its private key (PEM, PKCS#8)")


def check(args: argparse.Namespace) -> str | None:
    """The problem with the options, as one line, or None."""
    if args.foxglove is not None and not 0 <= args.foxglove <= 65535:
        return f"--foxglove: {args.foxglove} is not a port (0-65535)"
    return None


def serve(cameras, args: argparse.Namespace):
    """Start the server when asked (None otherwise). Raises ValueError / OSError / RuntimeError
    (the SDK's, e.g. a taken port) with the reason."""
    if args.foxglove is None:
        return None
    return cameras.serve_foxglove(
        args.foxglove, args.foxglove_host, tls_cert=args.foxglove_tls_cert, tls_key=args.foxglove_tls_key
    )
