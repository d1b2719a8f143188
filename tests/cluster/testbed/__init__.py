"""A real single-node Kubernetes (etcd, control plane, kubelet, containerd, runc, CNI) for tests.

Everything is built from Go modules into a cache outside the repository and run as host
processes listening on 127.0.0.1. `python -m testbed up|down|env` is the command-line entry.
"""
