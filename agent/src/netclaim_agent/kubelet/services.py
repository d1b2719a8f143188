"""gRPC servicers: registration, and the DRA node service in versions v1 and v1beta1."""

from __future__ import annotations

import logging
import threading
from typing import Any

import grpc

from netclaim_agent import DRIVER_NAME
from netclaim_agent._proto.kubelet import (
    dra_v1_pb2,
    dra_v1_pb2_grpc,
    dra_v1beta1_pb2,
    dra_v1beta1_pb2_grpc,
    registration_pb2,
    registration_pb2_grpc,
)
from netclaim_agent.kubelet.core import DraCore

log = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("v1.DRAPlugin", "v1beta1.DRAPlugin")
"""Most preferred first: kubelet takes the first entry it supports."""


class DraV1(dra_v1_pb2_grpc.DRAPluginServicer):
    def __init__(self, core: DraCore) -> None:
        self._core = core

    def NodePrepareResources(
        self, request: Any, context: grpc.ServicerContext
    ) -> dra_v1_pb2.NodePrepareResourcesResponse:
        response = dra_v1_pb2.NodePrepareResourcesResponse()
        self._core.prepare(request, response, with_share_id=True)
        return response

    def NodeUnprepareResources(
        self, request: Any, context: grpc.ServicerContext
    ) -> dra_v1_pb2.NodeUnprepareResourcesResponse:
        response = dra_v1_pb2.NodeUnprepareResourcesResponse()
        self._core.unprepare(request, response)
        return response


class DraV1beta1(dra_v1beta1_pb2_grpc.DRAPluginServicer):
    """The same service for kubelets older than 1.34 (no share_id on the wire)."""

    def __init__(self, core: DraCore) -> None:
        self._core = core

    def NodePrepareResources(
        self, request: Any, context: grpc.ServicerContext
    ) -> dra_v1beta1_pb2.NodePrepareResourcesResponse:
        response = dra_v1beta1_pb2.NodePrepareResourcesResponse()
        self._core.prepare(request, response, with_share_id=False)
        return response

    def NodeUnprepareResources(
        self, request: Any, context: grpc.ServicerContext
    ) -> dra_v1beta1_pb2.NodeUnprepareResourcesResponse:
        response = dra_v1beta1_pb2.NodeUnprepareResourcesResponse()
        self._core.unprepare(request, response)
        return response


class Registration(registration_pb2_grpc.RegistrationServicer):
    """Answers kubelet's GetInfo and records whether kubelet accepted the plugin."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        self.registered = threading.Event()

    def GetInfo(self, request: Any, context: grpc.ServicerContext) -> registration_pb2.PluginInfo:
        return registration_pb2.PluginInfo(
            type="DRAPlugin",
            name=DRIVER_NAME,
            endpoint=self._endpoint,
            supported_versions=list(SUPPORTED_VERSIONS),
        )

    def NotifyRegistrationStatus(
        self, request: Any, context: grpc.ServicerContext
    ) -> registration_pb2.RegistrationStatusResponse:
        if request.plugin_registered:
            log.info("kubelet registered %s (endpoint %s)", DRIVER_NAME, self._endpoint)
            self.registered.set()
        else:
            log.error("kubelet rejected %s: %s", DRIVER_NAME, request.error)
            self.registered.clear()
        return registration_pb2.RegistrationStatusResponse()
