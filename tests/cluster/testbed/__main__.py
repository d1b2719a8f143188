"""Command line: `python -m testbed up|down|env|status|build`."""

from __future__ import annotations

import argparse
import logging
import sys

from testbed import build, extra_node, node
from testbed.layout import default_layout
from testbed.run import TestbedError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="testbed",
        description="A real single-node Kubernetes for netclaim's tests, built from Go modules "
        "into ~/.cache/netclaim (override: NETCLAIM_CACHE), state in /var/lib/netclaim-testbed "
        "(NETCLAIM_TESTBED_STATE), component logs in /var/log/netclaim-testbed "
        "(NETCLAIM_TESTBED_LOGS; kept by `down`).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command run")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="build what is missing and start the node (idempotent)")
    sub.add_parser("down", help="stop the node and remove what `up` created")
    sub.add_parser("env", help="print the admin KUBECONFIG path")
    sub.add_parser("status", help="exit 0 if every component runs and the node is Ready")
    sub.add_parser("build", help="only build the pinned components into the cache")
    for command, text in (
        ("node-up", "start extra node N (2..9) in its own netns, joined to the running node"),
        ("node-down", "stop extra node N and remove what node-up made"),
    ):
        extra = sub.add_parser(command, help=text)
        extra.add_argument("index", type=int, help="node number, 2..9")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="testbed: %(message)s"
    )
    layout = default_layout()
    try:
        if args.command == "up":
            node.up(layout)
        elif args.command == "down":
            node.down(layout)
        elif args.command == "env":
            print(layout.admin_kubeconfig)
        elif args.command == "status":
            return 0 if node.is_up(layout) else 1
        elif args.command == "build":
            build.ensure_all_built(layout)
        elif args.command == "node-up":
            extra_node.up(layout, args.index)
        elif args.command == "node-down":
            extra_node.down(layout, args.index)
    except TestbedError as err:
        print(f"testbed {args.command} failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
