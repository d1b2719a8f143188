"""Build hook: generate gRPC/protobuf stubs from ../proto before setuptools collects files."""

import sys
from pathlib import Path

from setuptools import setup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protogen import generate

generate()
setup()
