"""Configuration files and command lines of the node's components.

All listeners are on 127.0.0.1. DRA's optional features that netclaim relies on are switched
on explicitly on every component, whether or not they default to on in the pinned release."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from testbed.layout import SERVICE_CIDR, Layout, NodeSpec, versions

FEATURE_GATES = {"DRAConsumableCapacity": True, "DRAResourceClaimDeviceStatus": True}


def feature_gates_flag() -> str:
    return "--feature-gates=" + ",".join(f"{k}={str(v).lower()}" for k, v in FEATURE_GATES.items())


def etcd_argv(layout: Layout) -> list[str]:
    return [
        str(layout.bin / "etcd"),
        f"--data-dir={layout.etcd_data}",
        "--listen-client-urls=http://127.0.0.1:2379",
        "--advertise-client-urls=http://127.0.0.1:2379",
        "--listen-peer-urls=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
        "--initial-cluster=default=http://127.0.0.1:2380",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def apiserver_argv(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        str(layout.bin / "kube-apiserver"),
        "--etcd-servers=http://127.0.0.1:2379",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        "--secure-port=6443",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        # Extra nodes have names no resolver knows; their InternalIP is on the test bridge.
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",
        feature_gates_flag(),
        "--v=1",
    ]


def controller_manager_argv(layout: Layout) -> list[str]:
    pki = layout.pki
    kubeconfig = pki / "controller-manager.kubeconfig"
    return [
        str(layout.bin / "kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        "--use-service-account-credentials",
        "--controllers=*",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        feature_gates_flag(),
        "--v=1",
    ]


def scheduler_argv(layout: Layout) -> list[str]:
    kubeconfig = layout.pki / "scheduler.kubeconfig"
    return [
        str(layout.bin / "kube-scheduler"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        feature_gates_flag(),
        "--v=1",
    ]


def containerd_config(layout: Layout, node: NodeSpec) -> str:
    runtime = "plugins.'io.containerd.cri.v1.runtime'"
    return f"""version = 3
root = '{node.containerd_root}'
state = '{node.containerd_state}'

[grpc]
  address = '{node.containerd_socket}'

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '{versions().pause_image}'

[{runtime}]
  # This host's root lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj below
  # containerd's own (kubelet asks -998 for sandboxes); clamp instead of failing every pod.
  restrict_oom_score_adj = true
  enable_cdi = true
  cdi_spec_dirs = ['/etc/cdi', '{node.cdi_dir}']
  [{runtime}.containerd.runtimes.runc]
    runtime_type = 'io.containerd.runc.v2'
    [{runtime}.containerd.runtimes.runc.options]
      SystemdCgroup = false
      BinaryName = '{layout.bin / "runc"}'
  [{runtime}.cni]
    bin_dirs = ['{layout.cni_bin}']
    conf_dir = '{node.cni_conf_dir}'

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '{node.address}'

[plugins.'io.containerd.nri.v1.nri']
  disable = false
  socket_path = '{node.nri_socket}'
"""


def cni_conflist(node: NodeSpec) -> str:
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": node.cni_network,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": node.cni_bridge,
                    "isGateway": True,
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": node.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
                {"type": "loopback"},
            ],
        },
        indent=2,
    )


def kubelet_config(layout: Layout, node: NodeSpec, cert: str = "kubelet") -> str:
    pki = layout.pki
    config: dict[str, object] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.address,
        "healthzBindAddress": node.address,
        "readOnlyPort": 0,
        # The host has only cgroup v1; kubelet >= 1.35 refuses it unless told otherwise.
        "failCgroupV1": False,
        "failSwapOn": False,
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / f"{cert}.crt"),
        "tlsPrivateKeyFile": str(pki / f"{cert}.key"),
        # No registry to pull from again: never garbage-collect the imported images.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "resolvConf": "/etc/resolv.conf" if Path("/etc/resolv.conf").exists() else "",
        "featureGates": dict(FEATURE_GATES),
        "maxPods": 60,
    }
    if node.cgroup_root != "/":  # extra nodes: their pods' cgroups apart from the first's
        config["cgroupRoot"] = node.cgroup_root
    if node.pod_logs_dir != Path("/var/log/pods"):
        config["podLogsDir"] = str(node.pod_logs_dir)
    if node.taints:
        config["registerWithTaints"] = [_taint(t) for t in node.taints]
    return yaml.safe_dump(config, sort_keys=False)


def _taint(text: str) -> dict[str, str]:
    key_value, effect = text.rsplit(":", 1)
    key, value = key_value.split("=", 1)
    return {"key": key, "value": value, "effect": effect}


def kubelet_argv(layout: Layout, node: NodeSpec, kubeconfig: str = "kubelet") -> list[str]:
    # kubelet refuses a loopback --node-ip and then reports no address at all (so exec and
    # logs fail); a node named by its IP gets that IP as InternalIP without the flag.
    node_ip = [] if node.name == node.address else [f"--node-ip={node.address}"]
    return [
        str(layout.bin / "kubelet"),
        f"--config={node.config_dir / 'kubelet.yaml'}",
        f"--kubeconfig={layout.pki / f'{kubeconfig}.kubeconfig'}",
        f"--hostname-override={node.name}",
        *node_ip,
        f"--root-dir={node.kubelet_root}",
        "--v=1",
    ]
