"""`netclaim-agent`: the node agent (`node`) and the cluster controller (`controller`).

Every flag can also be set through the environment as NETCLAIM_<FLAG> (upper case, `-` as
`_`), which is how the agent role and DaemonSet manifests configure it."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from netclaim_agent import DRIVER_NAME, __version__
from netclaim_agent.model import Injection

log = logging.getLogger("netclaim_agent")


def _env(flag: str, default: str | None) -> str | None:
    return os.environ.get("NETCLAIM_" + flag.upper().replace("-", "_"), default)


def _add(
    parser: argparse.ArgumentParser,
    flag: str,
    default: str | None,
    help_text: str,
    *,
    choices: list[str] | None = None,
    value_type: Callable[[str], Any] = str,
) -> None:
    env = "NETCLAIM_" + flag.upper().replace("-", "_")
    shown = "in-cluster" if default is None else default
    parser.add_argument(
        f"--{flag}",
        default=_env(flag, default),
        help=f"{help_text} [env {env}; default {shown}]",
        choices=choices,
        type=value_type,
    )


def _node_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    node = sub.add_parser(
        "node",
        help="run the node agent: kubelet DRA plugin, NRI plugin, slice publisher",
        description="Serve kubelet's DRA API for this node, publish its network devices as "
        "ResourceSlices and put prepared interfaces into pods.",
    )
    _add(
        node,
        "node-name",
        os.environ.get("NODE_NAME") or socket.gethostname(),
        "Kubernetes node name this agent serves (also env NODE_NAME)",
    )
    _add(
        node,
        "kubeconfig",
        os.environ.get("KUBECONFIG"),
        "kubeconfig file; unset means the pod's service account (also env KUBECONFIG)",
    )
    _add(
        node,
        "kubelet-plugins-dir",
        "/var/lib/kubelet/plugins",
        f"kubelet plugins directory; the DRA socket is <dir>/{DRIVER_NAME}/dra.sock",
    )
    _add(
        node,
        "kubelet-registry-dir",
        "/var/lib/kubelet/plugins_registry",
        f"kubelet plugin registration directory; socket <dir>/{DRIVER_NAME}-reg.sock",
    )
    _add(node, "state-dir", "/var/lib/netclaim", "directory of the agent's checkpoint (root-only)")
    _add(node, "cdi-dir", "/var/run/cdi", "where CDI specs for prepared claims are written")
    _add(node, "netns-dir", "/var/run/netns", "where the runtime keeps pod network namespaces")
    _add(node, "sysfs-root", "/sys", "sysfs mount to discover SR-IOV and RDMA devices in")
    _add(
        node,
        "injection",
        Injection.NRI.value,
        "how interfaces reach pods: nri (RunPodSandbox hook; survives container restarts) or "
        "cdi (runc moves them from the CDI spec; needs containerd>=2.2.1, runc>=1.4.0)",
        choices=[i.value for i in Injection],
    )
    _add(node, "nri-socket", "/var/run/nri/nri.sock", "containerd's NRI socket")
    _add(node, "nri-index", "10", "NRI plugin index (two digits; order among NRI plugins)")
    _add(node, "metrics-address", "127.0.0.1", "address for /healthz and /metrics")
    _add(
        node,
        "metrics-port",
        "9177",
        "port for /healthz and /metrics; 0 = any free, <0 = off",
        value_type=int,
    )
    _add(node, "log-level", "info", "debug, info, warning or error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netclaim-agent",
        description=f"netclaim {__version__}: Kubernetes DRA driver {DRIVER_NAME} for network "
        "devices.",
    )
    parser.add_argument("--version", action="version", version=f"netclaim-agent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _node_parser(sub)
    controller = sub.add_parser(
        "controller",
        help="run the cluster controller (PodNetwork status and addresses, floating-IP pools)",
        description="Publish the addresses of PodNetworks and FloatingIPPools as ResourceSlices "
        "and report their status. Run two or more replicas: one leads through a Lease, another "
        "takes over within the lease duration plus one renewal interval.",
    )
    _add(
        controller,
        "kubeconfig",
        os.environ.get("KUBECONFIG"),
        "kubeconfig file; unset means the pod's service account (also env KUBECONFIG)",
    )
    _add(controller, "lease-namespace", "kube-system", "namespace of the leader-election Lease")
    _add(controller, "lease-name", "netclaim-controller", "name of the leader-election Lease")
    _add(controller, "identity", "", "this replica's name in the Lease (default host_pid)")
    _add(controller, "lease-seconds", "10", "Lease duration in seconds", value_type=int)
    _add(controller, "log-level", "info", "debug, info, warning or error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pyroute2").setLevel(logging.WARNING)
    if args.command == "controller":
        from netclaim_agent.controller.run import (  # noqa: PLC0415 - heavy imports
            Controller,
            ControllerSettings,
        )

        return Controller(
            ControllerSettings(
                kubeconfig=args.kubeconfig or None,
                lease_namespace=args.lease_namespace,
                lease_name=args.lease_name,
                identity=args.identity,
                lease_seconds=int(args.lease_seconds),
            )
        ).run()
    from netclaim_agent.node import NodeAgent, NodeSettings  # noqa: PLC0415 - heavy imports

    settings = NodeSettings(
        node_name=args.node_name,
        kubeconfig=args.kubeconfig or None,
        plugins_dir=Path(args.kubelet_plugins_dir),
        registry_dir=Path(args.kubelet_registry_dir),
        state_dir=Path(args.state_dir),
        cdi_dir=Path(args.cdi_dir),
        netns_dir=Path(args.netns_dir),
        sysfs_root=Path(args.sysfs_root),
        injection=Injection(args.injection),
        nri_socket=Path(args.nri_socket),
        nri_index=str(args.nri_index),
        metrics_address=args.metrics_address,
        metrics_port=int(args.metrics_port),
    )
    return NodeAgent(settings).run()


if __name__ == "__main__":
    sys.exit(main())
