"""NRI: the netclaim plugin for containerd's Node Resource Interface, on our own ttrpc."""

from netclaim_agent.nri.plugin import DEFAULT_SOCKET, NriPlugin, PluginConfig
from netclaim_agent.nri.sandbox import Sandbox, SandboxHandler

__all__ = ["DEFAULT_SOCKET", "NriPlugin", "PluginConfig", "Sandbox", "SandboxHandler"]
