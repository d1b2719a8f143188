import socket
from pathlib import Path

from testbed import probes


def test_a_socket_file_left_by_a_dead_server_is_not_ready(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
    assert path.is_socket()
    assert not probes.socket_ready(path)


def test_a_listening_socket_is_ready(tmp_path: Path) -> None:
    path = tmp_path / "live.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert probes.socket_ready(path)


def test_a_missing_socket_is_not_ready(tmp_path: Path) -> None:
    assert not probes.socket_ready(tmp_path / "absent.sock")
